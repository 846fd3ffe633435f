//! A scenario on threads: the executor shared by the loom and shuttle backends.
//!
//! Those tools explore the schedules of real code using their own threads, mutexes,
//! condition variables and atomics. This crate turns a [`Model`] into such code, once, for
//! any [`Runtime`] that provides those primitives; `wqcheck-loom` and `wqcheck-shuttle` only
//! plug in their runtime and their search.
//!
//! # How a scenario becomes threads
//!
//! Every model thread and every actor becomes a runtime thread (the first one runs on the
//! calling thread). Each runs the reference semantics, [`Model::step_thread_in`], one step at
//! a time, as the native explorer does; what differs is where memory lives:
//!
//! - **Memory** — shared variables, wait entries' `flags`, and the list head that
//!   `waitqueue_active()` reads without the lock — are runtime atomics. The interpreter
//!   reaches them through [`Memory`] with each builtin's ordering, so under loom a load may
//!   return any store C11 allows. (shuttle's atomics are sequentially consistent.)
//! - **Kernel state** — queues, spinlock holders, task states, pending signals, every
//!   thread's frames — is a byte string in the native layout. A step whose first operation
//!   touches kernel state runs under one runtime mutex, the *kernel lock*: in the kernel
//!   every such operation holds a lock or implies a full barrier. A step whose first
//!   operation is a memory access runs without it; that is where weak memory can show.
//! - **Blocking** — a step that blocks (a held spinlock, `schedule()` while not runnable)
//!   waits on a runtime condition variable under the kernel lock and retries when a kernel
//!   step may have lifted the block ([`Wakeups`]). A lost wakeup therefore ends as the
//!   runtime's deadlock ("all threads blocked"), which [`Recorder::failure`] classifies
//!   with the native explorer's own oracle, [`Model::classify_stuck`].
//! - **Directed executions** — given a schedule (one mover per step, such as a native
//!   counterexample), each mover waits for its turn before each step; see [`execution`].
//!
//! The executor records its own trace (who moved, the DSL line, what changed) while the
//! execution runs: it never parses the tool's output.
//!
//! Architecture invariant: a step writes back only the bytes it changed in its copy of
//! the kernel state, and memory values only through its pending stores, because steps of
//! other threads may run while this one waits at a runtime operation.

use std::sync::atomic::Ordering as StdOrdering;
use std::sync::{Arc, Mutex as StdMutex, MutexGuard as StdGuard};
use std::time::{Duration, Instant};

use wqcheck_model::compile::{Instr, PC_DONE};
use wqcheck_model::interp::{Direct, MemLoc, Memory};
use wqcheck_model::ir::{Actor, Builtin, EntryField, Fence, Ordering, Value};
use wqcheck_model::state::Layout;
use wqcheck_model::trace::TraceStep;
use wqcheck_model::{Fault, Model, Mover, StepRecord, StepResult, Verdict, Violation};

/// The primitives a thread runtime provides. Every operation may be a scheduling point.
pub trait Runtime: 'static {
    type Mutex: Send + Sync + 'static;
    type Guard<'a>;
    type Condvar: Send + Sync + 'static;
    type Atomic: Send + Sync + 'static;
    type Thread;
    fn mutex() -> Self::Mutex;
    fn lock(m: &Self::Mutex) -> Self::Guard<'_>;
    fn condvar() -> Self::Condvar;
    fn wait<'a>(c: &Self::Condvar, g: Self::Guard<'a>) -> Self::Guard<'a>;
    fn notify_all(c: &Self::Condvar);
    fn atomic(x: Value) -> Self::Atomic;
    fn load(a: &Self::Atomic, o: StdOrdering) -> Value;
    fn swap(a: &Self::Atomic, x: Value, o: StdOrdering) -> Value;
    fn compare_exchange(
        a: &Self::Atomic,
        current: Value,
        new: Value,
        success: StdOrdering,
        failure: StdOrdering,
    ) -> Result<Value, Value>;
    fn fence(o: StdOrdering);
    fn spawn(f: impl FnOnce() + Send + 'static) -> Self::Thread;
    fn join(t: Self::Thread);
}

