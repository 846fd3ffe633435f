//! The explicit state of a running instance: one flat byte string.
//!
//! ```text
//! [ shared part ][ thread 0 ][ thread 1 ] ...
//! shared part: one byte per shared variable (value - min), one byte per queue (its
//!              spinlock holder, thread + 1), one byte per actor (has it acted)
//! thread part: pc (u16) | task state (u16) | signal (u8) | entries (4 bytes each)
//!              | wake walk (16 bytes) | return pcs (u16 per call depth) | slots (i16 each)
//! ```
//!
//! Architecture invariant: a step of thread `t` writes only `t`'s own part and the shared
//! part, except for other threads' task state, signal and entries, which a wakeup, a signal
//! or a queue operation may change. Those three are contiguous ([`Layout::foreign`]), so
//! an explorer can tell whether a thread that did not move changed by comparing a few
//! bytes.
//!
//! A queue's list is not stored in the shared part: each entry records which queue it is
//! linked on and its position, so a queue is the set of entries that name it, in position
//! order. That keeps the shared part short and puts most of a state in the thread parts,
//! which the native explorer stores once each and refers to by number (see
//! `wqcheck-explore`). Everything in a state is canonical: unused bytes are zero, so two
//! states are the same configuration exactly when their bytes are equal.

use crate::compile::{Code, Pc, PC_DONE};
use crate::ir::{Instance, Value, VarType};

/// Signal bits of a thread.
pub const SIG_PENDING: u8 = 1;
pub const SIG_FATAL: u8 = 2;

/// Return-pc value of a thread body's frame: returning from it ends the thread.
pub const RET_TOP: u16 = u16::MAX;

const T_PC: usize = 0;
const T_STATE: usize = 2;
const T_SIG: usize = 4;
const T_ENTRIES: usize = 5;
const ENTRY_LEN: usize = 4;
const WALK_LEN: usize = 16;

/// Where everything lives in a state.
#[derive(Clone, Debug)]
pub struct Layout {
    pub nthreads: usize,
    pub nvars: usize,
    pub nqueues: usize,
    pub nactors: usize,
    pub var_min: Vec<Value>,
    pub var_max: Vec<Value>,
    pub shared_len: usize,
    pub thread_len: usize,
    /// Entry slots per thread (entry locals + the futex entry).
    pub entries: usize,
    walk_off: usize,
    rets_off: usize,
    slots_off: usize,
    pub slot_base: Vec<usize>,
    ret_index: Vec<usize>,
    /// Per entry handle (index 0 unused): its owner, its slot and its offset in a state.
    /// Handles are decoded on every queue operation; a table avoids two divisions each.
    entry_table: Vec<(u8, u8, u32)>,
}

/// The state of one in-progress `__wake_up_common` walk.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Walk {
    /// Queue + 1; 0 when no walk is in progress.
    pub queue: u8,
    /// Handle of the entry whose wake function runs now.
    pub cur: u8,
    /// Handle of the next entry to visit, 0 at the end.
    pub next: u8,
    /// `cur`'s flags, read before calling its function (as `__wake_up_common` does).
    pub flags: u8,
    pub nr: i32,
    pub mode: i32,
    pub ret: i32,
}

impl Layout {
    pub fn new(inst: &Instance, code: &Code) -> Layout {
        let p = &inst.program;
        let nthreads = inst.threads.len();
        let nvars = p.vars.len();
        let nqueues = p.queues.len();
        let nactors = inst.actors.len();
        let (var_min, var_max) = p
            .vars
            .iter()
            .map(|v| match v.ty {
                VarType::Bit => (0, 1),
                VarType::Int { min, max } => (min, max),
            })
            .unzip();
        let entries = code.entries_per_thread();
        let walk_off = T_ENTRIES + ENTRY_LEN * entries;
        let rets_off = walk_off + WALK_LEN;
        let slots_off = rets_off + 2 * code.total_rets;
        let thread_len = slots_off + 2 * code.total_slots;
        Layout {
            nthreads,
            nvars,
            nqueues,
            nactors,
            var_min,
            var_max,
            shared_len: nvars + nqueues + nactors,
            thread_len,
            entries,
            walk_off,
            rets_off,
            slots_off,
            slot_base: code.funcs.iter().map(|f| f.slot_base).collect(),
            ret_index: code.funcs.iter().map(|f| f.ret_index).collect(),
            entry_table: std::iter::once((0, 0, 0))
                .chain((0..nthreads).flat_map(|t| {
                    (0..entries).map(move |e| {
                        let off =
                            nvars + nqueues + nactors + t * thread_len + T_ENTRIES + ENTRY_LEN * e;
                        (t as u8, e as u8, off as u32)
                    })
                }))
                .collect(),
        }
    }

