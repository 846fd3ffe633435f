//! The loom engine on its own: verdicts, the search it reports, and its budgets.
//!
//! Execution counts are pinned like the native explorer's state counts: loom's search is
//! deterministic, so a changed count means the backend's semantics or its scheduling
//! points changed. Update a pin only for a change that explains it.

mod common;

use std::time::Duration;
use wqcheck_loom::{check, check_directed, Options};
use wqcheck_model::{Mover, Verdict};

#[test]
fn headline_race_is_found_at_one_preemption() {
    common::silence_engine_panics();
    let m = common::load("scenarios/linux-4.13-rc6-lock-page-killable.ron");
    let o = check(&m, &Options::default()).expect("runs");
    assert_eq!(o.verdict, Verdict::LostWakeup);
    assert_eq!(o.preemption_bound, Some(1));
    // 87 while try_to_wake_up() set TASK_RUNNING outside the runqueue lock and without
    // the task's pi_lock (docs/loom.md, "Locks").
    assert_eq!(o.executions, 95);
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
    common::silence_engine_panics();
    let m = common::load("scenarios/classic-prepare-then-check.ron");
    let o = check(&m, &Options::default()).expect("runs");
    assert_eq!(o.verdict, Verdict::Holds);
    assert_eq!(o.preemption_bound, Some(3));
    // 249 before the executor's shadow loads: loom's DPOR had been skipping the executions
    // where a write comes before another thread's earlier read (docs/loom.md). 425 while
    // try_to_wake_up() set TASK_RUNNING outside the runqueue lock and without the pi_lock.
    assert_eq!(o.executions, 461);
    assert!(o.bounds.contains("preemptions<=3"), "{}", o.bounds);
}

#[test]
fn store_buffering_past_waitqueue_active_needs_no_preemption() {
    common::silence_engine_panics();
    let m = common::load("scenarios/classic-waitqueue-active-no-barrier.ron");
    let o = check(&m, &Options::default()).expect("runs");
    assert_eq!(o.verdict, Verdict::LostWakeup);
    assert_eq!(o.preemption_bound, Some(0));
    let m = common::load("scenarios/classic-waitqueue-active-mb.ron");
    let o = check(&m, &Options::default()).expect("runs");
    assert_eq!(o.verdict, Verdict::Holds);
}

/// loom's unbounded search on a scenario of this repository.
fn unbounded(scenario: &str) -> wqcheck_loom::Outcome {
    let m = common::load(scenario);
    let o = Options {
        exhaustive: true,
        ..Options::default()
    };
    check(&m, &o).expect("runs")
}

#[test]
fn an_unbounded_search_is_exhaustive() {
    common::silence_engine_panics();
    let o = unbounded("scenarios/classic-check-then-sleep.ron");
    assert_eq!(o.verdict, Verdict::LostWakeup);
    assert_eq!(o.preemption_bound, None);
    assert!(o.bounds.contains("preemptions=unbounded"), "{}", o.bounds);
}

/// `m` checked with at most `max_branches` scheduling decisions per execution.
fn with_max_branches(m: &wqcheck_model::Model, max_branches: usize) -> wqcheck_loom::Outcome {
    let o = Options {
        max_branches,
        ..Options::default()
    };
    check(m, &o).expect("runs")
}

#[test]
fn a_busy_wait_that_never_ends_is_inconclusive_by_the_branch_budget() {
    common::silence_engine_panics();
    // It counts its rounds: a long execution, not a recognised spin.
    let o = with_max_branches(&common::counting_busy_wait_model(), 200);
    assert_eq!(o.verdict, Verdict::Inconclusive);
    let hit = o.budget_hit.expect("which budget");
    assert!(hit.contains("max_branches=200"), "{hit}");
}

/// The same loop without the counter comes back to its state each round: once `b` has
/// returned nobody else can run, so loom judges the spin within one execution instead of
/// running it to `max_branches`; with no `liveness`, that is `Inconclusive`, saying why.
#[test]
fn a_spin_with_nobody_else_able_to_run_is_recognised_not_run_to_max_branches() {
    common::silence_engine_panics();
    let o = with_max_branches(&common::busy_wait_model(), 500);
    common::assert_spin_without_liveness(o.verdict, o.budget_hit, o.executions);
}

