//! `wqcheck-bench [--full] <SCENARIO>...`: the native explorer's figures.
//!
//! For each scenario it prints the verdict, distinct states, seconds, states per second and
//! the peak resident memory of the search. Each scenario runs in a child process of its own
//! so that the peak memory (Linux `VmHWM`) is that scenario's alone.
//!
//! Speed and memory targets are checked here, by a person reading figures, never by timed
//! tests: the machines this runs on are shared and noisy.

use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::time::Duration;

fn peak_rss_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    s.lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Child: check one scenario, print one tab-separated line.
fn child(path: &str, full: bool) -> ExitCode {
    let inst = match wqcheck::load(std::path::Path::new(path)) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let max_states = inst.bounds.max_states;
    let max_time = inst.bounds.max_seconds.map(Duration::from_secs);
    let model = match wqcheck_model::Model::new(inst) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("{path}: {}", e.0);
            return ExitCode::from(2);
        }
    };
    let out = wqcheck_explore::explore(
        &model,
        &wqcheck_explore::Options {
            max_states,
            max_time,
            progress: None,
            full,
            ..wqcheck_explore::Options::default()
        },
    );
    println!(
        "{}\t{}\t{}\t{:.3}\t{}\t{}",
        out.verdict,
        out.states,
        out.depth,
        out.elapsed.as_secs_f64(),
        peak_rss_kib().unwrap_or(0),
        out.budget_hit.unwrap_or_default()
    );
    ExitCode::SUCCESS
}

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let full = args.iter().any(|a| a == "--full");
    args.retain(|a| a != "--full");
    if args.first().map(|a| a.as_str()) == Some("--child") {
        return match args.get(1) {
            Some(p) => child(p, full),
            None => ExitCode::from(2),
        };
    }
    if args.is_empty() || args.iter().any(|a| a == "--help" || a == "-h") {
        eprintln!("usage: wqcheck-bench [--full] <SCENARIO.ron>...");
        eprintln!("  --full  explore every state even past a violation (SPIN's pan -c0)");
        return ExitCode::from(2);
    }
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("wqcheck-bench: {e}");
            return ExitCode::from(2);
        }
    };
    println!(
        "{:<52} {:<14} {:>12} {:>6} {:>9} {:>12} {:>10}",
        "scenario", "verdict", "states", "depth", "seconds", "states/s", "peak MiB"
    );
    let mut status = ExitCode::SUCCESS;
    for p in args.iter().map(PathBuf::from) {
        let mut cmd = Command::new(&exe);
        cmd.arg("--child").arg(&p);
        if full {
            cmd.arg("--full");
        }
        let out = match cmd.output() {
            Ok(o) => o,
            Err(e) => {
                eprintln!("wqcheck-bench: {}: {e}", p.display());
                status = ExitCode::from(2);
                continue;
            }
        };
        if !out.status.success() {
            eprint!("{}", String::from_utf8_lossy(&out.stderr));
            status = ExitCode::from(2);
            continue;
        }
        let line = String::from_utf8_lossy(&out.stdout);
        let f: Vec<&str> = line.trim_end().split('\t').collect();
        if f.len() < 5 {
            eprintln!(
                "wqcheck-bench: {}: unexpected child output {line:?}",
                p.display()
            );
            status = ExitCode::from(2);
            continue;
        }
        let states: f64 = f[1].parse().unwrap_or(0.0);
        let secs: f64 = f[3].parse().unwrap_or(0.0);
        let kib: f64 = f[4].parse().unwrap_or(0.0);
        let rate = if secs > 0.0 { states / secs } else { 0.0 };
        let note = f
            .get(5)
            .filter(|s| !s.is_empty())
            .map(|s| format!("  (stopped: {s})"))
            .unwrap_or_default();
        println!(
            "{:<52} {:<14} {:>12} {:>6} {:>9.2} {:>12.0} {:>10.1}{note}",
            p.display().to_string(),
            f[0],
            f[1],
            f[2],
            secs,
            rate,
            kib / 1024.0
        );
    }
    status
}
