//! Inputs that used to make the front end quadratic or flood its output (issue 9): each
//! test uses the issue's size (or larger, so that a quadratic regression would run for
//! minutes rather than pass slowly) and asserts the bounded result: the diagnostics
//! kept, the rendered size, the count of what was left out.
//!
//! No test measures time; see `src/diag.rs`'s unit tests for the work counters of
//! "did you mean".

use wqcheck_dsl::{
    check_model, line_col, parse_scenario, render, render_all, resolve_scenario, Diagnostic,
};

const MODEL: &str = include_str!("fixtures/valid/check-then-sleep.wq");

/// Checks a scenario against `MODEL` and returns its diagnostics, rendered.
fn scenario_errors(ron: &str) -> (Vec<Diagnostic>, String) {
    let file = match parse_scenario("s.ron", ron) {
        Ok(f) => f,
        Err(d) => {
            let r = render_all(&d, |_| ron);
            return (d, r);
        }
    };
    let program = check_model("m.wq", MODEL).expect("the fixture model is valid");
    match resolve_scenario("s.ron", ron, &file, program) {
        Ok(_) => panic!("the scenario was expected to be rejected"),
        Err(d) => {
            let r = render_all(&d, |f| if f == "s.ron" { ron } else { MODEL });
            (d, r)
        }
    }
}

fn model_errors(text: &str) -> (Vec<Diagnostic>, String) {
    match check_model("m.wq", text) {
        Ok(_) => panic!("the model was expected to be rejected"),
        Err(d) => {
            let r = render_all(&d, |_| text);
            (d, r)
        }
    }
}

fn threads(n: usize) -> String {
    let list: Vec<String> = (0..n)
        .map(|i| format!("Thread(name: \"t{i}\", run: \"sleeper\")"))
        .collect();
    format!(
        "Scenario(model: \"m.wq\", threads: [{}], expect: Holds)\n",
        list.join(",\n")
    )
}

#[test]
fn a_scenario_with_ten_thousand_threads_gets_one_diagnostic_about_the_limit() {
    let (d, r) = scenario_errors(&threads(10_000));
    assert_eq!(d.len(), 1, "{r}");
    assert!(r.contains("too many threads: 10000 (at most 16)"), "{r}");
    // It points at the 17th thread.
    assert!(r.contains("--> s.ron:17:14"), "{r}");
}

#[test]
fn a_scenario_with_two_hundred_thousand_threads_is_rejected_in_linear_time() {
    // 200,000 threads: quadratic locating and checking (the old cost, 6 s for 10,000)
    // would take over half an hour here.
    let (d, r) = scenario_errors(&threads(200_000));
    assert_eq!(d.len(), 1, "{r}");
    assert!(r.contains("too many threads: 200000"), "{r}");
}

#[test]
fn many_signals_with_many_targets_are_checked_in_linear_time() {
    // 16 signals (the most a scenario may have) of 6,250 targets each, all unknown: each
    // target is looked up and suggested against the 2 threads, not against every other
    // target.
    let actors: Vec<String> = (0..16)
        .map(|i| {
            let targets: Vec<String> = (0..6_250).map(|j| format!("\"x{i}_{j}\"")).collect();
            format!(
                "Signal(name: \"s{i}\", target: [{}], fatal: false)",
                targets.join(", ")
            )
        })
        .collect();
    let ron = format!(
        "Scenario(model: \"m.wq\", threads: [Thread(name: \"t1\", run: \"sleeper\"), Thread(name: \"t2\", run: \"waker\")], actors: [{}], expect: Holds)\n",
        actors.join(",\n")
    );
    let (d, r) = scenario_errors(&ron);
    // 100,000 unknown targets: the first 1,000 kept, then one diagnostic that counts
    // the rest; 50 rendered.
    assert_eq!(d.len(), 1_001);
    assert!(
        r.contains("… and 950 more errors in s.ron (the first 50 are shown)"),
        "{r}"
    );
    assert!(
        r.contains("too many errors: 99,000 more are not listed; stopping here"),
        "{r}"
    );
    assert!(r.len() < 50_000, "{} bytes", r.len());
}

