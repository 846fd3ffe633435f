//! The JUnit report validates against the Surefire JUnit schema, the one CI systems read,
//! offline. `ci/validate-junit.sh` cross-checks with an independent validator (xmlschema).
//!
//! `fixtures/junit-10.xsd` is that schema (MIT, Copyright (c) 2014 Gregory Boissinot; the
//! licence is in the file), byte for byte the copy in the pytest 8.3.4 source
//! distribution, `testing/example_scripts/junit-10.xsd`: the one the script downloads.
//!
//! With `WQCHECK_JUNIT_SAMPLES=DIR`, the report and each broken variant of it are written
//! to `DIR/*.xml`, for `ci/validate-junit.sh DIR/*.xml` to judge the same documents.

#[path = "support/xsd.rs"]
mod xsd;

use std::collections::BTreeSet;
use std::panic::{catch_unwind, AssertUnwindSafe};

use wqcheck_model::trace::TraceStep;
use wqcheck_model::verdict::{Claim, UNSTATED};
use wqcheck_model::Verdict;
use wqcheck_report::{ErrorRecord, Event, JUnit, Reporter, RunReport};
use xsd::Schema;

const XSD: &str = include_str!("fixtures/junit-10.xsd");

const PASSING: &str = "scenarios/classic/check-then-sleep.ron";
const FAILING: &str = "scenarios/completion/done<&>.ron";
const EXPLORED: &str = "models/classic/check-then-sleep.wq";
const BROKEN: &str = "scenarios/broken.ron";

fn holds(scenario: &str) -> RunReport {
    RunReport {
        scenario: scenario.into(),
        model: "models/classic/check-then-sleep.wq".into(),
        backend: "native".into(),
        memory: "sc".into(),
        verdict: Verdict::Holds,
        claim: Claim::Exhaustive,
        expected: "Holds".into(),
        required: None,
        ok: true,
        states: 1_234,
        transitions: 5_678,
        depth: 12,
        elapsed_ms: 3.25,
        bounds: "max_states=2000000 max_seconds=60".into(),
        budget_hit: None,
        message: None,
        columns: Vec::new(),
        trace: Vec::new(),
        preemption_bound: None,
        replay: None,
        cycle_start: None,
        directed: None,
    }
}

fn step(thread: &str, column: usize, text: &str, effects: &[&str]) -> TraceStep {
    TraceStep {
        thread: thread.into(),
        column,
        text: text.into(),
        lines: vec![7],
        file: None,
        result: None,
        effects: effects.iter().map(|e| e.to_string()).collect(),
    }
}

/// What a run can send the reporter: passes on two engines, a violation of the
/// expectation with its trace, an exploration (no `expect`), a scenario that does not
/// load, then the summary. Names and texts carry what XML must escape (`<`, `&`, `]]>`),
/// and the times span zero to over 1,000 s.
fn events() -> Vec<Event> {
    let failing = RunReport {
        scenario: FAILING.into(),
        memory: "tso".into(),
        verdict: Verdict::LostWakeup,
        claim: Claim::Counterexample,
        ok: false,
        depth: 2,
        elapsed_ms: 1_234_567.891,
        message: Some("waiter sleeps on q & nothing <wakes> it".into()),
        columns: vec!["waiter".into(), "waker".into()],
        trace: vec![
            step("waiter", 0, "if (!done && x < 1) { ]]>", &[]),
            step(
                "waker",
                1,
                "done = 1; wake_up(&q);",
                &["done=1", "q: [waiter]"],
            ),
        ],
        ..holds(FAILING)
    };
    let explored = RunReport {
        scenario: EXPLORED.into(),
        backend: "shuttle".into(),
        verdict: Verdict::NoViolationFound,
        claim: Claim::Sampled,
        expected: UNSTATED.into(),
        elapsed_ms: 0.0,
        ..holds(EXPLORED)
    };
    let loom = RunReport {
        backend: "loom".into(),
        memory: "c11".into(),
        claim: Claim::Bounded,
        elapsed_ms: 13_568.0,
        preemption_bound: Some(1),
        ..holds(PASSING)
    };
    vec![
        Event::Result(holds(PASSING)),
        Event::Result(loom),
        Event::Result(failing),
        Event::Result(explored),
        Event::Error {
            scenario: BROKEN.into(),
            message: "error: unknown field `expct`\n --> scenarios/broken.ron:3:5".into(),
            records: vec![ErrorRecord {
                file: BROKEN.into(),
                line: Some(3),
                column: Some(5),
                message: "unknown field `expct`".into(),
                help: Some("did you mean `expect`?".into()),
            }],
        },
        Event::Summary {
            passed: 2,
            failed: 1,
            errors: 1,
            explored: 1,
            interrupted: None,
        },
    ]
}

/// The report as `wqcheck --junit` writes it, through the public API.
fn report() -> String {
    let mut junit = JUnit::default();
    let mut out = Vec::new();
    for event in events() {
        junit.report(&event, &mut out).expect("writes");
    }
    String::from_utf8(out).expect("utf-8")
}

