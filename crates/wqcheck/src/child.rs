//! Process isolation for the backends that panic: loom and shuttle.
//!
//! loom reports failures by panicking and some of its panics abort the process; shuttle
//! installs a process-wide panic hook. Neither may take the other scenarios down, print
//! its panic noise, or leak state into another run. So every loom or shuttle check runs
//! in a child process: this same executable with `--child`, which prints one JSON
//! [`RunReport`] line (or one error line) on stdout. The parent drains the child's output,
//! keeps the end of its stderr, and kills it past its budget plus [`GRACE`], or at once
//! when the run is interrupted ([`crate::interrupt`]).
//!
//! A child that ends without a result is reported for what happened to it: out of memory
//! (Rust's `memory allocation of N bytes failed` on its stderr) is `Inconclusive`, stopped
//! by the memory limit; killed by a signal from outside (SIGKILL, SIGTERM, ...) is an error
//! for that scenario that says so; only a crash of its own (an abort, a segfault) is an
//! internal error, a bug in wqcheck. The child runs in its own process group and dies with
//! its parent (a parent-death signal), so it never outlives wqcheck.

use std::io::{self, Read, Write};
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use wqcheck_model::ir::{Backend as Engine, Instance};
use wqcheck_model::verdict::expectation_name;
use wqcheck_model::Verdict;
use wqcheck_report::RunReport;

use crate::engines::{self, Injected};
use crate::{exit, interrupt, Args, Backend};

/// The line prefix of a child's result.
const RESULT: &str = "wqcheck-child-result ";
/// The line prefix of a child's error.
const ERROR: &str = "wqcheck-child-error ";
/// Extra wall-clock time a child gets past its own budget before it is killed.
pub const GRACE: Duration = Duration::from_secs(30);
/// How much of the end of a child's stderr the parent keeps to tell why it died.
const STDERR_TAIL: usize = 8 * 1024;
/// The error [`check`] returns when the run was interrupted (the caller reports the
/// interruption, not this).
pub const INTERRUPTED: &str = "interrupted";

