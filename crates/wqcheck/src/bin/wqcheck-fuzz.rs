//! `wqcheck-fuzz`: a mutation fuzzer for wqcheck's whole input path (docs/fuzzing.md).
//!
//! It takes the valid scenarios of the repository (`scenarios/**`, the DSL's valid
//! fixtures) with their models, mutates them (byte flips; token insertions, deletions and
//! duplications from the DSL's and RON's token lists; number boundary values; huge names;
//! deep nesting; line-ending changes; repeated threads and signals; splices of two
//! inputs), writes each mutant to a work directory and runs it in this process through the
//! `wqcheck` library: `wqcheck::load` (read, parse, check, resolve), then the native
//! explorer under tight budgets. Every `--cli-every`th mutant also goes through the real
//! `wqcheck` binary as a child process (loom, shuttle or native, a 2 s budget, sometimes a
//! boundary command-line value).
//!
//! Each mutant must pass every check, else it is a failure, saved under `OUT/failures/`:
//! - no panic (each run is under `catch_unwind`) and no internal error;
//! - no run over 10 s of wall time (a watchdog saves a mutant that runs longer);
//! - budgets honoured: elapsed at most budget + 1 s, states at most `max_states`, and a
//!   search cut short by a budget is `Inconclusive`, never `Holds`;
//! - no verdict for input that fails to parse: `load` accepts a mutant only if the front
//!   end alone accepts its scenario and its model, and the binary prints no result and
//!   exits 2 for a mutant `load` rejected;
//! - a bounded error report (at most 256 KB), whatever the input;
//! - the binary rejects (exit 2) a command-line value that the scenario file would reject.
//!
//! The run is deterministic for a seed: mutant `i` depends only on the seed and `i`, so
//! `--seed S --only I` reproduces one. At the end it prints the seed, mutants per second,
//! the count of each outcome, and the slowest mutant (saved under `OUT/slowest/`); the exit
//! code is 0 when no check failed.
//!
//! `--corpus DIR` runs the regression corpus instead (each entry: a directory with
//! `scenario.ron`, its model(s), optionally `args`, command-line arguments one per line,
//! and `expect`, lines `exit N`, `contains TEXT` or `max-bytes N` about the binary's
//! output), with the same checks.

use std::collections::BTreeMap;
use std::io::Read;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Parser;
use wqcheck_model::ir::{Instance, MemoryModel};
use wqcheck_model::verdict::Verdict;

#[derive(Debug, clap::Parser)]
#[command(
    name = "wqcheck-fuzz",
    about = "Mutation fuzzer for wqcheck (docs/fuzzing.md)"
)]
struct Opts {
    /// Mutants to run.
    #[arg(long, default_value_t = 10_000)]
    mutants: u64,
    /// The seed; mutant `i` depends only on the seed and `i`.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Run only mutant `I` of the seed (to reproduce a failure).
    #[arg(long, value_name = "I")]
    only: Option<u64>,
    /// Run every N-th mutant through the wqcheck binary too (0: never).
    #[arg(long, default_value_t = 100, value_name = "N")]
    cli_every: u64,
    /// The wqcheck binary [default: `wqcheck` next to this executable].
    #[arg(long)]
    wqcheck: Option<PathBuf>,
    /// The repository whose scenarios and models are mutated [default: this crate's].
    #[arg(long)]
    root: Option<PathBuf>,
    /// Where failures, the slowest mutant and the work directory go.
    #[arg(long, default_value = "target/fuzz")]
    out: PathBuf,
    /// Run the regression corpus in this directory instead of mutants.
    #[arg(long, value_name = "DIR")]
    corpus: Option<PathBuf>,
    /// The native explorer's state budget for each mutant (a smaller scenario budget is
    /// kept).
    #[arg(long, default_value_t = 20_000)]
    max_states: u64,
    /// The time budget, in seconds, of each run (a smaller scenario budget is kept).
    #[arg(long, default_value_t = 2)]
    max_seconds: u64,
    /// Print each failure as it is found (default: the first 10).
    #[arg(long)]
    verbose: bool,
}

/// A run longer than this is a failure (a hang), whatever its budget.
const HANG: Duration = Duration::from_secs(10);
/// The slack over a time budget that still counts as honouring it.
const SLACK: Duration = Duration::from_secs(1);
/// The largest error report accepted for one input.
const MAX_REPORT_BYTES: usize = 256 * 1024;

// ------------------------------------------------------------------ randomness

/// SplitMix64: small, fast, and the same everywhere (no dependency, no global state).
struct Rng(u64);

impl Rng {
    fn for_mutant(seed: u64, i: u64) -> Rng {
        let mut r = Rng(seed ^ i.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        r.next();
        r
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (0 when `n == 0`).
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }

    fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        items.get(self.below(items.len()))
    }
}

// ------------------------------------------------------------------ inputs

/// One valid scenario and its model, the scenario's model path replaced by `model.wq`.
#[derive(Clone)]
struct Base {
    label: String,
    scenario: Vec<u8>,
    model: Vec<u8>,
}

/// The `model: "..."` path of a scenario text.
fn model_path(scenario: &str) -> Option<(usize, usize)> {
    let k = scenario.find("model:")?;
    let open = k + scenario.get(k..)?.find('"')? + 1;
    let close = open + scenario.get(open..)?.find('"')?;
    Some((open, close))
}

fn ron_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            ron_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "ron") {
            out.push(p);
        }
    }
}

