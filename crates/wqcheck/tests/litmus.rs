//! The Linux kernel memory model's litmus tests (`scenarios/litmus/`) on every engine.
//!
//! Each scenario is one of the kernel's litmus tests (tools/memory-model/litmus-tests,
//! Documentation/litmus-tests) whose `exists` clause is a final assertion: the verdict is
//! `AssertionFailed` when the outcome is reachable ("Sometimes"), `Holds` when it is not
//! ("Never"). Its opening comment gives herd7's LKMM result and each engine's verdict with
//! the reason; this file checks that every engine gets the verdict its scenario expects,
//! that the comment says the same, and that the suite really does tell the engines apart.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use wqcheck_model::ir::{Backend, Expectation, Instance, MemoryModel};
use wqcheck_model::{Model, Verdict};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn litmus_files() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join("scenarios/litmus"))
        .expect("scenarios/litmus/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "ron"))
        .collect();
    v.sort();
    assert!(v.len() >= 15, "the litmus suite has {} tests", v.len());
    v
}

fn name(path: &Path) -> String {
    path.file_stem()
        .expect("a file")
        .to_string_lossy()
        .into_owned()
}

fn args() -> wqcheck::Args {
    use clap::Parser;
    wqcheck::Args::parse_from(["wqcheck", "unused.ron"])
}

/// loom and the thread executor report outcomes by panicking (a failed final assertion
/// stops the execution with a typed payload; the CLI runs loom in a child process whose
/// panic hook prints nothing). In a test those messages are noise; panics with a message
/// raised outside the engines, such as this file's failed assertions, still print.
fn silence_engine_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let Some(text) = info.payload_as_str() else {
                return; // a typed payload: an engine's own control flow
            };
            let from_engine = info.location().is_some_and(|l| {
                let f = l.file();
                f.contains(".cargo/registry")
                    || f.contains("wqcheck-threads/")
                    || f.contains("wqcheck-loom/")
            });
            if !(from_engine || text.contains("deadlock") || text.contains("exceeded max_steps")) {
                default(info);
            }
        }));
    });
}

/// Whether a litmus test's `exists` outcome is reachable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Never,
    Sometimes,
}

impl Outcome {
    fn of(e: Expectation) -> Outcome {
        match e {
            Expectation::Holds => Outcome::Never,
            Expectation::AssertionFailed => Outcome::Sometimes,
            other => panic!("a litmus test expects Holds or AssertionFailed, not {other:?}"),
        }
    }

    fn parse(text: &str) -> Option<Outcome> {
        if text.starts_with("Never") {
            Some(Outcome::Never)
        } else if text.starts_with("Sometimes") {
            Some(Outcome::Sometimes)
        } else {
            None
        }
    }
}

const ENGINES: [&str; 3] = ["SC", "TSO", "loom"];

/// One litmus test: herd7's result and what the scenario expects of each engine.
#[derive(Debug)]
struct Test {
    name: String,
    lkmm: Outcome,
    /// By engine (`ENGINES`): the expected outcome.
    expect: BTreeMap<&'static str, Outcome>,
    /// By engine: the paragraph of the scenario's comment about it.
    says: BTreeMap<&'static str, String>,
}

fn expectations(inst: &Instance) -> BTreeMap<&'static str, Outcome> {
    BTreeMap::from([
        ("SC", Outcome::of(inst.expect_native(MemoryModel::Sc))),
        ("TSO", Outcome::of(inst.expect_native(MemoryModel::Tso))),
        ("loom", Outcome::of(inst.expect_on(Backend::Loom))),
    ])
}

