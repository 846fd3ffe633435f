//! x86-TSO on the state's bytes: the native explorer's `memory: Tso`.
//!
//! Each thread has a FIFO store buffer in its own part of the state. A plain store (any
//! store but `smp_store_mb()` and a C11 `seq_cst` one) goes to the buffer; the thread's
//! own loads read the newest buffered store to the location first (store forwarding),
//! every other load reads memory. A *flush* ([`Model::flush`], the explorer's
//! `Mover::Flush`) moves the oldest buffered store to memory: it is a step of its own,
//! so the explorer tries every place a store can reach memory. What x86 does with a
//! LOCK prefix or a full fence drains the buffer first and then acts on memory: every
//! read-modify-write (a failed `cmpxchg` too), `smp_mb()`, `spin_lock()`,
//! `try_to_wake_up()` (its `pi_lock`), `schedule()` (its runqueue lock), the futex
//! bucket lock, and an `atomic { }` block, which runs on memory as one step.
//! `spin_unlock()` is a plain store to the lock word: other threads see the lock held
//! until it is flushed, after every store the critical section made (FIFO).
//!
//! The lists themselves are read only under their queue's lock, and a lock is taken only
//! once its release has reached memory, after the stores of the critical section that
//! released it; so the lists are changed in memory at once, and only what lockless code
//! reads, each list node and list head (`list_empty()`, `waitqueue_active()`), goes
//! through the buffer.
//!
//! A buffer holds at most [`crate::state::Layout::store_buffer`] stores; a store to a
//! full buffer first sends the oldest to memory. Behaviours that need more stores in
//! flight at once are not explored; the result line names the bound.

use crate::ir::{task::TASK_RUNNING, Fence, Ordering, RmwOp, Value};
use crate::memory::{signal_bits, Direct, MemLoc, Memory};
use crate::state::{BufLoc, Buffered, Layout};

/// TSO memory for a step of thread `t` (an actor is not a CPU with a buffer: `t` is
/// `None` and it acts on memory).
#[derive(Clone, Copy, Debug)]
pub struct Tso {
    pub t: Option<usize>,
    /// Inside `atomic { }`: on memory, like a locked instruction.
    in_block: bool,
}

impl Tso {
    pub fn new(t: Option<usize>) -> Tso {
        Tso { t, in_block: false }
    }

    /// The step is made as if under the atomic-block lock (it touches a location some
    /// block touches): drain the buffer, then act on memory for the whole step.
    pub fn lock_step(&mut self, l: &Layout, s: &mut [u8]) {
        self.drain(l, s);
        self.in_block = true;
    }

    /// Where a store to `loc` is buffered; `None` for signals, which the environment
    /// sets on memory (a thread never stores them), and for timers, which are written
    /// under the timer base lock (a locked instruction, which drains the buffer).
    fn bufloc(loc: MemLoc) -> Option<BufLoc> {
        Some(match loc {
            MemLoc::Var(v) => BufLoc::Var(v as u16),
            MemLoc::EntryFlags(h) => BufLoc::EntryFlags(h),
            MemLoc::TaskState(t) => BufLoc::TaskState(t),
            MemLoc::EntryNode(h) => BufLoc::EntryNode(h),
            MemLoc::QueueHead(q) => BufLoc::QueueHead(q),
            MemLoc::WakeQNode(t) => BufLoc::WakeQNode(t),
            MemLoc::Signal(_) | MemLoc::Timer(_) => return None,
        })
    }

    /// A location's value in memory.
    fn get(l: &Layout, s: &[u8], loc: MemLoc) -> Value {
        match loc {
            MemLoc::EntryNode(h) => l.node_view(s, h) as Value,
            MemLoc::QueueHead(q) => l.head_view(s, q as usize) as Value,
            _ => Direct::get(l, s, loc),
        }
    }

    /// Write a location's memory.
    fn put(l: &Layout, s: &mut [u8], loc: MemLoc, x: Value) {
        match loc {
            MemLoc::EntryNode(h) => l.set_node_view(s, h, x as u8),
            MemLoc::QueueHead(q) => l.set_head_view(s, q as usize, x as u8),
            _ => Direct::put(l, s, loc, x),
        }
    }

    fn raw(l: &Layout, loc: MemLoc, x: Value) -> u16 {
        match loc {
            MemLoc::Var(v) => (x - l.var_min[v]) as u16,
            _ => x as u16,
        }
    }

    /// The newest buffered store of this thread to `loc`, if any.
    fn forwarded(&self, l: &Layout, s: &[u8], loc: BufLoc) -> Option<u16> {
        let t = self.t?;
        l.buffered(s, t)
            .filter(|b| b.loc == loc)
            .last()
            .map(|b| b.raw)
    }