/// Implements [`Runtime`] for `$name` with the std-shaped primitives of crate `$krate`
/// (`sync::{Mutex, MutexGuard, Condvar}`, `sync::atomic::{AtomicI32, fence}`,
/// `thread::{spawn, JoinHandle}`), which loom and shuttle both provide.
#[macro_export]
macro_rules! std_shaped_runtime {
    ($name:ty, $krate:ident) => {
        impl $crate::Runtime for $name {
            type Mutex = $krate::sync::Mutex<()>;
            type Guard<'a> = $krate::sync::MutexGuard<'a, ()>;
            type Condvar = $krate::sync::Condvar;
            type Atomic = $krate::sync::atomic::AtomicI32;
            type Thread = $krate::thread::JoinHandle<()>;
            fn mutex() -> Self::Mutex {
                $krate::sync::Mutex::new(())
            }
            fn lock(m: &Self::Mutex) -> Self::Guard<'_> {
                m.lock().unwrap_or_else(|e| e.into_inner())
            }
            fn condvar() -> Self::Condvar {
                $krate::sync::Condvar::new()
            }
            fn wait<'a>(c: &Self::Condvar, g: Self::Guard<'a>) -> Self::Guard<'a> {
                c.wait(g).unwrap_or_else(|e| e.into_inner())
            }
            fn notify_all(c: &Self::Condvar) {
                c.notify_all()
            }
            fn atomic(x: i32) -> Self::Atomic {
                $krate::sync::atomic::AtomicI32::new(x)
            }
            fn load(a: &Self::Atomic, o: std::sync::atomic::Ordering) -> i32 {
                a.load(o)
            }
            fn swap(a: &Self::Atomic, x: i32, o: std::sync::atomic::Ordering) -> i32 {
                a.swap(x, o)
            }
            fn compare_exchange(
                a: &Self::Atomic,
                current: i32,
                new: i32,
                success: std::sync::atomic::Ordering,
                failure: std::sync::atomic::Ordering,
            ) -> Result<i32, i32> {
                a.compare_exchange(current, new, success, failure)
            }
            fn fence(o: std::sync::atomic::Ordering) {
                $krate::sync::atomic::fence(o)
            }
            fn spawn(f: impl FnOnce() + Send + 'static) -> Self::Thread {
                $krate::thread::spawn(f)
            }
            fn join(t: Self::Thread) {
                // A panicking thread has already ended the execution.
                let _ = t.join();
            }
        }
    };
}

/// What survives an execution that panicked: the state and the steps so far. Shared
/// between the executions a tool runs (reset at the start of each).
#[derive(Clone, Default)]
pub struct Recorder(Arc<StdMutex<Record>>);

#[derive(Default)]
struct Record {
    executions: u64,
    /// The current state: kernel state and every thread's frames in the native layout,
    /// with memory locations holding the last value stored.
    state: Vec<u8>,
    rows: Vec<Row>,
    fault: Option<(Mover, StepRecord, Fault)>,
    /// The threads waiting on their `World::wake` condition variable for a step that
    /// blocked.
    waiting: Vec<bool>,
    /// A directed execution: the index of the next step of `World::schedule`, or
    /// `usize::MAX` once the schedule is done or cannot be followed.
    turn: usize,
    /// The movers (threads, then actors) waiting for their turn in the schedule.
    turn_waiting: Vec<bool>,
}

struct Row {
    mover: Mover,
    rec: StepRecord,
    after: Vec<u8>,
}

/// A poisoned lock only means a runtime thread panicked while holding it; the data is ours.
fn lock<T>(m: &StdMutex<T>) -> StdGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The result of a check on a thread runtime (loom or shuttle).
#[derive(Clone, Debug)]
pub struct Outcome {
    pub verdict: Verdict,
    /// Executions run.
    pub executions: u64,
    /// For a violation: the stuck state or the error, in words.
    pub violation: Option<Violation>,
    /// The failing execution, one row per step.
    pub trace: Vec<TraceStep>,
    pub elapsed: Duration,
    /// Which budget stopped the search, if one did.
    pub budget_hit: Option<String>,
    /// The settings that applied, e.g. `preemptions<=3 max_branches=10000 max_seconds=60`.
    pub bounds: String,
    /// loom: the preemption bound of the last search (`None`: unbounded, or not loom).
    pub preemption_bound: Option<u32>,
    /// shuttle: for a violation, the token that replays it.
    pub replay: Option<String>,
}

