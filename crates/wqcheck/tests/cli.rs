//! The command line as a user (or a CI job) sees it: output formats and exit codes.

mod common;

use common::{json_lines, root, scenario_files, wqcheck};
use std::path::PathBuf;

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
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("FAIL wrong.ron [native]: LostWakeup, expected Holds"),
        "{stdout}"
    );
    assert!(
        stdout.trim_end().ends_with("wqcheck: 0 passed, 1 failed"),
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
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.trim_end().ends_with("wqcheck: 2 passed, 0 failed"),
        "{stdout}"
    );
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

/// Replace the elapsed time in result lines, the one part of the output that varies.
fn without_times(s: &str) -> String {
    s.lines()
        .map(|l| match l.find(" s, ") {
            Some(end) if l.starts_with("PASS ") || l.starts_with("FAIL ") => {
                let start = l[..end].rfind(", ").map(|i| i + 2).unwrap_or(end);
                format!("{}<elapsed>{}", &l[..start], &l[end..])
            }
            _ => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
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
