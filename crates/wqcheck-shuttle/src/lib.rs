//! The shuttle backend: randomized (random, PCT) and depth-first schedules of a scenario,
//! with a replay token for every counterexample.
//!
//! Exhaustive search stops scaling at a handful of threads; loom stops at five. shuttle
//! runs many executions of a much larger scenario, each with one schedule chosen by its
//! scheduler, and is very good at bugs of small *depth* (few ordering constraints).
//!
//! # How a scenario runs
//!
//! `wqcheck-threads` turns the model into threads on shuttle's primitives ([`Shuttle`]),
//! exactly as it does for loom: steps are the native explorer's steps, kernel state sits
//! behind one shuttle mutex, blocking waits on a shuttle condition variable, and a lost
//! wakeup ends as shuttle's deadlock, classified by the native explorer's oracle. shuttle's
//! atomics are sequentially consistent, so orderings and fences change nothing here.
//! An actor that may hit one of several threads picks its target with shuttle's
//! deterministic random source (the DFS scheduler runs each choice separately instead).
//!
//! # Verdicts
//!
//! A violation is definite, and comes with a replay token. No violation in `N` executions
//! of the random or PCT scheduler is [`Verdict::NoViolationFound`], never `Holds`. The DFS
//! scheduler that runs to the end has seen every schedule: that is `Holds`; cut short by
//! its iteration budget it is `NoViolationFound` too. A check that finished no execution
//! (its time budget spent first) has sampled nothing: `Inconclusive`.
//!
//! # Budgets
//!
//! The time budget is checked at the scheduling points of every execution, not only
//! between executions (see `Recording`): an execution still running at the deadline is
//! stopped and not counted. Recording the schedule is linear in the execution's length.
//!
//! # Replay
//!
//! The token ([`Outcome::replay`]) is shuttle's schedule of the failing execution (every
//! scheduling decision and random value), recorded by this crate as it ran.
//! [`replay`] runs that one schedule again and reports the same verdict and trace.
//!
//! # Isolation
//!
//! shuttle installs a process-wide panic hook and reports failures by panicking; the CLI
//! runs every shuttle check in a child process.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::{Duration, Instant};

use shuttle::scheduler::{
    DfsScheduler, PctScheduler, RandomScheduler, ReplayScheduler, Schedule, Scheduler, Task, TaskId,
};
use shuttle::{Config, FailurePersistence, MaxSteps, Runner};
use wqcheck_model::ir::ShuttleScheduler;
use wqcheck_model::{Model, Verdict};
pub use wqcheck_threads::Outcome;
use wqcheck_threads::{Failure, Recorder, Setup};

/// Under the random scheduler, the most steps of an execution an actor lets pass before
/// it may act (the delay is drawn uniformly from `0..=ACTOR_DELAY_MAX` per execution):
/// about the length of the page-lock executions, so that a signal lands anywhere in them
/// (`wqcheck-shuttle-bench` measured 12, 24, 32 and 48 on the 2017 race).
pub const ACTOR_DELAY_MAX: u32 = 24;

/// The prefix of a replay token (the version of its format).
pub const TOKEN_PREFIX: &str = "wqs1-";

/// How to search.
#[derive(Clone, Debug)]
pub struct Options {
    pub scheduler: ShuttleScheduler,
    /// PCT's bug depth.
    pub depth: u32,
    /// Executions to run.
    pub iterations: u64,
    /// The seed of the random and PCT schedulers (always printed).
    pub seed: u64,
    /// Wall-clock budget of the whole check.
    pub max_time: Duration,
    /// Scheduling points allowed in one execution (a livelock guard).
    pub max_steps: usize,
    /// Test hook: panic inside the first thread's first step (an engine bug).
    pub inject_panic: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            scheduler: ShuttleScheduler::Pct,
            depth: 3,
            iterations: 1000,
            seed: 0,
            max_time: Duration::from_secs(60),
            max_steps: 100_000,
            inject_panic: false,
        }
    }
}