/// Every valid scenario under `root` with its model (those that do not load are left
/// out: they would not be valid seeds).
fn bases(root: &Path) -> Vec<Base> {
    let mut files = Vec::new();
    ron_files(&root.join("scenarios"), &mut files);
    ron_files(
        &root.join("crates/wqcheck-dsl/tests/fixtures/valid"),
        &mut files,
    );
    let mut out = Vec::new();
    for f in files {
        if wqcheck::load(&f).is_err() {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&f) else {
            continue;
        };
        let Some((a, b)) = model_path(&text) else {
            continue;
        };
        let model_file = f
            .parent()
            .unwrap_or(Path::new(""))
            .join(text.get(a..b).unwrap_or(""));
        let Ok(model) = std::fs::read(&model_file) else {
            continue;
        };
        let scenario = format!(
            "{}model.wq{}",
            text.get(..a).unwrap_or(""),
            text.get(b..).unwrap_or("")
        );
        let label = f.strip_prefix(root).unwrap_or(&f).display().to_string();
        out.push(Base {
            label,
            scenario: scenario.into_bytes(),
            model,
        });
    }
    out
}

// ------------------------------------------------------------------ mutations

const DSL_TOKENS: &[&str] = &[
    "(",
    ")",
    "{",
    "}",
    "[",
    "]",
    ";",
    ",",
    "&",
    "*",
    "->",
    ".",
    "=",
    "==",
    "!=",
    "!",
    "?",
    ":",
    "++",
    "--",
    "+=",
    "<<",
    ">>",
    "<",
    ">",
    "..",
    "&&",
    "||",
    "~",
    "^",
    "|",
    "%",
    "/",
    "atomic",
    "goto",
    "break",
    "continue",
    "return",
    "while",
    "for",
    "do",
    "if",
    "else",
    "int",
    "int<0..3>",
    "int<-2147483648..2147483647>",
    "bit",
    "bool",
    "unsigned",
    "long",
    "void",
    "const",
    "waitqueue",
    "futex",
    "until",
    "assert",
    "final",
    "true",
    "false",
    "struct",
    "task_struct",
    "wait_queue_entry_t",
    "q",
    "wq",
    "PG_locked",
    "current",
    "NULL",
    "DEFINE_WAIT(wait);",
    "&wait",
    "schedule();",
    "wake_up(q);",
    "wake_up_all(q);",
    "spin_lock_irq(&q->lock);",
    "spin_unlock_irq(&q->lock);",
    "spinlock_t l;",
    "raw_spinlock_t",
    "DEFINE_SPINLOCK(l);",
    "spin_lock(&l);",
    "raw_spin_unlock(&l);",
    "unsigned long w { B, C };",
    "wait_on_bit(&w, B, TASK_UNINTERRUPTIBLE);",
    "wait_on_bit_io(",
    "wake_up_bit(&w, B);",
    "clear_and_wake_up_bit(B, &w);",
    "wait_on_bit_lock(&w, B, TASK_KILLABLE);",
    "int<0..2> v;",
    "wait_var_event(&v, v == 0);",
    "wait_var_event_timeout(&v, v, HZ)",
    "wake_up_var(&v);",
    "unsigned long ws[2] { D };",
    "wait_on_bit(&ws[i], D, TASK_UNINTERRUPTIBLE);",
    "wake_up_var(&v[1]);",
    "atomic_dec_and_test(&v)",
    "#include <linux/mutex.h>",
    "struct mutex m;",
    "mutex_lock(&m);",
    "mutex_unlock(&m);",
    "set_current_state(TASK_UNINTERRUPTIBLE);",
    "prepare_to_wait(q, &wait, TASK_INTERRUPTIBLE);",
    "finish_wait(q, &wait);",
    "smp_mb();",
    "signal_pending(current)",
    "fatal_signal_pending(current)",
    "futex_wait(",
    "futex_wake(",
    "atomic { ",
    "label:",
    "goto label;",
    "0x7fffffff",
    "0xffffffff",
    "99999999999",
    "-2147483648",
    "/*",
    "*/",
    "//",
    "#",
    "\"",
    "'",
    "é",
    "\u{1b}[2J",
    "\0",
    "\n",
    "\r",
    "\r\n",
    "\t",
    " ",
];

const RON_TOKENS: &[&str] = &[
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ",",
    ":",
    "\"",
    "Scenario",
    "Thread",
    "Signal",
    "name",
    "run",
    "args",
    "target",
    "fatal",
    "expect",
    "Holds",
    "LostWakeup",
    "Deadlock",
    "AssertionFailed",
    "NoViolationFound",
    "Inconclusive",
    "init",
    "bounds",
    "max_states",
    "max_seconds",
    "backends",
    "Native",
    "Loom",
    "Shuttle",
    "loom",
    "shuttle",
    "max_preemptions",
    "max_branches",
    "exhaustive",
    "scheduler",
    "Random",
    "Pct",
    "Dfs",
    "depth",
    "iterations",
    "seed",
    "memory",
    "Sc",
    "Tso",
    "tso",
    "store_buffer",
    "actors",
    "model",
    "Some",
    "None",
    "true",
    "false",
    "-1",
    "0",
    "1",
    "1e9",
    "1.5",
    "18446744073709551615",
    "18446744073709551616",
    "//",
    "/*",
    "*/",
    "r#\"",
    "\\",
    "\\u{1b}",
    "é",
    "\n",
    "\r",
    "\r\n",
    " ",
];