impl Outcome {
    /// `verdict` after `executions` executions of a search that began at `start`.
    pub fn new(verdict: Verdict, executions: u64, start: Instant, bounds: String) -> Outcome {
        Outcome {
            verdict,
            executions,
            violation: None,
            trace: Vec::new(),
            elapsed: start.elapsed(),
            budget_hit: None,
            bounds,
            preemption_bound: None,
            replay: None,
        }
    }

    /// A violation found, with the execution that shows it.
    pub fn violation(
        violation: Violation,
        trace: Vec<TraceStep>,
        executions: u64,
        start: Instant,
        bounds: String,
    ) -> Outcome {
        Outcome {
            trace,
            ..Outcome::new(violation.verdict, executions, start, bounds)
        }
        .with_violation(violation)
    }

    fn with_violation(mut self, v: Violation) -> Outcome {
        self.violation = Some(v);
        self
    }

    /// A search a budget stopped: `Inconclusive`, or a sample's `NoViolationFound`.
    pub fn stopped(mut self, budget: String) -> Outcome {
        self.budget_hit = Some(budget);
        self
    }

    /// The model faults before any thread moves (an assert on parameters, say).
    pub fn initial_fault(f: Fault, start: Instant, bounds: String) -> Outcome {
        let v = Violation {
            verdict: Verdict::AssertionFailed,
            message: f.message,
            span: Some(f.span),
        };
        Outcome::violation(v, Vec::new(), 0, start, bounds)
    }
}

/// Why an execution ended in a panic.
#[derive(Clone, Debug)]
pub enum Failure {
    /// A verdict: the violation and the execution's trace.
    Violation(Violation, Vec<TraceStep>),
    /// A panic that is not a verdict (the tool's own limits, or a bug): its message.
    Other(String),
}

impl Recorder {
    pub fn new() -> Recorder {
        Recorder::default()
    }

    /// Executions started so far.
    pub fn executions(&self) -> u64 {
        lock(&self.0).executions
    }

    /// Turn the panic that ended the last execution into a verdict, if it is one: a model
    /// fault (`AssertionFailed`), or the runtime's deadlock report (classified by
    /// [`Model::classify_stuck`] on the recorded state).
    pub fn failure(&self, model: &Model, initial: &[u8], panic: &str) -> Failure {
        let rec = lock(&self.0);
        if let Some((m, r, f)) = &rec.fault {
            let mut trace = rows(model, initial, &rec.rows);
            let before = rec.rows.last().map(|r| &r.after[..]).unwrap_or(initial);
            trace.push(model.trace_step(*m, r, before, before, Some(f)));
            return Failure::Violation(
                Violation {
                    verdict: Verdict::AssertionFailed,
                    message: f.message.clone(),
                    span: Some(f.span),
                },
                trace,
            );
        }
        if panic.contains("deadlock") && !rec.state.is_empty() && !model.all_done(&rec.state) {
            return Failure::Violation(
                model.classify_stuck(&rec.state),
                rows(model, initial, &rec.rows),
            );
        }
        Failure::Other(panic.to_string())
    }
}

fn rows(model: &Model, initial: &[u8], rows: &[Row]) -> Vec<TraceStep> {
    let mut before = initial;
    rows.iter()
        .map(|r| {
            let step = model.trace_step(r.mover, &r.rec, before, &r.after, None);
            before = &r.after;
            step
        })
        .collect()
}

/// The text of a panic payload.
pub fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "a panic without a message".into())
}

/// Every combination of the actors' nondeterministic choices.
pub fn actor_choices(model: &Model) -> Vec<Vec<u8>> {
    let mut out = vec![Vec::new()];
    for n in actor_arities(model) {
        out = out
            .into_iter()
            .flat_map(|prefix| {
                (0..n).map(move |c| {
                    let mut v = prefix.clone();
                    v.push(c as u8);
                    v
                })
            })
            .collect();
    }
    out
}

/// How many choices each actor has.
pub fn actor_arities(model: &Model) -> Vec<usize> {
    model
        .inst
        .actors
        .iter()
        .map(|a| match a {
            Actor::Signal { targets, .. } => targets.len(),
        })
        .collect()
}

