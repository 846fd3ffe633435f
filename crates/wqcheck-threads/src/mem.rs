//! The memory map on a thread runtime: every location the kernel code touches is its own
//! runtime atomic, every queue's spinlock its own mutex, every task's sleep its own
//! condition variable (docs/dsl.md, "The memory map").
//!
//! [`Mem`] implements the model's [`Memory`] seam on those primitives, so the reference
//! semantics run unchanged and loom sees exactly the accesses the kernel makes, with
//! their orderings. Alongside, the executor keeps a sequentially consistent *record* of
//! the state in the native layout (the lists, the lock holders, each location's latest
//! value): the lists live only there, protected by their queue's runtime mutex; the
//! record of a location is what the verdict oracle and the trace read.
//!
//! Architecture invariant: nothing here orders accesses beyond what the kernel does. The
//! only runtime synchronisation is the queue mutexes (the kernel's spinlocks), the fences
//! and orderings the builtins ask for, each task's `pi_lock` around a wakeup's state test
//! (which serialises the wakers of one task), and each task's runqueue lock around sleeping
//! and setting `TASK_RUNNING` (the kernel's `rq->lock`, which orders a wakeup before the
//! woken task runs).

use std::sync::atomic::{AtomicBool, Ordering as StdOrdering};
use std::sync::Mutex as StdMutex;

use wqcheck_model::blocks::Blocks;
use wqcheck_model::ir::{task::TASK_RUNNING, timer::TIMER_ARMED, Fence, Ordering, RmwOp, Value};
use wqcheck_model::memory::{signal_bits, signal_pending_state, Direct, MemLoc, Memory};
use wqcheck_model::state::Layout;

use crate::{Recorder, Runtime};

/// The runtime objects of one execution.
pub(crate) struct World<R: Runtime> {
    pub record: Recorder,
    pub vars: Vec<R::Atomic>,
    /// Indexed by entry handle (0 unused).
    pub flags: Vec<R::Atomic>,
    /// Each entry's list node as lockless readers see it (1: linked), by handle.
    pub nodes: Vec<R::Atomic>,
    /// Each queue's list head as `waitqueue_active()` sees it (1: non-empty).
    pub heads: Vec<R::Atomic>,
    /// Each thread's task state and pending signals.
    pub states: Vec<R::Atomic>,
    pub sigs: Vec<R::Atomic>,
    /// Each task's `wake_q.next` (kernel/sched/core.c): NULL while on no wake_q.
    pub wake_q_nodes: Vec<R::Atomic>,
    /// Each thread's timer word (`wqcheck_model::ir::timer`).
    pub timers: Vec<R::Atomic>,
    /// What a thread's actors wait for, by thread: a lock (also its timer's lock, the
    /// timer base lock, held by arming, firing with its wakeup, and `del_timer_sync()`)
    /// and a condition variable, notified when the timer is armed, when the thread passes
    /// a label an actor waits for (`after`), and when it returns (`returned`).
    watch_locks: Vec<R::Mutex>,
    watch: Vec<R::Condvar>,
    returned: StdMutex<Vec<bool>>,
    /// Each queue's spinlock.
    pub locks: Vec<R::Mutex>,
    /// Each thread's `p->pi_lock`, which a wakeup holds while it tests the state and
    /// wakes: two wakers of one task never both see the state match.
    pub pi: Vec<R::Mutex>,
    /// Each thread's runqueue lock and the condition variable its `schedule()` sleeps on:
    /// a wakeup sets `TASK_RUNNING` under the runqueue lock, so the woken task, which reads
    /// its state under that lock, sees it (the kernel's `rq->lock`).
    pub rq: Vec<R::Mutex>,
    pub wakeup: Vec<R::Condvar>,
    /// By thread: it waits on `wakeup` (changed and read under the lock its sleep holds).
    sleeping: StdMutex<Vec<bool>>,
    /// By thread: a daemon (scenario `daemon: true`), which may sleep for ever once every
    /// other mover is done.
    daemon: Vec<bool>,
    /// The daemons' end: see [`World::wait_runnable`].
    idle: StdMutex<Idle>,
    /// The atomic-block lock, if the program has blocks (see `plan.rs`).
    pub block_lock: Option<R::Mutex>,
    /// By queue, for a spinlock kept in the record ([`Plain::locks`]): signalled when it
    /// is released.
    lock_free: Vec<R::Condvar>,
    /// By queue: how many movers wait on `lock_free` (changed under the block lock).
    lock_waiters: StdMutex<Vec<u32>>,
    /// The locations every access of which is made under the atomic-block lock: they
    /// live in the record only, as plain memory that lock orders, and their accesses are
    /// no scheduling points.
    plain: Plain,
    /// For runtimes whose partial-order reduction forgets earlier loads
    /// ([`Runtime::SHADOW_LOADS`]): see [`Readers`].
    readers: Option<Readers<R>>,
    /// By mover: its loads are compared with the record (a spin being confirmed, module
    /// `spin`), and whether one returned an older store than the latest since last asked.
    loads_watched: Vec<AtomicBool>,
    stale_load: Vec<AtomicBool>,
    /// Where a spin may be judged with actors that could still act (a `liveness` with
    /// fairness): the lock and condition variable an actor waits on while a spinning
    /// thread holds the actors back, so that the run in which they never come is run too
    /// (module `spin`, "Under loom"). Made only then: creating runtime objects may be a
    /// scheduling point.
    hold: Option<(R::Mutex, R::Condvar)>,
    actors_held: AtomicBool,
}

