//! The shuttle engine on its own: verdicts, replay, determinism and budgets.
//!
//! Execution counts are pinned: for a given seed shuttle's schedulers are deterministic,
//! so a changed count means the backend's semantics or its scheduling points changed.

#[path = "../../wqcheck-loom/tests/common/mod.rs"]
mod common;

use std::time::Duration;
use wqcheck_model::ir::ShuttleScheduler;
use wqcheck_model::Verdict;
use wqcheck_shuttle::{check, replay, Options};

fn opts(scheduler: ShuttleScheduler) -> Options {
    Options {
        scheduler,
        ..Options::default()
    }
}

#[test]
fn pct_finds_the_headline_race_and_its_token_replays_it() {
    common::silence_engine_panics();
    let m = common::load("scenarios/linux-4.13-rc6-lock-page-killable.ron");
    let o = check(&m, &opts(ShuttleScheduler::Pct)).expect("runs");
    assert_eq!(o.verdict, Verdict::LostWakeup);
    assert_eq!(o.executions, 6);
    assert!(o.bounds.contains("seed=0"), "{}", o.bounds);
    let token = o.replay.clone().expect("a token");
    assert!(token.starts_with(wqcheck_shuttle::TOKEN_PREFIX));
    let r = replay(&m, &token, &Options::default()).expect("replays");
    assert_eq!(r.verdict, o.verdict);
    assert_eq!(r.executions, 1);
    assert_eq!(r.trace, o.trace);
    assert_eq!(
        r.violation.map(|v| v.message),
        o.violation.map(|v| v.message)
    );
}

#[test]
fn the_same_seed_gives_the_same_search() {
    common::silence_engine_panics();
    let m = common::load("scenarios/linux-5.9-lock-page-killable-unfair.ron");
    let random = Options {
        iterations: 20_000,
        ..opts(ShuttleScheduler::Random)
    };
    let a = check(&m, &random).expect("runs");
    let b = check(&m, &random).expect("runs");
    assert_eq!(a.verdict, Verdict::LostWakeup);
    assert_eq!(
        (a.executions, &a.trace, &a.replay),
        (b.executions, &b.trace, &b.replay)
    );
    let c = check(&m, &Options { seed: 1, ..random }).expect("runs");
    assert_ne!(a.replay, c.replay, "another seed, another schedule");
}

#[test]
fn no_violation_in_a_sample_is_never_holds() {
    common::silence_engine_panics();
    let m = common::load("scenarios/linux-5.9-lock-page-killable.ron");
    for s in [ShuttleScheduler::Pct, ShuttleScheduler::Random] {
        let o = check(
            &m,
            &Options {
                iterations: 300,
                ..opts(s)
            },
        )
        .expect("runs");
        assert_eq!(o.verdict, Verdict::NoViolationFound, "{s:?}");
        assert_eq!(o.executions, 300, "{s:?}");
        assert!(o.replay.is_none());
    }
}

#[test]
fn dfs_run_to_the_end_is_holds_and_cut_short_is_a_sample() {
    common::silence_engine_panics();
    let m = common::load("scenarios/classic-prepare-then-check.ron");
    let all = check(
        &m,
        &Options {
            iterations: 100_000,
            ..opts(ShuttleScheduler::Dfs)
        },
    )
    .expect("runs");
    assert_eq!(all.verdict, Verdict::Holds);
    assert_eq!(all.executions, 1_906);
    let cut = check(
        &m,
        &Options {
            iterations: 10,
            ..opts(ShuttleScheduler::Dfs)
        },
    )
    .expect("runs");
    assert_eq!(cut.verdict, Verdict::NoViolationFound);
    assert!(cut
        .budget_hit
        .expect("which budget")
        .contains("DFS did not finish"));
}

/// `m` checked by the random scheduler with at most `max_steps` scheduling decisions per
/// execution.
fn with_max_steps(m: &wqcheck_model::Model, max_steps: usize) -> wqcheck_shuttle::Outcome {
    let o = Options {
        max_steps,
        ..opts(ShuttleScheduler::Random)
    };
    check(m, &o).expect("runs")
}

#[test]
fn a_busy_wait_that_never_ends_is_inconclusive() {
    common::silence_engine_panics();
    let o = with_max_steps(&common::counting_busy_wait_model(), 500);
    assert_eq!(o.verdict, Verdict::Inconclusive);
    assert!(o.budget_hit.expect("which budget").contains("max_steps"));
}

/// A spinner whose steps come back to the same state, with nobody else able to move: the
/// step executor recognises the spin at once instead of running to `max_steps`, and,
/// with no `liveness` to judge it, says so.
#[test]
fn a_spin_with_nobody_else_able_to_move_is_recognised_not_run_to_max_steps() {
    common::silence_engine_panics();
    let o = with_max_steps(&common::busy_wait_model(), 500);
    common::assert_spin_without_liveness(o.verdict, o.budget_hit, o.executions);
}

