//! The states not expanded yet (`Frontier`): a FIFO, in BFS order, of chunks of
//! (packed key, view number) records. It is kept apart from the visited table because it
//! is read once, in order, and each chunk is freed once its states are expanded, so only
//! the frontier's keys are ever stored twice.

use crate::bytes::word64;
use crate::mem::{Mem, Meter, OutOfMemory};
use std::rc::Rc;

/// States in a FIFO of chunks.
const CHUNK_RECS: usize = 1 << 16;

/// The states not expanded yet, in BFS order: each one's packed key and view number.
/// Records are appended in chunks, and a chunk is freed once all its states are expanded,
/// so only the frontier's keys are kept twice (the visited table has them all).
pub(crate) struct Frontier {
    w: usize,
    rec: usize,
    chunks: std::collections::VecDeque<Mem<u8>>,
    /// The number of the first state in `chunks[0]` (a multiple of `CHUNK_RECS`).
    base: usize,
    /// States ever pushed.
    len: usize,
    meter: Rc<Meter>,
}

impl Frontier {
    pub(crate) fn new(w: usize, meter: &Rc<Meter>) -> Frontier {
        Frontier {
            w,
            rec: 8 * w + 4,
            chunks: Default::default(),
            base: 0,
            len: 0,
            meter: meter.clone(),
        }
    }

    pub(crate) fn push(&mut self, key: &[u64], view: u32) -> Result<(), OutOfMemory> {
        let n = self.len;
        if n.is_multiple_of(CHUNK_RECS) {
            let chunk = Mem::zeroed(CHUNK_RECS * self.rec, &self.meter)?;
            self.chunks.push_back(chunk);
        }
        let o = (n % CHUNK_RECS) * self.rec;
        let w = self.w;
        if let Some(c) = self.chunks.back_mut() {
            let r = &mut c[o..o + self.rec];
            for (d, &x) in r.chunks_exact_mut(8).zip(key) {
                d.copy_from_slice(&x.to_le_bytes());
            }
            r[8 * w..8 * w + 4].copy_from_slice(&view.to_le_bytes());
        }
        self.len += 1;
        Ok(())
    }

    /// State `i`'s packed key (into `key`) and view number.
    #[inline]
    pub(crate) fn get(&self, i: usize, key: &mut [u64]) -> u32 {
        let j = i - self.base;
        let o = (j % CHUNK_RECS) * self.rec;
        let r = &self.chunks[j / CHUNK_RECS][o..o + self.rec];
        for (x, s) in key.iter_mut().zip(r.chunks_exact(8)) {
            *x = word64(s, 0);
        }
        let w = self.w;
        u32::from_le_bytes([r[8 * w], r[8 * w + 1], r[8 * w + 2], r[8 * w + 3]])
    }

    /// Forget the states before `i`.
    pub(crate) fn release(&mut self, i: usize) {
        while i - self.base >= CHUNK_RECS && !self.chunks.is_empty() {
            self.chunks.pop_front();
            self.base += CHUNK_RECS;
        }
    }

    pub(crate) fn bytes(&self) -> u64 {
        (self.chunks.len() * CHUNK_RECS * self.rec) as u64
    }
}
