//! The memory map: every place kernel code touches, as an engine sees it.
//!
//! The interpreter ([`crate::interp`]) reaches everything a thread shares with others
//! through [`Memory`]: shared variables and words of bits, entries' `flags`, each task's
//! state and pending signals, the list nodes and heads that lockless helpers read, the
//! queues' spinlocks and lists, and the scheduler's sleep and wakeup. A thread's own
//! frames, locals and wake walk are its own and are not here. This is the one seam
//! between the reference semantics and an engine's memory model (DESIGN.md §4):
//!
//! - [`Direct`] is sequential consistency on the state's own bytes (the native explorer);
//! - [`crate::tso::Tso`] is x86-TSO on the same bytes plus one store buffer per thread
//!   (the native explorer's `memory: Tso`);
//! - `wqcheck-threads` puts each location in its own loom or shuttle atomic, each queue's
//!   spinlock in its own mutex, and each task's sleep on its own condition variable, so
//!   that loom explores the C11 behaviours of exactly the accesses the kernel makes.
//!
//! Which DSL thing is which location, and which ordering each builtin has, is documented
//! in docs/dsl.md ("The memory map"); the interpreter passes the orderings, and an
//! implementation decides only which store a load may read and when a store is seen.
//!
//! Architecture invariant: a builtin's meaning is written once, in `interp`, in terms of
//! these operations; an implementation of `Memory` adds no meaning of its own beyond the
//! memory model (which value a load returns, which accesses are ordered).

use crate::ir::{task::*, Fence, Ordering, RmwOp, Value};
use crate::state::{Layout, SIG_FATAL, SIG_PENDING};

/// A location of the memory model: something another thread reads or writes without
/// holding the lock that protects it. On loom each is its own atomic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MemLoc {
    /// A shared variable, or a whole word of bits (`unsigned long flags { ... }`).
    Var(usize),
    /// A wait entry's `flags`.
    EntryFlags(u8),
    /// Thread `t`'s `current->__state` (`TASK_RUNNING`, `TASK_KILLABLE`, ...).
    TaskState(u8),
    /// Thread `t`'s pending signals (`TIF_SIGPENDING`, and whether one is fatal):
    /// [`SIG_PENDING`] | [`SIG_FATAL`].
    Signal(u8),
    /// Entry `h`'s list node as a lockless reader sees it (`list_empty(&w->entry)`):
    /// 1 while linked.
    EntryNode(u8),
    /// Queue `q`'s list head as `waitqueue_active(q)` sees it: 1 while non-empty.
    QueueHead(u8),
    /// Thread `t`'s `task->wake_q.next`: NULL (0) while on no wake_q, else the next
    /// task + 1 or [`crate::state::WAKE_Q_TAIL`].
    WakeQNode(u8),
    /// Thread `t`'s timer, armed by its `schedule_timeout()` and fired by its timer actor
    /// ([`crate::ir::timer`]); every access is made under the timer's lock
    /// ([`Memory::timer_locked`]).
    Timer(u8),
}

/// Where the interpreter's accesses to shared state go (see the module docs).
///
/// `s` is the state the step runs on. [`Direct`] and [`crate::tso::Tso`] keep everything
/// in it; a threaded engine keeps shared things in its own primitives and uses `s` only
/// for the running thread's own part. The caller passes the running thread (`me` =
/// thread + 1 where a lock holder is recorded).
pub trait Memory {
    /// A load of `loc` with `ord` (`Relaxed`, `Acquire` or `SeqCst`).
    fn load(&mut self, l: &Layout, s: &[u8], loc: MemLoc, ord: Ordering) -> Value;
    /// A store; `x` is in the location's range (the interpreter checked). `Full` is a
    /// store followed by `smp_mb()` (`smp_store_mb()`).
    fn store(&mut self, l: &Layout, s: &mut [u8], loc: MemLoc, x: Value, ord: Ordering);
    /// Atomically: read the old value, and if `f(old)` is `Some(new)`, write `new`.
    /// Returns the old value. `None` is a failed conditional RMW: a plain read, without
    /// the ordering (`Full`: `smp_mb()` before and after) a successful one has. `f` may be
    /// called more than once; it must be pure.
    fn rmw<F: FnMut(Value) -> Option<Value>>(
        &mut self,
        l: &Layout,
        s: &mut [u8],
        loc: MemLoc,
        ord: Ordering,
        f: F,
    ) -> Value;
    /// An unconditional read-modify-write (`atomic_fetch_add()`, `set_bit()`, ...): the
    /// old value; the new one is `op(old, operand)`. The same as [`Memory::rmw`] with that
    /// function; an engine may do it as one operation.
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
    /// `cmpxchg(loc, expected, new)`: the old value; `new` is written if it equals
    /// `expected` (with `ord`), else nothing is written and the read is unordered.
    fn cmpxchg(
        &mut self,
        l: &Layout,
        s: &mut [u8],
        loc: MemLoc,
        ord: Ordering,
        expected: Value,
        new: Value,
    ) -> Value {
        self.rmw(l, s, loc, ord, |cur| (cur == expected).then_some(new))
    }
    fn fence(&mut self, l: &Layout, s: &mut [u8], f: Fence);