/// Read the scenario's opening comment: `// LKMM (herd7): "Result: Sometimes".` and one
/// paragraph per engine, `// SC:   Never (Holds): why ...` with `//       ...` lines after.
fn parse_comment(text: &str) -> Result<(Outcome, BTreeMap<&'static str, String>), String> {
    let comment: Vec<&str> = text
        .lines()
        .take_while(|l| l.starts_with("//"))
        .map(|l| l.trim_start_matches("//"))
        .collect();
    let lkmm = comment
        .iter()
        .find_map(|l| l.trim().strip_prefix("LKMM (herd7): \"Result: "))
        .and_then(Outcome::parse)
        .ok_or("no `LKMM (herd7): \"Result: ...\"` line")?;
    let mut says = BTreeMap::new();
    for engine in ENGINES {
        let head = format!(" {engine}:");
        let start = comment
            .iter()
            .position(|l| l.starts_with(&head))
            .ok_or(format!("no `// {engine}:` paragraph"))?;
        let mut paragraph = comment[start][head.len()..].trim().to_string();
        for l in &comment[start + 1..] {
            if !l.starts_with("   ") {
                break;
            }
            paragraph.push(' ');
            paragraph.push_str(l.trim());
        }
        says.insert(engine, paragraph);
    }
    Ok((lkmm, says))
}

