//! `wqcheck-liveness-bench [SCENARIO.ron ...]`: what the liveness check costs beside the
//! safety search on the same scenario (wqcheck issue 12). For each scenario with a
//! `liveness`, the native explorer runs twice, under SC: safety only
//! (`Options::liveness` off), then with the liveness check, which keeps the state graph.
//! It prints the verdicts, the distinct states, the seconds and the peak memory of the
//! search's stores (`Outcome::memory_peak`) of each, and the ratios.
//!
//! Without arguments it runs the page-lock repeat-locker scenarios at 2 and 3 lockers and
//! the SPIN-granularity handoff model at 3 lockers. Everything but the timings is
//! deterministic; the figures are read by a person, never checked by timed tests (the
//! machines this runs on are shared and noisy). Run it from the repository root.
//!
//! Exit code: 0; 1 when a liveness verdict does not meet the scenario's `expect`; 2 on a
//! scenario that does not load or has no `liveness`.

use std::path::PathBuf;
use std::process::ExitCode;
use wqcheck_model::ir::MemoryModel;
use wqcheck_model::Model;

const DEFAULT: &[&str] = &[
    "scenarios/linux-4.13-repeat-locker.ron",
    "scenarios/linux-4.13-repeat-locker-3-lockers.ron",
    "scenarios/linux-5.9-repeat-locker.ron",
    "scenarios/linux-5.9-repeat-locker-3-lockers.ron",
    "scenarios/spin/lockpage-c-live-n3.ron",
];

fn mib(b: u64) -> f64 {
    b as f64 / (1 << 20) as f64
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let files: Vec<PathBuf> = if args.is_empty() {
        DEFAULT.iter().map(PathBuf::from).collect()
    } else {
        args.iter().map(PathBuf::from).collect()
    };
    println!(
        "{:<48} {:>11} {:>10} {:>9} {:>9} | {:>11} {:>9} {:>9} | {:>6} {:>6}",
        "scenario", "safety", "states", "s", "MiB", "liveness", "s", "MiB", "time×", "mem×"
    );
    let mut unmet = false;
    for f in &files {
        let inst = match wqcheck::load(f) {
            Ok(i) => i,
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::from(2);
            }
        };
        if inst.liveness.is_none() {
            eprintln!("{}: the scenario has no `liveness`", f.display());
            return ExitCode::from(2);
        }
        let expect = inst.expect;
        let model = match Model::with_memory(inst, MemoryModel::Sc, 2) {
            Ok(m) => m,
            Err(e) => {
                eprintln!("{}: {}", f.display(), e.0);
                return ExitCode::from(2);
            }
        };
        let run = |liveness: bool| {
            wqcheck_explore::explore(
                &model,
                &wqcheck_explore::Options {
                    liveness,
                    ..Default::default()
                },
            )
        };
        let safety = run(false);
        let live = run(true);
        let ok = live.verdict.meets(expect);
        unmet |= !ok;
        let secs = |o: &wqcheck_explore::Outcome| o.elapsed.as_secs_f64();
        println!(
            "{:<48} {:>11} {:>10} {:>9.3} {:>9.1} | {:>11} {:>9.3} {:>9.1} | {:>6.2} {:>6.2}{}",
            f.display().to_string(),
            format!("{:?}", safety.verdict),
            wqcheck_report::thousands(live.states),
            secs(&safety),
            mib(safety.memory_peak),
            format!("{:?}", live.verdict),
            secs(&live),
            mib(live.memory_peak),
            secs(&live) / secs(&safety).max(1e-9),
            live.memory_peak as f64 / safety.memory_peak.max(1) as f64,
            if ok { "" } else { "  UNEXPECTED" }
        );
    }
    if unmet {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