fn schema() -> Schema {
    Schema::from_xsd(XSD)
}

/// `xml` with the first `from` replaced: the change must apply, or a test of a broken
/// variant would test the valid report.
fn edit(xml: &str, from: &str, to: &str) -> String {
    assert!(xml.contains(from), "{from:?} not in the report:\n{xml}");
    xml.replacen(from, to, 1)
}

fn with_undeclared_attribute(xml: &str) -> String {
    edit(xml, "<testcase ", "<testcase bogus=\"1\" ")
}

fn without_suite_name(xml: &str) -> String {
    edit(
        xml,
        &format!("<testsuite name=\"{PASSING}\" "),
        "<testsuite ",
    )
}

fn with_unknown_child(xml: &str) -> String {
    edit(xml, "</testcase>", "<bogus/></testcase>")
}

fn with_suite_time(xml: &str, time: &str) -> String {
    edit(xml, "<testsuite ", &format!("<testsuite time=\"{time}\" "))
}

#[test]
fn a_report_of_passes_a_failure_an_exploration_and_an_input_error_is_valid() {
    let xml = report();
    assert_eq!(schema().validate(&xml), Vec::<String>::new(), "in:\n{xml}");
    // The report holds what the events say, so the zero above covers each kind of case.
    let root = xsd::parse(&xml).expect("well-formed");
    let count = |name: &str| root.descendants().iter().filter(|n| n.name == name).count();
    assert_eq!(
        [
            count("testsuite"),
            count("testcase"),
            count("failure"),
            count("error")
        ],
        [4, 5, 1, 1]
    );
    let failure = root.descendants().into_iter().find(|n| n.name == "failure");
    assert!(
        failure.is_some_and(|f| f.text.contains("if (!done && x < 1) { ]]>")),
        "the trace is in the failure, as written"
    );

    if let Some(dir) = std::env::var_os("WQCHECK_JUNIT_SAMPLES") {
        let dir = std::path::PathBuf::from(dir);
        std::fs::create_dir_all(&dir).expect("sample directory");
        for (name, text) in [
            ("report", xml.clone()),
            ("undeclared-attribute", with_undeclared_attribute(&xml)),
            ("suite-without-name", without_suite_name(&xml)),
            ("unknown-child", with_unknown_child(&xml)),
            ("suite-time-1.2345", with_suite_time(&xml, "1.2345")),
            ("suite-time-abc", with_suite_time(&xml, "abc")),
        ] {
            std::fs::write(dir.join(format!("{name}.xml")), text).expect("writes a sample");
        }
    }
}

#[test]
fn every_attribute_wqcheck_writes_is_declared_and_its_times_fit_surefire_time() {
    let xml = report();
    let root = xsd::parse(&xml).expect("well-formed");
    let written: BTreeSet<String> = root
        .descendants()
        .iter()
        .flat_map(|n| n.attrs.iter().map(|(k, _)| format!("{}@{k}", n.name)))
        .collect();
    let expected = [
        "testsuites@name",
        "testsuites@tests",
        "testsuites@failures",
        "testsuites@errors",
        "testsuite@name",
        "testsuite@tests",
        "testsuite@failures",
        "testsuite@errors",
        "testcase@name",
        "testcase@classname",
        "testcase@time",
        "failure@message",
        "failure@type",
        "error@message",
    ];
    assert_eq!(
        written,
        expected.iter().map(|s| s.to_string()).collect(),
        "the attributes the report carries (a new one must be checked against the schema)"
    );
    let schema = schema();
    assert!(schema.validate(&xml).is_empty());
    // The schema types a test case's `time` as any string, but CI systems read it as a
    // number: hold it to the pattern the schema gives a suite's.
    let times: Vec<&str> = root
        .descendants()
        .iter()
        .filter_map(|n| n.attr("time"))
        .collect();
    assert_eq!(times, ["0.003", "13.568", "1234.568", "0.000"]);
    for t in times {
        assert!(schema.simple_type_accepts("SUREFIRE_TIME", t), "{t}");
    }
}

#[test]
fn a_testcase_with_an_undeclared_attribute_is_rejected() {
    assert_eq!(
        schema().validate(&with_undeclared_attribute(&report())),
        ["/testsuites/testsuite[1]/testcase[1]: attribute `bogus` is not declared"]
    );
}

#[test]
fn a_testsuite_without_its_required_name_is_rejected() {
    assert_eq!(
        schema().validate(&without_suite_name(&report())),
        ["/testsuites/testsuite[1]: required attribute `name` is missing"]
    );
}

#[test]
fn an_unknown_child_element_is_rejected() {
    assert_eq!(
        schema().validate(&with_unknown_child(&report())),
        ["/testsuites/testsuite[1]/testcase[1]: child element <bogus> is not allowed here"]
    );
}

