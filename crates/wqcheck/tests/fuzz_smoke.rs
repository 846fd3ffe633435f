//! The fuzzer, briefly, as CI runs it (docs/fuzzing.md has the long run): `wqcheck-fuzz`
//! on 2,000 mutants of the valid scenarios, and on the regression corpus of the inputs
//! issue 9 found (`tests/fuzz-corpus/`). Each run must end with no failed check: no
//! panic, no internal error, no run over 10 s, budgets honoured, no verdict for input
//! that fails to parse, bounded error reports, and each corpus entry's own `expect`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

fn fuzz(args: &[&str]) -> (bool, String) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    // One work directory per run: the tests run in parallel.
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let out_dir = std::env::temp_dir().join(format!(
        "wqcheck-fuzz-smoke-{}-{}",
        std::process::id(),
        RUNS.fetch_add(1, Ordering::Relaxed)
    ));
    let out = Command::new(env!("CARGO_BIN_EXE_wqcheck-fuzz"))
        .args(args)
        .arg("--root")
        .arg(&root)
        .arg("--wqcheck")
        .arg(env!("CARGO_BIN_EXE_wqcheck"))
        .arg("--out")
        .arg(&out_dir)
        .output()
        .expect("wqcheck-fuzz runs");
    let _ = std::fs::remove_dir_all(&out_dir);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn corpus(group: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz-corpus")
        .join(group)
}

#[test]
fn two_thousand_mutants_of_the_valid_scenarios_break_no_check() {
    let (ok, text) = fuzz(&[
        "--mutants",
        "2000",
        "--seed",
        "1",
        "--cli-every",
        "250",
        "--max-seconds",
        "1",
    ]);
    assert!(ok, "{text}");
    assert!(text.contains("2000 mutants in"), "{text}");
    assert!(text.contains("  failures: 0"), "{text}");
    // The mutants reach the explorer, not only the parser.
    assert!(text.contains("Holds "), "{text}");
    assert!(text.contains("rejected "), "{text}");
    assert!(text.contains("cli-exit-"), "{text}");
}

#[test]
fn the_same_seed_makes_the_same_mutants() {
    let run = || {
        let (_, text) = fuzz(&["--mutants", "300", "--seed", "7", "--cli-every", "0"]);
        text.lines()
            .find(|l| l.starts_with("  outcomes:"))
            .map(str::to_string)
            .unwrap_or_default()
    };
    let a = run();
    assert!(a.contains("rejected"), "{a}");
    assert_eq!(a, run());
}

#[test]
fn the_corpus_of_flooding_and_quadratic_inputs_passes() {
    let dir = corpus("front-end");
    let (ok, text) = fuzz(&["--corpus", &dir.display().to_string()]);
    assert!(ok, "{text}");
    assert!(text.contains(": 6 entries, 0 failed"), "{text}");
}

#[test]
fn the_corpus_of_budget_and_command_line_inputs_passes() {
    let dir = corpus("engines-and-cli");
    let (ok, text) = fuzz(&["--corpus", &dir.display().to_string()]);
    assert!(ok, "{text}");
    assert!(text.contains(": 8 entries, 0 failed"), "{text}");
}