/// Each actor is a mover of every state (and the engines number movers with a byte), so a
/// scenario has at most 16; more is one error, at the 17th, and nothing else is checked.
#[test]
fn a_scenario_with_twenty_thousand_signals_gets_one_diagnostic_about_the_limit() {
    let actors = vec!["Signal(target: [\"t1\"], fatal: true)"; 20_000];
    let ron = format!(
        "Scenario(model: \"m.wq\", threads: [Thread(name: \"t1\", run: \"sleeper\"), Thread(name: \"t2\", run: \"waker\")], actors: [{}], expect: Holds)\n",
        actors.join(",\n")
    );
    let (d, r) = scenario_errors(&ron);
    assert_eq!(d.len(), 1, "{r}");
    assert!(r.contains("too many actors: 20000 (at most 16)"), "{r}");
    assert!(
        r.contains(":17:"),
        "the error points at the 17th signal: {r}"
    );
}

#[test]
fn a_long_init_map_of_unknown_variables_is_checked_in_linear_time() {
    // 20,000 variables and 20,000 unknown `init` entries: each entry used to scan
    // every variable twice and list them all in its help.
    let vars: String = (0..20_000).map(|i| format!("bit v{i};\n")).collect();
    let model = format!("{vars}void t(void) {{ }}\n");
    let init: Vec<String> = (0..20_000).map(|i| format!("\"u{i}\": 1")).collect();
    let ron = format!(
        "Scenario(model: \"m.wq\", init: {{ {} }}, threads: [Thread(name: \"a\", run: \"t\")], expect: Holds)\n",
        init.join(", ")
    );
    let file = parse_scenario("s.ron", &ron).expect("parses");
    let program = check_model("m.wq", &model).expect("valid model");
    let d = resolve_scenario("s.ron", &ron, &file, program).expect_err("unknown variables");
    assert_eq!(d.len(), 1_001);
    let help = d.first().and_then(|d| d.help.clone()).unwrap_or_default();
    // The list of variables in the help is cut.
    assert!(help.len() < 400, "{help}");
    assert!(help.ends_with("… (19,980 more)"), "{help}");
}

#[test]
fn a_fifty_thousand_char_function_name_gets_no_suggestion_and_a_bounded_message() {
    for len in [50_000, 300_000] {
        let name = "x".repeat(len);
        let model = format!("{MODEL}\nvoid {name}(void)\n{{\n}}\n");
        let ron = format!(
            "Scenario(model: \"m.wq\", threads: [Thread(name: \"a\", run: \"{name}z\")], expect: Holds)\n"
        );
        let file = parse_scenario("s.ron", &ron).expect("parses");
        let program = check_model("m.wq", &model).expect("valid model");
        let d = resolve_scenario("s.ron", &ron, &file, program).expect_err("unknown function");
        assert_eq!(d.len(), 1);
        let help = d.first().and_then(|d| d.help.clone()).unwrap_or_default();
        assert!(!help.contains("did you mean"), "{help}");
        let r = render_all(&d, |_| ron.as_str());
        // Message, source line and help are each cut: about 1 KB in all.
        assert!(r.len() < 2_000, "{} bytes:\n{r}", r.len());
        assert!(r.contains("error: unknown function `xxxx"), "{r}");
    }
}

#[test]
fn an_unknown_name_close_to_a_long_one_still_gets_a_suggestion_up_to_the_length_limit() {
    let name = format!("wake_{}", "q".repeat(50));
    let model =
        format!("bit b;\nwaitqueue {name} until b;\nvoid t(void) {{ wake_up({name}x); }}\n");
    let (d, _) = model_errors(&model);
    let help = d.first().and_then(|d| d.help.clone()).unwrap_or_default();
    assert!(help.contains(&format!("did you mean `{name}`?")), "{help}");
}