    /// The bytes of a thread part that other threads may write (task state, signal,
    /// entries), as a range within the part.
    pub fn foreign(&self) -> std::ops::Range<usize> {
        T_STATE..self.walk_off
    }

    pub fn state_len(&self) -> usize {
        self.shared_len + self.nthreads * self.thread_len
    }

    #[inline]
    pub fn thread_off(&self, t: usize) -> usize {
        self.shared_len + t * self.thread_len
    }

    // ---- shared part ----

    #[inline]
    pub fn var(&self, s: &[u8], v: usize) -> Value {
        s[v] as Value + self.var_min[v]
    }

    /// `false` if the value is out of the variable's range.
    #[inline]
    pub fn set_var(&self, s: &mut [u8], v: usize, x: Value) -> bool {
        if x < self.var_min[v] || x > self.var_max[v] {
            return false;
        }
        s[v] = (x - self.var_min[v]) as u8;
        true
    }

    /// The lock holder of queue `q`: thread + 1, or 0.
    #[inline]
    pub fn lock_holder(&self, s: &[u8], q: usize) -> u8 {
        s[self.nvars + q]
    }

    #[inline]
    pub fn set_lock_holder(&self, s: &mut [u8], q: usize, h: u8) {
        s[self.nvars + q] = h;
    }

    #[inline]
    pub fn actor_done(&self, s: &[u8], a: usize) -> bool {
        s[self.nvars + self.nqueues + a] != 0
    }

    #[inline]
    pub fn set_actor_done(&self, s: &mut [u8], a: usize) {
        s[self.nvars + self.nqueues + a] = 1;
    }

    // ---- thread part ----

    #[inline]
    fn u16_at(s: &[u8], o: usize) -> u16 {
        u16::from_le_bytes([s[o], s[o + 1]])
    }

    #[inline]
    fn set_u16_at(s: &mut [u8], o: usize, v: u16) {
        s[o..o + 2].copy_from_slice(&v.to_le_bytes());
    }

    /// The pc in a thread part (a slice of `thread_len` bytes).
    #[inline]
    pub fn part_pc(&self, part: &[u8]) -> Pc {
        Self::u16_at(part, T_PC)
    }

    #[inline]
    pub fn part_task_state(&self, part: &[u8]) -> Value {
        Self::u16_at(part, T_STATE) as Value
    }

    #[inline]
    pub fn part_sig(&self, part: &[u8]) -> u8 {
        part[T_SIG]
    }

    #[inline]
    pub fn pc(&self, s: &[u8], t: usize) -> Pc {
        Self::u16_at(s, self.thread_off(t) + T_PC)
    }

    #[inline]
    pub fn set_pc(&self, s: &mut [u8], t: usize, pc: Pc) {
        Self::set_u16_at(s, self.thread_off(t) + T_PC, pc)
    }

    pub fn done(&self, s: &[u8], t: usize) -> bool {
        self.pc(s, t) == PC_DONE
    }

    #[inline]
    pub fn task_state(&self, s: &[u8], t: usize) -> Value {
        Self::u16_at(s, self.thread_off(t) + T_STATE) as Value
    }

    #[inline]
    pub fn set_task_state(&self, s: &mut [u8], t: usize, v: Value) {
        Self::set_u16_at(s, self.thread_off(t) + T_STATE, v as u16)
    }

    #[inline]
    pub fn sig(&self, s: &[u8], t: usize) -> u8 {
        s[self.thread_off(t) + T_SIG]
    }

    #[inline]
    pub fn set_sig(&self, s: &mut [u8], t: usize, v: u8) {
        s[self.thread_off(t) + T_SIG] = v;
    }