/// Makes every write of a location race, for the runtime's partial-order reduction, with
/// every load of it by another mover since the last write.
///
/// loom's DPOR keeps one last access per atomic, and a load replaces it: when thread A
/// loads `x`, then B loads `x` and writes it (the kernel's `__wake_up_common()` reads
/// `curr->flags`, then the wake function writes them), B's write is compared with B's own
/// load only, and the execution where B writes before A's load is never run
/// (tokio-rs/loom#166, open in loom 0.7.3). A custom wake function that sets the waiter's
/// `WQ_FLAG_WOKEN` was missed that way (`loom_own_search_sees_a_wake_function_store_to_the_waiters_own_flags`).
///
/// So each (location, mover) pair has a *shadow* atomic that loom sees but the model does
/// not: a mover touches its shadow just before each load of the location, and a write
/// touches the shadows of the other movers that loaded the location since its last write.
/// The shadow's last access is then that mover's latest load, which no other mover's load
/// can replace, and loom backtracks to it. A touch is a relaxed read-modify-write of the
/// shadow alone: it orders nothing (C11 gives no synchronisation through a relaxed RMW of
/// another location) and changes no value the model reads. It is one more scheduling
/// point beside each load and racing write, which loom's search pays for.
struct Readers<R: Runtime> {
    movers: usize,
    /// By `slot * movers + mover`. Made before the movers start: an atomic made later
    /// by one mover would be an unsynchronised initialisation for another, which loom
    /// rejects as a causality violation.
    shadow: Vec<R::Atomic>,
    /// By slot: the movers (a bit each) that loaded the location since its last write,
    /// and the mover whose load is the atomic's last access, if a load is.
    since_write: StdMutex<Vec<(u64, Option<usize>)>>,
}

impl<R: Runtime> Readers<R> {
    fn new(slots: usize, movers: usize) -> Readers<R> {
        Readers {
            movers,
            shadow: (0..slots * movers).map(|_| R::atomic(0)).collect(),
            since_write: StdMutex::new(vec![(0, None); slots]),
        }
    }

    fn touch(&self, slot: usize, mover: usize) {
        R::fetch_add(
            &self.shadow[slot * self.movers + mover],
            0,
            StdOrdering::Relaxed,
        );
    }

    /// `mover` is about to load the location in `slot`.
    fn before_load(&self, slot: usize, mover: usize) {
        self.touch(slot, mover);
        crate::record::lock(&self.since_write)[slot].0 |= 1 << mover;
    }

    /// `mover` has loaded the location in `slot`: its load is the atomic's last access.
    fn after_load(&self, slot: usize, mover: usize) {
        crate::record::lock(&self.since_write)[slot].1 = Some(mover);
    }

    /// `mover` is about to write the location in `slot` (a store or any read-modify-write,
    /// failed compare-and-exchanges included: loom counts those as writes too).
    ///
    /// A mover whose load is the atomic's last access needs no touch: the write races
    /// with that load directly, and loom checks a pending write against each new last
    /// access while it waits. When that is the only reader, the write follows with no
    /// scheduling point in between; otherwise the touches are scheduling points, after
    /// which another load may be the last access, so every reader is touched.
    fn before_write(&self, slot: usize, mover: usize) {
        let (readers, last) = std::mem::take(&mut crate::record::lock(&self.since_write)[slot]);
        let mut others = readers & !(1 << mover);
        if let Some(m) = last {
            if others & !(1 << m) == 0 {
                others = 0;
            }
        }
        for m in (0..self.movers).filter(|&m| others & (1 << m) != 0) {
            self.touch(slot, m);
        }
    }
}

/// Which location kinds live in the record only ([`Blocks::covers`]).
struct Plain {
    vars: Vec<bool>,
    /// By queue: its spinlock is taken and released only under the atomic-block lock, so
    /// the record's lock holder is the lock (waiters wait on `lock_free` under the block
    /// lock).
    locks: Vec<bool>,
    flags: bool,
    lists: bool,
    tasks: bool,
}

impl Plain {
    fn new(blocks: &Blocks, nvars: usize, nqueues: usize) -> Plain {
        Plain {
            vars: (0..nvars).map(|v| blocks.covers(MemLoc::Var(v))).collect(),
            locks: (0..nqueues).map(|q| blocks.covers_lock(q)).collect(),
            flags: blocks.covers(MemLoc::EntryFlags(0)),
            lists: blocks.covers(MemLoc::EntryNode(0)),
            tasks: blocks.covers(MemLoc::TaskState(0)),
        }
    }

    fn covers(&self, loc: MemLoc) -> bool {
        match loc {
            MemLoc::Var(v) => self.vars[v],
            MemLoc::EntryFlags(_) => self.flags,
            MemLoc::EntryNode(_) | MemLoc::QueueHead(_) => self.lists,
            MemLoc::TaskState(_) | MemLoc::Signal(_) | MemLoc::WakeQNode(_) | MemLoc::Timer(_) => {
                self.tasks
            }
        }
    }
}

