//! Process hygiene, as a user or a CI job sees it: a signal to wqcheck stops the run
//! cleanly and leaves no loom or shuttle child behind, a child dies with its parent, and a
//! child killed from outside or out of memory is reported for what happened to it.
//!
//! Each test runs wqcheck on a quick scenario, then a loom run that lasts many seconds
//! (`linux-5.9-lock-page-killable` up to preemption bound 3), and acts once the quick
//! result has been printed and the long run's child exists. Linux only: children are
//! found through `/proc`.
#![cfg(target_os = "linux")]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::root;
use rustix::process::{kill_process, Pid, Signal};

const QUICK: &str = "scenarios/classic-check-then-sleep.ron";
const LONG: &str = "scenarios/linux-5.9-lock-page-killable.ron";
/// Generous for a loaded 2-core machine: everything here happens within milliseconds.
const PATIENCE: Duration = Duration::from_secs(10);

/// wqcheck checking [`QUICK`] then [`LONG`] on loom, its stdout read line by line.
struct Run {
    wqcheck: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Run {
    fn start(extra: &[&str], env: &[(&str, &str)]) -> Run {
        Run::start_with(&[QUICK, LONG], extra, env)
    }

    fn start_with(scenarios: &[&str], extra: &[&str], env: &[(&str, &str)]) -> Run {
        let mut wqcheck = Command::new(env!("CARGO_BIN_EXE_wqcheck"))
            .current_dir(root())
            .args([
                "--backend",
                "loom",
                "--loom-max-preemptions",
                "3",
                "--max-seconds",
                "120",
                "--quiet",
            ])
            .args(extra)
            .args(scenarios)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("runs wqcheck");
        let stdout = wqcheck.stdout.take().expect("piped");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Run {
            wqcheck,
            lines,
            seen: Vec::new(),
        }
    }

    fn pid(&self) -> i32 {
        self.wqcheck.id() as i32
    }

    /// Wait for a line of output containing `text`, while wqcheck still runs.
    fn wait_for_line(&mut self, text: &str) {
        let deadline = Instant::now() + PATIENCE;
        while Instant::now() < deadline {
            match self.lines.recv_timeout(Duration::from_millis(50)) {
                Ok(line) => {
                    let found = line.contains(text);
                    self.seen.push(line);
                    if found {
                        return;
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        self.stop();
        panic!(
            "no line with {text:?} while wqcheck ran; got {:?}",
            self.seen
        );
    }

    /// The child wqcheck runs for `scenario`, once it exists.
    fn child_for(&mut self, scenario: &str) -> Proc {
        let deadline = Instant::now() + PATIENCE;
        while Instant::now() < deadline {
            if let Some(p) = children_of(self.pid())
                .into_iter()
                .find(|p| p.cmdline.contains(scenario))
            {
                return p;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.stop();
        panic!("no child process for {scenario}");
    }

    /// Wait for wqcheck to end; its status and all its output.
    fn finish(mut self) -> (ExitStatus, Vec<String>) {
        let deadline = Instant::now() + PATIENCE;
        let status = loop {
            if let Some(st) = self.wqcheck.try_wait().expect("waits") {
                break st;
            }
            if Instant::now() > deadline {
                self.stop();
                panic!(
                    "wqcheck did not end within {PATIENCE:?}; output {:?}",
                    self.seen
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut lines = std::mem::take(&mut self.seen);
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(2)) {
            lines.push(line);
        }
        (status, lines)
    }

    fn stop(&mut self) {
        for p in children_of(self.pid()) {
            signal(p.pid, Signal::KILL);
        }
        let _ = self.wqcheck.kill();
        let _ = self.wqcheck.wait();
    }
}

/// A process as `/proc` shows it.
#[derive(Debug, Clone)]
struct Proc {
    pid: i32,
    ppid: i32,
    /// Clock ticks since boot when it started: tells a reused pid apart.
    start: u64,
    state: char,
    cmdline: String,
}

fn read_proc(pid: i32) -> Option<Proc> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (comm) state ppid ...`; comm may hold anything, so split after its last `)`.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
        .unwrap_or_default();
    Some(Proc {
        pid,
        state: fields.first()?.chars().next()?,
        ppid: fields.get(1)?.parse().ok()?,
        // Field 22 of stat; `fields` starts at field 3.
        start: fields.get(19)?.parse().ok()?,
        cmdline,
    })
}

fn children_of(parent: i32) -> Vec<Proc> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(read_proc)
        .filter(|p| p.ppid == parent)
        .collect()
}

/// Whether `p` still runs: its pid names the same process and it is not a zombie (a
/// killed child whose new parent has not reaped it yet has ended all the same).
fn alive(p: &Proc) -> bool {
    read_proc(p.pid).is_some_and(|now| now.start == p.start && now.state != 'Z')
}

/// Wait until `p` has ended; whether it did within [`PATIENCE`].
fn ends(p: &Proc) -> bool {
    let deadline = Instant::now() + PATIENCE;
    while Instant::now() < deadline {
        if !alive(p) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

fn signal(pid: i32, sig: Signal) {
    let pid = Pid::from_raw(pid).expect("a pid");
    kill_process(pid, sig).expect("signal sent");
}

/// Interrupt a run during its long loom child with `sig`: the child is gone, the quick
/// result and a summary naming the signal are printed, the exit code is `code`.
fn assert_interrupt_stops_cleanly(sig: Signal, name: &str, code: i32) {
    let mut run = Run::start(&[], &[]);
    // Printed as soon as it was known, while the long run goes on.
    run.wait_for_line(&format!("PASS {QUICK} [loom]"));
    let child = run.child_for(LONG);
    signal(run.pid(), sig);
    let (status, lines) = run.finish();
    assert!(ends(&child), "{name}: the loom child {child:?} still runs");
    assert_eq!(status.code(), Some(code), "{name}: {lines:?}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(&format!("PASS {QUICK} [loom]"))),
        "{name}: the finished result is kept: {lines:?}"
    );
    assert!(
        !lines.iter().any(|l| l.contains(LONG)),
        "{name}: nothing is claimed for the interrupted run: {lines:?}"
    );
    assert_eq!(
        lines.last().map(String::as_str),
        Some(
            format!("wqcheck: 1 passed, 0 failed; interrupted by {name}: the rest was not checked")
                .as_str()
        ),
        "{name}: {lines:?}"
    );
}

#[test]
fn sigterm_during_a_loom_run_kills_the_child_and_prints_what_finished() {
    assert_interrupt_stops_cleanly(Signal::TERM, "SIGTERM", 143);
}

#[test]
fn sigint_during_a_loom_run_kills_the_child_and_prints_what_finished() {
    assert_interrupt_stops_cleanly(Signal::INT, "SIGINT", 130);
}

#[test]
fn sighup_during_a_loom_run_kills_the_child_and_prints_what_finished() {
    assert_interrupt_stops_cleanly(Signal::HUP, "SIGHUP", 129);
}

#[test]
fn an_interrupted_json_run_streams_its_results_and_says_it_was_interrupted() {
    let mut run = Run::start(&["--format", "json"], &[]);
    run.wait_for_line("\"type\":\"result\"");
    let child = run.child_for(LONG);
    signal(run.pid(), Signal::TERM);
    let (status, lines) = run.finish();
    assert!(ends(&child), "the loom child {child:?} still runs");
    assert_eq!(status.code(), Some(143), "{lines:?}");
    let json: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(json.len(), 2, "{lines:?}");
    assert_eq!(json[0]["scenario"], QUICK);
    assert_eq!(json[0]["ok"], true);
    assert_eq!(
        json[1],
        serde_json::json!({"type": "summary", "v": 1, "passed": 1, "failed": 0, "errors": 0, "interrupted": "SIGTERM"})
    );
}

#[test]
fn a_child_dies_with_its_parent_even_when_the_parent_is_killed_outright() {
    let mut run = Run::start(&[], &[]);
    let child = run.child_for(LONG);
    // SIGKILL cannot be caught: the parent-death signal must do the work.
    signal(run.pid(), Signal::KILL);
    let (status, _) = run.finish();
    assert_eq!(status.code(), None, "killed");
    assert!(ends(&child), "the loom child {child:?} outlived its parent");
}

#[test]
fn a_loom_child_killed_from_outside_is_reported_as_killed_not_as_a_bug() {
    let mut run = Run::start_with(&[LONG, QUICK], &["--format", "json"], &[]);
    let child = run.child_for(LONG);
    signal(child.pid, Signal::KILL);
    let (status, lines) = run.finish();
    assert_eq!(
        status.code(),
        Some(2),
        "an error for that scenario: {lines:?}"
    );
    let json: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(json.len(), 3, "{lines:?}");
    assert_eq!(json[0]["type"], "error");
    assert_eq!(json[0]["scenario"], LONG);
    let message = json[0]["message"].as_str().expect("message");
    assert!(
        message.contains("the loom process was killed by signal 9 (SIGKILL)"),
        "{message}"
    );
    assert!(!message.contains("bug in wqcheck"), "{message}");
    // The scenario after it is still checked.
    assert_eq!(json[1]["scenario"], QUICK);
    assert_eq!(json[1]["ok"], true);
    assert_eq!(json[2]["errors"], 1);
}

#[test]
fn a_child_out_of_memory_is_inconclusive_stopped_by_the_memory_limit() {
    for backend in ["loom", "shuttle"] {
        let out = common::wqcheck_env(
            &root(),
            &["--backend", backend, "--format", "json", LONG, QUICK],
            &[("WQCHECK_INJECT_PANIC", "oom:lock-page-killable")],
        );
        let lines = common::json_lines(&out);
        assert_eq!(out.status.code(), Some(1), "{backend}: {lines:?}");
        assert_eq!(lines.len(), 3, "{backend}: {lines:?}");
        let r = &lines[0];
        assert_eq!(r["type"], "result", "{backend}");
        assert_eq!(r["verdict"], "Inconclusive", "{backend}");
        assert_eq!(r["ok"], false, "{backend}");
        let hit = r["budget_hit"].as_str().expect("budget_hit");
        assert!(
            hit.starts_with(&format!(
                "memory limit: the {backend} process ran out of memory (memory allocation of "
            )) && hit.ends_with(" bytes failed)"),
            "{backend}: {hit}"
        );
        assert_eq!(
            lines[1]["scenario"], QUICK,
            "{backend}: later scenarios still run"
        );
        assert_eq!(lines[1]["ok"], true, "{backend}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("memory allocation"), "{backend}: {stderr}");
    }
}