/// The runtime threads of one execution: every model thread, then every actor with its
/// choice.
pub fn movers(model: &Model, choices: &[u8]) -> Vec<Mover> {
    (0..model.inst.threads.len())
        .map(|t| Mover::Thread(t as u8))
        .chain(choices.iter().enumerate().map(|(a, &c)| Mover::Actor {
            actor: a as u8,
            choice: c,
        }))
        .collect()
}

/// The payload of the panic that stops the tool at a model fault (the verdict is in the
/// recorder).
pub struct FaultStop;

/// The runtime objects of one execution.
struct World<R: Runtime> {
    model: Arc<Model>,
    record: Recorder,
    /// The kernel lock: held by every step that touches kernel state.
    kernel: R::Mutex,
    /// One per mover (threads, then actors), signalled when its turn in the schedule
    /// came, or (with [`Wakeups::Precise`]) when a kernel step lifted what blocked its step.
    wake: Vec<R::Condvar>,
    /// With [`Wakeups::Broadcast`]: signalled when a kernel step changed anything while a
    /// thread waits.
    changed: R::Condvar,
    wakeups: Wakeups,
    /// The steps a directed execution follows (empty: none).
    schedule: Vec<Mover>,
    vars: Vec<R::Atomic>,
    /// Indexed by entry handle (0 unused).
    flags: Vec<R::Atomic>,
    /// The length of each queue, as the lockless `waitqueue_active()` sees it.
    heads: Vec<R::Atomic>,
}

/// How a kernel step wakes the threads whose step blocked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wakeups {
    /// Only the threads whose step may now proceed ([`Model::surely_blocked`] is exact for
    /// a sleeping `schedule()` and a held spinlock, and says "try" otherwise). For an
    /// exhaustive tool: a thread woken for nothing adds a scheduling point, and a
    /// backtracking point, at every kernel step (on the three-locker page-lock race,
    /// loom's search to preemption bound 1 went from more than 1.5 million executions to
    /// 205,866).
    Precise,
    /// Every waiting thread, after every kernel step; each retries its step. shuttle's PCT
    /// finds the page-lock races several times sooner this way (median executions to the
    /// headline race: 63 against 220), as the retries give its priority changes more
    /// places to land.
    Broadcast,
}

/// Run one execution: call it from inside the tool's model closure. `inject_panic` is a
/// test hook that makes the first thread panic as an engine bug would.
///
/// A non-empty `schedule` makes the execution *directed*: each mover waits for its turn
/// in that sequence of steps (a counterexample of the native explorer, say) under the
/// kernel lock, and takes its step holding it. The hand-over orders every step after the
/// one before, so along the schedule the execution is sequentially consistent: it
/// reproduces a schedule, it does not look for weak-memory variants of it. When the
/// schedule is done, or names a mover that cannot take the step (it blocked, or returned:
/// a schedule this model does not have), every mover runs freely.
pub fn execution<R: Runtime>(
    model: &Arc<Model>,
    record: &Recorder,
    initial: &[u8],
    movers: &[Mover],
    schedule: &[Mover],
    wakeups: Wakeups,
    inject_panic: bool,
) {
    {
        let mut r = lock(&record.0);
        r.executions += 1;
        r.state = initial.to_vec();
        r.rows.clear();
        r.fault = None;
        r.waiting = vec![false; model.inst.threads.len()];
        // A schedule whose first mover cannot move is not followed at all.
        r.turn = match schedule.first() {
            Some(&m) if !mover_done(&model.layout, initial, m) => 0,
            _ => usize::MAX,
        };
        r.turn_waiting = vec![false; movers.len()];
    }
    let l = &model.layout;
    // loom records an atomic's initial value as a release store, which a later SeqCst load
    // may still read; an explicit SeqCst write makes the initial state sequentially
    // consistent.
    let atomic = |x: Value| {
        let a = R::atomic(x);
        R::swap(&a, x, StdOrdering::SeqCst);
        a
    };
    let world = Arc::new(World::<R> {
        model: model.clone(),
        record: record.clone(),
        kernel: R::mutex(),
        wake: (0..movers.len()).map(|_| R::condvar()).collect(),
        changed: R::condvar(),
        wakeups,
        schedule: schedule.to_vec(),
        vars: (0..model.inst.program.vars.len())
            .map(|v| atomic(l.var(initial, v)))
            .collect(),
        flags: (0..=l.nthreads * l.entries)
            .map(|h| match h {
                0 => R::atomic(0),
                h => atomic(l.entry_flags(initial, h as u8) as Value),
            })
            .collect(),
        heads: (0..model.inst.program.queues.len())
            .map(|q| atomic(l.queue_len(initial, q) as Value))
            .collect(),
    });
    let threads: Vec<_> = movers[1..]
        .iter()
        .map(|&m| {
            let w = world.clone();
            R::spawn(move || run_mover(&w, m, false))
        })
        .collect();
    run_mover(&world, movers[0], inject_panic);
    for t in threads {
        R::join(t);
    }
}

