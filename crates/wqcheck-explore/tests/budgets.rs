//! The explorer's budgets at their edges: a search that needs exactly `max_states` states
//! is complete, one that needs one more is not; a search that would grow past
//! `max_memory` ends as `Inconclusive` and says so, its stores never holding more than the
//! budget, and a budget the search fits in changes nothing.
//!
//! The instances are the SPIN cross-check's page-lock models (`scenarios/spin/`), whose
//! state counts are pinned against SPIN (README, `tests/spin_cross_check.rs`).

use std::path::{Path, PathBuf};
use wqcheck_explore::{explore, Options, Outcome};
use wqcheck_model::{Model, Verdict};

const MIB: u64 = 1 << 20;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Load `scenarios/spin/<name>.ron` and its model.
fn spin(name: &str) -> Model {
    scenario(&format!("scenarios/spin/{name}.ron"))
}

/// Load a scenario (a path from the repository's root) and its model.
fn scenario(name: &str) -> Model {
    let path = root().join(name);
    let text = std::fs::read_to_string(&path).expect("scenario");
    let file = wqcheck_dsl::parse_scenario(name, &text).expect("parses");
    let model_path = path.parent().unwrap_or(Path::new("")).join(&file.model);
    let model_text = std::fs::read_to_string(&model_path).expect("model");
    let program = wqcheck_dsl::check_model("model.wq", &model_text).expect("checks");
    let inst = wqcheck_dsl::resolve_scenario(name, &text, &file, program).expect("resolves");
    Model::new(inst).expect("compiles")
}

fn run(m: &Model, opts: Options) -> Outcome {
    explore(m, &opts)
}

/// (b) at N = 3 has exactly 29,023 states (SPIN's count).
const B3_STATES: u64 = 29_023;

#[test]
fn a_search_that_needs_exactly_max_states_states_holds() {
    let m = spin("lockpage-b-n3");
    let o = run(
        &m,
        Options {
            max_states: Some(B3_STATES),
            ..Options::default()
        },
    );
    assert_eq!(o.verdict, Verdict::Holds, "{:?}", o.budget_hit);
    assert_eq!(o.states, B3_STATES);
    assert_eq!(o.budget_hit, None);
}

#[test]
fn a_search_that_needs_one_state_more_than_max_states_is_inconclusive() {
    let m = spin("lockpage-b-n3");
    let o = run(
        &m,
        Options {
            max_states: Some(B3_STATES - 1),
            ..Options::default()
        },
    );
    assert_eq!(o.verdict, Verdict::Inconclusive);
    assert_eq!(o.states, B3_STATES - 1, "it stops before storing one more");
    assert!(o
        .budget_hit
        .expect("budget")
        .contains("state limit of 29022 distinct states"));
}

#[test]
fn a_state_budget_of_zero_explores_nothing_and_claims_nothing() {
    let m = spin("lockpage-b-n2");
    let o = run(
        &m,
        Options {
            max_states: Some(0),
            ..Options::default()
        },
    );
    assert_eq!((o.verdict, o.states), (Verdict::Inconclusive, 0));
    assert!(o.budget_hit.expect("budget").contains("state limit of 0"));
}

#[test]
fn a_search_past_its_memory_budget_is_inconclusive_and_names_the_budget() {
    // (c) at N = 4: 990,544 states, far more than 16 MiB of tables.
    let m = spin("lockpage-c-n4");
    let o = run(
        &m,
        Options {
            max_memory: Some(16 * MIB),
            ..Options::default()
        },
    );
    assert_eq!(o.verdict, Verdict::Inconclusive);
    assert!(o.states > 0 && o.states < 990_544, "{}", o.states);
    let hit = o.budget_hit.expect("budget");
    assert!(hit.starts_with("memory limit of 16 MiB"), "{hit}");
    assert!(o.memory_peak <= 16 * MIB, "{}", o.memory_peak);
}

#[test]
fn the_stores_never_hold_more_than_the_memory_budget() {
    let m = spin("lockpage-c-n4");
    for mib in [6, 9, 12, 24, 40, 90] {
        let o = run(
            &m,
            Options {
                max_memory: Some(mib * MIB),
                ..Options::default()
            },
        );
        assert!(o.memory_peak <= mib * MIB, "{mib} MiB: {}", o.memory_peak);
        match o.verdict {
            Verdict::Holds => assert_eq!(o.states, 990_544, "{mib} MiB"),
            Verdict::Inconclusive => {
                assert!(o.budget_hit.expect("budget").contains("memory limit"))
            }
            v => panic!("{mib} MiB: {v}"),
        }
    }
}

#[test]
fn a_memory_budget_the_search_fits_in_changes_no_result() {
    // The budget also caps the step cache (a quarter of it), which only speeds the search
    // up: the states, transitions and counterexample are the same.
    for name in ["lockpage-a-n3", "lockpage-b-n3", "lockpage-d-n3"] {
        let m = spin(name);
        let free = run(&m, Options::default());
        for mib in [16, 64] {
            let tight = run(
                &m,
                Options {
                    max_memory: Some(mib * MIB),
                    ..Options::default()
                },
            );
            assert_eq!(tight.budget_hit, None, "{name} in {mib} MiB");
            assert_eq!(
                (tight.verdict, tight.states, tight.transitions, tight.depth),
                (free.verdict, free.states, free.transitions, free.depth),
                "{name} in {mib} MiB"
            );
            assert_eq!(tight.path, free.path, "{name} in {mib} MiB");
            assert!(tight.memory_peak <= mib * MIB);
        }
    }
}

#[test]
fn a_violation_found_before_the_memory_ran_out_stands() {
    // A full search (`pan -c0`) of the faithful v4.13-rc6 model with 4 lockers finds its
    // lost wakeup after 1,118,945 of 1,973,908 states and goes on counting until the
    // budget stops it: the violation is real, the count is not complete, and the result
    // says both.
    let m = scenario("scenarios/bench/linux-4.13-rc6-lockers-4.ron");
    let o = run(
        &m,
        Options {
            max_memory: Some(96 * MIB),
            full: true,
            ..Options::default()
        },
    );
    assert_eq!(o.verdict, Verdict::LostWakeup);
    assert!(!o.path.is_empty());
    assert!(o.states < 1_973_908, "{}", o.states);
    assert!(o.budget_hit.expect("budget").contains("memory limit"));
}