    /// Drain this thread's buffer to memory (a locked instruction or a full fence).
    fn drain(&self, l: &Layout, s: &mut [u8]) {
        if let Some(t) = self.t {
            while flush_one(l, s, t) {}
        }
    }

    /// A plain store: into the buffer (the oldest first to memory if it is full).
    fn buffer(&self, l: &Layout, s: &mut [u8], loc: BufLoc, raw: u16) {
        let Some(t) = self.t else {
            apply(l, s, Buffered { loc, raw });
            return;
        };
        if l.buffer_len(s, t) >= l.store_buffer {
            flush_one(l, s, t);
        }
        l.push_buffered(s, t, Buffered { loc, raw });
    }

    /// Whether this store goes to memory at once: inside a block, or a store that x86
    /// makes with `xchg` (a C11 `seq_cst` store, `smp_store_mb()`).
    fn immediate(&self, ord: Ordering) -> bool {
        self.in_block || matches!(ord, Ordering::SeqCst | Ordering::Full)
    }
}

/// Write a buffered store to memory.
fn apply(l: &Layout, s: &mut [u8], b: Buffered) {
    match b.loc {
        BufLoc::Var(v) => {
            let v = v as usize;
            l.set_var(s, v, b.raw as Value + l.var_min[v]);
        }
        BufLoc::EntryFlags(h) => l.set_entry_flags(s, h, b.raw as u8),
        BufLoc::TaskState(t) => l.set_task_state(s, t as usize, b.raw as Value),
        BufLoc::EntryNode(h) => l.set_node_view(s, h, b.raw as u8),
        BufLoc::QueueHead(q) => l.set_head_view(s, q as usize, b.raw as u8),
        BufLoc::Lock(q) => l.set_lock_holder(s, q as usize, b.raw as u8),
        BufLoc::WakeQNode(t) => l.set_wake_q_node(s, t as usize, b.raw as u8),
    }
}

/// Move thread `t`'s oldest buffered store to memory; `false` if its buffer is empty.
pub fn flush_one(l: &Layout, s: &mut [u8], t: usize) -> bool {
    match l.pop_buffered(s, t) {
        Some(b) => {
            apply(l, s, b);
            true
        }
        None => false,
    }
}

impl Memory for Tso {
    fn load(&mut self, l: &Layout, s: &[u8], loc: MemLoc, _: Ordering) -> Value {
        match Tso::bufloc(loc).and_then(|b| self.forwarded(l, s, b)) {
            Some(raw) => match loc {
                MemLoc::Var(v) => raw as Value + l.var_min[v],
                _ => raw as Value,
            },
            None => Tso::get(l, s, loc),
        }
    }

    fn store(&mut self, l: &Layout, s: &mut [u8], loc: MemLoc, x: Value, ord: Ordering) {
        match Tso::bufloc(loc) {
            Some(b) if !self.immediate(ord) => self.buffer(l, s, b, Tso::raw(l, loc, x)),
            _ => {
                self.drain(l, s);
                Tso::put(l, s, loc, x);
            }
        }
    }

    fn rmw<F: FnMut(Value) -> Option<Value>>(
        &mut self,
        l: &Layout,
        s: &mut [u8],
        loc: MemLoc,
        _: Ordering,
        mut f: F,
    ) -> Value {
        // A locked instruction: drain, then read and write memory (a failed cmpxchg too).
        self.drain(l, s);
        let old = Tso::get(l, s, loc);
        if let Some(new) = f(old) {
            Tso::put(l, s, loc, new);
        }
        old
    }

    fn rmw_op(
        &mut self,
        l: &Layout,
        s: &mut [u8],
        loc: MemLoc,
        ord: Ordering,
        op: RmwOp,
        operand: Value,
    ) -> Value {
        self.rmw(l, s, loc, ord, |old| Some(op.apply(old, operand)))
    }

    fn fence(&mut self, l: &Layout, s: &mut [u8], f: Fence) {
        // smp_rmb(), smp_wmb() and barrier() are compiler barriers on x86.
        if f == Fence::Full {
            self.drain(l, s);
        }
    }

    fn atomic_begin(&mut self, l: &Layout, s: &mut [u8]) {
        self.drain(l, s);
        self.in_block = true;
    }

    fn atomic_end(&mut self, _: &Layout, _: &mut [u8]) {
        // The block's step goes on to its local operations only: nothing is stored.
        self.in_block = false;
    }

