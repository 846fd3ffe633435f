//! The command line as a user (or a CI job) sees it: output formats and exit codes.

// The JUnit schema validator of wqcheck-report's `junit_schema` test, for the report the
// command line writes.
mod common;
#[path = "../../wqcheck-report/tests/support/xsd.rs"]
#[expect(dead_code, reason = "only `Schema` is used here")]
mod junit_xsd;

use common::{json_lines, root, scenario_files, without_times, wqcheck};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

#[test]
fn headline_race_is_reported_as_a_lost_wakeup_in_json() {
    let out = wqcheck(
        &root(),
        &[
            "--format",
            "json",
            "scenarios/linux-4.13-rc6-lock-page-killable.ron",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 2, "a result and a summary");
    let r = &lines[0];
    assert_eq!(r["type"], "result");
    assert_eq!(
        r["scenario"],
        "scenarios/linux-4.13-rc6-lock-page-killable.ron"
    );
    assert_eq!(r["backend"], "native");
    assert_eq!(r["verdict"], "LostWakeup");
    assert_eq!(r["expected"], "LostWakeup");
    assert_eq!(r["ok"], true);
    assert!(r["states"].as_u64().expect("states") > 0);
    assert!(r["elapsed_ms"].as_f64().is_some());
    let trace = r["trace"].as_array().expect("trace");
    for t in ["thread1", "thread2", "thread3"] {
        assert!(
            trace.iter().any(|s| s["thread"] == t),
            "{t} is in the trace"
        );
    }
    assert!(trace
        .iter()
        .all(|s| s["text"].as_str().is_some_and(|x| !x.is_empty())));
    assert_eq!(
        lines[1],
        serde_json::json!({"type": "summary", "v": 1, "passed": 1, "failed": 0, "errors": 0})
    );
}

#[test]
fn fixed_page_locks_hold_with_states_counted() {
    for s in [
        "scenarios/linux-4.13-lock-page-killable.ron",
        "scenarios/linux-5.9-lock-page-killable.ron",
    ] {
        let out = wqcheck(&root(), &["--format", "json", s]);
        assert_eq!(out.status.code(), Some(0), "{s}");
        let r = &json_lines(&out)[0];
        assert_eq!(r["verdict"], "Holds", "{s}");
        assert!(r["states"].as_u64().expect("states") > 0, "{s}");
        assert_eq!(r["trace"], serde_json::json!([]), "{s}");
    }
}

#[test]
fn unmet_expectation_exits_1_and_says_so() {
    let dir = std::env::temp_dir().join(format!("wqcheck-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp");
    let model = root().join("models/linux/page-lock-v4.13-rc6.wq");
    let text =
        std::fs::read_to_string(root().join("scenarios/linux-4.13-rc6-lock-page-killable.ron"))
            .expect("read")
            .replace(
                "../models/linux/page-lock-v4.13-rc6.wq",
                &model.display().to_string(),
            )
            .replace("expect: LostWakeup", "expect: Holds");
    std::fs::write(dir.join("wrong.ron"), text).expect("write");
    let out = wqcheck(&dir, &["wrong.ron"]);
    let stdout = exits_with(&out, 1, "wqcheck: 0 passed, 1 failed");
    assert!(
        stdout.contains("FAIL wrong.ron [native]: LostWakeup, expected Holds"),
        "{stdout}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn human_output_ends_with_the_summary_line() {
    let out = wqcheck(
        &root(),
        &[
            "--backend",
            "native",
            "scenarios/classic-check-then-sleep.ron",
            "scenarios/classic-prepare-then-check.ron",
        ],
    );
    exits_with(&out, 0, "wqcheck: 2 passed, 0 failed");
}

#[test]
fn a_directory_argument_checks_its_scenarios() {
    let out = wqcheck(
        &root(),
        &[
            "--quiet",
            "--backend",
            "native",
            "--memory",
            "sc",
            "scenarios",
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let files = scenario_files();
    for f in &files {
        assert!(
            stdout.contains(&format!("PASS {f} [native]")),
            "{f}: {stdout}"
        );
    }
    let n = files.len();
    assert!(
        stdout.contains(&format!("wqcheck: {n} passed, 0 failed")),
        "{stdout}"
    );
}

/// Every invalid input exits 2 with `file:line:col` and a message, and no verdict.
#[test]
fn invalid_inputs_exit_2_with_a_located_message() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/invalid");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("fixtures")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".ron"))
        .collect();
    names.sort();
    assert!(names.len() >= 12, "at least 12 invalid inputs");
    for name in names {
        let out = wqcheck(&dir, &[&name]);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(2), "{name}: {stdout}{stderr}");
        assert!(stderr.is_empty(), "{name}: nothing on stderr, got {stderr}");
        assert!(
            !stdout
                .lines()
                .any(|l| l.starts_with("PASS ") || l.starts_with("FAIL ")),
            "{name}: no verdict"
        );
        let located = regex_like_location(&stdout);
        assert!(located, "{name}: no file:line:col in {stdout}");
        insta::assert_snapshot!(name.trim_end_matches(".ron"), stdout);
    }
}

/// `something.ron:3:5` or `something.wq:12:1` somewhere in the text.
fn regex_like_location(s: &str) -> bool {
    s.split_whitespace().any(|w| {
        let parts: Vec<&str> = w.trim_end_matches(':').rsplitn(3, ':').collect();
        parts.len() == 3
            && parts[0].chars().all(|c| c.is_ascii_digit())
            && parts[1].chars().all(|c| c.is_ascii_digit())
            && (parts[2].ends_with(".ron") || parts[2].ends_with(".wq"))
    })
}

/// The headline trace, as a teacher shows it: a change of semantics or of the renderer
/// shows up here.
#[test]
fn headline_trace_renders_one_column_per_thread() {
    let out = wqcheck(
        &root(),
        &["scenarios/linux-4.13-rc6-lock-page-killable.ron"],
    );
    assert_eq!(out.status.code(), Some(0));
    insta::assert_snapshot!(without_times(&String::from_utf8_lossy(&out.stdout)));
}

/// The same lost wakeup as each backend reports it (the scenario lists all three).
#[test]
fn futex_lost_wakeup_trace() {
    let out = wqcheck(&root(), &["scenarios/futex-mutex-lost-wake.ron"]);
    assert_eq!(out.status.code(), Some(0));
    insta::assert_snapshot!(without_times(&String::from_utf8_lossy(&out.stdout)));
}

/// A lost wakeup through a task pointer, on no wait queue (rcuwait before 6dc080eeb2ba):
/// task values print as thread names (`→ NULL`, `writer_task=writer`), and the sleeper's
/// `schedule() until` condition names what it waited for.
#[test]
fn rcuwait_store_buffering_trace_names_tasks() {
    let out = wqcheck(&root(), &["scenarios/linux-rcuwait-percpu-rwsem-rmb.ron"]);
    assert_eq!(out.status.code(), Some(0));
    insta::assert_snapshot!(without_times(&String::from_utf8_lossy(&out.stdout)));
}

/// The output of a scenario that meets its `expect`, natively under SC only, its times
/// blanked: for snapshots of one trace.
fn native_sc_output(scenario: &str) -> String {
    let out = wqcheck(
        &root(),
        &["--backend", "native", "--memory", "sc", scenario],
    );
    assert_eq!(out.status.code(), Some(0));
    without_times(&String::from_utf8_lossy(&out.stdout))
}

/// A lost wakeup through a wake_q (rwsem before e158488be27b): the wake_q_add() that
/// finds its task queued, the nodes, and `wake_up_q()`'s statements.
#[test]
fn wake_q_trace_shows_queued_once_and_the_wake_up_q_loop() {
    insta::assert_snapshot!(native_sc_output(
        "scenarios/linux-rwsem-reader-wake-q-v4.20.ron"
    ));
}

/// The false timeout of wait_event_timeout() before 4c663cfc523a: the timer's column, and
/// its firing after the wakeup, before `del_timer_sync()`.
#[test]
fn false_timeout_trace_shows_the_timer_firing_after_the_wakeup() {
    insta::assert_snapshot!(native_sc_output(
        "scenarios/linux-wait-event-timeout-v3.9.ron"
    ));
}

/// stdout of a run that must exit with `code` and end with `last` (the summary), both
/// asserted with the output in the message.
fn exits_with(out: &Output, code: i32, last: &str) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(code), "{stdout}");
    assert!(stdout.trim_end().ends_with(last), "{stdout}");
    stdout
}

/// A scratch directory of its own for one test.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wqcheck-cli-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("tmp");
    dir
}