#[test]
fn a_suite_time_that_breaks_the_surefire_time_pattern_is_rejected() {
    let schema = schema();
    for bad in ["1.2345", "abc", "-1", "1e3"] {
        let errors = schema.validate(&with_suite_time(&report(), bad));
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].starts_with(&format!(
                "/testsuites/testsuite[1]/@time: \"{bad}\" does not match the pattern"
            )) && errors[0].ends_with("of type SUREFIRE_TIME"),
            "{errors:?}"
        );
    }
    for good in ["1,234.5", "0.001", "", "12345.678"] {
        assert!(
            schema
                .validate(&with_suite_time(&report(), good))
                .is_empty(),
            "{good}"
        );
    }
}

#[test]
fn content_a_type_does_not_allow_is_rejected() {
    let schema = schema();
    let xml = report();
    let case = |broken: String, error: &str| assert_eq!(schema.validate(&broken), [error]);
    // Element-only content holds whitespace only; a string element only text.
    case(
        edit(&xml, "</testsuites>", "stray</testsuites>"),
        "/testsuites: text \"stray\" in element-only content",
    );
    case(
        edit(&xml, "</system-out>", "<b>bold</b></system-out>"),
        "/testsuites/testsuite[1]/testcase[1]/system-out[1]: child element <b> is not allowed (simple content)",
    );
    case(
        edit(&xml, "<system-out>", "<system-out x=\"1\">"),
        "/testsuites/testsuite[1]/testcase[1]/system-out[1]: attribute `x` is not allowed (simple content)",
    );
    // A declared element where the content model has no room for it.
    let errors = schema.validate(&edit(
        &xml,
        "<testsuite ",
        "<testcase name=\"x\"/><testsuite ",
    ));
    assert_eq!(
        errors,
        ["/testsuites: child element <testcase> is not allowed here"]
    );
    let errors = schema.validate(&edit(&xml, "<testcase ", "<properties/><testcase "));
    assert!(
        errors.is_empty(),
        "properties may come before the cases: {errors:?}"
    );
    let errors = schema.validate(&edit(&xml, "<system-out>", "<properties/><system-out>"));
    assert_eq!(
        errors,
        ["/testsuites/testsuite[1]/testcase[1]: child element <properties> is not allowed here"]
    );
    // A sequence keeps its order, and an optional element comes at most once.
    let rerun = |inside: &str| {
        let rerun = format!("<rerunFailure type=\"LostWakeup\">flaky{inside}</rerunFailure>");
        schema.validate(&edit(&xml, "<system-out>", &format!("{rerun}<system-out>")))
    };
    assert_eq!(
        rerun("<stackTrace/><system-err>e</system-err>"),
        Vec::<String>::new()
    );
    let model = "the content model (stackTrace?, system-out?, system-err?)";
    let at = "/testsuites/testsuite[1]/testcase[1]/rerunFailure[1]";
    assert_eq!(
        rerun("<system-err/><stackTrace/>"),
        [format!(
            "{at}: child elements (system-err, stackTrace) do not match {model}"
        )]
    );
    assert_eq!(
        rerun("<stackTrace/><stackTrace/>"),
        [format!(
            "{at}: child elements (stackTrace, stackTrace) do not match {model}"
        )]
    );
}

#[test]
fn the_validator_refuses_schema_constructs_it_does_not_know() {
    let panic_of = |xsd: String| -> String {
        let payload = catch_unwind(AssertUnwindSafe(|| Schema::from_xsd(&xsd)))
            .err()
            .expect("the validator must not accept a schema it does not understand");
        payload
            .downcast_ref::<String>()
            .cloned()
            .unwrap_or_default()
    };
    let all = edit(
        &edit(XSD, "<xs:sequence>", "<xs:all>"),
        "</xs:sequence>",
        "</xs:all>",
    );
    for (xsd, named) in [
        (all, "xs:all"),
        (
            edit(
                XSD,
                "<xs:element ref=\"property\" minOccurs=\"0\" maxOccurs=\"unbounded\"/>",
                "<xs:any/>",
            ),
            "xs:any",
        ),
        (
            edit(
                XSD,
                "</xs:schema>",
                "<xs:attributeGroup name=\"a\"/></xs:schema>",
            ),
            "xs:attributeGroup",
        ),
        (
            edit(
                XSD,
                "name=\"log\" type=\"xs:string\"",
                "name=\"log\" type=\"xs:string\" default=\"x\"",
            ),
            "`default`",
        ),
        (
            edit(
                XSD,
                "type=\"xs:string\" use=\"required\"",
                "type=\"xs:int\" use=\"required\"",
            ),
            "xs:int",
        ),
        (edit(XSD, "[0-9]{3}", "\\i{3}"), "\\i"),
        (
            edit(
                XSD,
                "<xs:pattern ",
                "<xs:maxLength value=\"3\"/><xs:pattern ",
            ),
            "xs:maxLength",
        ),
        (
            edit(XSD, "<xs:schema ", "<xs:schema targetNamespace=\"urn:x\" "),
            "targetNamespace",
        ),
    ] {
        let message = panic_of(xsd);
        assert!(message.contains(named), "{named}: {message}");
    }
}