impl<R: Runtime> World<R> {
    pub fn new(
        l: &Layout,
        nqueues: usize,
        movers: usize,
        record: Recorder,
        initial: &[u8],
        blocks: &Blocks,
        daemons: &[bool],
    ) -> Self {
        // loom records an atomic's initial value as a release store, which a later SeqCst
        // load may still read; an explicit SeqCst write makes the initial state
        // sequentially consistent.
        let atomic = |x: Value| {
            let a = R::atomic(x);
            R::swap(&a, x, StdOrdering::SeqCst);
            a
        };
        let handles = l.nthreads * l.entries;
        let timers = if l.has_timers() { l.nthreads } else { 0 };
        let waits = (0..l.nactors).any(|a| l.actor_waiting(initial, a));
        let watched = if timers > 0 || waits { l.nthreads } else { 0 };
        World {
            record,
            vars: (0..l.nvars).map(|v| atomic(l.var(initial, v))).collect(),
            flags: (0..=handles)
                .map(|h| match h {
                    0 => R::atomic(0),
                    h => atomic(l.entry_flags(initial, h as u8) as Value),
                })
                .collect(),
            nodes: (0..=handles)
                .map(|h| match h {
                    0 => R::atomic(0),
                    h => atomic(l.entry_queue(initial, h as u8).is_some() as Value),
                })
                .collect(),
            heads: (0..nqueues)
                .map(|q| atomic((l.queue_len(initial, q) > 0) as Value))
                .collect(),
            states: (0..l.nthreads)
                .map(|t| atomic(l.task_state(initial, t)))
                .collect(),
            sigs: (0..l.nthreads)
                .map(|t| atomic(l.sig(initial, t) as Value))
                .collect(),
            wake_q_nodes: (0..l.nthreads)
                .map(|t| atomic(l.wake_q_node(initial, t) as Value))
                .collect(),
            // Only a program with timed sleeps has timers, and only one with timers or
            // actors that wait for a label watches its threads: creating runtime objects
            // may be a scheduling point, which would change every other scenario's search.
            timers: (0..timers)
                .map(|t| atomic(l.timer(initial, t) as Value))
                .collect(),
            watch_locks: (0..watched).map(|_| R::mutex()).collect(),
            watch: (0..watched).map(|_| R::condvar()).collect(),
            returned: StdMutex::new(vec![false; watched]),
            locks: (0..nqueues).map(|_| R::mutex()).collect(),
            pi: (0..l.nthreads).map(|_| R::mutex()).collect(),
            rq: (0..l.nthreads).map(|_| R::mutex()).collect(),
            wakeup: (0..l.nthreads).map(|_| R::condvar()).collect(),
            sleeping: StdMutex::new(vec![false; l.nthreads]),
            idle: StdMutex::new(Idle {
                active: movers,
                idle: vec![false; l.nthreads],
            }),
            daemon: daemons.to_vec(),
            block_lock: blocks.has_blocks.then(R::mutex),
            plain: Plain::new(blocks, l.nvars, nqueues),
            lock_free: (0..nqueues).map(|_| R::condvar()).collect(),
            lock_waiters: StdMutex::new(vec![0; nqueues]),
            hold: None,
            actors_held: AtomicBool::new(false),
            loads_watched: (0..movers).map(|_| AtomicBool::new(false)).collect(),
            stale_load: (0..movers).map(|_| AtomicBool::new(false)).collect(),
            readers: R::SHADOW_LOADS.then(|| {
                let slots = l.nvars + 2 * (handles + 1) + nqueues + 3 * l.nthreads + timers;
                Readers::new(slots, movers)
            }),
        }
    }

    /// `loc`'s index among all atomics (vars, flags, nodes, heads, states, signals,
    /// wake_q nodes, timers).
    fn slot(&self, loc: MemLoc) -> usize {
        let (v, f, n, h, t) = (
            self.vars.len(),
            self.flags.len(),
            self.nodes.len(),
            self.heads.len(),
            self.states.len(),
        );
        match loc {
            MemLoc::Var(i) => i,
            MemLoc::EntryFlags(i) => v + i as usize,
            MemLoc::EntryNode(i) => v + f + i as usize,
            MemLoc::QueueHead(i) => v + f + n + i as usize,
            MemLoc::TaskState(i) => v + f + n + h + i as usize,
            MemLoc::Signal(i) => v + f + n + h + t + i as usize,
            MemLoc::WakeQNode(i) => v + f + n + h + 2 * t + i as usize,
            MemLoc::Timer(i) => v + f + n + h + 3 * t + i as usize,
        }
    }

    /// `mover` is about to load `loc`'s atomic ([`Readers`]).
    fn before_load(&self, loc: MemLoc, mover: usize) {
        if let Some(r) = &self.readers {
            r.before_load(self.slot(loc), mover);
        }
    }

    /// `mover` has loaded `loc`'s atomic ([`Readers`]).
    fn after_load(&self, loc: MemLoc, mover: usize) {
        if let Some(r) = &self.readers {
            r.after_load(self.slot(loc), mover);
        }
    }

    /// `mover` is about to write `loc`'s atomic ([`Readers`]).
    fn before_write(&self, loc: MemLoc, mover: usize) {
        if let Some(r) = &self.readers {
            r.before_write(self.slot(loc), mover);
        }
    }

    /// `loc`'s value as `mover` loads it: from the record if it is plain memory, else its
    /// atomic's.
    fn load(&self, l: &Layout, loc: MemLoc, ord: StdOrdering, mover: usize) -> Value {
        if self.plain.covers(loc) {
            self.record.read(|s| Direct::get(l, s, loc))
        } else {
            self.before_load(loc, mover);
            let x = R::load(self.atomic(loc), ord);
            self.after_load(loc, mover);
            if self.loads_watched[mover].load(StdOrdering::Relaxed)
                && self.record.read(|s| Direct::get(l, s, loc)) != x
            {
                self.stale_load[mover].store(true, StdOrdering::Relaxed);
            }
            x
        }
    }

