//! GitHub Actions annotations: one workflow command (`::error file=...,line=...::...`)
//! per run that did not meet its `expect`, and per scenario that could not be checked,
//! so the pull request shows the failure on the line it concerns.
//!
//! A violation is annotated on the model, at the line of the last step of its trace that
//! is in the model's own file (not in a prelude header): for a lost wakeup the step after
//! which nobody could wake the sleeper, for an assertion or a run-time error the failing
//! statement. A run without a trace (an unmet `Holds`, an `Inconclusive`) is annotated
//! on the scenario. An input error is annotated where its diagnostic points.
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

/// `file:line:col` of a rendered diagnostic's first ` --> ` line.
fn diagnostic_place(message: &str) -> Option<(String, u32, u32)> {
    let at = message
        .lines()
        .find_map(|l| l.trim_start().strip_prefix("--> "))?;
    let mut it = at.rsplitn(3, ':');
    let col = it.next()?.trim().parse().ok()?;
    let line = it.next()?.trim().parse().ok()?;
    Some((normalize(it.next()?), line, col))
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
            Event::Error { scenario, message } => {
                let (file, line, col) =
                    diagnostic_place(message).unwrap_or_else(|| (normalize(scenario), 1, 1));
                let first = message.lines().next().unwrap_or("error");
                writeln!(
                    out,
                    "::error file={},line={line},col={col},title={}::{}",
                    property(&file),
                    property(&format!("{scenario} could not be checked")),
                    data(first.strip_prefix("error: ").unwrap_or(first))
                )
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
    fn a_diagnostic_is_annotated_where_it_points() {
        let m = "error: unknown field `name`\n --> dir/../a.ron:2:5\n  |\n";
        assert_eq!(diagnostic_place(m), Some(("a.ron".into(), 2, 5)));
        assert_eq!(diagnostic_place("error: cannot read x.ron"), None);
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
