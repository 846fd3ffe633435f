//! `wqcheck-memory-bench [--sections native,loom,shuttle] [--loom-seconds S] [--seeds N]
//! [--iterations M] [--jobs J]`: what the memory-map rewrite costs and buys, in three
//! tables (wqcheck issue 15).
//!
//! 1. **native: sequential consistency vs x86-TSO.** For the page-lock scenarios and two
//!    store-buffering examples, the native explorer's verdict, distinct states and seconds
//!    under SC and under TSO (each scenario's `tso.store_buffer`, else
//!    `wqcheck_dsl::DEFAULT_STORE_BUFFER`), and the ratio of TSO to SC states. Each search
//!    uses the scenario's own bounds and stops at the first violation (the explorer's
//!    default, not `--full`), so the states are the states until the verdict: a ratio
//!    between a search that found a violation and one that did not compares unequal work.
//!    A verdict that does not meet the scenario's expectation for that memory model (its
//!    `expect`, under TSO its `tso.expect` if given) is flagged.
//! 2. **loom: executions per preemption bound.** The SPIN-granularity model of page-lock
//!    variant (b) with 2 lockers and the kernel-faithful model of the same variant, each run
//!    on loom with `max_preemptions` = 0, 1 and 2, every (scenario, bound) a search of its
//!    own in a child process of this executable (loom can abort the process). The crate
//!    runs one loom search per bound 0, 1, ..., b, so its `executions` count is cumulative
//!    over bounds 0..b; the table also prints the difference between consecutive runs, which
//!    is the executions of the bound-b search alone (loom's own count for that bound, the
//!    figure a hand-written loom model reports). A signal with several targets is one loom
//!    search per target at each bound, the counts summed. Beside them: the reference
//!    figures of issue 15, and the executions of `wqcheck_loom::hand_written` (a
//!    hand-written loom model of the spin model, in this repository) at the same bound,
//!    with the ratio. A run that reaches `--loom-seconds` is reported as Inconclusive.
//! 3. **shuttle: speed and random find rate.** `wqcheck-shuttle-bench` (next to this
//!    executable) on the headline 2017 race and on the same race at SPIN's granularity,
//!    with both schedulers, its table as it prints it, then the reference line.
//!
//! Everything but the timings is deterministic. The figures are read by a person, never
//! checked by timed tests: the machines this runs on are shared and noisy. Run it from the
//! repository root (scenario paths are relative to the current directory).
//!
//! Exit code: 0; 1 when a verdict does not meet its scenario's expectation (flagged
//! `UNEXPECTED` in the table; a budget that ran out is reported, not flagged); 2 on bad
//! usage, a missing or broken scenario, a failed child process or a missing
//! `wqcheck-shuttle-bench`.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use wqcheck_model::ir::{Backend, Expectation, Instance, MemoryModel};
use wqcheck_model::verdict::expectation_name;
use wqcheck_model::{Model, Verdict};

/// Section 1: the page-lock scenarios, then the two store-buffering examples.
const NATIVE_SCENARIOS: [&str; 9] = [
    "scenarios/linux-4.13-rc6-lock-page-killable.ron",
    "scenarios/linux-4.13-rc6-eintr-wakeup.ron",
    "scenarios/linux-4.13-lock-page-killable.ron",
    "scenarios/linux-4.13-lock-page-killable-3-lockers.ron",
    "scenarios/linux-5.9-lock-page-killable.ron",
    "scenarios/linux-5.9-lock-page-killable-unfair.ron",
    "scenarios/linux-5.9-page-writeback.ron",
    "scenarios/classic-waitqueue-active-no-barrier.ron",
    "scenarios/classic-set-current-state-no-barrier.ron",
];

/// Section 2: page-lock variant (b), 2 lockers, at SPIN's granularity.
const LOOM_SPIN: &str = "scenarios/spin/lockpage-b-n2.ron";
/// Section 2: the kernel-faithful model of the same variant.
const LOOM_FAITHFUL: &str = "scenarios/linux-4.13-rc6-eintr-wakeup.ron";
/// Section 2: the preemption bounds run, each as a search of its own.
const LOOM_BOUNDS: [u32; 3] = [0, 1, 2];

