//! One function per backend: a loaded scenario in, a [`RunReport`] out.
//!
//! The native explorer runs in this process; loom and shuttle run in a child process
//! (see [`crate::child`]), which calls [`check_here`].

use std::io::{self, Write};
use std::path::Path;
use std::time::Duration;

use wqcheck_model::ir::{Backend as Engine, Expectation, Instance, ShuttleScheduler};
use wqcheck_model::verdict::expectation_name;
use wqcheck_model::Model;
use wqcheck_report::RunReport;

use crate::{Args, Backend, SchedulerArg};

/// A backend's wall-clock budget when neither the command line nor the scenario sets one.
const DEFAULT_SECONDS: u64 = 60;

fn bounds_text(max_states: Option<u64>, max_time: Option<Duration>) -> String {
    let mut v = Vec::new();
    if let Some(s) = max_states {
        v.push(format!("max_states={s}"));
    }
    if let Some(t) = max_time {
        v.push(format!("max_seconds={}", t.as_secs()));
    }
    if v.is_empty() {
        "none".into()
    } else {
        v.join(" ")
    }
}

/// Check one loaded scenario on the native explorer.
pub fn check_native(inst: Instance, args: &Args, progress: bool) -> Result<RunReport, String> {
    let scenario = inst.name.clone();
    let expect: Expectation = inst.expect;
    let max_states = args.max_states.or(inst.bounds.max_states);
    let max_time = args
        .max_seconds
        .or(inst.bounds.max_seconds)
        .map(Duration::from_secs);
    let model = Model::new(inst).map_err(|e| format!("error: {scenario}: {}", e.0))?;
    let show = |p: &wqcheck_explore::Progress| {
        eprint!(
            "\r  {scenario}: {} states, depth {}, {:.0} s ...",
            p.states,
            p.depth,
            p.elapsed.as_secs_f64()
        );
        let _ = io::stderr().flush();
    };
    let opts = wqcheck_explore::Options {
        max_states,
        max_time,
        progress: if progress { Some(&show) } else { None },
        full: args.full,
        ..wqcheck_explore::Options::default()
    };
    let out = wqcheck_explore::explore(&model, &opts);
    if progress && out.elapsed >= Duration::from_secs(1) {
        eprint!("\r{}\r", " ".repeat(scenario.len() + 60));
    }
    let trace = if out.path.is_empty() {
        Vec::new()
    } else {
        model
            .replay(&out.path)
            .map_err(|e| {
                format!(
                    "error: {scenario}: internal: the counterexample does not replay: {}",
                    e.0
                )
            })?
            .steps
    };
    Ok(RunReport {
        scenario,
        backend: "native".into(),
        verdict: out.verdict,
        expected: expectation_name(expect).into(),
        ok: out.verdict.meets(expect),
        states: out.states,
        transitions: out.transitions,
        depth: out.depth,
        elapsed_ms: out.elapsed.as_secs_f64() * 1000.0,
        bounds: bounds_text(max_states, max_time),
        budget_hit: out.budget_hit,
        message: out.violation.map(|v| v.message),
        columns: model.columns(),
        trace,
        preemption_bound: None,
        replay: None,
    })
}

/// The backends to run for `inst`: the command line's choice, else the scenario's list.
/// `--backend all` runs every backend that can run the scenario (loom only up to its
/// thread limit).
pub fn backends_for(inst: &Instance, args: &Args) -> Vec<Engine> {
    match args.backend {
        None => inst.backends.clone(),
        Some(Backend::Native) => vec![Engine::Native],
        Some(Backend::Loom) => vec![Engine::Loom],
        Some(Backend::Shuttle) => vec![Engine::Shuttle],
        Some(Backend::All) => {
            let fits_loom = inst.threads.len() + inst.actors.len() <= wqcheck_loom::MAX_THREADS;
            [Engine::Native, Engine::Loom, Engine::Shuttle]
                .into_iter()
                .filter(|e| *e != Engine::Loom || fits_loom)
                .collect()
        }
    }
}

fn seconds(args: &Args, own: Option<u64>, inst: &Instance) -> Duration {
    Duration::from_secs(
        args.max_seconds
            .or(own)
            .or(inst.bounds.max_seconds)
            .unwrap_or(DEFAULT_SECONDS),
    )
}

/// The loom search settings: command line, then scenario, then defaults.
pub fn loom_options(inst: &Instance, args: &Args) -> wqcheck_loom::Options {
    let d = wqcheck_loom::Options::default();
    wqcheck_loom::Options {
        max_preemptions: args
            .loom_max_preemptions
            .or(inst.loom.max_preemptions)
            .unwrap_or(d.max_preemptions),
        exhaustive: args.loom_exhaustive || inst.loom.exhaustive,
        max_branches: args
            .loom_max_branches
            .or(inst.loom.max_branches)
            .map(|b| b as usize)
            .unwrap_or(d.max_branches),
        max_time: seconds(args, inst.loom.max_seconds, inst),
        inject_panic: injected(&inst.name) == Some(Injected::Panic),
    }
}

