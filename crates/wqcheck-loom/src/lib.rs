//! The loom backend: the checked IR on loom threads, atomics, a mutex and a condition
//! variable, so that loom enumerates the interleavings AND the C11 weak-memory behaviours
//! of a scenario.
//!
//! # How a scenario becomes a loom model
//!
//! `wqcheck-threads` does it, for any thread runtime: every thread and actor a loom
//! thread, shared variables, entry flags and the lockless view of each queue loom atomics
//! (accessed with each builtin's C11 ordering), kernel state behind one loom mutex, and
//! blocking on a loom condition variable so that a lost wakeup is loom's deadlock. This
//! crate plugs in loom's primitives ([`Loom`]) and the search.
//!
//! # Search
//!
//! loom without a preemption bound is exhaustive but can be hopeless: on the 2017 page-lock
//! race it ran 300,000 executions without reaching the bug, while a bound of 2 finds it in a
//! few hundred. So the default is iterative preemption bounding — bound 0, 1, 2, ... up to
//! [`Options::max_preemptions`] — and the result says which bound was reached.
//! [`Options::exhaustive`] runs one unbounded search instead.
//!
//! Some bugs need more preemptions than any affordable bound (the three-locker page-lock
//! race needs four, among five loom threads). [`check_directed`] follows a schedule, the
//! native explorer's counterexample, so that loom runs that execution and checks it with
//! its own deadlock detection; the CLI does this when loom's own search finds no violation
//! and the native explorer finds one.
//!
//! # Limits
//!
//! - loom runs at most [`MAX_THREADS`] threads, its main thread included: threads plus
//!   actors must not exceed it ([`thread_limit_error`]).
//! - loom reports failures by panicking, and some of its panics abort the process; the CLI
//!   runs every loom check in a child process. Set a silent panic hook before calling
//!   [`check`] if loom's messages must not reach stderr.
//! - `executions` counts loom executions (complete interleavings), not distinct states.
//! - loom checks its time budget only between executions; the executor also stops an
//!   execution still running at the deadline (`Drive::deadline`), which is not counted.

pub mod hand_written;

use std::sync::Arc;
use std::time::{Duration, Instant};

use wqcheck_model::{Model, Mover, Verdict};
pub use wqcheck_threads::Outcome;
use wqcheck_threads::{Failure, Recorder, Setup};

/// loom's thread limit (`loom::MAX_THREADS`), its main thread included.
pub const MAX_THREADS: usize = 5;

/// How to search.
#[derive(Clone, Debug)]
pub struct Options {
    /// The highest preemption bound of the iterative search.
    pub max_preemptions: u32,
    /// One unbounded search instead of iterative preemption bounding.
    pub exhaustive: bool,
    /// loom's `max_branches`: scheduling decisions per execution.
    pub max_branches: usize,
    /// Wall-clock budget of the whole check.
    pub max_time: Duration,
    /// Test hook: panic inside the first loom thread's first step (an engine bug).
    pub inject_panic: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            max_preemptions: 3,
            exhaustive: false,
            max_branches: 10_000,
            max_time: Duration::from_secs(60),
            inject_panic: false,
        }
    }
}

/// `Some(message)` when the scenario has more threads and actors than loom can run.
pub fn thread_limit_error(model: &Model) -> Option<String> {
    let (t, a) = (model.inst.threads.len(), model.inst.actors.len());
    (t + a > MAX_THREADS).then(|| {
        format!(
            "loom runs at most {MAX_THREADS} threads, its main thread included; this scenario needs {} ({t} thread{} and {a} actor{})",
            t + a,
            if t == 1 { "" } else { "s" },
            if a == 1 { "" } else { "s" },
        )
    })
}

