//! One function per backend: a loaded scenario in, a [`RunReport`] out.
//!
//! The native explorer runs in this process; loom and shuttle run in a child process
//! (see [`crate::child`]), which calls [`check_here`].

use std::io::{self, Write};
use std::path::Path;
use std::time::Duration;

use wqcheck_model::ir::{
    Backend as Engine, Expectation, Instance, MemoryModel, ShuttleScheduler, MAX_MEMORY_MIB,
};
use wqcheck_model::verdict::{expectation_name, Claim, Finding};
use wqcheck_model::Model;
use wqcheck_report::{Directed, RunReport};

use crate::{Args, Backend, MemoryArg, SchedulerArg};

/// A backend's wall-clock budget when neither the command line nor the scenario sets one.
const DEFAULT_SECONDS: u64 = 60;

/// The native explorer's bounds: command line, then scenario (memory: then the machine).
struct NativeBounds {
    max_states: Option<u64>,
    max_time: Option<Duration>,
    /// The memory budget in MiB, and whether the command line or the scenario set it
    /// (else it is [`default_max_memory_mib`]'s).
    max_memory_mib: Option<(u64, bool)>,
}

impl NativeBounds {
    fn of(inst: &Instance, args: &Args) -> NativeBounds {
        let set = args.max_memory.or(inst.bounds.max_memory_mib);
        NativeBounds {
            max_states: args.max_states.or(inst.bounds.max_states),
            max_time: args
                .max_seconds
                .or(inst.bounds.max_seconds)
                .map(Duration::from_secs),
            max_memory_mib: match set {
                Some(m) => Some((m, true)),
                // Shared among the jobs, which may all be native searches at once.
                None => default_max_memory_mib()
                    .map(|m| ((m / u64::from(args.jobs.unwrap_or(1).max(1))).max(1), false)),
            },
        }
    }

    fn max_memory_bytes(&self) -> Option<u64> {
        self.max_memory_mib.map(|(m, _)| m.saturating_mul(1 << 20))
    }

    /// `max_states=2000000 max_seconds=60 max_memory_mib=4096`: the bounds that were set.
    /// The default memory budget depends on the machine, so it is named only when it
    /// stops a search (in `budget_hit`), to keep result lines the same everywhere.
    fn text(&self) -> String {
        let mut v = Vec::new();
        if let Some(s) = self.max_states {
            v.push(format!("max_states={s}"));
        }
        if let Some(t) = self.max_time {
            v.push(format!("max_seconds={}", t.as_secs()));
        }
        if let Some((m, true)) = self.max_memory_mib {
            v.push(format!("max_memory_mib={m}"));
        }
        if v.is_empty() {
            "none".into()
        } else {
            v.join(" ")
        }
    }

    /// `budget_hit` of a search, saying where a memory budget it hit came from.
    fn budget_hit(&self, hit: Option<String>) -> Option<String> {
        match (hit, self.max_memory_mib) {
            (Some(h), Some((_, false))) if h.starts_with("memory limit") => Some(format!(
                "{h}; the default budget, from the machine's memory: set `max_memory_mib` in the scenario's bounds or `--max-memory` to change it"
            )),
            (hit, _) => hit,
        }
    }
}

/// `--max-memory`: a size in binary units (`4GiB`, `4G`, `512MiB`, `512M`, `1TiB`, case
/// not significant) or a bare number of MiB, from 1 MiB to `MAX_MEMORY_MIB` MiB, the
/// same range as a scenario's `max_memory_mib`. Returns MiB.
pub fn parse_memory_mib(text: &str) -> Result<u64, String> {
    let help = format!(
        "give a size from 1 MiB to {} TiB, like `4GiB`, `512MiB` or `4096` (MiB)",
        MAX_MEMORY_MIB >> 20
    );
    let t = text.trim();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(digits);
    let scale: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "m" | "mb" | "mib" => 1,
        "g" | "gb" | "gib" => 1 << 10,
        "t" | "tb" | "tib" => 1 << 20,
        _ => return Err(format!("unknown size `{text}`: {help}")),
    };
    let mib = number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(scale))
        .filter(|m| (1..=MAX_MEMORY_MIB).contains(m));
    mib.ok_or_else(|| format!("size `{text}` is out of range: {help}"))
}

