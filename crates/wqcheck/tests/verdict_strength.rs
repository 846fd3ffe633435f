//! What a result claims and what stopped it, as the gate and a JSON reader see them: the
//! `claim` of each verdict (exhaustive, bounded, sampled, counterexample, nothing), a
//! scenario's `require`, results that explored nothing, the state budget's boundary, and
//! the native explorer's memory budget (scenario, command line, the machine's default
//! under an address-space limit) ending a search as `Inconclusive` rather than aborting.

mod common;

use common::{json_lines, root, wqcheck};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A scratch directory for scenario files written by a test.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "wqcheck-verdict-strength-{}-{test}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).expect("scratch directory");
    dir
}

/// `scenario` (a path from the repository's root) rewritten by `edit` into `dir`, its
/// model path made absolute.
fn variant(dir: &Path, scenario: &str, edit: &[(&str, &str)]) -> String {
    let path = root().join(scenario);
    let mut text = std::fs::read_to_string(&path).expect("scenario");
    let models = root().join("models").canonicalize().expect("models/");
    for rel in ["\"../../models/", "\"../models/"] {
        text = text.replace(rel, &format!("\"{}/", models.display()));
    }
    for (from, to) in edit {
        assert!(text.contains(from), "{scenario} has `{from}`");
        text = text.replacen(from, to, 1);
    }
    let out = dir.join(path.file_name().expect("file name"));
    std::fs::write(&out, text).expect("writes the variant");
    out.display().to_string()
}

fn results(out: &Output) -> Vec<serde_json::Value> {
    json_lines(out)
        .into_iter()
        .filter(|l| l["type"] == "result")
        .collect()
}

fn by_backend<'a>(
    rs: &'a [serde_json::Value],
    scenario: &str,
    backend: &str,
) -> &'a serde_json::Value {
    rs.iter()
        .find(|r| {
            r["backend"] == backend
                && r["scenario"]
                    .as_str()
                    .is_some_and(|s| s.ends_with(scenario))
        })
        .unwrap_or_else(|| panic!("no {backend} result for {scenario}: {rs:?}"))
}

const HOLDS: &str = "scenarios/classic-prepare-then-check.ron";
const LOST: &str = "scenarios/classic-check-then-sleep.ron";

