//! One event stream, several printers.
//!
//! The CLI turns every (scenario, backend) run into [`Event`]s; a [`Reporter`] prints them.
//! [`Human`] draws the trace as a table with one column per thread and actor, the way
//! Linus laid out the 2017 race; [`JsonLines`] writes one versioned JSON object per line;
//! [`JUnit`] the XML CI systems show as test results; [`Markdown`] a job summary with
//! each trace as a table and a Mermaid sequence diagram; [`GithubAnnotations`] workflow
//! commands that put each failure on its model line. One run may feed several at once. Printers only format: they never decide a verdict or an exit code.

pub mod explain;
pub mod github;
pub mod junit;
pub mod markdown;

pub use github::GithubAnnotations;
pub use junit::JUnit;
pub use markdown::Markdown;

use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::io::{self, Write};
use wqcheck_model::trace::TraceStep;
use wqcheck_model::verdict::{Claim, UNSTATED};
use wqcheck_model::Verdict;

/// The JSON Lines format version (`"v"` in every object). It changes when a field changes
/// meaning or goes away; a new field (`claim`, `required`) keeps it.
pub const JSON_VERSION: u32 = 1;

/// The outcome of one (scenario, backend) run.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunReport {
    /// The scenario's path as given on the command line.
    pub scenario: String,
    /// Its model's path (relative to the scenario's directory, as the scenario names it,
    /// joined to it); empty where no model was read.
    #[serde(default)]
    pub model: String,
    pub backend: String,
    /// The memory model the engine explored: `sc` (the native explorer by default,
    /// shuttle), `tso` (the native explorer under `memory: Tso`), `c11` (loom).
    pub memory: String,
    pub verdict: Verdict,
    /// How much the verdict covers: `exhaustive`, `bounded` (loom within its preemption
    /// bound), `sampled` (shuttle), `counterexample` (a violation) or `nothing`
    /// (`Inconclusive`).
    #[serde(default = "claim_nothing")]
    pub claim: Claim,
    /// The scenario's `expect`.
    pub expected: String,
    /// The scenario's `require`: the weakest claim a result without a violation may make.
    #[serde(default)]
    pub required: Option<Claim>,
    /// Whether the run met the expectation: the verdict is of the expected kind, a result
    /// without a violation explored at least one state or execution, and its claim meets
    /// `required` (`wqcheck_model::verdict::Finding::meets`).
    pub ok: bool,
    /// Distinct states explored (native explorer), or executions run (loom).
    pub states: u64,
    pub transitions: u64,
    /// BFS depth reached; for a violation, the number of steps of the trace.
    pub depth: u32,
    pub elapsed_ms: f64,
    /// The bounds that applied, e.g. `max_states=2000000 max_seconds=60`.
    pub bounds: String,
    /// For `Inconclusive`: which bound ran out.
    pub budget_hit: Option<String>,
    /// For a violation: the stuck state or the error, in words.
    pub message: Option<String>,
    /// Column headers of the trace: threads, then actors.
    pub columns: Vec<String>,
    pub trace: Vec<TraceStep>,
    /// For a liveness violation (`Starvation`, `Livelock`): the index in `trace` of the
    /// first step of the cycle. The trace is a lasso: the steps before it lead to the
    /// cycle, and after the last step the run is back where the cycle began.
    #[serde(default)]
    pub cycle_start: Option<usize>,
    /// loom: the preemption bound of the last search (`None`: unbounded, or not loom).
    pub preemption_bound: Option<u32>,
    /// shuttle: the token that replays the counterexample.
    pub replay: Option<String>,
    /// loom: the violation was found by following the native explorer's counterexample,
    /// after loom's own search found none.
    pub directed: Option<Directed>,
}

fn claim_nothing() -> Claim {
    Claim::Nothing
}

/// How a loom violation was found by following the native explorer's counterexample.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Directed {
    /// Steps of the counterexample followed.
    pub steps: u32,
    /// Executions of loom's own search before it.
    pub own_executions: u64,
    /// How loom's own search ended, e.g. `no violation up to preemption bound 1`.
    pub own_result: String,
}