/// Section 3: the headline 2017 race, and the same race at SPIN's granularity (fewer steps
/// per locker: how a model's granularity changes what random scheduling finds).
const SHUTTLE_SCENARIOS: [&str; 2] = [
    "scenarios/linux-4.13-rc6-lock-page-killable.ron",
    "scenarios/spin/lockpage-a-n2.ron",
];

// Reference figures: measured by the author on this machine, wqcheck issue 15.
/// A hand-written loom model of page-lock (b), 2 lockers: (preemption bound, executions).
const REF_HAND_WRITTEN_LOOM: [(u32, u64); 2] = [(1, 40), (2, 835)];
/// wqcheck before the memory-map rewrite, the SPIN-granularity model: (bound, executions).
const REF_BEFORE_SPIN: [(u32, u64); 2] = [(1, 634), (2, 48_206)];
/// wqcheck before the memory-map rewrite, the faithful model: (bound, executions).
const REF_BEFORE_FAITHFUL: [(u32, u64); 1] = [(2, 170_561)];
/// Section 3's reference line (issue 15).
const REF_SHUTTLE: &str = "issue 15 reference: hand-written shuttle model ~53,000 executions/s, random finds the headline in 20/20 seeds (median 1,126 executions); wqcheck before: ~23,000 executions/s, random 0/20 seeds in 100,000 executions; goals: >= 0.7x the hand-written speed, random finds the headline";

/// Extra wall-clock time a loom child gets past its own budget before it is killed.
const GRACE: Duration = Duration::from_secs(30);

const USAGE: &str = "usage: wqcheck-memory-bench [--sections native,loom,shuttle] [--loom-seconds S] [--seeds N] [--iterations M] [--jobs J]
  --sections LIST   the sections to run, comma-separated, of native, loom, shuttle (default: all)
  --loom-seconds S  the time budget of each loom run, one (scenario, bound) (default 300)
  --seeds N         shuttle: seeds 0..N of each scheduler (default 20)
  --iterations M    shuttle: the iteration budget of each seed (default 100000)
  --jobs J          shuttle: seeds run at once (passed to wqcheck-shuttle-bench; default: its own, 1)
Run it from the repository root: the scenarios are read from scenarios/ in the current directory.";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Section {
    Native,
    Loom,
    Shuttle,
}

struct Args {
    sections: Vec<Section>,
    loom_seconds: u64,
    seeds: u64,
    iterations: u64,
    jobs: Option<u64>,
}

fn parse_args(raw: &[String]) -> Result<Args, String> {
    let mut a = Args {
        sections: vec![Section::Native, Section::Loom, Section::Shuttle],
        loom_seconds: 300,
        seeds: 20,
        iterations: 100_000,
        jobs: None,
    };
    let mut it = raw.iter().cloned();
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut text = |name: &str| -> Result<String, String> {
            inline
                .clone()
                .or_else(|| it.next())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        let positive = |name: &str, v: String| -> Result<u64, String> {
            match v.parse::<u64>() {
                Ok(n) if n >= 1 => Ok(n),
                _ => Err(format!("{name} takes a positive integer, not `{v}`")),
            }
        };
        match flag.as_str() {
            "--sections" => {
                let v = text("--sections")?;
                let mut sections = Vec::new();
                for s in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    let section = match s {
                        "native" => Section::Native,
                        "loom" => Section::Loom,
                        "shuttle" => Section::Shuttle,
                        _ => {
                            return Err(format!(
                                "--sections takes native, loom and shuttle, not `{s}`"
                            ))
                        }
                    };
                    if !sections.contains(&section) {
                        sections.push(section);
                    }
                }
                if sections.is_empty() {
                    return Err("--sections needs at least one of native, loom, shuttle".into());
                }
                // Always in the order of this program, whatever the order given.
                sections.sort_by_key(|s| *s as u8);
                a.sections = sections;
            }
            "--loom-seconds" => {
                a.loom_seconds = positive("--loom-seconds", text("--loom-seconds")?)?
            }
            "--seeds" => a.seeds = positive("--seeds", text("--seeds")?)?,
            "--iterations" => a.iterations = positive("--iterations", text("--iterations")?)?,
            "--jobs" => a.jobs = Some(positive("--jobs", text("--jobs")?)?),
            "-h" | "--help" => return Err(String::new()),
            f if f.starts_with('-') => return Err(format!("unknown option `{f}`")),
            _ => {
                return Err(format!(
                    "unexpected argument `{arg}` (this bench takes no scenarios)"
                ))
            }
        }
    }
    Ok(a)
}