/// Check `model` on loom. `Err` is an internal error (a panic loom or this crate raised
/// that is not a verdict), never a verdict.
pub fn check(model: &Model, opts: &Options) -> Result<Outcome, String> {
    let bounds: Vec<Option<u32>> = if opts.exhaustive {
        vec![None]
    } else {
        (0..=opts.max_preemptions).map(Some).collect()
    };
    search(
        model,
        opts,
        &bounds,
        &wqcheck_threads::actor_choices(model),
        &[],
    )
}

/// Follow `schedule` (the native explorer's counterexample: one mover per step) on loom:
/// a directed search in which each loom thread waits for its turn in the schedule
/// (preemption bound 0). The turns order every step after the one before, so this
/// reproduces the schedule's sequentially consistent execution: one loom execution when
/// the schedule is the model's.
///
/// A violation found this way is a real loom execution, checked by loom's own deadlock
/// detection and the same oracles; it is how a scenario whose bug lies beyond loom's
/// preemption bounds still gets loom's verdict. A schedule that loom cannot reproduce
/// (`Holds` here) means the engines disagree.
pub fn check_directed(
    model: &Model,
    schedule: &[Mover],
    opts: &Options,
) -> Result<Outcome, String> {
    let arities = wqcheck_threads::actor_arities(model);
    let valid = |m: &Mover| match *m {
        Mover::Thread(t) => (t as usize) < model.inst.threads.len(),
        // A schedule of the native explorer under sequential consistency has no flushes.
        Mover::Flush(_) => false,
        Mover::Actor { actor, choice } => arities
            .get(actor as usize)
            .is_some_and(|&n| (choice as usize) < n),
    };
    if let Some(m) = schedule.iter().find(|m| !valid(m)) {
        return Err(format!(
            "the schedule names {m:?}, which this scenario does not have"
        ));
    }
    // Each actor makes the choice the schedule shows (an actor the schedule never moves:
    // its first).
    let choices = (0..model.inst.actors.len())
        .map(|a| {
            schedule
                .iter()
                .find_map(|m| match *m {
                    Mover::Actor { actor, choice } if actor as usize == a => Some(choice),
                    _ => None,
                })
                .unwrap_or(0)
        })
        .collect();
    search(model, opts, &[Some(0)], &[choices], schedule)
}

