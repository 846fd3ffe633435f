//! Liveness (docs/dsl.md, "Liveness"): the repeat-locker page-lock scenarios, their
//! agreement with the SPIN model's `-DLIVE` claim, the lasso's shape, and the spin loops
//! that every engine must classify alike without running into a budget.

use std::path::PathBuf;
use wqcheck::engines::check_here;
use wqcheck_model::interp::Mover;
use wqcheck_model::ir::Backend as Engine;
use wqcheck_model::ir::MemoryModel;
use wqcheck_model::{Model, StepResult, Verdict};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn args() -> wqcheck::Args {
    use clap::Parser;
    wqcheck::Args::parse_from(["wqcheck", "unused.ron"])
}

fn native(file: &str) -> wqcheck_report::RunReport {
    let inst = wqcheck::load(&root().join(file)).expect("loads");
    wqcheck::check(inst, &args(), false, MemoryModel::Sc).expect("runs")
}

/// A verdict's class: a sampled `NoViolationFound` is of the class `Holds`.
fn class(v: Verdict) -> Verdict {
    match v {
        Verdict::NoViolationFound => Verdict::Holds,
        v => v,
    }
}

#[test]
fn spin_on_signal_gets_the_same_classification_on_every_engine() {
    for (file, want) in [
        ("scenarios/linux-spin-on-signal.ron", Verdict::Holds),
        (
            "scenarios/linux-spin-on-signal-no-waker.ron",
            Verdict::Livelock,
        ),
        ("scenarios/linux-spin-on-signal-checked.ron", Verdict::Holds),
    ] {
        let n = native(file);
        assert_eq!(n.verdict, want, "{file} [native]: {:?}", n.message);
        for engine in [Engine::Loom, Engine::Shuttle] {
            let inst = wqcheck::load(&root().join(file)).expect("loads");
            let r = check_here(inst, &args(), engine).expect("runs");
            // No budget ran out: the spin was recognised, not run until a bound.
            assert_eq!(r.budget_hit, None, "{file} [{}]", engine.name());
            assert_eq!(
                class(r.verdict),
                want,
                "{file} [{}]: {:?}",
                engine.name(),
                r.message
            );
            if want == Verdict::Livelock {
                let c = r.cycle_start.expect("a spin's trace marks its cycle");
                assert!(c < r.trace.len(), "{file} [{}]", engine.name());
            }
        }
    }
}

#[test]
fn a_spin_without_liveness_is_inconclusive_on_the_threaded_engines_not_a_hang() {
    let mut inst =
        wqcheck::load(&root().join("scenarios/linux-spin-on-signal-no-waker.ron")).expect("loads");
    inst.liveness = None;
    for engine in [Engine::Loom, Engine::Shuttle] {
        let r = check_here(inst.clone(), &args(), engine).expect("runs");
        assert_eq!(r.verdict, Verdict::Inconclusive, "[{}]", engine.name());
        let why = r.budget_hit.expect("says why");
        assert!(
            why.contains("`waiter` spins") && why.contains("liveness"),
            "{why}"
        );
    }
}

/// A signal is owed nothing: the run in which it never comes and the poller spins is
/// fair. The threaded engines hold the actor back while a thread spins; if they gave way to
/// it, the signal would end every spin and they would say `Holds`.
#[test]
fn a_spin_only_a_signal_ends_is_a_livelock_on_every_engine() {
    let file = "crates/wqcheck/tests/fixtures/liveness/poll-for-signal.ron";
    assert_eq!(native(file).verdict, Verdict::Livelock);
    for engine in [Engine::Loom, Engine::Shuttle] {
        let inst = wqcheck::load(&root().join(file)).expect("loads");
        let r = check_here(inst, &args(), engine).expect("runs");
        assert_eq!(
            r.verdict,
            Verdict::Livelock,
            "[{}]: {:?}",
            engine.name(),
            r.message
        );
        assert!(r.bounds.contains("liveness=spins"), "{}", r.bounds);
        let c = r.cycle_start.expect("a spin's trace marks its cycle");
        // The poller alone moves in the cycle, and the signal has not come.
        assert!(r.trace[c..].iter().all(|row| row.thread == "poller"));
    }
}

/// Without fairness a spin is a run that counts even while another thread could move:
/// the native explorer and shuttle call it a livelock; loom gives way to the waker and
/// then cannot say `Holds`.
#[test]
fn without_fairness_a_spin_the_waker_could_end_is_never_a_threaded_holds() {
    let mut inst =
        wqcheck::load(&root().join("scenarios/linux-spin-on-signal.ron")).expect("loads");
    inst.liveness.as_mut().expect("liveness").fairness = wqcheck_model::ir::Fairness::None;
    let model = Model::new(inst.clone()).expect("model");
    let out = wqcheck_explore::explore(&model, &wqcheck_explore::Options::default());
    assert_eq!(out.verdict, Verdict::Livelock);
    let r = check_here(inst.clone(), &args(), Engine::Shuttle).expect("runs");
    assert_eq!(r.verdict, Verdict::Livelock, "{:?}", r.message);
    let r = check_here(inst, &args(), Engine::Loom).expect("runs");
    assert_eq!(r.verdict, Verdict::Inconclusive);
    let why = r.budget_hit.expect("says why");
    assert!(why.contains("fairness: None"), "{why}");
}