/// Load a scenario, or say why not.
fn load(path: &str) -> Result<Instance, String> {
    let inst = wqcheck::load(Path::new(path))?;
    // Compile once here so that a model error is reported as such, not as a failed run.
    Model::new(inst.clone()).map_err(|e| format!("error: {path}: {}", e.0))?;
    Ok(inst)
}

fn memory_list(inst: &Instance) -> String {
    inst.memory
        .iter()
        .map(|m| m.name())
        .collect::<Vec<_>>()
        .join(",")
}

// ---------------------------------------------------------------------------------------
// Section 1: native, SC vs TSO.

/// One native search.
struct NativeRun {
    verdict: Verdict,
    states: u64,
    seconds: f64,
    budget_hit: Option<String>,
    expected: Expectation,
}

impl NativeRun {
    fn meets(&self) -> bool {
        self.verdict.meets(self.expected)
    }
}

fn native_run(inst: &Instance, memory: MemoryModel, k: usize) -> Result<NativeRun, String> {
    let expected = inst.expect_native(memory);
    let max_states = inst.bounds.max_states;
    let max_time = inst.bounds.max_seconds.map(Duration::from_secs);
    let model = Model::with_memory(inst.clone(), memory, k)
        .map_err(|e| format!("error: {} [{}]: {}", inst.name, memory.name(), e.0))?;
    let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        wqcheck_explore::explore(
            &model,
            &wqcheck_explore::Options {
                max_states,
                max_time,
                progress: None,
                full: false,
                ..wqcheck_explore::Options::default()
            },
        )
    }))
    .map_err(|p| {
        format!(
            "error: internal error while exploring {} [{}]: {}",
            inst.name,
            memory.name(),
            wqcheck_threads::panic_text(&*p)
        )
    })?;
    Ok(NativeRun {
        verdict: out.verdict,
        states: out.states,
        seconds: out.elapsed.as_secs_f64(),
        budget_hit: out.budget_hit,
        expected,
    })
}

