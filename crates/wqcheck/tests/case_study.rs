//! The folio-lock case study (docs/case-studies/folio-lock-stall.md): every claim it makes
//! is a scenario in `scenarios/folio/`, and this test runs each on every engine its file
//! lists, requires its `expect`, and pins the native explorer's state counts, so that a
//! change in the model or the engine that moves a figure quoted in the case study shows.

mod common;

use common::{json_lines, root, wqcheck};

/// (scenario, memory model, verdict, distinct states) of every native run, as the case
/// study quotes them.
const NATIVE: &[(&str, &str, &str, u64)] = &[
    ("control-fair-handoff", "sc", "Holds", 7_259),
    ("control-fair-handoff", "tso", "Holds", 15_637),
    ("control-no-signal", "sc", "Holds", 5_238),
    ("control-shared-waiter", "sc", "Holds", 9_234),
    ("fix-count-if-woken-2-lockers", "sc", "LostWakeup", 28_935),
    ("fix-count-if-woken-3-lockers", "sc", "LostWakeup", 724_049),
    (
        "fix-count-if-woken-4-lockers",
        "sc",
        "LostWakeup",
        15_789_379,
    ),
    ("fix-pass-on-2-lockers", "sc", "Holds", 23_511),
    ("fix-pass-on-2-lockers", "tso", "Holds", 70_444),
    ("fix-pass-on-3-lockers", "sc", "Holds", 660_851),
    ("fix-pass-on-4-lockers", "sc", "Holds", 19_142_478),
    ("fix-take-lock-2-lockers", "sc", "Holds", 23_308),
    ("fix-take-lock-2-lockers", "tso", "Holds", 70_056),
    ("fix-take-lock-3-lockers", "sc", "Holds", 655_011),
    ("fix-take-lock-4-lockers", "sc", "Holds", 18_938_555),
    ("stall-2-lockers", "sc", "LostWakeup", 12_026),
    ("stall-3-lockers", "sc", "LostWakeup", 255_541),
    ("stall-4-lockers", "sc", "LostWakeup", 5_170_528),
    ("witness-task-running", "sc", "AssertionFailed", 18_729),
    ("witness-task-woken", "sc", "AssertionFailed", 19_567),
];

fn folio_scenarios() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(root().join("scenarios/folio"))
        .expect("scenarios/folio/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "ron"))
        .map(|p| {
            format!(
                "scenarios/folio/{}",
                p.file_name().unwrap().to_str().unwrap()
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn every_case_study_claim_holds_on_every_engine_with_the_quoted_state_counts() {
    let files = folio_scenarios();
    let mut args: Vec<&str> = vec!["--format", "json", "--quiet"];
    args.extend(files.iter().map(String::as_str));
    let out = wqcheck(&root(), &args);
    let lines = json_lines(&out);
    let mut failures = Vec::new();
    let mut native = Vec::new();
    let mut engines_seen = std::collections::BTreeSet::new();
    for e in lines.iter().filter(|l| l["type"] == "error") {
        failures.push(format!("{}: {}", e["scenario"], e["message"]));
    }
    for r in lines.iter().filter(|l| l["type"] == "result") {
        let scenario = r["scenario"].as_str().unwrap();
        let name = scenario
            .trim_start_matches("scenarios/folio/")
            .trim_end_matches(".ron")
            .to_string();
        let backend = r["backend"].as_str().unwrap().to_string();
        if r["ok"] != true {
            failures.push(format!(
                "{name} [{backend}]: {} (expected {})",
                r["verdict"], r["expected"]
            ));
        }
        engines_seen.insert(backend.clone());
        if backend == "native" {
            native.push((
                name,
                r["memory"].as_str().unwrap().to_string(),
                r["verdict"].as_str().unwrap().to_string(),
                r["states"].as_u64().unwrap(),
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let expected: Vec<(String, String, String, u64)> = NATIVE
        .iter()
        .map(|&(n, m, v, s)| (n.to_string(), m.to_string(), v.to_string(), s))
        .collect();
    assert_eq!(native, expected);
    assert_eq!(
        engines_seen.into_iter().collect::<Vec<_>>(),
        ["loom", "native", "shuttle"]
    );
}

/// The stall's shortest trace, as the case study draws it: one column per thread.
#[test]
fn the_folio_lock_stall_trace_renders_as_the_case_study_shows_it() {
    let out = wqcheck(
        &root(),
        &["--backend", "native", "scenarios/folio/stall-2-lockers.ron"],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stdout: String = stdout
        .lines()
        .map(|l| match l.find(" s, shortest") {
            // The result line's seconds vary from run to run.
            Some(_) => l.split(", depth").next().unwrap_or(l).to_string(),
            None => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    insta::assert_snapshot!(stdout);
}
