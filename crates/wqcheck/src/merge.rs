//! `wqcheck merge PART...`: the JSON results of a partitioned run (`--partition K/N`, one
//! part per CI machine, each `--format json`) joined into the report of the whole run.
//!
//! `--partition` deals the scenarios out like cards: part K has the K-th, the (K+N)-th,
//! ... So given the parts in order (1/N first), taking each part's next scenario in
//! turn puts every result back where the whole run prints it. A scenario's lines
//! (its results on each engine, or its error) are copied as they are; the summary is the
//! sum of the parts'. The exit code is the one the whole run would have had.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use wqcheck_report::{Event, Reporter};

use crate::{display_name, exit, read_input};

/// The largest part file merge reads (a part of a few hundred scenarios with traces is a
/// few MiB).
pub const MAX_PART_BYTES: u64 = 256 * 1024 * 1024;

/// One part: its scenarios' lines, grouped by scenario, and its summary.
struct Part {
    scenarios: Vec<Vec<String>>,
    summary: Summary,
}

#[derive(Default)]
struct Summary {
    passed: usize,
    failed: usize,
    errors: usize,
    explored: usize,
    interrupted: Option<String>,
}

/// Merge `files` (in part order) onto `out`; returns the exit code.
pub fn run(files: &[PathBuf], out: &mut dyn Write) -> i32 {
    let mut parts = Vec::new();
    for f in files {
        match read_part(f) {
            Ok(p) => parts.push(p),
            Err(e) => {
                let _ = writeln!(io::stderr(), "wqcheck merge: {e}");
                return exit::ERROR;
            }
        }
    }
    let mut total = Summary::default();
    for p in &parts {
        total.passed += p.summary.passed;
        total.failed += p.summary.failed;
        total.errors += p.summary.errors;
        total.explored += p.summary.explored;
        if total.interrupted.is_none() {
            total.interrupted.clone_from(&p.summary.interrupted);
        }
    }
    let rounds = parts.iter().map(|p| p.scenarios.len()).max().unwrap_or(0);
    let mut write = || -> io::Result<()> {
        for r in 0..rounds {
            for p in &parts {
                for line in p.scenarios.get(r).into_iter().flatten() {
                    writeln!(out, "{line}")?;
                }
            }
        }
        wqcheck_report::JsonLines.report(
            &Event::Summary {
                passed: total.passed,
                failed: total.failed,
                errors: total.errors,
                explored: total.explored,
                interrupted: total.interrupted.clone(),
            },
            out,
        )?;
        out.flush()
    };
    if let Err(e) = write() {
        return crate::output_lost(&e);
    }
    // A part that was interrupted left scenarios unchecked: never a pass.
    if total.interrupted.is_some() || total.errors > 0 {
        exit::ERROR
    } else if total.failed > 0 {
        exit::FAILED
    } else {
        exit::OK
    }
}

/// Read one part: JSON Lines as `--format json` prints them, ending with a summary.
fn read_part(path: &Path) -> Result<Part, String> {
    let name = display_name(path);
    let text = read_input(path, MAX_PART_BYTES)
        .map_err(|e| format!("cannot read {name}: {}", e.text("part file")))?;
    let mut scenarios: Vec<Vec<String>> = Vec::new();
    let mut last: Option<String> = None;
    let mut summary = None;
    for (n, line) in text.lines().enumerate() {
        let at = || format!("{name}:{}", n + 1);
        if line.trim().is_empty() {
            continue;
        }
        if summary.is_some() {
            return Err(format!(
                "{}: a line after the summary: is this the output of one run?",
                at()
            ));
        }
        let v: serde_json::Value = serde_json::from_str(line).map_err(|e| {
            format!(
                "{}: not a JSON line ({e}): give the output of `wqcheck --format json`",
                at()
            )
        })?;
        if v["v"] != wqcheck_report::JSON_VERSION {
            return Err(format!(
                "{}: JSON version {} where this wqcheck writes {}",
                at(),
                v["v"],
                wqcheck_report::JSON_VERSION
            ));
        }
        match v["type"].as_str() {
            Some("result" | "error") => {
                let scenario = v["scenario"].as_str().unwrap_or_default().to_string();
                if last.as_deref() != Some(scenario.as_str()) {
                    scenarios.push(Vec::new());
                    last = Some(scenario);
                }
                if let Some(s) = scenarios.last_mut() {
                    s.push(line.to_string());
                }
            }
            Some("summary") => {
                let count = |k: &str| v[k].as_u64().unwrap_or(0) as usize;
                summary = Some(Summary {
                    passed: count("passed"),
                    failed: count("failed"),
                    errors: count("errors"),
                    explored: count("explored"),
                    interrupted: v["interrupted"].as_str().map(String::from),
                });
            }
            _ => return Err(format!("{}: a line of unknown type {}", at(), v["type"])),
        }
    }
    let summary = summary.ok_or_else(|| {
        format!("{name}: no summary line: the run that wrote it did not finish (or it is not `--format json` output)")
    })?;
    Ok(Part { scenarios, summary })
}
