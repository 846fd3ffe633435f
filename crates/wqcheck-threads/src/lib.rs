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
//! calling thread). Each runs the reference semantics, [`Model::step_thread_in`], one step
//! at a time, as the native explorer does, with the model's [`Memory`](wqcheck_model::memory::Memory) seam on the
//! runtime's primitives (module `mem`, and docs/dsl.md, "The memory map"):
//!
//! - **every location the kernel code touches is its own runtime atomic**: shared
//!   variables and words of bits, entries' `flags`, each task's state and pending
//!   signals, each entry's list node and each queue's list head as lockless helpers read
//!   them; the interpreter reaches them with each builtin's ordering, so under loom a
//!   load may return any store C11 allows;
//! - **each queue's spinlock is its own runtime mutex**, held across steps as the kernel
//!   holds it, and protecting that queue's list; nothing else orders kernel steps;
//! - **sleeping is real blocking**: `schedule()` waits on its task's condition variable
//!   under the task's runqueue lock until `try_to_wake_up()` sets `TASK_RUNNING`, so a
//!   lost wakeup ends as the runtime's deadlock ("all threads blocked"), which
//!   [`Recorder::failure`] classifies with the native explorer's own oracle,
//!   [`Model::classify_stuck`];
//! - **`atomic { }` blocks** are critical sections of one runtime mutex, which every step
//!   touching a location some block touches also takes (`wqcheck_model::blocks`): a block is
//!   indivisible against everything it touches, and those locations are ordered as a
//!   lock orders what it protects;
//! - **directed executions**: given a schedule (one mover per step, such as a native
//!   counterexample), each mover waits for its turn before each step; see [`execution`].
//!
//! Only shared accesses are scheduling points: a step's local work runs without any
//! runtime operation, and a step costs what it changed (module `record`).
//!
//! The executor records its own trace (who moved, the DSL line, what changed) while the
//! execution runs: it never parses the tool's output.
//!
//! Architecture invariant: a thread's private bytes (pc, frames, walk) are written back
//! only when its step completes; everything it shares goes through the memory map as it
//! happens, so steps of other threads may run between any two shared accesses of a step,
//! exactly where the runtime may switch threads.

mod mem;
mod record;
mod sc;
mod spin;

use std::sync::atomic::Ordering as StdOrdering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use wqcheck_model::compile::PC_DONE;
use wqcheck_model::ir::{Actor, Fairness, Value};
use wqcheck_model::trace::TraceStep;
use wqcheck_model::{Fault, Model, Mover, StepRecord, StepResult, Verdict, Violation};

use mem::{Mem, Wait, World};
use record::lock;
pub use record::{Failure, Recorder};
pub use sc::execution_sc;

/// The primitives a thread runtime provides. Every operation may be a scheduling point.
pub trait Runtime: 'static {
    /// The runtime's partial-order reduction remembers one last access per atomic, so a
    /// load can hide an earlier load from a later write (loom 0.7: tokio-rs/loom#166); the
    /// executor then adds shadow accesses that keep every such race visible (`mem.rs`,
    /// `Readers`).
    const SHADOW_LOADS: bool = false;
    type Mutex: Send + Sync + 'static;
    type Guard<'a>;
    type Condvar: Send + Sync + 'static;
    type Atomic: Send + Sync + 'static;
    type Thread;
    fn mutex() -> Self::Mutex;
    fn lock(m: &Self::Mutex) -> Self::Guard<'_>;
    fn try_lock(m: &Self::Mutex) -> Option<Self::Guard<'_>>;
    fn condvar() -> Self::Condvar;
    fn wait<'a>(c: &Self::Condvar, g: Self::Guard<'a>) -> Self::Guard<'a>;
    fn notify_all(c: &Self::Condvar);
    fn atomic(x: Value) -> Self::Atomic;
    fn load(a: &Self::Atomic, o: StdOrdering) -> Value;
    fn swap(a: &Self::Atomic, x: Value, o: StdOrdering) -> Value;
    fn fetch_add(a: &Self::Atomic, x: Value, o: StdOrdering) -> Value;
    fn fetch_or(a: &Self::Atomic, x: Value, o: StdOrdering) -> Value;
    fn fetch_and(a: &Self::Atomic, x: Value, o: StdOrdering) -> Value;
    fn fetch_xor(a: &Self::Atomic, x: Value, o: StdOrdering) -> Value;
    fn compare_exchange(
        a: &Self::Atomic,
        current: Value,
        new: Value,
        success: StdOrdering,
        failure: StdOrdering,
    ) -> Result<Value, Value>;
    fn fence(o: StdOrdering);
    /// A scheduling point that does nothing (the runtime may switch threads).
    fn yield_now();
    /// A scheduling point that, unlike [`Runtime::yield_now`], gives the scheduler no hint
    /// that this thread is spinning (shuttle's PCT lowers a yielding thread's priority).
    fn switch() {
        Self::yield_now()
    }
    /// Yield as a spinning thread does, and tell whether another runtime thread ran before
    /// this one ran again (`false`: none could). loom runs every other runnable thread
    /// first, and counts on it ([`give_way`]); a runtime that cannot tell says `true`,
    /// and the executor never judges a spin on it.
    fn give_way() -> bool {
        Self::yield_now();
        true
    }
    fn spawn(f: impl FnOnce() + Send + 'static) -> Self::Thread;
    fn join(t: Self::Thread);
}