/// Boundary values for numbers.
const NUMBERS: &[&str] = &[
    "0",
    "1",
    "2",
    "-1",
    "3",
    "7",
    "8",
    "9",
    "10",
    "11",
    "16",
    "17",
    "255",
    "256",
    "65535",
    "65536",
    "2147483647",
    "2147483648",
    "-2147483648",
    "-2147483649",
    "4294967295",
    "4294967296",
    "9223372036854775807",
    "9223372036854775808",
    "18446744073709551584",
    "18446744073709551615",
    "18446744073709551616",
    "0x7fffffff",
    "0xffffffffffffffff",
];

/// Positions of runs of bytes matching `f` (start, end).
fn runs(text: &[u8], f: impl Fn(u8) -> bool) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < text.len() {
        if text.get(i).is_some_and(|b| f(*b)) {
            let s = i;
            while text.get(i).is_some_and(|b| f(*b)) {
                i += 1;
            }
            out.push((s, i));
        } else {
            i += 1;
        }
    }
    out
}

fn line_spans(text: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut s = 0;
    for (i, b) in text.iter().enumerate() {
        if *b == b'\n' {
            out.push((s, i + 1));
            s = i + 1;
        }
    }
    if s < text.len() {
        out.push((s, text.len()));
    }
    out
}

fn splice(text: &mut Vec<u8>, at: usize, len: usize, with: &[u8]) {
    let at = at.min(text.len());
    let end = (at + len).min(text.len());
    text.splice(at..end, with.iter().copied());
}

/// A count for repetitions: mostly small, sometimes at the limits the checker knows.
fn count(rng: &mut Rng) -> usize {
    *rng.pick(&[1, 2, 3, 15, 16, 17, 50, 199, 200, 201, 1_000, 10_000])
        .unwrap_or(&1)
}

/// One mutation of `text` (`other` is another input of the same kind, for splicing).
/// Returns its name, for the outcome counts.
fn mutate(rng: &mut Rng, text: &mut Vec<u8>, other: &[u8], tokens: &[&str]) -> &'static str {
    let len = text.len();
    match rng.below(14) {
        0 => {
            let i = rng.below(len);
            if let Some(b) = text.get_mut(i) {
                *b ^= 1 << rng.below(8);
            }
            "flip"
        }
        1 | 2 => {
            let t = rng.pick(tokens).copied().unwrap_or(" ");
            splice(text, rng.below(len + 1), 0, t.as_bytes());
            "insert"
        }
        3 => {
            let n = 1 + rng.below(40);
            splice(text, rng.below(len), n, b"");
            "delete"
        }
        4 => {
            let t = rng.pick(tokens).copied().unwrap_or(" ");
            let n = 1 + rng.below(8);
            splice(text, rng.below(len), n, t.as_bytes());
            "replace"
        }
        5 => {
            // Duplicate a range, possibly many times.
            let a = rng.below(len);
            let b = (a + 1 + rng.below(200)).min(len);
            let piece = text.get(a..b).unwrap_or(&[]).to_vec();
            let times = if rng.chance(4) { count(rng) } else { 1 };
            let rep = piece.repeat(times.min(1 + 2_000_000 / piece.len().max(1)));
            splice(text, b, 0, &rep);
            "duplicate"
        }
        6 => {
            let nums = runs(text, |b| b.is_ascii_digit());
            if let Some((a, b)) = rng.pick(&nums).copied() {
                let v = rng.pick(NUMBERS).copied().unwrap_or("0");
                // Keep a minus sign before the number, or not.
                let a = if a > 0 && text.get(a - 1) == Some(&b'-') && rng.chance(2) {
                    a - 1
                } else {
                    a
                };
                splice(text, a, b - a, v.as_bytes());
            }
            "number"
        }
        7 => {
            // A huge name: an identifier grown, or a new one, up to 50,000 chars.
            let ids = runs(text, |b| b.is_ascii_alphabetic() || b == b'_');
            let n = *rng.pick(&[65, 100, 1_000, 10_000, 50_000]).unwrap_or(&100);
            let c = b"xyz_q"[rng.below(5)];
            if let Some((a, b)) = rng.pick(&ids).copied() {
                let mut name = text.get(a..b).unwrap_or(&[]).to_vec();
                name.resize(n, c);
                splice(text, a, b - a, &name);
            }
            "huge-name"
        }
        8 => {
            let d = count(rng);
            let (open, mid, close): (&str, &str, &str) = match rng.below(5) {
                0 => ("(", "1", ")"),
                1 => ("{", "", "}"),
                2 => ("[", "", "]"),
                3 => ("if (1) ", ";", ""),
                _ => ("!", "1", ""),
            };
            let nest = format!("{}{mid}{}", open.repeat(d), close.repeat(d));
            splice(text, rng.below(len + 1), 0, nest.as_bytes());
            "nesting"
        }
        9 => {
            let to: &[u8] = match rng.below(3) {
                0 => b"\r\n",
                1 => b"\r",
                _ => b"\n\n",
            };
            let mut out = Vec::with_capacity(len + len / 8);
            let all = rng.chance(2);
            for b in text.iter() {
                if *b == b'\n' && (all || rng.chance(3)) {
                    out.extend_from_slice(to);
                } else {
                    out.push(*b);
                }
            }
            *text = out;
            "line-ends"
        }
        10 => {
            let a = rng.below(len + 1);
            let b = rng.below(other.len() + 1);
            text.truncate(a);
            text.extend_from_slice(other.get(b..).unwrap_or(&[]));
            "splice"
        }
        11 => {
            // Repeat a line (a thread, a signal, a statement, a declaration).
            let lines = line_spans(text);
            if let Some((a, b)) = rng.pick(&lines).copied() {
                let line = text.get(a..b).unwrap_or(&[]).to_vec();
                let rep = line.repeat(count(rng));
                splice(text, b, 0, &rep);
            }
            "repeat-line"
        }
        12 => {
            let lines = line_spans(text);
            if let (Some(x), Some(y)) = (rng.pick(&lines).copied(), rng.pick(&lines).copied()) {
                let (x, y) = if x.0 <= y.0 { (x, y) } else { (y, x) };
                if x.1 <= y.0 {
                    let lx = text.get(x.0..x.1).unwrap_or(&[]).to_vec();
                    let ly = text.get(y.0..y.1).unwrap_or(&[]).to_vec();
                    splice(text, y.0, y.1 - y.0, &lx);
                    splice(text, x.0, x.1 - x.0, &ly);
                }
            }
            "swap-lines"
        }
        _ => {
            let a = rng.below(len + 1);
            let mut junk = Vec::new();
            for _ in 0..1 + rng.below(16) {
                junk.push(rng.next() as u8);
            }
            splice(text, a, 0, &junk);
            "bytes"
        }
    }
}

