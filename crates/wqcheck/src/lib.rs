//! The wqcheck command line: the only crate that touches files, terminals and JSON.
//!
//! `wqcheck [OPTIONS] <PATH>...` loads each scenario (a `.ron` file, or every `.ron` file
//! directly inside a directory), checks its model, runs it on each selected backend and
//! reports through one [`wqcheck_report::Reporter`]. Bad input is reported with
//! `file:line:col` and makes the exit code 2, but never stops the other scenarios from
//! being checked.
//!
//! The native explorer runs in this process ([`engines`]), on a worker thread. loom and
//! shuttle runs happen in a child process of this same executable ([`child`]): both report
//! failures by panicking, loom can abort the process, and neither may take the other
//! scenarios down.
//!
//! Each result is printed and flushed as soon as it is known, so a later failure (or an
//! interrupt) loses nothing that finished. SIGINT, SIGTERM and SIGHUP stop the run
//! ([`interrupt`]): the running child is killed, the summary says the run was interrupted,
//! and the exit code is [`exit::interrupted`], never a pass.
//!
//! Input files are read only when they are regular files, and only up to
//! [`MAX_SCENARIO_BYTES`] and [`MAX_MODEL_BYTES`]; file names are printed with their
//! control characters escaped ([`wqcheck_report::escape_name`]).

pub mod child;
pub mod engines;
pub mod interrupt;
pub mod jobs;
pub mod merge;
pub mod model_run;
pub mod progress;

use std::io::{self, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use wqcheck_model::ir::{Backend as Engine, Instance, MemoryModel};
use wqcheck_model::verdict::UNSTATED;
use wqcheck_report::{ErrorRecord, Event, RunReport};

use jobs::{jobs_for, start_jobs, Done, InOrder, Status};

pub use engines::{backends_for, check_native as check, memories_for};

/// Exit codes.
pub mod exit {
    /// Every scenario met its expectation.
    pub const OK: i32 = 0;
    /// Some scenario did not meet its expectation.
    pub const FAILED: i32 = 1;
    /// Usage error, bad input (RON, DSL, missing file) or an internal error.
    pub const ERROR: i32 = 2;
    /// Interrupted by SIGHUP (128 + the signal's number, as shells report it).
    pub const SIGHUP: i32 = 129;
    /// Interrupted by SIGINT (Ctrl-C).
    pub const SIGINT: i32 = 130;
    /// Interrupted by SIGTERM.
    pub const SIGTERM: i32 = 143;
    /// The output's reader went away (`wqcheck ... | head`): what a shell reports for a
    /// pipeline stage that SIGPIPE ended (128 + 13). The scenarios after it were not
    /// checked, so this is no success.
    pub const SIGPIPE: i32 = 141;

    /// The exit code of a run interrupted by `signal`: 128 + its number ([`SIGHUP`],
    /// [`SIGINT`], [`SIGTERM`]).
    pub fn interrupted(signal: i32) -> i32 {
        128 + signal
    }
}

/// The largest scenario file wqcheck reads (256 KiB; the largest in `scenarios/` has a
/// few KiB).
pub const MAX_SCENARIO_BYTES: u64 = 256 * 1024;
/// The largest model file wqcheck reads (1 MiB; the largest in `models/` has 15 KiB).
pub const MAX_MODEL_BYTES: u64 = 1024 * 1024;

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

/// `--color`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorArg {
    /// When the output is a terminal and `NO_COLOR` is unset or empty.
    Auto,
    Always,
    Never,
}