    /// An `atomic { }` block starts: until [`Memory::atomic_end`], the step is one
    /// indivisible operation on every location it touches.
    fn atomic_begin(&mut self, _l: &Layout, _s: &mut [u8]) {}
    fn atomic_end(&mut self, _l: &Layout, _s: &mut [u8]) {}

    /// `spin_lock(&q->lock)`: `false` if another thread holds it (the step blocks; it
    /// must then have changed nothing another thread can see, or only what it would
    /// redo identically).
    fn spin_lock(&mut self, l: &Layout, s: &mut [u8], q: usize, me: u8) -> bool;
    /// `spin_unlock(&q->lock)`: `false` if `me` does not hold it (a model error).
    fn spin_unlock(&mut self, l: &Layout, s: &mut [u8], q: usize, me: u8) -> bool;
    fn holds_lock(&mut self, l: &Layout, s: &[u8], q: usize, me: u8) -> bool;

    /// The queue entry `h` is linked on. The caller holds that queue's lock, or owns the
    /// entry and it is not linked (only its owner links it).
    fn entry_queue(&mut self, l: &Layout, s: &[u8], h: u8) -> Option<usize>;
    /// The queue `h` is linked on, as the checker sees it when `h`'s owner returns from
    /// the function that declares it (the use-after-return check): no lock is held and
    /// another thread may be about to unlink `h`. Not kernel code, so it reads nothing a
    /// model can observe; a runtime whose search orders only the accesses it sees
    /// (loom's) must still see this check race with that unlink, or it never runs the
    /// return before it.
    fn entry_queue_at_return(&mut self, l: &Layout, s: &[u8], h: u8) -> Option<usize> {
        self.entry_queue(l, s, h)
    }
    /// The first entry of `q` (the caller holds `q`'s lock).
    fn queue_first(&mut self, l: &Layout, s: &[u8], q: usize) -> Option<u8>;
    /// The entry after `h` on its queue (the caller holds that queue's lock).
    fn queue_next(&mut self, l: &Layout, s: &[u8], h: u8) -> Option<u8>;
    /// Link `h` on `q` at the tail or the head (`list_add_tail`/`list_add`; the caller
    /// holds `q`'s lock): the list, then `h`'s node and `q`'s head with relaxed stores.
    fn link(&mut self, l: &Layout, s: &mut [u8], q: usize, h: u8, tail: bool);
    /// Unlink `h` from its queue (the caller holds its lock); its node is then written
    /// with `node` (`Relaxed`: `list_del_init`; `Release`: `list_del_init_careful`).
    fn unlink(&mut self, l: &Layout, s: &mut [u8], h: u8, node: Ordering);
    /// Entry `h`'s wake function (see [`Layout::entry_func`]). Written by its owner
    /// before the entry is linked, read by wakers under the queue lock.
    fn entry_func(&mut self, l: &Layout, s: &[u8], h: u8) -> u8;
    fn set_entry_func(&mut self, l: &Layout, s: &mut [u8], h: u8, f: u8);
    /// Field `k` of the struct entry `h` is the member of: like `func`, written by the
    /// entry's owner before it queues it and read by wake functions under the lock.
    fn entry_data(&mut self, l: &Layout, s: &[u8], h: u8, k: u8) -> Value;
    fn set_entry_data(&mut self, l: &Layout, s: &mut [u8], h: u8, k: u8, x: i8);
    /// The function that declared entry `h` returned (the entry is not linked): its bytes
    /// are zero again, as a fresh local's are.
    fn clear_entry(&mut self, l: &Layout, s: &mut [u8], h: u8);