    /// Compare `mover`'s loads with the record's latest values from now on (`true`), or
    /// stop; either way, forget earlier stale loads.
    pub fn watch_loads(&self, mover: usize, on: bool) {
        self.loads_watched[mover].store(on, StdOrdering::Relaxed);
        self.stale_load[mover].store(false, StdOrdering::Relaxed);
    }

    /// Whether a watched load of `mover` returned an older store than the latest since
    /// the last call (or [`World::watch_loads`]).
    pub fn took_stale_load(&self, mover: usize) -> bool {
        self.stale_load[mover].swap(false, StdOrdering::Relaxed)
    }

    /// Make the actors able to be held back ([`World::hold_actors`]); before the movers
    /// start.
    pub fn with_actor_hold(mut self, on: bool) -> Self {
        if on {
            self.hold = Some((R::mutex(), R::condvar()));
        }
        self
    }

    /// Hold the actors back before their next action (`true`), or let them go.
    pub fn hold_actors(&self, on: bool) {
        let Some((m, c)) = &self.hold else { return };
        if self.actors_held.swap(on, StdOrdering::Relaxed) && !on {
            // Under the lock: an actor that saw the flag set is waiting by then.
            let g = R::lock(m);
            R::notify_all(c);
            drop(g);
        }
    }

    /// An actor about to act: wait while the actors are held back.
    pub fn actor_may_act(&self) {
        let Some((m, c)) = &self.hold else { return };
        if !self.actors_held.load(StdOrdering::Relaxed) {
            return;
        }
        let mut g = R::lock(m);
        while self.actors_held.load(StdOrdering::Relaxed) {
            g = R::wait(c, g);
        }
    }

    fn atomic(&self, loc: MemLoc) -> &R::Atomic {
        match loc {
            MemLoc::Var(v) => &self.vars[v],
            MemLoc::EntryFlags(h) => &self.flags[h as usize],
            MemLoc::TaskState(t) => &self.states[t as usize],
            MemLoc::Signal(t) => &self.sigs[t as usize],
            MemLoc::EntryNode(h) => &self.nodes[h as usize],
            MemLoc::QueueHead(q) => &self.heads[q as usize],
            MemLoc::WakeQNode(t) => &self.wake_q_nodes[t as usize],
            MemLoc::Timer(t) => &self.timers[t as usize],
        }
    }

    /// Take the atomic-block lock, if the program has blocks.
    pub fn block_lock(&self) -> Option<R::Guard<'_>> {
        self.block_lock.as_ref().map(|m| R::lock(m))
    }

    /// Wait on thread `t`'s wakeup condition variable, holding `g` (its runqueue lock, or
    /// the block lock when task state is plain memory).
    fn sleep<'g>(&self, t: usize, g: R::Guard<'g>) -> R::Guard<'g> {
        crate::record::lock(&self.sleeping)[t] = true;
        let g = R::wait(&self.wakeup[t], g);
        crate::record::lock(&self.sleeping)[t] = false;
        g
    }

    /// Notify thread `t`'s wakeup condition variable if `t` waits on it (called holding
    /// the lock its sleep holds): a notification nobody waits for is no scheduling point.
    /// A daemon counted idle is counted active again here, by its waker, so that no end
    /// is declared between the wakeup and the daemon's running.
    fn wake(&self, t: usize) {
        if self.daemon[t] {
            let mut i = crate::record::lock(&self.idle);
            if i.idle[t] {
                i.idle[t] = false;
                i.active += 1;
            }
        }
        if crate::record::lock(&self.sleeping)[t] {
            R::notify_all(&self.wakeup[t]);
        }
    }

    /// Whether thread `t` is a daemon.
    pub fn is_daemon(&self, t: usize) -> bool {
        self.daemon.get(t).copied().unwrap_or(false)
    }

    /// A mover that is no idle daemon has finished (returned, acted, or left): if it was
    /// the last active one, the idle daemons leave.
    pub fn mover_finished(&self) {
        let end = {
            let mut i = crate::record::lock(&self.idle);
            i.active = i.active.saturating_sub(1);
            i.active == 0
        };
        if end {
            self.end_daemons(None);
        }
    }

    /// Every mover is done or an idle daemon: wake the idle daemons (all but `me`) so
    /// that they leave. Called holding no runtime lock.
    fn end_daemons(&self, me: Option<usize>) {
        let idle: Vec<usize> = {
            let i = crate::record::lock(&self.idle);
            (0..i.idle.len())
                .filter(|&t| i.idle[t] && Some(t) != me)
                .collect()
        };
        for t in idle {
            let g = self.sleep_lock(t);
            if crate::record::lock(&self.sleeping)[t] {
                R::notify_all(&self.wakeup[t]);
            }
            drop(g);
        }
    }

    /// The lock thread `t` sleeps holding.
    fn sleep_lock(&self, t: usize) -> R::Guard<'_> {
        if self.plain.tasks {
            self.block_lock().expect("plain task state without blocks")
        } else {
            R::lock(&self.rq[t])
        }
    }

    /// Wait until the record's lock of queue `q` is free ([`Plain::locks`]).
    pub fn wait_lock_free(&self, l: &Layout, q: usize) {
        let mut g = self.block_lock().expect("a plain spinlock without blocks");
        while self.record.read(|s| l.lock_holder(s, q)) != 0 {
            crate::record::lock(&self.lock_waiters)[q] += 1;
            g = R::wait(&self.lock_free[q], g);
            crate::record::lock(&self.lock_waiters)[q] -= 1;
        }
    }

    /// Wait, as an actor that watches thread `t`, until `ready` holds in the record
    /// (`true`) or `t` has returned (`false`: the actor leaves). Every change `ready`
    /// reads is made under `t`'s watch lock and notified.
    fn wait_watched(&self, t: usize, ready: impl Fn(&[u8]) -> bool) -> bool {
        let mut g = R::lock(&self.watch_locks[t]);
        loop {
            if self.record.read(&ready) {
                return true;
            }
            if crate::record::lock(&self.returned)[t] {
                return false;
            }
            g = R::wait(&self.watch[t], g);
        }
    }

    /// Wait, as thread `t`'s timer actor, until the timer is armed (`true`) or `t` has
    /// returned (`false`).
    pub fn wait_timer(&self, l: &Layout, t: usize) -> bool {
        self.wait_watched(t, |s| l.timer(s, t) == TIMER_ARMED)
    }

    /// Wait, as actor `a`, until thread `t` has passed the label `a` waits for (`true`),
    /// or has returned without (`false`: the actor never acts).
    pub fn wait_label(&self, l: &Layout, a: usize, t: usize) -> bool {
        self.wait_watched(t, |s| !l.actor_waiting(s, a))
    }

    /// Thread `t` has returned: its timer and the actors that wait for its labels stop
    /// waiting.
    pub fn thread_done(&self, t: usize) {
        let g = R::lock(&self.watch_locks[t]);
        crate::record::lock(&self.returned)[t] = true;
        R::notify_all(&self.watch[t]);
        drop(g);
    }

    /// Sleep until thread `t` may run: its state is `TASK_RUNNING` or a signal it admits
    /// is pending (what a sleeping `schedule()` waits for); `true` then.
    ///
    /// A daemon counts itself idle while it sleeps here (its waker counts it active
    /// again, [`World::wake`]); when every mover is finished or an idle daemon, nobody
    /// can wake the daemons any more and they leave (`false`), asleep in the record: the
    /// native explorer's idle end ([`wqcheck_model::Model::daemons_idle`]), which would
    /// otherwise be the runtime's deadlock, ending its search.
    pub fn wait_runnable(&self, l: &Layout, t: usize) -> bool {
        // Plain task state is written only under the atomic-block lock, and every wakeup
        // notifies under it: wait there; else under the runqueue lock.
        let mut g = self.sleep_lock(t);
        loop {
            let st = self.load(l, MemLoc::TaskState(t as u8), StdOrdering::Relaxed, t);
            let sig = self.load(l, MemLoc::Signal(t as u8), StdOrdering::Relaxed, t) as u8;
            if st == TASK_RUNNING || signal_pending_state(st, sig) {
                return true;
            }
            if self.daemon[t] {
                let end = {
                    let mut i = crate::record::lock(&self.idle);
                    if !i.idle[t] {
                        i.idle[t] = true;
                        i.active = i.active.saturating_sub(1);
                    }
                    i.active == 0
                };
                if end {
                    drop(g);
                    self.end_daemons(Some(t));
                    return false;
                }
            }
            g = self.sleep(t, g);
        }
    }
}