/// A mutant: the texts to write, and what was done.
struct Mutant {
    base: String,
    scenario: Vec<u8>,
    model: Vec<u8>,
    mutations: Vec<&'static str>,
    /// Extra command-line arguments for the binary run.
    cli_args: Vec<String>,
    /// Keep the scenario's own `max_seconds` in process even when it is larger than
    /// `--max-seconds` (huge values must not overflow; the state budget keeps the run
    /// short).
    own_seconds: bool,
}

fn make_mutant(rng: &mut Rng, bases: &[Base]) -> Option<Mutant> {
    let base = rng.pick(bases)?;
    let other = rng.pick(bases)?;
    let mut scenario = base.scenario.clone();
    let mut model = base.model.clone();
    let mut mutations = Vec::new();
    let (in_scenario, in_model) = match rng.below(10) {
        0..=3 => (true, false),
        4..=8 => (false, true),
        _ => (true, true),
    };
    let n = 1 + rng.below(3);
    for _ in 0..n {
        if in_scenario {
            mutations.push(mutate(rng, &mut scenario, &other.scenario, RON_TOKENS));
        }
        if in_model {
            mutations.push(mutate(rng, &mut model, &other.model, DSL_TOKENS));
        }
    }
    Some(Mutant {
        base: base.label.clone(),
        scenario,
        model,
        mutations,
        cli_args: cli_args(rng),
        own_seconds: rng.chance(4),
    })
}

/// The binary's options for one run: an engine, the time budget, and sometimes a
/// boundary value of another option.
fn cli_args(rng: &mut Rng) -> Vec<String> {
    let engine = *rng
        .pick(&["loom", "shuttle", "shuttle", "native"])
        .unwrap_or(&"shuttle");
    let mut v = vec!["--backend".to_string(), engine.to_string()];
    if rng.chance(3) {
        let (opt, vals): (&str, &[&str]) = match rng.below(8) {
            0 => ("--pct-depth", &["0", "1", "10", "11", "4294967295"]),
            1 => ("--iterations", &["0", "1", "2", "10000000", "10000001"]),
            2 => ("--seed", &["0", "1", "18446744073709551615"]),
            3 => (
                "--loom-max-preemptions",
                &["0", "1", "10", "11", "4294967295"],
            ),
            4 => ("--loom-max-branches", &["0", "1", "4294967295"]),
            5 => ("--scheduler", &["random", "pct", "dfs"]),
            6 => ("--max-seconds", &["0", "1"]),
            _ => ("--max-states", &["0", "1", "2", "18446744073709551615"]),
        };
        v.push(opt.to_string());
        v.push(rng.pick(vals).copied().unwrap_or("0").to_string());
    }
    v
}

/// Whether the scenario file would reject this command-line option's value (the
/// binary must reject it too: issue 9, "CLI values validated exactly like scenario
/// values").
fn scenario_would_reject(args: &[String]) -> Option<String> {
    let mut it = args.iter();
    while let Some(opt) = it.next() {
        let Some(val) = it.clone().next() else {
            break;
        };
        let n: Option<u64> = val.parse().ok();
        let bad = match (opt.as_str(), n) {
            ("--pct-depth", Some(d)) => d == 0 || d > u64::from(wqcheck_dsl::MAX_SHUTTLE_DEPTH),
            ("--iterations", Some(i)) => i == 0 || i > wqcheck_dsl::MAX_SHUTTLE_ITERATIONS,
            ("--loom-max-preemptions", Some(p)) => p > u64::from(wqcheck_dsl::MAX_LOOM_PREEMPTIONS),
            ("--loom-max-branches", Some(b)) => b == 0,
            _ => false,
        };
        if bad {
            return Some(format!("{opt} {val}"));
        }
    }
    None
}

// ------------------------------------------------------------------ running

/// What became of one input.
#[derive(Default)]
struct Outcome {
    /// Outcome names for the counts (`rejected`, a verdict per memory model, ...).
    kinds: Vec<String>,
    /// Failed checks.
    failures: Vec<String>,
    /// Wall time of the in-process run.
    elapsed: Duration,
    /// Whether `load` rejected the input.
    rejected: bool,
}