#[test]
fn a_spent_time_budget_is_inconclusive_never_holds() {
    common::silence_engine_panics();
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
fn a_slow_busy_wait_is_stopped_inside_its_first_execution_at_the_deadline() {
    common::silence_engine_panics();
    // Each step runs about 75,000 local operations: 1,000,000 branches take minutes.
    let m = common::load("crates/wqcheck/tests/fixtures/budgets/busy-wait.ron");
    let o = check(
        &m,
        &Options {
            max_branches: 1_000_000,
            max_time: Duration::from_secs(1),
            ..Options::default()
        },
    )
    .expect("runs");
    assert_eq!(o.verdict, Verdict::Inconclusive);
    assert_eq!(o.executions, 0, "the execution stopped did not finish");
    let hit = o.budget_hit.expect("which budget");
    assert!(hit.contains("max_seconds"), "{hit}");
    assert!(o.elapsed < Duration::from_secs(3), "{:?}", o.elapsed);
}

#[test]
fn a_time_budget_beyond_any_instant_is_no_deadline() {
    common::silence_engine_panics();
    let m = common::load("scenarios/classic-prepare-then-check.ron");
    for max_time in [Duration::from_secs(u64::MAX), Duration::MAX] {
        let o = check(
            &m,
            &Options {
                max_time,
                ..Options::default()
            },
        )
        .expect("runs");
        assert_eq!(o.verdict, Verdict::Holds);
        assert_eq!(o.executions, 461);
    }
}

#[test]
fn more_than_five_threads_are_refused() {
    let m = common::load("crates/wqcheck/tests/fixtures/loom/six-threads.ron");
    let e = check(&m, &Options::default()).expect_err("refused");
    assert!(e.contains("at most 5 threads"), "{e}");
    assert!(wqcheck_loom::thread_limit_error(&m).is_some());
}

#[test]
fn three_locker_race_beyond_the_bounds_is_reproduced_by_following_the_native_counterexample() {
    common::silence_engine_panics();
    let m = common::load("scenarios/linux-4.13-lock-page-killable-3-lockers.ron");
    // loom's own search at bound 0 misses it: the race needs four preemptions.
    let own = check(
        &m,
        &Options {
            max_preemptions: 0,
            ..Options::default()
        },
    )
    .expect("runs");
    assert_eq!(own.verdict, Verdict::Holds);
    let native = wqcheck_explore::explore(&m, &wqcheck_explore::Options::default());
    assert_eq!(native.verdict, Verdict::LostWakeup);
    let o = check_directed(&m, &native.path, &Options::default()).expect("runs");
    assert_eq!(o.verdict, Verdict::LostWakeup);
    assert_eq!(o.executions, 1);
    assert_eq!(o.trace.len(), native.path.len());
    assert!(
        o.bounds.contains("schedule=27_steps preemptions<=0"),
        "{}",
        o.bounds
    );
    let message = o.violation.expect("violation").message;
    assert!(message.contains("asleep in io_schedule()"), "{message}");
}

#[test]
fn a_schedule_loom_cannot_follow_is_let_go_never_a_false_violation() {
    common::silence_engine_panics();
    let m = common::load("scenarios/classic-prepare-then-check.ron");
    // The waiter first: it blocks in schedule() early. The waker first: it returns while
    // the schedule still names it. Either way every thread then runs freely.
    for t in [0, 1] {
        let schedule = vec![Mover::Thread(t); 40];
        let o = check_directed(&m, &schedule, &Options::default()).expect("runs");
        assert_eq!(o.verdict, Verdict::Holds, "schedule of thread {t}");
        assert!(o.executions >= 1);
    }
    let e = check_directed(&m, &[Mover::Thread(7)], &Options::default()).expect_err("bad");
    assert!(e.contains("does not have"), "{e}");
}

/// The fewest preemptions (a switch away from a mover that could still move) of any
/// schedule that reaches a stuck state, counted in steps: a 0-1 BFS over (state, last
/// mover) of the native state space.
fn fewest_preemptions_to_a_violation(m: &wqcheck_model::Model) -> Option<(u32, Verdict)> {
    use std::collections::{HashMap, VecDeque};
    use wqcheck_model::StepResult;
    let mut movers: Vec<Mover> = (0..m.inst.threads.len() as u8).map(Mover::Thread).collect();
    for (a, n) in wqcheck_threads::actor_arities(m).into_iter().enumerate() {
        movers.extend((0..n as u8).map(|choice| Mover::Actor {
            actor: a as u8,
            choice,
        }));
    }
    // An actor is one mover whatever its choice.
    let same = |a: Mover, b: Mover| match (a, b) {
        (Mover::Actor { actor: x, .. }, Mover::Actor { actor: y, .. }) => x == y,
        _ => a == b,
    };
    let init = m.initial_state().expect("initial state");
    let mut dist: HashMap<(Vec<u8>, usize), u32> = HashMap::from([((init.clone(), 0), 0)]);
    let mut queue = VecDeque::from([(init, 0usize, 0u32)]);
    while let Some((s, last, d)) = queue.pop_front() {
        if dist[&(s.clone(), last)] != d {
            continue;
        }
        let next: Vec<(usize, Vec<u8>)> = (0..movers.len())
            .filter_map(|i| {
                let mut n = s.clone();
                matches!(m.step(&mut n, movers[i], None), StepResult::Moved).then_some((i, n))
            })
            .collect();
        if next.is_empty() && !m.all_done(&s) {
            // 0-1 BFS pops in order of cost: the first stuck state is a cheapest one.
            return Some((d, m.classify_stuck(&s).verdict));
        }
        let last_can_move = next.iter().any(|(i, _)| same(movers[*i], movers[last]));
        for (i, n) in next {
            let cost = u32::from(last_can_move && !same(movers[i], movers[last]));
            let key = (n.clone(), i);
            if dist.get(&key).is_none_or(|&o| d + cost < o) {
                dist.insert(key, d + cost);
                if cost == 0 {
                    queue.push_front((n, i, d));
                } else {
                    queue.push_back((n, i, d + 1));
                }
            }
        }
    }
    None
}

#[test]
fn three_locker_race_needs_four_preemptions_which_is_why_loom_follows_the_native_schedule() {
    let m = common::load("scenarios/linux-4.13-lock-page-killable-3-lockers.ron");
    assert_eq!(
        fewest_preemptions_to_a_violation(&m),
        Some((4, Verdict::LostWakeup))
    );
    // Its two-locker ancestor, which loom's own search finds at bound 1.
    let m = common::load("scenarios/linux-4.13-rc6-lock-page-killable.ron");
    assert_eq!(
        fewest_preemptions_to_a_violation(&m),
        Some((0, Verdict::LostWakeup))
    );
    let m = common::load("scenarios/linux-4.13-lock-page-killable.ron");
    assert_eq!(fewest_preemptions_to_a_violation(&m), None);
}

/// wait_woken(): the wake function writes the reader's own `wq_entry->flags` right after
/// the wake walk read them. loom's partial-order reduction forgot the reader's reads
/// behind that read and ran 1,410 executions; with the executor's shadow loads the
/// unbounded search ran every interleaving class, 7,218 (docs/loom.md, "Shadow loads").
/// Since `try_to_wake_up()` tests the state under the task's `pi_lock` and sets it under
/// the runqueue lock, as the kernel does, two wakeups of the reader no longer race with
/// each other and with its `schedule()` outside those locks: 3,962.
#[test]
fn wait_woken_is_explored_past_the_wake_walks_own_read_of_the_flags() {
    common::silence_engine_panics();
    let o = unbounded("scenarios/linux-wait-woken.ron");
    assert_eq!(o.verdict, Verdict::Holds);
    assert_eq!(o.preemption_bound, None);
    assert_eq!(o.executions, 3_962);
}

#[test]
fn a_timer_that_fires_after_the_wakeup_is_a_false_timeout_on_loom() {
    common::silence_engine_panics();
    let m = common::load("scenarios/linux-wait-event-timeout-v3.9.ron");
    assert_eq!(
        m.actor_name(0),
        "timer(waiter)",
        "the waiter's timer is an actor"
    );
    let o = check(&m, &Options::default()).expect("runs");
    assert_eq!(o.verdict, Verdict::AssertionFailed);
    assert_eq!(o.preemption_bound, Some(1));
    assert_eq!(o.executions, 5);
    assert!(o.trace.iter().any(|s| s.thread == "timer(waiter)"));
    // The native counterexample, followed step by step, is the same violation.
    let native = wqcheck_explore::explore(&m, &wqcheck_explore::Options::default());
    assert_eq!(native.verdict, Verdict::AssertionFailed);
    let d = check_directed(&m, &native.path, &Options::default()).expect("runs");
    assert_eq!(d.verdict, Verdict::AssertionFailed);
    assert_eq!(d.trace.len(), native.path.len());
}

#[test]
fn a_completion_taken_as_the_timer_fires_is_reported_taken_on_every_execution() {
    common::silence_engine_panics();
    let m = common::load("scenarios/linux-completion-timeout.ron");
    let o = check(&m, &Options::default()).expect("runs");
    assert_eq!(o.verdict, Verdict::Holds);
    assert_eq!(o.preemption_bound, Some(3));
    // Pinned: the timer's loom thread, its mutex and its condition variable are
    // scheduling points; a change in them shows here.
    assert_eq!(o.executions, 11_351);
}

#[test]
fn the_tables_order_finds_the_2017_race_at_one_preemption() {
    common::silence_engine_panics();
    let m = common::load("scenarios/linux-4.13-rc6-lock-page-killable-table.ron");
    let o = check(&m, &Options::default()).expect("runs");
    assert_eq!(o.verdict, Verdict::LostWakeup);
    assert_eq!(o.preemption_bound, Some(1));
    assert_eq!(o.executions, 95);
    // The signal comes after thread3 passed `unlocked:`.
    let label = o
        .trace
        .iter()
        .position(|s| s.thread == "thread3" && s.text.starts_with("unlocked:"))
        .expect("thread3 passes the label");
    let signal = o
        .trace
        .iter()
        .position(|s| s.thread == "signal")
        .expect("the signal");
    assert!(label < signal, "{:#?}", o.trace);
}

#[test]
fn a_signal_whose_label_is_never_passed_never_comes_and_nothing_deadlocks() {
    common::silence_engine_panics();
    let m = common::model_from(
        "bool done = true;\nint<0..1> hit = 0;\n\nvoid waiter(void)\n{\n\tif (done)\n\t\treturn;\nready:\n\thit = 1;\n}\n",
        r#"Scenario(model: "m.wq", threads: [Thread(name: "w", run: "waiter")],
           actors: [Signal(target: ["w"], fatal: true, after: ("w", "ready"))],
           expect: Holds)"#,
    );
    let o = check(&m, &Options::default()).expect("runs");
    assert_eq!(o.verdict, Verdict::Holds, "{:?}", o.violation);
    assert!(!o.trace.iter().any(|s| s.thread == "signal"));
}

