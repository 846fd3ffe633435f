//! The explicit state of a running instance: one flat byte string.
//!
//! ```text
//! [ shared part ][ thread 0 ][ thread 1 ] ...
//! shared part: one byte per shared variable (value - min), one byte per queue (its
//!              spinlock holder, thread + 1), one byte per actor (has it acted)
//!              [wake_q: one byte per thread: its task's `wake_q.next` node]
//!              [timeouts: one byte per thread: its timer (idle, armed, fired)]
//!              [TSO: one byte per queue: its list head as lockless readers see it]
//! thread part: pc (u16) | task state (u16) | signal (u8) | entries (4 bytes each)
//!              [TSO: one byte per entry: its list node as lockless readers see it]
//!              | wake walks (16 bytes; 32 when a wake function walks a queue too)
//!              | wake_q heads (2 bytes each)
//!              | return pcs (u16 per call depth) | slots (i16 each)
//!              [TSO: the store buffer, 4 bytes per slot, oldest first]
//!
//! A task's `wake_q` node is in the shared part rather than with its task state because
//! the node is written by whoever queues the task and whoever wakes the queue, and the
//! foreign part of a thread is kept to what a wakeup, a signal or a queue operation
//! changes. A wake_q head (its first and last task, + 1 each) is its owner's alone.
//! ```
//!
//! Under x86-TSO (`crate::tso`) the state also holds what the memory model needs: each
//! thread's store buffer (its own part: only it and its flushes touch it) and the
//! lockless views of lists, which a store buffer can hold back from memory while the list
//! itself, read only under its lock, is already changed. Under sequential consistency
//! those views are read off the lists and take no bytes.
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
use crate::ir::{Instance, Value};

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
/// A walk's bytes: queue, cur, next, flags, nr, mode, ret; and its key in models whose
/// wake walks carry one ([`crate::compile::Code::keyed_walks`]).
const WALK_LEN: usize = 16;
const WALK_KEY_LEN: usize = 4;
const WAKE_Q_HEAD_LEN: usize = 2;

/// The value of a `wake_q` node that ends a list (`WAKE_Q_TAIL`); NULL is 0 and a link
/// to thread `t`'s node is `t + 1`.
pub const WAKE_Q_TAIL: u8 = 0xff;

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
    /// Under TSO: the store buffer's slots per thread; 0 under sequential consistency.
    pub store_buffer: usize,
    /// TSO: offset of the queue heads' views in the shared part.
    heads_off: usize,
    /// Offset of the tasks' wake_q nodes in the shared part (when the program uses wake_q).
    wake_q_nodes_off: usize,
    /// Offset of the threads' timers in the shared part (when the program has timed sleeps).
    timers_off: usize,
    /// Offset of the wake_q heads in a thread part.
    wake_q_heads_off: usize,
    /// TSO: offset of the entry nodes' views in a thread part.
    nodes_off: usize,
    /// TSO: offset of the store buffer in a thread part.
    buf_off: usize,
    walk_off: usize,
    /// 2 when a wake function may run a walk of its own (a nested `__wake_up_common()`,
    /// as epoll's `ep_poll_callback()` wakes `ep->wq`), else 1.
    walk_levels: usize,
    /// The bytes of one walk level: 16, or 20 with a key.
    walk_len: usize,
    /// The bytes of one wait entry: flags, func, queue, position, then its
    /// [`crate::ir::EntryField::Data`] fields.
    entry_len: usize,
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
    /// The walk's key (`__wake_up_locked_key(q, mode, &key)`), passed to each wake
    /// function: a [`crate::ir::frame_ptr`], or 0 (`NULL`).
    pub key: i32,
}

/// One store of a TSO store buffer: where and what (4 bytes in a thread part).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Buffered {
    pub loc: BufLoc,
    /// The value in the location's byte encoding (a variable: value - min).
    pub raw: u16,
}

/// What a buffered store writes: a memory location, or a spinlock's word (its release).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BufLoc {
    Var(u16),
    EntryFlags(u8),
    TaskState(u8),
    EntryNode(u8),
    QueueHead(u8),
    Lock(u8),
    WakeQNode(u8),
}

impl BufLoc {
    fn encode(self) -> u16 {
        match self {
            BufLoc::Var(v) => 1 << 12 | v,
            BufLoc::EntryFlags(h) => 2 << 12 | h as u16,
            BufLoc::TaskState(t) => 3 << 12 | t as u16,
            BufLoc::EntryNode(h) => 4 << 12 | h as u16,
            BufLoc::QueueHead(q) => 5 << 12 | q as u16,
            BufLoc::Lock(q) => 6 << 12 | q as u16,
            BufLoc::WakeQNode(t) => 7 << 12 | t as u16,
        }
    }