impl ColorArg {
    /// Whether the human output is coloured.
    fn on(self) -> bool {
        match self {
            ColorArg::Always => true,
            ColorArg::Never => false,
            ColorArg::Auto => {
                io::stdout().is_terminal()
                    && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            }
        }
    }
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
#[derive(Clone, Debug, clap::Parser)]
#[command(
    name = "wqcheck",
    version,
    about,
    long_about = None,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    // `wqcheck help` is answered in `run`, unless a file of that name is there.
    disable_help_subcommand = true
)]
pub struct Args {
    /// Scenario files (`.ron`), or directories whose `.ron` files are all checked.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
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
    /// half of the machine's memory shared among the jobs, less under an address-space
    /// limit].
    #[arg(long, value_name = "SIZE", value_parser = engines::parse_memory_mib)]
    pub max_memory: Option<u64>,
    /// Also write a JUnit XML report to FILE (one test suite per scenario, one test case
    /// per engine run, the trace in a failure's body), for CI test-result pages.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Also write a Markdown report to FILE: a table of every run and each trace as a
    /// table and a Mermaid sequence diagram (e.g. `--markdown "$GITHUB_STEP_SUMMARY"`).
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
    /// Also write GitHub Actions annotations to FILE (`::error file=...,line=...::`), one
    /// per unmet expectation, on the model line of its violation, and per scenario that
    /// could not be checked, where its error points. The runner reads them from a step's
    /// output: `-` writes them there, beside the human output (or `cat` the file in a
    /// step).
    #[arg(long, value_name = "FILE")]
    pub github_annotations: Option<PathBuf>,
    /// Colour the result marks (PASS, FAIL, ERROR, INFO): `auto` when the output is a
    /// terminal and `NO_COLOR` is not set.
    #[arg(long, value_enum, default_value_t = ColorArg::Auto, value_name = "WHEN")]
    pub color: ColorArg,
    /// Lay trace tables out for a terminal this many columns wide, wrapping long cells
    /// [default: the terminal's width when the output is one; else a fixed layout that
    /// cuts cells at 42 characters, the same everywhere].
    #[arg(long, value_name = "COLUMNS", value_parser = clap::value_parser!(u16).range(40..))]
    pub width: Option<u16>,
    /// After each trace, tell it step by step, each step with the model's source around
    /// the line it executed (human output).
    #[arg(long)]
    pub explain: bool,
    /// Check a model (`.wq`) given as PATH without a scenario: one thread running
    /// FUNCTION (with ARGs, integers or constants) per `--thread`, named NAME or after
    /// its function (`locker1`, `locker2` when several run it). Its results are
    /// explorations: reported, never failed. E.g. `wqcheck check
    /// models/classic/check-then-sleep.wq -t waiter -t waker`.
    #[arg(
        long = "thread",
        short = 't',
        value_name = "[NAME=]FUNCTION[(ARG,...)]"
    )]
    pub threads: Vec<String>,
    /// With `--thread`: a shared variable's, bit's or task pointer's initial value, as a
    /// scenario's `init` gives it (`--init PG_locked=1`, `--init k=kthread`; repeatable).
    #[arg(long, value_name = "NAME=VALUE")]
    pub init: Vec<String>,
    /// With `--thread`: a signal, sent once at any moment or never, to one of the threads
    /// THREAD,... (repeatable: one signal each).
    #[arg(long, value_name = "THREAD[,THREAD...]")]
    pub signal: Vec<String>,
    /// With `--thread`: a fatal signal (SIGKILL), sent once at any moment or never, to one
    /// of the threads THREAD,... (repeatable).
    #[arg(long, value_name = "THREAD[,THREAD...]")]
    pub fatal_signal: Vec<String>,
    /// Do not print traces, only result lines.
    #[arg(long, short)]
    pub quiet: bool,
    /// Check only the scenarios whose path contains TEXT (repeatable: any of them), e.g.
    /// `--filter kthread scenarios/`.
    #[arg(long, value_name = "TEXT")]
    pub filter: Vec<String>,
    /// Check this many scenarios at once [default: the machine's cores]. The output is the
    /// same whatever the number: results are printed in the order of the scenarios. The
    /// native explorer's default memory budget is shared among the jobs.
    #[arg(long, short = 'j', value_name = "N", value_parser = clap::value_parser!(u32).range(1..=MAX_JOBS as i64))]
    pub jobs: Option<u32>,
    /// Check only part K of N of the scenarios, for a CI matrix of N machines: the i-th
    /// scenario (counting from 1, after `--filter`) is in part ((i - 1) mod N) + 1, so
    /// `--partition 1/2` and `--partition 2/2` together check each scenario once.
    #[arg(long, value_name = "K/N", value_parser = parse_partition)]
    pub partition: Option<Partition>,
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
    /// scenario's `loom.max_preemptions`, else 3; at most 10].
    #[arg(long, value_parser = clap::value_parser!(u32).range(0..=wqcheck_dsl::MAX_LOOM_PREEMPTIONS as i64))]
    pub loom_max_preemptions: Option<u32>,
    /// loom: one unbounded (exhaustive) search instead of iterative preemption bounding.
    #[arg(long)]
    pub loom_exhaustive: bool,
    /// loom: scheduling decisions allowed per execution [default: the scenario's
    /// `loom.max_branches`, else 10000; at least 1].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub loom_max_branches: Option<u32>,
    /// shuttle: the scheduler [default: the scenario's `shuttle.scheduler`, else pct].
    #[arg(long, value_enum)]
    pub scheduler: Option<SchedulerArg>,
    /// shuttle: PCT's bug depth [default: the scenario's `shuttle.depth`, else 3; from 1
    /// to 10].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=wqcheck_dsl::MAX_SHUTTLE_DEPTH as i64))]
    pub pct_depth: Option<u32>,
    /// shuttle: executions to run [default: the scenario's `shuttle.iterations`, else
    /// 1000; from 1 to 10000000].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=wqcheck_dsl::MAX_SHUTTLE_ITERATIONS))]
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

/// The most `--jobs`.
pub const MAX_JOBS: u32 = 256;

/// `--partition K/N`: part `index` (from 1) of `count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Partition {
    pub index: u32,
    pub count: u32,
}

impl Partition {
    /// Whether the `i`-th scenario (from 0) is in this part.
    pub fn keeps(self, i: usize) -> bool {
        i % self.count as usize == (self.index - 1) as usize
    }
}