/// Whether the operation at `pc` touches kernel state (and so runs under the kernel lock).
fn touches_kernel(model: &Model, pc: u16) -> bool {
    match &model.code.instrs[pc as usize] {
        Instr::ReadVar { .. } | Instr::WriteVar { .. } => false,
        Instr::ReadField { field, .. } | Instr::WriteField { field, .. } => {
            *field == EntryField::Func
        }
        Instr::Builtin { op, .. } => !matches!(
            op,
            Builtin::TestBit(_)
                | Builtin::SetBit(_)
                | Builtin::ClearBit(_)
                | Builtin::ClearBitUnlock(_)
                | Builtin::TestAndSetBit { .. }
                | Builtin::TestAndClearBit(_)
                | Builtin::ClearBitUnlockIsNegativeByte { .. }
                | Builtin::Load { .. }
                | Builtin::Store { .. }
                | Builtin::Rmw { .. }
                | Builtin::CmpXchg { .. }
                | Builtin::Fence(_)
                | Builtin::WaitqueueActive(_)
                | Builtin::WqHasSleeper(_)
        ),
        _ => true,
    }
}

/// The index of `m` among the movers of an execution: threads, then actors.
fn mover_index(model: &Model, m: Mover) -> usize {
    match m {
        Mover::Thread(t) => t as usize,
        Mover::Actor { actor, .. } => model.inst.threads.len() + actor as usize,
    }
}

/// Whether `m` has returned (a thread) or acted (an actor) in `s`.
fn mover_done(l: &Layout, s: &[u8], m: Mover) -> bool {
    match m {
        Mover::Thread(t) => l.done(s, t as usize),
        Mover::Actor { actor, .. } => l.actor_done(s, actor as usize),
    }
}

/// Run one thread (all its steps) or one actor (its one action).
fn run_mover<R: Runtime>(w: &World<R>, m: Mover, inject_panic: bool) {
    let model = &*w.model;
    let l = &model.layout;
    let me = mover_index(model, m);
    let directed = !w.schedule.is_empty();
    let mut rec = StepRecord::default();
    loop {
        let kernel = match m {
            Mover::Thread(t) => {
                let pc = l.pc(&lock(&w.record.0).state, t as usize);
                if pc == PC_DONE {
                    return;
                }
                touches_kernel(model, pc)
            }
            Mover::Actor { .. } => true,
        };
        if inject_panic {
            panic!("injected panic (WQCHECK_INJECT_PANIC): a bug inside the engine");
        }
        // A directed execution waits for its turn under the kernel lock, and keeps it
        // for the step: nobody else may move before the step is done anyway.
        let mut guard = (kernel || directed).then(|| R::lock(&w.kernel));
        if let Some(g) = guard.take() {
            guard = Some(wait_for_turn(w, me, g));
        }
        loop {
            let before = lock(&w.record.0).state.clone();
            let mut mine = before.clone();
            let mut mem = Mem::<R> {
                w,
                pending: Vec::new(),
            };
            let r = match m {
                Mover::Thread(t) => {
                    model.step_thread_in(&mut mine, t as usize, Some(&mut rec), &mut mem)
                }
                Mover::Actor { .. } => model.step(&mut mine, m, Some(&mut rec)),
            };
            match r {
                StepResult::Moved => {
                    let (wake, waiting) = commit(w, m, &rec, &before, &mine, &mem.pending);
                    // Only kernel steps change what a step blocks on (lock holders, task
                    // states, signals); they notify under the kernel lock, so no wakeup
                    // is lost between a waiter's `waiting` mark and its wait.
                    if guard.is_some() {
                        for t in wake {
                            R::notify_all(&w.wake[t]);
                        }
                        if kernel && waiting && w.wakeups == Wakeups::Broadcast {
                            R::notify_all(&w.changed);
                        }
                    }
                    break;
                }
                StepResult::Blocked => {
                    let (Some(g), Mover::Thread(t)) = (guard.take(), m) else {
                        // Memory operations and actors never block.
                        panic!("internal: a memory step or an actor blocked");
                    };
                    // The schedule cannot be followed from here: let everyone run.
                    for i in end_schedule(w) {
                        R::notify_all(&w.wake[i]);
                    }
                    let t = t as usize;
                    let cv = match w.wakeups {
                        Wakeups::Precise => &w.wake[t],
                        Wakeups::Broadcast => &w.changed,
                    };
                    lock(&w.record.0).waiting[t] = true;
                    let g = R::wait(cv, g);
                    lock(&w.record.0).waiting[t] = false;
                    guard = Some(g);
                }
                StepResult::Fault(f) => {
                    lock(&w.record.0).fault = Some((m, rec.clone(), f));
                    std::panic::panic_any(FaultStop);
                }
            }
        }
        drop(guard);
        if let Mover::Actor { .. } = m {
            return;
        }
    }
}