/// Check one scenario on `engine` (loom or shuttle) in a child process. With `progress`,
/// a run that takes more than a second shows its elapsed time and budget on stderr.
pub fn check(
    path: &Path,
    inst: &Instance,
    args: &Args,
    engine: Engine,
    progress: bool,
) -> Result<RunReport, String> {
    engines::refusal(path, inst, engine)?;
    let exe = std::env::current_exe()
        .map_err(|e| format!("error: cannot find the wqcheck executable: {e}"))?;
    let mut cmd = Command::new(exe);
    cmd.arg("--child").arg("--backend").arg(engine.name());
    match engine {
        Engine::Loom => {
            let o = engines::loom_options(inst, args);
            cmd.arg("--loom-max-preemptions")
                .arg(o.max_preemptions.to_string())
                .arg("--loom-max-branches")
                .arg(o.max_branches.to_string())
                .arg("--max-seconds")
                .arg(o.max_time.as_secs().to_string());
            if o.exhaustive {
                cmd.arg("--loom-exhaustive");
            }
        }
        Engine::Shuttle => {
            let o = engines::shuttle_options(inst, args);
            let scheduler = match o.scheduler {
                wqcheck_model::ir::ShuttleScheduler::Random => "random",
                wqcheck_model::ir::ShuttleScheduler::Pct => "pct",
                wqcheck_model::ir::ShuttleScheduler::Dfs => "dfs",
            };
            cmd.arg("--scheduler")
                .arg(scheduler)
                .arg("--pct-depth")
                .arg(o.depth.to_string())
                .arg("--iterations")
                .arg(o.iterations.to_string())
                .arg("--seed")
                .arg(o.seed.to_string())
                .arg("--max-seconds")
                .arg(o.max_time.as_secs().to_string());
            if let Some(t) = &args.replay {
                cmd.arg("--replay").arg(t);
            }
        }
        Engine::Native => {}
    }
    cmd.args(crate::model_run::child_args(args))
        .arg(path)
        .env(interrupt::PARENT_PID_VAR, std::process::id().to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // Its own process group: a Ctrl-C at the terminal reaches wqcheck alone, which then
    // kills the child itself and reports what finished.
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = match interrupt::spawn(&mut cmd) {
        Ok(Some(c)) => c,
        Ok(None) => return Err(INTERRUPTED.into()),
        Err(e) => {
            return Err(format!(
                "error: cannot start a {} process: {e}",
                engine.name()
            ))
        }
    };
    // Drain both pipes while waiting, so a chatty child never blocks on a full pipe. Of
    // stderr only the end is kept: it says why a child died (out of memory, say).
    let mut out_pipe = child.stdout.take().expect("piped");
    let mut err_pipe = child.stderr.take().expect("piped");
    let out_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out_pipe.read_to_end(&mut v);
        v
    });
    let err_reader = std::thread::spawn(move || {
        let mut tail = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match err_pipe.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    tail.extend_from_slice(&buf[..n]);
                    if tail.len() > 2 * STDERR_TAIL {
                        tail.drain(..tail.len() - STDERR_TAIL);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        tail
    });
    let budget = engines::budget(inst, args, engine);
    let limit = budget.saturating_add(GRACE);
    // The search's own budget, as its result line names it (loom's `budget` also
    // leaves room to follow a counterexample).
    let search = match engine {
        Engine::Loom => engines::loom_options(inst, args).max_time,
        _ => engines::shuttle_options(inst, args).max_time,
    };
    let start = Instant::now();
    let mut shown = 0;
    let mut width = 0;
    let status = loop {
        let secs = start.elapsed().as_secs();
        if progress && secs > shown {
            shown = secs;
            let line =
                crate::progress::child_line(&inst.name, engine.name(), secs, search.as_secs());
            width = width.max(line.chars().count());
            eprint!("\r{line}");
            let _ = io::stderr().flush();
        }
        if interrupt::received().is_some() {
            interrupt::kill_and_reap(&mut child);
            return Err(INTERRUPTED.into());
        }
        match interrupt::try_wait(&mut child) {
            Ok(Some(st)) => break Some(st),
            Ok(None) if start.elapsed() > limit => {
                interrupt::kill_and_reap(&mut child);
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => {
                interrupt::kill_and_reap(&mut child);
                return Err(format!(
                    "error: waiting for the {} process: {e}",
                    engine.name()
                ));
            }
        }
    };
    if width > 0 {
        eprint!("\r{}\r", " ".repeat(width));
    }
    let stdout = String::from_utf8_lossy(&out_reader.join().unwrap_or_default()).into_owned();
    let stderr = String::from_utf8_lossy(&err_reader.join().unwrap_or_default()).into_owned();
    let scenario = &inst.name;
    let Some(status) = status else {
        return Ok(inconclusive(
            inst,
            args,
            engine,
            start,
            format!(
                "wall-clock limit of {} s (the {} run did not stop at its budget and was killed)",
                limit.as_secs(),
                engine.name()
            ),
        ));
    };
    for line in stdout.lines() {
        if let Some(json) = line.strip_prefix(RESULT) {
            return serde_json::from_str(json).map_err(|e| {
                format!(
                    "error: {scenario}: internal: unreadable {} result: {e}",
                    engine.name()
                )
            });
        }
        if let Some(json) = line.strip_prefix(ERROR) {
            return Err(serde_json::from_str(json).unwrap_or_else(|_| json.into()));
        }
    }
    // No result: why the child ended decides what is honest to say.
    if let Some(failed) = allocation_failure(&stderr) {
        return Ok(inconclusive(
            inst,
            args,
            engine,
            start,
            format!(
                "memory limit: the {} process ran out of memory ({failed})",
                engine.name()
            ),
        ));
    }
    if let Some(message) = killed(scenario, engine, status) {
        return Err(message);
    }
    let last = stderr
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    Err(format!(
        "error: internal error while checking {scenario} on {}: the process ended ({status}) without a result{}\n  = help: this is a bug in wqcheck; please report it with the scenario",
        engine.name(),
        if last.is_empty() { String::new() } else { format!(": {last}") }
    ))
}

/// A run that ended without a verdict of its own: `Inconclusive`, stopped by `budget_hit`.
fn inconclusive(
    inst: &Instance,
    args: &Args,
    engine: Engine,
    start: Instant,
    budget_hit: String,
) -> RunReport {
    let columns = wqcheck_model::Model::new(inst.clone())
        .map(|m| m.columns())
        .unwrap_or_default();
    RunReport {
        scenario: inst.name.clone(),
        model: inst.program.source.name.clone(),
        backend: engine.name().into(),
        memory: engines::engine_memory(engine).into(),
        verdict: Verdict::Inconclusive,
        claim: wqcheck_model::verdict::Claim::Nothing,
        expected: expectation_name(inst.expect_on(engine)).into(),
        required: inst.require,
        ok: false,
        states: 0,
        transitions: 0,
        depth: 0,
        elapsed_ms: start.elapsed().as_secs_f64() * 1000.0,
        bounds: format!(
            "max_seconds={}",
            engines::budget(inst, args, engine).as_secs()
        ),
        budget_hit: Some(budget_hit),
        message: None,
        columns,
        trace: Vec::new(),
        cycle_start: None,
        preemption_bound: None,
        replay: None,
        directed: None,
    }
}

/// Rust's report of a failed allocation (`memory allocation of N bytes failed`, printed
/// before it aborts the process), if the child's stderr ends with one.
fn allocation_failure(stderr: &str) -> Option<&str> {
    stderr
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with("memory allocation of") && l.ends_with("failed"))
}