fn load_suite() -> (Vec<(PathBuf, Instance)>, Vec<Test>) {
    let mut loaded = Vec::new();
    let mut tests = Vec::new();
    for f in litmus_files() {
        let inst = wqcheck::load(&f).unwrap_or_else(|e| panic!("{e}"));
        let text = std::fs::read_to_string(&f).expect("readable");
        let (lkmm, says) = parse_comment(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        tests.push(Test {
            name: name(&f),
            lkmm,
            expect: expectations(&inst),
            says,
        });
        loaded.push((f, inst));
    }
    (loaded, tests)
}

/// Every engine meets its expectation on every litmus test. All failures are reported
/// together; the verdicts are printed as a table (`--nocapture` shows it).
#[test]
fn every_engine_gets_the_verdict_its_scenario_expects() {
    silence_engine_panics();
    let args = args();
    let (loaded, _) = load_suite();
    let mut failures = Vec::new();
    let mut table = Vec::new();
    for (f, inst) in &loaded {
        let mut row = vec![name(f)];
        for memory in [MemoryModel::Sc, MemoryModel::Tso] {
            let expect = inst.expect_native(memory);
            match wqcheck::check(inst.clone(), &args, false, memory) {
                Ok(r) => {
                    row.push(format!("{} ({} states)", r.verdict, r.states));
                    if !r.verdict.meets(expect) {
                        failures.push(format!(
                            "{} [native, {}]: got {} ({}), expected {expect:?}",
                            name(f),
                            memory.name(),
                            r.verdict,
                            r.message.unwrap_or_default()
                        ));
                    }
                }
                Err(e) => failures.push(format!("{} [native, {}]: {e}", name(f), memory.name())),
            }
        }
        let expect = inst.expect_on(Backend::Loom);
        let opts = wqcheck::engines::loom_options(inst, &args);
        let model = Model::new(inst.clone()).unwrap_or_else(|e| panic!("{}: {}", name(f), e.0));
        match wqcheck_loom::check(&model, &opts) {
            Ok(o) => {
                row.push(format!("{} ({} executions)", o.verdict, o.executions));
                if !o.verdict.meets(expect) || o.verdict == Verdict::Inconclusive {
                    failures.push(format!(
                        "{} [loom]: got {} ({:?}, {}), expected {expect:?}",
                        name(f),
                        o.verdict,
                        o.budget_hit,
                        o.violation.map(|v| v.message).unwrap_or_default()
                    ));
                }
            }
            Err(e) => failures.push(format!("{} [loom]: {e}", name(f))),
        }
        table.push(row.join(" | "));
    }
    eprintln!("test | SC | TSO | loom\n{}", table.join("\n"));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Each scenario's comment states the verdict it expects of each engine, and marks every
/// verdict that differs from herd7's LKMM result as such (and says why).
#[test]
fn every_comment_states_the_expected_verdicts_and_each_difference_from_lkmm() {
    let (_, tests) = load_suite();
    let mut problems = Vec::new();
    for t in &tests {
        for engine in ENGINES {
            let says = &t.says[engine];
            let expect = t.expect[engine];
            if Outcome::parse(says) != Some(expect) {
                problems.push(format!(
                    "{} [{engine}]: the comment says `{says}`, the scenario expects {expect:?}",
                    t.name
                ));
            }
            let marked = [
                "stronger than LKMM",
                "weaker than LKMM",
                "differs from LKMM",
            ]
            .iter()
            .any(|m| says.contains(m));
            if (expect != t.lkmm) != marked {
                problems.push(format!(
                    "{} [{engine}]: {expect:?} against LKMM's {:?}, but the comment {} a difference: `{says}`",
                    t.name,
                    t.lkmm,
                    if marked { "claims" } else { "does not mark" }
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The suite cannot pass vacuously: it has tests on which the engines disagree, in each
/// direction the documentation describes, and none on which they disagree in a way their
/// models forbid.
#[test]
fn the_engines_disagree_in_every_documented_direction_and_no_other() {
    let (_, tests) = load_suite();
    use Outcome::{Never, Sometimes};
    let some = |what: &str, p: &dyn Fn(&Test) -> bool| {
        let hits: Vec<&str> = tests
            .iter()
            .filter(|t| p(t))
            .map(|t| t.name.as_str())
            .collect();
        assert!(!hits.is_empty(), "no litmus test where {what}");
    };
    let e = |t: &Test, engine: &str| t.expect[engine];
    // x86-TSO reorders a store with a later load (SB, R); SC never reorders.
    some("TSO is Sometimes and SC Never", &|t| {
        e(t, "TSO") == Sometimes && e(t, "SC") == Never
    });
    // C11 relaxed atomics are weaker than x86 (MP, WRC, ISA2, IRIW).
    some("loom is Sometimes and TSO Never", &|t| {
        e(t, "loom") == Sometimes && e(t, "TSO") == Never
    });
    // loom explores no load buffering (LB, S).
    some("LKMM is Sometimes and loom Never", &|t| {
        t.lkmm == Sometimes && e(t, "loom") == Never
    });
    // x86 is stronger than LKMM: MP needs no barrier, and a failed cmpxchg is locked.
    some("LKMM is Sometimes and TSO Never", &|t| {
        t.lkmm == Sometimes && e(t, "TSO") == Never
    });
    some("LKMM is Sometimes and SC Never", &|t| {
        t.lkmm == Sometimes && e(t, "SC") == Never
    });
    // ... and each engine finds some of the weak outcomes LKMM allows.
    for engine in ["TSO", "loom"] {
        some(&format!("LKMM and {engine} are both Sometimes"), &|t| {
            t.lkmm == Sometimes && e(t, engine) == Sometimes
        });
    }
    some("LKMM says Never", &|t| t.lkmm == Never);

    // The directions no engine may take: SC allows no outcome the weaker models forbid,
    // and x86 (the kernel's mapping onto it) allows nothing LKMM forbids.
    let mut wrong = Vec::new();
    for t in &tests {
        if e(t, "SC") == Sometimes && (e(t, "TSO") == Never || e(t, "loom") == Never) {
            wrong.push(format!(
                "{}: Sometimes under SC but Never under a weaker model",
                t.name
            ));
        }
        if t.lkmm == Never && (e(t, "SC") == Sometimes || e(t, "TSO") == Sometimes) {
            wrong.push(format!(
                "{}: LKMM forbids it, but SC or TSO allows it",
                t.name
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Each model cites the litmus test it transcribes: its path, a commit and herd7's result,
/// the same result as the scenario's comment.
#[test]
fn every_model_cites_its_litmus_test() {
    let (loaded, tests) = load_suite();
    let mut problems = Vec::new();
    for ((f, _), t) in loaded.iter().zip(&tests) {
        let wq = root().join(format!("models/litmus/{}.wq", t.name));
        let text = std::fs::read_to_string(&wq)
            .unwrap_or_else(|e| panic!("{}: {}: {e}", f.display(), wq.display()));
        let result = format!("Result: {:?}", t.lkmm);
        let cites = text.starts_with("/*")
            && text.contains(&format!("/{}.litmus", t.name))
            && text.contains("at commit ")
            && text.contains(&format!("herd7 on LKMM: \"{result}\""));
        if !cites {
            problems.push(format!(
                "{}: no `/* ... */` header citing {}.litmus, its commit and \"{result}\"",
                wq.display(),
                t.name
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