#[derive(Clone, Debug)]
#[expect(
    clippy::large_enum_variant,
    reason = "one event per (scenario, backend), printed and dropped"
)]
pub enum Event {
    Result(RunReport),
    /// Bad input or an internal error for one scenario (rendered diagnostics).
    Error {
        scenario: String,
        message: String,
        /// The same problems one by one, with where they are (none for an internal
        /// error).
        records: Vec<ErrorRecord>,
    },
    /// `failed` counts the results that did not meet their `expect`; `errors` the
    /// scenarios that could not be checked (bad input, an internal error), which are in
    /// neither `passed` nor `failed`; `explored` the results of scenarios without an
    /// `expect` (reported, not checked).
    Summary {
        passed: usize,
        failed: usize,
        errors: usize,
        explored: usize,
        /// The signal that interrupted the run (`SIGINT`, ...): the counts are of what
        /// finished before it.
        interrupted: Option<String>,
    },
}

/// One problem with an input, for machines: a JSON error's `diagnostics`, an annotation.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ErrorRecord {
    /// The file it is in.
    pub file: String,
    /// 1-based line and column (in chars) where it starts; `None` for a problem with the
    /// file as a whole (it cannot be read).
    pub line: Option<usize>,
    pub column: Option<usize>,
    /// What is wrong, one line.
    pub message: String,
    /// How to fix it, when wqcheck can tell.
    pub help: Option<String>,
}

