//! A Markdown report, for a CI job summary (`$GITHUB_STEP_SUMMARY`), a merge request
//! comment or a course page: the summary line, a table of every run, and for each
//! violation its trace twice: as a table (one column per thread, as the terminal shows
//! it) and as a Mermaid sequence diagram, one lifeline per thread and actor, each step a
//! note on its mover's lifeline, and each wakeup, signal or other change a step makes to
//! another thread drawn as an arrow to that thread.
//!
//! Written when the summary comes, in the order the runs came (the scenarios' order).

use std::fmt::Write as _;
use std::io::{self, Write};

use crate::{changes_text, errors_text, line_text, thousands, Event, Reporter, RunReport};

/// Collects the events of a run; writes the report on the summary.
#[derive(Default)]
pub struct Markdown {
    rows: Vec<String>,
    details: Vec<String>,
}

/// Text for a Markdown table cell: no line breaks, no column separators.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// Text for a Mermaid message or note: `#` and `;` as the entities Mermaid reads.
fn mermaid(s: &str) -> String {
    s.replace('#', "#35;")
        .replace(';', "#59;")
        .replace(['\n', '\r'], " ")
}

/// The trace as a Markdown table.
pub fn trace_table(r: &RunReport) -> String {
    let mut out = String::from("| # | line |");
    for c in &r.columns {
        let _ = write!(out, " {} |", cell(c));
    }
    out.push_str(" result, changes |\n|---|---|");
    out.push_str(&"---|".repeat(r.columns.len()));
    out.push_str("---|\n");
    for (i, s) in r.trace.iter().enumerate() {
        if r.cycle_start == Some(i) {
            let _ = write!(out, "| ↻ | |");
            out.push_str(&" |".repeat(r.columns.len()));
            let _ = writeln!(out, " {} |", cell(&crate::cycle_text(r)));
        }
        let _ = write!(out, "| {} | {} |", i + 1, cell(&line_text(s)));
        for c in 0..r.columns.len() {
            if c == s.column {
                let _ = write!(out, " `{}` |", cell(&s.text).replace('`', "'"));
            } else {
                out.push_str(" |");
            }
        }
        let _ = writeln!(out, " {} |", cell(&changes_text(s)));
    }
    if let Some(c) = r.cycle_start.filter(|&c| c < r.trace.len()) {
        let _ = write!(out, "| ↻ | |");
        out.push_str(&" |".repeat(r.columns.len()));
        let _ = writeln!(out, " back to the state before row {} |", c + 1);
    }
    out
}

/// The trace as a Mermaid sequence diagram.
pub fn sequence_diagram(r: &RunReport) -> String {
    let mut out = String::from("sequenceDiagram\n");
    for (i, c) in r.columns.iter().enumerate() {
        let _ = writeln!(out, "    participant c{i} as {}", mermaid(c));
    }
    for (n, s) in r.trace.iter().enumerate() {
        let me = s.column;
        let mut own = Vec::new();
        if let Some(x) = s.result {
            own.push(format!("→ {x}"));
        }
        let mut arrows = Vec::new();
        for e in &s.effects {
            // `thread1: TASK_RUNNING`, `thread1: fatal signal pending`: a change to another
            // thread is an arrow to it.
            let to = e
                .split_once(": ")
                .and_then(|(who, _)| r.columns.iter().position(|c| c == who))
                .filter(|&c| c != me);
            match to {
                Some(c) => arrows.push((c, e)),
                None => own.push(e.clone()),
            }
        }
        let mut note = format!("{}. {}", n + 1, s.text);
        if !own.is_empty() {
            let _ = write!(note, " ({})", own.join(", "));
        }
        let _ = writeln!(out, "    Note over c{me}: {}", mermaid(&note));
        for (c, e) in arrows {
            let _ = writeln!(out, "    c{me}->>c{c}: {}", mermaid(e));
        }
    }
    out
}

impl Reporter for Markdown {
    fn report(&mut self, event: &Event, out: &mut dyn Write) -> io::Result<()> {
        match event {
            Event::Result(r) => {
                let mark = if r.expected == wqcheck_model::verdict::UNSTATED {
                    "INFO"
                } else if r.ok {
                    "PASS"
                } else {
                    "FAIL"
                };
                let run = crate::junit::run_name(r);
                self.rows.push(format!(
                    "| {mark} | `{}` | {run} | {:?} | {} | {} | {:.3} s |",
                    cell(&r.scenario),
                    r.verdict,
                    cell(&r.expected),
                    thousands(r.states),
                    r.elapsed_ms / 1000.0
                ));
                if !r.trace.is_empty() || (!r.ok && r.message.is_some()) {
                    let mut d = format!("### {mark} `{}` [{run}]: {:?}\n\n", r.scenario, r.verdict);
                    if let Some(m) = &r.message {
                        let _ = writeln!(d, "{}\n", cell(m));
                    }
                    if !r.trace.is_empty() {
                        let _ = writeln!(d, "{}", trace_table(r));
                        let _ = writeln!(d, "```mermaid\n{}```\n", sequence_diagram(r));
                    }
                    if let Some(t) = &r.replay {
                        let _ = writeln!(
                            d,
                            "Replay: `wqcheck --backend shuttle --replay {t} {}`\n",
                            r.scenario
                        );
                    }
                    self.details.push(d);
                }
                Ok(())
            }
            Event::Error {
                scenario, message, ..
            } => {
                self.rows.push(format!(
                    "| ERROR | `{}` | | could not be checked | | | |",
                    cell(scenario)
                ));
                self.details.push(format!(
                    "### ERROR `{scenario}`\n\n```text\n{message}\n```\n\n"
                ));
                Ok(())
            }
            Event::Summary {
                passed,
                failed,
                errors,
                explored,
                interrupted,
            } => {
                write!(out, "## wqcheck: {passed} passed, {failed} failed")?;
                if *errors > 0 {
                    write!(out, "{} (could not be checked)", errors_text(*errors))?;
                }
                if *explored > 0 {
                    write!(out, ", {explored} without `expect`")?;
                }
                if let Some(sig) = interrupted {
                    write!(out, "; interrupted by {sig}: the rest was not checked")?;
                }
                writeln!(out, "\n")?;
                writeln!(
                    out,
                    "| | scenario | engine | verdict | expected | states or executions | time |"
                )?;
                writeln!(out, "|---|---|---|---|---|---|---|")?;
                for row in self.rows.drain(..) {
                    writeln!(out, "{row}")?;
                }
                if !self.details.is_empty() {
                    writeln!(out)?;
                }
                for d in self.details.drain(..) {
                    write!(out, "{d}")?;
                }
                Ok(())
            }
        }
    }
}