/// Check `model` on shuttle. `Err` is an internal error, never a verdict.
pub fn check(model: &Model, opts: &Options) -> Result<Outcome, String> {
    let start = Instant::now();
    let bounds = match opts.scheduler {
        ShuttleScheduler::Pct => format!(
            "scheduler=pct depth={} seed={} iterations={} max_seconds={}",
            opts.depth,
            opts.seed,
            opts.iterations,
            opts.max_time.as_secs()
        ),
        ShuttleScheduler::Random => format!(
            "scheduler=random seed={} iterations={} max_seconds={}",
            opts.seed,
            opts.iterations,
            opts.max_time.as_secs()
        ),
        ShuttleScheduler::Dfs => format!(
            "scheduler=dfs iterations={} max_seconds={}",
            opts.iterations,
            opts.max_time.as_secs()
        ),
    };
    let setup = match Setup::new(model) {
        Ok(s) => Arc::new(s),
        Err(f) => return Ok(Outcome::initial_fault(f, start, bounds)),
    };
    let record = Recorder::new();
    let last = Arc::new(StdMutex::new(Schedule::new(0)));
    let clock = Clock::new(start, opts.max_time);
    let iterations = opts.iterations.max(1) as usize;
    // DFS explores every choice of the actors in turn; the randomized schedulers draw them.
    let choice_sets: Vec<Option<Vec<u8>>> = match opts.scheduler {
        ShuttleScheduler::Dfs => wqcheck_threads::actor_choices(model)
            .into_iter()
            .map(Some)
            .collect(),
        _ => vec![None],
    };
    let mut complete = true;
    for choices in choice_sets {
        let remaining = opts.max_time.saturating_sub(start.elapsed());
        let left = iterations.saturating_sub(record.executions() as usize);
        if remaining.is_zero() || left == 0 {
            complete = false;
            break;
        }
        let inner: Box<dyn Scheduler + Send> = match opts.scheduler {
            ShuttleScheduler::Random => Box::new(RandomScheduler::new_from_seed(opts.seed, left)),
            // PCT needs two runnable threads to rank (it asserts that the first execution
            // had some); one mover has one schedule, which the random scheduler runs.
            ShuttleScheduler::Pct if movers_of(model) == 1 => {
                Box::new(RandomScheduler::new_from_seed(opts.seed, left))
            }
            ShuttleScheduler::Pct => Box::new(PctScheduler::new_from_seed(
                opts.seed,
                opts.depth.max(1) as usize,
                left,
            )),
            ShuttleScheduler::Dfs => Box::new(DfsScheduler::new(Some(left), false)),
        };
        let before = record.executions();
        let run = run_once(
            &setup,
            &record,
            Recording::new(inner, last.clone(), clock.clone()),
            remaining,
            opts,
            choices,
        );
        if let Some(payload) = run {
            return finish(model, &record, &last, payload, start, bounds, opts);
        }
        let ran = record.executions() - before;
        // DFS that ran fewer schedules than it was allowed has run them all.
        if ran >= left as u64 || clock.cut() || start.elapsed() >= opts.max_time {
            complete = false;
        }
    }
    // An execution stopped at the deadline did not finish: it is not part of the sample.
    let executions = record.executions().saturating_sub(u64::from(clock.cut()));
    let timed_out =
        clock.cut() || (start.elapsed() >= opts.max_time && executions < iterations as u64);
    let sample = Outcome::new(Verdict::NoViolationFound, executions, start, bounds);
    Ok(match opts.scheduler {
        // Nothing ran to the end: there is no sample, and no verdict.
        _ if executions == 0 => Outcome {
            verdict: Verdict::Inconclusive,
            ..sample
        }
        .stopped(format!(
            "max_seconds (no execution finished{})",
            if clock.cut() {
                "; the first was stopped at the time limit"
            } else {
                ""
            }
        )),
        ShuttleScheduler::Dfs if complete => Outcome {
            verdict: Verdict::Holds,
            ..sample
        },
        _ if timed_out => sample.stopped(format!(
            "max_seconds ({executions} of {iterations} executions run)"
        )),
        ShuttleScheduler::Dfs => sample.stopped(format!(
            "iterations ({iterations} schedules run; DFS did not finish)"
        )),
        _ => sample,
    })
}

