//! `wqcheck-shuttle-bench [--iterations N] [--seeds N] [--jobs N] [--max-seconds S]
//! [--scheduler random|pct] [SCENARIO.ron...]`: how soon shuttle's random and PCT
//! schedulers find a violation, and how fast they run.
//!
//! For each scenario (by default the headline 2017 race and its 4-, 6- and 8-locker
//! versions in `scenarios/scale/`) and each of the random and the PCT scheduler (PCT's depth:
//! the scenario's `shuttle.depth`, else 3), it runs seeds `0..N` (default 20), each with an
//! iteration budget (default 100,000 executions), and prints one row: how many seeds found a
//! violation, the median number of executions until the first violation over all seeds (a
//! seed that found nothing counts as the budget, and a median that depends on such a seed is
//! printed as a lower bound, `>= ...`), executions per second (all executions over all
//! seconds) and the seconds the seeds took together. Then each seed's figure.
//!
//! Everything but the timings is deterministic: a seed's schedules, and so the execution
//! that fails, depend only on the seed (unless a run hits `--max-seconds`, which is
//! reported). Speed targets are read by a person, never checked by timed tests.
//!
//! Each (scenario, scheduler) runs in a child process: shuttle prints a few lines on stderr
//! for every failing execution, with `eprintln!`, which a panic hook does not silence; the
//! parent drops them.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use wqcheck_model::ir::{Backend, Expectation, ShuttleScheduler};
use wqcheck_model::{Model, Verdict};

const DEFAULT_SCENARIOS: [&str; 4] = [
    "scenarios/linux-4.13-rc6-lock-page-killable.ron",
    "scenarios/scale/linux-4.13-rc6-lockers-4.ron",
    "scenarios/scale/linux-4.13-rc6-lockers-6.ron",
    "scenarios/scale/linux-4.13-rc6-lockers-8.ron",
];

struct Args {
    iterations: u64,
    seeds: u64,
    jobs: usize,
    max_seconds: u64,
    schedulers: Vec<ShuttleScheduler>,
    /// As given (for the table), and where to read it.
    scenarios: Vec<(String, PathBuf)>,
}

const USAGE: &str = "usage: wqcheck-shuttle-bench [--iterations N] [--seeds N] [--jobs N] [--max-seconds S] [--scheduler random|pct] [SCENARIO.ron...]
  --iterations N   the iteration budget of each seed (default 20000)
  --seeds N        run seeds 0..N (default 20)
  --jobs N         seeds run at once, on that many threads (default 1: clean timings)
  --max-seconds S  the wall-clock limit of one seed's run (default 3600)
  --scheduler X    run only `random` or only `pct` (default: both)
  SCENARIO.ron     default: the headline race and scenarios/scale/linux-4.13-rc6-lockers-{4,6,8}.ron
                   (relative to the current directory, else to the workspace)";

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        iterations: 20_000,
        seeds: 20,
        jobs: 1,
        max_seconds: 3600,
        schedulers: vec![ShuttleScheduler::Random, ShuttleScheduler::Pct],
        scenarios: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| -> Result<u64, String> {
            let v = inline
                .clone()
                .or_else(|| it.next())
                .ok_or_else(|| format!("{name} needs a value"))?;
            match v.parse::<u64>() {
                Ok(n) if n >= 1 => Ok(n),
                _ => Err(format!("{name} takes a positive integer, not `{v}`")),
            }
        };
        match flag.as_str() {
            "--iterations" => a.iterations = value("--iterations")?,
            "--seeds" => a.seeds = value("--seeds")?,
            "--jobs" => a.jobs = value("--jobs")? as usize,
            "--max-seconds" => a.max_seconds = value("--max-seconds")?,
            "--scheduler" => {
                let v = inline.or_else(|| it.next()).unwrap_or_default();
                a.schedulers = match v.as_str() {
                    "random" => vec![ShuttleScheduler::Random],
                    "pct" => vec![ShuttleScheduler::Pct],
                    _ => return Err(format!("--scheduler takes `random` or `pct`, not `{v}`")),
                };
            }
            "-h" | "--help" => return Err(String::new()),
            f if f.starts_with('-') => return Err(format!("unknown option `{f}`")),
            _ => a.scenarios.push((arg.clone(), PathBuf::from(arg))),
        }
    }
    if a.scenarios.is_empty() {
        a.scenarios = DEFAULT_SCENARIOS
            .iter()
            .map(|p| (p.to_string(), PathBuf::from(p)))
            .collect();
    }
    // `cargo run` from anywhere in the workspace: a relative path that is not here is
    // looked up from the workspace root.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    for (_, p) in &mut a.scenarios {
        if p.is_relative() && !p.exists() && root.join(&*p).exists() {
            *p = root.join(&*p);
        }
    }
    Ok(a)
}