/// 3,000 functions, each calling the next and the first: 3,000 cycles, the longest
/// through every function (the issue's 117 KB model gave 63 MB of output).
fn recursive_chain(n: usize, eol: &str) -> String {
    let mut s = format!("bit b;{eol}");
    for i in 0..n {
        s.push_str(&format!(
            "void f{i}(void){eol}{{{eol}\tf{}();{eol}\tf0();{eol}}}{eol}",
            (i + 1) % n
        ));
    }
    s
}

#[test]
fn a_model_with_three_thousand_recursion_errors_renders_fifty_and_a_count() {
    let model = recursive_chain(3_000, "\n");
    assert!(model.len() > 100_000);
    let (d, r) = model_errors(&model);
    assert_eq!(d.len(), 1_001);
    assert_eq!(
        d.iter().filter(|x| x.message.contains("recursion")).count(),
        1_000
    );
    // Long cycles are named by their ends.
    assert!(
        r.contains(
            "recursion is not allowed: `f0` calls `f1` calls `f2` calls `f3` calls … (43 more) … calls `f47` calls `f48` calls `f49` calls `f0`"
        ),
        "{r}"
    );
    assert!(
        r.contains("… and 950 more errors in m.wq (the first 50 are shown)"),
        "{r}"
    );
    // The last block says the listing stopped, and how much more there was.
    let last = r.rfind("error: ").and_then(|i| r.get(i..)).unwrap_or("");
    assert!(
        last.starts_with("error: too many errors: 2,000 more are not listed; stopping here"),
        "{last}"
    );
    assert!(r.len() < 30_000, "{} bytes", r.len());
    // Every message is short, however long its cycle.
    assert!(d.iter().all(|x| x.message.len() < 200));
}

#[test]
fn a_model_with_cr_only_line_endings_reports_real_lines_and_bounded_snippets() {
    let model = recursive_chain(3_000, "\r");
    let (d, r) = model_errors(&model);
    assert_eq!(d.len(), 1_001);
    // The first error is `f0();` in f0, on line 5 (`bit b;`, `void f0(void)`, `{`,
    // `f1();` come before it).
    assert!(
        r.starts_with("error: recursion is not allowed: `f0` calls itself"),
        "{r}"
    );
    let first = d.first().expect("an error");
    assert_eq!(first.line_col(&model), (5, 2));
    assert!(r.contains("--> m.wq:5:2\n"), "{r}");
    // The snippet is that one line, not the rest of the file.
    assert!(r.contains("5 |     f0();\n"), "{r}");
    assert!(r.len() < 30_000, "{} bytes", r.len());
}

#[test]
fn cr_only_and_crlf_files_parse_like_lf_files_including_line_comments() {
    let lf = "// a comment\nbit b; // another\nwaitqueue q until b;\nvoid t(void)\n{\n\tb = 1; // set\n\twake_up(q);\n}\n";
    for eol in ["\r", "\r\n"] {
        let text = lf.replace('\n', eol);
        let p = check_model("m.wq", &text);
        assert!(p.is_ok(), "{eol:?}: {p:?}");
    }
    // And a diagnostic in each is on the same line and column.
    let bad = lf.replace("wake_up(q)", "wake_up(r)");
    let at = |text: &str| {
        let d = check_model("m.wq", text).expect_err("unknown queue");
        d.first().map(|d| d.line_col(text))
    };
    let expected = at(&bad);
    assert_eq!(expected, Some((7, 10)));
    assert_eq!(at(&bad.replace('\n', "\r")), expected);
    assert_eq!(at(&bad.replace('\n', "\r\n")), expected);
}

#[test]
fn line_and_column_treat_a_lone_cr_as_a_line_break_and_crlf_as_one() {
    let t = "a\rb\r\nc\nd";
    assert_eq!(line_col(t, 0), (1, 1));
    assert_eq!(line_col(t, 2), (2, 1)); // b
    assert_eq!(line_col(t, 3), (2, 2)); // the \r of \r\n ends line 2
    assert_eq!(line_col(t, 4), (2, 3)); // its \n too
    assert_eq!(line_col(t, 5), (3, 1)); // c
    assert_eq!(line_col(t, 7), (4, 1)); // d
    assert_eq!(line_col(t, 99), (4, 2));
}