/// Run the one schedule of `token` and report what it does.
pub fn replay(model: &Model, token: &str, opts: &Options) -> Result<Outcome, String> {
    let start = Instant::now();
    let schedule = decode(token)?;
    let setup = Arc::new(
        Setup::new(model).map_err(|f| format!("the initial state faults: {}", f.message))?,
    );
    let record = Recorder::new();
    let last = Arc::new(StdMutex::new(Schedule::new(0)));
    let clock = Clock::new(start, opts.max_time);
    let bounds = "replay".to_string();
    let scheduler = ReplayScheduler::new_from_schedule(schedule);
    let mismatch = "the token's schedule does not fit this scenario: was it printed for another scenario, or for another version of the model?";
    match run_once(
        &setup,
        &record,
        Recording::new(Box::new(scheduler), last.clone(), clock.clone()),
        opts.max_time,
        opts,
        None,
    ) {
        Some(payload) => match finish(model, &record, &last, payload, start, bounds, opts) {
            Ok(o) if o.violation.is_some() => Ok(o),
            _ => Err(mismatch.into()),
        },
        None if clock.cut() => Ok(Outcome::new(Verdict::Inconclusive, 0, start, bounds)
            .stopped("max_seconds (the replayed execution did not finish)".into())),
        None => Err(mismatch.into()),
    }
}

/// Run shuttle with `scheduler`; `Some(panic payload)` if an execution failed.
fn run_once(
    setup: &Arc<Setup>,
    record: &Recorder,
    scheduler: Recording,
    max_time: Duration,
    opts: &Options,
    choices: Option<Vec<u8>>,
) -> Option<Box<dyn std::any::Any + Send>> {
    let mut config = Config::new();
    config.failure_persistence = FailurePersistence::None;
    config.max_steps = MaxSteps::FailAfter(opts.max_steps);
    config.max_time = Some(max_time);
    config.silence_warnings = true;
    let runner = Runner::new(scheduler, config);
    let (setup, rec) = (setup.clone(), record.clone());
    let inject = opts.inject_panic;
    let arities = wqcheck_threads::actor_arities(&setup.model);
    let delays = opts.scheduler == ShuttleScheduler::Random;
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        runner.run(move || {
            use shuttle::rand::RngCore;
            let mut rng = shuttle::rand::thread_rng();
            let choices = choices.clone().unwrap_or_else(|| {
                arities
                    .iter()
                    .map(|&n| (rng.next_u64() % n.max(1) as u64) as u8)
                    .collect()
            });
            // The random scheduler: each actor lets a random number of steps pass
            // first (see `Drive::actor_delays`); drawn from shuttle's source, so
            // a replay token repeats it.
            let actor_delays: Vec<u32> = if delays {
                arities
                    .iter()
                    .map(|_| (rng.next_u64() % (ACTOR_DELAY_MAX as u64 + 1)) as u32)
                    .collect()
            } else {
                Vec::new()
            };
            let movers = wqcheck_threads::movers(&setup.model, &choices);
            wqcheck_threads::execution_sc::<Shuttle>(
                &setup,
                &rec,
                &movers,
                wqcheck_threads::Drive {
                    actor_delays: &actor_delays,
                    inject_panic: inject,
                    ..Default::default()
                },
            )
        });
    }))
    .err()
}

fn finish(
    model: &Model,
    record: &Recorder,
    last: &StdMutex<Schedule>,
    payload: Box<dyn std::any::Any + Send>,
    start: Instant,
    bounds: String,
    opts: &Options,
) -> Result<Outcome, String> {
    let what = wqcheck_threads::panic_text(&*payload);
    let executions = record.executions();
    match record.failure(model, &what) {
        Failure::Violation(v, trace) => {
            let schedule = last.lock().unwrap_or_else(|e| e.into_inner()).clone();
            Ok(Outcome {
                replay: Some(encode(&schedule)),
                cycle_start: record.cycle_start(),
                ..Outcome::violation(v, trace, executions, start, bounds)
            })
        }
        Failure::Spin(why) => {
            Ok(Outcome::new(Verdict::Inconclusive, executions, start, bounds).stopped(why))
        }
        Failure::Other(m) if m.contains("exceeded max_steps") => {
            Ok(
                Outcome::new(Verdict::Inconclusive, executions, start, bounds).stopped(format!(
            "max_steps={} (an execution made that many scheduling decisions; a busy-waiting loop?)",
            opts.max_steps
        )),
            )
        }
        Failure::Other(m) => Err(format!("internal error in the shuttle backend: {m}")),
        // The step executor gets no deadline (`Recording` stops executions instead).
        Failure::OutOfTime => Err(
            "internal error in the shuttle backend: the step executor stopped at a deadline".into(),
        ),
    }
}

/// A replay token: the schedule in shuttle's own encoding, on one line.
fn encode(s: &Schedule) -> String {
    let hex: String = shuttle_engine::scheduler::serialization::serialize_schedule(s)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    format!("{TOKEN_PREFIX}{hex}")
}

