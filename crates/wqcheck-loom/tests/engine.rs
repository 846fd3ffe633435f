//! The loom engine on its own: verdicts, the search it reports, and its budgets.
//!
//! Execution counts are pinned like the native explorer's state counts: loom's search is
//! deterministic, so a changed count means the backend's semantics or its scheduling
//! points changed. Update a pin only for a change that explains it.

mod common;

use std::time::Duration;
use wqcheck_loom::{check, Options};
use wqcheck_model::{Model, Verdict};

fn silence_loom() {
    // loom reports a deadlock by panicking; its message is noise here. Other panics
    // (failed assertions) still print.
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let text = info.payload_as_str().unwrap_or("");
            let from_loom = info.location().is_some_and(|l| l.file().contains("loom-0"));
            if !(from_loom || text.contains("deadlock")) {
                default(info);
            }
        }));
    });
}

fn model_from(model: &str, scenario: &str) -> Model {
    let program = wqcheck_dsl::check_model("m.wq", model).expect("valid model");
    let file = wqcheck_dsl::parse_scenario("s.ron", scenario).expect("valid scenario");
    let inst = wqcheck_dsl::resolve_scenario("s.ron", scenario, &file, program).expect("resolves");
    Model::new(inst).expect("compiles")
}

#[test]
fn headline_race_is_found_at_one_preemption() {
    silence_loom();
    let m = common::load("scenarios/linux-4.13-rc6-lock-page-killable.ron");
    let o = check(&m, &Options::default()).expect("runs");
    assert_eq!(o.verdict, Verdict::LostWakeup);
    assert_eq!(o.preemption_bound, Some(1));
    assert_eq!(o.executions, 35);
    let message = o.violation.expect("violation").message;
    assert!(
        message.contains("thread2 asleep in io_schedule()"),
        "{message}"
    );
    for t in ["thread1", "thread2", "thread3", "signal"] {
        assert!(o.trace.iter().any(|s| s.thread == t), "{t} in the trace");
    }
}

#[test]
fn prepare_then_check_holds_on_every_execution_within_three_preemptions() {
    silence_loom();
    let m = common::load("scenarios/classic-prepare-then-check.ron");
    let o = check(&m, &Options::default()).expect("runs");
    assert_eq!(o.verdict, Verdict::Holds);
    assert_eq!(o.preemption_bound, Some(3));
    assert_eq!(o.executions, 243);
    assert!(o.bounds.contains("preemptions<=3"), "{}", o.bounds);
}

#[test]
fn store_buffering_past_waitqueue_active_needs_no_preemption() {
    silence_loom();
    let m = common::load("scenarios/classic-waitqueue-active-no-barrier.ron");
    let o = check(&m, &Options::default()).expect("runs");
    assert_eq!(o.verdict, Verdict::LostWakeup);
    assert_eq!(o.preemption_bound, Some(0));
    let m = common::load("scenarios/classic-waitqueue-active-mb.ron");
    let o = check(&m, &Options::default()).expect("runs");
    assert_eq!(o.verdict, Verdict::Holds);
}

#[test]
fn an_unbounded_search_is_exhaustive() {
    silence_loom();
    let m = common::load("scenarios/classic-check-then-sleep.ron");
    let o = check(
        &m,
        &Options {
            exhaustive: true,
            ..Options::default()
        },
    )
    .expect("runs");
    assert_eq!(o.verdict, Verdict::LostWakeup);
    assert_eq!(o.preemption_bound, None);
    assert!(o.bounds.contains("preemptions=unbounded"), "{}", o.bounds);
}

const SPIN: &str = "bit flag;\nwaitqueue q until flag;\nvoid spinner(void) { while (!READ_ONCE(flag)) { } }\nvoid idle(void) { }\n";

#[test]
fn a_busy_wait_that_never_ends_is_inconclusive_by_the_branch_budget() {
    silence_loom();
    let m = model_from(
        SPIN,
        r#"Scenario(model: "m.wq", threads: [Thread(name: "a", run: "spinner"), Thread(name: "b", run: "idle")], expect: Holds)"#,
    );
    let o = check(
        &m,
        &Options {
            max_branches: 200,
            ..Options::default()
        },
    )
    .expect("runs");
    assert_eq!(o.verdict, Verdict::Inconclusive);
    let hit = o.budget_hit.expect("which budget");
    assert!(hit.contains("max_branches=200"), "{hit}");
}

#[test]
fn a_spent_time_budget_is_inconclusive_never_holds() {
    silence_loom();
    let m = common::load("scenarios/linux-4.13-lock-page-killable.ron");
    let o = check(
        &m,
        &Options {
            max_time: Duration::ZERO,
            ..Options::default()
        },
    )
    .expect("runs");
    assert_eq!(o.verdict, Verdict::Inconclusive);
    assert!(o.budget_hit.expect("which budget").contains("max_seconds"));
}

#[test]
fn more_than_five_threads_are_refused() {
    let m = common::load("crates/wqcheck/tests/fixtures/loom/six-threads.ron");
    let e = check(&m, &Options::default()).expect_err("refused");
    assert!(e.contains("at most 5 threads"), "{e}");
    assert!(wqcheck_loom::thread_limit_error(&m).is_some());
}
