//! `--explain`: a trace told step by step, each step with the model's source around the
//! line it executed, for reading a counterexample next to the model (and, through the
//! model's kernel names, next to the kernel). The table says who did what when; this
//! says where in the code each thing happened.
//!
//! The printer is given the texts (the CLI reads the model; a prelude header's text is
//! compiled in): this crate does no I/O.

use std::fmt::Write as _;

use crate::RunReport;

/// Lines of source shown before and after a step's line.
const CONTEXT: usize = 1;

/// The steps of `r`'s trace with their source. `text_of(file)` gives the text of the
/// model (`None`: the model) or of a prelude header; a file it does not give is named
/// without its lines.
pub fn explain<'a>(r: &RunReport, text_of: impl Fn(Option<&str>) -> Option<&'a str>) -> String {
    let mut out = String::new();
    if r.trace.is_empty() {
        return out;
    }
    let _ = writeln!(out, "  step by step:");
    for (i, s) in r.trace.iter().enumerate() {
        let file = s.file.as_deref().unwrap_or(r.model.as_str());
        let Some(&line) = s.lines.first() else {
            // An actor's move (a signal, a timer) or a store buffer's flush: no source.
            let _ = writeln!(out, "\n  {}. {}: {}", i + 1, s.thread, s.text);
            effects(&mut out, s);
            continue;
        };
        let _ = writeln!(out, "\n  {}. {} at {file}:{line}", i + 1, s.thread);
        match text_of(s.file.as_deref()) {
            Some(text) => {
                let lines: Vec<&str> = text.lines().collect();
                // The step's lines (a call's shared operations may be on several), with
                // context, unless they are far apart: then the first.
                let last = s.lines.iter().copied().max().unwrap_or(line);
                let last = if last > line + 6 { line } else { last };
                let from = (line as usize).saturating_sub(1 + CONTEXT);
                let to = (last as usize + CONTEXT).min(lines.len());
                let width = to.to_string().len();
                for (k, l) in lines.iter().enumerate().take(to).skip(from) {
                    let n = k + 1;
                    let mark = if s.lines.contains(&(n as u32)) {
                        ">"
                    } else {
                        " "
                    };
                    let row = format!("    {mark} {n:>width$} | {l}");
                    let _ = writeln!(out, "{}", row.trim_end());
                }
            }
            None => {
                let _ = writeln!(out, "    {}", s.text);
            }
        }
        effects(&mut out, s);
    }
    out
}

/// `      → 1, PG_locked=0`: what the step returned and changed.
fn effects(out: &mut String, s: &wqcheck_model::trace::TraceStep) {
    let changes = crate::changes_text(s);
    if !changes.is_empty() {
        let _ = writeln!(out, "      {changes}");
    }
}
