//! Hashing and comparing short byte strings: `hash_bytes` (thread parts, and the tags of
//! views and long keys), the inline `same_bytes`, and unaligned word reads. The interner,
//! the stores, the step cache and the codec all use them, so they sit apart rather than in
//! any one of those. They run in the inner loops, hence `#[inline]`.

use std::hash::Hasher;

pub(crate) fn hash_bytes(b: &[u8]) -> u64 {
    let mut h = rustc_hash::FxHasher::default();
    h.write(b);
    // A finalizer, so that every bit of the result depends on every input byte.
    let mut x = h.finish();
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x
}

/// The 32-bit tag of a key in the visited table.
#[inline]
pub(crate) fn hash_tag(key: &[u8]) -> u32 {
    (hash_bytes(key) >> 32) as u32
}

/// Equality of two short byte strings, inline (a library `memcmp` call costs more than
/// the comparison for a dozen bytes).
#[inline]
pub(crate) fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    if n >= 8 {
        let mut i = 0;
        while i + 8 <= n {
            if word64(a, i) != word64(b, i) {
                return false;
            }
            i += 8;
        }
        // The last, possibly overlapping, word covers the tail.
        i == n || word64(a, n - 8) == word64(b, n - 8)
    } else if n >= 4 {
        word32(a, 0) == word32(b, 0) && word32(a, n - 4) == word32(b, n - 4)
    } else {
        a.iter().zip(b).all(|(x, y)| x == y)
    }
}

#[inline(always)]
pub(crate) fn word64(x: &[u8], o: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&x[o..o + 8]);
    u64::from_ne_bytes(w)
}

#[inline(always)]
fn word32(x: &[u8], o: usize) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&x[o..o + 4]);
    u32::from_ne_bytes(w)
}