std::thread_local! {
    /// Runtime operations made on this OS thread: loom and shuttle run every thread of an
    /// execution as a coroutine on the OS thread that runs the check, so this counts the
    /// operations of all of them (and of no other check).
    static OPERATIONS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// The runtime operations made so far on this OS thread ([`Runtime::give_way`]).
#[doc(hidden)]
pub fn operations() -> u64 {
    OPERATIONS.with(std::cell::Cell::get)
}

/// Run one runtime operation, counted before and after: a runtime thread that runs at
/// all, from the start or from the scheduling point where it was switched out (inside an
/// operation), moves the count before its next operation, so a thread that yields sees
/// from the count whether any other ran ([`Runtime::give_way`]).
#[doc(hidden)]
pub fn counted<T>(op: impl FnOnce() -> T) -> T {
    let bump = || OPERATIONS.with(|c| c.set(c.get().wrapping_add(1)));
    bump();
    let out = op();
    bump();
    out
}

/// A runtime mutex guard whose release (a runtime operation) is counted ([`counted`]).
#[doc(hidden)]
pub struct CountedGuard<G>(Option<G>);

impl<G> CountedGuard<G> {
    pub fn new(g: G) -> Self {
        CountedGuard(Some(g))
    }

    /// The guard, to hand to a condition variable's wait (which counts itself).
    pub fn into_inner(mut self) -> G {
        self.0.take().expect("a guard is taken once")
    }
}

impl<G> Drop for CountedGuard<G> {
    fn drop(&mut self) {
        if let Some(g) = self.0.take() {
            counted(|| drop(g));
        }
    }
}

/// Implements [`Runtime`] for `$name` with the std-shaped primitives of crate `$krate`
/// (`sync::{Mutex, MutexGuard, Condvar}`, `sync::atomic::{AtomicI32, fence}`,
/// `thread::{spawn, yield_now, JoinHandle}`), which loom and shuttle both provide.
#[macro_export]
macro_rules! std_shaped_runtime {
    ($name:ty, $krate:ident) => {
        $crate::std_shaped_runtime!($name, $krate, || $krate::thread::yield_now());
    };
    ($name:ty, $krate:ident, $switch:expr) => {
        $crate::std_shaped_runtime!($name, $krate, $switch, false);
    };
    ($name:ty, $krate:ident, $switch:expr, $shadow_loads:expr) => {
        impl $crate::Runtime for $name {
            const SHADOW_LOADS: bool = $shadow_loads;
            type Mutex = $krate::sync::Mutex<()>;
            type Guard<'a> = $crate::CountedGuard<$krate::sync::MutexGuard<'a, ()>>;
            type Condvar = $krate::sync::Condvar;
            type Atomic = $krate::sync::atomic::AtomicI32;
            type Thread = $krate::thread::JoinHandle<()>;
            fn mutex() -> Self::Mutex {
                $krate::sync::Mutex::new(())
            }
            fn lock(m: &Self::Mutex) -> Self::Guard<'_> {
                $crate::counted(|| {
                    $crate::CountedGuard::new(m.lock().unwrap_or_else(|e| e.into_inner()))
                })
            }
            fn try_lock(m: &Self::Mutex) -> Option<Self::Guard<'_>> {
                $crate::counted(|| match m.try_lock() {
                    Ok(g) => Some($crate::CountedGuard::new(g)),
                    Err(std::sync::TryLockError::Poisoned(e)) => {
                        Some($crate::CountedGuard::new(e.into_inner()))
                    }
                    Err(std::sync::TryLockError::WouldBlock) => None,
                })
            }
            fn condvar() -> Self::Condvar {
                $krate::sync::Condvar::new()
            }
            fn wait<'a>(c: &Self::Condvar, g: Self::Guard<'a>) -> Self::Guard<'a> {
                $crate::counted(|| {
                    $crate::CountedGuard::new(
                        c.wait(g.into_inner()).unwrap_or_else(|e| e.into_inner()),
                    )
                })
            }
            fn notify_all(c: &Self::Condvar) {
                $crate::counted(|| c.notify_all())
            }
            fn atomic(x: i32) -> Self::Atomic {
                $crate::counted(|| $krate::sync::atomic::AtomicI32::new(x))
            }
            fn load(a: &Self::Atomic, o: std::sync::atomic::Ordering) -> i32 {
                $crate::counted(|| a.load(o))
            }
            fn swap(a: &Self::Atomic, x: i32, o: std::sync::atomic::Ordering) -> i32 {
                $crate::counted(|| a.swap(x, o))
            }
            fn fetch_add(a: &Self::Atomic, x: i32, o: std::sync::atomic::Ordering) -> i32 {
                $crate::counted(|| a.fetch_add(x, o))
            }
            fn fetch_or(a: &Self::Atomic, x: i32, o: std::sync::atomic::Ordering) -> i32 {
                $crate::counted(|| a.fetch_or(x, o))
            }
            fn fetch_and(a: &Self::Atomic, x: i32, o: std::sync::atomic::Ordering) -> i32 {
                $crate::counted(|| a.fetch_and(x, o))
            }
            fn fetch_xor(a: &Self::Atomic, x: i32, o: std::sync::atomic::Ordering) -> i32 {
                $crate::counted(|| a.fetch_xor(x, o))
            }
            fn compare_exchange(
                a: &Self::Atomic,
                current: i32,
                new: i32,
                success: std::sync::atomic::Ordering,
                failure: std::sync::atomic::Ordering,
            ) -> Result<i32, i32> {
                $crate::counted(|| a.compare_exchange(current, new, success, failure))
            }
            fn fence(o: std::sync::atomic::Ordering) {
                $crate::counted(|| $krate::sync::atomic::fence(o))
            }
            fn yield_now() {
                $crate::counted(|| $krate::thread::yield_now())
            }
            fn switch() {
                $crate::counted(|| ($switch)())
            }
            fn give_way() -> bool {
                // No count of its own: only another thread's operations change it.
                let before = $crate::operations();
                $krate::thread::yield_now();
                $crate::operations() != before
            }

            fn spawn(f: impl FnOnce() + Send + 'static) -> Self::Thread {
                $crate::counted(|| $krate::thread::spawn(f))
            }
            fn join(t: Self::Thread) {
                // A panicking thread has already ended the execution.
                $crate::counted(|| {
                    let _ = t.join();
                })
            }
        }
    };
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
    /// For a spin found (`Livelock`): the index in `trace` of the spin's first step.
    pub cycle_start: Option<usize>,
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
            cycle_start: None,
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
            Actor::Timer { .. } => 1,
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