/// The daemons' end ([`World::wait_runnable`]): `active` counts the movers that are
/// neither finished nor idle daemons; `idle` says which daemons are counted out.
struct Idle {
    active: usize,
    idle: Vec<bool>,
}

/// What a step that could not proceed waits for (the executor waits outside the
/// exclusion and the directed turn, then retries the step).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Wait {
    Lock(usize),
    PlainLock(usize),
    Sleep(usize),
}

/// [`Memory`] on runtime primitives, for one step of one mover.
pub(crate) struct Mem<'a, 'w, R: Runtime> {
    pub w: &'w World<R>,
    pub l: &'w Layout,
    /// The mover (index among threads, then actors): whose writes the record logs.
    pub mover: usize,
    /// The spinlocks this thread holds, by queue.
    pub held: &'a mut Vec<Option<R::Guard<'w>>>,
    /// A spinlock taken for this step before it started (after a first attempt blocked).
    pub pre: &'a mut Option<(usize, R::Guard<'w>)>,
    /// Do not block in the runtime: answer "blocked" and say what for (inside the
    /// exclusion or a directed turn, blocking would stop everyone).
    pub try_mode: bool,
    pub wanted: Option<Wait>,
}

fn std_ordering(o: Ordering) -> StdOrdering {
    match o {
        Ordering::Relaxed => StdOrdering::Relaxed,
        Ordering::Acquire => StdOrdering::Acquire,
        Ordering::Release => StdOrdering::Release,
        Ordering::AcqRel => StdOrdering::AcqRel,
        Ordering::SeqCst | Ordering::Full => StdOrdering::SeqCst,
    }
}

/// The load half of an ordering (a load cannot release).
fn load_ordering(o: Ordering) -> StdOrdering {
    match o {
        Ordering::Release | Ordering::Relaxed | Ordering::Full => StdOrdering::Relaxed,
        Ordering::Acquire | Ordering::AcqRel => StdOrdering::Acquire,
        Ordering::SeqCst => StdOrdering::SeqCst,
    }
}

/// The ordering of a store (made an exchange): a store cannot acquire. `Full`
/// (`smp_store_mb()`) is a relaxed store and a full fence after it.
fn store_ordering(o: Ordering) -> StdOrdering {
    match o {
        Ordering::Acquire | Ordering::Relaxed | Ordering::Full => StdOrdering::Relaxed,
        Ordering::Release | Ordering::AcqRel => StdOrdering::Release,
        Ordering::SeqCst => StdOrdering::SeqCst,
    }
}

