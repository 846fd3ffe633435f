//! JUnit XML, the report CI systems (GitLab, Jenkins, GitHub through a test-report
//! action) show as test results: one `<testsuite>` per scenario file, one `<testcase>`
//! per engine run of it (`native sc`, `native tso`, `loom`, `shuttle`). A run that did not
//! meet its `expect` is a `<failure>` whose body is the result line and the trace as the
//! terminal shows them; a scenario that could not be checked is one `<error>` test case
//! (`load`) with the diagnostic. A scenario without `expect` passes; every case's
//! output says its verdict, expectation, states and bounds. The XML validates against
//! the Surefire JUnit schema (`ci/validate-junit.sh`). The report is written when the summary comes, so an interrupted run still
//! gets one, of what finished.

use std::io::{self, Write};
use std::time::Duration;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use crate::{Event, Human, Reporter, RunReport};

/// Collects the events of a run; writes the XML on the summary.
#[derive(Default)]
pub struct JUnit {
    /// One suite per scenario, in the order the scenarios came.
    suites: Vec<TestSuite>,
}

impl JUnit {
    fn suite(&mut self, scenario: &str) -> &mut TestSuite {
        let i = match self.suites.iter().position(|s| s.name.as_str() == scenario) {
            Some(i) => i,
            None => {
                self.suites.push(TestSuite::new(scenario));
                self.suites.len() - 1
            }
        };
        &mut self.suites[i]
    }
}

/// `native sc`, `native tso`, `loom`, `shuttle`: what tells two runs of one scenario
/// apart.
pub fn run_name(r: &RunReport) -> String {
    if r.backend == "native" {
        format!("native {}", r.memory)
    } else {
        r.backend.clone()
    }
}

fn test_case(r: &RunReport) -> TestCase {
    let status = if r.ok {
        TestCaseStatus::success()
    } else {
        let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
        s.set_message(format!("{:?}, expected {}", r.verdict, r.expected));
        s.set_type(format!("{:?}", r.verdict));
        // The result line and the trace as the terminal prints them.
        let mut body = Vec::new();
        let _ = Human::default().report(&Event::Result(r.clone()), &mut body);
        s.set_description(String::from_utf8_lossy(&body).into_owned());
        s
    };
    let mut case = TestCase::new(run_name(r), status);
    case.set_classname(r.scenario.as_str());
    case.set_time(Duration::from_secs_f64(r.elapsed_ms.max(0.0) / 1000.0));
    // In the case's output rather than as properties, which the Surefire schema (the
    // one CI systems validate against) does not allow on a test case.
    case.set_system_out(format!(
        "verdict: {:?}\nexpected: {}\nstates or executions: {}\nbounds: {}\n",
        r.verdict, r.expected, r.states, r.bounds
    ));
    case
}

impl Reporter for JUnit {
    fn report(&mut self, event: &Event, out: &mut dyn Write) -> io::Result<()> {
        match event {
            Event::Result(r) => {
                let case = test_case(r);
                self.suite(&r.scenario).add_test_case(case);
                Ok(())
            }
            Event::Error {
                scenario, message, ..
            } => {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
                s.set_message("the scenario could not be checked");
                s.set_description(message.as_str());
                let mut case = TestCase::new("load", s);
                case.set_classname(scenario.as_str());
                self.suite(scenario).add_test_case(case);
                Ok(())
            }
            Event::Summary { .. } => {
                let mut report = Report::new("wqcheck");
                report.add_test_suites(std::mem::take(&mut self.suites));
                let xml = report
                    .to_string()
                    .map_err(|e| io::Error::other(e.to_string()))?;
                // quick-junit writes Jenkins' `disabled` count on each suite, which the
                // Surefire schema does not know; wqcheck disables nothing. (An attribute
                // value is escaped, so only the attribute itself reads like this.)
                writeln!(out, "{}", xml.replace(" disabled=\"0\"", ""))
            }
        }
    }
}