/// One seed's run, as the child reports it.
struct Run {
    /// The verdict, as printed (`LostWakeup`, `NoViolationFound`, ...).
    verdict: String,
    /// A violation (LostWakeup, Deadlock, AssertionFailed) was found.
    found: bool,
    /// The verdict meets the scenario's expectation on shuttle.
    meets: bool,
    /// The executions run: for a violation, the one that found it.
    executions: u64,
    seconds: f64,
    /// Stopped by a budget (`--max-seconds`, shuttle's max_steps) before its iterations.
    cut_short: bool,
}

/// One scenario under one scheduler, all seeds.
struct Cell {
    scheduler: String,
    runs: Vec<Run>,
}

fn scheduler_name(s: ShuttleScheduler, depth: u32) -> String {
    match s {
        ShuttleScheduler::Random => "random".into(),
        ShuttleScheduler::Pct => format!("pct d={depth}"),
        ShuttleScheduler::Dfs => "dfs".into(),
    }
}

fn scheduler_arg(s: ShuttleScheduler) -> &'static str {
    match s {
        ShuttleScheduler::Random => "random",
        ShuttleScheduler::Pct => "pct",
        ShuttleScheduler::Dfs => "dfs",
    }
}

fn is_violation(v: Verdict) -> bool {
    matches!(
        v,
        Verdict::LostWakeup | Verdict::Deadlock | Verdict::AssertionFailed
    )
}

/// Load a scenario: the model, PCT's depth and what shuttle must find.
fn load(path: &Path) -> Result<(Model, u32, Expectation), String> {
    let inst = wqcheck::load(path)?;
    let expect = inst.expect_on(Backend::Shuttle);
    let depth = inst.shuttle.depth.unwrap_or(3);
    let model = Model::new(inst).map_err(|e| format!("{}: {}", path.display(), e.0))?;
    Ok((model, depth, expect))
}