#[test]
fn v4_13_repeat_locker_starves_a_killable_locker() {
    for (file, states) in [
        ("scenarios/linux-4.13-repeat-locker.ron", 5_735),
        ("scenarios/linux-4.13-repeat-locker-3-lockers.ron", 169_484),
    ] {
        let r = native(file);
        assert_eq!(r.verdict, Verdict::Starvation, "{file}: {:?}", r.message);
        // The search is complete before the graph is judged.
        assert_eq!(r.states, states, "{file}");
        assert!(r.cycle_start.is_some_and(|c| c < r.trace.len()), "{file}");
        assert!(r.bounds.contains("fairness=weak"), "{}", r.bounds);
    }
}

#[test]
fn v5_9_handoff_holds_under_weak_fairness_and_fails_without() {
    for (file, want, states) in [
        (
            "scenarios/linux-5.9-repeat-locker.ron",
            Verdict::Holds,
            26_769,
        ),
        (
            "scenarios/linux-5.9-repeat-locker-3-lockers.ron",
            Verdict::Holds,
            801_573,
        ),
        (
            "scenarios/linux-5.9-repeat-locker-unfair.ron",
            Verdict::Starvation,
            26_769,
        ),
    ] {
        let r = native(file);
        assert_eq!(r.verdict, want, "{file}: {:?}", r.message);
        assert_eq!(r.states, states, "{file}");
    }
}

/// The SPIN model's `-DLIVE` table (../shared/reference/spin/README.md): (a) and (d) fail
/// at 2 lockers under weak fairness, (c) holds at 2 and 3, and fails without fairness.
#[test]
fn spin_granularity_liveness_agrees_with_spin() {
    for (file, want, states) in [
        (
            "scenarios/spin/lockpage-a-live-n2.ron",
            Verdict::LostWakeup,
            5_238,
        ),
        (
            "scenarios/spin/lockpage-a-live-n2-no-signal.ron",
            Verdict::Starvation,
            1_297,
        ),
        (
            "scenarios/spin/lockpage-d-live-n2.ron",
            Verdict::LostWakeup,
            5_723,
        ),
        (
            "scenarios/spin/lockpage-d-live-n2-no-signal.ron",
            Verdict::Starvation,
            1_440,
        ),
        (
            "scenarios/spin/lockpage-c-live-n2.ron",
            Verdict::Holds,
            9_616,
        ),
        (
            "scenarios/spin/lockpage-c-live-n2-unfair.ron",
            Verdict::Starvation,
            9_616,
        ),
        (
            "scenarios/spin/lockpage-c-live-n3.ron",
            Verdict::Holds,
            284_328,
        ),
    ] {
        let r = native(file);
        assert!(r.ok, "{file}: {:?} {:?}", r.verdict, r.message);
        assert_eq!(r.verdict, want, "{file}");
        assert_eq!(r.states, states, "{file}");
    }
}

/// The lasso is a real run: replaying the cycle from the state where it begins comes back
/// to that very state, and every thread the weak fairness owes a move moves in it.
#[test]
fn a_starvation_lasso_returns_to_where_its_cycle_began() {
    let inst =
        wqcheck::load(&root().join("scenarios/linux-4.13-repeat-locker.ron")).expect("loads");
    let model = Model::new(inst).expect("model");
    let out = wqcheck_explore::explore(&model, &wqcheck_explore::Options::default());
    assert_eq!(out.verdict, Verdict::Starvation);
    let c = out.cycle_start.expect("a lasso");
    let mut s = model.initial_state().expect("initial");
    for &m in &out.path[..c] {
        assert_eq!(model.step(&mut s, m, None), StepResult::Moved);
    }
    let entry = s.clone();
    for &m in &out.path[c..] {
        assert_eq!(model.step(&mut s, m, None), StepResult::Moved);
    }
    assert_eq!(s, entry, "the cycle ends where it began");
    // thread1 (starved), thread2 and thread3 (the repeat locker) all move in the cycle.
    for t in 0..3u8 {
        assert!(
            out.path[c..].contains(&Mover::Thread(t)),
            "thread{} moves",
            t + 1
        );
    }
    // Safety only: the same search without the liveness check holds.
    let safety = wqcheck_explore::explore(
        &model,
        &wqcheck_explore::Options {
            liveness: false,
            ..Default::default()
        },
    );
    assert_eq!(safety.verdict, Verdict::Holds);
    assert_eq!(safety.states, out.states);
    assert!(!safety.liveness_checked && out.liveness_checked);
}

/// One protocol of the spin family below.
struct SpinCase {
    /// The sleep state and whether the signal is fatal.
    state: &'static str,
    fatal: bool,
    /// The waiter tests `signal_pending()` before it sleeps.
    check: bool,
    /// The waker: none, the textbook one, with `WRITE_ONCE()`/`READ_ONCE()` (relaxed on
    /// loom), or one that wakes before it stores (a lost wakeup).
    waker: &'static str,
    fairness: &'static str,
}