/// A scenario text for the classic check-then-sleep model (a lost wakeup, found in a few
/// states), with `model` as its model path.
fn quick_scenario(model: &str) -> String {
    format!(
        "Scenario(\n    model: {model:?},\n    threads: [\n        Thread(name: \"waiter\", run: \"waiter\"),\n        Thread(name: \"waker\", run: \"waker\"),\n    ],\n    expect: LostWakeup,\n)\n"
    )
}

fn quick_model() -> String {
    root()
        .join("models/classic/check-then-sleep.wq")
        .display()
        .to_string()
}

/// Run wqcheck in `dir`, failing (not hanging) when it takes more than a minute: an input
/// that blocks must show up as a failed test.
fn wqcheck_within(dir: &Path, args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_wqcheck"))
        .current_dir(dir)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs wqcheck");
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().expect("waits").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("wqcheck {args:?} did not end within a minute");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

/// An input refused before it is read: exit 2, `message` in the output, no verdict.
fn assert_refused(out: &Output, message: &str) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{stdout}");
    assert!(stdout.contains(message), "{message:?} in {stdout}");
    assert!(
        !stdout
            .lines()
            .any(|l| l.starts_with("PASS ") || l.starts_with("FAIL ")),
        "no verdict: {stdout}"
    );
}

#[cfg(unix)]
#[test]
fn a_fifo_as_scenario_or_model_is_refused_without_waiting_for_a_writer() {
    let dir = scratch("fifo");
    for fifo in ["scenario.ron", "model.wq"] {
        let made = Command::new("mkfifo")
            .arg(dir.join(fifo))
            .status()
            .expect("mkfifo runs");
        assert!(made.success());
    }
    let out = wqcheck_within(&dir, &["scenario.ron"]);
    assert_refused(
        &out,
        "error: cannot read scenario.ron: it is a FIFO (named pipe), not a regular file",
    );
    std::fs::write(dir.join("uses-fifo.ron"), quick_scenario("model.wq")).expect("write");
    let out = wqcheck_within(&dir, &["uses-fifo.ron"]);
    assert_refused(
        &out,
        "error: cannot read the model file model.wq: it is a FIFO (named pipe), not a regular file",
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[cfg(unix)]
#[test]
fn devices_and_directories_are_refused_as_scenarios_and_models() {
    let dir = scratch("devices");
    let out = wqcheck_within(&dir, &["/dev/zero"]);
    assert_refused(
        &out,
        "error: cannot read /dev/zero: it is a character device, not a regular file",
    );
    for (name, model, kind) in [
        ("urandom.ron", "/dev/urandom", "a character device"),
        ("directory.ron", ".", "a directory"),
    ] {
        std::fs::write(dir.join(name), quick_scenario(model)).expect("write");
        let out = wqcheck_within(&dir, &[name]);
        assert_refused(
            &out,
            &format!("cannot read the model file {model}: it is {kind}, not a regular file"),
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_scenario_over_256_kib_or_a_model_over_1_mib_is_refused_naming_the_limit() {
    let dir = scratch("sizes");
    let scenario = quick_scenario(&quick_model());
    // Exactly at the limit: read and checked.
    let pad = |text: &str, size: u64| {
        let mut t = text.to_string();
        t.push_str("//");
        t.push_str(&"x".repeat(size as usize - t.len()));
        assert_eq!(t.len() as u64, size);
        t
    };
    let limit = wqcheck::MAX_SCENARIO_BYTES;
    assert_eq!(limit, 256 * 1024);
    std::fs::write(dir.join("at-limit.ron"), pad(&scenario, limit)).expect("write");
    let out = wqcheck_within(&dir, &["at-limit.ron"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    std::fs::write(dir.join("over-limit.ron"), pad(&scenario, limit + 1)).expect("write");
    let out = wqcheck_within(&dir, &["over-limit.ron"]);
    assert_refused(
        &out,
        "error: cannot read over-limit.ron: it is larger than 256 KiB, the most wqcheck reads for a scenario file",
    );

    let model = std::fs::read_to_string(quick_model()).expect("model");
    assert_eq!(wqcheck::MAX_MODEL_BYTES, 1024 * 1024);
    std::fs::write(
        dir.join("huge.wq"),
        pad(&model, wqcheck::MAX_MODEL_BYTES + 1),
    )
    .expect("write");
    std::fs::write(dir.join("huge-model.ron"), quick_scenario("huge.wq")).expect("write");
    let out = wqcheck_within(&dir, &["huge-model.ron"]);
    assert_refused(
        &out,
        "cannot read the model file huge.wq: it is larger than 1 MiB, the most wqcheck reads for a model file",
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[cfg(unix)]
#[test]
fn a_newline_in_a_file_name_cannot_forge_a_result_line() {
    let dir = scratch("names");
    let forged = "a\nPASS x [native]: Holds\n.ron";
    std::fs::write(dir.join(forged), quick_scenario(&quick_model())).expect("write");
    // And one that does not load, so the name is printed in an error too.
    let broken = "b\nPASS y [native]: Holds\n.ron";
    std::fs::write(dir.join(broken), "Scenario(").expect("write");
    let out = wqcheck_within(&dir, &["--quiet", forged, broken]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{stdout}");
    assert!(
        !stdout
            .lines()
            .any(|l| l.starts_with("PASS x") || l.starts_with("PASS y")),
        "a forged line: {stdout}"
    );
    assert!(
        stdout.contains(r"PASS a\nPASS x [native]: Holds\n.ron [native]: LostWakeup, as expected"),
        "{stdout}"
    );
    assert!(
        stdout.contains(r"ERROR b\nPASS y [native]: Holds\n.ron:"),
        "{stdout}"
    );
    assert!(
        stdout.contains(r" --> b\nPASS y [native]: Holds\n.ron:1:"),
        "{stdout}"
    );
    assert!(stdout
        .trim_end()
        .ends_with("wqcheck: 1 passed, 0 failed, 1 error"));

    let out = wqcheck_within(&dir, &["--format", "json", forged]);
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 2, "one JSON object per line: {lines:?}");
    assert_eq!(lines[0]["scenario"], r"a\nPASS x [native]: Holds\n.ron");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Every value the scenario format rejects is rejected on the command line too (exit 2,
/// nothing checked), with the scenario format's ranges.
#[test]
fn command_line_values_are_validated_like_scenario_values() {
    for (args, named) in [
        (&["--pct-depth", "0"][..], "--pct-depth"),
        (&["--pct-depth", "11"], "--pct-depth"),
        (&["--iterations", "0"], "--iterations"),
        (&["--iterations", "10000001"], "--iterations"),
        (&["--loom-max-preemptions", "11"], "--loom-max-preemptions"),
        (&["--loom-max-branches", "0"], "--loom-max-branches"),
        (&["--store-buffer", "0"], "--store-buffer"),
        (&["--store-buffer", "9"], "--store-buffer"),
        (
            &["--scheduler", "random", "--pct-depth", "3"],
            "--pct-depth",
        ),
        (&["--scheduler", "dfs", "--pct-depth", "3"], "--pct-depth"),
    ] {
        let mut all = args.to_vec();
        all.push("scenarios/classic-check-then-sleep.ron");
        let out = wqcheck(&root(), &all);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}: nothing checked");
        assert!(stderr.contains(named), "{args:?}: {stderr}");
    }
    // The ends of each range are accepted.
    let out = wqcheck(
        &root(),
        &[
            "--backend",
            "shuttle",
            "--pct-depth",
            "10",
            "--iterations",
            "1",
            "--quiet",
            "scenarios/classic-check-then-sleep.ron",
        ],
    );
    assert_ne!(out.status.code(), Some(2), "{out:?}");
    let out = wqcheck(
        &root(),
        &[
            "--backend",
            "loom",
            "--loom-max-preemptions",
            "10",
            "--loom-max-branches",
            "1",
            "--quiet",
            "scenarios/classic-check-then-sleep.ron",
        ],
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("[loom]"),
        "{out:?}"
    );
}

/// The largest `--max-seconds` is a budget without end on every engine, never an
/// arithmetic overflow (loom's wall-clock budget is twice its search budget, and a child
/// gets a grace period more).
#[test]
fn the_largest_max_seconds_is_no_overflow_on_any_engine() {
    let out = wqcheck(
        &root(),
        &[
            "--backend",
            "all",
            "--max-seconds",
            &u64::MAX.to_string(),
            "--format",
            "json",
            "scenarios/classic-prepare-then-check.ron",
        ],
    );
    let lines = json_lines(&out);
    assert_eq!(out.status.code(), Some(0), "{lines:?}");
    let backends: Vec<&str> = lines
        .iter()
        .filter(|l| l["type"] == "result")
        .map(|l| l["backend"].as_str().expect("backend"))
        .collect();
    assert_eq!(backends, ["native", "loom", "shuttle"]);
}

/// A scenario without `expect` asks what the protocol does: its verdict and trace are
/// reported (`INFO`), it counts as neither passed nor failed, and the gate still passes;
/// a failing scenario beside it still fails the run.
#[test]
fn a_scenario_without_expect_is_reported_not_checked() {
    let dir = scratch("explore");
    let text = quick_scenario(&quick_model()).replace("    expect: LostWakeup,\n", "");
    assert!(!text.contains("expect"));
    std::fs::write(dir.join("explore.ron"), &text).expect("write");
    let out = wqcheck_within(&dir, &["explore.ron"]);
    let stdout = exits_with(
        &out,
        0,
        "wqcheck: 1 result has no `expect`: reported above, not checked\nwqcheck: 0 passed, 0 failed",
    );
    assert!(
        stdout.starts_with("INFO explore.ron [native]: LostWakeup, no expectation ("),
        "{stdout}"
    );
    assert!(stdout.contains("nobody can wake it"), "{stdout}");
    let json = wqcheck_within(&dir, &["--format", "json", "explore.ron"]);
    let json = String::from_utf8_lossy(&json.stdout);
    assert!(json.contains("\"expected\":\"none\""), "{json}");
    assert!(json.trim_end().ends_with(
        "{\"errors\":0,\"explored\":1,\"failed\":0,\"passed\":0,\"type\":\"summary\",\"v\":1}"
    ));

    let wrong = quick_scenario(&quick_model()).replace("LostWakeup", "Holds");
    std::fs::write(dir.join("wrong.ron"), wrong).expect("write");
    let out = wqcheck_within(&dir, &["explore.ron", "wrong.ron"]);
    exits_with(&out, 1, "wqcheck: 0 passed, 1 failed");
}

/// A model checked directly (`wqcheck check MODEL.wq -t ...`) runs the scenario its
/// options describe: on every engine the same verdict, states and trace as the saved
/// scenario with the same threads, reported as an exploration (exit 0). Its results are
/// named by the command that repeats them, so shuttle's replay hint works as printed.
#[test]
fn a_model_checked_directly_runs_what_its_scenario_would() {
    let dir = scratch("model-run");
    let model = quick_model();
    let saved = quick_scenario(&model).replace("    expect: LostWakeup,\n", "");
    std::fs::write(dir.join("saved.ron"), saved).expect("write");
    let run = |args: &[&str]| {
        let out = wqcheck_within(&dir, args);
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        json_lines(&out)
    };
    let direct = run(&[
        "check",
        &model,
        "-t",
        "waiter",
        "--thread",
        "waker",
        "--backend",
        "all",
        "--format",
        "json",
    ]);
    let scenario = run(&["saved.ron", "--backend", "all", "--format", "json"]);
    assert_eq!(direct.len(), 4, "three engines and the summary: {direct:?}");
    let name = format!("{model} -t waiter -t waker");
    for (d, s) in direct.iter().zip(&scenario).take(3) {
        assert_eq!(d["scenario"], name.as_str());
        assert_eq!(d["verdict"], "LostWakeup");
        assert_eq!(d["expected"], "none");
        for field in [
            "backend",
            "verdict",
            "states",
            "transitions",
            "depth",
            "trace",
            "message",
        ] {
            assert_eq!(d[field], s[field], "{field} of {}", d["backend"]);
        }
    }
    assert_eq!(direct[3], scenario[3], "both are explorations");
    // The replay hint, as printed, replays the counterexample.
    let human = wqcheck_within(
        &dir,
        &[
            "check",
            &model,
            "-t",
            "waiter",
            "-t",
            "waker",
            "--backend",
            "shuttle",
            "-q",
        ],
    );
    let stdout = String::from_utf8_lossy(&human.stdout).into_owned();
    let hint = stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("replay: wqcheck "))
        .unwrap_or_else(|| panic!("a replay hint: {stdout}"));
    assert!(hint.ends_with(&name), "{hint}");
    let words: Vec<&str> = hint.split_whitespace().collect();
    let replay = wqcheck_within(&dir, &words);
    let replayed = exits_with(&replay, 0, "wqcheck: 0 passed, 0 failed");
    assert!(
        replayed.contains("LostWakeup, no expectation (1 execution"),
        "{replayed}"
    );
}

/// What a direct model run gets wrong is said where it is: a thread's unknown function
/// at the scenario line its option became (`<command line>`), with a "did you mean";
/// threads given to a scenario, a signal without threads and a malformed `--thread` are
/// usage errors. All exit 2 and print no verdict.
#[test]
fn a_model_run_with_wrong_threads_is_refused_with_the_fix() {
    let dir = scratch("model-run-errors");
    let model = quick_model();
    let out = wqcheck_within(&dir, &["check", &model, "-t", "waiter", "-t", "wakr"]);
    let stdout = exits_with(&out, 2, "wqcheck: 0 passed, 0 failed, 1 error");
    assert!(
        stdout.contains("error: unknown function `wakr` in `run`"),
        "{stdout}"
    );
    assert!(stdout.contains("--> <command line>:5:"), "{stdout}");
    assert!(stdout.contains("help: did you mean `waker`?"), "{stdout}");
    assert!(!stdout.contains("LostWakeup"), "{stdout}");

    let scenario = root().join("scenarios/classic-check-then-sleep.ron");
    for (args, says) in [
        (
            vec![scenario.to_str().unwrap(), "-t", "waiter"],
            "a scenario (`.ron`) says it itself",
        ),
        (
            vec![&model, "--fatal-signal", "waiter"],
            "add `--thread FUNCTION` for each thread",
        ),
        (
            vec![&model, "-t", "waiter(1"],
            "the arguments have no closing `)`",
        ),
        (vec!["check"], "`check` takes scenarios"),
    ] {
        let out = wqcheck_within(&dir, &args);
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.code(), Some(2), "{args:?}: {all}");
        assert!(all.contains(says), "{args:?}: {all}");
        assert!(
            !all.contains("PASS") && !all.contains("INFO"),
            "{args:?}: {all}"
        );
    }
    // A model given without threads says how to give them.
    let out = wqcheck_within(&dir, &[&model]);
    let stdout = exits_with(&out, 2, "1 error");
    assert!(
        stdout.contains(&format!("`wqcheck check {model} -t waiter -t waker`")),
        "{stdout}"
    );
}

/// `wqcheck list` prints, without running anything, a line per run a check would make,
/// with the verdict it expects: the same runs, in the same order, as the check's results.
#[test]
fn list_names_each_run_a_check_would_make() {
    let dir = scratch("list");
    let files: Vec<String> = [
        "scenarios/classic-check-then-sleep.ron",
        "scenarios/classic-set-current-state-no-barrier.ron",
        "scenarios/linux-vfork-done.ron",
    ]
    .iter()
    .map(|f| root().join(f).display().to_string())
    .collect();
    let args: Vec<&str> = files.iter().map(String::as_str).collect();
    let listed = wqcheck_within(&dir, &[&["list"], args.as_slice()].concat());
    assert_eq!(listed.status.code(), Some(0), "{listed:?}");
    let listed: Vec<Vec<String>> = String::from_utf8_lossy(&listed.stdout)
        .lines()
        .map(|l| l.split_whitespace().map(String::from).collect())
        .collect();
    let checked = wqcheck_within(
        &dir,
        &[&["--format", "json", "-q"], args.as_slice()].concat(),
    );
    let runs: Vec<Vec<String>> = json_lines(&checked)
        .iter()
        .filter(|r| r["type"] == "result")
        .map(|r| {
            let s = |k: &str| r[k].as_str().unwrap_or_default().to_string();
            let mut v = vec![s("scenario"), s("backend")];
            if r["backend"] == "native" {
                v.push(s("memory"));
            }
            v.push(s("expected"));
            v
        })
        .collect();
    assert_eq!(listed, runs);
    assert!(listed.len() >= 8, "{listed:?}");

    std::fs::write(dir.join("broken.ron"), "Scenario(model: 1)").expect("write");
    let out = wqcheck_within(&dir, &["list", "broken.ron"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("broken.ron:1:"),
        "{out:?}"
    );
}

/// `--progress` draws a bar on stderr, of the search's own budget (loom and shuttle: the
/// time their result line names), and takes it off before the result: the output on
/// stdout is what a run without it prints.
#[test]
fn progress_draws_a_bar_on_stderr_and_leaves_the_output_alone() {
    let dir = scratch("progress");
    let model = root()
        .join("models/futex/go-runtime-note.wq")
        .display()
        .to_string();
    let args = [
        "check",
        &model,
        "-t",
        "notesleeper",
        "-t",
        "notewaker",
        "--backend",
        "shuttle",
        "--iterations",
        "300000",
        "--max-seconds",
        "90",
        "-j",
        "1",
    ];
    let plain = wqcheck_within(&dir, &args);
    let with = wqcheck_within(&dir, &[&args[..], &["--progress"]].concat());
    let stdout = |o: &Output| without_times(&String::from_utf8_lossy(&o.stdout));
    assert_eq!(stdout(&with), stdout(&plain));
    assert!(stdout(&with).contains("NoViolationFound, no expectation (300,000 executions"));
    assert!(plain.stderr.is_empty(), "{plain:?}");
    let stderr = String::from_utf8_lossy(&with.stderr);
    let line = stderr
        .split('\r')
        .find(|l| l.contains("[shuttle]: ["))
        .unwrap_or_else(|| panic!("a progress line: {stderr:?}"));
    assert!(line.contains(" s of at most 90 s"), "{line:?}");
    assert!(stderr.ends_with('\r'), "the line is taken off: {stderr:?}");
}

/// `wqcheck ... | head`: a reader that goes away ends the run with SIGPIPE's exit code
/// (141, as a shell reports it), not as an input error, and prints nothing on stderr.
#[test]
fn a_closed_output_pipe_exits_as_sigpipe() {
    let dir = scratch("sigpipe");
    std::fs::write(dir.join("a.ron"), quick_scenario(&quick_model())).expect("write");
    // The reader is gone before the child starts, so its first write fails, however
    // fast it runs (a reader closed after `spawn()` races with a child that fits its
    // output in the pipe's buffer).
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let out = Command::new(env!("CARGO_BIN_EXE_wqcheck"))
        .current_dir(&dir)
        .args(["a.ron", "a.ron", "a.ron"])
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(141));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `wqcheck help` prints the help (where no file is named `help`); a model given where a
/// scenario belongs gets an input error with a scenario to start from, naming the
/// model's thread bodies.
#[test]
fn help_and_a_model_given_as_a_scenario_are_answered() {
    let dir = scratch("help");
    let out = wqcheck_within(&dir, &["help"]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("Usage: wqcheck"), "{stdout}");
    assert!(stdout.contains("--backend"), "{stdout}");

    std::fs::copy(quick_model(), dir.join("m.wq")).expect("copy");
    let out = wqcheck_within(&dir, &["m.wq"]);
    assert_eq!(out.status.code(), Some(2));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("error: m.wq is a model (`.wq`), not a scenario"),
        "{stdout}"
    );
    assert!(
        stdout.contains("threads: [Thread(name: \"waiter\", run: \"waiter\"), Thread(name: \"waker\", run: \"waker\")],"),
        "{stdout}"
    );
    // The scenario it suggests runs as it is.
    let suggested: String = stdout
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("Scenario("))
        .take_while(|l| !l.trim().is_empty())
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(dir.join("s.ron"), suggested).expect("write");
    let out = wqcheck_within(&dir, &["s.ron"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("INFO s.ron [native]: LostWakeup"));
}

/// `--filter TEXT` keeps the scenarios whose path contains TEXT (any of several); a filter
/// that keeps nothing is a usage error, never an empty pass.
#[test]
fn filter_keeps_the_scenarios_whose_path_contains_it() {
    let out = wqcheck(
        &root(),
        &[
            "--quiet",
            "--backend",
            "native",
            "--memory",
            "sc",
            "--filter",
            "kthread-stop",
            "--filter",
            "rcuwait-percpu-rwsem.ron",
            "scenarios/",
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let checked: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("PASS "))
        .map(|l| l.split_whitespace().nth(1).unwrap_or(""))
        .collect();
    assert_eq!(
        checked,
        [
            "scenarios/linux-kthread-stop-test-first.ron",
            "scenarios/linux-kthread-stop.ron",
            "scenarios/linux-rcuwait-percpu-rwsem.ron",
        ]
    );
    let out = wqcheck(&root(), &["--filter", "no-such-scenario", "scenarios/"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("no scenario path contains `no-such-scenario`: nothing to check"));
}

/// A run-time error in a thread's first, local statements has no step to show in a
/// trace: every engine names the thread and the line instead, and says that the
/// violation came before the first step.
#[test]
fn a_fault_before_the_first_step_names_the_thread_and_the_line() {
    let dir = scratch("first-step");
    std::fs::write(
        dir.join("m.wq"),
        "bit done[2];\n\nvoid t(int i)\n{\n\tdone[i] = 1;\n}\n",
    )
    .expect("write");
    std::fs::write(
        dir.join("s.ron"),
        r#"Scenario(model: "m.wq", threads: [Thread(name: "t0", run: "t", args: [2])], backends: [Native, Loom, Shuttle], expect: AssertionFailed)"#,
    )
    .expect("write");
    let out = wqcheck(&dir, &["s.ron"]);
    let stdout = exits_with(&out, 0, "wqcheck: 3 passed, 0 failed");
    for engine in ["native", "loom", "shuttle"] {
        assert!(
            stdout.contains(&format!(
                "PASS s.ron [{engine}]: AssertionFailed, as expected (0 "
            )),
            "{stdout}"
        );
    }
    assert_eq!(
        stdout.matches("found before the first step").count(),
        3,
        "{stdout}"
    );
    assert_eq!(
        stdout
            .matches("=> t0: index 2 is out of bounds of `done[2]` (before its first step, line 5: `done[i] = 1;`)")
            .count(),
        3,
        "{stdout}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--jobs 2` prints what `--jobs 1` prints, in the same order, timings aside: results,
/// traces, an input error between them, and the summary. Two of the scenarios run on
/// loom or shuttle, in child processes, while the native searches run in this one.
#[test]
fn two_jobs_print_what_one_job_prints() {
    let dir = scratch("jobs");
    std::fs::write(dir.join("a-quick.ron"), quick_scenario(&quick_model())).expect("write");
    std::fs::write(dir.join("b-broken.ron"), "Scenario(model: 1)").expect("write");
    let scenarios = [
        "scenarios/linux-4.13-rc6-lock-page-killable.ron",
        "scenarios/classic-check-then-sleep.ron",
        "scenarios/futex-mutex-lost-wake.ron",
        "scenarios/linux-vfork-done-racy.ron",
        "scenarios/linux-vfork-done.ron",
    ];
    let mut args: Vec<String> = vec![dir.join("a-quick.ron").display().to_string()];
    args.extend(
        scenarios
            .iter()
            .map(|s| root().join(s).display().to_string()),
    );
    args.push(dir.join("b-broken.ron").display().to_string());
    let run = |jobs: &str| {
        let mut a: Vec<&str> = vec!["--jobs", jobs];
        a.extend(args.iter().map(String::as_str));
        let out = wqcheck(&root(), &a);
        assert_eq!(
            out.status.code(),
            Some(2),
            "the broken scenario is an error"
        );
        without_times(&String::from_utf8_lossy(&out.stdout))
    };
    let one = run("1");
    assert!(one.contains("[loom]") && one.contains("[shuttle]") && one.contains("\n  #  "));
    assert!(one.find("a-quick.ron") < one.find("lock-page-killable.ron"));
    assert!(one.find("vfork-done.ron [shuttle]") < one.find("b-broken.ron"));
    assert_eq!(run("2"), one);
    assert_eq!(run("3"), one);
}

/// `--partition K/N` splits the scenarios, as given, by their position: the parts of a
/// CI matrix check each scenario exactly once, and together print the results of the
/// whole run.
#[test]
fn partitions_check_each_scenario_once() {
    let result_lines = |extra: &[&str]| -> Vec<String> {
        let mut a = vec!["--quiet", "--backend", "native", "--memory", "sc"];
        a.extend_from_slice(extra);
        a.push("scenarios/");
        let out = wqcheck(&root(), &a);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert_eq!(out.status.code(), Some(0), "{stdout}");
        without_times(&stdout)
            .lines()
            .filter(|l| l.starts_with("PASS ") || l.starts_with("FAIL "))
            .map(String::from)
            .collect()
    };
    let whole = result_lines(&[]);
    assert_eq!(whole.len(), scenario_files().len());
    let mut parts: Vec<String> = Vec::new();
    for k in ["1/3", "2/3", "3/3"] {
        let part = result_lines(&["--partition", k]);
        assert!(part.len() >= whole.len() / 3, "{k}: {}", part.len());
        parts.extend(part);
    }
    parts.sort();
    let mut sorted = whole.clone();
    sorted.sort();
    assert_eq!(parts, sorted);

    for bad in ["0/2", "3/2", "2", "a/b", "1/0"] {
        let out = wqcheck(&root(), &["--partition", bad, "scenarios/"]);
        assert_eq!(out.status.code(), Some(2), "{bad}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("is not a partition: give `K/N`"),
            "{bad}: {stderr}"
        );
    }
    let out = wqcheck(
        &root(),
        &["--partition", "2/2", "scenarios/linux-vfork-done.ron"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("part 2/2 of 1 scenario(s) is empty: nothing to check"));
}

/// `wqcheck merge` joins the JSON results of the parts of a partitioned run into those
/// of the whole run: the same lines in the same order (timings aside) and the summed
/// summary; a part that is not a finished run's JSON is refused.
#[test]
fn merged_parts_equal_the_whole_run() {
    let dir = scratch("merge");
    let json = |extra: &[&str]| -> String {
        let mut a = vec!["--format", "json", "--backend", "native", "--memory", "sc"];
        a.extend_from_slice(extra);
        a.push("scenarios/");
        let out = wqcheck(&root(), &a);
        assert_eq!(out.status.code(), Some(0));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let timeless = |text: &str| -> Vec<serde_json::Value> {
        text.lines()
            .map(|l| {
                let mut v: serde_json::Value = serde_json::from_str(l).expect("json");
                if let Some(o) = v.as_object_mut() {
                    o.remove("elapsed_ms");
                }
                v
            })
            .collect()
    };
    let whole = json(&[]);
    let mut parts = Vec::new();
    for k in ["1/3", "2/3", "3/3"] {
        let f = dir.join(format!("part-{}.jsonl", &k[..1]));
        std::fs::write(&f, json(&["--partition", k])).expect("write");
        parts.push(f.display().to_string());
    }
    let mut args = vec!["merge"];
    args.extend(parts.iter().map(String::as_str));
    let merged = wqcheck(&root(), &args);
    assert_eq!(merged.status.code(), Some(0));
    let merged = String::from_utf8_lossy(&merged.stdout);
    assert_eq!(timeless(&merged), timeless(&whole));
    assert!(merged.trim_end().ends_with(&format!(
        "{{\"errors\":0,\"failed\":0,\"passed\":{},\"type\":\"summary\",\"v\":1}}",
        scenario_files().len()
    )));

    // Given out of order, the results come out of order: the order is the parts'.
    let swapped = wqcheck(&root(), &["merge", &parts[1], &parts[0], &parts[2]]);
    assert_ne!(
        timeless(&String::from_utf8_lossy(&swapped.stdout)),
        timeless(&whole)
    );

    let cut = dir.join("cut.jsonl");
    let text = std::fs::read_to_string(&parts[0]).expect("read");
    std::fs::write(&cut, text.lines().next().expect("a line")).expect("write");
    let out = wqcheck(&root(), &["merge", &parts[1], cut.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cut.jsonl: no summary line"));
    let human = dir.join("human.txt");
    std::fs::write(&human, "PASS a.ron [native]: Holds\n").expect("write");
    let out = wqcheck(&root(), &["merge", human.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("human.txt:1: not a JSON line"));
}

/// One run writes the terminal report, JUnit XML, Markdown and GitHub annotations at once. The JUnit has a
/// suite per scenario and a case per engine run, the unmet expectation a failure whose
/// body is the trace, the unreadable scenario an error; the Markdown (snapshot) has the
/// runs' table and each trace as a table and a Mermaid diagram with a lifeline per
/// thread and the wakeup as an arrow.
#[test]
fn one_run_writes_junit_markdown_and_annotations_beside_the_terminal_report() {
    let dir = scratch("reports");
    let wrong = quick_scenario(&quick_model()).replace("LostWakeup", "Holds");
    std::fs::write(dir.join("wrong.ron"), wrong).expect("write");
    std::fs::write(dir.join("broken.ron"), "Scenario(model: 1)").expect("write");
    let (junit, markdown) = (dir.join("report.xml"), dir.join("report.md"));
    let out = wqcheck_within(
        &dir,
        &[
            "--quiet",
            "--junit",
            "report.xml",
            "--markdown",
            "report.md",
            "--github-annotations",
            "annotations.txt",
            &root()
                .join("scenarios/linux-4.13-rc6-lock-page-killable.ron")
                .display()
                .to_string(),
            "wrong.ron",
            "broken.ron",
        ],
    );
    exits_with(&out, 2, "wqcheck: 1 passed, 1 failed, 1 error");

    let xml = std::fs::read_to_string(&junit).expect("the JUnit report");
    let xsd =
        std::fs::read_to_string(root().join("crates/wqcheck-report/tests/fixtures/junit-10.xsd"))
            .expect("the vendored JUnit schema");
    let invalid = junit_xsd::Schema::from_xsd(&xsd).validate(&xml);
    assert!(
        invalid.is_empty(),
        "the report breaks the JUnit schema: {invalid:?}\n{xml}"
    );
    let report = quick_junit::Report::deserialize_from_str(&xml).expect("JUnit XML");
    assert_eq!((report.tests, report.failures, report.errors), (3, 1, 1));
    let suites: Vec<(&str, usize)> = report
        .test_suites
        .iter()
        .map(|s| (s.name.as_str(), s.test_cases.len()))
        .collect();
    assert_eq!(suites.len(), 3);
    assert!(suites[0].0.ends_with("lock-page-killable.ron") && suites[0].1 == 1);
    assert_eq!(&suites[1..], &[("wrong.ron", 1), ("broken.ron", 1)]);
    let wrong = &report.test_suites[1];
    let names: Vec<&str> = wrong.test_cases.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["native sc"]);
    match &wrong.test_cases[0].status {
        quick_junit::TestCaseStatus::NonSuccess {
            kind,
            message,
            description,
            ..
        } => {
            assert_eq!(*kind, quick_junit::NonSuccessKind::Failure);
            assert_eq!(
                message.as_ref().map(|m| m.as_str()),
                Some("LostWakeup, expected Holds")
            );
            let body = description.as_ref().map(|d| d.as_str()).unwrap_or("");
            assert!(body.contains("prepare_to_wait(&wq, &wait"), "{body}");
        }
        other => panic!("{other:?}"),
    }

    let md = std::fs::read_to_string(&markdown).expect("the Markdown report");
    let md = md.replace(&root().display().to_string(), "<root>");
    let timeless: String = md
        .lines()
        .map(|l| match l.rfind(" s |") {
            Some(end) if l.starts_with("| ") => {
                let start = l[..end].rfind("| ").map_or(end, |i| i + 2);
                format!("{}<elapsed>{}\n", &l[..start], &l[end..])
            }
            _ => format!("{l}\n"),
        })
        .collect();
    insta::assert_snapshot!(timeless);

    // The unmet expectation on the model line of the trace's last step (the waiter's
    // `prepare_to_wait()`, after the wakeup it missed); the input error where it points.
    let annotations = std::fs::read_to_string(dir.join("annotations.txt")).expect("annotations");
    let root_dir = root().display().to_string();
    let root_dir = wqcheck_report::github::normalize(&root_dir);
    insta::assert_snapshot!(annotations.replace(&root_dir, "<root>"), @r#"
    ::error file=<root>/models/classic/check-then-sleep.wq,line=46,title=wrong.ron [native sc]%3A LostWakeup%2C expected Holds::condition=1; waiter asleep in schedule() on wq waiting for `condition`, which holds; nobody can wake it
    ::error file=broken.ron,line=1,col=17,title=broken.ron could not be checked::expected a string in double quotes, like `"thread1"`
    "#);

    // A report on the output is for the human format: JSON Lines stay JSON.
    let out = wqcheck(
        &dir,
        &["--format", "json", "--github-annotations", "-", "wrong.ron"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("give the report a file"));
    let out = wqcheck(&dir, &["--quiet", "--github-annotations", "-", "wrong.ron"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with("::error file=") && stdout.contains("\nFAIL wrong.ron [native]"),
        "{stdout}"
    );

    // A report that cannot be written is an error before any scenario is checked.
    let out = wqcheck(&dir, &["--junit", "no-such-dir/report.xml", "wrong.ron"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("wqcheck: cannot write the report no-such-dir/report.xml: "));
}

/// A trace step in a prelude header names the header its lines are in (JSON `file`);
/// a step of the model's own code has none, and the result names the model.
#[test]
fn prelude_steps_name_their_header_in_json() {
    for backend in ["native", "loom"] {
        let out = wqcheck(
            &root(),
            &[
                "--format",
                "json",
                "--backend",
                backend,
                "--memory",
                "sc",
                "scenarios/linux-vfork-done-racy.ron",
            ],
        );
        let r = &json_lines(&out)[0];
        assert_eq!(r["model"], "scenarios/../models/linux/vfork-done.wq");
        let trace = r["trace"].as_array().expect("trace");
        let in_header = |text: &str| {
            trace
                .iter()
                .find(|s| s["text"] == text)
                .map(|s| s["file"].clone())
                .unwrap_or_else(|| panic!("{backend}: no step `{text}`"))
        };
        assert_eq!(
            in_header("spin_lock_irq(&x->wait.lock);"),
            "<prelude>/linux/completion.wq",
            "{backend}"
        );
        assert_eq!(in_header("assert(parent_frame);"), serde_json::Value::Null);
    }
}

/// An input error is a JSON `error` record with each problem on its own: file, line,
/// column, message and help (`null` line and column for a file that cannot be read),
/// beside the rendered text; the summary counts it under `errors`.
#[test]
fn input_errors_are_structured_records_in_json() {
    let dir = scratch("records");
    std::fs::write(
        dir.join("m.wq"),
        "#include <linux/completion.h>\nstruct completion done;\nvoid t(void)\n{\n\twait_for_completon(&done);\n\tcomplet(&done);\n}\n",
    )
    .expect("write");
    std::fs::write(
        dir.join("s.ron"),
        "Scenario(model: \"m.wq\", threads: [Thread(name: \"a\", run: \"t\")])",
    )
    .expect("write");
    let out = wqcheck(&dir, &["--format", "json", "s.ron", "missing.ron"]);
    assert_eq!(out.status.code(), Some(2));
    let lines = json_lines(&out);
    let records: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| l["type"] == "error")
        .flat_map(|l| l["diagnostics"].as_array().expect("diagnostics"))
        .collect();
    assert_eq!(
        records,
        [
            &serde_json::json!({"file": "m.wq", "line": 5, "column": 2,
                "message": "unknown function or builtin `wait_for_completon`",
                "help": "did you mean `wait_for_completion`?"}),
            &serde_json::json!({"file": "m.wq", "line": 6, "column": 2,
                "message": "unknown function or builtin `complet`",
                "help": "did you mean `complete`?"}),
            &serde_json::json!({"file": "missing.ron", "line": null, "column": null,
                "message": "cannot read missing.ron: No such file or directory (os error 2)",
                "help": null}),
        ]
    );
    assert!(lines[0]["message"]
        .as_str()
        .is_some_and(|m| m.contains(" --> m.wq:5:2")));
    assert_eq!(lines.last().expect("summary")["errors"], 2);
}

/// `wqcheck completions SHELL` and `wqcheck man` print what an install needs, from the
/// same option list as `--help` (a new option shows in both).
#[test]
fn completions_and_the_manual_page_list_the_options() {
    for shell in ["bash", "zsh", "fish"] {
        let out = wqcheck(&root(), &["completions", shell]);
        assert_eq!(out.status.code(), Some(0), "{shell}");
        let text = String::from_utf8_lossy(&out.stdout);
        // fish spells them `-l partition`.
        for option in ["partition", "junit", "loom-max-preemptions"] {
            assert!(text.contains(option), "{shell}: {option}");
        }
    }
    let out = wqcheck(&root(), &["man"]);
    assert_eq!(out.status.code(), Some(0));
    let man = String::from_utf8_lossy(&out.stdout);
    assert!(man.contains(".TH wqcheck 1"), "{man}");
    assert!(man.contains("\\-\\-github\\-annotations") && man.contains("merge"));
    let out = wqcheck(&root(), &["completions", "cmd.exe"]);
    assert_eq!(out.status.code(), Some(2));
}

/// `--color always` colours the marks (PASS green, FAIL and ERROR red); `auto`, the
/// default, leaves output that is not a terminal (a pipe, a file, CI's log) plain, and
/// JSON is never coloured.
#[test]
fn marks_are_coloured_only_when_asked_or_on_a_terminal() {
    let dir = scratch("color");
    let wrong = quick_scenario(&quick_model()).replace("LostWakeup", "Holds");
    std::fs::write(dir.join("wrong.ron"), wrong).expect("write");
    std::fs::write(dir.join("right.ron"), quick_scenario(&quick_model())).expect("write");
    std::fs::write(dir.join("broken.ron"), "Scenario(model: 1)").expect("write");
    let files = ["right.ron", "wrong.ron", "broken.ron"];
    let run = |extra: &[&str]| {
        let mut a = vec!["--quiet"];
        a.extend_from_slice(extra);
        a.extend_from_slice(&files);
        String::from_utf8_lossy(&wqcheck(&dir, &a).stdout).into_owned()
    };
    let coloured = run(&["--color", "always"]);
    assert!(
        coloured.starts_with("\u{1b}[1;32mPASS\u{1b}[0m right.ron [native]"),
        "{coloured}"
    );
    assert!(
        coloured.contains("\n\u{1b}[1;31mFAIL\u{1b}[0m wrong.ron [native]"),
        "{coloured}"
    );
    assert!(
        coloured.contains("\n\u{1b}[1;31mERROR\u{1b}[0m broken.ron:"),
        "{coloured}"
    );
    for plain in [run(&[]), run(&["--color", "never"])] {
        assert!(!plain.contains('\u{1b}'), "{plain}");
        assert_eq!(
            without_times(&plain),
            without_times(
                &coloured
                    .replace("\u{1b}[1;32m", "")
                    .replace("\u{1b}[1;31m", "")
                    .replace("\u{1b}[0m", "")
            )
        );
    }
    assert!(!run(&["--color", "always", "--format", "json"]).contains('\u{1b}'));
}

/// `--explain` follows a trace's table with each step and the model's source around the
/// line it ran (marked `>`), and what the step returned and changed; an actor's move has
/// no source. Steps in a prelude header show the header's own lines (the vfork test
/// below).
#[test]
fn explain_shows_each_step_with_its_source() {
    let out = wqcheck(
        &root(),
        &[
            "--explain",
            "--backend",
            "native",
            "scenarios/classic-check-then-sleep.ron",
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    insta::assert_snapshot!(without_times(&String::from_utf8_lossy(&out.stdout)));

    let out = wqcheck(
        &root(),
        &[
            "--explain",
            "--backend",
            "native",
            "--memory",
            "sc",
            "scenarios/linux-vfork-done-racy.ron",
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(
            "  1. parent at <prelude>/linux/completion.wq:136\n      135 |\n    > 136 | \tspin_lock_irq(&x->wait.lock);\n"
        ),
        "{text}"
    );
    assert!(text
        .contains("\n  6. signal: fatal signal to parent\n      parent: fatal signal pending\n"));
}

/// `--width N` (a terminal's width, by default, when the output is one) lays the trace
/// out to fit: no table line is wider, and no cell is cut (`…`): long ones wrap onto
/// the row's next lines. Without it the layout is fixed, cut at 42 characters.
#[test]
fn traces_fit_the_width_by_wrapping_not_cutting() {
    let run = |extra: &[&str]| {
        let mut a = vec!["--backend", "native", "--memory", "sc"];
        a.extend_from_slice(extra);
        a.push("scenarios/linux-4.13-rc6-lock-page-killable.ron");
        String::from_utf8_lossy(&wqcheck(&root(), &a).stdout).into_owned()
    };
    let fixed = run(&[]);
    assert!(fixed.contains("__add_wait_queue_entry_tail_exclusive(q, …"));
    for width in ["100", "160"] {
        let out = run(&["--width", width]);
        let table: Vec<&str> = out
            .lines()
            .skip_while(|l| !l.starts_with("  #"))
            .take_while(|l| !l.starts_with("  rows") && !l.starts_with("  =>"))
            .collect();
        assert!(table.len() > 25, "{out}");
        let w: usize = width.parse().expect("number");
        for l in &table {
            assert!(l.chars().count() <= w, "{width}: {l:?}");
            assert!(!l.contains('…'), "{width}: {l:?}");
        }
        // The long call's end, which the fixed layout cuts, is on a line of its row.
        assert!(
            table.iter().any(|l| l.contains("usive(q, wait);"))
                || table
                    .windows(2)
                    .any(|w| w[0].contains("exclusive(q,") && w[1].contains("wait);")),
            "{width}: {out}"
        );
    }
}