#[test]
fn json_says_how_much_each_result_covers() {
    let out = wqcheck(
        &root(),
        &["--format", "json", "--backend", "all", HOLDS, LOST],
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let rs = results(&out);
    let claim = |s: &str, b: &str| {
        let r = by_backend(&rs, s, b);
        assert_eq!(r["required"], serde_json::Value::Null);
        (r["verdict"].clone(), r["claim"].clone())
    };
    // The same `Holds` kind, three strengths.
    assert_eq!(
        claim(HOLDS, "native"),
        ("Holds".into(), "exhaustive".into())
    );
    assert_eq!(claim(HOLDS, "loom"), ("Holds".into(), "bounded".into()));
    assert_eq!(
        claim(HOLDS, "shuttle"),
        ("NoViolationFound".into(), "sampled".into())
    );
    for b in ["native", "loom", "shuttle"] {
        assert_eq!(
            claim(LOST, b),
            ("LostWakeup".into(), "counterexample".into())
        );
    }

    // loom unbounded and shuttle's DFS run to the end are exhaustive too.
    let out = wqcheck(
        &root(),
        &[
            "--format",
            "json",
            "--backend",
            "loom",
            "--loom-exhaustive",
            HOLDS,
        ],
    );
    assert_eq!(results(&out)[0]["claim"], "exhaustive", "{out:?}");
    let out = wqcheck(
        &root(),
        &[
            "--format",
            "json",
            "--backend",
            "shuttle",
            "--scheduler",
            "dfs",
            "--iterations",
            "1000000",
            HOLDS,
        ],
    );
    let r = &results(&out)[0];
    assert_eq!(
        (&r["verdict"], &r["claim"]),
        (&"Holds".into(), &"exhaustive".into())
    );

    // A search cut short claims nothing.
    let out = wqcheck(
        &root(),
        &[
            "--format",
            "json",
            "--backend",
            "native",
            "--max-states",
            "5",
            HOLDS,
        ],
    );
    let r = &results(&out)[0];
    assert_eq!(
        (&r["verdict"], &r["claim"]),
        (&"Inconclusive".into(), &"nothing".into())
    );
}

#[test]
fn require_exhaustive_fails_a_bounded_loom_holds_and_a_sampled_shuttle_run() {
    let dir = scratch("require");
    let s = variant(
        &dir,
        HOLDS,
        &[("expect: Holds,", "expect: Holds,\n    require: Exhaustive,")],
    );

    let out = wqcheck(&root(), &["--format", "json", &s]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let rs = results(&out);
    let gate = |b: &str| {
        let r = by_backend(&rs, HOLDS.trim_start_matches("scenarios/"), b);
        assert_eq!(r["required"], "exhaustive");
        (r["claim"].clone(), r["ok"].clone())
    };
    assert_eq!(gate("native"), ("exhaustive".into(), true.into()));
    assert_eq!(gate("loom"), ("bounded".into(), false.into()));
    assert_eq!(gate("shuttle"), ("sampled".into(), false.into()));

    // The human line says what was required and what the result was.
    let out = wqcheck(&root(), &["--quiet", &s]);
    let text = String::from_utf8_lossy(&out.stdout);
    let loom = text
        .lines()
        .find(|l| l.contains("[loom]"))
        .expect("loom line");
    assert!(
        loom.starts_with("FAIL ")
            && loom
                .contains("Holds, expected Holds, exhaustive (required; this result is bounded)"),
        "{loom}"
    );
    let shuttle = text
        .lines()
        .find(|l| l.contains("[shuttle]"))
        .expect("shuttle line");
    assert!(
        shuttle.contains("expected Holds, exhaustive (required; this result is sampled)"),
        "{shuttle}"
    );

    // Asking each engine for an exhaustive search meets the requirement.
    let out = wqcheck(
        &root(),
        &[
            "--loom-exhaustive",
            "--scheduler",
            "dfs",
            "--iterations",
            "1000000",
            "--quiet",
            &s,
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_run_that_explored_nothing_never_passes_expect_holds() {
    // shuttle with no time runs no execution; the native explorer with no states stores none.
    for args in [
        &["--backend", "shuttle", "--max-seconds", "0"][..],
        &["--backend", "native", "--max-states", "0"][..],
    ] {
        let mut all = vec!["--format", "json"];
        all.extend_from_slice(args);
        all.push(HOLDS);
        let out = wqcheck(&root(), &all);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {out:?}");
        let r = &results(&out)[0];
        assert_eq!(
            (&r["states"], &r["ok"]),
            (&0.into(), &false.into()),
            "{args:?}: {r}"
        );
    }
}

#[test]
fn max_states_equal_to_the_state_count_holds_and_one_less_is_inconclusive() {
    // (b) at N = 3 has exactly 29,023 states (SPIN's count, README).
    let s = "scenarios/spin/lockpage-b-n3.ron";
    let out = wqcheck(&root(), &["--format", "json", "--max-states", "29023", s]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let r = &results(&out)[0];
    assert_eq!(
        (&r["verdict"], &r["states"]),
        (&"Holds".into(), &29023.into())
    );
    assert_eq!(r["claim"], "exhaustive");

    let out = wqcheck(&root(), &["--format", "json", "--max-states", "29022", s]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let r = &results(&out)[0];
    assert_eq!(
        (&r["verdict"], &r["states"]),
        (&"Inconclusive".into(), &29022.into())
    );
    assert!(r["budget_hit"]
        .as_str()
        .expect("budget")
        .contains("state limit of 29022"));
}

/// `wqcheck args...` with its address space limited to 200,000,000 bytes, as
/// `prlimit --as=200000000` does (the shell's `ulimit -v` where `prlimit` is missing).
fn wqcheck_in_200_mb(args: &[&str]) -> Output {
    let exe = env!("CARGO_BIN_EXE_wqcheck");
    let prlimit = Command::new("prlimit")
        .arg("--as=200000000")
        .arg(exe)
        .args(args)
        .current_dir(root())
        .output();
    match prlimit {
        Ok(out) if !String::from_utf8_lossy(&out.stderr).contains("prlimit:") => out,
        _ => Command::new("sh")
            .arg("-c")
            .arg("ulimit -v 195312 && exec \"$@\"")
            .arg("sh")
            .arg(exe)
            .args(args)
            .current_dir(root())
            .output()
            .expect("runs sh"),
    }
}

#[test]
fn under_an_address_space_limit_a_big_search_is_inconclusive_and_later_scenarios_are_reported() {
    // (c) at N = 5 needs about 1 GiB. Before the memory budget, this aborted the process
    // ("memory allocation of 134217728 bytes failed", exit 134): no result for it, none
    // for the scenarios after it, no summary. With the default budget (from the limit)
    // the budget stops it; with a budget above the limit the system's refusal does.
    for budget in [None, Some("4GiB")] {
        let mut args = vec!["--format", "json", "--backend", "native"];
        if let Some(b) = budget {
            args.extend(["--max-memory", b]);
        }
        args.extend(["scenarios/spin/lockpage-c-n5.ron", HOLDS]);
        let out = wqcheck_in_200_mb(&args);
        assert_eq!(out.status.code(), Some(1), "{budget:?}: {out:?}");
        let lines = json_lines(&out);
        assert_eq!(lines.len(), 3, "{budget:?}: {lines:?}");
        let big = &lines[0];
        assert_eq!(
            (&big["verdict"], &big["ok"]),
            (&"Inconclusive".into(), &false.into())
        );
        assert!(big["states"].as_u64().expect("states") > 0);
        let hit = big["budget_hit"].as_str().expect("budget_hit");
        match budget {
            None => assert!(
                hit.starts_with("memory limit of ") && hit.contains("the default budget"),
                "{hit}"
            ),
            Some(_) => assert!(hit.starts_with("system's memory limit"), "{hit}"),
        }
        assert_eq!(
            (&lines[1]["verdict"], &lines[1]["ok"]),
            (&"Holds".into(), &true.into()),
            "{budget:?}"
        );
        assert_eq!(
            lines[2],
            serde_json::json!({"type": "summary", "v": 1, "passed": 1, "failed": 1, "errors": 0})
        );
    }
}

#[test]
fn a_scenario_memory_budget_stops_the_search_and_is_listed_with_the_bounds() {
    let dir = scratch("budget");
    let s = variant(
        &dir,
        "scenarios/spin/lockpage-c-n4.ron",
        &[(
            "max_seconds: 1800)",
            "max_seconds: 1800, max_memory_mib: 16)",
        )],
    );
    let out = wqcheck(&root(), &["--format", "json", &s]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let r = &results(&out)[0];
    assert_eq!(r["verdict"], "Inconclusive");
    assert!(r["bounds"]
        .as_str()
        .expect("bounds")
        .ends_with("max_memory_mib=16"));
    let hit = r["budget_hit"].as_str().expect("budget_hit");
    assert!(hit.starts_with("memory limit of 16 MiB"), "{hit}");

    // The command line overrides it; a budget the search fits in changes no state count.
    let out = wqcheck(&root(), &["--format", "json", "--max-memory", "1GiB", &s]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let r = &results(&out)[0];
    assert_eq!(
        (&r["verdict"], &r["states"]),
        (&"Holds".into(), &990_544.into())
    );
    assert!(r["bounds"]
        .as_str()
        .expect("bounds")
        .ends_with("max_memory_mib=1024"));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn memory_budgets_and_requirements_out_of_range_are_input_errors() {
    let dir = scratch("errors");
    let zero = variant(
        &dir,
        HOLDS,
        &[("max_seconds: 60)", "max_seconds: 60, max_memory_mib: 0)")],
    );
    let out = wqcheck(&root(), &[&zero]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    // The diagnostic points at the value: `file:line:col` of the `0`.
    let written = std::fs::read_to_string(&zero).expect("variant");
    let at = written.find("max_memory_mib: 0").expect("written") + "max_memory_mib: ".len();
    let line = written[..at].lines().count();
    let col = at - written[..at].rfind('\n').map_or(0, |i| i + 1) + 1;
    assert!(
        text.contains(&format!("classic-prepare-then-check.ron:{line}:{col}"))
            && text.contains("`max_memory_mib: 0` is out of range (from 1 to 1073741824)"),
        "{text}"
    );

    let proof = variant(
        &dir,
        LOST,
        &[(
            "expect: LostWakeup,",
            "expect: LostWakeup,\n    require: Proof,",
        )],
    );
    let out = wqcheck(&root(), &[&proof]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("unknown value `Proof` for `require`")
            && text.contains("`Exhaustive`, `Bounded`, `Sampled`"),
        "{text}"
    );

    for size in ["0", "0GiB", "1.5G", "2PiB", "1025TiB"] {
        let out = wqcheck(&root(), &["--max-memory", size, HOLDS]);
        assert_eq!(out.status.code(), Some(2), "{size}: {out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("from 1 MiB to 1024 TiB"), "{size}: {err}");
    }
    let _ = std::fs::remove_dir_all(dir);
}
