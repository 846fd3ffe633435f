//! The step cache (`StepCache`): `(thread, its part, view) -> blocked | successor`, where a
//! view (the shared part and every thread's foreign bytes) is numbered through `Records`.
//! A step sees nothing else (the invariant of `wqcheck_model::state`), so an entry answers
//! for every state with the same view; in the page-lock models it answers 98% of steps.
//! It only speeds the search up: the states found are the same without it.

use crate::bytes::same_bytes;
use crate::mem::{MVec, Mem, Meter, OutOfMemory};
use crate::records::Records;
use std::rc::Rc;
use wqcheck_model::Model;

/// What a thread's step did, remembered by what the step can see.
///
/// A step of thread `t` reads and writes only `t`'s own part, the shared part and the
/// other threads' `foreign` bytes (task state, signal, entries): the architecture invariant
/// of `wqcheck_model::state`. Call the shared part and every thread's foreign bytes the
/// state's *view*. A step is then a function of `(t, t's part, view)`, and the same
/// arguments recur across many states that differ only in other threads' program counters
/// and locals (in the page-lock models, 98% of steps). Views are numbered like thread
/// parts, so an entry is `(t, part, view) -> (blocked | t's new part, new view)`, 18 bytes;
/// a hit replaces a run of the interpreter with a lookup. Faults are never cached (the step
/// is run again to report them). The cache stops growing at a fixed number of entries,
/// which bounds its memory, or when the memory budget refuses it a bigger table; it only
/// speeds the search up, and the states found are the same with or without it. The view
/// numbers are not optional: every state keeps its view's number.
pub(crate) struct StepCache {
    /// Open addressing; a slot holds a whole entry: `[t + 1 | moved << 8 | changed << 16,
    /// part, view, new part, new view, new shared part, 0, 0]`, 0 in the first word =
    /// empty (32 bytes, so that a slot never straddles a cache line).
    /// `changed` has bit u set when thread u's foreign bytes changed (u != t); the new
    /// shared part is kept when it is at most 4 bytes. An entry's home slot depends mostly
    /// on its view, so the steps of one state (which share the view) are looked up in a few
    /// adjacent cache lines, and most hits need nothing else to build the successor.
    slots: Mem<[u32; 8]>,
    len: usize,
    views: Records,
    limit: usize,
    pub(crate) shared_len: usize,
    pub(crate) foreign: std::ops::Range<usize>,
    nthreads: usize,
    /// Per view, per thread: the number of the thread's foreign bytes in the view.
    fids: MVec<u32>,
    /// Distinct foreign bytes, numbered.
    foreigns: std::collections::HashMap<Vec<u8>, u32>,
}

/// A step's key in the cache: (thread, its part number, the view number), or for an actor
/// (`0x80 | actor`, its choice, the view number): an actor's move depends on the view only.
pub(crate) type StepKey = (u8, u32, u32);

/// What the cache says about a step.
#[derive(Clone, Copy)]
pub(crate) enum Cached {
    Unknown,
    Blocked,
    Moved(Step),
}

/// A cached successor.
#[derive(Clone, Copy)]
pub(crate) struct Step {
    /// The moving thread's new part number.
    pub(crate) part: u32,
    /// The new view's number.
    pub(crate) view: u32,
    /// Threads (other than the mover) whose foreign bytes changed.
    pub(crate) changed: u16,
    /// The new shared part, when it fits 4 bytes.
    pub(crate) shared: u32,
}

impl StepCache {
    pub(crate) fn new(
        model: &Model,
        limit: usize,
        meter: &Rc<Meter>,
    ) -> Result<StepCache, OutOfMemory> {
        let l = &model.layout;
        let foreign = l.foreign();
        let view_len = l.shared_len + l.nthreads * foreign.len();
        Ok(StepCache {
            slots: Mem::zeroed(1 << 12, meter)?,
            len: 0,
            views: Records::new(view_len, view_len, meter)?,
            limit,
            shared_len: l.shared_len,
            foreign,
            nthreads: l.nthreads,
            fids: MVec::new(meter),
            foreigns: Default::default(),
        })
    }

    /// Write the view of `s` into `out`.
    pub(crate) fn view_of(&self, model: &Model, s: &[u8], out: &mut Vec<u8>) {
        let l = &model.layout;
        out.clear();
        out.extend_from_slice(&s[..self.shared_len]);
        for u in 0..l.nthreads {
            let o = l.thread_off(u);
            out.extend_from_slice(&s[o + self.foreign.start..o + self.foreign.end]);
        }
    }

    /// The number of a view (numbering it if it is new).
    pub(crate) fn view_id(&mut self, view: &[u8], tag: u32) -> Result<u32, OutOfMemory> {
        match self.views.find(view, tag) {
            Ok(r) => Ok(r as u32),
            Err(slot) => {
                let fl = self.foreign.len();
                for u in 0..self.nthreads {
                    let f = &view[self.shared_len + u * fl..self.shared_len + (u + 1) * fl];
                    let next = self.foreigns.len() as u32;
                    let fid = *self.foreigns.entry(f.to_vec()).or_insert(next);
                    self.fids.push(fid)?;
                }
                Ok(self.views.add(slot, tag, view)? as u32)
            }
        }
    }

