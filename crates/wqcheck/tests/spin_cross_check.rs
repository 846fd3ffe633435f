//! The native explorer against an independent model checker.
//!
//! `models/linux/spin-granularity/*.wq` are written at the granularity of
//! ../shared/reference/spin/lockpage.pml (one `atomic` block per d_step). SPIN 6.5.2 stores
//! the numbers below for a full search (`pan -c0`); the same transition system must give
//! the same number of distinct states here. N = 4 and 5 are in `wqcheck-bench --full`.

use std::path::PathBuf;
use wqcheck_explore::{explore, Options};
use wqcheck_model::{Model, Verdict};

fn full_search(file: &str) -> (Verdict, u64, usize) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../scenarios/spin")
        .join(file);
    let inst = wqcheck::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let model = Model::new(inst).expect("compiles");
    let out = explore(
        &model,
        &Options {
            full: true,
            ..Options::default()
        },
    );
    (out.verdict, out.states, out.path.len())
}

#[test]
fn variant_a_v4_13_rc6_matches_spin_state_counts() {
    assert_eq!(
        full_search("lockpage-a-n2.ron"),
        (Verdict::LostWakeup, 1_336, 12)
    );
    assert_eq!(
        full_search("lockpage-a-n3.ron"),
        (Verdict::LostWakeup, 29_071, 15)
    );
}

#[test]
fn variant_b_abort_exclusive_wait_matches_spin_state_counts() {
    assert_eq!(full_search("lockpage-b-n2.ron"), (Verdict::Holds, 1_334, 0));
    assert_eq!(
        full_search("lockpage-b-n3.ron"),
        (Verdict::Holds, 29_023, 0)
    );
}

#[test]
fn variant_c_v5_9_handoff_matches_spin_state_counts() {
    assert_eq!(full_search("lockpage-c-n2.ron"), (Verdict::Holds, 1_856, 0));
    assert_eq!(
        full_search("lockpage-c-n3.ron"),
        (Verdict::Holds, 41_516, 0)
    );
}

#[test]
fn variant_d_v4_13_matches_spin_state_counts() {
    assert_eq!(full_search("lockpage-d-n2.ron"), (Verdict::Holds, 1_358, 0));
    assert_eq!(
        full_search("lockpage-d-n3.ron"),
        (Verdict::LostWakeup, 33_721, 15)
    );
}

/// The step cache only speeds the search up: with it off, or too small to hold much, the
/// search stores the same states and finds the same shortest counterexample.
#[test]
fn step_cache_changes_nothing_but_speed() {
    for file in ["lockpage-c-n3.ron", "lockpage-d-n3.ron"] {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../scenarios/spin")
            .join(file);
        let model =
            Model::new(wqcheck::load(&path).unwrap_or_else(|e| panic!("{e}"))).expect("compiles");
        let run = |step_cache: usize, full: bool| {
            let o = explore(
                &model,
                &Options {
                    full,
                    step_cache,
                    ..Options::default()
                },
            );
            (o.verdict, o.states, o.transitions, o.path)
        };
        for full in [true, false] {
            let with = run(wqcheck_explore::DEFAULT_STEP_CACHE, full);
            assert_eq!(with, run(0, full), "{file}: cache off");
            assert_eq!(with, run(100, full), "{file}: a 100-entry cache");
        }
    }
}