/// The payload of the panic that stops the tool at a model fault or at the deadline (what
/// happened is in the recorder).
pub struct FaultStop;

/// The instant `budget` after `start`, or `None` (no deadline) when that is beyond what
/// [`Instant`] can represent: a budget of 2^64 seconds is as good as none.
pub fn deadline(start: Instant, budget: Duration) -> Option<Instant> {
    start.checked_add(budget)
}

/// What one check runs every execution with: the model and its initial state.
pub struct Setup {
    pub model: Arc<Model>,
    pub initial: Arc<[u8]>,
}

impl Setup {
    /// `Err` if the initial state faults (an assert on parameters, say).
    pub fn new(model: &Model) -> Result<Setup, Fault> {
        let initial = model.initial_state()?;
        Ok(Setup {
            model: Arc::new(model.clone()),
            initial: initial.into(),
        })
    }
}

/// The turns of a directed execution.
struct Director<R: Runtime> {
    schedule: Vec<Mover>,
    lock: R::Mutex,
    /// One per mover, signalled when its turn came or the schedule ended.
    turn: Vec<R::Condvar>,
}

/// How one execution is driven, besides the runtime's own scheduler.
#[derive(Clone, Copy, Debug, Default)]
pub struct Drive<'a> {
    /// A schedule to follow (one mover per step; empty: none); see [`execution`].
    pub schedule: &'a [Mover],
    /// The step executor ([`execution_sc`]): for each actor, how many steps of the
    /// execution pass before it may act (sooner if every thread is blocked or done). A
    /// random scheduler picks the runnable actor as often as any thread, so its signal
    /// would almost always come in the first steps; a random delay spreads it over the
    /// execution. Every moment stays possible (a delay may be 0).
    pub actor_delays: &'a [u32],
    /// Test hook: the first thread panics as an engine bug would.
    pub inject_panic: bool,
    /// [`execution`] stops an execution that is still running at this instant, before a
    /// mover's next step ([`Failure::OutOfTime`]): a runtime that checks its time budget
    /// only between executions would otherwise overrun it by as long as one execution can
    /// take (a busy-waiting execution runs until the runtime's step bound). The step
    /// executor ([`execution_sc`]) ignores it: shuttle's scheduler, which makes every one
    /// of its scheduling decisions, checks the deadline there (`wqcheck-shuttle`).
    pub deadline: Option<Instant>,
}

