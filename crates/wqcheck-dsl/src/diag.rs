//! Diagnostics: the [`Diagnostic`] type every other module produces, its rendering
//! (rustc-like blocks and the one-line machine form), byte-offset to line/column
//! conversion, and the "did you mean" helper shared by the checker and the scenario
//! resolver.
//!
//! Rendering is stable: no colours, no terminal width, tabs shown as four spaces.

use std::fmt::Write as _;

use wqcheck_model::ir::Span;

/// One problem in a model or scenario file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file name the problem is in, as the caller named it.
    pub file: String,
    /// Byte range in that file's text (may be empty, e.g. at the end of the file).
    pub span: Span,
    /// What is wrong, one line, no trailing period.
    pub message: String,
    /// How to fix it, when we can tell.
    pub help: Option<String>,
}

impl Diagnostic {
    pub(crate) fn new(file: &str, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            file: file.to_string(),
            span,
            message: message.into(),
            help: None,
        }
    }

    pub(crate) fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    pub(crate) fn with_opt_help(mut self, help: Option<String>) -> Diagnostic {
        self.help = help;
        self
    }

    /// 1-based line and column (in chars) of the start of the span in `text`.
    pub fn line_col(&self, text: &str) -> (usize, usize) {
        line_col(text, self.span.start as usize)
    }
}

/// 1-based line and 1-based column (counted in chars) of byte `offset` in `text`.
/// Offsets past the end or inside a char are clamped.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = floor_char_boundary(text, offset);
    let before = text.get(..offset).unwrap_or("");
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before.get(line_start..).unwrap_or("").chars().count() + 1;
    (line, col)
}

fn floor_char_boundary(text: &str, offset: usize) -> usize {
    let mut o = offset.min(text.len());
    while o > 0 && !text.is_char_boundary(o) {
        o -= 1;
    }
    o
}

/// The one-line form `file:line:col: message`, for machines (JSON reports, editors).
pub fn render_short(diag: &Diagnostic, text: &str) -> String {
    let (line, col) = diag.line_col(text);
    format!("{}:{}:{}: {}", diag.file, line, col, diag.message)
}

/// The rustc-like block for one diagnostic; `text` is the text of `diag.file`.
///
/// ```text
/// error: unknown queue `r`
///   --> models/x.wq:12:16
///    |
/// 12 |     spin_lock(&r->lock);
///    |                ^
///    = help: declared wait queues: q
/// ```
pub fn render(diag: &Diagnostic, text: &str) -> String {
    let start = floor_char_boundary(text, diag.span.start as usize);
    let end = floor_char_boundary(text, (diag.span.end as usize).max(start));
    let (line, col) = line_col(text, start);
    let line_start = text
        .get(..start)
        .and_then(|s| s.rfind('\n'))
        .map_or(0, |i| i + 1);
    let line_end = text
        .get(start..)
        .and_then(|s| s.find('\n'))
        .map_or(text.len(), |i| start + i);
    let src_line = text.get(line_start..line_end).unwrap_or("");
    let src_line = src_line.strip_suffix('\r').unwrap_or(src_line);
    let gutter = line.to_string().len();
    let pad = " ".repeat(gutter);

    let mut out = String::new();
    let _ = writeln!(out, "error: {}", diag.message);
    let _ = writeln!(out, "{pad}--> {}:{}:{}", diag.file, line, col);
    let _ = writeln!(out, "{pad} |");
    let _ = writeln!(out, "{line} | {}", expand_tabs(src_line));
    // Caret under the span (to the end of its first line), at least one caret.
    let prefix = text.get(line_start..start).unwrap_or("");
    let marked_end = end.min(line_end).max(start);
    let marked = text.get(start..marked_end).unwrap_or("");
    let lead = display_width(prefix);
    let width = display_width(marked).max(1);
    let _ = writeln!(out, "{pad} | {}{}", " ".repeat(lead), "^".repeat(width));
    if let Some(help) = &diag.help {
        for (i, h) in help.lines().enumerate() {
            if i == 0 {
                let _ = writeln!(out, "{pad} = help: {h}");
            } else {
                let _ = writeln!(out, "{pad}         {h}");
            }
        }
    }
    out
}

