//! Loading scenarios for the engine tests (the CLI crate does this for users); shared by
//! the loom and shuttle test suites.

#![allow(dead_code, reason = "each test file uses a different subset")]

use std::path::{Path, PathBuf};
use wqcheck_model::{Model, Verdict};

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Load `scenarios/<name>` (or any path relative to the repository root).
pub fn load(rel: &str) -> Model {
    let path = root().join(rel);
    let text = std::fs::read_to_string(&path).unwrap();
    let file = wqcheck_dsl::parse_scenario(rel, &text).unwrap();
    let model_path = path.parent().unwrap().join(&file.model);
    let model_text = std::fs::read_to_string(&model_path).unwrap();
    let program = wqcheck_dsl::check_model("model.wq", &model_text).unwrap();
    let inst = wqcheck_dsl::resolve_scenario(rel, &text, &file, program).unwrap();
    Model::new(inst).unwrap()
}

/// A thread that busy-waits for a bit nobody sets, each round back in the same state: a
/// spin, which loom and shuttle recognise (docs/dsl.md, "Liveness").
pub fn busy_wait_model() -> Model {
    model_from(
        "bit flag;\nwaitqueue q until flag;\nvoid spinner(void) { while (!READ_ONCE(flag)) { } }\nvoid idle(void) { }\n",
        r#"Scenario(model: "m.wq", threads: [Thread(name: "a", run: "spinner"), Thread(name: "b", run: "idle")], expect: Holds)"#,
    )
}

/// `busy_wait_model`'s spinner counting its rounds: every round is a new state, so it is a
/// long execution rather than a recognised spin (docs/dsl.md, "Liveness").
pub fn counting_busy_wait_model() -> Model {
    model_from(
        "bit flag;\nwaitqueue q until flag;\nvoid spinner(void) { int rounds = 0; while (!READ_ONCE(flag)) { rounds++; } }\nvoid idle(void) { }\n",
        r#"Scenario(model: "m.wq", threads: [Thread(name: "a", run: "spinner"), Thread(name: "b", run: "idle")], expect: Holds)"#,
    )
}

/// `busy_wait_model`'s spin was recognised in the first execution, with nobody else able
/// to move, and, with no `liveness` to judge it, the run says why it has no verdict.
pub fn assert_spin_without_liveness(verdict: Verdict, why: Option<String>, executions: u64) {
    assert_eq!(verdict, Verdict::Inconclusive);
    let why = why.expect("why");
    assert!(
        why.contains("`a` spins") && why.contains("liveness"),
        "{why}"
    );
    assert_eq!(executions, 1);
}

/// A model and scenario given as text.
pub fn model_from(model: &str, scenario: &str) -> Model {
    let program = wqcheck_dsl::check_model("m.wq", model).expect("valid model");
    let file = wqcheck_dsl::parse_scenario("s.ron", scenario).expect("valid scenario");
    let inst = wqcheck_dsl::resolve_scenario("s.ron", scenario, &file, program).expect("resolves");
    Model::new(inst).expect("compiles")
}

/// loom and shuttle report a deadlock (and their own limits) by panicking; those messages
/// are noise in a test. Other panics, such as failed assertions, still print.
pub fn silence_engine_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let text = info.payload_as_str().unwrap_or("");
            let from_engine = info
                .location()
                .is_some_and(|l| l.file().contains(".cargo/registry"));
            if !(from_engine || text.contains("deadlock") || text.contains("exceeded max_steps")) {
                default(info);
            }
        }));
    });
}
