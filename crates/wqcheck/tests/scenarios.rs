//! The regression gate as a test: every `scenarios/*.ron` must meet its `expect`.
//!
//! One test per file would need a build script; instead one test checks them all and
//! reports every scenario that fails, not just the first.

use std::path::PathBuf;
use wqcheck_model::ir::{Expectation, MemoryModel};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn scenario_files() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join("scenarios"))
        .expect("scenarios/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "ron"))
        .collect();
    v.sort();
    v
}

fn args() -> wqcheck::Args {
    use clap::Parser;
    wqcheck::Args::parse_from(["wqcheck", "unused.ron"])
}

#[test]
fn every_scenario_meets_its_expectation() {
    let files = scenario_files();
    assert!(
        files.len() >= 8,
        "expected the scenarios of the foundation issue"
    );
    let mut failures = Vec::new();
    for f in &files {
        let inst = match wqcheck::load(f) {
            Ok(i) => i,
            Err(e) => {
                failures.push(format!("{}: {e}", f.display()));
                continue;
            }
        };
        // A regression gate states what it expects (docs/dsl.md §10: a scenario without
        // `expect` is an exploration, reported and never checked).
        if inst.expect == Expectation::Unstated {
            failures.push(format!("{}: no `expect`", f.display()));
        }
        // The native explorer under every memory model the scenario lists.
        for memory in inst.memory.clone() {
            match wqcheck::check(inst.clone(), &args(), false, memory) {
                Ok(r) if r.ok => {}
                Ok(r) => failures.push(format!(
                    "{} [{}]: got {} ({:?}), expected {}",
                    f.display(),
                    memory.name(),
                    r.verdict,
                    r.budget_hit,
                    r.expected
                )),
                Err(e) => failures.push(format!("{}: {e}", f.display())),
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The gate must be able to fail: flip each scenario's expectation to a wrong one and
/// check that the result is no longer ok.
#[test]
fn a_changed_expectation_makes_the_gate_fail() {
    let wrong = |e: Expectation| match e {
        Expectation::Holds => Expectation::LostWakeup,
        _ => Expectation::Holds,
    };
    for f in scenario_files() {
        let mut inst = wqcheck::load(&f).unwrap_or_else(|e| panic!("{e}"));
        inst.tso.expect = Some(wrong(inst.expect_native(MemoryModel::Tso)));
        inst.expect = wrong(inst.expect);
        for memory in inst.memory.clone() {
            let r = wqcheck::check(inst.clone(), &args(), false, memory).expect("checks");
            assert!(
                !r.ok,
                "{} [{}]: a wrong expect still passed",
                f.display(),
                memory.name()
            );
        }
    }
}