/// The error for a child killed by a signal that is not a crash of its own: something
/// outside wqcheck (a user, a supervisor, a CPU-time limit, the kernel's out-of-memory
/// killer) ended it, and nothing is claimed for that run. A crash (SIGABRT, SIGSEGV, ...)
/// without a memory report is left to the caller: that is a bug in wqcheck.
fn killed(scenario: &str, engine: Engine, status: ExitStatus) -> Option<String> {
    #[cfg(unix)]
    {
        use signal_hook::consts::{SIGABRT, SIGBUS, SIGFPE, SIGILL, SIGKILL, SIGSEGV, SIGTRAP};
        let sig = std::os::unix::process::ExitStatusExt::signal(&status)?;
        if [SIGABRT, SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP].contains(&sig) {
            return None;
        }
        let why = if sig == SIGKILL {
            ", by something outside wqcheck or by the kernel's out-of-memory killer"
        } else {
            ", by something outside wqcheck"
        };
        Some(format!(
            "error: {scenario}: the {} process was killed by signal {sig} ({}){why}; nothing is claimed for this run\n  = help: run it again; if memory was short, lower the scenario's bounds or check it with `--backend native`",
            engine.name(),
            interrupt::signal_name(sig)
        ))
    }
    #[cfg(not(unix))]
    {
        let _ = (scenario, engine, status);
        None
    }
}

/// The test hook `WQCHECK_INJECT_PANIC=oom:<text>`: a child for a scenario whose path
/// contains `<text>` runs out of memory before it starts (see [`engines::injected`] for
/// the other kinds).
fn injected_oom(scenario: &str) -> bool {
    std::env::var("WQCHECK_INJECT_PANIC")
        .ok()
        .and_then(|v| {
            v.strip_prefix("oom:")
                .map(|p| !p.is_empty() && scenario.contains(p))
        })
        .unwrap_or(false)
}

/// The `--child` side: check the one scenario and print the result line.
pub fn run(args: &Args, out: &mut dyn Write) -> i32 {
    let ([path], Some(backend)) = (args.paths.as_slice(), args.backend) else {
        let _ = writeln!(
            io::stderr(),
            "wqcheck: --child takes one scenario and --backend"
        );
        return exit::ERROR;
    };
    let engine = match backend {
        Backend::Loom => Engine::Loom,
        Backend::Shuttle => Engine::Shuttle,
        Backend::Native | Backend::All => {
            let _ = writeln!(io::stderr(), "wqcheck: --child runs loom or shuttle");
            return exit::ERROR;
        }
    };
    interrupt::die_with_parent();
    let name = crate::display_name(path);
    if engines::injected(&name) == Some(Injected::Abort) {
        std::process::abort();
    }
    if injected_oom(&name) {
        // What running out of memory looks like: Rust reports the failed allocation on
        // stderr and aborts. Half the largest allocation Rust allows is more than any
        // address space can map, whatever the overcommit policy.
        let hoard = vec![1u8; isize::MAX as usize / 2];
        std::hint::black_box(&hoard);
    }
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        crate::load_for(path, args)
            .map_err(|e| e.message)
            .and_then(|inst| engines::check_here(inst, args, engine))
    }));
    let line = match result {
        Ok(Ok(r)) => format!("{RESULT}{}", serde_json::to_string(&r).unwrap_or_default()),
        Ok(Err(m)) => format!("{ERROR}{}", serde_json::Value::String(m)),
        Err(p) => format!(
            "{ERROR}{}",
            serde_json::Value::String(format!(
                "error: internal error while checking {name} on {}: {}\n  = help: this is a bug in wqcheck; please report it with the scenario",
                engine.name(),
                wqcheck_threads::panic_text(&*p)
            ))
        ),
    };
    let _ = writeln!(out, "{line}");
    exit::OK
}