    /// `try_to_wake_up(p, mask)`: under `p->pi_lock`, `smp_mb()`, then if `p`'s state is
    /// in `mask`, set it `TASK_RUNNING` (under `p`'s runqueue lock, which lets `p`'s
    /// `schedule()` return) and answer `true`. A match answers `true` even if `p` has set
    /// `TASK_RUNNING` itself between the test and the set (a runtime may run `p` there).
    fn try_to_wake_up(&mut self, l: &Layout, s: &mut [u8], p: usize, mask: Value) -> bool;
    /// `schedule()` by thread `t`: `false` while `t` must sleep (its state is not
    /// `TASK_RUNNING` and no signal it admits is pending); else set `TASK_RUNNING`.
    fn schedule(&mut self, l: &Layout, s: &mut [u8], t: usize) -> bool;
    /// A signal to `p` (`signal_wake_up_state()`): set its pending bits, then
    /// `try_to_wake_up(p, TASK_INTERRUPTIBLE | (fatal ? TASK_WAKEKILL : 0))`.
    fn send_signal(&mut self, l: &Layout, s: &mut [u8], p: usize, fatal: bool);
    /// The thread an actor waits for has passed its label (`after`): the actor, until now
    /// waiting ([`Layout::actor_waiting`]), may act.
    fn allow_actor(&mut self, l: &Layout, s: &mut [u8], a: usize) {
        l.allow_actor(s, a);
    }
    /// Run `f` holding thread `t`'s timer lock (the timer base lock, and
    /// `del_timer_sync()`'s wait for a running `process_timeout()`): arming, firing (with
    /// its wakeup) and disarming one timer never overlap. A byte-state engine runs a step
    /// at a time and needs no lock.
    fn timer_locked<T, F: FnOnce(&mut Self) -> T>(&mut self, _t: usize, f: F) -> T
    where
        Self: Sized,
    {
        f(self)
    }
}

/// `signal_pending_state(state, p)` (include/linux/sched/signal.h) on `p`'s signal bits.
pub fn signal_pending_state(state: Value, sig: u8) -> bool {
    if state & (TASK_INTERRUPTIBLE | TASK_WAKEKILL) == 0 {
        return false;
    }
    if sig & SIG_PENDING == 0 {
        return false;
    }
    state & TASK_INTERRUPTIBLE != 0 || sig & SIG_FATAL != 0
}

/// The signal bits of a signal (fatal or not), and the task states it wakes.
pub fn signal_bits(fatal: bool) -> (u8, Value) {
    let bits = SIG_PENDING | if fatal { SIG_FATAL } else { 0 };
    // signal_wake_up_state(t, fatal ? TASK_WAKEKILL : 0): wake_up_state(t, state | TASK_INTERRUPTIBLE)
    let mask = TASK_INTERRUPTIBLE | if fatal { TASK_WAKEKILL } else { 0 };
    (bits, mask)
}

/// Sequential consistency on the state's own bytes: the native explorer's memory. Every
/// load reads the latest store; orderings and fences change nothing; the lockless views
/// of lists are read off the lists themselves.
#[derive(Clone, Copy, Debug, Default)]
pub struct Direct;

impl Direct {
    #[inline(always)]
    pub fn get(l: &Layout, s: &[u8], loc: MemLoc) -> Value {
        match loc {
            MemLoc::Var(v) => l.var(s, v),
            MemLoc::EntryFlags(h) => l.entry_flags(s, h) as Value,
            MemLoc::TaskState(t) => l.task_state(s, t as usize),
            MemLoc::Signal(t) => l.sig(s, t as usize) as Value,
            MemLoc::EntryNode(h) => l.entry_queue(s, h).is_some() as Value,
            MemLoc::QueueHead(q) => (l.queue_len(s, q as usize) > 0) as Value,
            MemLoc::WakeQNode(t) => l.wake_q_node(s, t as usize) as Value,
            MemLoc::Timer(t) => l.timer(s, t as usize) as Value,
        }
    }

    /// Write `x` to `loc` in `s`. The lockless views of lists are derived from the lists
    /// and are not stored.
    #[inline(always)]
    pub fn put(l: &Layout, s: &mut [u8], loc: MemLoc, x: Value) {
        match loc {
            MemLoc::Var(v) => {
                l.set_var(s, v, x);
            }
            MemLoc::EntryFlags(h) => l.set_entry_flags(s, h, x as u8),
            MemLoc::TaskState(t) => l.set_task_state(s, t as usize, x),
            MemLoc::Signal(t) => l.set_sig(s, t as usize, x as u8),
            MemLoc::EntryNode(_) | MemLoc::QueueHead(_) => {}
            MemLoc::WakeQNode(t) => l.set_wake_q_node(s, t as usize, x as u8),
            MemLoc::Timer(t) => l.set_timer(s, t as usize, x as u8),
        }
    }

    /// `try_to_wake_up` on bytes: the one reading of a wakeup for byte-state engines.
    #[inline]
    pub fn wake(l: &Layout, s: &mut [u8], p: usize, mask: Value) -> bool {
        if l.task_state(s, p) & mask != 0 {
            l.set_task_state(s, p, TASK_RUNNING);
            true
        } else {
            false
        }
    }

