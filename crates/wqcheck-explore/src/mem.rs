//! The explorer's memory: the `Meter` that every big allocation is charged to (the memory
//! budget, `Options::max_memory`), zeroed arrays in anonymous memory advised
//! `MADV_HUGEPAGE` (`Mem<T>`: the visited table, `Records`, the frontier's chunks, the step
//! cache), and growable vectors charged to the meter (`MVec<T>`: parents, interned thread
//! parts, view numbers). It is the crate's only contact with memory mapping, done through
//! `memmap2` so that the crate keeps `unsafe_code = "forbid"`.
//!
//! Why a meter: a search that runs out of memory must end as `Inconclusive`, saying so,
//! never abort the process (which loses every later scenario's result). So no big
//! allocation is infallible here: each is charged first (refused past the budget) and then
//! made with `try_reserve` or a mapping that may fail (refused by the system, e.g. under
//! `ulimit -v`). A refusal is an `OutOfMemory` that the search turns into its outcome;
//! the meter remembers what was refused, for the message.

use std::cell::Cell;
use std::rc::Rc;

/// Bytes charged by the search's big allocations, against a limit.
///
/// What it counts: the address space of every table (mapped or on the heap), from the
/// moment it is allocated until it is freed, so that the peak of a table growing (old and
/// new table at once) is counted as such. Small, fixed-size buffers (the batch, the memos)
/// are not charged.
pub(crate) struct Meter {
    limit: u64,
    used: Cell<u64>,
    peak: Cell<u64>,
    refusal: Cell<Option<Refusal>>,
}

/// A growth the search could not make.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Refusal {
    /// Bytes the growth asked for.
    pub(crate) asked: u64,
    /// Bytes charged when it asked.
    pub(crate) used: u64,
    /// The system refused the allocation; otherwise the budget did.
    pub(crate) by_system: bool,
}

/// The search cannot grow: the meter's `refusal` says why.
#[derive(Clone, Copy, Debug)]
pub(crate) struct OutOfMemory;

impl Meter {
    /// A meter with a limit of `limit` bytes (None: no limit).
    pub(crate) fn new(limit: Option<u64>) -> Rc<Meter> {
        Rc::new(Meter {
            limit: limit.unwrap_or(u64::MAX),
            used: Cell::new(0),
            peak: Cell::new(0),
            refusal: Cell::new(None),
        })
    }

    /// The most bytes charged at any one time.
    pub(crate) fn peak(&self) -> u64 {
        self.peak.get()
    }

    /// The last refusal, if any growth was refused.
    #[cfg(test)]
    pub(crate) fn refusal(&self) -> Option<Refusal> {
        self.refusal.get()
    }

    /// Charge `bytes` that are about to be allocated, unless that passes the limit.
    pub(crate) fn charge(&self, bytes: u64) -> Result<(), OutOfMemory> {
        let used = self.used.get();
        match used.checked_add(bytes).filter(|&u| u <= self.limit) {
            Some(u) => {
                self.used.set(u);
                self.peak.set(self.peak.get().max(u));
                Ok(())
            }
            None => {
                self.refusal.set(Some(Refusal {
                    asked: bytes,
                    used,
                    by_system: false,
                }));
                Err(OutOfMemory)
            }
        }
    }

    /// Correct a charge of `charged` bytes to the `actual` bytes allocated (an allocator
    /// that rounds up): the memory exists, so it is counted even past the limit.
    pub(crate) fn settle(&self, charged: u64, actual: u64) {
        let used = self
            .used
            .get()
            .saturating_sub(charged)
            .saturating_add(actual);
        self.used.set(used);
        self.peak.set(self.peak.get().max(used));
    }

    /// Give back `bytes` charged before (freed, or never allocated).
    pub(crate) fn release(&self, bytes: u64) {
        self.used.set(self.used.get().saturating_sub(bytes));
    }

