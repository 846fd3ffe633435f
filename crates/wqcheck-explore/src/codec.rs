//! States to packed keys and back (`Codec`). A key is each thread part's number (`width`
//! bytes at fixed, aligned offsets), then the shared bytes, packed into 64-bit words with a
//! mark bit so that an empty table slot is all zeros. The codec owns the interner and the
//! `Recolor` memo because building a successor's key from a step-cache entry is patching
//! its parent's key with the part numbers that changed. `Stop::Overflow` says that part
//! numbers no longer fit `width` bytes; the search is then run again with wider ones.
//! `Stop::Memory` says that the interner could not grow (see `mem::Meter`).

use crate::bytes::{same_bytes, word64};
use crate::interner::Interner;
use crate::mem::{Meter, OutOfMemory};
use crate::memo::Recolor;
use crate::step_cache::{Step, StepCache};
use std::rc::Rc;
use wqcheck_model::Model;

/// Bit 63 of a packed key's last word: the slot is in use.
const MARK: u64 = 1 << 63;

/// Write the low `n` bytes (at most 8) of `val` at byte `off` of a packed key.
#[inline]
fn put_bytes(k: &mut [u64], off: usize, val: u64, n: usize) {
    let m = if n >= 8 {
        u64::MAX
    } else {
        (1u64 << (8 * n)) - 1
    };
    let val = val & m;
    let wi = off >> 3;
    let sh = (off & 7) * 8;
    k[wi] = (k[wi] & !(m << sh)) | (val << sh);
    if sh + 8 * n > 64 {
        let sh2 = 64 - sh;
        k[wi + 1] = (k[wi + 1] & !(m >> sh2)) | (val >> sh2);
    }
}

/// Read `n` bytes (at most 8) at byte `off` of a packed key.
#[inline]
fn get_bytes(k: &[u64], off: usize, n: usize) -> u64 {
    let m = if n >= 8 {
        u64::MAX
    } else {
        (1u64 << (8 * n)) - 1
    };
    let wi = off >> 3;
    let sh = (off & 7) * 8;
    let mut v = k[wi] >> sh;
    if sh + 8 * n > 64 {
        v |= k[wi + 1] << (64 - sh);
    }
    v & m
}

/// Write thread `t`'s part number into a packed key whose part numbers sit at `pos`
/// (word, shift, whether it straddles into the next word), `idmask` wide.
#[inline]
fn put_packed_id(
    k: &mut [u64],
    pos: &[(usize, u32, bool)],
    idmask: u64,
    t: usize,
    id: u32,
) -> Result<(), Stop> {
    let v = id as u64;
    if v > idmask {
        return Err(Stop::Overflow);
    }
    let (wi, sh, straddle) = pos[t];
    k[wi] = (k[wi] & !(idmask << sh)) | (v << sh);
    if straddle {
        k[wi + 1] = (k[wi + 1] & !(idmask >> (64 - sh))) | (v >> (64 - sh));
    }
    Ok(())
}

/// Encodes states to packed keys and back. A key's bytes are each thread part's number
/// (`width` bytes, little-endian, at byte `t * width`), then the shared part, so that the
/// part numbers that a step changes are written at fixed, aligned places.
pub(crate) struct Codec<'m> {
    model: &'m Model,
    /// 64-bit words per packed key.
    pub(crate) words: usize,
    pub(crate) interner: Interner<'m>,
    recolor: Recolor,
    /// Per thread: where its part number is, as (word, bit shift, whether it runs into
    /// the next word).
    pos: Vec<(usize, u32, bool)>,
    /// The largest part number that fits.
    idmask: u64,
    /// Where the shared part starts (after the part numbers).
    pub(crate) soff: usize,
}

/// Why a key cannot be built: part numbers no longer fit `width` bytes, or the interner
/// could not grow within the memory budget.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Stop {
    Overflow,
    Memory,
}