/// In a directed execution, wait (releasing the kernel lock) until the schedule's next
/// step is `me`'s, or the schedule has ended.
fn wait_for_turn<'a, R: Runtime>(w: &'a World<R>, me: usize, mut g: R::Guard<'a>) -> R::Guard<'a> {
    loop {
        let mut r = lock(&w.record.0);
        match w.schedule.get(r.turn) {
            Some(&next) if mover_index(&w.model, next) != me => {
                r.turn_waiting[me] = true;
                drop(r);
                g = R::wait(&w.wake[me], g);
                lock(&w.record.0).turn_waiting[me] = false;
            }
            _ => return g,
        }
    }
}

/// Stop following the schedule; returns the movers waiting for their turn (to be woken).
fn end_schedule<R: Runtime>(w: &World<R>) -> Vec<usize> {
    let mut r = lock(&w.record.0);
    if r.turn == usize::MAX {
        return Vec::new();
    }
    r.turn = usize::MAX;
    (0..r.turn_waiting.len())
        .filter(|&i| r.turn_waiting[i])
        .collect()
}

/// Write the step's changes into the shared state: the bytes it changed in its copy, then
/// the memory values it stored, and advance a directed execution's schedule. Returns the
/// movers to wake on their own condition variable (with [`Wakeups::Precise`], waiting
/// threads whose step may now proceed; the mover whose turn it now is), and whether any
/// thread waits for its blocked step.
fn commit<R: Runtime>(
    w: &World<R>,
    m: Mover,
    rec: &StepRecord,
    before: &[u8],
    after: &[u8],
    pending: &[(MemLoc, Value)],
) -> (Vec<usize>, bool) {
    let l = &w.model.layout;
    let mut r = lock(&w.record.0);
    for (i, (a, b)) in before.iter().zip(after).enumerate() {
        if a != b {
            r.state[i] = *b;
        }
    }
    // The recorded state keeps the last value stored, as the native layout does.
    for &(loc, x) in pending {
        Direct.store(l, &mut r.state, loc, x, Ordering::SeqCst);
    }
    let after = r.state.clone();
    let waiting = r.waiting.contains(&true);
    let mut wake: Vec<usize> = match w.wakeups {
        Wakeups::Precise => (0..r.waiting.len())
            .filter(|&t| r.waiting[t] && !w.model.surely_blocked(&after, t))
            .collect(),
        Wakeups::Broadcast => Vec::new(),
    };
    if r.turn != usize::MAX {
        r.turn += 1;
        let next = w.schedule.get(r.turn).copied();
        match next {
            Some(n) if !mover_done(l, &after, n) => {
                let i = mover_index(&w.model, n);
                if r.turn_waiting[i] {
                    wake.push(i);
                }
            }
            // The schedule is done, or names a mover that has returned: let everyone run.
            _ => {
                r.turn = usize::MAX;
                wake.extend((0..r.turn_waiting.len()).filter(|&i| r.turn_waiting[i]));
            }
        }
        wake.sort_unstable();
        wake.dedup();
    }
    r.rows.push(Row {
        mover: m,
        rec: rec.clone(),
        after,
    });
    (wake, waiting)
}

