//! The memory map's contract (docs/dsl.md, "The memory map"), on every engine:
//! `scenarios/memory/` holds one scenario per promise (an `atomic { }` block is
//! indivisible against builtins, bits of one word are one location, the careful list
//! helpers order what the plain ones do not) and the scenarios of the main gate that are
//! about weak memory (`set_current_state()` against `__set_current_state()`).
//!
//! Each scenario states its verdict per engine; these tests run the command line as a
//! user does (`--backend all --memory all`) and check every verdict, and that the weak
//! behaviours are really found where the scenarios say (so that a test passing cannot
//! mean an engine quietly ran nothing).

mod common;

use std::collections::BTreeMap;

use common::{json_lines, root, wqcheck};

/// (scenario, engine) -> verdict, for every result of a `--backend all --memory all` run.
fn verdicts(paths: &[&str]) -> BTreeMap<(String, String), String> {
    let mut args = vec![
        "--backend",
        "all",
        "--memory",
        "all",
        "--format",
        "json",
        "-q",
    ];
    args.extend_from_slice(paths);
    let out = wqcheck(&root(), &args);
    let lines = json_lines(&out);
    let mut failures = Vec::new();
    let mut v = BTreeMap::new();
    for l in &lines {
        match l["type"].as_str() {
            Some("result") => {
                let engine = match l["backend"].as_str() {
                    Some("native") => format!("native-{}", l["memory"].as_str().unwrap_or("?")),
                    Some(b) => b.to_string(),
                    None => "?".into(),
                };
                let scenario = l["scenario"].as_str().unwrap_or("?").to_string();
                if l["ok"] != true {
                    failures.push(format!(
                        "{scenario} [{engine}]: {} expected {} ({})",
                        l["verdict"], l["expected"], l["message"]
                    ));
                }
                v.insert(
                    (scenario, engine),
                    l["verdict"].as_str().unwrap_or("?").into(),
                );
            }
            Some("summary") => {}
            _ => failures.push(format!("{l}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    v
}

#[test]
fn every_memory_scenario_meets_its_expectation_on_every_engine() {
    let v = verdicts(&["scenarios/memory"]);
    let scenarios: Vec<&String> = v.keys().map(|(s, _)| s).collect();
    let files = std::fs::read_dir(root().join("scenarios/memory"))
        .expect("scenarios/memory")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "ron"))
        })
        .count();
    assert!(files >= 8, "the memory scenarios are there ({files})");
    for s in &scenarios {
        for engine in ["native-sc", "native-tso", "loom", "shuttle"] {
            assert!(
                v.contains_key(&(s.to_string(), engine.to_string())),
                "{s} ran on {engine}"
            );
        }
    }
}

#[test]
fn weak_memory_is_found_exactly_where_the_scenarios_say() {
    let v = verdicts(&[
        "scenarios/memory/bits-two-variables.ron",
        "scenarios/memory/plain-list-helpers.ron",
        "scenarios/classic-set-current-state-no-barrier.ron",
        "scenarios/classic-set-current-state.ron",
        "scenarios/classic-waitqueue-active-no-barrier.ron",
    ]);
    let at = |s: &str, e: &str| {
        v.get(&(s.to_string(), e.to_string()))
            .map(String::as_str)
            .unwrap_or_else(|| panic!("{s} on {e}"))
    };
    // Two `bit` variables are two locations: store buffering between them is C11's only.
    let s = "scenarios/memory/bits-two-variables.ron";
    assert_eq!(at(s, "native-sc"), "Holds");
    assert_eq!(at(s, "native-tso"), "Holds");
    assert_eq!(at(s, "loom"), "LostWakeup");
    // A relaxed unlink does not publish the flags stored before it.
    let s = "scenarios/memory/plain-list-helpers.ron";
    assert_eq!(at(s, "native-tso"), "Holds");
    assert_eq!(at(s, "loom"), "AssertionFailed");
    // __set_current_state() against try_to_wake_up(): store buffering, on x86 too.
    let s = "scenarios/classic-set-current-state-no-barrier.ron";
    assert_eq!(at(s, "native-sc"), "Holds");
    assert_eq!(at(s, "native-tso"), "LostWakeup");
    assert_eq!(at(s, "loom"), "LostWakeup");
    let s = "scenarios/classic-set-current-state.ron";
    for e in ["native-sc", "native-tso", "loom"] {
        assert_eq!(at(s, e), "Holds", "{s} on {e}");
    }
    let s = "scenarios/classic-waitqueue-active-no-barrier.ron";
    assert_eq!(at(s, "native-tso"), "LostWakeup");
    assert_eq!(at(s, "loom"), "LostWakeup");
}
