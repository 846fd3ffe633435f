//! The loom backend through the command line: verdicts against the native explorer,
//! the weak-memory pair, and robustness (thread limit, panics, aborts).

mod common;

use common::{json_lines, root, scenario_files, wqcheck_env as wqcheck};

fn result<'a>(lines: &'a [serde_json::Value], backend: &str) -> &'a serde_json::Value {
    lines
        .iter()
        .find(|l| l["type"] == "result" && l["backend"] == backend)
        .unwrap_or_else(|| panic!("a {backend} result in {lines:?}"))
}

#[test]
fn headline_race_is_a_lost_wakeup_on_loom_with_every_thread_in_the_trace() {
    let out = wqcheck(
        &root(),
        &[
            "--backend",
            "loom",
            "--format",
            "json",
            "scenarios/linux-4.13-rc6-lock-page-killable.ron",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let lines = json_lines(&out);
    let r = result(&lines, "loom");
    assert_eq!(r["verdict"], "LostWakeup");
    assert_eq!(r["ok"], true);
    // For loom, `states` counts executions.
    assert!(r["states"].as_u64().expect("executions") > 0);
    assert!(r["preemption_bound"].as_u64().is_some());
    let trace = r["trace"].as_array().expect("trace");
    for t in ["thread1", "thread2", "thread3", "signal"] {
        assert!(trace.iter().any(|s| s["thread"] == t), "{t} in the trace");
    }
    let message = r["message"].as_str().expect("stuck state in words");
    assert!(
        message.contains("thread2 asleep in io_schedule()"),
        "{message}"
    );
    assert_eq!(lines.last().expect("summary")["type"], "summary");
}

/// Every scenario that fits loom's thread limit gets the native verdict on loom, except
/// where the scenario states a different loom expectation (a weak-memory behaviour). Where
/// loom's own search finds no violation and the native explorer finds one, loom follows
/// the native counterexample and says so (`directed`); that happens only beyond loom's
/// preemption bounds, never for a scenario loom's own search can settle.
#[test]
fn every_scenario_gets_the_native_verdict_on_loom_unless_it_expects_weak_memory() {
    let mut checked = 0;
    let mut directed = Vec::new();
    for rel in scenario_files() {
        let rel = rel.as_str();
        let inst = wqcheck::load(&root().join(rel)).unwrap_or_else(|e| panic!("{e}"));
        if inst.threads.len() + inst.actors.len() > wqcheck_loom::MAX_THREADS {
            continue;
        }
        // loom finds spins, not the cycles of several threads a starvation is made of
        // (docs/dsl.md, "Liveness"): a liveness scenario that does not list loom among
        // its backends takes the native explorer.
        if inst.liveness.is_some() && !inst.backends.contains(&wqcheck_model::ir::Backend::Loom) {
            continue;
        }
        let out = wqcheck(
            &root(),
            &["--backend", "all", "--format", "json", "-q", rel],
            &[],
        );
        let lines = json_lines(&out);
        let (native, loom) = (result(&lines, "native"), result(&lines, "loom"));
        assert_eq!(native["ok"], true, "{rel}: {native}");
        assert_eq!(loom["ok"], true, "{rel}: {loom}");
        if inst.loom.expect.is_none_or(|e| e == inst.expect) {
            assert_eq!(native["verdict"], loom["verdict"], "{rel}");
        } else {
            assert_ne!(native["verdict"], loom["verdict"], "{rel}");
        }
        if !loom["directed"].is_null() {
            // The whole native counterexample was followed, and shown.
            assert_eq!(loom["directed"]["steps"], native["depth"], "{rel}: {loom}");
            assert_eq!(loom["depth"], native["depth"], "{rel}: {loom}");
            directed.push(rel.to_string());
        }
        checked += 1;
    }
    assert!(checked >= 12, "only {checked} scenarios were compared");
    assert_eq!(
        directed,
        ["scenarios/linux-4.13-lock-page-killable-3-lockers.ron"],
        "loom's own search finds every other scenario's violation"
    );
}

/// `wqcheck --format json <rel>` on the scenario's own backends, which must all pass.
fn passing_json_run(rel: &str) -> Vec<serde_json::Value> {
    let out = wqcheck(&root(), &["--format", "json", rel], &[]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    json_lines(&out)
}

#[test]
fn waitqueue_active_without_a_barrier_holds_natively_and_loses_a_wakeup_on_loom() {
    let lines = passing_json_run("scenarios/classic-waitqueue-active-no-barrier.ron");
    assert_eq!(result(&lines, "native")["verdict"], "Holds");
    let loom = result(&lines, "loom");
    assert_eq!(loom["verdict"], "LostWakeup");
    let trace = loom["trace"].as_array().expect("trace");
    assert!(
        trace.iter().any(|s| s["text"]
            .as_str()
            .unwrap_or("")
            .contains("waitqueue_active")
            && s["result"] == 0),
        "the waker's waitqueue_active() read an empty list: {trace:?}"
    );
}

#[test]
fn waitqueue_active_after_smp_mb_holds_on_both_backends() {
    let lines = passing_json_run("scenarios/classic-waitqueue-active-mb.ron");
    assert_eq!(result(&lines, "native")["verdict"], "Holds");
    assert_eq!(result(&lines, "loom")["verdict"], "Holds");
}

#[test]
fn six_threads_on_loom_are_refused_with_a_diagnostic_at_the_thread_list() {
    let dir = root().join("crates/wqcheck/tests/fixtures/loom");
    let out = wqcheck(&dir, &["--backend", "loom", "six-threads.ron"], &[]);
    assert_eq!(out.status.code(), Some(2));
    let stdout = String::from_utf8_lossy(&out.stdout);
    insta::assert_snapshot!(stdout);
}

#[test]
fn an_injected_panic_is_an_internal_error_for_that_scenario_only() {
    common::assert_injected_failures_are_internal_errors("loom");
}