    /// `schedule()` on bytes.
    #[inline]
    pub fn sleep_or_run(l: &Layout, s: &mut [u8], t: usize) -> bool {
        let st = l.task_state(s, t);
        if st != TASK_RUNNING && !signal_pending_state(st, l.sig(s, t)) {
            return false;
        }
        l.set_task_state(s, t, TASK_RUNNING);
        true
    }
}

impl Memory for Direct {
    #[inline(always)]
    fn load(&mut self, l: &Layout, s: &[u8], loc: MemLoc, _: Ordering) -> Value {
        Direct::get(l, s, loc)
    }
    #[inline(always)]
    fn store(&mut self, l: &Layout, s: &mut [u8], loc: MemLoc, x: Value, _: Ordering) {
        Direct::put(l, s, loc, x)
    }
    #[inline(always)]
    fn rmw<F: FnMut(Value) -> Option<Value>>(
        &mut self,
        l: &Layout,
        s: &mut [u8],
        loc: MemLoc,
        _: Ordering,
        mut f: F,
    ) -> Value {
        let old = Direct::get(l, s, loc);
        if let Some(new) = f(old) {
            Direct::put(l, s, loc, new);
        }
        old
    }
    #[inline(always)]
    fn fence(&mut self, _: &Layout, _: &mut [u8], _: Fence) {}
    #[inline(always)]
    fn spin_lock(&mut self, l: &Layout, s: &mut [u8], q: usize, me: u8) -> bool {
        if l.lock_holder(s, q) != 0 {
            return false;
        }
        l.set_lock_holder(s, q, me);
        true
    }
    #[inline(always)]
    fn spin_unlock(&mut self, l: &Layout, s: &mut [u8], q: usize, me: u8) -> bool {
        if l.lock_holder(s, q) != me {
            return false;
        }
        l.set_lock_holder(s, q, 0);
        true
    }
    #[inline(always)]
    fn holds_lock(&mut self, l: &Layout, s: &[u8], q: usize, me: u8) -> bool {
        l.lock_holder(s, q) == me
    }
    #[inline(always)]
    fn entry_queue(&mut self, l: &Layout, s: &[u8], h: u8) -> Option<usize> {
        l.entry_queue(s, h)
    }
    #[inline(always)]
    fn queue_first(&mut self, l: &Layout, s: &[u8], q: usize) -> Option<u8> {
        l.queue_first(s, q)
    }
    #[inline(always)]
    fn queue_next(&mut self, l: &Layout, s: &[u8], h: u8) -> Option<u8> {
        l.queue_next(s, h)
    }
    #[inline(always)]
    fn link(&mut self, l: &Layout, s: &mut [u8], q: usize, h: u8, tail: bool) {
        if tail {
            l.link_tail(s, q, h);
        } else {
            l.link_head(s, q, h);
        }
    }
    #[inline(always)]
    fn unlink(&mut self, l: &Layout, s: &mut [u8], h: u8, _: Ordering) {
        l.unlink(s, h);
    }
    #[inline(always)]
    fn entry_func(&mut self, l: &Layout, s: &[u8], h: u8) -> u8 {
        l.entry_func(s, h)
    }
    #[inline(always)]
    fn set_entry_func(&mut self, l: &Layout, s: &mut [u8], h: u8, f: u8) {
        l.set_entry_func(s, h, f)
    }
    #[inline(always)]
    fn entry_data(&mut self, l: &Layout, s: &[u8], h: u8, k: u8) -> Value {
        l.entry_data(s, h, k)
    }
    #[inline(always)]
    fn set_entry_data(&mut self, l: &Layout, s: &mut [u8], h: u8, k: u8, x: i8) {
        l.set_entry_data(s, h, k, x)
    }
    fn clear_entry(&mut self, l: &Layout, s: &mut [u8], h: u8) {
        l.clear_entry(s, h)
    }
    #[inline(always)]
    fn try_to_wake_up(&mut self, l: &Layout, s: &mut [u8], p: usize, mask: Value) -> bool {
        Direct::wake(l, s, p, mask)
    }
    #[inline(always)]
    fn schedule(&mut self, l: &Layout, s: &mut [u8], t: usize) -> bool {
        Direct::sleep_or_run(l, s, t)
    }
    fn send_signal(&mut self, l: &Layout, s: &mut [u8], p: usize, fatal: bool) {
        let (bits, mask) = signal_bits(fatal);
        l.set_sig(s, p, l.sig(s, p) | bits);
        Direct::wake(l, s, p, mask);
    }
}
