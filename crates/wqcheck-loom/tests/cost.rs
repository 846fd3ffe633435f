//! What the executor costs loom, against a hand-written loom model of the same protocol
//! (wqcheck issue 15: "an executor that costs what the hand-written models cost").
//!
//! The yardstick is `wqcheck_loom::hand_written`: page-lock variant (b), 2 lockers, at
//! SPIN's granularity, one loom mutex over the whole state, as a person would write it. The
//! executor runs `scenarios/spin/lockpage-b-n2.ron`, the same model in the DSL. Both
//! searches are deterministic, so these are counts, not timings: a changed count means a
//! scheduling point was added or removed.

mod common;

use wqcheck_loom::hand_written::{page_lock_b, page_lock_b_both_targets, page_lock_b_per_object};
use wqcheck_loom::{check, Options};
use wqcheck_model::Verdict;

/// The executor's executions at `bound` alone: the crate runs bounds 0..=b in turn and
/// counts them all.
fn executor(bound: u32) -> u64 {
    let m = common::load("scenarios/spin/lockpage-b-n2.ron");
    let run = |b: u32| {
        let o = check(
            &m,
            &Options {
                max_preemptions: b,
                ..Options::default()
            },
        )
        .expect("runs");
        assert_eq!(o.verdict, Verdict::Holds, "bound {b}");
        o.executions
    };
    run(bound) - if bound == 0 { 0 } else { run(bound - 1) }
}

#[test]
fn the_hand_written_page_lock_model_holds_with_pinned_executions() {
    // A deadlock (a lost wakeup) would be loom's panic.
    assert_eq!(
        [0, 1, 2].map(|b| [page_lock_b(Some(b), 0), page_lock_b(Some(b), 1)]),
        [[1, 1], [199, 177], [6_152, 5_116]]
    );
    assert_eq!(
        [0, 1, 2].map(|b| [
            page_lock_b_per_object(Some(b), 0),
            page_lock_b_per_object(Some(b), 1)
        ]),
        [[1, 1], [187, 129], [4_994, 3_533]]
    );
}

/// Before the atomic-block lock stood in for the queue's spinlock and the task's locks
/// (issue 15), the executor ran 473 executions at bound 1 and 23,682 at bound 2 (1.26x and
/// 2.10x), every queue lock, pi_lock and runqueue lock a scheduling point inside a step
/// that already excluded everyone else.
#[test]
fn the_executor_costs_loom_at_most_twice_the_hand_written_model_per_bound() {
    common::silence_engine_panics();
    for bound in [1, 2] {
        let (ours, theirs) = (executor(bound), page_lock_b_both_targets(bound));
        assert!(
            ours <= 2 * theirs,
            "bound {bound}: the executor ran {ours} executions, the hand-written model {theirs}"
        );
    }
    assert_eq!(executor(1), 416);
    assert_eq!(executor(2), 13_491);
}