    /// The number of thread `u`'s foreign bytes in view `view`.
    #[inline]
    pub(crate) fn fid(&self, view: u32, u: usize) -> u32 {
        self.fids[view as usize * self.nthreads + u]
    }

    pub(crate) fn view(&self, id: u32) -> &[u8] {
        self.views.get(id as usize)
    }

    #[inline]
    fn home(key: StepKey, mask: usize) -> usize {
        let (t, part, view) = key;
        let v = (view as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 20;
        let w = ((part as u64) << 8 | t as u64).wrapping_mul(0xff51_afd7_ed55_8ccd) >> 57;
        (v as usize).wrapping_add(w as usize) & mask
    }

    /// The first slots of the keys' probes, folded together: read early so that their
    /// cache misses overlap.
    pub(crate) fn touch_all(&self, keys: impl Iterator<Item = StepKey>) -> u32 {
        let slots: &[[u32; 8]] = &self.slots;
        let mask = slots.len() - 1;
        keys.fold(0, |a, k| a ^ slots[Self::home(k, mask)][0])
    }

    /// `Ok(slot)` holding the key, or `Err(free slot)`.
    fn find(&self, key: StepKey) -> Result<usize, usize> {
        Self::find_in(&self.slots, key)
    }

    #[inline(always)]
    fn find_in(slots: &[[u32; 8]], key: StepKey) -> Result<usize, usize> {
        let mask = slots.len() - 1;
        let mut i = Self::home(key, mask);
        let first = key.0 as u32 + 1;
        loop {
            let e = &slots[i];
            if e[0] == 0 {
                return Err(i);
            }
            if e[0] & 0xff == first && e[1] == key.1 && e[2] == key.2 {
                return Ok(i);
            }
            i = (i + 1) & mask;
        }
    }

    /// What the cache says about each key, in order.
    pub(crate) fn lookup_all(&self, keys: impl Iterator<Item = StepKey>, out: &mut Vec<Cached>) {
        let slots: &[[u32; 8]] = &self.slots;
        out.extend(keys.map(|k| Self::lookup_in(slots, k)));
    }

    #[inline(always)]
    fn lookup_in(slots: &[[u32; 8]], key: StepKey) -> Cached {
        match Self::find_in(slots, key) {
            Err(_) => Cached::Unknown,
            Ok(i) => {
                let e = &slots[i];
                if e[0] & 0x100 == 0 {
                    Cached::Blocked
                } else {
                    Cached::Moved(Step {
                        part: e[3],
                        view: e[4],
                        changed: (e[0] >> 16) as u16,
                        shared: e[5],
                    })
                }
            }
        }
    }

    /// Describe the step from `cur` to `next` by thread `t` (None: an actor), whose new
    /// part is `part` and new view `view`.
    pub(crate) fn step_of(
        &self,
        model: &Model,
        cur: &[u8],
        next: &[u8],
        t: Option<usize>,
        part: u32,
        view: u32,
    ) -> Step {
        let l = &model.layout;
        let mut changed = 0u16;
        for u in (0..l.nthreads).filter(|&u| Some(u) != t) {
            let o = l.thread_off(u);
            let r = o + self.foreign.start..o + self.foreign.end;
            if !same_bytes(&cur[r.clone()], &next[r]) {
                changed |= 1 << u;
            }
        }
        let mut shared = [0u8; 4];
        if self.shared_len <= 4 {
            shared[..self.shared_len].copy_from_slice(&next[..self.shared_len]);
        }
        Step {
            part,
            view,
            changed,
            shared: u32::from_le_bytes(shared),
        }
    }

    /// Remember a step: blocked (`None`) or its successor.
    pub(crate) fn remember(&mut self, key: StepKey, next: Option<Step>) {
        if self.len >= self.limit {
            return;
        }
        let Err(i) = self.find(key) else {
            return;
        };
        let first = key.0 as u32 + 1;
        self.slots[i] = match next {
            Some(st) => [
                first | 0x100 | (st.changed as u32) << 16,
                key.1,
                key.2,
                st.part,
                st.view,
                st.shared,
                0,
                0,
            ],
            None => [first, key.1, key.2, 0, 0, 0, 0, 0],
        };
        self.len += 1;
        if self.len * 8 > self.slots.len() * 5 {
            let Ok(fresh) = Mem::zeroed(self.slots.len() * 2, self.slots.meter()) else {
                // Out of budget: the cache keeps what it has and learns nothing more.
                self.limit = self.len;
                return;
            };
            let old = std::mem::replace(&mut self.slots, fresh);
            let mask = self.slots.len() - 1;
            for &e in old.iter().filter(|e| e[0] != 0) {
                let mut j = Self::home(((e[0] & 0xff) as u8 - 1, e[1], e[2]), mask);
                while self.slots[j][0] != 0 {
                    j = (j + 1) & mask;
                }
                self.slots[j] = e;
            }
        }
    }

    pub(crate) fn bytes(&self) -> u64 {
        (self.slots.len() * 32) as u64 + self.views.bytes()
    }
}