/// Returns the exit code: 0, 1 (a verdict the scenario does not expect) or 2 (an error).
fn section_native(scenarios: &[(&str, Instance)]) -> u8 {
    println!("== native: sequential consistency vs x86-TSO ==");
    println!(
        "states: distinct states until the verdict (a violation stops the search; the scenario's own max_states/max_seconds); k: TSO store buffer (the scenario's tso.store_buffer, else {}); memory: the scenario's own `memory:` list; TSO/SC: TSO states over SC states",
        wqcheck_dsl::DEFAULT_STORE_BUFFER
    );
    let w = scenarios
        .iter()
        .map(|(p, _)| p.len())
        .max()
        .unwrap_or(8)
        .max(8);
    println!(
        "{:<w$} {:<7} {:>1} {:<13} {:>10} {:>8} {:<13} {:>10} {:>8} {:>7}",
        "scenario",
        "memory",
        "k",
        "SC verdict",
        "states",
        "seconds",
        "TSO verdict",
        "states",
        "seconds",
        "TSO/SC"
    );
    let mut status = 0;
    for (path, inst) in scenarios {
        let k = inst
            .tso
            .store_buffer
            .unwrap_or(wqcheck_dsl::DEFAULT_STORE_BUFFER) as usize;
        let runs = native_run(inst, MemoryModel::Sc, 0)
            .and_then(|sc| native_run(inst, MemoryModel::Tso, k).map(|tso| (sc, tso)));
        let (sc, tso) = match runs {
            Ok(x) => x,
            Err(e) => {
                eprintln!("{e}");
                status = 2;
                continue;
            }
        };
        let ratio = if sc.states > 0 {
            format!("{:.2}", tso.states as f64 / sc.states as f64)
        } else {
            "-".into()
        };
        let mut notes = Vec::new();
        for (name, r) in [("SC", &sc), ("TSO", &tso)] {
            if let Some(b) = &r.budget_hit {
                notes.push(format!("{name} stopped: {b}"));
            }
            if !r.meets() && r.budget_hit.is_none() {
                notes.push(format!(
                    "{name}: UNEXPECTED, the scenario expects {}",
                    expectation_name(r.expected)
                ));
                status = 1;
            }
        }
        if sc.verdict != tso.verdict && sc.meets() && tso.meets() {
            notes.push("SC and TSO differ, as the scenario expects".into());
        }
        let note = if notes.is_empty() {
            String::new()
        } else {
            format!("  ({})", notes.join("; "))
        };
        println!(
            "{:<w$} {:<7} {:>1} {:<13} {:>10} {:>8.3} {:<13} {:>10} {:>8.3} {:>7}{note}",
            path,
            memory_list(inst),
            k,
            sc.verdict.to_string(),
            sc.states,
            sc.seconds,
            tso.verdict.to_string(),
            tso.states,
            tso.seconds,
            ratio
        );
    }
    status
}

// ---------------------------------------------------------------------------------------
// Section 2: loom, executions per preemption bound.

/// One loom run, as its child reports it.
struct LoomRun {
    verdict: String,
    /// The crate's count: cumulative over the searches at bounds 0..=b.
    executions: u64,
    seconds: f64,
    meets: bool,
    budget_hit: Option<String>,
}

/// Child: `--child-loom SCENARIO BOUND SECONDS`. Prints one tab-separated line: verdict,
/// executions, seconds, meets the scenario's loom expectation (0/1), the budget that
/// stopped it (empty: none).
fn child_loom(args: &[String]) -> u8 {
    let parsed = (|| -> Option<(String, u32, u64)> {
        Some((
            args.first()?.clone(),
            args.get(1)?.parse().ok()?,
            args.get(2)?.parse().ok()?,
        ))
    })();
    let Some((path, bound, seconds)) = parsed else {
        eprintln!("wqcheck-memory-bench: bad --child-loom arguments {args:?}");
        return 2;
    };
    // loom reports failures by panicking; the backend catches them, the hook would print.
    std::panic::set_hook(Box::new(|_| {}));
    let inst = match wqcheck::load(Path::new(&path)) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("{e}");
            return 2;
        }
    };
    let expect = inst.expect_on(Backend::Loom);
    let d = wqcheck_loom::Options::default();
    let opts = wqcheck_loom::Options {
        max_preemptions: bound,
        exhaustive: false,
        max_branches: inst
            .loom
            .max_branches
            .map(|b| b as usize)
            .unwrap_or(d.max_branches),
        max_time: Duration::from_secs(seconds),
        inject_panic: false,
    };
    let model = match Model::new(inst) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("{path}: {}", e.0);
            return 2;
        }
    };
    let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        wqcheck_loom::check(&model, &opts)
    }));
    match out {
        Ok(Ok(o)) => {
            println!(
                "{}\t{}\t{:.6}\t{}\t{}",
                o.verdict,
                o.executions,
                o.elapsed.as_secs_f64(),
                u8::from(o.verdict.meets(expect)),
                o.budget_hit.unwrap_or_default().replace(['\t', '\n'], " ")
            );
            0
        }
        Ok(Err(e)) => {
            eprintln!("{path}: {e}");
            2
        }
        Err(p) => {
            eprintln!(
                "{path}: internal error in the loom backend: {}",
                wqcheck_threads::panic_text(&*p)
            );
            2
        }
    }
}

