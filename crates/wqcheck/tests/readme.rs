//! The README is part of the interface: its verdict definitions are the code's, word for
//! word, and CI runs the test command it gives.

use std::path::PathBuf;
use wqcheck_model::Verdict;

fn read(rel: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn readme_and_dsl_reference_define_each_verdict_as_the_code_does() {
    for doc in ["README.md", "docs/dsl.md"] {
        let text = read(doc);
        for v in [
            Verdict::Holds,
            Verdict::LostWakeup,
            Verdict::Deadlock,
            Verdict::AssertionFailed,
            Verdict::Starvation,
            Verdict::Livelock,
            Verdict::Inconclusive,
            Verdict::NoViolationFound,
        ] {
            let line = format!("- `{v}`: {}", v.definition());
            assert!(text.contains(&line), "{doc} lacks the line\n{line}");
        }
    }
}

#[test]
fn ci_runs_the_readme_test_command() {
    let readme = read("README.md");
    let ci = read(".ci/run");
    let test_cmd = "cargo test --profile ci --workspace";
    assert!(
        readme.contains(&format!("    {test_cmd}\n")),
        "README gives the test command"
    );
    assert!(readme.contains("    cargo run --release -- scenarios/*.ron\n"));
    assert!(ci.lines().any(|l| l.trim() == test_cmd), ".ci/run runs it");
}