/// Parse `K/N`, 1 <= K <= N.
pub fn parse_partition(text: &str) -> Result<Partition, String> {
    let help = "give `K/N`: part K of N, from 1/N to N/N, e.g. `--partition 2/3`";
    let (k, n) = text
        .split_once('/')
        .ok_or_else(|| format!("`{text}` is not a partition: {help}"))?;
    let number = |x: &str| x.trim().parse::<u32>().ok();
    match (number(k), number(n)) {
        (Some(index), Some(count)) if count >= 1 && (1..=count).contains(&index) => {
            Ok(Partition { index, count })
        }
        _ => Err(format!("`{text}` is not a partition: {help}")),
    }
}

/// The paths in `part` (all of them without one); an error when it keeps none.
fn partitioned(paths: Vec<PathBuf>, part: Option<Partition>) -> Result<Vec<PathBuf>, String> {
    let Some(part) = part else {
        return Ok(paths);
    };
    let total = paths.len();
    let kept: Vec<PathBuf> = paths
        .into_iter()
        .enumerate()
        .filter(|(i, _)| part.keeps(*i))
        .map(|(_, p)| p)
        .collect();
    if kept.is_empty() {
        return Err(format!(
            "part {}/{} of {total} scenario(s) is empty: nothing to check",
            part.index, part.count
        ));
    }
    Ok(kept)
}

/// What wqcheck does other than checking scenarios.
#[derive(Clone, Debug, clap::Subcommand)]
pub enum Command {
    /// Join the JSON results of the parts of a partitioned run (each `wqcheck --format
    /// json --partition K/N ...`) into the JSON results of the whole run, and exit as the
    /// whole run would have.
    Merge {
        /// The parts' JSON Lines files, in part order (1/N first).
        #[arg(required = true, value_name = "PART")]
        files: Vec<PathBuf>,
    },
    /// Print a completion script for SHELL on stdout, e.g.
    /// `wqcheck completions bash > ~/.local/share/bash-completion/completions/wqcheck`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff) on stdout, e.g. `wqcheck man > wqcheck.1`.
    Man,
    /// List what a check of these scenarios would run, without running it: a line per
    /// scenario and engine run (the JUnit test cases), with the expected verdict.
    List {
        /// Scenario files (`.ron`), or directories whose `.ron` files are all listed.
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
    },
}

/// A path as wqcheck prints it: control characters escaped, so that a newline in a file
/// name cannot forge a line of the report.
pub fn display_name(path: &Path) -> String {
    wqcheck_report::escape_name(&path.display().to_string()).into_owned()
}

/// The scenario paths that contain one of `filters` (all of them when there is none); an
/// error when filters leave nothing, which is never a pass.
fn filtered(paths: Vec<PathBuf>, filters: &[String]) -> Result<Vec<PathBuf>, String> {
    if filters.is_empty() {
        return Ok(paths);
    }
    let kept: Vec<PathBuf> = paths
        .into_iter()
        .filter(|p| {
            let name = p.display().to_string();
            filters.iter().any(|f| name.contains(f.as_str()))
        })
        .collect();
    if kept.is_empty() {
        return Err(format!(
            "no scenario path contains {}: nothing to check",
            filters
                .iter()
                .map(|f| format!("`{f}`"))
                .collect::<Vec<_>>()
                .join(" or ")
        ));
    }
    Ok(kept)
}

/// Expand directories into their `.ron` files (sorted; not recursive).
pub fn expand_paths(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let rd = std::fs::read_dir(p).map_err(|e| format!("{}: {e}", display_name(p)))?;
            let mut v: Vec<PathBuf> = rd
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.extension().is_some_and(|x| x == "ron") && f.is_file())
                .collect();
            v.sort();
            if v.is_empty() {
                return Err(format!(
                    "{}: no .ron scenario files in this directory",
                    display_name(p)
                ));
            }
            out.extend(v);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