fn parse_loom(line: &str) -> Option<LoomRun> {
    let f: Vec<&str> = line.trim_end_matches(['\r', '\n']).split('\t').collect();
    if f.len() != 5 {
        return None;
    }
    Some(LoomRun {
        verdict: f[0].to_string(),
        executions: f[1].parse().ok()?,
        seconds: f[2].parse().ok()?,
        meets: f[3] == "1",
        budget_hit: Some(f[4].to_string()).filter(|s| !s.is_empty()),
    })
}

/// Run one (scenario, bound) in a child process; kill it past its budget plus [`GRACE`].
fn loom_in_child(exe: &Path, path: &str, bound: u32, seconds: u64) -> Result<LoomRun, String> {
    let mut child = Command::new(exe)
        .arg("--child-loom")
        .arg(path)
        .arg(bound.to_string())
        .arg(seconds.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start a loom child process: {e}"))?;
    // Drain both pipes while waiting, so a chatty child never blocks on a full pipe.
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut v);
            }
            v
        })
    };
    let out_reader = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let err_reader = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    // `--loom-seconds` may be any u64: saturate rather than overflow the deadline.
    let limit = Duration::from_secs(seconds).saturating_add(GRACE);
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break Some(st),
            Ok(None) if start.elapsed() > limit => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(format!("waiting for the loom child process: {e}")),
        }
    };
    let stdout = String::from_utf8_lossy(&out_reader.join().unwrap_or_default()).into_owned();
    let stderr = String::from_utf8_lossy(&err_reader.join().unwrap_or_default()).into_owned();
    let Some(status) = status else {
        return Ok(LoomRun {
            verdict: Verdict::Inconclusive.to_string(),
            executions: 0,
            seconds: start.elapsed().as_secs_f64(),
            meets: false,
            budget_hit: Some(format!(
                "killed after {} s: the run did not stop at its budget",
                limit.as_secs()
            )),
        });
    };
    match stdout.lines().next().and_then(parse_loom) {
        Some(r) if status.success() => Ok(r),
        _ => {
            let last = stderr
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("");
            Err(format!(
                "the loom child process ended ({status}) without a result{}",
                if last.is_empty() {
                    String::new()
                } else {
                    format!(": {last}")
                }
            ))
        }
    }
}

/// Reference figures: (preemption bound, executions).
type Reference = &'static [(u32, u64)];

fn reference(table: Reference, bound: u32) -> String {
    table
        .iter()
        .find(|(b, _)| *b == bound)
        .map_or_else(|| "-".into(), |(_, n)| n.to_string())
}