impl<'w, R: Runtime> Mem<'_, 'w, R> {
    /// Record that `loc` now holds `x` (the sequentially consistent record the oracle
    /// reads: each location's latest value).
    fn note(&self, loc: MemLoc, x: Value) {
        self.w
            .record
            .write(self.mover, |s| Direct::put(self.l, s, loc, x));
    }

    /// Exchange `loc`'s atomic for `x`: every write of the memory map is one
    /// ([`Mem::raw_store`] says why), and races with the reads before it ([`Readers`]).
    fn swap(&self, loc: MemLoc, x: Value, o: StdOrdering) -> Value {
        self.w.before_write(loc, self.mover);
        R::swap(self.w.atomic(loc), x, o)
    }

    fn raw_load(&self, loc: MemLoc, ord: Ordering) -> Value {
        self.w.load(self.l, loc, load_ordering(ord), self.mover)
    }

    fn plain(&self, loc: MemLoc) -> bool {
        self.w.plain.covers(loc)
    }

    /// A read-modify-write of plain memory: `f` maps the old value to the new one, if any.
    fn plain_rmw(&self, loc: MemLoc, f: impl FnOnce(Value) -> Option<Value>) -> Value {
        let old = self.raw_load(loc, Ordering::Relaxed);
        if let Some(new) = f(old) {
            self.note(loc, new);
        }
        old
    }

    fn raw_store(&self, loc: MemLoc, x: Value, ord: Ordering) {
        if self.plain(loc) {
            self.note(loc, x);
            return;
        }
        // An exchange, not a store: loom 0.7's read-modify-writes may read a store older
        // than one that happens before them when plain stores are mixed in (a coherence
        // violation); with every write an RMW, each location has one modification order.
        self.swap(loc, x, store_ordering(ord));
        self.note(loc, x);
        if ord == Ordering::Full {
            R::fence(StdOrdering::SeqCst);
        }
    }

    /// Thread `t`'s queue-lock guard, if it is this step's pre-acquired one.
    fn take_pre(&mut self, q: usize) -> Option<R::Guard<'w>> {
        match self.pre.take() {
            Some((p, g)) if p == q => Some(g),
            other => {
                *self.pre = other;
                None
            }
        }
    }
}