impl SpinCase {
    fn model(&self) -> String {
        let relaxed = self.waker == "once";
        let test = if relaxed {
            "READ_ONCE(condition)"
        } else {
            "condition"
        };
        let check = if self.check {
            "\t\tif (signal_pending(current)) {\n\t\t\tret = -512;\n\t\t\tbreak;\n\t\t}\n"
        } else {
            ""
        };
        let waker = match self.waker {
            "textbook" => "\tcondition = true;\n\twake_up(&wq);\n",
            "once" => "\tWRITE_ONCE(condition, true);\n\twake_up(&wq);\n",
            "early" => "\twake_up(&wq);\n\tcondition = true;\n",
            _ => "",
        };
        format!(
            "bool condition = false;\nwaitqueue wq until condition;\n\n\
             int waiter(void)\n{{\n\tDEFINE_WAIT(wait);\n\tint ret = 0;\n\n\tfor (;;) {{\n\
             \t\tprepare_to_wait(&wq, &wait, {state});\n\t\tif ({test})\n\t\t\tbreak;\n\
             {check}\t\tschedule();\n\t}}\n\tfinish_wait(&wq, &wait);\n\treturn ret;\n}}\n\n\
             void waker(void)\n{{\n{waker}}}\n",
            state = self.state,
        )
    }

    fn scenario(&self) -> String {
        let (waker, returns) = if self.waker == "none" {
            ("", "\"waiter\"")
        } else {
            (
                "        Thread(name: \"waker\", run: \"waker\"),\n",
                "\"waiter\", \"waker\"",
            )
        };
        format!(
            "Scenario(\n    model: \"spin.wq\",\n    threads: [\n        Thread(name: \"waiter\", run: \"waiter\"),\n{waker}    ],\n    actors: [Signal(target: [\"waiter\"], fatal: {})],\n    liveness: (returns: [{returns}], fairness: {}),\n    loom: (max_preemptions: 2),\n    expect: Holds,\n)\n",
            self.fatal, self.fairness
        )
    }
}

/// A family of spin-on-signal protocols, every combination of: the sleep state and the
/// signal (a non-fatal signal to an interruptible sleep, which spins without a check; a
/// fatal one to a killable sleep), the `signal_pending()` check, four wakers (none,
/// textbook, relaxed, wake-before-store) and two fairness conditions. The native explorer
/// is the reference; loom and shuttle must give the same class of verdict without
/// running into a budget, except where docs/dsl.md ("Liveness") says they cannot:
/// `fairness: None` with a waker that could end the spin makes loom `Inconclusive`.
#[test]
fn a_family_of_spins_gets_the_native_classification_on_every_engine() {
    let dir = std::env::temp_dir().join(format!("wqcheck-spin-family-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut seen = Vec::new();
    for (state, fatal) in [("TASK_INTERRUPTIBLE", false), ("TASK_KILLABLE", true)] {
        for check in [false, true] {
            for waker in ["none", "textbook", "once", "early"] {
                for fairness in ["Weak", "None"] {
                    let case = SpinCase {
                        state,
                        fatal,
                        check,
                        waker,
                        fairness,
                    };
                    std::fs::write(dir.join("spin.wq"), case.model()).expect("write");
                    std::fs::write(dir.join("spin.ron"), case.scenario()).expect("write");
                    let what = format!(
                        "{state} fatal={fatal} check={check} waker={waker} fairness={fairness}"
                    );
                    let load = || wqcheck::load(&dir.join("spin.ron")).expect("loads");
                    let model = Model::new(load()).expect("model");
                    let n = wqcheck_explore::explore(&model, &wqcheck_explore::Options::default());
                    seen.push(n.verdict);
                    for engine in [Engine::Loom, Engine::Shuttle] {
                        let r = check_here(load(), &args(), engine).expect("runs");
                        let at = format!(
                            "{what} [{}]: {:?} {:?}",
                            engine.name(),
                            r.verdict,
                            r.message
                        );
                        let spin_verdict =
                            matches!(n.verdict, Verdict::Livelock | Verdict::Starvation);
                        if engine == Engine::Loom
                            && fairness == "None"
                            && spin_verdict
                            && waker != "none"
                        {
                            // loom gave way to the waker: it cannot say Holds, nor find
                            // the unfair run (docs/dsl.md).
                            assert_eq!(r.verdict, Verdict::Inconclusive, "{at}");
                            let why = r.budget_hit.clone().unwrap_or_default();
                            assert!(why.contains("fairness: None"), "{at}: {why}");
                            continue;
                        }
                        assert_eq!(r.budget_hit, None, "{at}");
                        assert_eq!(class(r.verdict), n.verdict, "{at}");
                    }
                }
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    // The family is not trivial: some spin for ever, some do not. (The early waker loses
    // no wakeup here: the signal, which may always come, ends the sleep.)
    for v in [Verdict::Holds, Verdict::Livelock] {
        assert!(seen.contains(&v), "{v:?} never came up: {seen:?}");
    }
}