#[test]
fn a_signal_after_a_label_is_followed_along_the_native_counterexample() {
    common::silence_engine_panics();
    // The actor's byte, "waiting for the label", is written by the thread that passes it:
    // the directed run must see it, or it drops the schedule (the differential test's
    // seed 77 found it so).
    let m = common::load("scenarios/linux-4.13-rc6-lock-page-killable-table.ron");
    let native = wqcheck_explore::explore(&m, &wqcheck_explore::Options::default());
    assert_eq!(native.verdict, Verdict::LostWakeup);
    let d = check_directed(&m, &native.path, &Options::default()).expect("runs");
    assert_eq!(d.verdict, Verdict::LostWakeup);
    assert_eq!(d.executions, 1);
    assert_eq!(d.trace.len(), native.path.len());
}

#[test]
fn schedule_with_a_spinlock_held_is_a_run_time_error_on_loom_too() {
    common::silence_engine_panics();
    let m = common::model_from(
        "bool done = false;\nwaitqueue wq until done;\n\nint my_wake(wait_queue_entry_t *wait, unsigned mode, int sync, void *key)\n{\n\tschedule_timeout_uninterruptible(1);\n\treturn autoremove_wake_function(wait, mode, sync, key);\n}\n\nvoid waiter(void)\n{\n\tDEFINE_WAIT(wait);\n\n\twait.func = my_wake;\n\tprepare_to_wait(&wq, &wait, TASK_UNINTERRUPTIBLE);\n\tif (!done)\n\t\tschedule();\n\tfinish_wait(&wq, &wait);\n}\n\nvoid waker(void)\n{\n\tdone = true;\n\twake_up(&wq);\n}\n",
        r#"Scenario(model: "m.wq", threads: [Thread(name: "w", run: "waiter"), Thread(name: "k", run: "waker")],
           expect: AssertionFailed)"#,
    );
    let o = check(&m, &Options::default()).expect("runs");
    assert_eq!(o.verdict, Verdict::AssertionFailed);
    let message = o.violation.expect("violation").message;
    assert!(message.contains("scheduling while atomic"), "{message}");
}
