//! Process isolation for the backends that panic: loom and shuttle.
//!
//! loom reports failures by panicking and some of its panics abort the process; shuttle
//! installs a process-wide panic hook. Neither may take the other scenarios down, print
//! its panic noise, or leak state into another run. So every loom or shuttle check runs
//! in a child process: this same executable with `--child`, which prints one JSON
//! [`RunReport`] line (or one error line) on stdout. The parent drains the child's output,
//! discards its stderr, and kills it past its budget plus [`GRACE`].

use std::io::{self, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use wqcheck_model::ir::{Backend as Engine, Instance};
use wqcheck_model::verdict::expectation_name;
use wqcheck_model::Verdict;
use wqcheck_report::RunReport;

use crate::engines::{self, Injected};
use crate::{exit, load, Args, Backend};

/// The line prefix of a child's result.
const RESULT: &str = "wqcheck-child-result ";
/// The line prefix of a child's error.
const ERROR: &str = "wqcheck-child-error ";
/// Extra wall-clock time a child gets past its own budget before it is killed.
pub const GRACE: Duration = Duration::from_secs(30);

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
    cmd.arg(path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("error: cannot start a {} process: {e}", engine.name()))?;
    // Drain both pipes while waiting, so a chatty child never blocks on a full pipe.
    let mut out_pipe = child.stdout.take().expect("piped");
    let mut err_pipe = child.stderr.take().expect("piped");
    let out_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out_pipe.read_to_end(&mut v);
        v
    });
    let err_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err_pipe.read_to_end(&mut v);
        v
    });
    let budget = engines::budget(inst, args, engine);
    let limit = budget.saturating_add(GRACE);
    let start = Instant::now();
    let mut shown = 0;
    let status = loop {
        let secs = start.elapsed().as_secs();
        if progress && secs > shown {
            shown = secs;
            eprint!(
                "\r  {} [{}]: {secs} s of at most {} s ...",
                inst.name,
                engine.name(),
                budget.as_secs()
            );
            let _ = io::stderr().flush();
        }
        match child.try_wait() {
            Ok(Some(st)) => break Some(st),
            Ok(None) if start.elapsed() > limit => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => {
                return Err(format!(
                    "error: waiting for the {} process: {e}",
                    engine.name()
                ))
            }
        }
    };
    if shown > 0 {
        eprint!("\r{}\r", " ".repeat(inst.name.len() + 50));
    }
    let stdout = String::from_utf8_lossy(&out_reader.join().unwrap_or_default()).into_owned();
    let stderr = String::from_utf8_lossy(&err_reader.join().unwrap_or_default()).into_owned();
    let scenario = &inst.name;
    let Some(status) = status else {
        let columns = wqcheck_model::Model::new(inst.clone())
            .map(|m| m.columns())
            .unwrap_or_default();
        return Ok(RunReport {
            scenario: scenario.clone(),
            backend: engine.name().into(),
            memory: engines::engine_memory(engine).into(),
            verdict: Verdict::Inconclusive,
            expected: expectation_name(inst.expect_on(engine)).into(),
            ok: false,
            states: 0,
            transitions: 0,
            depth: 0,
            elapsed_ms: start.elapsed().as_secs_f64() * 1000.0,
            bounds: format!(
                "max_seconds={}",
                engines::budget(inst, args, engine).as_secs()
            ),
            budget_hit: Some(format!(
                "wall-clock limit of {} s (the {} run did not stop at its budget and was killed)",
                limit.as_secs(),
                engine.name()
            )),
            message: None,
            columns,
            trace: Vec::new(),
            preemption_bound: None,
            replay: None,
            directed: None,
        });
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
    if engines::injected(&path.display().to_string()) == Some(Injected::Abort) {
        std::process::abort();
    }
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        load(path).and_then(|inst| engines::check_here(inst, args, engine))
    }));
    let line = match result {
        Ok(Ok(r)) => format!("{RESULT}{}", serde_json::to_string(&r).unwrap_or_default()),
        Ok(Err(m)) => format!("{ERROR}{}", serde_json::Value::String(m)),
        Err(p) => format!(
            "{ERROR}{}",
            serde_json::Value::String(format!(
                "error: internal error while checking {} on {}: {}\n  = help: this is a bug in wqcheck; please report it with the scenario",
                path.display(),
                engine.name(),
                wqcheck_threads::panic_text(&*p)
            ))
        ),
    };
    let _ = writeln!(out, "{line}");
    exit::OK
}
