//! GitHub Actions annotations: one workflow command (`::error file=...,line=...::...`)
//! per run that did not meet its `expect`, and per scenario that could not be checked,
//! so the pull request shows the failure on the line it concerns.
//!
//! A violation is annotated on the model, at the line of the last step of its trace that
//! is in the model's own file (not in a prelude header): for a lost wakeup the step after
//! which nobody could wake the sleeper, for an assertion or a run-time error the failing
//! statement. A run without a trace (an unmet `Holds`, an `Inconclusive`) is annotated
//! on the scenario. An input error is annotated where each of its diagnostics points.
//!
//! The runner reads workflow commands from a step's output: the CLI writes them there
//! (`--github-annotations -`), or to a file a later step prints.

use std::fmt::Write as _;
use std::io::{self, Write};

use crate::{junit::run_name, Event, Reporter, RunReport};

/// Streams an annotation per failure.
#[derive(Default)]
pub struct GithubAnnotations;

/// `a/b/../c` as `a/c`: the runner matches annotation paths against the repository's
/// files, and a model path is the scenario's directory joined with `../models/...`.
pub fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for p in path.split('/') {
        match p {
            "." if !parts.is_empty() => {}
            ".." if parts.last().is_some_and(|l| *l != ".." && *l != ".") => {
                parts.pop();
            }
            _ => parts.push(p),
        }
    }
    parts.join("/")
}

/// A workflow command's message: `%`, CR and LF escaped.
fn data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A workflow command's property value: also `:` and `,`.
fn property(s: &str) -> String {
    data(s).replace(':', "%3A").replace(',', "%2C")
}

/// Where a result's annotation goes: (file, line).
fn place(r: &RunReport) -> (String, u32) {
    let step = r
        .trace
        .iter()
        .rev()
        .find(|s| s.file.is_none() && !s.lines.is_empty());
    match step {
        Some(s) if !r.model.is_empty() => (normalize(&r.model), s.lines[0]),
        _ => (normalize(&r.scenario), 1),
    }
}

impl Reporter for GithubAnnotations {
    fn report(&mut self, event: &Event, out: &mut dyn Write) -> io::Result<()> {
        match event {
            Event::Result(r) if !r.ok && r.expected != wqcheck_model::verdict::UNSTATED => {
                let (file, line) = place(r);
                let title = format!(
                    "{} [{}]: {:?}, expected {}",
                    r.scenario,
                    run_name(r),
                    r.verdict,
                    r.expected
                );
                let mut message = String::new();
                if let Some(m) = &r.message {
                    message.push_str(m);
                }
                if let Some(b) = &r.budget_hit {
                    let _ = write!(message, "stopped by {b}");
                }
                if let Some(t) = &r.replay {
                    let _ = write!(
                        message,
                        "\nreplay: wqcheck --backend shuttle --replay {t} {}",
                        r.scenario
                    );
                }
                writeln!(
                    out,
                    "::error file={},line={line},title={}::{}",
                    property(&file),
                    property(&title),
                    data(&message)
                )
            }
            Event::Error {
                scenario,
                message,
                records,
            } => {
                let title = property(&format!("{scenario} could not be checked"));
                for r in records {
                    let mut at = format!("file={}", property(&normalize(&r.file)));
                    if let (Some(line), Some(col)) = (r.line, r.column) {
                        let _ = write!(at, ",line={line},col={col}");
                    }
                    let mut text = r.message.clone();
                    if let Some(h) = &r.help {
                        let _ = write!(text, "\nhelp: {h}");
                    }
                    writeln!(out, "::error {at},title={title}::{}", data(&text))?;
                }
                if records.is_empty() {
                    // An internal error: on the scenario, with its first line.
                    let first = message.lines().next().unwrap_or("error");
                    writeln!(
                        out,
                        "::error file={},title={title}::{}",
                        property(&normalize(scenario)),
                        data(first.strip_prefix("error: ").unwrap_or(first))
                    )?;
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_lose_their_dot_dots_as_the_runner_needs() {
        assert_eq!(
            normalize("scenarios/../models/linux/x.wq"),
            "models/linux/x.wq"
        );
        assert_eq!(normalize("./a/./b/../c.wq"), "./a/c.wq");
        assert_eq!(normalize("../m/x.wq"), "../m/x.wq");
        assert_eq!(normalize("/abs/s/../m.wq"), "/abs/m.wq");
    }

    #[test]
    fn messages_and_properties_are_escaped() {
        assert_eq!(data("50%\nnext"), "50%25%0Anext");
        assert_eq!(
            property("a.ron [native sc]: X, y"),
            "a.ron [native sc]%3A X%2C y"
        );
    }
}