    fn decode(x: u16) -> Option<BufLoc> {
        let i = x & 0xfff;
        Some(match x >> 12 {
            1 => BufLoc::Var(i),
            2 => BufLoc::EntryFlags(i as u8),
            3 => BufLoc::TaskState(i as u8),
            4 => BufLoc::EntryNode(i as u8),
            5 => BufLoc::QueueHead(i as u8),
            6 => BufLoc::Lock(i as u8),
            7 => BufLoc::WakeQNode(i as u8),
            _ => return None,
        })
    }
}

impl Layout {
    /// The layout for sequential consistency.
    pub fn new(inst: &Instance, code: &Code) -> Layout {
        Layout::with_store_buffer(inst, code, 0)
    }

    /// The layout with a TSO store buffer of `store_buffer` slots per thread (0: SC).
    pub fn with_store_buffer(inst: &Instance, code: &Code, store_buffer: usize) -> Layout {
        let p = &inst.program;
        let nthreads = inst.threads.len();
        let nvars = p.vars.len();
        let nqueues = p.queues.len();
        let nactors = inst.actors.len();
        let (var_min, var_max) = p.vars.iter().map(|v| v.ty.range()).unzip();
        let entries = code.entries_per_thread();
        let tso = store_buffer > 0;
        let entry_len = ENTRY_LEN + p.entry_data as usize;
        let nodes_off = T_ENTRIES + entry_len * entries;
        let walk_off = nodes_off + if tso { entries } else { 0 };
        let walk_levels = 1 + code.nested_walks as usize;
        let walk_len = WALK_LEN + if code.keyed_walks { WALK_KEY_LEN } else { 0 };
        let wake_q_heads_off = walk_off + walk_len * walk_levels;
        let rets_off = wake_q_heads_off + WAKE_Q_HEAD_LEN * code.wake_qs.len();
        let slots_off = rets_off + 2 * code.total_rets;
        let buf_off = slots_off + 2 * code.total_slots;
        let thread_len = buf_off + 4 * store_buffer;
        let wake_q_nodes_off = nvars + nqueues + nactors;
        let timers_off = wake_q_nodes_off + if code.uses_wake_q { nthreads } else { 0 };
        let heads_off = timers_off + if code.uses_timers { nthreads } else { 0 };
        let shared_len = heads_off + if tso { nqueues } else { 0 };
        Layout {
            nthreads,
            nvars,
            nqueues,
            nactors,
            var_min,
            var_max,
            shared_len,
            thread_len,
            entries,
            store_buffer,
            heads_off,
            wake_q_nodes_off,
            timers_off,
            wake_q_heads_off,
            nodes_off,
            buf_off,
            walk_off,
            walk_levels,
            walk_len,
            entry_len,
            rets_off,
            slots_off,
            slot_base: code.funcs.iter().map(|f| f.slot_base).collect(),
            ret_index: code.funcs.iter().map(|f| f.ret_index).collect(),
            entry_table: std::iter::once((0, 0, 0))
                .chain((0..nthreads).flat_map(|t| {
                    (0..entries).map(move |e| {
                        let off = shared_len + t * thread_len + T_ENTRIES + entry_len * e;
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

    /// The offset of actor `a`'s byte (has it acted).
    pub fn actor_off(&self, a: usize) -> usize {
        self.nvars + self.nqueues + a
    }

    /// Actor `a`'s byte: 0 it may act, 1 it has acted, 2 it waits for a thread to pass a
    /// label (`after`).
    #[inline]
    pub fn actor_done(&self, s: &[u8], a: usize) -> bool {
        s[self.nvars + self.nqueues + a] == 1
    }

    /// Whether actor `a` waits for its thread to pass a label.
    #[inline]
    pub fn actor_waiting(&self, s: &[u8], a: usize) -> bool {
        s[self.nvars + self.nqueues + a] == 2
    }

    /// Actor `a` starts waiting for a label.
    pub fn set_actor_waiting(&self, s: &mut [u8], a: usize) {
        s[self.nvars + self.nqueues + a] = 2;
    }

    /// The label actor `a` waited for is passed: it may act.
    #[inline]
    pub fn allow_actor(&self, s: &mut [u8], a: usize) {
        if self.actor_waiting(s, a) {
            s[self.nvars + self.nqueues + a] = 0;
        }
    }

    #[inline]
    pub fn set_actor_done(&self, s: &mut [u8], a: usize) {
        s[self.nvars + self.nqueues + a] = 1;
    }

    /// Thread `t`'s `wake_q.next`: 0 (NULL: not queued), [`WAKE_Q_TAIL`], or the next
    /// task + 1. Only a program that uses wake_q has nodes; one that does not reads NULL.
    #[inline]
    pub fn wake_q_node(&self, s: &[u8], t: usize) -> u8 {
        if self.wake_q_nodes_off + t < self.timers_off {
            s[self.wake_q_nodes_off + t]
        } else {
            0
        }
    }

    #[inline]
    pub fn set_wake_q_node(&self, s: &mut [u8], t: usize, x: u8) {
        if self.wake_q_nodes_off + t < self.timers_off {
            s[self.wake_q_nodes_off + t] = x;
        }
    }

    /// Whether the program has timed sleeps, and so every thread a timer.
    pub fn has_timers(&self) -> bool {
        self.timers_off < self.heads_off
    }

    /// Thread `t`'s timer ([`crate::ir::timer`]: idle, armed or fired). Only a program
    /// with timed sleeps has timers; one without reads idle.
    #[inline]
    pub fn timer(&self, s: &[u8], t: usize) -> u8 {
        if self.timers_off + t < self.heads_off {
            s[self.timers_off + t]
        } else {
            0
        }
    }

    #[inline]
    pub fn set_timer(&self, s: &mut [u8], t: usize, x: u8) {
        if self.timers_off + t < self.heads_off {
            s[self.timers_off + t] = x;
        }
    }

    // ---- thread part ----

    /// Thread `t`'s wake_q head number `i`: (first, last), each a task + 1 or 0 (empty).
    pub fn wake_q_head(&self, s: &[u8], t: usize, i: usize) -> Option<(u8, u8)> {
        let o = self.thread_off(t) + self.wake_q_heads_off + WAKE_Q_HEAD_LEN * i;
        (o + WAKE_Q_HEAD_LEN <= self.thread_off(t) + self.rets_off).then(|| (s[o], s[o + 1]))
    }

    /// `false` if thread parts have no head number `i`.
    pub fn set_wake_q_head(&self, s: &mut [u8], t: usize, i: usize, head: (u8, u8)) -> bool {
        let o = self.thread_off(t) + self.wake_q_heads_off + WAKE_Q_HEAD_LEN * i;
        if o + WAKE_Q_HEAD_LEN > self.thread_off(t) + self.rets_off {
            return false;
        }
        s[o] = head.0;
        s[o + 1] = head.1;
        true
    }

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

    /// Offset of thread `t`'s innermost walk in progress (the first level if none is).
    #[inline]
    fn walk_at(&self, s: &[u8], t: usize) -> usize {
        let o = self.thread_off(t) + self.walk_off;
        if self.walk_levels > 1 && s[o + self.walk_len] != 0 {
            o + self.walk_len
        } else {
            o
        }
    }

    /// Thread `t`'s innermost wake walk in progress ([`Walk::default`] if none is).
    pub fn walk(&self, s: &[u8], t: usize) -> Walk {
        let o = self.walk_at(s, t);
        let i32_at = |k: usize| i32::from_le_bytes([s[k], s[k + 1], s[k + 2], s[k + 3]]);
        Walk {
            queue: s[o],
            cur: s[o + 1],
            next: s[o + 2],
            flags: s[o + 3],
            nr: i32_at(o + 4),
            mode: i32_at(o + 8),
            ret: i32_at(o + 12),
            key: if self.walk_len > WALK_LEN {
                i32_at(o + 16)
            } else {
                0
            },
        }
    }

    /// Replace thread `t`'s innermost walk in progress; `Walk::default()` ends it.
    pub fn set_walk(&self, s: &mut [u8], t: usize, w: Walk) {
        let o = self.walk_at(s, t);
        self.put_walk(s, o, w);
    }

    /// Start a walk inside the one in progress (a wake function's own `wake_up()`).
    /// `false` if thread parts have no room for it.
    pub fn push_walk(&self, s: &mut [u8], t: usize, w: Walk) -> bool {
        let o = self.thread_off(t) + self.walk_off;
        if s[o] == 0 {
            self.put_walk(s, o, w);
            return true;
        }
        if self.walk_levels < 2 || s[o + self.walk_len] != 0 {
            return false;
        }
        self.put_walk(s, o + self.walk_len, w);
        true
    }

    fn put_walk(&self, s: &mut [u8], o: usize, w: Walk) {
        s[o] = w.queue;
        s[o + 1] = w.cur;
        s[o + 2] = w.next;
        s[o + 3] = w.flags;
        s[o + 4..o + 8].copy_from_slice(&w.nr.to_le_bytes());
        s[o + 8..o + 12].copy_from_slice(&w.mode.to_le_bytes());
        s[o + 12..o + 16].copy_from_slice(&w.ret.to_le_bytes());
        if self.walk_len > WALK_LEN {
            s[o + 16..o + 20].copy_from_slice(&w.key.to_le_bytes());
        }
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
        s[self.walk_at(s, t) + 2]
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

    /// Field `k` of the struct entry `h` is the member of ([`crate::ir::EntryField::Data`]).
    #[inline]
    pub fn entry_data(&self, s: &[u8], h: u8, k: u8) -> Value {
        s[self.entry_off(h) + ENTRY_LEN + k as usize] as i8 as Value
    }

    #[inline]
    pub fn set_entry_data(&self, s: &mut [u8], h: u8, k: u8, x: i8) {
        let o = self.entry_off(h) + ENTRY_LEN + k as usize;
        s[o] = x as u8;
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
        s[o..o + self.entry_len].fill(0);
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

    // ---- TSO: lockless views of lists, and store buffers ----

    /// Whether this layout has store buffers (x86-TSO).
    #[inline]
    pub fn tso(&self) -> bool {
        self.store_buffer > 0
    }

    /// Queue `q`'s list head as memory holds it (TSO only).
    pub fn head_view(&self, s: &[u8], q: usize) -> u8 {
        s[self.heads_off + q]
    }

    pub fn set_head_view(&self, s: &mut [u8], q: usize, x: u8) {
        s[self.heads_off + q] = x;
    }

    fn node_off(&self, h: u8) -> usize {
        let (t, e, _) = self.entry_table[h as usize];
        self.thread_off(t as usize) + self.nodes_off + e as usize
    }

    /// Entry `h`'s list node as memory holds it (TSO only).
    pub fn node_view(&self, s: &[u8], h: u8) -> u8 {
        s[self.node_off(h)]
    }

    pub fn set_node_view(&self, s: &mut [u8], h: u8, x: u8) {
        let o = self.node_off(h);
        s[o] = x;
    }

    fn buf_slot(&self, t: usize, i: usize) -> usize {
        self.thread_off(t) + self.buf_off + 4 * i
    }

    /// Thread `t`'s buffered stores, oldest first.
    pub fn buffered<'a>(&'a self, s: &'a [u8], t: usize) -> impl Iterator<Item = Buffered> + 'a {
        let o = self.thread_off(t) + self.buf_off;
        let part = &s[o..o + 4 * self.store_buffer];
        part.chunks_exact(4).map_while(|c| {
            let loc = BufLoc::decode(u16::from_le_bytes([c[0], c[1]]))?;
            Some(Buffered {
                loc,
                raw: u16::from_le_bytes([c[2], c[3]]),
            })
        })
    }

    /// How many stores thread `t`'s buffer holds.
    pub fn buffer_len(&self, s: &[u8], t: usize) -> usize {
        self.part_buffer_len(&s[self.thread_off(t)..self.thread_off(t) + self.thread_len])
    }

    /// [`Layout::buffer_len`] of a thread part.
    #[inline]
    pub fn part_buffer_len(&self, part: &[u8]) -> usize {
        (0..self.store_buffer)
            .take_while(|i| {
                let o = self.buf_off + 4 * i;
                part[o] | part[o + 1] != 0
            })
            .count()
    }

    /// Append a store to thread `t`'s buffer (the caller made room).
    pub fn push_buffered(&self, s: &mut [u8], t: usize, b: Buffered) {
        let i = self.buffer_len(s, t);
        let o = self.buf_slot(t, i);
        s[o..o + 2].copy_from_slice(&b.loc.encode().to_le_bytes());
        s[o + 2..o + 4].copy_from_slice(&b.raw.to_le_bytes());
    }

    /// Remove and return the oldest store of thread `t`'s buffer.
    pub fn pop_buffered(&self, s: &mut [u8], t: usize) -> Option<Buffered> {
        let first = self.buffered(s, t).next()?;
        let o = self.thread_off(t) + self.buf_off;
        let len = 4 * self.store_buffer;
        s.copy_within(o + 4..o + len, o);
        s[o + len - 4..o + len].fill(0);
        Some(first)
    }

    /// Drop the buffered stores of thread `t` that `keep` rejects (keeping the order).
    pub fn retain_buffered(&self, s: &mut [u8], t: usize, keep: impl Fn(&Buffered) -> bool) {
        let kept: Vec<Buffered> = self.buffered(s, t).filter(|b| keep(b)).collect();
        let o = self.thread_off(t) + self.buf_off;
        s[o..o + 4 * self.store_buffer].fill(0);
        for b in kept {
            self.push_buffered(s, t, b);
        }
    }
}