/// Why an input file was not read.
#[derive(Debug)]
pub enum InputError {
    /// It could not be opened or read (missing, no permission, not UTF-8 ...).
    Io(io::Error),
    /// It is not a regular file (a directory, a FIFO, a device, a socket): reading it could
    /// block for ever or never end.
    NotAFile(&'static str),
    /// It has more than the limit's bytes.
    TooLarge { limit: u64 },
}

/// `limit` bytes in words: `256 KiB`, `1 MiB`.
fn size_text(limit: u64) -> String {
    if limit >= 1 << 20 && limit.is_multiple_of(1 << 20) {
        format!("{} MiB", limit >> 20)
    } else if limit >= 1 << 10 && limit.is_multiple_of(1 << 10) {
        format!("{} KiB", limit >> 10)
    } else {
        format!("{limit} bytes")
    }
}

impl InputError {
    /// What went wrong, after "cannot read FILE: ".
    fn text(&self, what: &str) -> String {
        match self {
            InputError::Io(e) => e.to_string(),
            InputError::NotAFile(kind) => format!("it is {kind}, not a regular file"),
            InputError::TooLarge { limit } => format!(
                "it is larger than {}, the most wqcheck reads for a {what}",
                size_text(*limit)
            ),
        }
    }
}

/// What kind of non-regular file `t` is, for messages.
fn file_kind(t: std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    if t.is_dir() {
        "a directory"
    } else {
        "not a regular file"
    }
}

/// Read a text input file: only a regular file, and never more than `limit` + 1 bytes of
/// it (a file that grows while it is read, or lies about its size, cannot get past the
/// limit).
pub fn read_input(path: &Path, limit: u64) -> Result<String, InputError> {
    // Look before opening: opening a FIFO for reading blocks until a writer comes.
    let meta = std::fs::metadata(path).map_err(InputError::Io)?;
    if !meta.is_file() {
        return Err(InputError::NotAFile(file_kind(meta.file_type())));
    }
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    // Should the path have been swapped for a FIFO since, opening it must not block.
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(
        &mut options,
        rustix::fs::OFlags::NONBLOCK.bits() as i32,
    );
    let file = options.open(path).map_err(InputError::Io)?;
    let meta = file.metadata().map_err(InputError::Io)?;
    if !meta.is_file() {
        return Err(InputError::NotAFile(file_kind(meta.file_type())));
    }
    if meta.len() > limit {
        return Err(InputError::TooLarge { limit });
    }
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(InputError::Io)?;
    if bytes.len() as u64 > limit {
        return Err(InputError::TooLarge { limit });
    }
    String::from_utf8(bytes).map_err(|_| {
        InputError::Io(io::Error::new(
            io::ErrorKind::InvalidData,
            "stream did not contain valid UTF-8",
        ))
    })
}

/// Load and check one scenario and its model. Errors come back rendered, with
/// `file:line:col`, ready to print.
pub fn load(path: &Path) -> Result<Instance, String> {
    load_checked(path).map_err(|e| e.message)
}

/// Load what `path` names on this command line: a scenario, or a model (`.wq`) whose
/// threads `--thread` gives ([`model_run`]).
pub fn load_for(path: &Path, args: &Args) -> Result<Instance, LoadError> {
    if model_run::is_model(path) && model_run::given(args) {
        load_model_run(path, args)
    } else {
        load_checked(path)
    }
}

/// A model checked with the scenario the command line describes.
fn load_model_run(path: &Path, args: &Args) -> Result<Instance, LoadError> {
    let model_name = display_name(path);
    let scenario = model_run::scenario_text(path, args)
        .map_err(|m| LoadError::whole_file(model_run::COMMAND_LINE, m, None))?;
    let model_text = read_input(path, MAX_MODEL_BYTES).map_err(|e| {
        let message = format!("cannot read {model_name}: {}", e.text("model file"));
        LoadError::whole_file(&model_name, message, None)
    })?;
    let text_of = |f: &str| -> &str {
        if f == model_run::COMMAND_LINE {
            scenario.as_str()
        } else {
            wqcheck_dsl::prelude::text(f).unwrap_or(model_text.as_str())
        }
    };
    let file = wqcheck_dsl::parse_scenario(model_run::COMMAND_LINE, &scenario)
        .map_err(|d| LoadError::of(&d, text_of))?;
    let program = wqcheck_dsl::check_model(&model_name, &model_text)
        .map_err(|d| LoadError::of(&d, text_of))?;
    let mut inst =
        wqcheck_dsl::resolve_scenario(model_run::COMMAND_LINE, &scenario, &file, program)
            .map_err(|d| LoadError::of(&d, text_of))?;
    // Results name the model and the options, as a command would repeat them.
    inst.name = model_run::display(&model_name, args);
    Ok(inst)
}

/// Why a scenario could not be loaded: rendered for people, and one record per problem
/// for machines (JSON, annotations).
#[derive(Debug)]
pub struct LoadError {
    pub message: String,
    pub records: Vec<ErrorRecord>,
}

impl LoadError {
    /// A problem with `file` as a whole (no position), rendered as `error: MESSAGE` and
    /// `  = help: HELP`.
    fn whole_file(file: &str, message: String, help: Option<String>) -> LoadError {
        let rendered = match &help {
            Some(h) => format!("error: {message}\n  = help: {h}"),
            None => format!("error: {message}"),
        };
        LoadError {
            records: vec![ErrorRecord {
                file: file.to_string(),
                line: None,
                column: None,
                message,
                help,
            }],
            message: rendered,
        }
    }

    /// Diagnostics, rendered and as records; `text_of` gives each file's text. Records
    /// are bounded as the rendering is: the first `MAX_RENDERED_PER_FILE` of each file,
    /// messages and help cut to its line length (a flood of errors, or a 50,000-char
    /// name, stays a report of a few KiB).
    fn of<'a>(d: &[wqcheck_dsl::Diagnostic], text_of: impl Fn(&str) -> &'a str) -> LoadError {
        let mut per_file: std::collections::BTreeMap<&str, usize> = Default::default();
        let records = d
            .iter()
            .filter(|d| {
                let n = per_file.entry(d.file.as_str()).or_default();
                *n += 1;
                *n <= wqcheck_dsl::MAX_RENDERED_PER_FILE
            })
            .map(|d| {
                let (line, column) = d.line_col(text_of(&d.file));
                let (message, help) = wqcheck_dsl::bounded_text(d);
                ErrorRecord {
                    file: d.file.clone(),
                    line: Some(line),
                    column: Some(column),
                    message,
                    help,
                }
            })
            .collect();
        LoadError {
            message: wqcheck_dsl::render_all(d, text_of),
            records,
        }
    }
}