#[test]
fn a_diagnostic_on_a_megabyte_long_line_shows_a_window_around_its_span() {
    // One line of 200,000 statements: each unknown function is an error.
    let model = format!("bit b;\nvoid t(void) {{{} }}\n", " zz();".repeat(200_000));
    let (d, r) = model_errors(&model);
    assert_eq!(d.len(), 1_001);
    assert!(r.len() < 60_000, "{} bytes", r.len());
    // One rendered block: its source line is cut on both sides, the caret under the
    // span inside the window.
    let last = d.get(40).expect("41 errors");
    let block = render(last, &model);
    let lines: Vec<&str> = block.lines().collect();
    let src = lines.get(3).copied().unwrap_or("");
    let caret = lines.get(4).copied().unwrap_or("");
    assert!(src.starts_with("2 | …") && src.ends_with('…'), "{block}");
    assert!(src.chars().count() < 220, "{block}");
    let col = caret.chars().position(|c| c == '^').expect("a caret");
    let under: String = src.chars().skip(col).take(2).collect();
    assert_eq!(under, "zz", "{block}");
    assert!(block.len() < 1_000, "{block}");
}

#[test]
fn a_megabyte_of_garbage_lists_a_thousand_lexical_errors_and_stops() {
    let garbage = "@".repeat(1_000_000);
    let (d, r) = model_errors(&garbage);
    assert_eq!(d.len(), 1_001);
    assert!(r.contains("… and 950 more errors in m.wq"), "{r}");
    assert!(r.contains("too many lexical errors; stopping here"), "{r}");
    assert!(r.len() < 20_000, "{} bytes", r.len());
}

#[test]
fn control_characters_in_names_and_source_lines_are_shown_escaped() {
    let ron = "Scenario(model: \"m.wq\", threads: [Thread(name: \"a\", run: \"x\\u{1b}[2Jy\")], expect: Holds)\n";
    let (_, r) = scenario_errors(ron);
    assert!(!r.contains('\u{1b}'), "{r:?}");
    assert!(r.contains("unknown function `x\\u{1b}[2Jy`"), "{r}");
    let model = "bit b;\nvoid t(void) { \u{1b}[2J }\n";
    let (_, r) = model_errors(model);
    assert!(!r.contains('\u{1b}'), "{r:?}");
    assert!(r.contains("\u{241b}[2J"), "{r}");
}

#[test]
fn a_nested_atomic_block_is_found_through_a_long_call_chain() {
    // f0 calls f1 ... calls f5000, which has an atomic block; f0's call of f1 sits in
    // an atomic block. Propagation along the chain is one pass, not one per level.
    let n = 5_000;
    let mut model = String::from("bit b;\n");
    model.push_str(&format!("void f{n}(void) {{ atomic {{ b = 1; }} }}\n"));
    for i in (1..n).rev() {
        model.push_str(&format!("void f{i}(void) {{ f{}(); }}\n", i + 1));
    }
    model.push_str("void f0(void) { atomic { f1(); } }\n");
    let (d, r) = model_errors(&model);
    assert_eq!(d.len(), 1, "{r}");
    assert!(
        r.contains("`f1` contains an `atomic` block and is called inside one"),
        "{r}"
    );
}

#[test]
fn fifty_thousand_futexes_are_checked_in_linear_time() {
    // Each futex's wake condition used to find its queue by a scan of every queue.
    let n = 50_000;
    let mut model = String::new();
    for i in 0..n {
        model.push_str(&format!("int<0..1> x{i};\nfutex x{i} until x{i} == 0;\n"));
    }
    model.push_str("void t(void) { }\n");
    let p = check_model("m.wq", &model).expect("valid model");
    assert_eq!(p.queues.len(), n);
    assert!(p.queues.iter().all(|q| q.until.is_some()));
}