impl<'w, R: Runtime> Memory for Mem<'_, 'w, R> {
    fn load(&mut self, _: &Layout, _: &[u8], loc: MemLoc, ord: Ordering) -> Value {
        self.raw_load(loc, ord)
    }

    fn store(&mut self, _: &Layout, _: &mut [u8], loc: MemLoc, x: Value, ord: Ordering) {
        self.raw_store(loc, x, ord)
    }

    fn rmw<F: FnMut(Value) -> Option<Value>>(
        &mut self,
        _: &Layout,
        _: &mut [u8],
        loc: MemLoc,
        ord: Ordering,
        mut f: F,
    ) -> Value {
        if self.plain(loc) {
            return self.plain_rmw(loc, f);
        }
        let a = self.w.atomic(loc);
        // A failed conditional RMW is a plain read without ordering.
        self.w.before_load(loc, self.mover);
        let mut cur = R::load(a, StdOrdering::Relaxed);
        self.w.after_load(loc, self.mover);
        loop {
            let Some(new) = f(cur) else {
                return cur;
            };
            self.w.before_write(loc, self.mover);
            match R::compare_exchange(a, cur, new, std_ordering(ord), StdOrdering::Relaxed) {
                Ok(_) => {
                    self.note(loc, new);
                    // Fully ordered: as if smp_mb() ran after it too (the RMW itself is
                    // SeqCst, so also ordered with what came before).
                    if ord == Ordering::Full {
                        R::fence(StdOrdering::SeqCst);
                    }
                    return cur;
                }
                Err(x) => cur = x,
            }
        }
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
        let _ = (l, s);
        if self.plain(loc) {
            return self.plain_rmw(loc, |old| Some(op.apply(old, operand)));
        }
        // One runtime operation: one event for loom, as in the kernel.
        self.w.before_write(loc, self.mover);
        let (a, o) = (self.w.atomic(loc), std_ordering(ord));
        let old = match op {
            RmwOp::Xchg => R::swap(a, operand, o),
            RmwOp::Add => R::fetch_add(a, operand, o),
            RmwOp::Sub => R::fetch_add(a, operand.wrapping_neg(), o),
            RmwOp::Or => R::fetch_or(a, operand, o),
            RmwOp::And => R::fetch_and(a, operand, o),
            RmwOp::AndNot => R::fetch_and(a, !operand, o),
            RmwOp::Xor => R::fetch_xor(a, operand, o),
        };
        self.note(loc, op.apply(old, operand));
        if ord == Ordering::Full {
            R::fence(StdOrdering::SeqCst);
        }
        old
    }

    fn cmpxchg(
        &mut self,
        l: &Layout,
        s: &mut [u8],
        loc: MemLoc,
        ord: Ordering,
        expected: Value,
        new: Value,
    ) -> Value {
        let _ = (l, s);
        if self.plain(loc) {
            return self.plain_rmw(loc, |old| (old == expected).then_some(new));
        }
        // One compare-and-exchange: on failure a relaxed read, without ordering
        // (cmpxchg-fail-unordered-1 in Documentation/litmus-tests/atomic).
        let a = self.w.atomic(loc);
        self.w.before_write(loc, self.mover);
        match R::compare_exchange(a, expected, new, std_ordering(ord), StdOrdering::Relaxed) {
            Ok(old) => {
                self.note(loc, new);
                if ord == Ordering::Full {
                    R::fence(StdOrdering::SeqCst);
                }
                old
            }
            Err(old) => old,
        }
    }

    fn fence(&mut self, _: &Layout, _: &mut [u8], f: Fence) {
        match f {
            Fence::Full => R::fence(StdOrdering::SeqCst),
            Fence::Read => R::fence(StdOrdering::Acquire),
            Fence::Write => R::fence(StdOrdering::Release),
            Fence::Compiler => {}
        }
    }

    fn spin_lock(&mut self, l: &Layout, _: &mut [u8], q: usize, me: u8) -> bool {
        if self.w.plain.locks[q] {
            let free = self.w.record.read(|s| l.lock_holder(s, q) == 0);
            if !free {
                self.wanted = Some(Wait::PlainLock(q));
                return false;
            }
            self.w
                .record
                .write(self.mover, |s| l.set_lock_holder(s, q, me));
            return true;
        }
        let g = match self.take_pre(q) {
            Some(g) => g,
            None if self.try_mode => match R::try_lock(&self.w.locks[q]) {
                Some(g) => g,
                None => {
                    self.wanted = Some(Wait::Lock(q));
                    return false;
                }
            },
            None => R::lock(&self.w.locks[q]),
        };
        self.w
            .record
            .write(self.mover, |s| l.set_lock_holder(s, q, me));
        self.held[q] = Some(g);
        true
    }

    fn spin_unlock(&mut self, l: &Layout, _: &mut [u8], q: usize, me: u8) -> bool {
        if self.w.plain.locks[q] {
            if self.w.record.read(|s| l.lock_holder(s, q)) != me {
                return false;
            }
            self.w
                .record
                .write(self.mover, |s| l.set_lock_holder(s, q, 0));
            if crate::record::lock(&self.w.lock_waiters)[q] > 0 {
                R::notify_all(&self.w.lock_free[q]);
            }
            return true;
        }
        let Some(g) = self.held[q].take() else {
            return false;
        };
        self.w
            .record
            .write(self.mover, |s| l.set_lock_holder(s, q, 0));
        drop(g);
        true
    }

    fn holds_lock(&mut self, l: &Layout, _: &[u8], q: usize, me: u8) -> bool {
        if self.w.plain.locks[q] {
            return self.w.record.read(|s| l.lock_holder(s, q)) == me;
        }
        self.held[q].is_some()
    }

    fn entry_queue(&mut self, l: &Layout, _: &[u8], h: u8) -> Option<usize> {
        self.w.record.read(|s| l.entry_queue(s, h))
    }

    fn entry_queue_at_return(&mut self, l: &Layout, s: &[u8], h: u8) -> Option<usize> {
        // A relaxed load of the entry's node, whose value is not used: it orders nothing,
        // and it makes the check a read that the unlinking write races with, so loom runs
        // the owner's return both before and after another thread's unlink (the woken
        // waiter that returns before `autoremove_wake_function()` unlinks it).
        if !self.plain(MemLoc::EntryNode(h)) {
            self.raw_load(MemLoc::EntryNode(h), Ordering::Relaxed);
        }
        self.entry_queue(l, s, h)
    }

    fn queue_first(&mut self, l: &Layout, _: &[u8], q: usize) -> Option<u8> {
        self.w.record.read(|s| l.queue_first(s, q))
    }

    fn queue_next(&mut self, l: &Layout, _: &[u8], h: u8) -> Option<u8> {
        self.w.record.read(|s| l.queue_next(s, h))
    }

    fn link(&mut self, l: &Layout, _: &mut [u8], q: usize, h: u8, tail: bool) {
        // __list_add(): new->next = next; ... WRITE_ONCE(prev->next, new): the entry's
        // node, then the head's next pointer if the entry becomes the first.
        let was_empty = self.w.record.read(|s| l.queue_len(s, q) == 0);
        self.w.record.write(self.mover, |s| {
            if tail {
                l.link_tail(s, q, h)
            } else {
                l.link_head(s, q, h)
            }
        });
        if self.plain(MemLoc::EntryNode(h)) {
            return;
        }
        self.swap(MemLoc::EntryNode(h), 1, StdOrdering::Relaxed);
        if was_empty || !tail {
            self.swap(MemLoc::QueueHead(q as u8), 1, StdOrdering::Relaxed);
        }
    }

    fn unlink(&mut self, l: &Layout, _: &mut [u8], h: u8, node: Ordering) {
        let Some(q) = self.w.record.read(|s| l.entry_queue(s, h)) else {
            return;
        };
        // __list_del_entry(): prev->next = next (the head's, if the entry was first);
        // then the entry's own node (list_del_init_careful(): a release store).
        // The record changes after the last write, with no scheduling point between: until
        // then the owner, returning unlocked (`entry_queue_at_return`), still finds its
        // entry linked, so the search can run that return between the two.
        if !self.plain(MemLoc::EntryNode(h)) {
            let (first, len) = self
                .w
                .record
                .read(|s| (l.queue_first(s, q) == Some(h), l.queue_len(s, q)));
            if first {
                self.swap(
                    MemLoc::QueueHead(q as u8),
                    (len > 1) as Value,
                    StdOrdering::Relaxed,
                );
            }
            self.swap(MemLoc::EntryNode(h), 0, store_ordering(node));
        }
        self.w.record.write(self.mover, |s| l.unlink(s, h));
    }

    fn entry_func(&mut self, l: &Layout, _: &[u8], h: u8) -> u8 {
        self.w.record.read(|s| l.entry_func(s, h))
    }

    fn set_entry_func(&mut self, l: &Layout, _: &mut [u8], h: u8, f: u8) {
        self.w
            .record
            .write(self.mover, |s| l.set_entry_func(s, h, f));
    }

    fn entry_data(&mut self, l: &Layout, _: &[u8], h: u8, k: u8) -> Value {
        self.w.record.read(|s| l.entry_data(s, h, k))
    }

    fn set_entry_data(&mut self, l: &Layout, _: &mut [u8], h: u8, k: u8, x: i8) {
        self.w
            .record
            .write(self.mover, |s| l.set_entry_data(s, h, k, x));
    }

    fn clear_entry(&mut self, l: &Layout, _: &mut [u8], h: u8) {
        if !self.plain(MemLoc::EntryFlags(h)) {
            self.swap(MemLoc::EntryFlags(h), 0, StdOrdering::Relaxed);
        }
        self.w.record.write(self.mover, |s| l.clear_entry(s, h));
    }

    fn try_to_wake_up(&mut self, _: &Layout, _: &mut [u8], p: usize, mask: Value) -> bool {
        // try_to_wake_up() (kernel/sched/core.c): raw_spin_lock(&p->pi_lock);
        // smp_mb__after_spinlock(); a state that does not match is left alone.
        if self.w.plain.tasks {
            if self.raw_load(MemLoc::TaskState(p as u8), Ordering::Relaxed) & mask == 0 {
                return false;
            }
            self.raw_store(MemLoc::TaskState(p as u8), TASK_RUNNING, Ordering::Relaxed);
            self.w.wake(p);
            return true;
        }
        let pi = R::lock(&self.w.pi[p]);
        R::fence(StdOrdering::SeqCst);
        if self.raw_load(MemLoc::TaskState(p as u8), Ordering::Relaxed) & mask == 0 {
            return false;
        }
        // A match is a success ("we're going to change ->state"), whatever the task does
        // next: ttwu_remote()/ttwu_runnable() (or the enqueue path) then take the runqueue
        // lock and set TASK_RUNNING under it. schedule() reads the state under that lock,
        // so whichever comes second sees what the other did before it; but a sleeper may
        // take a pending signal, set TASK_RUNNING itself and leave schedule() between the
        // test and the lock, without synchronising with this waker (the v4.13 page lock's
        // weak-memory race at loom bound 2 goes through here).
        let rq = R::lock(&self.w.rq[p]);
        self.raw_store(MemLoc::TaskState(p as u8), TASK_RUNNING, Ordering::Relaxed);
        self.w.wake(p);
        drop(rq);
        drop(pi);
        true
    }

    fn schedule(&mut self, _: &Layout, _: &mut [u8], t: usize) -> bool {
        // __schedule(): rq_lock(); smp_mb__after_spinlock(); read prev->__state; a
        // pending signal the state admits makes it TASK_RUNNING; otherwise sleep until a
        // wakeup (or a signal's wakeup) sets TASK_RUNNING.
        let plain = self.w.plain.tasks;
        let mut g = (!plain).then(|| R::lock(&self.w.rq[t]));
        if !plain {
            R::fence(StdOrdering::SeqCst);
        }
        loop {
            let st = self.raw_load(MemLoc::TaskState(t as u8), Ordering::Relaxed);
            if st == TASK_RUNNING {
                return true;
            }
            let sig = self.raw_load(MemLoc::Signal(t as u8), Ordering::Relaxed) as u8;
            if signal_pending_state(st, sig) {
                self.raw_store(MemLoc::TaskState(t as u8), TASK_RUNNING, Ordering::Relaxed);
                return true;
            }
            // A daemon sleeps outside the step, where it can leave (`wait_runnable`).
            if self.try_mode || self.w.is_daemon(t) {
                self.wanted = Some(Wait::Sleep(t));
                return false;
            }
            g = Some(self.w.sleep(t, g.expect("plain task state: try mode")));
        }
    }

    fn send_signal(&mut self, l: &Layout, s: &mut [u8], p: usize, fatal: bool) {
        // set_tsk_thread_flag(p, TIF_SIGPENDING), then signal_wake_up_state().
        let (bits, mask) = signal_bits(fatal);
        self.rmw_op(
            l,
            s,
            MemLoc::Signal(p as u8),
            Ordering::Relaxed,
            RmwOp::Or,
            bits as Value,
        );
        self.try_to_wake_up(l, s, p, mask);
    }

    fn allow_actor(&mut self, l: &Layout, _: &mut [u8], a: usize) {
        // The running thread passed the label: under its watch lock, so that the actor
        // either sees the change or is waiting for the notification.
        let w = self.w;
        let g = R::lock(&w.watch_locks[self.mover]);
        w.record.write(self.mover, |s| l.allow_actor(s, a));
        R::notify_all(&w.watch[self.mover]);
        drop(g);
    }

    fn timer_locked<T, F: FnOnce(&mut Self) -> T>(&mut self, t: usize, f: F) -> T {
        let w = self.w;
        let g = R::lock(&w.watch_locks[t]);
        let r = f(self);
        // Armed: its actor may fire it now.
        if w.record.read(|s| self.l.timer(s, t)) == TIMER_ARMED {
            R::notify_all(&w.watch[t]);
        }
        drop(g);
        r
    }
}