    /// The system refused an allocation of `bytes` that was charged: release the charge
    /// and remember the refusal.
    pub(crate) fn refused_by_system(&self, bytes: u64) -> OutOfMemory {
        self.release(bytes);
        self.refusal.set(Some(Refusal {
            asked: bytes,
            used: self.used.get(),
            by_system: true,
        }));
        OutOfMemory
    }

    /// What stopped the search, for `Outcome::budget_hit`.
    pub(crate) fn describe(&self) -> String {
        let Some(r) = self.refusal.get() else {
            return "memory limit".into();
        };
        if r.by_system {
            format!(
                "system's memory limit (an allocation of {} was refused with {} held by the search; an address-space limit such as `ulimit -v`?)",
                mib(r.asked),
                mib(r.used)
            )
        } else {
            format!(
                "memory limit of {} (the search held {} and needed {} more)",
                mib(self.limit),
                mib(r.used),
                mib(r.asked)
            )
        }
    }
}

/// `1,234.5 MiB`-style figure of a byte count.
fn mib(bytes: u64) -> String {
    let m = bytes as f64 / (1u64 << 20) as f64;
    if m >= 10.0 || m == m.trunc() {
        format!("{} MiB", m.round() as u64)
    } else {
        format!("{m:.1} MiB")
    }
}

/// A zeroed array in anonymous memory for which the kernel is asked to use huge pages,
/// charged to a `Meter` while it lives.
///
/// Why huge pages: the visited table and the step cache are read at random, and over
/// hundreds of megabytes with 4 KiB pages almost every such read also misses the TLB.
/// Anonymous memory is also committed only when touched, so a chunk that is only partly
/// used costs only what is used. Small arrays, and systems where mapping fails, use a `Vec`.
pub(crate) struct Mem<T: bytemuck::Pod> {
    buf: Buf<T>,
    meter: Rc<Meter>,
}

enum Buf<T: bytemuck::Pod> {
    Map(memmap2::MmapMut, std::marker::PhantomData<T>),
    Heap(Vec<T>),
}

impl<T: bytemuck::Pod> Mem<T> {
    /// `n` zeroed elements, charged to `meter`; refused past its limit or by the system.
    pub(crate) fn zeroed(n: usize, meter: &Rc<Meter>) -> Result<Mem<T>, OutOfMemory> {
        let bytes = n * std::mem::size_of::<T>();
        meter.charge(bytes as u64)?;
        let meter = meter.clone();
        if bytes >= 1 << 21 {
            if let Ok(m) = memmap2::MmapMut::map_anon(bytes) {
                #[cfg(target_os = "linux")]
                let _ = m.advise(memmap2::Advice::HugePage);
                return Ok(Mem {
                    buf: Buf::Map(m, std::marker::PhantomData),
                    meter,
                });
            }
        }
        let mut v = Vec::new();
        if v.try_reserve_exact(n).is_err() {
            return Err(meter.refused_by_system(bytes as u64));
        }
        v.resize(n, T::zeroed());
        Ok(Mem {
            buf: Buf::Heap(v),
            meter,
        })
    }
}

impl<T: bytemuck::Pod> Mem<T> {
    /// The meter this array is charged to.
    pub(crate) fn meter(&self) -> &Rc<Meter> {
        &self.meter
    }
}

impl<T: bytemuck::Pod> Drop for Mem<T> {
    fn drop(&mut self) {
        self.meter
            .release(std::mem::size_of_val::<[T]>(self) as u64);
    }
}

impl<T: bytemuck::Pod> std::ops::Deref for Mem<T> {
    type Target = [T];
    #[inline]
    fn deref(&self) -> &[T] {
        match &self.buf {
            // A mapping is page-aligned, so the cast cannot fail.
            Buf::Map(m, _) => bytemuck::cast_slice(&m[..]),
            Buf::Heap(v) => v,
        }
    }
}

impl<T: bytemuck::Pod> std::ops::DerefMut for Mem<T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut [T] {
        match &mut self.buf {
            Buf::Map(m, _) => bytemuck::cast_slice_mut(&mut m[..]),
            Buf::Heap(v) => v,
        }
    }
}