/// One loom search per preemption bound in `bounds` and set of actor choices, until a
/// violation or the time budget; `schedule` directs every execution (empty: none).
fn search(
    model: &Model,
    opts: &Options,
    bounds: &[Option<u32>],
    choice_sets: &[Vec<u8>],
    schedule: &[Mover],
) -> Result<Outcome, String> {
    if let Some(m) = thread_limit_error(model) {
        return Err(m);
    }
    let start = Instant::now();
    let bounds_text = |b: Option<u32>| {
        format!(
            "{}{} max_branches={} max_seconds={}",
            if schedule.is_empty() {
                String::new()
            } else {
                format!("schedule={}_steps ", schedule.len())
            },
            match b {
                Some(b) => format!("preemptions<={b}"),
                None => "preemptions=unbounded".into(),
            },
            opts.max_branches,
            opts.max_time.as_secs()
        )
    };
    // A fault before the first step: no execution ran, but the bounds it was asked for
    // are still stated.
    let setup = match Setup::new(model) {
        Ok(s) => Arc::new(s),
        Err(f) => {
            let first = bounds.first().copied().flatten();
            return Ok(Outcome::initial_fault(f, start, bounds_text(first)));
        }
    };
    let record = Recorder::new();
    let schedule: Arc<[Mover]> = schedule.into();
    // loom looks at its `max_duration` only between executions; the executor stops an
    // execution still running at the deadline.
    let deadline = wqcheck_threads::deadline(start, opts.max_time);
    let mut last_bound = None;
    for &bound in bounds {
        last_bound = bound;
        for choices in choice_sets {
            let remaining = opts.max_time.saturating_sub(start.elapsed());
            if remaining.is_zero() {
                return Ok(inconclusive(
                    record.executions(),
                    bound,
                    start,
                    bounds_text(bound),
                ));
            }
            let mut builder = loom::model::Builder::new();
            builder.max_threads = model.inst.threads.len() + model.inst.actors.len();
            builder.max_branches = opts.max_branches;
            builder.preemption_bound = bound.map(|b| b as usize);
            builder.max_duration = Some(remaining);
            // loom looks at max_duration only every `checkpoint_interval` executions.
            builder.checkpoint_interval = 1;
            builder.checkpoint_file = None;
            builder.max_permutations = None;
            builder.log = false;
            let (setup, rec) = (setup.clone(), record.clone());
            let inject = opts.inject_panic;
            let movers = wqcheck_threads::movers(model, choices);
            let schedule = schedule.clone();
            let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                builder.check(move || {
                    wqcheck_threads::execution::<Loom>(
                        &setup,
                        &rec,
                        &movers,
                        wqcheck_threads::Drive {
                            schedule: &schedule,
                            inject_panic: inject,
                            deadline,
                            ..Default::default()
                        },
                    )
                })
            }));
            let payload = match run {
                Ok(()) if start.elapsed() >= opts.max_time => {
                    return Ok(inconclusive(
                        record.executions(),
                        bound,
                        start,
                        bounds_text(bound),
                    ));
                }
                Ok(()) => continue,
                Err(payload) => payload,
            };
            let what = wqcheck_threads::panic_text(&*payload);
            let executions = record.executions();
            let done = |o: Outcome| {
                Ok(Outcome {
                    preemption_bound: bound,
                    ..o
                })
            };
            return match record.failure(model, &what) {
                // The execution cut short does not count: it did not finish.
                Failure::OutOfTime => Ok(inconclusive(
                    executions.saturating_sub(1),
                    bound,
                    start,
                    bounds_text(bound),
                )),
                Failure::Violation(v, trace) => done(Outcome {
                    cycle_start: record.cycle_start(),
                    ..Outcome::violation(v, trace, executions, start, bounds_text(bound))
                }),
                Failure::Spin(why) => done(
                    Outcome::new(Verdict::Inconclusive, executions, start, bounds_text(bound))
                        .stopped(why),
                ),
                Failure::Other(m) if m.contains("maximum number of branches") => done(
                    Outcome::new(Verdict::Inconclusive, executions, start, bounds_text(bound))
                        .stopped(format!(
                            "max_branches={} (an execution made more scheduling decisions; a busy-waiting loop?)",
                            opts.max_branches
                        )),
                ),
                Failure::Other(m) => Err(format!("internal error in the loom backend: {m}")),
            };
        }
    }
    if let Some(why) = record.unexplored_spin() {
        return Ok(Outcome {
            preemption_bound: last_bound,
            ..Outcome::new(
                Verdict::Inconclusive,
                record.executions(),
                start,
                bounds_text(last_bound),
            )
            .stopped(why)
        });
    }
    Ok(Outcome {
        preemption_bound: last_bound,
        ..Outcome::new(
            Verdict::Holds,
            record.executions(),
            start,
            bounds_text(last_bound),
        )
    })
}

/// The search stopped by its time budget after `executions` finished executions.
fn inconclusive(executions: u64, bound: Option<u32>, start: Instant, bounds: String) -> Outcome {
    let budget = match bound {
        Some(0) | None => format!(
            "max_seconds (the {} search did not finish)",
            if bound.is_some() { "bound-0" } else { "unbounded" }
        ),
        Some(b) => format!(
            "max_seconds (preemption bounds 0..={} complete without a violation; bound {b} did not finish)",
            b - 1
        ),
    };
    Outcome {
        preemption_bound: bound,
        ..Outcome::new(Verdict::Inconclusive, executions, start, bounds)
    }
    .stopped(budget)
}

/// loom's primitives.
pub struct Loom;

// loom's DPOR needs the shadow loads (`wqcheck_threads::Runtime::SHADOW_LOADS`).
wqcheck_threads::std_shaped_runtime!(Loom, loom, loom::thread::yield_now, true);