fn decode(token: &str) -> Result<Schedule, String> {
    let bad = || {
        format!("`{token}` is not a wqcheck replay token (they start with `{TOKEN_PREFIX}`, as printed with a shuttle counterexample)")
    };
    let hex = token.trim().strip_prefix(TOKEN_PREFIX).ok_or_else(bad)?;
    if hex.is_empty() || hex.len() % 2 != 0 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(bad());
    }
    // shuttle's decoder indexes without checking: a corrupt token must be an error, not a
    // crash.
    std::panic::catch_unwind(|| shuttle_engine::scheduler::serialization::deserialize_schedule(hex))
        .ok()
        .flatten()
        .ok_or_else(bad)
}

/// The threads (and actors) of one execution.
fn movers_of(model: &Model) -> usize {
    model.inst.threads.len() + model.inst.actors.len()
}

/// The deadline of a check, and whether it stopped an execution.
#[derive(Clone)]
struct Clock {
    /// `None`: a budget too large to be an instant (no deadline).
    deadline: Option<Instant>,
    cut: Arc<AtomicBool>,
}

impl Clock {
    fn new(start: Instant, budget: Duration) -> Clock {
        Clock {
            deadline: wqcheck_threads::deadline(start, budget),
            cut: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Whether an execution was stopped at the deadline (then no other started).
    fn cut(&self) -> bool {
        self.cut.load(Ordering::Relaxed)
    }

    fn passed(&self) -> bool {
        self.deadline.is_some_and(|d| Instant::now() >= d)
    }
}

/// How many scheduling decisions pass between two looks at the clock: a look costs tens of
/// nanoseconds, a few percent of a decision, and 16 decisions take well under a second
/// even when each step runs the interpreter's whole local budget (about a millisecond).
const CLOCK_EVERY: u32 = 16;

/// A scheduler that records the schedule it produces, so that a failure can be replayed
/// without reading shuttle's output, and that stops an execution at the deadline.
///
/// It appends each decision to the shared schedule in place: a decision costs the same
/// however long the execution has run, so recording is linear in the execution's length.
///
/// shuttle looks at its own time budget only between executions, and a busy-waiting
/// execution runs until shuttle's step bound (100,000 decisions, each a step that may run
/// up to 100,000 local operations): many times any small budget. Every scheduling point
/// of an execution comes here, so here the clock is read (every [`CLOCK_EVERY`]
/// decisions); past the deadline the scheduler returns no task, which shuttle takes as
/// "stop this execution": it tears the execution down without a failure, and no other
/// starts.
struct Recording {
    inner: Box<dyn Scheduler + Send>,
    last: Arc<StdMutex<Schedule>>,
    clock: Clock,
    /// Decisions until the next look at the clock.
    until_clock: u32,
}

impl Recording {
    fn new(
        inner: Box<dyn Scheduler + Send>,
        last: Arc<StdMutex<Schedule>>,
        clock: Clock,
    ) -> Recording {
        Recording {
            inner,
            last,
            clock,
            until_clock: CLOCK_EVERY,
        }
    }

    fn schedule(&self) -> std::sync::MutexGuard<'_, Schedule> {
        self.last.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Scheduler for Recording {
    fn new_execution(&mut self) -> Option<Schedule> {
        if self.clock.cut() || self.clock.passed() {
            return None;
        }
        let s = self.inner.new_execution()?;
        *self.schedule() = Schedule::new(s.seed);
        self.until_clock = CLOCK_EVERY;
        Some(s)
    }

    fn next_task(
        &mut self,
        runnable: &[&Task],
        current: Option<TaskId>,
        is_yielding: bool,
    ) -> Option<TaskId> {
        self.until_clock -= 1;
        if self.until_clock == 0 {
            self.until_clock = CLOCK_EVERY;
            if self.clock.passed() {
                self.clock.cut.store(true, Ordering::Relaxed);
                return None;
            }
        }
        let t = self.inner.next_task(runnable, current, is_yielding)?;
        self.schedule().push_task(t);
        Some(t)
    }

    fn next_u64(&mut self) -> u64 {
        self.schedule().push_random();
        self.inner.next_u64()
    }
}

/// shuttle's primitives.
pub struct Shuttle;

// shuttle models no time: `sleep` is a plain scheduling point, without `yield_now`'s
// request to deprioritize the thread (which would turn PCT into round robin).
wqcheck_threads::std_shaped_runtime!(Shuttle, shuttle, || shuttle::thread::sleep(
    std::time::Duration::ZERO
));