/// Whether `c` must not reach a terminal as it is: a control character (a newline could
/// forge a result line, an escape sequence could rewrite the screen), a line or paragraph
/// separator, or a bidirectional override (which could reorder what a line seems to say).
fn unprintable(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

/// A file name as printed: each [unprintable](unprintable) character as a Rust escape
/// (`\n`, `\u{1b}`), everything else as it is. Escaping twice changes nothing more.
pub fn escape_name(name: &str) -> Cow<'_, str> {
    if !name.chars().any(unprintable) {
        return Cow::Borrowed(name);
    }
    let mut out = String::with_capacity(name.len() + 8);
    for c in name.chars() {
        if unprintable(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

pub trait Reporter {
    fn report(&mut self, event: &Event, out: &mut dyn Write) -> io::Result<()>;
}

/// JSON Lines: one object per event.
pub struct JsonLines;

#[derive(Serialize)]
struct JsonTraceStep<'a> {
    thread: &'a str,
    text: &'a str,
    lines: &'a [u32],
    /// The prelude header `lines` are in; absent for the model's own lines.
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<&'a str>,
    result: Option<i32>,
    effects: &'a [String],
}

impl Reporter for JsonLines {
    fn report(&mut self, event: &Event, out: &mut dyn Write) -> io::Result<()> {
        let v = match event {
            Event::Result(r) => serde_json::json!({
                "type": "result",
                "v": JSON_VERSION,
                "scenario": r.scenario,
                "model": r.model,
                "backend": r.backend,
                "memory": r.memory,
                "verdict": r.verdict,
                "claim": r.claim,
                "expected": r.expected,
                "required": r.required,
                "ok": r.ok,
                "states": r.states,
                "transitions": r.transitions,
                "depth": r.depth,
                "elapsed_ms": r.elapsed_ms,
                "bounds": r.bounds,
                "budget_hit": r.budget_hit,
                "message": r.message,
                "columns": r.columns,
                "cycle_start": r.cycle_start,
                "preemption_bound": r.preemption_bound,
                "replay": r.replay,
                "directed": r.directed,
                "trace": r.trace.iter().map(|s| JsonTraceStep {
                    thread: &s.thread,
                    text: &s.text,
                    lines: &s.lines,
                    file: s.file.as_deref(),
                    result: s.result,
                    effects: &s.effects,
                }).collect::<Vec<_>>(),
            }),
            Event::Error {
                scenario,
                message,
                records,
            } => serde_json::json!({
                "type": "error",
                "v": JSON_VERSION,
                "scenario": scenario,
                "message": message,
                "diagnostics": records,
            }),
            Event::Summary {
                passed,
                failed,
                errors,
                explored,
                interrupted,
            } => {
                let mut v = serde_json::json!({
                    "type": "summary",
                    "v": JSON_VERSION,
                    "passed": passed,
                    "failed": failed,
                    "errors": errors,
                });
                if *explored > 0 {
                    v["explored"] = serde_json::Value::from(*explored);
                }
                if let Some(signal) = interrupted {
                    v["interrupted"] = serde_json::Value::String(signal.clone());
                }
                v
            }
        };
        writeln!(out, "{v}")
    }
}

/// The terminal printer.
pub struct Human {
    /// Print traces of violations.
    pub traces: bool,
    /// Widest text in a trace column before it is cut with `…`.
    pub max_column: usize,
    /// Colour the marks (`PASS` green, `FAIL` and `ERROR` red, `INFO` cyan) with ANSI
    /// escapes: for a terminal only (the CLI decides, `--color`).
    pub color: bool,
    /// The width of the terminal: trace tables fit it, wrapping long cells instead of
    /// cutting them at `max_column`. `None` (not a terminal): the fixed layout, the same
    /// everywhere.
    pub width: Option<usize>,
}

/// The ANSI colours of the marks.
const GREEN: &str = "\x1b[1;32m";
const RED: &str = "\x1b[1;31m";
const CYAN: &str = "\x1b[1;36m";
const RESET: &str = "\x1b[0m";

impl Human {
    /// `mark` in `color`, when colour is on.
    fn mark(&self, mark: &str, color: &str) -> String {
        if self.color {
            format!("{color}{mark}{RESET}")
        } else {
            mark.to_string()
        }
    }
}

impl Default for Human {
    fn default() -> Human {
        Human {
            traces: true,
            max_column: 42,
            color: false,
            width: None,
        }
    }
}

/// `, 3 errors` after a summary's passed and failed counts: the scenarios that could not
/// be checked, which are neither; nothing when there are none.
pub(crate) fn errors_text(n: usize) -> String {
    match n {
        0 => String::new(),
        1 => ", 1 error".into(),
        n => format!(", {n} errors"),
    }
}

/// `1,234,567`: counts as the result lines print them.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn cut(s: &str, w: usize) -> String {
    if s.chars().count() <= w {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(w.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// The narrowest a thread's column gets to fit a terminal.
const MIN_COLUMN: usize = 14;
/// The room the changes column keeps on a terminal.
const MIN_CHANGES: usize = 24;

/// `s` in lines of at most `w` chars, broken after a space, a comma or a parenthesis
/// where one is in the line's last half (code reads best broken there), else inside a
/// word.
fn wrap(s: &str, w: usize) -> Vec<String> {
    let w = w.max(1);
    let chars: Vec<char> = s.chars().collect();
    if chars.len() <= w {
        return vec![s.to_string()];
    }
    let mut lines = Vec::new();
    let mut start = 0;
    while start < chars.len() {
        let mut end = (start + w).min(chars.len());
        if end < chars.len() {
            if let Some(sp) = (start + w / 2..end)
                .rev()
                .find(|&i| matches!(chars[i], ' ' | ',' | '(' | ')'))
            {
                end = sp + 1;
            }
        }
        lines.push(
            chars[start..end]
                .iter()
                .collect::<String>()
                .trim()
                .to_string(),
        );
        start = end;
    }
    lines
}

/// A row's last column: what the step returned, then what it changed.
pub(crate) fn changes_text(s: &TraceStep) -> String {
    let mut v = Vec::new();
    if let Some(x) = s.result {
        v.push(format!("→ {x}"));
    }
    v.extend(s.effects.iter().cloned());
    v.join(", ")
}

/// A row's model line: the first line the step executed, in the model (`112`) or in a
/// prelude header (`completion.wq:50`); empty for an actor's step, which runs no code.
pub(crate) fn line_text(s: &TraceStep) -> String {
    let Some(line) = s.lines.first() else {
        return String::new();
    };
    match &s.file {
        None => line.to_string(),
        Some(f) => format!("{}:{line}", f.rsplit('/').next().unwrap_or(f)),
    }
}

/// Under a trace, why a statement takes several rows: `rows 3-4: one statement, several
/// steps (...)`. Empty when every statement is one row.
fn legend(r: &RunReport) -> String {
    let mut runs = Vec::new();
    let mut i = 0;
    while i < r.trace.len() {
        let mut j = i;
        while j + 1 < r.trace.len()
            && r.trace[j + 1].column == r.trace[i].column
            && r.trace[j + 1].text == r.trace[i].text
            && r.trace[j + 1].file == r.trace[i].file
            && r.trace[j + 1].lines == r.trace[i].lines
        {
            j += 1;
        }
        if j > i {
            runs.push(format!("{}-{}", i + 1, j + 1));
        }
        i = j + 1;
    }
    if runs.is_empty() {
        return String::new();
    }
    format!(
        "  rows {}: one statement, several steps (each access to shared memory is a step of its own, docs/dsl.md §7)\n",
        runs.join(", ")
    )
}

/// The line that opens a lasso's cycle: `rows 27–96 repeat for ever`.
pub fn cycle_text(r: &RunReport) -> String {
    match r.cycle_start {
        Some(c) => format!(
            "the cycle: {} for ever",
            wqcheck_model::verdict::cycle_rows(c, r.trace.len().saturating_sub(c))
        ),
        None => String::new(),
    }
}

fn pad(s: &str, w: usize) -> String {
    let n = s.chars().count();
    format!("{s}{}", " ".repeat(w.saturating_sub(n)))
}

impl Human {
    /// The trace table: a header of thread/actor names, then one row per step with the
    /// executed line in the mover's column and the changes at the right.
    pub fn table(&self, r: &RunReport) -> String {
        let ncol = r.columns.len();
        let num_w = r.trace.len().to_string().len().max(1);
        // The model line of each row, to read the trace beside the model's source.
        let line_w = (r.trace.iter())
            .map(|s| line_text(s).chars().count())
            .max()
            .unwrap_or(0)
            .max("line".len());
        let widths = self.widths(r, num_w + 2 + line_w);
        // Without a width, a long cell is cut; with one, it wraps onto more lines.
        let cells = |text: &str, w: usize| -> Vec<String> {
            match self.width {
                None => vec![cut(text, self.max_column)],
                Some(_) => wrap(text, w),
            }
        };
        let changes_w = self.width.map(|total| {
            let used: usize =
                2 + num_w + 2 + line_w + 1 + widths.iter().map(|w| w + 1).sum::<usize>() + 2;
            total.saturating_sub(used).max(MIN_CHANGES)
        });
        let mut out = String::new();
        let mut header = format!("  {}  {} ", pad("#", num_w), pad("line", line_w));
        for (i, c) in r.columns.iter().enumerate() {
            header.push_str(&format!(" {}", pad(c, widths[i])));
        }
        header.push_str("  result, changes");
        out.push_str(header.trim_end());
        out.push('\n');
        let mut rule = format!("  {}  {} ", "-".repeat(num_w), "-".repeat(line_w));
        for w in &widths {
            rule.push_str(&format!(" {}", "-".repeat(*w)));
        }
        rule.push_str("  ----------------");
        out.push_str(&rule);
        out.push('\n');
        for (i, s) in r.trace.iter().enumerate() {
            if r.cycle_start == Some(i) {
                out.push_str(&format!("  ↻ {}\n", cycle_text(r)));
            }
            let changes = changes_text(s);
            let text = cells(&s.text, widths.get(s.column).copied().unwrap_or(0));
            let changes = match changes_w {
                Some(w) => wrap(&changes, w),
                None => vec![changes],
            };
            let model_line = line_text(s);
            for line in 0..text.len().max(changes.len()) {
                let (number, at) = if line == 0 {
                    ((i + 1).to_string(), model_line.as_str())
                } else {
                    (String::new(), "")
                };
                let mut row = format!("  {}  {} ", pad(&number, num_w), pad(at, line_w));
                for (c, w) in widths.iter().enumerate().take(ncol) {
                    let cell = if c == s.column {
                        text.get(line).map_or("", String::as_str)
                    } else {
                        ""
                    };
                    row.push_str(&format!(" {}", pad(cell, *w)));
                }
                row.push_str(&format!(
                    "  {}",
                    changes.get(line).map_or("", String::as_str)
                ));
                out.push_str(row.trim_end());
                out.push('\n');
            }
        }
        if let Some(c) = r.cycle_start.filter(|&c| c < r.trace.len()) {
            out.push_str(&format!("  ↻ back to the state before row {}\n", c + 1));
        }
        out.push_str(&legend(r));
        out
    }

    /// The width of each thread's column: its widest text, cut at `max_column`; or, with
    /// a terminal width, the texts in full where the line has room, else the widest
    /// columns narrowed (to no less than [`MIN_COLUMN`]) until it fits.
    fn widths(&self, r: &RunReport, num_w: usize) -> Vec<usize> {
        let mut widths: Vec<usize> = r.columns.iter().map(|c| c.chars().count()).collect();
        for s in &r.trace {
            if let Some(w) = widths.get_mut(s.column) {
                let text = match self.width {
                    None => cut(&s.text, self.max_column).chars().count(),
                    Some(_) => s.text.chars().count(),
                };
                *w = (*w).max(text);
            }
        }
        if let Some(total) = self.width {
            // The changes column keeps room for its widest line, or a third of the line.
            let changes = r
                .trace
                .iter()
                .map(|s| changes_text(s).chars().count())
                .max();
            let keep = changes.unwrap_or(0).min((total / 3).max(MIN_CHANGES));
            let fixed = 2 + num_w + 1 + widths.len() + 2 + keep;
            let room = total.saturating_sub(fixed);
            while widths.iter().sum::<usize>() > room {
                let Some(widest) = (0..widths.len()).max_by_key(|&i| (widths[i], usize::MAX - i))
                else {
                    break;
                };
                let floor = r.columns[widest].chars().count().max(MIN_COLUMN);
                if widths[widest] <= floor {
                    break;
                }
                widths[widest] -= 1;
            }
        }
        widths
    }
}

/// Why a result of the expected kind still fails, from its claim and size: `, but nothing
/// was explored` or `, exhaustive (required; this result is bounded)`.
fn shortfall(r: &RunReport) -> String {
    if matches!(r.claim, Claim::Counterexample | Claim::Nothing) {
        return String::new();
    }
    if r.states == 0 {
        return ", but nothing was explored (0 states or executions)".into();
    }
    match r.required {
        Some(req) if !r.claim.meets(req) => format!(
            ", {} (required; this result is {})",
            req.name().to_lowercase(),
            r.claim.name().to_lowercase()
        ),
        _ => String::new(),
    }
}

/// How a loom `Holds` qualifies itself: loom explores C11 without load buffering (a load
/// never reads a store that executes after it), so it can miss what LKMM allows there.
pub const LOOM_C11: &str = "C11 without load buffering (docs/loom.md)";

impl Reporter for Human {
    fn report(&mut self, event: &Event, out: &mut dyn Write) -> io::Result<()> {
        match event {
            Event::Result(r) => {
                let unstated = r.expected == UNSTATED;
                let status = match (unstated, r.ok) {
                    (true, _) => self.mark("INFO", CYAN),
                    (false, true) => self.mark("PASS", GREEN),
                    (false, false) => self.mark("FAIL", RED),
                };
                let expect = if unstated {
                    "no expectation".to_string()
                } else if r.ok {
                    "as expected".to_string()
                } else {
                    format!("expected {}{}", r.expected, shortfall(r))
                };
                let (loom, shuttle) = (r.backend == "loom", r.backend == "shuttle");
                let extent = match (&r.budget_hit, r.verdict) {
                    (Some(b), _) => format!("stopped by the {b}"),
                    // What loom covers is C11 minus what it does not explore (docs/loom.md,
                    // Limits): say so where a loom Holds is printed.
                    (None, Verdict::Holds) if loom => match r.preemption_bound {
                        Some(_) => {
                            format!("every execution within the preemption bound, {LOOM_C11}")
                        }
                        None => format!("every execution, unbounded, {LOOM_C11}"),
                    },
                    (None, Verdict::Holds) if shuttle => "every schedule (DFS)".to_string(),
                    (None, Verdict::Holds) => "exhaustive".to_string(),
                    (None, Verdict::NoViolationFound) => "sampled, not a proof".to_string(),
                    // A thread's start failed: no step, no execution ran.
                    (None, _) if r.states == 0 => "found before the first step".to_string(),
                    (None, _) if loom && r.directed.is_some() => {
                        let d = r.directed.as_ref().expect("checked");
                        format!(
                            "found by following the native counterexample ({} steps) after loom's own search found none ({} executions, {})",
                            d.steps,
                            thousands(d.own_executions),
                            d.own_result
                        )
                    }
                    (None, _) if loom => match r.preemption_bound {
                        Some(b) => format!("found at preemption bound {b}"),
                        None => "found by the unbounded search".to_string(),
                    },
                    (None, _) if shuttle => format!("found in execution {}", thousands(r.states)),
                    (None, _) => "shortest counterexample".to_string(),
                };
                let size = if loom || shuttle {
                    format!(
                        "{} execution{}",
                        thousands(r.states),
                        if r.states == 1 { "" } else { "s" }
                    )
                } else {
                    format!("{} states, depth {}", thousands(r.states), r.depth)
                };
                let engine = if r.backend == "native" && r.memory != "sc" {
                    format!("{}, {}", r.backend, r.memory)
                } else {
                    r.backend.clone()
                };
                writeln!(
                    out,
                    "{status} {} [{engine}]: {}, {expect} ({size}, {:.3} s, {extent}; bounds: {})",
                    escape_name(&r.scenario),
                    r.verdict,
                    r.elapsed_ms / 1000.0,
                    r.bounds
                )?;
                if self.traces && !r.trace.is_empty() {
                    writeln!(out)?;
                    write!(out, "{}", self.table(r))?;
                }
                if let Some(m) = &r.message {
                    writeln!(out, "  => {m}")?;
                }
                if let Some(token) = &r.replay {
                    writeln!(
                        out,
                        "  replay: wqcheck --backend shuttle --replay {token} {}",
                        escape_name(&r.scenario)
                    )?;
                }
                if self.traces && (!r.trace.is_empty() || r.message.is_some()) {
                    writeln!(out)?;
                }
                Ok(())
            }
            Event::Error {
                scenario, message, ..
            } => {
                writeln!(
                    out,
                    "{} {}:",
                    self.mark("ERROR", RED),
                    escape_name(scenario)
                )?;
                writeln!(out, "{}", message.trim_end())
            }
            Event::Summary {
                passed,
                failed,
                errors,
                explored,
                interrupted,
            } => {
                if *explored > 0 {
                    let what = if *explored == 1 {
                        "result has"
                    } else {
                        "results have"
                    };
                    writeln!(
                        out,
                        "wqcheck: {explored} {what} no `expect`: reported above, not checked"
                    )?;
                }
                let errors = errors_text(*errors);
                match interrupted {
                    Some(signal) => writeln!(
                        out,
                        "wqcheck: {passed} passed, {failed} failed{errors}; interrupted by {signal}: the rest was not checked"
                    ),
                    None => writeln!(out, "wqcheck: {passed} passed, {failed} failed{errors}"),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loom_report(directed: Option<Directed>) -> RunReport {
        RunReport {
            scenario: "s.ron".into(),
            model: "m.wq".into(),
            backend: "loom".into(),
            memory: "c11".into(),
            verdict: Verdict::LostWakeup,
            claim: Claim::Counterexample,
            expected: "LostWakeup".into(),
            required: None,
            ok: true,
            states: 205_867,
            transitions: 0,
            depth: 26,
            elapsed_ms: 13_568.0,
            bounds: "preemptions<=1 max_branches=10000 max_seconds=30".into(),
            budget_hit: None,
            message: None,
            columns: Vec::new(),
            trace: Vec::new(),
            cycle_start: None,
            preemption_bound: Some(1),
            replay: None,
            directed,
        }
    }

    fn line(r: RunReport) -> String {
        let mut out = Vec::new();
        Human::default()
            .report(&Event::Result(r), &mut out)
            .expect("writes");
        String::from_utf8(out).expect("utf-8")
    }

    #[test]
    fn a_loom_violation_found_by_following_the_native_counterexample_says_so() {
        let directed = Directed {
            steps: 26,
            own_executions: 205_866,
            own_result: "no violation up to preemption bound 1".into(),
        };
        insta::assert_snapshot!(line(loom_report(Some(directed))), @"PASS s.ron [loom]: LostWakeup, as expected (205,867 executions, 13.568 s, found by following the native counterexample (26 steps) after loom's own search found none (205,866 executions, no violation up to preemption bound 1); bounds: preemptions<=1 max_branches=10000 max_seconds=30)");
        assert!(line(loom_report(None)).contains("found at preemption bound 1;"));
    }

    #[test]
    fn a_loom_holds_names_its_preemption_bound_or_says_unbounded() {
        let holds = |bound| RunReport {
            verdict: Verdict::Holds,
            claim: Claim::Bounded,
            expected: "Holds".into(),
            preemption_bound: bound,
            ..loom_report(None)
        };
        insta::assert_snapshot!(line(holds(Some(1))), @"PASS s.ron [loom]: Holds, as expected (205,867 executions, 13.568 s, every execution within the preemption bound, C11 without load buffering (docs/loom.md); bounds: preemptions<=1 max_branches=10000 max_seconds=30)");
        assert!(line(holds(None))
            .contains("every execution, unbounded, C11 without load buffering (docs/loom.md);"));
    }

    #[test]
    fn file_names_are_printed_with_control_characters_escaped() {
        assert_eq!(escape_name("scenarios/a b.ron"), "scenarios/a b.ron");
        assert!(matches!(escape_name("plain.ron"), Cow::Borrowed(_)));
        let forged = "a\nPASS x [native]: Holds\r\u{1b}[2J\u{202e}.ron";
        let escaped = escape_name(forged);
        assert_eq!(escaped, r"a\nPASS x [native]: Holds\r\u{1b}[2J\u{202e}.ron");
        assert_eq!(
            escape_name(&escaped),
            escaped,
            "escaping twice changes nothing"
        );
        let r = RunReport {
            scenario: forged.into(),
            ..loom_report(None)
        };
        assert_eq!(line(r).lines().count(), 1, "one result, one line");
        let mut out = Vec::new();
        Human::default()
            .report(
                &Event::Error {
                    scenario: forged.into(),
                    message: "error: bad".into(),
                    records: Vec::new(),
                },
                &mut out,
            )
            .expect("writes");
        assert!(String::from_utf8(out)
            .expect("utf-8")
            .starts_with("ERROR a\\nPASS x"));
    }

    #[test]
    fn an_interrupted_summary_names_the_signal_in_every_format() {
        let summary = |interrupted: Option<&str>| Event::Summary {
            passed: 2,
            failed: 1,
            errors: 0,
            explored: 0,
            interrupted: interrupted.map(String::from),
        };
        let print = |r: &mut dyn Reporter, e: &Event| {
            let mut out = Vec::new();
            r.report(e, &mut out).expect("writes");
            String::from_utf8(out).expect("utf-8")
        };
        assert_eq!(
            print(&mut Human::default(), &summary(Some("SIGTERM"))),
            "wqcheck: 2 passed, 1 failed; interrupted by SIGTERM: the rest was not checked\n"
        );
        assert_eq!(
            print(&mut Human::default(), &summary(None)),
            "wqcheck: 2 passed, 1 failed\n"
        );
        let with_errors = |errors| Event::Summary {
            passed: 2,
            failed: 1,
            errors,
            explored: 0,
            interrupted: None,
        };
        assert_eq!(
            print(&mut Human::default(), &with_errors(1)),
            "wqcheck: 2 passed, 1 failed, 1 error\n"
        );
        assert_eq!(
            print(&mut Human::default(), &with_errors(3)),
            "wqcheck: 2 passed, 1 failed, 3 errors\n"
        );
        assert_eq!(
            print(&mut JsonLines, &summary(Some("SIGINT"))),
            "{\"errors\":0,\"failed\":1,\"interrupted\":\"SIGINT\",\"passed\":2,\"type\":\"summary\",\"v\":1}\n"
        );
        assert_eq!(
            print(&mut JsonLines, &summary(None)),
            "{\"errors\":0,\"failed\":1,\"passed\":2,\"type\":\"summary\",\"v\":1}\n"
        );
    }

    #[test]
    fn a_failing_result_of_the_expected_kind_says_what_it_lacked() {
        let bounded = RunReport {
            verdict: Verdict::Holds,
            claim: Claim::Bounded,
            expected: "Holds".into(),
            required: Some(Claim::Exhaustive),
            ok: false,
            ..loom_report(None)
        };
        insta::assert_snapshot!(line(bounded.clone()), @"FAIL s.ron [loom]: Holds, expected Holds, exhaustive (required; this result is bounded) (205,867 executions, 13.568 s, every execution within the preemption bound, C11 without load buffering (docs/loom.md); bounds: preemptions<=1 max_branches=10000 max_seconds=30)");
        let empty = RunReport {
            backend: "shuttle".into(),
            verdict: Verdict::NoViolationFound,
            claim: Claim::Sampled,
            required: None,
            states: 0,
            ..bounded
        };
        assert!(line(empty).starts_with(
            "FAIL s.ron [shuttle]: NoViolationFound, expected Holds, but nothing was explored (0 states or executions) (0 executions,"
        ));
    }

    #[test]
    fn json_results_carry_the_claim_and_the_requirement() {
        let r = RunReport {
            verdict: Verdict::Holds,
            claim: Claim::Bounded,
            required: Some(Claim::Exhaustive),
            ok: false,
            ..loom_report(None)
        };
        let mut out = Vec::new();
        JsonLines
            .report(&Event::Result(r), &mut out)
            .expect("writes");
        let v: serde_json::Value = serde_json::from_slice(&out).expect("json");
        assert_eq!(
            (&v["claim"], &v["required"]),
            (&"bounded".into(), &"exhaustive".into())
        );
        assert_eq!(v["v"], JSON_VERSION);
    }
}