    pub fn walk(&self, s: &[u8], t: usize) -> Walk {
        let o = self.thread_off(t) + self.walk_off;
        let i32_at = |k: usize| i32::from_le_bytes([s[k], s[k + 1], s[k + 2], s[k + 3]]);
        Walk {
            queue: s[o],
            cur: s[o + 1],
            next: s[o + 2],
            flags: s[o + 3],
            nr: i32_at(o + 4),
            mode: i32_at(o + 8),
            ret: i32_at(o + 12),
        }
    }

    pub fn set_walk(&self, s: &mut [u8], t: usize, w: Walk) {
        let o = self.thread_off(t) + self.walk_off;
        s[o] = w.queue;
        s[o + 1] = w.cur;
        s[o + 2] = w.next;
        s[o + 3] = w.flags;
        s[o + 4..o + 8].copy_from_slice(&w.nr.to_le_bytes());
        s[o + 8..o + 12].copy_from_slice(&w.mode.to_le_bytes());
        s[o + 12..o + 16].copy_from_slice(&w.ret.to_le_bytes());
    }

    // ---- entries: handle = thread * entries + slot + 1 ----

    #[inline]
    pub fn handle(&self, t: usize, slot: usize) -> u8 {
        (t * self.entries + slot + 1) as u8
    }

    /// (thread, slot) of a handle, if valid.
    #[inline]
    pub fn entry_of(&self, h: Value) -> Option<(usize, usize)> {
        if h <= 0 {
            return None;
        }
        let &(t, e, _) = self.entry_table.get(h as usize)?;
        Some((t as usize, e as usize))
    }

    #[inline]
    fn entry_off(&self, h: u8) -> usize {
        self.entry_table[h as usize].2 as usize
    }

    /// The next entry of thread `t`'s wake walk (0: none), without decoding the walk.
    #[inline]
    pub fn walk_next(&self, s: &[u8], t: usize) -> u8 {
        s[self.thread_off(t) + self.walk_off + 2]
    }

    /// Offset of function `f`'s slots for thread `t`: `slot_at(s, base, k)` reads slot k.
    #[inline]
    pub fn frame_base(&self, t: usize, f: usize) -> usize {
        self.thread_off(t) + self.slots_off + 2 * self.slot_base[f]
    }

    #[inline]
    pub fn slot_at(&self, s: &[u8], base: usize, k: usize) -> Value {
        let o = base + 2 * k;
        i16::from_le_bytes([s[o], s[o + 1]]) as Value
    }

    #[inline]
    pub fn entry_flags(&self, s: &[u8], h: u8) -> u8 {
        s[self.entry_off(h)]
    }

    #[inline]
    pub fn set_entry_flags(&self, s: &mut [u8], h: u8, f: u8) {
        let o = self.entry_off(h);
        s[o] = f;
    }

    /// 0 = autoremove_wake_function, 1 = default_wake_function, f + 2 = model function f.
    #[inline]
    pub fn entry_func(&self, s: &[u8], h: u8) -> u8 {
        s[self.entry_off(h) + 1]
    }

    #[inline]
    pub fn set_entry_func(&self, s: &mut [u8], h: u8, f: u8) {
        let o = self.entry_off(h) + 1;
        s[o] = f;
    }

    /// The queue an entry is linked on.
    #[inline]
    pub fn entry_queue(&self, s: &[u8], h: u8) -> Option<usize> {
        let q = s[self.entry_off(h) + 2];
        (q != 0).then(|| q as usize - 1)
    }

    #[inline]
    fn entry_pos(&self, s: &[u8], h: u8) -> u8 {
        s[self.entry_off(h) + 3]
    }

    #[inline]
    fn set_link(&self, s: &mut [u8], h: u8, q: u8, pos: u8) {
        let o = self.entry_off(h);
        s[o + 2] = q;
        s[o + 3] = pos;
    }