/// One execution's runtime objects and what every mover reads.
struct Run<R: Runtime> {
    model: Arc<Model>,
    initial: Arc<[u8]>,
    world: World<R>,
    director: Option<Director<R>>,
    deadline: Option<Instant>,
}

/// Run one execution: call it from inside the tool's model closure.
///
/// A non-empty `drive.schedule` makes the execution *directed*: each mover waits for its turn
/// in that sequence of steps (a counterexample of the native explorer, say) and takes its
/// step holding the turn. The hand-over orders every step after the one before, so along
/// the schedule the execution is sequentially consistent: it reproduces a schedule, it
/// does not look for weak-memory variants of it. When the schedule is done, or names a
/// mover that cannot take the step (it blocks, or has returned: a schedule this model
/// does not have), every mover runs freely. `drive.actor_delays` is the step executor's
/// and ignored here: loom explores every moment an actor can act.
pub fn execution<R: Runtime>(setup: &Setup, record: &Recorder, movers: &[Mover], drive: Drive) {
    let Drive {
        schedule,
        actor_delays: _,
        inject_panic,
        deadline,
    } = drive;
    let model = &setup.model;
    let l = &model.layout;
    // A schedule whose first mover cannot move is not followed at all.
    let turn = match schedule.first() {
        Some(&m) if !mover_done(model, &setup.initial, m) => 0,
        _ => usize::MAX,
    };
    record.start(&setup.initial, movers.len(), turn);
    let run = Arc::new(Run::<R> {
        model: model.clone(),
        initial: setup.initial.clone(),
        world: World::new(
            l,
            model.inst.program.queues.len(),
            movers.len(),
            record.clone(),
            &setup.initial,
            &model.blocks,
            &model
                .inst
                .threads
                .iter()
                .map(|t| t.daemon)
                .collect::<Vec<_>>(),
        )
        .with_actor_hold(
            !model.inst.actors.is_empty()
                && spin::fairness(model).is_some_and(|f| f != Fairness::None),
        ),
        director: (!schedule.is_empty()).then(|| Director {
            schedule: schedule.to_vec(),
            lock: R::mutex(),
            turn: (0..movers.len()).map(|_| R::condvar()).collect(),
        }),
        deadline,
    });
    let threads: Vec<_> = movers[1..]
        .iter()
        .map(|&m| {
            let x = run.clone();
            R::spawn(move || run_mover(&x, m, false))
        })
        .collect();
    run_mover(&run, movers[0], inject_panic);
    for t in threads {
        R::join(t);
    }
    check_finals(model, record);
}

/// Every mover has finished (or, a daemon, left asleep): check the end as the native
/// explorer does ([`Model::end_violation`]): the final assertions, or a daemon left
/// asleep while what it waits for holds. A violation stops the execution as a fault does.
fn check_finals(model: &Model, record: &Recorder) {
    if let Some(v) = record.read(|s| model.end_violation(s)) {
        lock(&record.0).final_violation = Some(v);
        std::panic::panic_any(FaultStop);
    }
}