/// The message of the last panic, with where it happened (the hook records it).
static PANIC: Mutex<Option<String>> = Mutex::new(None);

fn panic_text() -> String {
    PANIC
        .lock()
        .ok()
        .and_then(|mut p| p.take())
        .unwrap_or_else(|| "a panic".to_string())
}

fn is_internal(msg: &str) -> bool {
    msg.contains("internal error") || msg.contains("bug in wqcheck") || msg.contains("internal:")
}

/// Loads and checks the input in `dir` (`scenario.ron` and its model) in this process.
fn run_in_process(
    dir: &Path,
    opts: &Opts,
    scenario: &[u8],
    model: &[u8],
    own_seconds: bool,
) -> Outcome {
    let mut o = Outcome::default();
    let path = dir.join("scenario.ron");
    let start = Instant::now();
    let loaded = catch_unwind(AssertUnwindSafe(|| wqcheck::load(&path)));
    // What the front end alone says of the two texts.
    let front_end_ok = || -> bool {
        let (Ok(s), Ok(m)) = (std::str::from_utf8(scenario), std::str::from_utf8(model)) else {
            return false;
        };
        wqcheck_dsl::parse_scenario("s.ron", s).is_ok()
            && wqcheck_dsl::check_model("m.wq", m).is_ok()
    };
    match loaded {
        Err(_) => {
            o.kinds.push("panic".into());
            o.failures
                .push(format!("panic while loading: {}", panic_text()));
        }
        Ok(Err(msg)) => {
            o.rejected = true;
            o.kinds.push("rejected".into());
            if is_internal(&msg) {
                o.failures
                    .push(format!("internal error while loading: {msg}"));
            }
            if msg.len() > MAX_REPORT_BYTES {
                o.failures.push(format!(
                    "error report of {} bytes (at most {MAX_REPORT_BYTES})",
                    msg.len()
                ));
            }
        }
        Ok(Ok(inst)) => {
            if !catch_unwind(front_end_ok).unwrap_or(false) {
                o.failures
                    .push("load accepted a scenario or model that the front end rejects".into());
            }
            run_native(inst, opts, own_seconds, &mut o);
        }
    }
    o.elapsed = start.elapsed();
    if o.elapsed > HANG {
        o.failures.push(format!(
            "ran {:.1} s (over {} s)",
            o.elapsed.as_secs_f64(),
            HANG.as_secs()
        ));
    }
    o
}

/// The native explorer on every memory model the scenario lists, with the budgets
/// capped.
fn run_native(inst: Instance, opts: &Opts, own_seconds: bool, o: &mut Outcome) {
    let max_states = inst
        .bounds
        .max_states
        .map_or(opts.max_states, |s| s.min(opts.max_states));
    let max_seconds = inst.bounds.max_seconds.map_or(opts.max_seconds, |s| {
        if own_seconds {
            s
        } else {
            s.min(opts.max_seconds)
        }
    });
    let args = match wqcheck::Args::try_parse_from([
        "wqcheck",
        "--max-states",
        &max_states.to_string(),
        "--max-seconds",
        &max_seconds.to_string(),
        "unused.ron",
    ]) {
        Ok(a) => a,
        Err(e) => {
            o.failures.push(format!("harness: bad arguments: {e}"));
            return;
        }
    };
    for memory in wqcheck::memories_for(&inst, &args) {
        let start = Instant::now();
        let r = catch_unwind(AssertUnwindSafe(|| {
            wqcheck::check(inst.clone(), &args, false, memory)
        }));
        let took = start.elapsed();
        let mem = if memory == MemoryModel::Tso {
            "tso"
        } else {
            "sc"
        };
        match r {
            Err(_) => {
                o.kinds.push("panic".into());
                o.failures.push(format!(
                    "panic in the native explorer ({mem}): {}",
                    panic_text()
                ));
            }
            Ok(Err(msg)) => {
                o.kinds.push("native-error".into());
                if is_internal(&msg) {
                    o.failures.push(format!("internal error ({mem}): {msg}"));
                }
            }
            Ok(Ok(report)) => {
                o.kinds.push(format!("{}", report.verdict));
                if took > Duration::from_secs(max_seconds).saturating_add(SLACK) {
                    o.failures.push(format!(
                        "native ({mem}) ran {:.2} s with max_seconds={max_seconds}",
                        took.as_secs_f64()
                    ));
                }
                if report.states > max_states {
                    o.failures.push(format!(
                        "native ({mem}) visited {} states with max_states={max_states}",
                        report.states
                    ));
                }
                if report.budget_hit.is_some() && report.verdict != Verdict::Inconclusive {
                    o.failures.push(format!(
                        "native ({mem}): {} although a budget stopped the search ({})",
                        report.verdict,
                        report.budget_hit.as_deref().unwrap_or("")
                    ));
                }
                if report.verdict == Verdict::Holds && report.states == 0 {
                    o.failures
                        .push(format!("native ({mem}): Holds after exploring no state"));
                }
            }
        }
    }
}

/// What the binary did.
struct CliRun {
    code: Option<i32>,
    output: String,
    wall: Duration,
}