/// [`load`], with the problems also as records.
pub fn load_checked(path: &Path) -> Result<Instance, LoadError> {
    let name = display_name(path);
    let text = read_input(path, MAX_SCENARIO_BYTES).map_err(|e| {
        let help = match e {
            InputError::Io(_) => None,
            InputError::NotAFile(_) => {
                Some("give scenario files (`.ron`), or directories of them".into())
            }
            InputError::TooLarge { .. } => Some(
                "a scenario names a model, its threads and bounds in a few lines; is this the right file?".into(),
            ),
        };
        let message = format!("cannot read {name}: {}", e.text("scenario file"));
        LoadError::whole_file(&name, message, help)
    })?;
    if path.extension().is_some_and(|e| e == "wq") {
        let help = model_given_as_scenario(path, &name, &text);
        let message = format!("{name} is a model (`.wq`), not a scenario");
        return Err(LoadError::whole_file(&name, message, Some(help)));
    }
    let file =
        wqcheck_dsl::parse_scenario(&name, &text).map_err(|d| LoadError::of(&d, |_| &text))?;
    let model_path = path
        .parent()
        .unwrap_or_else(|| Path::new(""))
        .join(&file.model);
    let model_name = display_name(&model_path);
    let model_text = match read_input(&model_path, MAX_MODEL_BYTES) {
        Ok(t) => t,
        Err(e) => {
            let help = match e {
                InputError::TooLarge { .. } => {
                    "a model is a protocol of a few hundred lines; is `model:` the right file?"
                }
                _ => {
                    "`model:` is a path relative to the scenario file, e.g. \"../models/linux/page-lock-v4.13.wq\""
                }
            };
            let d = wqcheck_dsl::Diagnostic {
                file: name.clone(),
                span: file.model_span,
                message: format!(
                    "cannot read the model file {model_name}: {}",
                    e.text("model file")
                ),
                help: Some(help.into()),
            };
            return Err(LoadError::of(&[d], |_| &text));
        }
    };
    // A diagnostic's file: the scenario, a prelude header, or the model.
    let text_of = |f: &str| -> &str {
        if f == name {
            text.as_str()
        } else {
            wqcheck_dsl::prelude::text(f).unwrap_or(model_text.as_str())
        }
    };
    let program = wqcheck_dsl::check_model(&model_name, &model_text)
        .map_err(|d| LoadError::of(&d, text_of))?;
    wqcheck_dsl::resolve_scenario(&name, &text, &file, program)
        .map_err(|d| LoadError::of(&d, text_of))
}

