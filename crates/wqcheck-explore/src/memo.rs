//! Two small direct-mapped memos around the step cache: `Blocked` ((part, shared part) ->
//! "surely blocked", asked for every thread of every expanded state) and `Recolor`
//! ((part, foreign bytes) -> new part, for the threads whose foreign bytes another thread's
//! step changed). Each replaces a model query or a hash-and-intern by one slot read; a
//! miss costs only what the memo would have saved, so neither changes any result.

use crate::interner::Interner;
use crate::mem::OutOfMemory;
use crate::step_cache::StepCache;
use wqcheck_model::Model;

/// `Model::surely_blocked_part`, remembered by (part number, shared part) when the shared
/// part is at most 4 bytes: a state's threads are checked on every expansion, and there are
/// few distinct pairs.
pub(crate) struct Blocked {
    /// `[part + 1, shared, answer]`; `part + 1 == 0` is an empty slot.
    slots: Vec<[u32; 3]>,
    on: bool,
}

const BLOCKED_BITS: u32 = 12;

impl Blocked {
    pub(crate) fn new(shared_len: usize) -> Blocked {
        let on = shared_len <= 4;
        Blocked {
            slots: vec![[0; 3]; if on { 1 << BLOCKED_BITS } else { 0 }],
            on,
        }
    }

    /// The shared part as a number, for `get`.
    pub(crate) fn key(&self, shared: &[u8]) -> u32 {
        if !self.on {
            return 0;
        }
        shared
            .iter()
            .enumerate()
            .fold(0, |a, (j, &x)| a | (x as u32) << (8 * j))
    }

    /// Whether the thread with part `id` surely cannot move; `sh` is `key(shared)`.
    #[inline]
    pub(crate) fn get(
        &mut self,
        model: &Model,
        interner: &Interner,
        id: u32,
        shared: &[u8],
        sh: u32,
    ) -> bool {
        if !self.on {
            return model.surely_blocked_part(shared, interner.get(id));
        }
        let x = (id as u64) << 32 | sh as u64;
        let i = (x.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - BLOCKED_BITS)) as usize;
        let e = &mut self.slots[i];
        if e[0] == id.wrapping_add(1) && e[1] == sh {
            return e[2] != 0;
        }
        let r = model.surely_blocked_part(shared, interner.get(id));
        *e = [id.wrapping_add(1), sh, r as u32];
        r
    }
}

/// Thread parts with other foreign bytes: `(part, foreign)` -> the part `part` becomes when
/// its foreign bytes are replaced by those numbered `foreign` (`StepCache::fid`). A step of another thread
/// changes a thread's foreign bytes (a wakeup, a signal, a queue operation) in about a third
/// of all transitions; this direct-mapped memo answers almost all of them without hashing
/// and interning a whole thread part.
pub(crate) struct Recolor {
    /// `[part + 1, foreign, new part, 0]`; `part + 1 == 0` is an empty slot.
    slots: Vec<[u32; 4]>,
    /// A thread part being put together.
    scratch: Vec<u8>,
}

const RECOLOR_BITS: u32 = 14;

impl Recolor {
    pub(crate) fn new(thread_len: usize) -> Recolor {
        Recolor {
            slots: vec![[0; 4]; 1 << RECOLOR_BITS],
            scratch: vec![0; thread_len],
        }
    }

    #[inline]
    fn slot(part: u32, foreign: u32) -> usize {
        let x = (part as u64) << 32 ^ foreign as u64;
        (x.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - RECOLOR_BITS)) as usize
    }

    /// The new part, from the memo or by interning it.
    pub(crate) fn get(
        &mut self,
        part: u32,
        view: u32,
        u: usize,
        interner: &mut Interner,
        cache: &StepCache,
    ) -> Result<u32, OutOfMemory> {
        let foreign = cache.fid(view, u);
        let i = Self::slot(part, foreign);
        let e = self.slots[i];
        if e[0] == part.wrapping_add(1) && e[1] == foreign {
            return Ok(e[2]);
        }
        let fl = cache.foreign.len();
        let v = cache.view(view);
        let scratch = &mut self.scratch;
        scratch.copy_from_slice(interner.get(part));
        scratch[cache.foreign.clone()]
            .copy_from_slice(&v[cache.shared_len + u * fl..cache.shared_len + (u + 1) * fl]);
        let new = interner.intern(scratch)?;
        self.slots[i] = [part.wrapping_add(1), foreign, new, 0];
        Ok(new)
    }
}