/// Renders every diagnostic as its own block, separated by blank lines. `text_of` gives
/// the text of a diagnostic's file (diagnostics of a scenario run may point into the
/// scenario and into its model).
pub fn render_all<'a>(diags: &[Diagnostic], text_of: impl Fn(&str) -> &'a str) -> String {
    let mut out = String::new();
    for (i, d) in diags.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&render(d, text_of(&d.file)));
    }
    out
}

fn expand_tabs(s: &str) -> String {
    s.replace('\t', "    ")
}

fn display_width(s: &str) -> usize {
    s.chars().map(|c| if c == '\t' { 4 } else { 1 }).sum()
}

/// Levenshtein distance over chars.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        if let Some(c0) = cur.first_mut() {
            *c0 = i + 1;
        }
        for (j, cb) in b.iter().enumerate() {
            let sub = prev.get(j).copied().unwrap_or(0) + usize::from(ca != *cb);
            let del = prev.get(j + 1).copied().unwrap_or(0) + 1;
            let ins = cur.get(j).copied().unwrap_or(0) + 1;
            if let Some(c) = cur.get_mut(j + 1) {
                *c = sub.min(del).min(ins);
            }
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev.last().copied().unwrap_or(0)
}

/// The closest candidate to `name`, if it is close enough to be a plausible typo.
pub(crate) fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    // Very short names are too easy to "match": only suggest a different case there.
    let len = name.chars().count();
    let limit = if len < 3 { 0 } else { (len / 3).max(1) };
    let lower = name.to_ascii_lowercase();
    let mut best: Option<(usize, &'a str)> = None;
    let skeleton = |s: &str| -> String { s.chars().filter(|c| !c.is_ascii_digit()).collect() };
    let name_skeleton = skeleton(name);
    for c in candidates {
        // `thread3` is not a typo of `thread1`: names that differ only in digits are
        // different things.
        if c == name || skeleton(c) == name_skeleton {
            continue;
        }
        let d = if c.to_ascii_lowercase() == lower {
            0
        } else {
            edit_distance(name, c)
        };
        if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

/// "did you mean `x`?" when there is a close candidate.
pub(crate) fn suggest<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    did_you_mean(name, candidates).map(|c| format!("did you mean `{c}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_chars() {
        let t = "ab\ncé d\n";
        assert_eq!(line_col(t, 0), (1, 1));
        assert_eq!(line_col(t, 3), (2, 1));
        // 'é' is two bytes; the space after it is char column 3.
        assert_eq!(line_col(t, 6), (2, 3));
        assert_eq!(line_col(t, 999), (3, 1));
        // inside a char: clamped down
        assert_eq!(line_col(t, 5), (2, 2));
    }

    #[test]
    fn render_block() {
        let text = "waitqueue q;\nvoid f(void)\n{\n    spin_lock(&r->lock);\n}\n";
        let start = text.find("r->").unwrap_or(0);
        let d = Diagnostic::new("x.wq", Span::new(start, start + 1), "unknown queue `r`")
            .with_help("declared wait queues: q");
        let r = render(&d, text);
        assert_eq!(
            r,
            "error: unknown queue `r`\n --> x.wq:4:16\n  |\n4 |     spin_lock(&r->lock);\n  |                ^\n  = help: declared wait queues: q\n"
        );
        assert_eq!(render_short(&d, text), "x.wq:4:16: unknown queue `r`");
    }

    #[test]
    fn render_tabs_and_eof() {
        let text = "\tfoo();";
        let d = Diagnostic::new("a", Span::new(1, 4), "m");
        assert!(render(&d, text).contains("|     ^^^\n"));
        let d = Diagnostic::new("a", Span::new(100, 100), "m");
        assert!(render(&d, text).contains("1:8"));
    }

    #[test]
    fn suggestions() {
        assert_eq!(
            did_you_mean("wake_upp", ["wake_up", "wake_up_all"]),
            Some("wake_up")
        );
        assert_eq!(did_you_mean("zzz", ["wake_up"]), None);
        assert_eq!(did_you_mean("thread3", ["thread1", "thread2"]), None);
        assert_eq!(
            did_you_mean("threa1", ["thread1", "thread2"]),
            Some("thread1")
        );
        assert_eq!(did_you_mean("x", ["y"]), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