/// The native explorer's memory budget when neither the command line nor the scenario
/// sets one, in MiB: half of the machine's memory (`MemTotal`), at most three quarters of
/// what is available now (`MemAvailable`), and under an address-space limit (`ulimit -v`,
/// `prlimit --as`) at most three quarters of what that limit leaves this process (the
/// rest is for what the explorer does not count: the model, the batch, the output).
/// None where `/proc` does not say (no budget; allocations still fail softly).
///
/// Measured once per process, at the first call (`run` makes it before it starts the
/// jobs): measured in a job, `VmSize` would include whatever the other jobs' searches and
/// their threads' allocator arenas had mapped at that moment, and the budget would change
/// from run to run.
pub fn default_max_memory_mib() -> Option<u64> {
    static ONCE: std::sync::OnceLock<Option<u64>> = std::sync::OnceLock::new();
    *ONCE.get_or_init(measure_max_memory_mib)
}

fn measure_max_memory_mib() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kib = |text: &str, key: &str| -> Option<u64> {
        text.lines()
            .find_map(|l| l.strip_prefix(key))?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    };
    let total = kib(&meminfo, "MemTotal:")?;
    let mut budget = total / 2;
    if let Some(avail) = kib(&meminfo, "MemAvailable:") {
        budget = budget.min(avail / 4 * 3);
    }
    if let Some(limit) = address_space_limit() {
        let mapped = std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| kib(&s, "VmSize:"))
            .unwrap_or(0);
        budget = budget.min((limit / 1024).saturating_sub(mapped) / 4 * 3);
    }
    Some((budget / 1024).max(1))
}

/// The soft address-space limit of this process in bytes (`Max address space` in
/// `/proc/self/limits`), if there is one.
fn address_space_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits
        .lines()
        .find_map(|l| l.strip_prefix("Max address space"))?;
    line.split_whitespace().next()?.parse().ok()
}

/// The memory models to run the native explorer under: the command line's choice, else
/// the scenario's `memory` list.
pub fn memories_for(inst: &Instance, args: &Args) -> Vec<MemoryModel> {
    match args.memory {
        None => inst.memory.clone(),
        Some(MemoryArg::Sc) => vec![MemoryModel::Sc],
        Some(MemoryArg::Tso) => vec![MemoryModel::Tso],
        Some(MemoryArg::All) => vec![MemoryModel::Sc, MemoryModel::Tso],
    }
}

/// The store buffer of the native explorer under TSO: command line, scenario, default.
fn store_buffer(inst: &Instance, args: &Args) -> usize {
    args.store_buffer
        .or(inst.tso.store_buffer)
        .unwrap_or(wqcheck_dsl::DEFAULT_STORE_BUFFER) as usize
}

