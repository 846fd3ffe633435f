//! Running the wqcheck binary as a user does, for the CLI tests.

#![allow(dead_code, reason = "each test file uses a different subset")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Run `wqcheck args...` in `dir` with extra environment variables.
pub fn wqcheck_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wqcheck"))
        .current_dir(dir)
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("runs wqcheck")
}

pub fn wqcheck(dir: &Path, args: &[&str]) -> Output {
    wqcheck_env(dir, args, &[])
}

/// Output with each result line's elapsed time (`0.004 s`) replaced by `<elapsed>` and
/// trailing blanks dropped, so that timings do not make a snapshot or a doc wrong.
pub fn without_times(s: &str) -> String {
    s.lines()
        .map(|l| {
            let result = ["PASS ", "FAIL ", "INFO "].iter().any(|p| l.starts_with(p));
            match l.find(" s, ") {
                Some(end) if result => {
                    let start = l[..end].rfind(", ").map_or(end, |i| i + 2);
                    format!("{}<elapsed>{}", &l[..start], &l[end..])
                }
                _ => l.trim_end().to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// stdout as JSON Lines.
pub fn json_lines(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// `scenarios/*.ron`, relative to the repository root, sorted.
pub fn scenario_files() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(root().join("scenarios"))
        .expect("scenarios/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "ron"))
        .map(|p| format!("scenarios/{}", p.file_name().unwrap().to_str().unwrap()))
        .collect();
    v.sort();
    v
}

/// An injected panic, and an injected abort, inside a `backend` run of the headline
/// scenario: each is an internal error for that scenario only (exit 2, no panic noise),
/// and the other scenario still reports its verdict.
pub fn assert_injected_failures_are_internal_errors(backend: &str) {
    for kind in ["panic", "abort"] {
        let out = wqcheck_env(
            &root(),
            &[
                "--backend",
                backend,
                "--format",
                "json",
                "scenarios/linux-4.13-rc6-lock-page-killable.ron",
                "scenarios/classic-check-then-sleep.ron",
            ],
            &[("WQCHECK_INJECT_PANIC", &format!("{kind}:rc6-lock-page"))],
        );
        assert_eq!(out.status.code(), Some(2), "{backend} {kind}: {out:?}");
        let lines = json_lines(&out);
        assert_eq!(lines.len(), 3, "{backend} {kind}: {lines:?}");
        assert_eq!(lines[0]["type"], "error", "{backend} {kind}");
        let message = lines[0]["message"].as_str().expect("message");
        assert!(
            message.contains("internal error"),
            "{backend} {kind}: {message}"
        );
        assert!(
            !message.contains("panicked at"),
            "no panic noise: {message}"
        );
        assert_eq!(lines[1]["type"], "result", "{backend} {kind}");
        assert_eq!(lines[1]["verdict"], "LostWakeup", "{backend} {kind}");
        assert_eq!(
            lines[2],
            serde_json::json!({"type": "summary", "v": 1, "passed": 1, "failed": 0, "errors": 1})
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{backend} {kind}: {stderr}");
    }
}
