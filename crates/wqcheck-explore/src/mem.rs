//! Zeroed arrays in anonymous memory advised `MADV_HUGEPAGE` (`Mem<T>`): the backing of
//! every big array (the visited table, `Records`, the frontier's chunks, the step cache).
//! It is the crate's only contact with memory mapping, done through `memmap2` so that the
//! crate keeps `unsafe_code = "forbid"`.

/// A zeroed array in anonymous memory for which the kernel is asked to use huge pages.
///
/// Why: the visited table and the step cache are read at random, and over
/// hundreds of megabytes with 4 KiB pages almost every such read also misses the TLB.
/// Anonymous memory is also committed only when touched, so a chunk that is only partly
/// used costs only what is used. Small arrays, and systems where mapping fails, use a `Vec`.
pub(crate) enum Mem<T: bytemuck::Pod> {
    Map(memmap2::MmapMut, std::marker::PhantomData<T>),
    Heap(Vec<T>),
}

impl<T: bytemuck::Pod> Mem<T> {
    pub(crate) fn zeroed(n: usize) -> Mem<T> {
        let bytes = n * std::mem::size_of::<T>();
        if bytes >= 1 << 21 {
            if let Ok(m) = memmap2::MmapMut::map_anon(bytes) {
                #[cfg(target_os = "linux")]
                let _ = m.advise(memmap2::Advice::HugePage);
                return Mem::Map(m, std::marker::PhantomData);
            }
        }
        Mem::Heap(vec![T::zeroed(); n])
    }
}

impl<T: bytemuck::Pod> std::ops::Deref for Mem<T> {
    type Target = [T];
    #[inline]
    fn deref(&self) -> &[T] {
        match self {
            // A mapping is page-aligned, so the cast cannot fail.
            Mem::Map(m, _) => bytemuck::cast_slice(&m[..]),
            Mem::Heap(v) => v,
        }
    }
}

impl<T: bytemuck::Pod> std::ops::DerefMut for Mem<T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut [T] {
        match self {
            Mem::Map(m, _) => bytemuck::cast_slice_mut(&mut m[..]),
            Mem::Heap(v) => v,
        }
    }
}