/// Check one loaded scenario on the native explorer under `memory`.
pub fn check_native(
    inst: Instance,
    args: &Args,
    progress: bool,
    memory: MemoryModel,
) -> Result<RunReport, String> {
    let scenario = inst.name.clone();
    let model_file = inst.program.source.name.clone();
    let expect: Expectation = inst.expect_native(memory);
    let require = inst.require;
    let bounds = NativeBounds::of(&inst, args);
    let k = store_buffer(&inst, args);
    let model =
        Model::with_memory(inst, memory, k).map_err(|e| format!("error: {scenario}: {}", e.0))?;
    let width = std::cell::Cell::new(0usize);
    let show = |p: &wqcheck_explore::Progress| {
        let line = crate::progress::native_line(
            &scenario,
            p.states,
            p.depth,
            p.elapsed.as_secs_f64(),
            bounds.max_states,
            bounds.max_time.map(|t| t.as_secs_f64()),
        );
        // Pad over a longer line before it.
        let n = line.chars().count();
        eprint!("\r{line}{}", " ".repeat(width.get().saturating_sub(n)));
        width.set(width.get().max(n));
        let _ = io::stderr().flush();
    };
    let opts = wqcheck_explore::Options {
        max_states: bounds.max_states,
        max_time: bounds.max_time,
        max_memory: bounds.max_memory_bytes(),
        progress: if progress { Some(&show) } else { None },
        full: args.full,
        ..wqcheck_explore::Options::default()
    };
    let out = wqcheck_explore::explore(&model, &opts);
    if width.get() > 0 {
        eprint!("\r{}\r", " ".repeat(width.get()));
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
    let mut bounds_text = bounds.text();
    if memory == MemoryModel::Tso {
        bounds_text = format!("{bounds_text} store_buffer={k}");
    }
    if let Some(live) = model
        .inst
        .liveness
        .as_ref()
        .filter(|_| out.liveness_checked)
    {
        bounds_text = format!("{bounds_text} fairness={}", live.fairness.name());
    }
    let finding = Finding {
        verdict: out.verdict,
        claim: Claim::of(out.verdict, false),
        explored: out.states,
    };
    Ok(RunReport {
        scenario,
        model: model_file,
        backend: "native".into(),
        memory: memory.name().into(),
        verdict: out.verdict,
        claim: finding.claim,
        expected: expectation_name(expect).into(),
        required: require,
        ok: finding.meets(expect, require),
        states: out.states,
        transitions: out.transitions,
        depth: out.depth,
        elapsed_ms: out.elapsed.as_secs_f64() * 1000.0,
        bounds: bounds_text,
        budget_hit: bounds.budget_hit(out.budget_hit),
        message: out.violation.map(|v| v.message),
        columns: model.columns(),
        trace,
        cycle_start: out.cycle_start,
        preemption_bound: None,
        replay: None,
        directed: None,
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
            // The model's own actors count too (a timer per thread with timed sleeps).
            let fits_loom = Model::new(inst.clone())
                .map_or(true, |m| wqcheck_loom::thread_limit_error(&m).is_none());
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
/// loom's is twice its search budget: following the native counterexample after a search
/// without a violation gets as long again ([`check_loom`]).
pub fn budget(inst: &Instance, args: &Args, engine: Engine) -> Duration {
    match engine {
        Engine::Native => seconds(args, None, inst),
        // Saturating: a huge `--max-seconds` is a budget without end, not an overflow.
        Engine::Loom => loom_options(inst, args).max_time.saturating_mul(2),
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
        // The scenario's name as loaded: escaped for printing.
        file: inst.name.clone(),
        span: inst.threads_span,
        message,
        help: Some(
            "run this scenario with `--backend native` (exhaustive, sequentially consistent) or `--backend shuttle` (randomized, any number of threads)"
                .into(),
        ),
    };
    // The file was read (and size-checked) to load the scenario; read it again the same
    // way, so a file swapped since cannot make this read unbounded.
    let text = crate::read_input(path, crate::MAX_SCENARIO_BYTES).unwrap_or_default();
    Err(wqcheck_dsl::render(&d, &text))
}

fn internal(scenario: &str, e: String) -> String {
    format!("error: {scenario}: {e}\n  = help: this is a bug in wqcheck; please report it with the scenario")
}

/// Check one loaded scenario on loom or shuttle in this process (a child's side).
pub fn check_here(inst: Instance, args: &Args, engine: Engine) -> Result<RunReport, String> {
    let scenario = inst.name.clone();
    let model = Model::new(inst.clone()).map_err(|e| format!("error: {scenario}: {}", e.0))?;
    let out = match engine {
        Engine::Native => {
            return Err(internal(
                &scenario,
                "the native explorer runs in process".into(),
            ))
        }
        Engine::Loom => {
            let (out, directed) = check_loom(&model, &inst, args)?;
            return Ok(report(&model, &inst, engine, out, directed));
        }
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
    Ok(report(&model, &inst, engine, out, None))
}

/// Check `model` on loom: loom's own search, then, if it found no violation and the
/// native explorer finds one, a directed loom search along that counterexample.
///
/// Why: loom's preemption-bounded search cannot reach a bug that needs many preemptions
/// among five threads (the three-locker page-lock race needs four), while following a
/// schedule costs loom one execution. The violation it then reports is still a
/// loom execution, checked by loom; the report says how it was found. A counterexample
/// loom cannot reproduce is an internal error: the engines disagree.
fn check_loom(
    model: &Model,
    inst: &Instance,
    args: &Args,
) -> Result<(wqcheck_threads::Outcome, Option<Directed>), String> {
    let scenario = &inst.name;
    let opts = loom_options(inst, args);
    let own = wqcheck_loom::check(model, &opts).map_err(|e| internal(scenario, e))?;
    if own.violation.is_some() {
        return Ok((own, None));
    }
    let start = std::time::Instant::now();
    let bounds = NativeBounds::of(inst, args);
    let native = wqcheck_explore::explore(
        model,
        &wqcheck_explore::Options {
            max_states: bounds.max_states,
            max_memory: bounds.max_memory_bytes(),
            // The directed phase shares one budget as long as the search's.
            max_time: Some(
                bounds
                    .max_time
                    .map_or(opts.max_time, |t| t.min(opts.max_time)),
            ),
            ..wqcheck_explore::Options::default()
        },
    );
    if native.path.is_empty() {
        return Ok((own, None));
    }
    let opts = wqcheck_loom::Options {
        max_time: opts.max_time.saturating_sub(start.elapsed()),
        ..opts
    };
    let followed = wqcheck_loom::check_directed(model, &native.path, &opts)
        .map_err(|e| internal(scenario, e))?;
    if followed.budget_hit.is_some() {
        // Out of time before the schedule's end: loom's own result stands.
        return Ok((own, None));
    }
    if followed.violation.is_none() && native.cycle_start.is_some() {
        // A lasso is an infinite run: after its schedule, loom runs free and gives way
        // where the cycle need not (no fairness, or a cycle of several threads: docs/dsl.md,
        // "Liveness"), so not reaching it is no disagreement; loom's own result stands.
        return Ok((own, None));
    }
    if followed.violation.is_none() {
        return Err(internal(
            scenario,
            format!(
                "the native explorer's counterexample ({} steps, {}) did not reproduce on loom ({}, {} executions): the engines disagree",
                native.path.len(),
                native.verdict,
                followed.verdict,
                followed.executions
            ),
        ));
    }
    let own_result = match (&own.budget_hit, own.preemption_bound) {
        (Some(b), _) => format!("stopped by the {b}"),
        (None, Some(b)) => format!("no violation up to preemption bound {b}"),
        (None, None) => "no violation in the unbounded search".into(),
    };
    let directed = Directed {
        steps: native.path.len() as u32,
        own_executions: own.executions,
        own_result,
    };
    let out = wqcheck_threads::Outcome {
        executions: own.executions + followed.executions,
        elapsed: own.elapsed + start.elapsed(),
        bounds: own.bounds,
        preemption_bound: own.preemption_bound,
        ..followed
    };
    Ok((out, Some(directed)))
}

/// The memory model a threaded engine explores.
pub fn engine_memory(engine: Engine) -> &'static str {
    match engine {
        Engine::Loom => "c11",
        Engine::Native | Engine::Shuttle => "sc",
    }
}

/// The report of a loom or shuttle run.
fn report(
    model: &Model,
    inst: &Instance,
    engine: Engine,
    out: wqcheck_threads::Outcome,
    directed: Option<Directed>,
) -> RunReport {
    let expect = inst.expect_on(engine);
    // loom's iterative search is bounded by preemptions unless it ran unbounded; shuttle's
    // `Holds` is a DFS run to the end, and its samples say `NoViolationFound`.
    let bounded = engine == Engine::Loom && out.preemption_bound.is_some();
    let finding = Finding {
        verdict: out.verdict,
        claim: Claim::of(out.verdict, bounded),
        explored: out.executions,
    };
    RunReport {
        scenario: inst.name.clone(),
        model: inst.program.source.name.clone(),
        backend: engine.name().into(),
        memory: engine_memory(engine).into(),
        verdict: out.verdict,
        claim: finding.claim,
        expected: expectation_name(expect).into(),
        required: inst.require,
        ok: finding.meets(expect, inst.require),
        // For loom and shuttle, `states` counts executions (README, docs/loom.md).
        states: out.executions,
        transitions: 0,
        depth: out.trace.len() as u32,
        elapsed_ms: out.elapsed.as_secs_f64() * 1000.0,
        // loom and shuttle judge a thread that spins alone; a cycle of several threads is
        // the native explorer's to find (docs/dsl.md, "Liveness"): the bounds say so.
        bounds: match &inst.liveness {
            Some(live) => format!(
                "{} fairness={} liveness=spins",
                out.bounds,
                live.fairness.name()
            ),
            None => out.bounds,
        },
        budget_hit: out.budget_hit,
        message: out.violation.map(|v| v.message),
        columns: model.columns(),
        trace: out.trace,
        cycle_start: out.cycle_start,
        preemption_bound: out.preemption_bound,
        replay: out.replay,
        directed,
    }
}