impl From<OutOfMemory> for Stop {
    fn from(_: OutOfMemory) -> Stop {
        Stop::Memory
    }
}

impl<'m> Codec<'m> {
    pub(crate) fn new(model: &'m Model, width: usize, meter: &Rc<Meter>) -> Codec<'m> {
        let l = &model.layout;
        let key_len = l.shared_len + l.nthreads * width;
        Codec {
            model,
            words: (key_len + 1).div_ceil(8),
            interner: Interner::new(l, meter),
            recolor: Recolor::new(l.thread_len),
            pos: (0..l.nthreads)
                .map(|t| {
                    let b = 8 * (t * width) as u32;
                    ((b / 64) as usize, b % 64, b % 64 + 8 * width as u32 > 64)
                })
                .collect(),
            idmask: (1u64 << (8 * width)) - 1,
            soff: l.nthreads * width,
        }
    }

    /// An all-zero packed key (with its mark).
    pub(crate) fn blank(&self) -> Vec<u64> {
        let mut k = vec![0u64; self.words];
        k[self.words - 1] = MARK;
        k
    }

    /// Thread `t`'s part number in a packed key.
    #[inline]
    pub(crate) fn id(&self, k: &[u64], t: usize) -> u32 {
        let (wi, sh, straddle) = self.pos[t];
        let mut v = k[wi] >> sh;
        if straddle {
            v |= k[wi + 1] << (64 - sh);
        }
        (v & self.idmask) as u32
    }

    /// Write thread `t`'s part number into a packed key.
    #[inline]
    fn put_id(&self, k: &mut [u64], t: usize, id: u32) -> Result<(), Stop> {
        put_packed_id(k, &self.pos, self.idmask, t, id)
    }

    /// `apply` for keys of at most 15 bytes (two words), `key` being the parent's.
    #[inline]
    pub(crate) fn apply16<const WIDTH: usize>(
        &mut self,
        key: [u64; 2],
        ids: &[u32],
        t: Option<usize>,
        step: Step,
        cache: &StepCache,
    ) -> Result<[u64; 2], Stop> {
        let mut k = [0u8; 16];
        k[..8].copy_from_slice(&key[0].to_le_bytes());
        k[8..].copy_from_slice(&key[1].to_le_bytes());
        let put = |k: &mut [u8; 16], u: usize, id: u32| -> Result<(), Stop> {
            if WIDTH == 2 && id > 0xffff {
                return Err(Stop::Overflow);
            }
            let o = u * WIDTH;
            k[o..o + WIDTH].copy_from_slice(&id.to_le_bytes()[..WIDTH]);
            Ok(())
        };
        Self::new_ids(
            &mut self.recolor,
            &mut self.interner,
            ids,
            t,
            step,
            cache,
            |u, id| put(&mut k, u, id),
        )?;
        let (o, sl) = (self.soff, self.model.layout.shared_len);
        if sl <= 4 && o + 4 <= 16 {
            // The bytes after the shared part are zero in `step.shared`; the mark is
            // set again below.
            k[o..o + 4].copy_from_slice(&step.shared.to_le_bytes());
        } else if sl <= 4 {
            k[o..o + sl].copy_from_slice(&step.shared.to_le_bytes()[..sl]);
        } else {
            k[o..o + sl].copy_from_slice(&cache.view(step.view)[..sl]);
        }
        k[15] |= 0x80;
        Ok([word64(&k, 0), word64(&k, 8)])
    }

    /// The shared part of a packed key.
    pub(crate) fn shared(&self, k: &[u64], out: &mut [u8]) {
        for (j, b) in out.iter_mut().enumerate() {
            *b = get_bytes(k, self.soff + j, 1) as u8;
        }
    }

    /// Encode `s` into a packed key: a successor of `parent` (whose part ids are
    /// `parent_ids`) by a move of `mover` (a thread, or None for an actor); a parent id of
    /// `u32::MAX` means "no parent" (the initial state). Only the mover's part can differ
    /// from the parent's outside the `foreign` bytes (see `wqcheck_model::state`), so the
    /// other parts are compared on those bytes only. Returns the mover's part number.
    pub(crate) fn encode(
        &mut self,
        s: &[u8],
        parent: &[u8],
        parent_ids: &[u32],
        mover: Option<usize>,
        k: &mut [u64],
    ) -> Result<Option<u32>, Stop> {
        let l = &self.model.layout;
        let foreign = l.foreign();
        k.fill(0);
        k[self.words - 1] = MARK;
        for (j, &b) in s[..l.shared_len].iter().enumerate() {
            put_bytes(k, self.soff + j, b as u64, 1);
        }
        let mut mover_id = None;
        for (t, &parent_id) in parent_ids.iter().enumerate().take(l.nthreads) {
            let o = l.thread_off(t);
            let part = &s[o..o + l.thread_len];
            let same = parent_id != u32::MAX
                && mover != Some(t)
                && same_bytes(
                    &part[foreign.clone()],
                    &parent[o + foreign.start..o + foreign.end],
                );
            debug_assert!(!same || part == &parent[o..o + l.thread_len]);
            let id = if same {
                parent_id
            } else {
                self.interner.intern(part)?
            };
            if mover == Some(t) {
                mover_id = Some(id);
            }
            self.put_id(k, t, id)?;
        }
        Ok(mover_id)
    }

    /// Turn `k`, a copy of the packed key of the state whose part numbers are `ids`, into
    /// the successor that the step cache describes for thread `t` (None: an actor moved).
    /// Other threads keep their part unless the step changed their foreign bytes, which
    /// are then taken from the new view.
    #[inline]
    pub(crate) fn apply(
        &mut self,
        k: &mut [u64],
        ids: &[u32],
        t: Option<usize>,
        step: Step,
        cache: &StepCache,
    ) -> Result<(), Stop> {
        let sl = self.model.layout.shared_len;
        if sl <= 4 {
            if sl > 0 {
                put_bytes(k, self.soff, step.shared as u64, sl);
            }
        } else {
            for (j, &b) in cache.view(step.view)[..sl].iter().enumerate() {
                put_bytes(k, self.soff + j, b as u64, 1);
            }
        }
        let (pos, idmask) = (&self.pos, self.idmask);
        Self::new_ids(
            &mut self.recolor,
            &mut self.interner,
            ids,
            t,
            step,
            cache,
            |u, id| put_packed_id(k, pos, idmask, u, id),
        )
    }

    /// The part numbers a step gives, each handed to `put` (thread, number): the mover's
    /// new part, then, for each thread whose foreign bytes the step changed, its part
    /// recoloured from the new view. It takes the two fields it changes rather than `self`,
    /// so that `put` may borrow the others.
    #[inline]
    fn new_ids(
        recolor: &mut Recolor,
        interner: &mut Interner<'m>,
        ids: &[u32],
        t: Option<usize>,
        step: Step,
        cache: &StepCache,
        mut put: impl FnMut(usize, u32) -> Result<(), Stop>,
    ) -> Result<(), Stop> {
        if let Some(t) = t {
            put(t, step.part)?;
        }
        let mut changed = step.changed as u32;
        while changed != 0 {
            let u = changed.trailing_zeros() as usize;
            changed &= changed - 1;
            put(u, recolor.get(ids[u], step.view, u, interner, cache)?)?;
        }
        Ok(())
    }

    /// The state of a packed key.
    pub(crate) fn decode(&self, k: &[u64], s: &mut [u8]) {
        let l = &self.model.layout;
        self.shared(k, &mut s[..l.shared_len]);
        for t in 0..l.nthreads {
            let o = l.thread_off(t);
            s[o..o + l.thread_len].copy_from_slice(self.interner.get(self.id(k, t)));
        }
    }
}