/// Runs the binary with a hard wall-clock limit (killed past [`HANG`] + 5 s).
fn run_cli(exe: &Path, args: &[String], scenario: &Path) -> std::io::Result<CliRun> {
    let start = Instant::now();
    let mut child = Command::new(exe)
        .args(args)
        .arg(scenario)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    // Drain both pipes on threads, so that a chatty child never blocks on a full pipe.
    let mut out_pipe = child.stdout.take();
    let mut err_pipe = child.stderr.take();
    let out_t = std::thread::spawn(move || {
        let mut s = Vec::new();
        if let Some(p) = out_pipe.as_mut() {
            let _ = p.take(64 << 20).read_to_end(&mut s);
        }
        s
    });
    let err_t = std::thread::spawn(move || {
        let mut s = Vec::new();
        if let Some(p) = err_pipe.as_mut() {
            let _ = p.take(64 << 20).read_to_end(&mut s);
        }
        s
    });
    let limit = HANG + Duration::from_secs(5);
    let code = loop {
        if let Some(status) = child.try_wait()? {
            break status.code();
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let wall = start.elapsed();
    let mut output = String::from_utf8_lossy(&out_t.join().unwrap_or_default()).into_owned();
    output.push_str(&String::from_utf8_lossy(&err_t.join().unwrap_or_default()));
    Ok(CliRun { code, output, wall })
}

/// The binary on the input in `dir`: the checks of one run. `rejected`: whether `load`
/// rejected the input in this process.
fn check_cli(
    exe: &Path,
    dir: &Path,
    args: &[String],
    rejected: Option<bool>,
    budget: u64,
    o: &mut Outcome,
) -> Option<CliRun> {
    let mut full: Vec<String> = vec!["--format".into(), "json".into()];
    full.extend(args.iter().cloned());
    if !args.iter().any(|a| a == "--max-seconds") {
        full.push("--max-seconds".into());
        full.push(budget.to_string());
    }
    let budget = args
        .iter()
        .position(|a| a == "--max-seconds")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(budget);
    let run = match run_cli(exe, &full, &dir.join("scenario.ron")) {
        Ok(r) => r,
        Err(e) => {
            o.failures
                .push(format!("cannot run {}: {e}", exe.display()));
            return None;
        }
    };
    let what = full.join(" ");
    o.kinds.push(match run.code {
        Some(c) => format!("cli-exit-{c}"),
        None => "cli-killed".into(),
    });
    match run.code {
        Some(0..=2) => {}
        Some(c) => o.failures.push(format!("`wqcheck {what}` exited {c}")),
        None => o.failures.push(format!(
            "`wqcheck {what}` ran {:.1} s and was killed (or died of a signal)",
            run.wall.as_secs_f64()
        )),
    }
    if run.wall > HANG {
        o.failures.push(format!(
            "`wqcheck {what}` ran {:.1} s (over {} s)",
            run.wall.as_secs_f64(),
            HANG.as_secs()
        ));
    }
    if is_internal(&run.output) {
        let line = run
            .output
            .lines()
            .find(|l| is_internal(l))
            .unwrap_or("")
            .chars()
            .take(300)
            .collect::<String>();
        o.failures
            .push(format!("`wqcheck {what}`: internal error: {line}"));
    }
    if run.output.len() > MAX_REPORT_BYTES * 4 {
        o.failures.push(format!(
            "`wqcheck {what}` printed {} bytes",
            run.output.len()
        ));
    }
    let mut results = 0;
    for line in run.output.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if v.get("type").and_then(|t| t.as_str()) != Some("result") {
            continue;
        }
        results += 1;
        let ms = v.get("elapsed_ms").and_then(|m| m.as_f64()).unwrap_or(0.0);
        if Duration::from_secs_f64(ms.max(0.0) / 1000.0)
            > Duration::from_secs(budget).saturating_add(SLACK)
        {
            let backend = v.get("backend").and_then(|b| b.as_str()).unwrap_or("?");
            o.failures.push(format!(
                "`wqcheck {what}`: {backend} ran {:.2} s with max_seconds={budget}",
                ms / 1000.0
            ));
        }
    }
    if rejected == Some(true) && (results > 0 || run.code != Some(2)) {
        o.failures.push(format!(
            "`wqcheck {what}` printed {results} result(s) and exited {:?} for input that does not load",
            run.code
        ));
    }
    if let Some(bad) = scenario_would_reject(args) {
        if rejected == Some(false) && run.code != Some(2) {
            o.failures.push(format!(
                "`wqcheck {what}` accepted `{bad}`, which a scenario file may not set (exit {:?})",
                run.code
            ));
        }
    }
    Some(run)
}

// ------------------------------------------------------------------ bookkeeping

/// Watches the in-process runs: a mutant still running past [`HANG`] is saved and
/// reported at once (it cannot be stopped; past 5 minutes the fuzzer exits).
struct Watchdog {
    current: Mutex<Option<(u64, Instant)>>,
}

fn save(dir: &Path, scenario: &[u8], model: &[u8], note: &str) {
    let _ = std::fs::create_dir_all(dir);
    let _ = std::fs::write(dir.join("scenario.ron"), scenario);
    let _ = std::fs::write(dir.join("model.wq"), model);
    let _ = std::fs::write(dir.join("README"), note);
}

fn write_input(dir: &Path, scenario: &[u8], model: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("scenario.ron"), scenario)?;
    std::fs::write(dir.join("model.wq"), model)
}

/// The mutant that took longest in process.
struct Slowest {
    elapsed: Duration,
    index: u64,
    base: String,
    scenario: Vec<u8>,
    model: Vec<u8>,
}