/// The help for a model (`.wq`) given where a scenario belongs: what a scenario is, and
/// one for this model to start from (its thread bodies, when it checks).
fn model_given_as_scenario(path: &Path, name: &str, text: &str) -> String {
    let file = path
        .file_name()
        .map_or_else(|| name.to_string(), |f| f.to_string_lossy().into_owned());
    let bodies = wqcheck_dsl::check_model(name, text)
        .map(|p| {
            wqcheck_dsl::top_level_thread_bodies(&p)
                .into_iter()
                .take(4)
                .map(String::from)
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let threads = if bodies.is_empty() {
        "Thread(name: \"thread1\", run: \"FUNCTION\")".to_string()
    } else {
        bodies
            .iter()
            .map(|b| format!("Thread(name: \"{b}\", run: \"{b}\")"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let flags = if bodies.is_empty() {
        "-t FUNCTION -t FUNCTION".to_string()
    } else {
        bodies
            .iter()
            .map(|b| format!("-t {b}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    format!(
        "give its threads to check it directly, e.g. `wqcheck check {name} {flags}` (the results are reported, not checked against an `expect`); or save a scenario, which names a model and says who runs what, next to the model, e.g.\n\n        Scenario(\n            model: {file:?},\n            threads: [{threads}],\n        )\n\n    and run it: without `expect` it reports what the protocol does (docs/dsl.md §10)"
    )
}

/// Options the command line accepts one by one but not together; `None` when fine.
fn usage_error(args: &Args) -> Option<&'static str> {
    if model_run::given(args) && args.paths.iter().any(|p| !model_run::is_model(p)) {
        return Some(
            "--thread, --init, --signal and --fatal-signal describe a model (`.wq`) given directly; a scenario (`.ron`) says it itself",
        );
    }
    if args.replay.is_some() && (args.paths.len() != 1 || args.paths[0].is_dir()) {
        return Some("--replay replays one scenario: give the scenario file the token came from");
    }
    // As in a scenario file, where `depth` with another scheduler is an error.
    if args.pct_depth.is_some()
        && matches!(
            args.scheduler,
            Some(SchedulerArg::Random | SchedulerArg::Dfs)
        )
    {
        return Some(
            "--pct-depth is PCT's bug depth: use it with --scheduler pct, or leave it out",
        );
    }
    // A report on the output would break the JSON Lines around it.
    let on_output = [&args.junit, &args.markdown, &args.github_annotations]
        .into_iter()
        .any(|p| p.as_deref() == Some(Path::new("-")));
    if on_output && args.format == Format::Json {
        return Some(
            "a report written to `-` shares the output, which --format json keeps for JSON Lines: give the report a file",
        );
    }
    None
}

/// How often the run loop looks at the interrupt flag while it waits for results.
const POLL: Duration = Duration::from_millis(20);
/// How long an interrupted run waits for the thread running a child to have reaped it.
const REAP_PATIENCE: Duration = Duration::from_secs(2);

/// Run the CLI; returns the exit code.
///
/// The scenarios are checked on a worker thread, which sends each event as soon as it is
/// known; this thread prints them. When the run is interrupted, this thread stops waiting
/// (a native search in progress cannot be stopped and is abandoned with the process),
/// kills the running child, prints what had finished and the summary.
pub fn run(args: &Args, out: &mut dyn Write) -> i32 {
    if args.child {
        return child::run(args, out);
    }
    match &args.command {
        Some(Command::Merge { files }) => return merge::run(files, out),
        Some(Command::Completions { shell }) => {
            let mut cmd = <Args as clap::CommandFactory>::command();
            clap_complete::generate(*shell, &mut cmd, "wqcheck", out);
            return exit::OK;
        }
        Some(Command::List { paths }) => return list(paths, out),
        Some(Command::Man) => {
            let cmd = <Args as clap::CommandFactory>::command();
            return match clap_mangen::Man::new(cmd).render(out) {
                Ok(()) => exit::OK,
                Err(e) => output_lost(&e),
            };
        }
        None => {}
    }
    // `wqcheck help`, where no file of that name is: what `--help` prints.
    if args.paths.len() == 1 && args.paths[0] == Path::new("help") && !args.paths[0].exists() {
        let help = <Args as clap::CommandFactory>::command().render_long_help();
        let _ = write!(out, "{help}");
        return exit::OK;
    }
    // `wqcheck check PATH...`, where no file `check` is: the same as `wqcheck PATH...`.
    if args
        .paths
        .first()
        .is_some_and(|p| p == Path::new("check") && !p.exists())
    {
        if args.paths.len() == 1 {
            let _ = writeln!(
                io::stderr(),
                "wqcheck: `check` takes scenarios (`.ron`) or a model (`.wq`) with its threads, e.g. `wqcheck check models/classic/check-then-sleep.wq -t waiter -t waker`"
            );
            return exit::ERROR;
        }
        let mut rest = args.clone();
        rest.paths.remove(0);
        return run(&rest, out);
    }
    if let Some(e) = usage_error(args) {
        let _ = writeln!(io::stderr(), "wqcheck: {e}");
        return exit::ERROR;
    }
    let mut reporter: Box<dyn wqcheck_report::Reporter> = match args.format {
        Format::Human => Box::new(wqcheck_report::Human {
            traces: !args.quiet,
            color: args.color.on(),
            width: args.width.map(usize::from).or_else(terminal_width),
            ..Default::default()
        }),
        Format::Json => Box::new(wqcheck_report::JsonLines),
    };
    // The report files, opened before any work so that a wrong path costs nothing.
    let mut sinks: Vec<FileSink> = Vec::new();
    let files: [(&Option<PathBuf>, Box<dyn wqcheck_report::Reporter>); 3] = [
        (&args.junit, Box::new(wqcheck_report::JUnit::default())),
        (
            &args.markdown,
            Box::new(wqcheck_report::Markdown::default()),
        ),
        (
            &args.github_annotations,
            Box::new(wqcheck_report::GithubAnnotations),
        ),
    ];
    for (path, reporter) in files {
        let Some(path) = path else { continue };
        // `-`: the output itself, through the same handle, so the lines interleave
        // in order (opening /dev/stdout would truncate a file the output goes to).
        if path == Path::new("-") {
            sinks.push((reporter, path.clone(), None));
            continue;
        }
        match std::fs::File::create(path) {
            Ok(f) => sinks.push((reporter, path.clone(), Some(f))),
            Err(e) => {
                let _ = writeln!(
                    io::stderr(),
                    "wqcheck: cannot write the report {}: {e}",
                    display_name(path)
                );
                return exit::ERROR;
            }
        }
    }
    let paths = match expand_paths(&args.paths)
        .and_then(|p| filtered(p, &args.filter))
        .and_then(|p| partitioned(p, args.partition))
    {
        Ok(p) => p,
        Err(e) => {
            let _ = writeln!(io::stderr(), "wqcheck: {e}");
            return exit::ERROR;
        }
    };
    // Without the handlers a signal ends wqcheck the default way: nothing is lost but
    // the summary, and the children still die with it.
    let _ = interrupt::install();
    let progress = args.progress || (io::stderr().is_terminal() && args.format == Format::Human);
    let jobs = jobs_for(args, paths.len());
    // Before any job runs (see the function).
    let _ = engines::default_max_memory_mib();
    let (tx, rx) = mpsc::channel::<Done>();
    let mut worker_args = args.clone();
    worker_args.jobs = Some(jobs as u32);
    if let Err(e) = start_jobs(paths.clone(), worker_args, jobs, progress, tx) {
        let _ = writeln!(io::stderr(), "wqcheck: cannot start a thread: {e}");
        return exit::ERROR;
    }
    let mut status = Status::new(progress && jobs > 1, paths);
    let mut in_order = InOrder::default();
    let (mut passed, mut failed, mut errors, mut explored) = (0, 0, 0, 0);
    let explain = args.explain && args.format == Format::Human && !args.quiet;
    // The models' texts, read once each, for `--explain`.
    let mut sources: std::collections::BTreeMap<String, Option<String>> = Default::default();
    let mut report = |event: &Event, out: &mut dyn Write| -> io::Result<()> {
        match event {
            Event::Result(r) if r.expected == UNSTATED => explored += 1,
            Event::Result(r) if r.ok => passed += 1,
            Event::Result(_) => failed += 1,
            _ => errors += 1,
        }
        report_to_files(&mut sinks, event, out);
        reporter.report(event, out)?;
        if let (true, Event::Result(r)) = (explain, event) {
            write!(out, "{}", explained(r, &mut sources))?;
        }
        out.flush()
    };
    let interrupted = loop {
        if let Some(sig) = interrupt::received() {
            break Some(sig);
        }
        match rx.recv_timeout(POLL) {
            Ok(done) => {
                for event in in_order.push(done) {
                    status.clear();
                    if let Err(e) = report(&event, out) {
                        interrupt::stop_children(REAP_PATIENCE);
                        return output_lost(&e);
                    }
                }
                status.show(in_order.next);
            }
            Err(mpsc::RecvTimeoutError::Timeout) => status.show(in_order.next),
            // The jobs also stop on an interrupt, maybe before this thread saw it.
            Err(mpsc::RecvTimeoutError::Disconnected) => break interrupt::received(),
        }
    };
    if interrupted.is_some() {
        interrupt::stop_children(REAP_PATIENCE);
        // Results that finished before the signal and were not printed yet, in the
        // scenarios' order.
        let mut left: Vec<Event> = rx.try_iter().flat_map(|d| in_order.push(d)).collect();
        left.extend(in_order.rest());
        for event in left {
            if let Err(e) = report(&event, out) {
                return output_lost(&e);
            }
        }
    }
    status.clear();
    let summary = Event::Summary {
        passed,
        failed,
        errors,
        explored,
        interrupted: interrupted.map(interrupt::signal_name),
    };
    let files_written = report_to_files(&mut sinks, &summary, out);
    let _ = reporter.report(&summary, out);
    let _ = out.flush();
    if !files_written && interrupted.is_none() {
        return exit::ERROR;
    }
    if let Some(sig) = interrupted {
        exit::interrupted(sig)
    } else if errors > 0 {
        exit::ERROR
    } else if failed > 0 {
        exit::FAILED
    } else {
        exit::OK
    }
}

/// The width of the terminal the output goes to, if it goes to one.
fn terminal_width() -> Option<usize> {
    #[cfg(unix)]
    {
        let out = io::stdout();
        if !out.is_terminal() {
            return None;
        }
        let size = rustix::termios::tcgetwinsize(&out).ok()?;
        (size.ws_col >= 40).then_some(usize::from(size.ws_col))
    }
    #[cfg(not(unix))]
    None
}

/// `--explain` for one result: its trace step by step with the source of each step.
fn explained(
    r: &RunReport,
    sources: &mut std::collections::BTreeMap<String, Option<String>>,
) -> String {
    if r.trace.is_empty() {
        return String::new();
    }
    let model = sources
        .entry(r.model.clone())
        .or_insert_with(|| read_input(Path::new(&r.model), MAX_MODEL_BYTES).ok());
    let model = model.as_deref();
    let text = wqcheck_report::explain::explain(r, |file| match file {
        None => model,
        Some(f) => wqcheck_dsl::prelude::text(f),
    });
    format!("{text}\n")
}

/// A report file and its printer (`--junit`, `--markdown`, `--github-annotations`); no
/// file for `-`, the output.
type FileSink = (
    Box<dyn wqcheck_report::Reporter>,
    PathBuf,
    Option<std::fs::File>,
);

/// Give `event` to every report file; `false` (said on stderr) when one could not be
/// written, which makes the run an error: a CI job must not read an old or cut report.
fn report_to_files(sinks: &mut [FileSink], event: &Event, out: &mut dyn Write) -> bool {
    let mut ok = true;
    for (sink, path, file) in sinks {
        let written = match file {
            Some(f) => sink.report(event, f).and_then(|()| f.flush()),
            None => sink.report(event, out),
        };
        if let Err(e) = written {
            ok = false;
            let _ = writeln!(
                io::stderr(),
                "wqcheck: cannot write the report {}: {e}",
                display_name(path)
            );
        }
    }
    ok
}

/// The exit code of a run whose output cannot be written: [`exit::SIGPIPE`], silently,
/// when the reader went away (`| head`: it asked for no more); any other write error is
/// an error, said on stderr.
pub(crate) fn output_lost(e: &io::Error) -> i32 {
    if e.kind() == io::ErrorKind::BrokenPipe {
        exit::SIGPIPE
    } else {
        let _ = writeln!(io::stderr(), "wqcheck: cannot write the output: {e}");
        exit::ERROR
    }
}

/// Check one scenario file on each of its engines, sending each event as soon as it is
/// known. Returns `false` when the run should stop (interrupted, or nobody listens).
fn check_path(path: &Path, args: &Args, progress: bool, send: &dyn Fn(Event) -> bool) -> bool {
    let name = display_name(path);
    let stopped = || interrupt::received().is_some();
    if stopped() {
        return false;
    }
    // A bug in wqcheck must not take the other scenarios down with it.
    let loaded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| load_for(path, args)));
    let inst = match loaded {
        Ok(Ok(inst)) => inst,
        Ok(Err(e)) => {
            return send(Event::Error {
                scenario: name,
                message: e.message,
                records: e.records,
            })
        }
        Err(p) => return send(event_of(&name, Err(p))),
    };
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
            if stopped() {
                return false;
            }
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match engine {
                Engine::Native => check(inst.clone(), args, progress, memory),
                Engine::Loom | Engine::Shuttle => child::check(path, &inst, args, engine, progress),
            }));
            // A child killed by the interrupt has no result; one that finished has.
            if matches!(&result, Ok(Err(m)) if m == child::INTERRUPTED) {
                return false;
            }
            if !send(event_of(&name, result)) {
                return false;
            }
        }
    }
    true
}

