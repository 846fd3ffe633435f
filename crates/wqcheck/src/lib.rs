//! The wqcheck command line: the only crate that touches files, terminals and JSON.
//!
//! `wqcheck [OPTIONS] <PATH>...` loads each scenario (a `.ron` file, or every `.ron` file
//! directly inside a directory), checks its model, runs the native explorer and reports
//! through one [`wqcheck_report::Reporter`]. Bad input is reported with `file:line:col` and
//! makes the exit code 2, but never stops the other scenarios from being checked.

use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use wqcheck_model::ir::{Expectation, Instance};
use wqcheck_model::verdict::expectation_name;
use wqcheck_model::Model;
use wqcheck_report::{Event, RunReport};

/// Exit codes.
pub mod exit {
    /// Every scenario met its expectation.
    pub const OK: i32 = 0;
    /// Some scenario did not meet its expectation.
    pub const FAILED: i32 = 1;
    /// Usage error, bad input (RON, DSL, missing file) or an internal error.
    pub const ERROR: i32 = 2;
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A result line per scenario and, for a violation, the trace as a table.
    Human,
    /// JSON Lines: one object per result, then a summary object.
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    /// The native explicit-state explorer (breadth-first, shortest counterexamples).
    Native,
}

/// A model checker for sleep/wakeup (wait-queue) protocols.
#[derive(Debug, clap::Parser)]
#[command(name = "wqcheck", version, about, long_about = None)]
pub struct Args {
    /// Scenario files (`.ron`), or directories whose `.ron` files are all checked.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// The engine to run.
    #[arg(long, value_enum, default_value_t = Backend::Native)]
    pub backend: Backend,
    /// Override every scenario's state budget (distinct states).
    #[arg(long)]
    pub max_states: Option<u64>,
    /// Override every scenario's time budget (seconds).
    #[arg(long)]
    pub max_seconds: Option<u64>,
    /// Do not print traces, only result lines.
    #[arg(long, short)]
    pub quiet: bool,
    /// Print progress on stderr during long searches (default: when stderr is a terminal).
    #[arg(long)]
    pub progress: bool,
    /// Explore every reachable state even past a violation (like SPIN's `pan -c0`), so the
    /// state count is the full count; the reported violation is still a shortest one.
    #[arg(long)]
    pub full: bool,
}

/// Expand directories into their `.ron` files (sorted; not recursive).
pub fn expand_paths(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let rd = std::fs::read_dir(p).map_err(|e| format!("{}: {e}", p.display()))?;
            let mut v: Vec<PathBuf> = rd
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.extension().is_some_and(|x| x == "ron") && f.is_file())
                .collect();
            v.sort();
            if v.is_empty() {
                return Err(format!(
                    "{}: no .ron scenario files in this directory",
                    p.display()
                ));
            }
            out.extend(v);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

/// Load and check one scenario and its model. Errors come back rendered, with
/// `file:line:col`, ready to print.
pub fn load(path: &Path) -> Result<Instance, String> {
    let name = path.display().to_string();
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("error: cannot read {name}: {e}"))?;
    let file = wqcheck_dsl::parse_scenario(&name, &text)
        .map_err(|d| wqcheck_dsl::render_all(&d, |_| text.as_str()))?;
    let model_path = path
        .parent()
        .unwrap_or_else(|| Path::new(""))
        .join(&file.model);
    let model_name = model_path.display().to_string();
    let model_text = match std::fs::read_to_string(&model_path) {
        Ok(t) => t,
        Err(e) => {
            let d = wqcheck_dsl::Diagnostic {
                file: name.clone(),
                span: file.model_span,
                message: format!("cannot read the model file {model_name}: {e}"),
                help: Some(
                    "`model:` is a path relative to the scenario file, e.g. \"../models/linux/page-lock-v4.13.wq\""
                        .into(),
                ),
            };
            return Err(wqcheck_dsl::render(&d, &text));
        }
    };
    let program = wqcheck_dsl::check_model(&model_name, &model_text)
        .map_err(|d| wqcheck_dsl::render_all(&d, |_| model_text.as_str()))?;
    wqcheck_dsl::resolve_scenario(&name, &text, &file, program).map_err(|d| {
        wqcheck_dsl::render_all(&d, |f| {
            if f == name {
                text.as_str()
            } else {
                model_text.as_str()
            }
        })
    })
}

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
pub fn check(inst: Instance, args: &Args, progress: bool) -> Result<RunReport, String> {
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
    })
}

/// Run the CLI; returns the exit code.
pub fn run(args: &Args, out: &mut dyn Write) -> i32 {
    let mut reporter: Box<dyn wqcheck_report::Reporter> = match args.format {
        Format::Human => Box::new(wqcheck_report::Human {
            traces: !args.quiet,
            ..Default::default()
        }),
        Format::Json => Box::new(wqcheck_report::JsonLines),
    };
    let paths = match expand_paths(&args.paths) {
        Ok(p) => p,
        Err(e) => {
            let _ = writeln!(io::stderr(), "wqcheck: {e}");
            return exit::ERROR;
        }
    };
    let progress = args.progress || (io::stderr().is_terminal() && args.format == Format::Human);
    let (mut passed, mut failed, mut errors) = (0, 0, 0);
    for path in &paths {
        let name = path.display().to_string();
        // A bug in wqcheck must not take the other scenarios down with it.
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            load(path).and_then(|inst| check(inst, args, progress))
        }));
        let event = match result {
            Ok(Ok(r)) => {
                if r.ok {
                    passed += 1;
                } else {
                    failed += 1;
                }
                Event::Result(r)
            }
            Ok(Err(message)) => {
                errors += 1;
                failed += 1;
                Event::Error {
                    scenario: name,
                    message,
                }
            }
            Err(p) => {
                errors += 1;
                failed += 1;
                let what = p
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                Event::Error {
                    scenario: name.clone(),
                    message: format!("error: internal error while checking {name}: {what}\n  = help: this is a bug in wqcheck; please report it with the scenario"),
                }
            }
        };
        if reporter.report(&event, out).is_err() {
            return exit::ERROR;
        }
    }
    let _ = reporter.report(
        &Event::Summary {
            passed,
            failed,
            errors,
        },
        out,
    );
    if errors > 0 {
        exit::ERROR
    } else if failed > 0 {
        exit::FAILED
    } else {
        exit::OK
    }
}