/// A growable vector whose capacity is charged to a `Meter`: it doubles like a `Vec`, but
/// a growth past the budget, or one the system refuses, is an `OutOfMemory`, not an abort.
pub(crate) struct MVec<T> {
    v: Vec<T>,
    /// Bytes charged for `v`'s buffer.
    charged: u64,
    meter: Rc<Meter>,
}

impl<T: Copy> MVec<T> {
    pub(crate) fn new(meter: &Rc<Meter>) -> MVec<T> {
        MVec {
            v: Vec::new(),
            charged: 0,
            meter: meter.clone(),
        }
    }

    #[inline]
    pub(crate) fn push(&mut self, x: T) -> Result<(), OutOfMemory> {
        if self.v.len() == self.v.capacity() {
            self.grow(1)?;
        }
        self.v.push(x);
        Ok(())
    }

    #[inline]
    pub(crate) fn extend_from_slice(&mut self, xs: &[T]) -> Result<(), OutOfMemory> {
        if self.v.capacity() - self.v.len() < xs.len() {
            self.grow(xs.len())?;
        }
        self.v.extend_from_slice(xs);
        Ok(())
    }

    /// Make room for `extra` more, at least doubling. While the allocator moves the
    /// elements the old and the new buffer both exist, so both are charged until then.
    #[cold]
    fn grow(&mut self, extra: usize) -> Result<(), OutOfMemory> {
        let new = (self.v.capacity() * 2).max(self.v.len() + extra).max(16);
        let bytes = (new * std::mem::size_of::<T>()) as u64;
        self.meter.charge(bytes)?;
        if self.v.try_reserve_exact(new - self.v.len()).is_err() {
            return Err(self.meter.refused_by_system(bytes));
        }
        self.meter.release(self.charged);
        self.charged = bytes;
        Ok(())
    }

    pub(crate) fn bytes(&self) -> u64 {
        self.charged
    }
}

impl<T> Drop for MVec<T> {
    fn drop(&mut self) {
        self.meter.release(self.charged);
    }
}

impl<T> std::ops::Deref for MVec<T> {
    type Target = Vec<T>;
    #[inline]
    fn deref(&self) -> &Vec<T> {
        &self.v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_growth_past_the_limit_is_refused_and_charges_nothing() {
        let meter = Meter::new(Some(1000));
        let a = Mem::<u64>::zeroed(100, &meter).expect("800 bytes fit");
        assert!(
            Mem::<u64>::zeroed(100, &meter).is_err(),
            "1600 bytes do not"
        );
        let r = meter.refusal().expect("refused");
        assert_eq!((r.asked, r.used, r.by_system), (800, 800, false));
        drop(a);
        assert!(
            Mem::<u64>::zeroed(100, &meter).is_ok(),
            "freed memory is free"
        );
        assert_eq!(meter.peak(), 800);
    }

    #[test]
    fn a_growing_vector_counts_its_old_and_new_buffer_at_the_peak() {
        let meter = Meter::new(Some(1 << 20));
        let mut v = MVec::<u32>::new(&meter);
        for i in 0..1000 {
            v.push(i).expect("fits");
        }
        assert_eq!(v.len(), 1000);
        assert_eq!(meter.used.get(), v.bytes());
        // 1024 elements after growing from 512: 6 KiB held at once.
        assert_eq!(meter.peak(), (512 + 1024) * 4);
        drop(v);
        assert_eq!(meter.used.get(), 0);
    }

    #[test]
    fn a_vector_stops_growing_at_the_limit_and_keeps_what_it_holds() {
        let meter = Meter::new(Some(4096));
        let mut v = MVec::<u32>::new(&meter);
        let mut pushed = 0;
        while v.push(7).is_ok() {
            pushed += 1;
        }
        assert!((256..1024).contains(&pushed), "{pushed}");
        assert!(v.iter().all(|&x| x == 7) && v.len() == pushed);
        assert!(meter.peak() <= 4096);
    }
}