/// Returns the exit code, as [`section_native`].
fn section_loom(exe: &Path, loom_seconds: u64) -> u8 {
    println!("== loom: executions per preemption bound ==");
    println!("spin: {LOOM_SPIN} (page-lock variant (b), 2 lockers, SPIN's granularity); faithful: {LOOM_FAITHFUL} (the same variant, kernel-faithful)");
    println!(
        "each (model, bound b) is a search of its own (max_preemptions = b, {loom_seconds} s budget, in a child process), in which the crate runs loom at bounds 0, 1, ..., b in turn:"
    );
    println!(
        "execs 0..b: the crate's executions count, cumulative over bounds 0..b; bound b alone: execs 0..b minus execs 0..b-1, loom's own count at bound b; seconds: the whole run (bounds 0..b)"
    );
    println!(
        "a signal with several targets (spin's: either locker) is one loom search per target at each bound, the counts summed"
    );
    println!(
        "issue 15 reference, measured by the issue's author on this machine: before: wqcheck before the memory-map rewrite (its count was cumulative then too: compare with execs 0..b); hand-written: a hand-written loom model of page-lock (b), 2 lockers (compare with bound b alone)"
    );
    println!(
        "here: wqcheck_loom::hand_written, a hand-written loom model of the spin model in this repository, one search per signal target summed (compare with bound b alone; ratio: bound b alone / here; goal: at most 2)"
    );
    println!(
        "{:<8} {:>5} {:<13} {:>12} {:>8} {:>13} {:>12} {:>8} {:>6} {:>9}",
        "model",
        "bound",
        "verdict",
        "execs 0..b",
        "before",
        "bound b alone",
        "hand-written",
        "here",
        "ratio",
        "seconds"
    );
    let mut status = 0;
    let models: [(&str, &str, Reference); 2] = [
        ("spin", LOOM_SPIN, &REF_BEFORE_SPIN),
        ("faithful", LOOM_FAITHFUL, &REF_BEFORE_FAITHFUL),
    ];
    for (label, path, before) in models {
        // The previous bound's cumulative count, when that run finished its search.
        let mut previous: Option<u64> = Some(0);
        for bound in LOOM_BOUNDS {
            let run = match loom_in_child(exe, path, bound, loom_seconds) {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("wqcheck-memory-bench: {path} [loom, bound {bound}]: {e}");
                    status = 2;
                    previous = None;
                    continue;
                }
            };
            let alone = match previous {
                Some(p) if run.budget_hit.is_none() => run.executions.checked_sub(p),
                _ => None,
            };
            let here = (label == "spin")
                .then(|| wqcheck_loom::hand_written::page_lock_b_both_targets(bound));
            let ratio = match (alone, here) {
                (Some(a), Some(h)) if h > 0 => format!("{:.2}", a as f64 / h as f64),
                _ => "-".into(),
            };
            let alone = alone.map_or_else(|| "-".into(), |n| n.to_string());
            let here = here.map_or_else(|| "-".into(), |n| n.to_string());
            let mut notes = Vec::new();
            if let Some(b) = &run.budget_hit {
                notes.push(format!("stopped: {b}"));
            }
            if !run.meets && run.budget_hit.is_none() {
                notes.push("UNEXPECTED: not what the scenario expects on loom".into());
                status = 1;
            }
            let note = if notes.is_empty() {
                String::new()
            } else {
                format!("  ({})", notes.join("; "))
            };
            println!(
                "{:<8} {:>5} {:<13} {:>12} {:>8} {:>13} {:>12} {:>8} {:>6} {:>9.2}{note}",
                label,
                bound,
                run.verdict,
                run.executions,
                reference(before, bound),
                alone,
                reference(&REF_HAND_WRITTEN_LOOM, bound),
                here,
                ratio,
                run.seconds
            );
            previous = if run.budget_hit.is_none() && run.verdict == "Holds" {
                Some(run.executions)
            } else {
                None
            };
        }
    }
    status
}

// ---------------------------------------------------------------------------------------
// Section 3: shuttle, through wqcheck-shuttle-bench.

/// Returns the exit code, as [`section_native`] (a failure of the shuttle bench: its own).
fn section_shuttle(exe: &Path, args: &Args) -> u8 {
    println!("== shuttle: speed and random find rate ==");
    let name = format!("wqcheck-shuttle-bench{}", std::env::consts::EXE_SUFFIX);
    let bench = exe.parent().map(|d| d.join(&name));
    let status = match bench.as_deref().filter(|b| b.is_file()) {
        None => {
            println!(
                "{name} is not next to this executable ({}): build it with `cargo build --release --bins`",
                exe.parent().unwrap_or(Path::new("?")).display()
            );
            2
        }
        Some(bench) => {
            let mut cmd = Command::new(bench);
            cmd.arg("--seeds")
                .arg(args.seeds.to_string())
                .arg("--iterations")
                .arg(args.iterations.to_string());
            if let Some(j) = args.jobs {
                cmd.arg("--jobs").arg(j.to_string());
            }
            cmd.args(SHUTTLE_SCENARIOS);
            println!(
                "$ {} --seeds {} --iterations {}{} {}",
                bench.display(),
                args.seeds,
                args.iterations,
                args.jobs
                    .map(|j| format!(" --jobs {j}"))
                    .unwrap_or_default(),
                SHUTTLE_SCENARIOS.join(" ")
            );
            // Its stdout is this one's (lines, in order); its stderr too (its errors).
            match cmd.stdin(Stdio::null()).status() {
                Ok(st) if st.success() => 0,
                Ok(st) => {
                    eprintln!("wqcheck-memory-bench: {name} ended ({st})");
                    st.code().and_then(|c| u8::try_from(c).ok()).unwrap_or(2)
                }
                Err(e) => {
                    eprintln!("wqcheck-memory-bench: cannot run {}: {e}", bench.display());
                    2
                }
            }
        }
    };
    println!();
    println!("{REF_SHUTTLE}");
    status
}