    /// All entry handles, in handle order.
    fn all_handles(&self) -> impl Iterator<Item = u8> + '_ {
        1..=(self.nthreads * self.entries) as u8
    }

    /// The list of queue `q`, in list order.
    pub fn queue_list(&self, s: &[u8], q: usize) -> Vec<u8> {
        let mut v: Vec<(u8, u8)> = self
            .all_handles()
            .filter(|&h| self.entry_queue(s, h) == Some(q))
            .map(|h| (self.entry_pos(s, h), h))
            .collect();
        v.sort_unstable();
        v.into_iter().map(|(_, h)| h).collect()
    }

    pub fn queue_len(&self, s: &[u8], q: usize) -> usize {
        self.all_handles()
            .filter(|&h| self.entry_queue(s, h) == Some(q))
            .count()
    }

    /// The first entry of `q`, if any.
    pub fn queue_first(&self, s: &[u8], q: usize) -> Option<u8> {
        self.all_handles()
            .filter(|&h| self.entry_queue(s, h) == Some(q))
            .min_by_key(|&h| self.entry_pos(s, h))
    }

    /// The entry after `h` on its queue.
    pub fn queue_next(&self, s: &[u8], h: u8) -> Option<u8> {
        let q = self.entry_queue(s, h)?;
        let p = self.entry_pos(s, h);
        self.all_handles()
            .find(|&k| self.entry_queue(s, k) == Some(q) && self.entry_pos(s, k) == p + 1)
    }

    pub fn link_tail(&self, s: &mut [u8], q: usize, h: u8) {
        let n = self.queue_len(s, q) as u8;
        self.set_link(s, h, q as u8 + 1, n);
    }

    pub fn link_head(&self, s: &mut [u8], q: usize, h: u8) {
        let hs: Vec<u8> = self
            .all_handles()
            .filter(|&k| self.entry_queue(s, k) == Some(q))
            .collect();
        for k in hs {
            let p = self.entry_pos(s, k);
            self.set_link(s, k, q as u8 + 1, p + 1);
        }
        self.set_link(s, h, q as u8 + 1, 0);
    }

    pub fn unlink(&self, s: &mut [u8], h: u8) {
        let Some(q) = self.entry_queue(s, h) else {
            return;
        };
        let p = self.entry_pos(s, h);
        let hs: Vec<u8> = self
            .all_handles()
            .filter(|&k| self.entry_queue(s, k) == Some(q) && self.entry_pos(s, k) > p)
            .collect();
        for k in hs {
            let pk = self.entry_pos(s, k);
            self.set_link(s, k, q as u8 + 1, pk - 1);
        }
        self.set_link(s, h, 0, 0);
    }

    /// Clear an entry (the function owning it returned).
    pub fn clear_entry(&self, s: &mut [u8], h: u8) {
        let o = self.entry_off(h);
        s[o..o + ENTRY_LEN].fill(0);
    }

    // ---- frames ----

    #[inline]
    pub fn ret(&self, s: &[u8], t: usize, f: usize) -> u16 {
        Self::u16_at(
            s,
            self.thread_off(t) + self.rets_off + 2 * self.ret_index[f],
        )
    }

    #[inline]
    pub fn set_ret(&self, s: &mut [u8], t: usize, f: usize, v: u16) {
        Self::set_u16_at(
            s,
            self.thread_off(t) + self.rets_off + 2 * self.ret_index[f],
            v,
        )
    }

    #[inline]
    fn slot_off(&self, t: usize, f: usize, slot: usize) -> usize {
        self.thread_off(t) + self.slots_off + 2 * (self.slot_base[f] + slot)
    }

    #[inline]
    pub fn slot(&self, s: &[u8], t: usize, f: usize, slot: usize) -> Value {
        let o = self.slot_off(t, f, slot);
        i16::from_le_bytes([s[o], s[o + 1]]) as Value
    }

    /// `false` if the value does not fit the 16-bit slots the checker stores locals in.
    #[inline]
    pub fn set_slot(&self, s: &mut [u8], t: usize, f: usize, slot: usize, v: Value) -> bool {
        let Ok(x) = i16::try_from(v) else {
            return false;
        };
        let o = self.slot_off(t, f, slot);
        s[o..o + 2].copy_from_slice(&x.to_le_bytes());
        true
    }

    pub fn clear_frame(&self, s: &mut [u8], t: usize, f: usize, nslots: usize) {
        let o = self.slot_off(t, f, 0);
        s[o..o + 2 * nslots].fill(0);
    }
}