/// The event of one (scenario, backend) run.
fn event_of(name: &str, result: std::thread::Result<Result<RunReport, String>>) -> Event {
    match result {
        Ok(Ok(r)) => Event::Result(r),
        Ok(Err(message)) => Event::Error {
            scenario: name.to_string(),
            message,
            records: Vec::new(),
        },
        Err(p) => Event::Error {
            scenario: name.to_string(),
            records: Vec::new(),
            message: format!(
                "error: internal error while checking {name}: {}\n  = help: this is a bug in wqcheck; please report it with the scenario",
                wqcheck_threads::panic_text(&*p)
            ),
        },
    }
}

/// `wqcheck list PATH...`: a line per scenario and engine run it would check (what
/// `--backend`, `--memory`, `--filter` and `--partition` would leave is for the check
/// itself), with the verdict each expects, in the order a check prints them. A scenario
/// that does not load is reported as a check would, and makes the exit code 2.
fn list(paths: &[PathBuf], out: &mut dyn Write) -> i32 {
    let paths = match expand_paths(paths) {
        Ok(p) => p,
        Err(e) => {
            let _ = writeln!(io::stderr(), "wqcheck: {e}");
            return exit::ERROR;
        }
    };
    let defaults = <Args as clap::Parser>::parse_from(["wqcheck", "-"]);
    let mut rows: Vec<[String; 3]> = Vec::new();
    let mut errors = Vec::new();
    for path in &paths {
        match load_checked(path) {
            Ok(inst) => {
                for engine in backends_for(&inst, &defaults) {
                    let runs: Vec<(String, wqcheck_model::ir::Expectation)> = match engine {
                        Engine::Native => memories_for(&inst, &defaults)
                            .into_iter()
                            .map(|m| (format!("native {}", m.name()), inst.expect_native(m)))
                            .collect(),
                        _ => vec![(engine.name().to_string(), inst.expect_on(engine))],
                    };
                    for (run, expect) in runs {
                        let expect = match wqcheck_model::verdict::expectation_name(expect) {
                            UNSTATED => "(no expect)".to_string(),
                            e => e.to_string(),
                        };
                        rows.push([display_name(path), run, expect]);
                    }
                }
            }
            Err(e) => errors.push(e.message),
        }
    }
    let width = |k: usize| rows.iter().map(|r| r[k].chars().count()).max().unwrap_or(0);
    let (w0, w1) = (width(0), width(1));
    let mut text = String::new();
    for [scenario, run, expect] in &rows {
        text += &format!("{scenario:<w0$}  {run:<w1$}  {expect}\n");
    }
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        return output_lost(&e);
    }
    for e in &errors {
        let _ = writeln!(io::stderr(), "{e}");
    }
    if errors.is_empty() {
        exit::OK
    } else {
        exit::ERROR
    }
}