/// Child: `--child SCENARIO random|pct ITERATIONS SEEDS JOBS MAX_SECONDS`. Runs the seeds
/// (on `JOBS` threads) and prints one tab-separated line per seed, in seed order: seed,
/// verdict, found (0/1), meets the expectation (0/1), executions, seconds, cut short (0/1).
///
/// A child of its own because shuttle prints a few lines on stderr for every failing
/// execution (with `eprintln!`, which no panic hook silences); the parent drops them.
fn child(args: &[String]) -> ExitCode {
    let parsed = (|| -> Option<(PathBuf, ShuttleScheduler, u64, u64, usize, u64)> {
        let scheduler = match args.get(1)?.as_str() {
            "random" => ShuttleScheduler::Random,
            "pct" => ShuttleScheduler::Pct,
            _ => return None,
        };
        Some((
            PathBuf::from(args.first()?),
            scheduler,
            args.get(2)?.parse().ok()?,
            args.get(3)?.parse().ok()?,
            args.get(4)?.parse().ok()?,
            args.get(5)?.parse().ok()?,
        ))
    })();
    let Some((path, scheduler, iterations, seeds, jobs, max_seconds)) = parsed else {
        eprintln!("wqcheck-shuttle-bench: bad --child arguments {args:?}");
        return ExitCode::from(2);
    };
    // shuttle reports every failing execution by panicking; the backend catches the panic,
    // but the default hook would print it.
    std::panic::set_hook(Box::new(|_| {}));
    let (model, depth, expect) = match load(&path) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let opts = wqcheck_shuttle::Options {
        scheduler,
        depth,
        iterations,
        max_time: Duration::from_secs(max_seconds),
        ..wqcheck_shuttle::Options::default()
    };
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<String, String>>>> =
        Mutex::new((0..seeds).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..jobs.clamp(1, seeds.max(1) as usize) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i as u64 >= seeds {
                    break;
                }
                let o = wqcheck_shuttle::Options {
                    seed: i as u64,
                    ..opts.clone()
                };
                let r = wqcheck_shuttle::check(&model, &o).map(|out| {
                    format!(
                        "{i}\t{}\t{}\t{}\t{}\t{:.6}\t{}",
                        out.verdict,
                        u8::from(is_violation(out.verdict)),
                        u8::from(out.verdict.meets(expect)),
                        out.executions,
                        out.elapsed.as_secs_f64(),
                        u8::from(out.budget_hit.is_some())
                    )
                });
                results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(r);
            });
        }
    });
    let mut status = ExitCode::SUCCESS;
    for (i, r) in results
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .enumerate()
    {
        match r {
            Some(Ok(line)) => println!("{line}"),
            Some(Err(e)) => {
                eprintln!("seed {i}: {e}");
                status = ExitCode::from(2);
            }
            None => {
                eprintln!("seed {i} did not run");
                status = ExitCode::from(2);
            }
        }
    }
    status
}

fn parse_run(line: &str) -> Option<Run> {
    let f: Vec<&str> = line.split('\t').collect();
    if f.len() != 7 {
        return None;
    }
    Some(Run {
        verdict: f[1].to_string(),
        found: f[2] == "1",
        meets: f[3] == "1",
        executions: f[4].parse().ok()?,
        seconds: f[5].parse().ok()?,
        cut_short: f[6] == "1",
    })
}

/// shuttle's own lines on stderr, printed for every failing execution.
fn is_shuttle_noise(line: &str) -> bool {
    line.starts_with("Test deadlocked, and SHUTTLE_CAPTURE_BACKTRACE")
        || line == "Task failed, serializing schedule"
        || line.starts_with("test panicked in task")
}

/// The median of the executions until the first violation, a seed that found nothing
/// counting as `budget`; and whether the median depends on such a seed.
fn median(runs: &[Run], budget: u64) -> (f64, bool) {
    let mut xs: Vec<(u64, bool)> = runs
        .iter()
        .map(|r| {
            if r.found {
                (r.executions, false)
            } else {
                (budget, true)
            }
        })
        .collect();
    xs.sort();
    let n = xs.len();
    if n == 0 {
        return (0.0, false);
    }
    if n % 2 == 1 {
        (xs[n / 2].0 as f64, xs[n / 2].1)
    } else {
        let (a, b) = (xs[n / 2 - 1], xs[n / 2]);
        ((a.0 + b.0) as f64 / 2.0, a.1 || b.1)
    }
}