/// The shuttle search settings: command line, then scenario, then defaults.
pub fn shuttle_options(inst: &Instance, args: &Args) -> wqcheck_shuttle::Options {
    let d = wqcheck_shuttle::Options::default();
    let s = &inst.shuttle;
    wqcheck_shuttle::Options {
        scheduler: args
            .scheduler
            .map(|a| match a {
                SchedulerArg::Random => ShuttleScheduler::Random,
                SchedulerArg::Pct => ShuttleScheduler::Pct,
                SchedulerArg::Dfs => ShuttleScheduler::Dfs,
            })
            .or(s.scheduler)
            .unwrap_or(d.scheduler),
        depth: args.pct_depth.or(s.depth).unwrap_or(d.depth),
        iterations: args.iterations.or(s.iterations).unwrap_or(d.iterations),
        seed: args.seed.or(s.seed).unwrap_or(d.seed),
        max_time: seconds(args, s.max_seconds, inst),
        inject_panic: injected(&inst.name) == Some(Injected::Panic),
        ..d
    }
}

/// The wall-clock budget of a backend run (the child process gets a grace period more).
pub fn budget(inst: &Instance, args: &Args, engine: Engine) -> Duration {
    match engine {
        Engine::Native => seconds(args, None, inst),
        Engine::Loom => loom_options(inst, args).max_time,
        Engine::Shuttle => shuttle_options(inst, args).max_time,
    }
}

/// A failure injected into a loom or shuttle run, for the robustness tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Injected {
    /// A panic inside a model thread (an engine bug).
    Panic,
    /// The child process aborts (as loom itself does on some panics).
    Abort,
}

/// The test hook `WQCHECK_INJECT_PANIC=panic:<text>` or `abort:<text>`: inject that
/// failure into the loom and shuttle runs of every scenario whose path contains `<text>`.
pub fn injected(scenario: &str) -> Option<Injected> {
    let v = std::env::var("WQCHECK_INJECT_PANIC").ok()?;
    let (kind, pattern) = v.split_once(':')?;
    if pattern.is_empty() || !scenario.contains(pattern) {
        return None;
    }
    match kind {
        "panic" => Some(Injected::Panic),
        "abort" => Some(Injected::Abort),
        _ => None,
    }
}

/// The diagnostic for a scenario `engine` cannot run, pointing at its threads.
pub fn refusal(path: &Path, inst: &Instance, engine: Engine) -> Result<(), String> {
    if engine != Engine::Loom {
        return Ok(());
    }
    let model = Model::new(inst.clone()).map_err(|e| format!("error: {}: {}", inst.name, e.0))?;
    let Some(message) = wqcheck_loom::thread_limit_error(&model) else {
        return Ok(());
    };
    let d = wqcheck_dsl::Diagnostic {
        file: path.display().to_string(),
        span: inst.threads_span,
        message,
        help: Some(
            "run this scenario with `--backend native` (exhaustive, sequentially consistent) or `--backend shuttle` (randomized, any number of threads)"
                .into(),
        ),
    };
    let text = std::fs::read_to_string(path).unwrap_or_default();
    Err(wqcheck_dsl::render(&d, &text))
}

fn internal(scenario: &str, e: String) -> String {
    format!("error: {scenario}: {e}\n  = help: this is a bug in wqcheck; please report it with the scenario")
}

/// Check one loaded scenario on loom or shuttle in this process (a child's side).
pub fn check_here(inst: Instance, args: &Args, engine: Engine) -> Result<RunReport, String> {
    let scenario = inst.name.clone();
    let expect = inst.expect_on(engine);
    let model = Model::new(inst.clone()).map_err(|e| format!("error: {scenario}: {}", e.0))?;
    let out = match engine {
        Engine::Native => {
            return Err(internal(
                &scenario,
                "the native explorer runs in process".into(),
            ))
        }
        Engine::Loom => wqcheck_loom::check(&model, &loom_options(&inst, args))
            .map_err(|e| internal(&scenario, e))?,
        Engine::Shuttle => {
            let opts = shuttle_options(&inst, args);
            match &args.replay {
                Some(token) => wqcheck_shuttle::replay(&model, token, &opts)
                    .map_err(|e| format!("error: {scenario}: cannot replay: {e}"))?,
                None => {
                    wqcheck_shuttle::check(&model, &opts).map_err(|e| internal(&scenario, e))?
                }
            }
        }
    };
    Ok(RunReport {
        scenario,
        backend: engine.name().into(),
        verdict: out.verdict,
        expected: expectation_name(expect).into(),
        ok: out.verdict.meets(expect),
        // For loom and shuttle, `states` counts executions (README, docs/loom.md).
        states: out.executions,
        transitions: 0,
        depth: out.trace.len() as u32,
        elapsed_ms: out.elapsed.as_secs_f64() * 1000.0,
        bounds: out.bounds,
        budget_hit: out.budget_hit,
        message: out.violation.map(|v| v.message),
        columns: model.columns(),
        trace: out.trace,
        preemption_bound: out.preemption_bound,
        replay: out.replay,
    })
}