/// The index of `m` among the movers of an execution: threads, then actors.
fn mover_index(model: &Model, m: Mover) -> usize {
    match m {
        Mover::Thread(t) | Mover::Flush(t) => t as usize,
        Mover::Actor { actor, .. } => model.inst.threads.len() + actor as usize,
    }
}

/// Whether `m` has returned (a thread), acted (a signal, or it never will: the thread
/// whose label it waits for has returned without passing it) or has no timed sleep left
/// (a timer: its thread has returned) in `s`.
fn mover_done(model: &Model, s: &[u8], m: Mover) -> bool {
    let l = &model.layout;
    match m {
        Mover::Thread(t) | Mover::Flush(t) => l.done(s, t as usize),
        Mover::Actor { actor, .. } => {
            let a = actor as usize;
            match (timer_owner(model, m), label_owner(model, m)) {
                (Some(t), _) => l.done(s, t),
                (None, Some(t)) if l.actor_waiting(s, a) => l.done(s, t),
                _ => l.actor_done(s, a),
            }
        }
    }
}

/// The actor `m` is, if it is one.
fn actor_of(model: &Model, m: Mover) -> Option<&Actor> {
    match m {
        Mover::Actor { actor, .. } => model.inst.actors.get(actor as usize),
        _ => None,
    }
}

/// The thread whose label `m` waits for, if `m` is an actor with `after`.
fn label_owner(model: &Model, m: Mover) -> Option<usize> {
    match actor_of(model, m)? {
        Actor::Signal {
            after: Some(after), ..
        } => Some(after.thread as usize),
        _ => None,
    }
}

/// The thread whose timer `m` is, if `m` is a timer actor (which acts again after each
/// arming, where a signal acts once).
fn timer_owner(model: &Model, m: Mover) -> Option<usize> {
    match actor_of(model, m)? {
        Actor::Timer { thread, .. } => Some(*thread as usize),
        _ => None,
    }
}

/// The bytes a mover's step writes directly, not through the memory map: a thread's own part
/// except what other threads write (task state, signals, entries), an actor's byte.
fn own_ranges(model: &Model, m: Mover) -> Vec<std::ops::Range<usize>> {
    let l = &model.layout;
    match m {
        Mover::Thread(t) | Mover::Flush(t) => {
            let o = l.thread_off(t as usize);
            let f = l.foreign();
            vec![o..o + f.start, o + f.end..o + l.thread_len]
        }
        Mover::Actor { actor, .. } => {
            let o = l.actor_off(actor as usize);
            std::iter::once(o..o + 1).collect()
        }
    }
}

/// Run one thread (all its steps) or one actor (its one action), then count it finished
/// (a daemon that left asleep was counted out when it fell asleep).
fn run_mover<R: Runtime>(x: &Run<R>, m: Mover, inject_panic: bool) {
    if run_mover_steps(x, m, inject_panic) {
        x.world.mover_finished();
    }
}