    fn spin_lock(&mut self, l: &Layout, s: &mut [u8], q: usize, me: u8) -> bool {
        self.drain(l, s);
        Direct.spin_lock(l, s, q, me)
    }

    fn spin_unlock(&mut self, l: &Layout, s: &mut [u8], q: usize, me: u8) -> bool {
        if !self.holds_lock(l, s, q, me) {
            return false;
        }
        if self.in_block {
            l.set_lock_holder(s, q, 0);
        } else {
            self.buffer(l, s, BufLoc::Lock(q as u8), 0);
        }
        true
    }

    fn holds_lock(&mut self, l: &Layout, s: &[u8], q: usize, me: u8) -> bool {
        match self.forwarded(l, s, BufLoc::Lock(q as u8)) {
            Some(raw) => raw as u8 == me,
            None => l.lock_holder(s, q) == me,
        }
    }

    fn entry_queue(&mut self, l: &Layout, s: &[u8], h: u8) -> Option<usize> {
        l.entry_queue(s, h)
    }

    fn queue_first(&mut self, l: &Layout, s: &[u8], q: usize) -> Option<u8> {
        l.queue_first(s, q)
    }

    fn queue_next(&mut self, l: &Layout, s: &[u8], h: u8) -> Option<u8> {
        l.queue_next(s, h)
    }

    fn link(&mut self, l: &Layout, s: &mut [u8], q: usize, h: u8, tail: bool) {
        let was_empty = l.queue_len(s, q) == 0;
        Direct.link(l, s, q, h, tail);
        self.store(l, s, MemLoc::EntryNode(h), 1, Ordering::Relaxed);
        if was_empty || !tail {
            self.store(l, s, MemLoc::QueueHead(q as u8), 1, Ordering::Relaxed);
        }
    }

    fn unlink(&mut self, l: &Layout, s: &mut [u8], h: u8, node: Ordering) {
        let Some(q) = l.entry_queue(s, h) else {
            return;
        };
        let first = l.queue_first(s, q) == Some(h);
        l.unlink(s, h);
        if first {
            let nonempty = (l.queue_len(s, q) > 0) as Value;
            self.store(
                l,
                s,
                MemLoc::QueueHead(q as u8),
                nonempty,
                Ordering::Relaxed,
            );
        }
        self.store(l, s, MemLoc::EntryNode(h), 0, node);
    }

    fn entry_func(&mut self, l: &Layout, s: &[u8], h: u8) -> u8 {
        l.entry_func(s, h)
    }

    fn set_entry_func(&mut self, l: &Layout, s: &mut [u8], h: u8, f: u8) {
        l.set_entry_func(s, h, f)
    }

    // Like `func`: written before the entry is queued, read under the queue's lock, which
    // a store buffer cannot reorder around.
    fn entry_data(&mut self, l: &Layout, s: &[u8], h: u8, k: u8) -> Value {
        l.entry_data(s, h, k)
    }

    fn set_entry_data(&mut self, l: &Layout, s: &mut [u8], h: u8, k: u8, x: i8) {
        l.set_entry_data(s, h, k, x)
    }

    fn clear_entry(&mut self, l: &Layout, s: &mut [u8], h: u8) {
        // The entry is dead: stores to it still in the buffer no longer matter.
        if let Some(t) = self.t {
            l.retain_buffered(
                s,
                t,
                |b| !matches!(b.loc, BufLoc::EntryFlags(x) | BufLoc::EntryNode(x) if x == h),
            );
        }
        l.clear_entry(s, h);
        l.set_node_view(s, h, 0);
    }

    fn try_to_wake_up(&mut self, l: &Layout, s: &mut [u8], p: usize, mask: Value) -> bool {
        // pi_lock: a locked instruction. The state is read from memory: the wakee's own
        // store of its state may still be in its buffer.
        self.drain(l, s);
        Direct::wake(l, s, p, mask)
    }

    fn schedule(&mut self, l: &Layout, s: &mut [u8], t: usize) -> bool {
        // The runqueue lock drains the buffer; then the state as memory holds it.
        self.drain(l, s);
        Direct::sleep_or_run(l, s, t)
    }

    fn send_signal(&mut self, l: &Layout, s: &mut [u8], p: usize, fatal: bool) {
        let (bits, mask) = signal_bits(fatal);
        l.set_sig(s, p, l.sig(s, p) | bits);
        // The wakeup reads p's state from memory, as try_to_wake_up() does.
        if l.task_state(s, p) & mask != 0 {
            l.set_task_state(s, p, TASK_RUNNING);
        }
    }
}