#[test]
fn a_time_budget_spent_before_any_execution_is_inconclusive_not_a_sample() {
    common::silence_engine_panics();
    let m = common::load("scenarios/linux-5.9-lock-page-killable.ron");
    for s in [
        ShuttleScheduler::Pct,
        ShuttleScheduler::Random,
        ShuttleScheduler::Dfs,
    ] {
        let o = check(
            &m,
            &Options {
                max_time: Duration::ZERO,
                ..opts(s)
            },
        )
        .expect("runs");
        assert_eq!(o.verdict, Verdict::Inconclusive, "{s:?}");
        assert_eq!(o.executions, 0, "{s:?}");
        let hit = o.budget_hit.expect("which budget");
        assert!(
            hit.contains("max_seconds (no execution finished"),
            "{s:?}: {hit}"
        );
    }
}

#[test]
fn a_spent_time_budget_stops_the_sample_and_says_so() {
    common::silence_engine_panics();
    let m = common::load("scenarios/linux-5.9-lock-page-killable.ron");
    let o = check(
        &m,
        &Options {
            iterations: u64::MAX,
            max_time: Duration::from_millis(300),
            ..opts(ShuttleScheduler::Pct)
        },
    )
    .expect("runs");
    // The executions that finished are the sample; the one the deadline stopped is not.
    assert_eq!(o.verdict, Verdict::NoViolationFound);
    assert!(o.executions > 0);
    let hit = o.budget_hit.expect("which budget");
    assert!(
        hit.contains(&format!("max_seconds ({} of", o.executions)),
        "{hit}"
    );
    assert!(o.elapsed < Duration::from_secs(2), "{:?}", o.elapsed);
}

#[test]
fn a_slow_busy_wait_is_stopped_inside_its_first_execution_at_the_deadline() {
    common::silence_engine_panics();
    // Every execution makes 100,000 steps of about 75,000 local operations each.
    let m = common::load("crates/wqcheck/tests/fixtures/budgets/busy-wait.ron");
    for s in [
        ShuttleScheduler::Pct,
        ShuttleScheduler::Random,
        ShuttleScheduler::Dfs,
    ] {
        let o = check(
            &m,
            &Options {
                max_time: Duration::from_secs(1),
                ..opts(s)
            },
        )
        .expect("runs");
        assert_eq!(o.verdict, Verdict::Inconclusive, "{s:?}");
        assert_eq!(o.executions, 0, "{s:?}");
        let hit = o.budget_hit.expect("which budget");
        assert!(hit.contains("stopped at the time limit"), "{s:?}: {hit}");
        assert!(o.elapsed < Duration::from_secs(3), "{s:?}: {:?}", o.elapsed);
    }
}

#[test]
fn a_time_budget_beyond_any_instant_is_no_deadline() {
    common::silence_engine_panics();
    let m = common::load("scenarios/linux-5.9-lock-page-killable.ron");
    for max_time in [Duration::from_secs(u64::MAX), Duration::MAX] {
        let o = check(
            &m,
            &Options {
                max_time,
                iterations: 50,
                ..opts(ShuttleScheduler::Pct)
            },
        )
        .expect("runs");
        assert_eq!(o.verdict, Verdict::NoViolationFound);
        assert_eq!(o.executions, 50);
        assert!(o.budget_hit.is_none());
    }
}

#[test]
fn pct_runs_the_one_schedule_of_a_one_thread_scenario() {
    common::silence_engine_panics();
    let model = "int<0..3> x = 0;\nvoid good(void) { WRITE_ONCE(x, 1); assert(READ_ONCE(x) == 1); }\nvoid bad(void) { WRITE_ONCE(x, 1); assert(READ_ONCE(x) == 2); }\n";
    let scenario = |run: &str| {
        format!(
            r#"Scenario(model: "m.wq", threads: [Thread(name: "solo", run: "{run}")], expect: Holds)"#
        )
    };
    let good = common::model_from(model, &scenario("good"));
    let o = check(&good, &opts(ShuttleScheduler::Pct)).expect("runs");
    assert_eq!(o.verdict, Verdict::NoViolationFound);
    assert_eq!(o.executions, 1000);
    let bad = common::model_from(model, &scenario("bad"));
    let o = check(&bad, &opts(ShuttleScheduler::Pct)).expect("runs");
    assert_eq!(o.verdict, Verdict::AssertionFailed);
    assert_eq!(o.executions, 1);
    let r = replay(&bad, &o.replay.expect("a token"), &Options::default()).expect("replays");
    assert_eq!(r.verdict, Verdict::AssertionFailed);
}

#[test]
fn a_malformed_token_is_an_error_not_a_crash() {
    common::silence_engine_panics();
    let m = common::load("scenarios/linux-4.13-rc6-lock-page-killable.ron");
    for bad in [
        "",
        "wqs1-",
        "wqs1-0",
        "wqs1-zz",
        "wqs1-91",
        "wqs1-ffffffffffffffff",
        "hello",
    ] {
        assert!(replay(&m, bad, &Options::default()).is_err(), "{bad:?}");
    }
}