/// [`run_mover`]'s steps: `false` if the mover is a daemon that left asleep.
fn run_mover_steps<R: Runtime>(x: &Run<R>, m: Mover, inject_panic: bool) -> bool {
    let model = &*x.model;
    let l = &model.layout;
    let w = &x.world;
    let record = &w.record;
    let who = mover_index(model, m);
    let own = own_ranges(model, m);
    let mut mine = x.initial.to_vec();
    let mut held: Vec<Option<R::Guard<'_>>> =
        (0..model.inst.program.queues.len()).map(|_| None).collect();
    let mut pre: Option<(usize, R::Guard<'_>)> = None;
    let mut rec = StepRecord::default();
    let mut spin = spin::QuietWatch::default();
    let timer_of = timer_owner(model, m);
    let label_of = label_owner(model, m);
    // A thread some actor watches (its timer, or a label an actor waits for) tells them
    // when it returns.
    let watched = match m {
        Mover::Thread(t) => model.inst.actors.iter().any(|a| match a {
            Actor::Timer { thread, .. } => *thread == t,
            Actor::Signal { after, .. } => after.is_some_and(|x| x.thread == t),
        }),
        _ => false,
    };
    loop {
        let excl = match m {
            Mover::Thread(t) => {
                let pc = l.pc(&mine, t as usize);
                if pc == PC_DONE {
                    stop_spinning(w, &mut spin);
                    if watched {
                        w.thread_done(t as usize);
                    }
                    return true;
                }
                model.blocks.excl_at(pc)
            }
            Mover::Actor { .. } => {
                w.actor_may_act();
                let waits = timer_of.is_some() || label_of.is_some();
                if waits && record.read(|s| mover_done(model, s, m)) {
                    return true;
                }
                if label_of.is_some() {
                    // Its byte is written by the thread that passes the label.
                    record.read(|s| {
                        for range in &own {
                            mine[range.clone()].copy_from_slice(&s[range.clone()]);
                        }
                    });
                }
                model.blocks.excl_actor()
            }
            // Runtime threads have no store buffers to flush.
            Mover::Flush(_) => return true,
        };
        // Every step of a busy-waiting loop comes through here: a check per step bounds
        // the overrun by one step (a step runs at most the interpreter's local budget).
        if x.deadline.is_some_and(|d| Instant::now() >= d) {
            record.stop_out_of_time();
        }
        if inject_panic {
            panic!("injected panic (WQCHECK_INJECT_PANIC): a bug inside the engine");
        }
        let mut turn = x.director.as_ref().and_then(|d| wait_for_turn(x, d, who));
        loop {
            let block = if excl { w.block_lock() } else { None };
            let mut mem = Mem::<R> {
                w,
                l,
                mover: who,
                held: &mut held,
                pre: &mut pre,
                try_mode: excl || turn.is_some(),
                wanted: None,
            };
            let r = match m {
                Mover::Thread(t) | Mover::Flush(t) => {
                    model.step_thread_in(&mut mine, t as usize, Some(&mut rec), &mut mem)
                }
                Mover::Actor { actor, choice } => model.step_actor_in(
                    &mut mine,
                    actor as usize,
                    choice as usize,
                    Some(&mut rec),
                    &mut mem,
                ),
            };
            let wanted = mem.wanted;
            match r {
                StepResult::Moved => {
                    record.commit(who, m, &rec, &mine, &own);
                    drop(block);
                    if let (Some(g), Some(d)) = (turn.take(), &x.director) {
                        next_turn(x, d);
                        drop(g);
                    }
                    // A lock taken for a retry that the step did not need after all.
                    pre = None;
                    break;
                }
                StepResult::Blocked => {
                    stop_spinning(w, &mut spin);
                    // Nothing the step did is kept but what it would redo identically.
                    record.read(|s| {
                        for range in &own {
                            mine[range.clone()].copy_from_slice(&s[range.clone()]);
                        }
                    });
                    drop(block);
                    // The schedule cannot be followed from here: let everyone run.
                    if let (Some(g), Some(d)) = (turn.take(), &x.director) {
                        end_schedule(x, d);
                        drop(g);
                    }
                    match wanted {
                        Some(Wait::Lock(q)) => pre = Some((q, R::lock(&w.locks[q]))),
                        Some(Wait::PlainLock(q)) => w.wait_lock_free(l, q),
                        Some(Wait::Sleep(t)) => {
                            if !w.wait_runnable(l, t) {
                                return false;
                            }
                        }
                        None => match (timer_of, label_of, m) {
                            // A timer that is not armed waits for its thread's next
                            // arming, and leaves when the thread has returned.
                            (Some(t), _, _) => {
                                if !w.wait_timer(l, t) {
                                    return true;
                                }
                            }
                            // An actor with `after` waits for the label, and leaves if
                            // the thread returns without passing it.
                            (None, Some(t), Mover::Actor { actor, .. }) => {
                                if !w.wait_label(l, actor as usize, t) {
                                    return true;
                                }
                            }
                            _ => panic!("internal: a step blocked outside the exclusion"),
                        },
                    }
                }
                StepResult::Fault(f) => {
                    record.set_fault(m, &rec, f);
                    std::panic::panic_any(FaultStop);
                }
            }
        }
        if let (Mover::Actor { .. }, None) = (m, timer_of) {
            return true;
        }
        // A directed execution watches for spins once its schedule is over.
        let free = x.director.is_none() || lock(&record.0).turn == usize::MAX;
        if let (Mover::Thread(t), true) = (m, free) {
            give_way_if_spinning(x, t as usize, &mut spin);
        }
    }
}

/// The thread blocked or returned: if it was spinning, it is not any more, and the actors
/// it held back may go.
fn stop_spinning<R: Runtime>(w: &World<R>, spin: &mut spin::QuietWatch) {
    if spin.spinning() {
        spin.stop();
        w.hold_actors(false);
    }
}

/// After a step of thread `t`: if its own steps brought the state back to where it was,
/// give way; judge the spin once it is sure nothing else can change it (module `spin`,
/// "Under loom").
fn give_way_if_spinning<R: Runtime>(x: &Run<R>, t: usize, spin: &mut spin::QuietWatch) {
    let (model, w) = (&*x.model, &x.world);
    let (fingerprint, rows) = w.record.fingerprint();
    let (repeat, stopped) = spin.after_step(fingerprint, rows);
    if stopped {
        // Another mover moved, or this one left the cycle: the actors may come again.
        w.hold_actors(false);
    }
    let Some(at) = repeat else {
        return;
    };
    let fresh = !w.took_stale_load(t);
    // The actors are owed nothing: while the thread spins they wait, so that the run in
    // which they never come is one loom runs (an actor that runs now only goes to wait).
    w.hold_actors(true);
    let ran = R::give_way();
    let state = w.record.read(<[u8]>::to_vec);
    let unfair = spin::fairness(model) == Some(Fairness::None);
    if ran && unfair && spins_alone(model, &state, t) {
        w.record.gave_way_in_spin(|| {
            format!(
                "`{}` spun while other threads could move; loom gave way to them, and does not run the executions in which they never move again (which `fairness: None` counts): the native explorer checks those",
                model.thread_name(t)
            )
        });
    }
    match spin.after_give_way(at, (fingerprint, rows), ran, fresh) {
        Ok(from) => {
            let what = spin::judge(model, &state, t, (from, rows), true);
            w.record.stop_spinning(what, from);
        }
        Err(watch) => w.watch_loads(t, watch),
    }
}

/// Whether thread `t`, stepping alone from `state` under sequential consistency, comes
/// back to a state it was in: a spin that `fairness: None` lets go on for ever. (Under
/// loom a thread's steps may also come back only because a load returned an older store:
/// then it goes elsewhere here, and giving way hid nothing.)
fn spins_alone(model: &Model, state: &[u8], t: usize) -> bool {
    let mut s = state.to_vec();
    let mut seen = std::collections::HashSet::from([s.clone()]);
    for _ in 0..spin::MAX_LOG {
        if model.layout.done(&s, t)
            || model.step(&mut s, Mover::Thread(t as u8), None) != StepResult::Moved
        {
            return false;
        }
        if !seen.insert(s.clone()) {
            return true;
        }
    }
    false
}

/// In a directed execution, wait until the schedule's next step is `me`'s (the turn's
/// guard), or the schedule has ended (`None`).
fn wait_for_turn<'a, R: Runtime>(
    x: &Run<R>,
    d: &'a Director<R>,
    me: usize,
) -> Option<R::Guard<'a>> {
    if lock(&x.world.record.0).turn == usize::MAX {
        return None;
    }
    let mut g = R::lock(&d.lock);
    loop {
        let mut r = lock(&x.world.record.0);
        match d.schedule.get(r.turn) {
            None => return None,
            Some(&next) if mover_index(&x.model, next) != me => {
                r.turn_waiting[me] = true;
                drop(r);
                g = R::wait(&d.turn[me], g);
                lock(&x.world.record.0).turn_waiting[me] = false;
            }
            Some(_) => return Some(g),
        }
    }
}

/// The step of the turn is done: hand the turn to the schedule's next mover, or end the
/// schedule (done, or it names a mover that has returned).
fn next_turn<R: Runtime>(x: &Run<R>, d: &Director<R>) {
    let mut r = lock(&x.world.record.0);
    r.turn += 1;
    match d.schedule.get(r.turn).copied() {
        Some(n) if !mover_done(&x.model, &r.state, n) => {
            let i = mover_index(&x.model, n);
            if r.turn_waiting[i] {
                drop(r);
                R::notify_all(&d.turn[i]);
            }
        }
        _ => {
            drop(r);
            end_schedule(x, d);
        }
    }
}

/// Stop following the schedule: wake every mover waiting for its turn.
fn end_schedule<R: Runtime>(x: &Run<R>, d: &Director<R>) {
    let waiting: Vec<usize> = {
        let mut r = lock(&x.world.record.0);
        r.turn = usize::MAX;
        (0..r.turn_waiting.len())
            .filter(|&i| r.turn_waiting[i])
            .collect()
    };
    for i in waiting {
        R::notify_all(&d.turn[i]);
    }
}