struct Tally {
    outcomes: BTreeMap<String, u64>,
    mutations: BTreeMap<&'static str, u64>,
    failures: u64,
    failure_kinds: BTreeMap<String, u64>,
    slowest: Option<Slowest>,
    cli_runs: u64,
    slowest_cli: Option<(Duration, String)>,
}

/// The kind of a failure message, for the summary: its text up to the first digit or
/// quote, so that "ran 12.3 s" and "ran 14.1 s" count together.
fn failure_kind(f: &str) -> String {
    let cut = f
        .find(|c: char| c.is_ascii_digit() || c == '`' || c == ':')
        .unwrap_or(f.len());
    f.get(..cut).unwrap_or(f).trim().to_string()
}

/// This process's user + system CPU time (Linux `/proc/self/stat`, 100 ticks a second),
/// to tell the fuzzer's own speed from a busy machine's.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<u64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 here (0-based
    // after the state field at index 0).
    (f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0)) as f64 / 100.0
}

fn main() -> ExitCode {
    let opts = Opts::parse();
    // Panics are caught per run; record them instead of printing Rust's panic text.
    std::panic::set_hook(Box::new(|info| {
        if let Ok(mut p) = PANIC.lock() {
            *p = Some(info.to_string());
        }
    }));
    let root = opts
        .root
        .clone()
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."));
    let exe = opts.wqcheck.clone().unwrap_or_else(|| {
        std::env::current_exe()
            .ok()
            .and_then(|p| p.parent().map(|d| d.join("wqcheck")))
            .unwrap_or_else(|| PathBuf::from("wqcheck"))
    });
    if let Some(corpus) = &opts.corpus {
        return run_corpus(&opts, corpus, &exe);
    }
    let bases = bases(&root);
    if bases.is_empty() {
        eprintln!(
            "wqcheck-fuzz: no valid scenario under {} (use --root)",
            root.display()
        );
        return ExitCode::from(2);
    }
    let work = opts.out.join("work");
    let watchdog = Arc::new(Watchdog {
        current: Mutex::new(None),
    });
    {
        let w = Arc::clone(&watchdog);
        let out = opts.out.clone();
        let work = work.clone();
        std::thread::spawn(move || {
            let mut reported = None;
            loop {
                std::thread::sleep(Duration::from_millis(500));
                let cur = w.current.lock().ok().and_then(|c| *c);
                let Some((i, since)) = cur else { continue };
                let t = since.elapsed();
                if t > HANG && reported != Some(i) {
                    reported = Some(i);
                    let dest = out.join(format!("hang-{i}"));
                    let s = std::fs::read(work.join("scenario.ron")).unwrap_or_default();
                    let m = std::fs::read(work.join("model.wq")).unwrap_or_default();
                    save(
                        &dest,
                        &s,
                        &m,
                        &format!("mutant {i} still running after {} s\n", t.as_secs()),
                    );
                    eprintln!(
                        "wqcheck-fuzz: mutant {i} has run {} s; saved in {}",
                        t.as_secs(),
                        dest.display()
                    );
                }
                if t > Duration::from_secs(300) {
                    eprintln!("wqcheck-fuzz: mutant {i} ran 300 s; giving up");
                    std::process::exit(3);
                }
            }
        });
    }
    println!(
        "wqcheck-fuzz: seed {}, {} mutants of {} scenarios, budgets max_states={} max_seconds={}, the binary every {} mutants ({})",
        opts.seed,
        opts.mutants,
        bases.len(),
        opts.max_states,
        opts.max_seconds,
        opts.cli_every,
        exe.display()
    );
    let mut tally = Tally {
        outcomes: BTreeMap::new(),
        mutations: BTreeMap::new(),
        failures: 0,
        failure_kinds: BTreeMap::new(),
        slowest: None,
        cli_runs: 0,
        slowest_cli: None,
    };
    let start = Instant::now();
    let range = match opts.only {
        Some(i) => i..i + 1,
        None => 0..opts.mutants,
    };
    let mut done = 0u64;
    for i in range {
        let mut rng = Rng::for_mutant(opts.seed, i);
        let Some(m) = make_mutant(&mut rng, &bases) else {
            continue;
        };
        if let Err(e) = write_input(&work, &m.scenario, &m.model) {
            eprintln!("wqcheck-fuzz: cannot write {}: {e}", work.display());
            return ExitCode::from(2);
        }
        if let Ok(mut c) = watchdog.current.lock() {
            *c = Some((i, Instant::now()));
        }
        let mut o = run_in_process(&work, &opts, &m.scenario, &m.model, m.own_seconds);
        if let Ok(mut c) = watchdog.current.lock() {
            *c = None;
        }
        if opts.cli_every > 0 && i % opts.cli_every == 0 {
            tally.cli_runs += 1;
            if let Some(run) = check_cli(
                &exe,
                &work,
                &m.cli_args,
                Some(o.rejected),
                opts.max_seconds,
                &mut o,
            ) {
                if tally
                    .slowest_cli
                    .as_ref()
                    .is_none_or(|(t, _)| run.wall > *t)
                {
                    tally.slowest_cli = Some((
                        run.wall,
                        format!("mutant {i}: wqcheck {}", m.cli_args.join(" ")),
                    ));
                }
            }
        }
        done += 1;
        for k in &o.kinds {
            *tally.outcomes.entry(k.clone()).or_default() += 1;
        }
        for k in &m.mutations {
            *tally.mutations.entry(k).or_default() += 1;
        }
        if tally.slowest.as_ref().is_none_or(|s| o.elapsed > s.elapsed) {
            tally.slowest = Some(Slowest {
                elapsed: o.elapsed,
                index: i,
                base: m.base.clone(),
                scenario: m.scenario.clone(),
                model: m.model.clone(),
            });
        }
        if !o.failures.is_empty() {
            tally.failures += 1;
            for f in &o.failures {
                *tally.failure_kinds.entry(failure_kind(f)).or_default() += 1;
            }
            let dest = opts.out.join("failures").join(format!("{i}"));
            let note = format!(
                "wqcheck-fuzz --seed {} --only {i}\nbase: {}\nmutations: {}\nbinary: wqcheck {}\n\n{}\n",
                opts.seed,
                m.base,
                m.mutations.join(", "),
                m.cli_args.join(" "),
                o.failures.join("\n")
            );
            save(&dest, &m.scenario, &m.model, &note);
            if opts.verbose || tally.failures <= 10 {
                println!(
                    "FAIL mutant {i} ({}; {}): {} [saved in {}]",
                    m.base,
                    m.mutations.join(", "),
                    o.failures.join("; ").chars().take(600).collect::<String>(),
                    dest.display()
                );
            }
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "wqcheck-fuzz: seed {}: {done} mutants in {secs:.1} s ({:.0} mutants/s; {:.1} s of CPU in this process), {} through the binary",
        opts.seed,
        done as f64 / secs.max(1e-9),
        cpu_seconds(),
        tally.cli_runs
    );
    let list = |m: &BTreeMap<String, u64>| {
        m.iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!("  outcomes: {}", list(&tally.outcomes));
    println!(
        "  mutations: {}",
        tally
            .mutations
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if let Some(Slowest {
        elapsed: t,
        index: i,
        base,
        scenario,
        model,
    }) = &tally.slowest
    {
        let dest = opts.out.join("slowest");
        save(
            &dest,
            scenario,
            model,
            &format!(
                "wqcheck-fuzz --seed {} --only {i}\nbase: {base}\n{:.3} s\n",
                opts.seed,
                t.as_secs_f64()
            ),
        );
        println!(
            "  slowest in process: mutant {i} ({base}), {:.3} s, saved in {}",
            t.as_secs_f64(),
            dest.display()
        );
    }
    if let Some((t, what)) = &tally.slowest_cli {
        println!("  slowest binary run: {what}, {:.3} s", t.as_secs_f64());
    }
    if tally.failures == 0 {
        println!("  failures: 0");
        ExitCode::SUCCESS
    } else {
        println!(
            "  failures: {} mutants ({}), saved in {}",
            tally.failures,
            list(&tally.failure_kinds),
            opts.out.join("failures").display()
        );
        ExitCode::from(1)
    }
}

// ------------------------------------------------------------------ the corpus

/// Runs every corpus entry (a directory) in process and through the binary; prints one
/// line per entry and fails if any check or expectation fails.
fn run_corpus(opts: &Opts, corpus: &Path, exe: &Path) -> ExitCode {
    let mut entries: Vec<PathBuf> = match std::fs::read_dir(corpus) {
        Ok(rd) => rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_dir())
            .collect(),
        Err(e) => {
            eprintln!("wqcheck-fuzz: {}: {e}", corpus.display());
            return ExitCode::from(2);
        }
    };
    entries.sort();
    let mut failed = 0;
    for dir in &entries {
        let name = dir.file_name().unwrap_or_default().to_string_lossy();
        let scenario = std::fs::read(dir.join("scenario.ron")).unwrap_or_default();
        let model_name = std::str::from_utf8(&scenario)
            .ok()
            .and_then(|s| model_path(s).and_then(|(a, b)| s.get(a..b)))
            .unwrap_or("model.wq")
            .to_string();
        let model = std::fs::read(dir.join(&model_name)).unwrap_or_default();
        let args: Vec<String> = std::fs::read_to_string(dir.join("args"))
            .unwrap_or_default()
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_string)
            .collect();
        let expect = std::fs::read_to_string(dir.join("expect")).unwrap_or_default();
        let mut o = run_in_process(dir, opts, &scenario, &model, false);
        let run = check_cli(exe, dir, &args, Some(o.rejected), opts.max_seconds, &mut o);
        if let Some(run) = &run {
            for line in expect
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
            {
                let (what, arg) = line.split_once(' ').unwrap_or((line, ""));
                let ok = match what {
                    "exit" => run.code.map(|c| c.to_string()).as_deref() == Some(arg),
                    "contains" => run.output.contains(arg),
                    "max-bytes" => arg.parse::<usize>().is_ok_and(|n| run.output.len() <= n),
                    _ => false,
                };
                if !ok {
                    o.failures.push(format!(
                        "expected `{line}`; got exit {:?}, {} bytes: {}",
                        run.code,
                        run.output.len(),
                        run.output.chars().take(400).collect::<String>()
                    ));
                }
            }
        }
        let wall = run.as_ref().map_or(0.0, |r| r.wall.as_secs_f64());
        if o.failures.is_empty() {
            println!(
                "ok   {name}: {} (in process {:.3} s, binary {wall:.3} s)",
                o.kinds.join(", "),
                o.elapsed.as_secs_f64()
            );
        } else {
            failed += 1;
            println!("FAIL {name}: {}", o.failures.join("; "));
        }
    }
    println!(
        "wqcheck-fuzz: corpus {}: {} entries, {failed} failed",
        corpus.display(),
        entries.len()
    );
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