/// Memory on runtime atomics. Stores also go to `pending` and land in the recorded state
/// when the step commits.
struct Mem<'a, R: Runtime> {
    w: &'a World<R>,
    pending: Vec<(MemLoc, Value)>,
}

impl<R: Runtime> Mem<'_, R> {
    fn atomic(&self, loc: MemLoc) -> &R::Atomic {
        match loc {
            MemLoc::Var(v) => &self.w.vars[v],
            MemLoc::EntryFlags(h) => &self.w.flags[h as usize],
        }
    }
}

fn std_ordering(o: Ordering) -> StdOrdering {
    match o {
        Ordering::Relaxed => StdOrdering::Relaxed,
        Ordering::Acquire => StdOrdering::Acquire,
        Ordering::Release => StdOrdering::Release,
        Ordering::AcqRel => StdOrdering::AcqRel,
        Ordering::SeqCst => StdOrdering::SeqCst,
    }
}

/// The load half of an ordering (a load cannot release).
fn load_ordering(o: Ordering) -> StdOrdering {
    match o {
        Ordering::Release | Ordering::Relaxed => StdOrdering::Relaxed,
        Ordering::Acquire | Ordering::AcqRel => StdOrdering::Acquire,
        Ordering::SeqCst => StdOrdering::SeqCst,
    }
}

/// The ordering of a store (made an exchange): a store cannot acquire.
fn store_ordering(o: Ordering) -> StdOrdering {
    match o {
        Ordering::Acquire | Ordering::Relaxed => StdOrdering::Relaxed,
        Ordering::Release | Ordering::AcqRel => StdOrdering::Release,
        Ordering::SeqCst => StdOrdering::SeqCst,
    }
}

impl<R: Runtime> Memory for Mem<'_, R> {
    fn load(&mut self, _: &Layout, _: &[u8], loc: MemLoc, ord: Ordering) -> Value {
        R::load(self.atomic(loc), load_ordering(ord))
    }

    fn store(&mut self, _: &Layout, _: &mut [u8], loc: MemLoc, x: Value, ord: Ordering) {
        // An exchange, not a store: loom 0.7's read-modify-writes may read a store older
        // than one that happens before them when plain stores are mixed in (a coherence
        // violation); with every write an RMW, each location has one modification order.
        R::swap(self.atomic(loc), x, store_ordering(ord));
        self.pending.push((loc, x));
    }

    fn rmw<F: FnMut(Value) -> Option<Value>>(
        &mut self,
        _: &Layout,
        _: &mut [u8],
        loc: MemLoc,
        ord: Ordering,
        mut f: F,
    ) -> Value {
        let a = self.atomic(loc);
        let (success, failure) = (std_ordering(ord), load_ordering(ord));
        let mut cur = R::load(a, failure);
        loop {
            // A failed compare-and-exchange still reads the latest value, as the read of
            // a read-modify-write does: write back what was there.
            let new = f(cur);
            match R::compare_exchange(a, cur, new.unwrap_or(cur), success, failure) {
                Ok(_) => {
                    if let Some(x) = new {
                        self.pending.push((loc, x));
                    }
                    return cur;
                }
                Err(x) => cur = x,
            }
        }
    }

    fn fence(&mut self, f: Fence) {
        match f {
            Fence::Full => R::fence(StdOrdering::SeqCst),
            Fence::Read => R::fence(StdOrdering::Acquire),
            Fence::Write => R::fence(StdOrdering::Release),
            Fence::Compiler => {}
        }
    }

    fn queue_active(&mut self, _: &Layout, _: &[u8], q: usize) -> bool {
        R::load(&self.w.heads[q], StdOrdering::Relaxed) != 0
    }

    fn queue_changed(&mut self, l: &Layout, s: &[u8], q: usize) {
        R::swap(
            &self.w.heads[q],
            l.queue_len(s, q) as Value,
            StdOrdering::Relaxed,
        );
    }
}
