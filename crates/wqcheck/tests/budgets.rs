//! Budgets through the command line, as a user or CI gives them (issue 9): a time budget
//! holds however long one execution of the model runs, a budget too large for the clock
//! is no budget rather than an internal error, a run that finished no execution never
//! passes the gate, and a one-thread scenario gets a verdict from every scheduler.
//!
//! The timing assertions are the budget-honouring kind only, with generous slack for a
//! loaded machine: a run given 2 s must end within 2 s more.

mod common;

use std::time::{Duration, Instant};

use common::{json_lines, root, wqcheck};

/// A thread that busy-waits, each step slowly, for a flag nobody sets.
const BUSY_WAIT: &str = "crates/wqcheck/tests/fixtures/budgets/busy-wait.ron";
const ONE_THREAD: &str = "crates/wqcheck/tests/fixtures/budgets/one-thread.ron";
const ONE_THREAD_ASSERT: &str = "crates/wqcheck/tests/fixtures/budgets/one-thread-assert.ron";
/// A scenario that expects `Holds` and has no violation on any engine.
const HOLDS: &str = "scenarios/linux-5.9-lock-page-killable.ron";

/// Run `wqcheck --format json args...` from the repository root: the exit code, the one
/// result object, and the wall-clock time the whole run took.
fn run_json(args: &[&str]) -> (Option<i32>, serde_json::Value, Duration) {
    let start = Instant::now();
    let mut all = vec!["--format", "json"];
    all.extend_from_slice(args);
    let out = wqcheck(&root(), &all);
    let took = start.elapsed();
    let lines = json_lines(&out);
    let result = lines
        .iter()
        .find(|l| l["type"] == "result")
        .unwrap_or_else(|| {
            panic!(
                "a result in {lines:?}; stderr: {}",
                String::from_utf8_lossy(&out.stderr)
            )
        })
        .clone();
    (out.status.code(), result, took)
}

/// The busy-wait makes 100,000 slow steps per execution (shuttle's step bound) or as many
/// as loom's `max_branches` allows: tens of seconds. Checked only between executions, a
/// 2 s budget ran until the parent killed the child at 32 s, "Inconclusive, 0 executions".
fn assert_stops_within_its_time_budget(backend_args: &[&str]) {
    let mut args = backend_args.to_vec();
    args.extend_from_slice(&["--max-seconds", "2", BUSY_WAIT]);
    let (code, r, took) = run_json(&args);
    assert!(
        took < Duration::from_millis(4500),
        "{backend_args:?}: {took:?} for a 2 s budget: {r}"
    );
    assert_eq!(code, Some(1), "{backend_args:?}: {r}");
    assert_eq!(r["verdict"], "Inconclusive", "{backend_args:?}: {r}");
    assert_eq!(r["ok"], false);
    // No execution finished: the one the deadline stopped does not count.
    assert_eq!(r["states"], 0, "{backend_args:?}: {r}");
    let hit = r["budget_hit"].as_str().expect("which budget");
    assert!(hit.contains("max_seconds"), "{backend_args:?}: {hit}");
    assert!(!hit.contains("killed"), "stopped by itself: {hit}");
}

#[test]
fn a_busy_waiting_shuttle_run_stops_within_its_time_budget() {
    assert_stops_within_its_time_budget(&["--backend", "shuttle"]);
}

#[test]
fn a_busy_waiting_loom_run_stops_within_its_time_budget() {
    // loom's own bound on an execution, max_branches, lets this one run for minutes.
    assert_stops_within_its_time_budget(&["--backend", "loom", "--loom-max-branches", "1000000"]);
}

#[test]
fn zero_seconds_of_shuttle_fail_the_gate() {
    let (code, r, _) = run_json(&["--backend", "shuttle", "--max-seconds", "0", HOLDS]);
    assert_eq!(r["verdict"], "Inconclusive", "{r}");
    assert_eq!(r["states"], 0, "{r}");
    assert_eq!(r["ok"], false, "{r}");
    assert_eq!(code, Some(1), "{r}");
    let hit = r["budget_hit"].as_str().expect("which budget");
    assert!(hit.contains("max_seconds"), "{hit}");
}

#[test]
fn zero_seconds_of_loom_fail_the_gate() {
    let (code, r, _) = run_json(&["--backend", "loom", "--max-seconds", "0", HOLDS]);
    assert_eq!(r["verdict"], "Inconclusive", "{r}");
    assert_eq!(r["states"], 0, "{r}");
    assert_eq!(code, Some(1), "{r}");
}

#[test]
fn a_time_budget_too_large_for_the_clock_is_no_budget() {
    // 2^63 s doubled (loom's run may take twice its budget), 2^64 - 30 s plus the parent's
    // 30 s of grace, and the largest value: each overflowed a duration.
    for seconds in [
        "9223372036854775808",
        "18446744073709551586",
        "18446744073709551615",
    ] {
        for backend in ["shuttle", "loom", "native"] {
            let (code, r, _) = run_json(&["--backend", backend, "--max-seconds", seconds, HOLDS]);
            assert_eq!(code, Some(0), "{backend} {seconds}: {r}");
            assert_eq!(r["ok"], true, "{backend} {seconds}: {r}");
            assert!(r["budget_hit"].is_null(), "{backend} {seconds}: {r}");
        }
    }
}

#[test]
fn pct_on_a_one_thread_scenario_runs_its_one_schedule() {
    for scheduler in ["pct", "random", "dfs"] {
        let args = ["--backend", "shuttle", "--scheduler", scheduler];
        let (code, r, _) = run_json(&[&args[..], &[ONE_THREAD]].concat());
        assert_eq!(code, Some(0), "{scheduler}: {r}");
        let expected = if scheduler == "dfs" {
            "Holds"
        } else {
            "NoViolationFound"
        };
        assert_eq!(r["verdict"], expected, "{scheduler}: {r}");
        let (code, r, _) = run_json(&[&args[..], &[ONE_THREAD_ASSERT]].concat());
        assert_eq!(code, Some(0), "{scheduler}: {r}");
        assert_eq!(r["verdict"], "AssertionFailed", "{scheduler}: {r}");
        assert_eq!(r["states"], 1, "found in the first execution: {r}");
    }
}
