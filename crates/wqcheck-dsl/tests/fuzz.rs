//! Robustness: arbitrary text and mutations of valid inputs never make the front end
//! panic, hang or overflow its stack (256 cases in all).

use proptest::prelude::*;
use proptest::sample::Index;
use wqcheck_model::ir;

const MODEL: &str = include_str!("fixtures/valid/page-lock.wq");
const FUTEX: &str = include_str!("fixtures/valid/futex-mutex.wq");
const SCENARIO: &str = include_str!("fixtures/valid/page-lock.ron");
const SCENARIO_LOOM: &str = r#"Scenario(
    model: "page-lock.wq",
    threads: [Thread(name: "thread1", run: "locker"), Thread(name: "thread2", run: "holder", args: [])],
    backends: [Native, Loom],
    loom: (expect: Deadlock, max_preemptions: 3, exhaustive: false, max_branches: 20000, max_seconds: 60),
    expect: LostWakeup,
)"#;
const SCENARIO_SHUTTLE: &str = r#"Scenario(
    model: "page-lock.wq",
    threads: [Thread(name: "thread1", run: "locker"), Thread(name: "thread2", run: "holder", args: [])],
    backends: [Native, Loom, Shuttle],
    shuttle: (expect: Deadlock, scheduler: Pct, depth: 3, iterations: 10000, seed: 42, max_seconds: 60),
    expect: LostWakeup,
)"#;

const DSL_TOKENS: &[&str] = &[
    "(",
    ")",
    "{",
    "}",
    ";",
    ",",
    "&",
    "*",
    "->",
    ".",
    "=",
    "==",
    "!",
    "?",
    ":",
    "++",
    "<",
    ">",
    "..",
    "atomic",
    "goto",
    "break",
    "continue",
    "return",
    "while",
    "for",
    "do",
    "if",
    "else",
    "int",
    "int<0..3>",
    "bit",
    "void",
    "const",
    "waitqueue",
    "futex",
    "until",
    "wait",
    "q",
    "PG_locked",
    "current",
    "NULL",
    "DEFINE_WAIT",
    "wait_queue_entry_t",
    "label:",
    "0x7fffffff",
    "99999999999",
    "/*",
    "*/",
    "//",
    "#",
    "\"",
    "é",
    "\n",
    "\t",
    " ",
];

const RON_TOKENS: &[&str] = &[
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ",",
    ":",
    "\"",
    "Scenario",
    "Thread",
    "Signal",
    "name",
    "run",
    "args",
    "target",
    "fatal",
    "expect",
    "Holds",
    "Hold",
    "init",
    "bounds",
    "-1",
    "1e9",
    "//",
    "/*",
    "r#",
    "\\",
    "\n",
    "é",
    "Some",
    "true",
    "backends",
    "Native",
    "Loom",
    "loom",
    "11",
    "0",
    "Shuttle",
    "shuttle",
    "scheduler",
    "Random",
    "Pct",
    "Dfs",
    "depth",
    "iterations",
    "seed",
    "18446744073709551616",
    "1.5",
];

#[derive(Debug, Clone)]
enum Mutation {
    Delete(Index, usize),
    Insert(Index, String),
    Replace(Index, usize, String),
}

fn mutation(tokens: &'static [&'static str]) -> impl Strategy<Value = Mutation> {
    let token = prop_oneof![
        prop::sample::select(tokens).prop_map(str::to_string),
        any::<char>().prop_map(|c| c.to_string()),
    ];
    prop_oneof![
        (any::<Index>(), 1usize..40).prop_map(|(i, n)| Mutation::Delete(i, n)),
        (any::<Index>(), token.clone()).prop_map(|(i, t)| Mutation::Insert(i, t)),
        (any::<Index>(), 1usize..8, token).prop_map(|(i, n, t)| Mutation::Replace(i, n, t)),
    ]
}

/// Applies mutations on chars, so the result is always valid UTF-8.
fn mutate(base: &str, muts: &[Mutation]) -> String {
    let mut chars: Vec<char> = base.chars().collect();
    for m in muts {
        let len = chars.len().max(1);
        match m {
            Mutation::Delete(i, n) => {
                let at = i.index(len).min(chars.len());
                let end = (at + n).min(chars.len());
                chars.drain(at..end);
            }
            Mutation::Insert(i, t) => {
                let at = i.index(len + 1).min(chars.len());
                chars.splice(at..at, t.chars());
            }
            Mutation::Replace(i, n, t) => {
                let at = i.index(len).min(chars.len());
                let end = (at + n).min(chars.len());
                chars.splice(at..end, t.chars());
            }
        }
    }
    chars.into_iter().collect()
}

/// Everything a caller would do with the result must not panic either.
fn exercise_model(text: &str) {
    match wqcheck_dsl::check_model("fuzz.wq", text) {
        Ok(p) => {
            let file = wqcheck_dsl::parse_scenario("fuzz.ron", SCENARIO).ok();
            if let Some(f) = file {
                let _ = wqcheck_dsl::resolve_scenario("fuzz.ron", SCENARIO, &f, p);
            }
        }
        Err(d) => {
            assert!(!d.is_empty());
            for x in &d {
                assert!(x.span.start <= x.span.end);
                assert!(x.span.end as usize <= text.len());
                let _ = wqcheck_dsl::render(x, text);
                let _ = wqcheck_dsl::render_short(x, text);
            }
        }
    }
}

fn exercise_scenario(text: &str) {
    match wqcheck_dsl::parse_scenario("fuzz.ron", text) {
        Ok(f) => {
            if let Ok(p) = wqcheck_dsl::check_model("m.wq", MODEL) {
                match wqcheck_dsl::resolve_scenario("fuzz.ron", text, &f, p) {
                    Ok(inst) => {
                        assert!(inst.threads_span.start <= inst.threads_span.end);
                        assert!(inst.threads_span.end as usize <= text.len());
                        assert!(!inst.backends.is_empty());
                        let s = inst.shuttle;
                        assert!(s.depth.is_none_or(|d| (1..=10).contains(&d)));
                        assert!(
                            s.depth.is_none()
                                || s.scheduler.is_none_or(|x| x == ir::ShuttleScheduler::Pct)
                        );
                        assert!(s.iterations.is_none_or(|n| (1..=10_000_000).contains(&n)));
                    }
                    Err(d) => {
                        for x in &d {
                            assert!(x.span.end as usize <= text.len());
                            let _ = wqcheck_dsl::render(x, text);
                        }
                    }
                }
            }
        }
        Err(d) => {
            assert!(!d.is_empty());
            for x in &d {
                assert!(x.span.start <= x.span.end);
                assert!(x.span.end as usize <= text.len());
                let _ = wqcheck_dsl::render(x, text);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_model_text(text in "\\PC{0,300}|[(){};&*a-z_ \\n]{0,300}") {
        exercise_model(&text);
    }

    #[test]
    fn mutated_models(base in prop::sample::select(vec![MODEL, FUTEX]), muts in prop::collection::vec(mutation(DSL_TOKENS), 1..6)) {
        exercise_model(&mutate(base, &muts));
    }

    #[test]
    fn arbitrary_scenario_text(text in "\\PC{0,300}|[()\\[\\]{},:\"a-zA-Z0-9 \\n]{0,300}") {
        exercise_scenario(&text);
    }

    #[test]
    fn mutated_scenarios(base in prop::sample::select(vec![SCENARIO, SCENARIO_LOOM, SCENARIO_SHUTTLE]), muts in prop::collection::vec(mutation(RON_TOKENS), 1..6)) {
        exercise_scenario(&mutate(base, &muts));
    }
}