fn main() -> ExitCode {
    let raw: Vec<String> = std::env::args().skip(1).collect();
    if raw.first().map(String::as_str) == Some("--child") {
        return child(&raw[1..]);
    }
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("wqcheck-shuttle-bench: {e}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("wqcheck-shuttle-bench: {e}");
            return ExitCode::from(2);
        }
    };
    let wall = Instant::now();

    println!(
        "wqcheck-shuttle-bench: seeds 0..{} ({} per scenario and scheduler), budget {} executions per seed, at most {} s per seed, {} job{}",
        args.seeds,
        args.seeds,
        args.iterations,
        args.max_seconds,
        args.jobs,
        if args.jobs == 1 { "" } else { "s" }
    );
    println!(
        "median: of the executions until the first violation over all {} seeds, a seed that found nothing counting as the budget ({}); `>=` when the median depends on such a seed",
        args.seeds, args.iterations
    );
    println!("execs/s: all executions of all seeds over the seconds they took; seconds: the seeds' seconds together");
    println!();

    let mut status = ExitCode::SUCCESS;
    let mut rows: Vec<(String, Cell)> = Vec::new();
    for (name, path) in &args.scenarios {
        // Load here too, for PCT's depth and to report a broken scenario once.
        let depth = match load(path) {
            Ok((_, d, _)) => d,
            Err(e) => {
                eprintln!("{e}");
                status = ExitCode::from(2);
                continue;
            }
        };
        for &scheduler in &args.schedulers {
            let label = scheduler_name(scheduler, depth);
            let out = Command::new(&exe)
                .arg("--child")
                .arg(path)
                .arg(scheduler_arg(scheduler))
                .arg(args.iterations.to_string())
                .arg(args.seeds.to_string())
                .arg(args.jobs.to_string())
                .arg(args.max_seconds.to_string())
                .stdin(Stdio::null())
                .output();
            let out = match out {
                Ok(o) => o,
                Err(e) => {
                    eprintln!("wqcheck-shuttle-bench: {name} [{label}]: {e}");
                    status = ExitCode::from(2);
                    continue;
                }
            };
            let stdout = String::from_utf8_lossy(&out.stdout);
            let runs: Option<Vec<Run>> = stdout.lines().map(parse_run).collect();
            let runs = match runs {
                Some(r) if out.status.success() && r.len() as u64 == args.seeds => r,
                _ => {
                    let stderr = String::from_utf8_lossy(&out.stderr);
                    for l in stderr.lines().filter(|l| !is_shuttle_noise(l)) {
                        eprintln!("{l}");
                    }
                    eprintln!(
                        "wqcheck-shuttle-bench: {name} [{label}]: the child failed ({})",
                        out.status
                    );
                    status = ExitCode::from(2);
                    continue;
                }
            };
            for (seed, r) in runs.iter().enumerate() {
                if r.found && !r.meets {
                    eprintln!(
                        "wqcheck-shuttle-bench: {name} [{label}] seed {seed}: {}, not what the scenario expects",
                        r.verdict
                    );
                    status = ExitCode::from(1);
                }
            }
            rows.push((
                name.clone(),
                Cell {
                    scheduler: label,
                    runs,
                },
            ));
        }
    }

    println!(
        "{:<48} {:<9} {:>11} {:>14} {:>9} {:>8}",
        "scenario", "scheduler", "found", "median execs", "execs/s", "seconds"
    );
    for (name, cell) in &rows {
        let found = cell.runs.iter().filter(|r| r.found).count();
        let executions: u64 = cell.runs.iter().map(|r| r.executions).sum();
        let secs: f64 = cell.runs.iter().map(|r| r.seconds).sum();
        let rate = if secs > 0.0 {
            executions as f64 / secs
        } else {
            0.0
        };
        let (m, lower) = median(&cell.runs, args.iterations);
        let exact = if m.fract() == 0.0 {
            format!("{m:.0}")
        } else {
            format!("{m:.1}")
        };
        let med = if lower { format!(">= {exact}") } else { exact };
        let cut = cell.runs.iter().filter(|r| !r.found && r.cut_short).count();
        let note = if cut > 0 {
            format!("  ({cut} seed(s) stopped by a time or step limit before the budget)")
        } else {
            String::new()
        };
        println!(
            "{:<48} {:<9} {:>11} {:>14} {:>9.0} {:>8.2}{note}",
            name,
            cell.scheduler,
            format!("found {found}/{}", cell.runs.len()),
            med,
            rate,
            secs
        );
    }

    println!();
    println!(
        "executions until the first violation, seeds 0..{} (`-`: none within the budget):",
        args.seeds
    );
    for (name, cell) in &rows {
        let per_seed: Vec<String> = cell
            .runs
            .iter()
            .map(|r| {
                if r.found {
                    r.executions.to_string()
                } else {
                    "-".into()
                }
            })
            .collect();
        println!("  {name} [{}]: {}", cell.scheduler, per_seed.join(" "));
    }
    println!();
    println!("wall-clock: {:.1} s", wall.elapsed().as_secs_f64());
    status
}
