//! The wqcheck command line: the only crate that touches files, terminals and JSON.
//!
//! `wqcheck [OPTIONS] <PATH>...` loads each scenario (a `.ron` file, or every `.ron` file
//! directly inside a directory), checks its model, runs it on each selected backend and
//! reports through one [`wqcheck_report::Reporter`]. Bad input is reported with
//! `file:line:col` and makes the exit code 2, but never stops the other scenarios from
//! being checked.
//!
//! The native explorer runs in this process ([`engines`]). loom and shuttle runs happen
//! in a child process of this same executable ([`child`]): both report failures by
//! panicking, loom can abort the process, and neither may take the other scenarios down.

pub mod child;
pub mod engines;

use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};

use wqcheck_model::ir::{Backend as Engine, Instance, MemoryModel};
use wqcheck_report::{Event, RunReport};

pub use engines::{backends_for, check_native as check, memories_for};

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
    /// loom: exhaustive interleavings under the C11 memory model (at most 5 threads).
    Loom,
    /// shuttle: randomized (random, PCT) or depth-first schedules, with replay tokens.
    Shuttle,
    /// Every backend that can run the scenario, one after the other.
    All,
}

/// The native explorer's memory model on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum MemoryArg {
    /// Sequential consistency.
    Sc,
    /// x86-TSO: store buffers, flushed as steps of their own.
    Tso,
    /// Both, one result each.
    All,
}

/// shuttle's schedulers on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum SchedulerArg {
    /// A uniformly random choice at every scheduling point.
    Random,
    /// Probabilistic concurrency testing with `--pct-depth`.
    Pct,
    /// Depth-first enumeration of schedules.
    Dfs,
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
    /// The engine(s) to run [default: each scenario's own `backends` list].
    #[arg(long, value_enum)]
    pub backend: Option<Backend>,
    /// Override every scenario's state budget (distinct states).
    #[arg(long)]
    pub max_states: Option<u64>,
    /// Override every scenario's time budget (seconds).
    #[arg(long)]
    pub max_seconds: Option<u64>,
    /// Override every scenario's memory budget for the native explorer: `4GiB`, `512MiB`,
    /// `1TiB`, or a number of MiB [default: the scenario's `bounds.max_memory_mib`, else
    /// half of the machine's memory, less under an address-space limit].
    #[arg(long, value_name = "SIZE", value_parser = engines::parse_memory_mib)]
    pub max_memory: Option<u64>,
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
    /// The native explorer's memory model(s) [default: each scenario's `memory` list,
    /// else sc].
    #[arg(long, value_enum)]
    pub memory: Option<MemoryArg>,
    /// TSO: the stores a thread's buffer holds [default: the scenario's
    /// `tso.store_buffer`, else 2; from 1 to 8].
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=8))]
    pub store_buffer: Option<u8>,
    /// loom: the highest preemption bound of the iterative search [default: the
    /// scenario's `loom.max_preemptions`, else 3].
    #[arg(long)]
    pub loom_max_preemptions: Option<u32>,
    /// loom: one unbounded (exhaustive) search instead of iterative preemption bounding.
    #[arg(long)]
    pub loom_exhaustive: bool,
    /// loom: scheduling decisions allowed per execution [default: the scenario's
    /// `loom.max_branches`, else 10000].
    #[arg(long)]
    pub loom_max_branches: Option<u32>,
    /// shuttle: the scheduler [default: the scenario's `shuttle.scheduler`, else pct].
    #[arg(long, value_enum)]
    pub scheduler: Option<SchedulerArg>,
    /// shuttle: PCT's bug depth [default: the scenario's `shuttle.depth`, else 3].
    #[arg(long)]
    pub pct_depth: Option<u32>,
    /// shuttle: executions to run [default: the scenario's `shuttle.iterations`, else 1000].
    #[arg(long)]
    pub iterations: Option<u64>,
    /// shuttle: the seed of the random and PCT schedulers [default: the scenario's
    /// `shuttle.seed`, else 0]. Always printed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// shuttle: replay the counterexample of this token (printed with it) on the one
    /// scenario given, instead of searching.
    #[arg(long, value_name = "TOKEN")]
    pub replay: Option<String>,
    /// Internal: run the one scenario given on `--backend` (loom or shuttle) in this
    /// process and print its result as one JSON line; the parent wqcheck isolates those
    /// backends this way.
    #[arg(long, hide = true)]
    pub child: bool,
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

/// Run the CLI; returns the exit code.
pub fn run(args: &Args, out: &mut dyn Write) -> i32 {
    if args.child {
        return child::run(args, out);
    }
    if args.replay.is_some() && (args.paths.len() != 1 || args.paths[0].is_dir()) {
        let _ = writeln!(
            io::stderr(),
            "wqcheck: --replay replays one scenario: give the scenario file the token came from"
        );
        return exit::ERROR;
    }
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
        let mut events = Vec::new();
        // A bug in wqcheck must not take the other scenarios down with it.
        let loaded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| load(path)));
        match loaded {
            Ok(Ok(inst)) => {
                let engines = if args.replay.is_some() {
                    vec![Engine::Shuttle]
                } else {
                    backends_for(&inst, args)
                };
                for engine in engines {
                    let memories = match engine {
                        Engine::Native => memories_for(&inst, args),
                        Engine::Loom | Engine::Shuttle => vec![MemoryModel::Sc],
                    };
                    for memory in memories {
                        let result =
                            std::panic::catch_unwind(std::panic::AssertUnwindSafe(
                                || match engine {
                                    Engine::Native => check(inst.clone(), args, progress, memory),
                                    Engine::Loom | Engine::Shuttle => {
                                        child::check(path, &inst, args, engine, progress)
                                    }
                                },
                            ));
                        events.push(event_of(&name, result));
                    }
                }
            }
            Ok(Err(message)) => events.push(Event::Error {
                scenario: name.clone(),
                message,
            }),
            Err(p) => events.push(event_of(&name, Err(p))),
        }
        for event in events {
            match &event {
                Event::Result(r) if r.ok => passed += 1,
                Event::Result(_) => failed += 1,
                _ => {
                    errors += 1;
                    failed += 1;
                }
            }
            if reporter.report(&event, out).is_err() {
                return exit::ERROR;
            }
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

/// The event of one (scenario, backend) run.
fn event_of(name: &str, result: std::thread::Result<Result<RunReport, String>>) -> Event {
    match result {
        Ok(Ok(r)) => Event::Result(r),
        Ok(Err(message)) => Event::Error {
            scenario: name.to_string(),
            message,
        },
        Err(p) => Event::Error {
            scenario: name.to_string(),
            message: format!(
                "error: internal error while checking {name}: {}\n  = help: this is a bug in wqcheck; please report it with the scenario",
                wqcheck_threads::panic_text(&*p)
            ),
        },
    }
}