// ---------------------------------------------------------------------------------------

fn main() -> ExitCode {
    let raw: Vec<String> = std::env::args().skip(1).collect();
    if raw.first().map(String::as_str) == Some("--child-loom") {
        return ExitCode::from(child_loom(&raw[1..]));
    }
    let args = match parse_args(&raw) {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("wqcheck-memory-bench: {e}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("wqcheck-memory-bench: {e}");
            return ExitCode::from(2);
        }
    };

    // Every scenario the selected sections read must be there and load, before anything runs.
    let mut needed: Vec<&str> = Vec::new();
    for s in &args.sections {
        match s {
            Section::Native => needed.extend(NATIVE_SCENARIOS),
            Section::Loom => needed.extend([LOOM_SPIN, LOOM_FAITHFUL]),
            Section::Shuttle => needed.extend(SHUTTLE_SCENARIOS),
        }
    }
    needed.sort_unstable();
    needed.dedup();
    let mut missing = false;
    for p in &needed {
        if !PathBuf::from(p).is_file() {
            eprintln!(
                "wqcheck-memory-bench: scenario {p} not found (run this from the repository root)"
            );
            missing = true;
        }
    }
    if missing {
        return ExitCode::from(2);
    }
    let mut loaded: Vec<(&str, Instance)> = Vec::new();
    let mut broken = false;
    for p in &needed {
        match load(p) {
            Ok(inst) => loaded.push((p, inst)),
            Err(e) => {
                eprintln!("{e}");
                broken = true;
            }
        }
    }
    // Section 1's scenarios, in its order.
    let native: Vec<(&str, Instance)> = NATIVE_SCENARIOS
        .iter()
        .filter_map(|p| loaded.iter().find(|(q, _)| q == p).cloned())
        .collect();
    if broken {
        return ExitCode::from(2);
    }

    let wall = Instant::now();
    println!(
        "wqcheck-memory-bench: sections {}; loom budget {} s per run; shuttle seeds 0..{}, {} executions per seed{}",
        args.sections
            .iter()
            .map(|s| match s {
                Section::Native => "native",
                Section::Loom => "loom",
                Section::Shuttle => "shuttle",
            })
            .collect::<Vec<_>>()
            .join(","),
        args.loom_seconds,
        args.seeds,
        args.iterations,
        args.jobs
            .map(|j| format!(", {j} job{}", if j == 1 { "" } else { "s" }))
            .unwrap_or_default()
    );
    // 2 (an error) over 1 (a verdict a scenario does not expect) over 0.
    let mut status = 0;
    for s in &args.sections {
        println!();
        let st = match s {
            Section::Native => section_native(&native),
            Section::Loom => section_loom(&exe, args.loom_seconds),
            Section::Shuttle => section_shuttle(&exe, &args),
        };
        status = status.max(st);
    }
    println!();
    println!(
        "wqcheck-memory-bench wall-clock: {:.1} s",
        wall.elapsed().as_secs_f64()
    );
    ExitCode::from(status)
}
