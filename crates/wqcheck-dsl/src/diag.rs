//! Diagnostics: the [`Diagnostic`] type every other module produces, its rendering
//! (rustc-like blocks and the one-line machine form), byte-offset to line/column
//! conversion, and the "did you mean" helper shared by the checker and the scenario
//! resolver.
//!
//! Rendering is stable: no colours, no terminal width, tabs shown as four spaces.
//!
//! Rendering is also bounded, whatever the input: [`render_all`] shows at most
//! [`MAX_RENDERED_PER_FILE`] diagnostics of a file and then one line counting the rest,
//! one diagnostic's source line is cut to a window of [`SNIPPET_COLUMNS`] columns around
//! its span, and message and help lines are cut to [`MAX_MESSAGE_CHARS`] characters. A
//! line ends at `\n`, at `\r\n` or at a lone `\r` (as in C compilers), everywhere: in
//! line numbers, in the source line shown, and in the lexer's `//` comments.
//!
//! Suggestions ("did you mean") are length-bounded: names longer than
//! [`MAX_SUGGESTION_LEN`] characters get none, and candidates whose length differs from
//! the name's by more than the allowed edit distance are skipped before any distance is
//! computed, so one suggestion costs at most a 64×64 table per candidate.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::fmt::Write as _;

use wqcheck_model::ir::Span;

/// At most this many diagnostics of one file are rendered by [`render_all`]; the rest are
/// counted in one closing line.
pub const MAX_RENDERED_PER_FILE: usize = 50;

/// The source line of a rendered diagnostic is cut to a window of about this many columns
/// around the span (a file with one giant line, or with line breaks the lexer does not
/// see, must not print the whole file per diagnostic).
pub const SNIPPET_COLUMNS: usize = 200;

/// Message and help lines are cut to this many characters (names in messages can be as
/// long as the input).
pub const MAX_MESSAGE_CHARS: usize = 400;

/// A help text shows at most this many lines.
const MAX_HELP_LINES: usize = 12;

/// "did you mean" suggestions computed per file at most: each is a pass over every
/// candidate name, so past the diagnostics anyone reads they would make checking a file
/// with many unknown names quadratic.
pub(crate) const MAX_SUGGESTIONS: usize = 2 * MAX_RENDERED_PER_FILE;

/// Help texts that list names (declared queues, thread bodies, variables) show this many.
pub(crate) const MAX_LISTED_NAMES: usize = 20;

/// The most diagnostics one pass (lexer, checker) keeps: past them it keeps counting but
/// lists no more, and ends its list with one [`STOPPING`] diagnostic. (The parser stops
/// after fewer.) This bounds the memory a file of garbage costs.
pub(crate) const MAX_KEPT: usize = 1_000;

/// The end of the message of a diagnostic that ends the listing of its file's problems
/// ("too many syntax errors; stopping here"). [`render_all`] always shows these, after
/// the count of the diagnostics it left out: they say why the count is not the whole
/// story.
pub(crate) const STOPPING: &str = "; stopping here";

/// Names longer than this (in chars) get no "did you mean" suggestion.
pub const MAX_SUGGESTION_LEN: usize = 64;

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

/// Whether byte `i` of `b` ends a line: a `\n`, or a `\r` not followed by `\n`.
fn is_break(b: &[u8], i: usize) -> bool {
    match b.get(i) {
        Some(b'\n') => true,
        Some(b'\r') => b.get(i + 1) != Some(&b'\n'),
        _ => false,
    }
}

/// The byte offset where the line holding byte `offset` starts (`offset` on a char
/// boundary, at most `text.len()`).
fn line_start_of(text: &str, offset: usize) -> usize {
    let b = text.as_bytes();
    let before = b.get(..offset).unwrap_or(b);
    // The last `\n` or `\r` before `offset`; a `\r` right before `offset` followed by
    // `\n` at `offset` is the first half of a `\r\n` and does not end a line.
    let mut i = before.len();
    while i > 0 {
        i -= 1;
        if is_break(b, i) {
            return i + 1;
        }
    }
    0
}

/// The byte offset where the line holding byte `offset` ends (its line break, or the
/// end of the text).
fn line_end_of(text: &str, offset: usize) -> usize {
    let b = text.as_bytes();
    b.get(offset..)
        .and_then(|rest| rest.iter().position(|c| *c == b'\n' || *c == b'\r'))
        .map_or(text.len(), |k| offset + k)
}

/// Line starts of one text, built once in one pass, so that many diagnostics of a file
/// cost a binary search each rather than a scan of the file each.
pub(crate) struct LineIndex {
    /// Byte offset of the start of each line; `starts[0] == 0`.
    starts: Vec<usize>,
}

impl LineIndex {
    pub(crate) fn new(text: &str) -> LineIndex {
        let b = text.as_bytes();
        let mut starts = vec![0];
        for (i, c) in b.iter().enumerate() {
            if (*c == b'\n' || *c == b'\r') && is_break(b, i) {
                starts.push(i + 1);
            }
        }
        LineIndex { starts }
    }

    /// 1-based line of byte `offset`, and the byte offset where that line starts.
    pub(crate) fn line(&self, offset: usize) -> (usize, usize) {
        let n = self.starts.partition_point(|s| *s <= offset).max(1);
        (n, self.starts.get(n - 1).copied().unwrap_or(0))
    }
}

/// 1-based line and 1-based column (counted in chars) of byte `offset` in `text`.
/// Offsets past the end or inside a char are clamped. A line ends at `\n`, `\r\n` or a
/// lone `\r`.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = floor_char_boundary(text, offset);
    let b = text.as_bytes();
    let line = 1 + b
        .get(..offset)
        .unwrap_or(b)
        .iter()
        .enumerate()
        .filter(|(i, c)| (**c == b'\n' || **c == b'\r') && is_break(b, *i))
        .count();
    let start = line_start_of(text, offset);
    (line, column(text, start, offset))
}

/// 1-based column (in chars) of `offset` on the line starting at `line_start`.
fn column(text: &str, line_start: usize, offset: usize) -> usize {
    text.get(line_start..offset).unwrap_or("").chars().count() + 1
}

fn floor_char_boundary(text: &str, offset: usize) -> usize {
    let mut o = offset.min(text.len());
    while o > 0 && !text.is_char_boundary(o) {
        o -= 1;
    }
    o
}

/// `s` cut to `max` chars, with `…` marking the cut.
fn truncate_chars(s: &str, max: usize) -> std::borrow::Cow<'_, str> {
    match s.char_indices().nth(max) {
        None => std::borrow::Cow::Borrowed(s),
        Some((i, _)) => std::borrow::Cow::Owned(format!("{}…", s.get(..i).unwrap_or(s))),
    }
}

/// A diagnostic's message and help bounded as [`render`] bounds them (each line at most
/// [`MAX_MESSAGE_CHARS`] chars, control characters escaped, at most `MAX_HELP_LINES`
/// lines of help), for machine-readable records.
pub fn bounded_text(diag: &Diagnostic) -> (String, Option<String>) {
    let help = diag.help.as_ref().map(|h| {
        let mut lines: Vec<String> = h.lines().take(MAX_HELP_LINES).map(clean_line).collect();
        if h.lines().nth(MAX_HELP_LINES).is_some() {
            lines.push("…".into());
        }
        lines.join("\n")
    });
    (clean_line(&diag.message), help)
}

/// The one-line form `file:line:col: message`, for machines (JSON reports, editors).
pub fn render_short(diag: &Diagnostic, text: &str) -> String {
    let (line, col) = diag.line_col(text);
    format!(
        "{}:{}:{}: {}",
        diag.file,
        line,
        col,
        clean_line(&diag.message)
    )
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
///
/// Its size is bounded whatever `text` is: see the module docs.
pub fn render(diag: &Diagnostic, text: &str) -> String {
    let start = floor_char_boundary(text, diag.span.start as usize);
    let line = line_col(text, start).0;
    render_at(diag, text, line, line_start_of(text, start))
}

/// [`render`], with the line of the span's start (and where that line starts) known.
fn render_at(diag: &Diagnostic, text: &str, line: usize, line_start: usize) -> String {
    let start = floor_char_boundary(text, diag.span.start as usize);
    let end = floor_char_boundary(text, (diag.span.end as usize).max(start));
    let line_start = line_start.min(start);
    let line_end = line_end_of(text, start);
    let col = column(text, line_start, start);
    let gutter = line.to_string().len();
    let pad = " ".repeat(gutter);

    let mut out = String::new();
    let _ = writeln!(out, "error: {}", clean_line(&diag.message));
    let _ = writeln!(out, "{pad}--> {}:{}:{}", diag.file, line, col);
    let _ = writeln!(out, "{pad} |");
    let snippet = Snippet::new(text, line_start, start, end.min(line_end), line_end);
    let _ = writeln!(out, "{line} | {}", snippet.shown);
    let _ = writeln!(
        out,
        "{pad} | {}{}",
        " ".repeat(snippet.lead),
        "^".repeat(snippet.carets)
    );
    if let Some(help) = &diag.help {
        for (i, h) in help.lines().enumerate() {
            if i == MAX_HELP_LINES {
                let _ = writeln!(out, "{pad}         …");
                break;
            }
            let h = clean_line(h);
            if i == 0 {
                let _ = writeln!(out, "{pad} = help: {h}");
            } else {
                let _ = writeln!(out, "{pad}         {h}");
            }
        }
    }
    out
}

/// The part of a source line shown under a diagnostic, and where its carets go.
struct Snippet {
    /// The text shown (tabs expanded, `…` where the line was cut).
    shown: String,
    /// Columns before the first caret.
    lead: usize,
    /// Number of carets (at least one).
    carets: usize,
}

impl Snippet {
    /// The line `[line_start, line_end)` with the span `[start, marked_end)` marked,
    /// cut to about [`SNIPPET_COLUMNS`] columns around `start`. Looks at no more than
    /// a few hundred chars of the line, however long it is.
    fn new(
        text: &str,
        line_start: usize,
        start: usize,
        marked_end: usize,
        line_end: usize,
    ) -> Snippet {
        let marked_end = marked_end.max(start);
        let before = text.get(line_start..start).unwrap_or("");
        let after = text.get(start..line_end).unwrap_or("");
        // How much of the line there is right of the span's start, up to the window.
        let mut right_avail = 0;
        for c in after.chars() {
            right_avail += width(c);
            if right_avail > SNIPPET_COLUMNS {
                break;
            }
        }
        // Left of the span: at least half the window, more when the line ends sooner
        // on the right (so a line that fits the window is shown whole).
        let left_budget = SNIPPET_COLUMNS - right_avail.min(SNIPPET_COLUMNS / 2);
        let mut left_width = 0;
        let mut left_from = before.len();
        for (i, c) in before.char_indices().rev() {
            let w = width(c);
            if left_width + w > left_budget {
                break;
            }
            left_width += w;
            left_from = i;
        }
        // Right of the span's start: the rest of the window.
        let right_budget = SNIPPET_COLUMNS - left_width;
        let mut right_width = 0;
        let mut right_to = 0;
        for (i, c) in after.char_indices() {
            let w = width(c);
            if right_width + w > right_budget {
                break;
            }
            right_width += w;
            right_to = i + c.len_utf8();
        }
        let cut_left = left_from > 0;
        let cut_right = right_to < after.len();
        let left = before.get(left_from..).unwrap_or("");
        let right = after.get(..right_to).unwrap_or("");
        let mut shown = String::new();
        if cut_left {
            shown.push('…');
        }
        push_visible(&mut shown, left);
        push_visible(&mut shown, right);
        if cut_right {
            shown.push('…');
        }
        let lead = left_width + usize::from(cut_left);
        let marked = floor_str(right, marked_end - start);
        let carets = display_width(marked).max(1);
        Snippet {
            shown,
            lead,
            carets,
        }
    }
}

/// Appends source text as it is shown: tabs as four spaces, control characters as their
/// Unicode pictures (`␛` for ESC: a model file must not drive the terminal), each one
/// column wide like the char it stands for.
fn push_visible(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '\t' => out.push_str("    "),
            c if c.is_control() => out.push(control_picture(c)),
            c => out.push(c),
        }
    }
}

fn control_picture(c: char) -> char {
    match u32::from(c) {
        n @ 0..=0x1f => char::from_u32(0x2400 + n).unwrap_or('\u{fffd}'),
        0x7f => '\u{2421}',
        _ => '\u{fffd}',
    }
}

/// One line of a message or help text as it is shown: control characters escaped
/// (`\n`, `\u{1b}`: names in scenario files are arbitrary strings), cut to
/// [`MAX_MESSAGE_CHARS`] chars.
fn clean_line(s: &str) -> String {
    let mut out = String::new();
    for (n, c) in s.chars().enumerate() {
        if n == MAX_MESSAGE_CHARS {
            out.push('…');
            break;
        }
        if c.is_control() && c != '\t' {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// The longest prefix of `s` of at most `len` bytes that ends on a char boundary.
fn floor_str(s: &str, len: usize) -> &str {
    s.get(..floor_char_boundary(s, len)).unwrap_or("")
}

/// Renders every diagnostic as its own block, separated by blank lines. `text_of` gives
/// the text of a diagnostic's file (diagnostics of a scenario run may point into the
/// scenario and into its model).
///
/// At most [`MAX_RENDERED_PER_FILE`] diagnostics of each file are rendered, in the order
/// given; one closing line per file counts the others (`… and 2,950 more errors in
/// rec.wq`). Each file's lines are indexed once, so the cost is linear in the texts plus
/// the rendered output.
pub fn render_all<'a>(diags: &[Diagnostic], text_of: impl Fn(&str) -> &'a str) -> String {
    struct File<'d> {
        name: &'d str,
        index: Option<LineIndex>,
        shown: usize,
        more: usize,
        stops: Vec<&'d Diagnostic>,
    }
    let mut files: Vec<File> = Vec::new();
    let mut out = String::new();
    let block = |out: &mut String, d: &Diagnostic, index: &mut Option<LineIndex>| {
        let text = text_of(&d.file);
        let index = index.get_or_insert_with(|| LineIndex::new(text));
        let start = floor_char_boundary(text, d.span.start as usize);
        let (line, line_start) = index.line(start);
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&render_at(d, text, line, line_start));
    };
    for d in diags {
        let k = match files.iter().position(|f| f.name == d.file) {
            Some(k) => k,
            None => {
                files.push(File {
                    name: d.file.as_str(),
                    index: None,
                    shown: 0,
                    more: 0,
                    stops: Vec::new(),
                });
                files.len() - 1
            }
        };
        let Some(f) = files.get_mut(k) else {
            continue;
        };
        if d.message.ends_with(STOPPING) {
            f.stops.push(d);
        } else if f.shown >= MAX_RENDERED_PER_FILE {
            f.more += 1;
        } else {
            f.shown += 1;
            block(&mut out, d, &mut f.index);
        }
    }
    for f in &mut files {
        if f.more > 0 {
            let _ = writeln!(
                out,
                "\n… and {} more error{} in {} (the first {} are shown)",
                thousands(f.more),
                if f.more == 1 { "" } else { "s" },
                f.name,
                f.shown,
            );
        }
        for d in std::mem::take(&mut f.stops) {
            block(&mut out, d, &mut f.index);
        }
    }
    out
}

/// Keeps the [`MAX_KEPT`] diagnostics that come first in the file (whatever order they
/// are found in: the checker's passes do not go through the file in order) and counts
/// the others; see [`Kept::finish`]. Memory stays bounded however many are found.
#[derive(Default)]
pub(crate) struct Kept {
    /// A max-heap on position: its top is the kept diagnostic that comes last.
    heap: BinaryHeap<ByPosition>,
    found: usize,
}

/// A diagnostic ordered by (start, end, the order it was found in).
struct ByPosition(u32, u32, usize, Diagnostic);

impl PartialEq for ByPosition {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for ByPosition {}

impl PartialOrd for ByPosition {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ByPosition {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.0, self.1, self.2).cmp(&(other.0, other.1, other.2))
    }
}

impl Kept {
    pub(crate) fn push(&mut self, d: Diagnostic) {
        self.heap
            .push(ByPosition(d.span.start, d.span.end, self.found, d));
        self.found += 1;
        if self.heap.len() > MAX_KEPT {
            self.heap.pop();
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// The kept diagnostics sorted by position (found order among equal spans), then,
    /// if some were left out, one [`STOPPING`] diagnostic at the end of the file (`len`)
    /// that counts them.
    pub(crate) fn finish(self, file: &str, len: usize) -> Vec<Diagnostic> {
        let dropped = self.found - self.heap.len();
        let mut list: Vec<Diagnostic> = self
            .heap
            .into_sorted_vec()
            .into_iter()
            .map(|ByPosition(_, _, _, d)| d)
            .collect();
        // The same problem found twice at the same place (a shared object's field
        // declared once and checked per object) is listed once.
        let mut seen = std::collections::HashSet::new();
        list.retain(|d| seen.insert((d.span, d.message.clone(), d.help.clone())));
        if dropped > 0 {
            list.push(Diagnostic::new(
                file,
                Span::new(len, len),
                format!(
                    "too many errors: {} more are not listed{STOPPING}",
                    thousands(dropped)
                ),
            ));
        }
        list
    }
}

/// `2950` as `2,950`.
fn thousands(n: usize) -> String {
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

fn width(c: char) -> usize {
    if c == '\t' {
        4
    } else {
        1
    }
}

fn display_width(s: &str) -> usize {
    s.chars().map(width).sum()
}

#[cfg(test)]
thread_local! {
    /// Test instrumentation: candidates [`did_you_mean`] looked at on this thread, and
    /// distance-table cells [`edit_distance`] filled.
    static WORK: std::cell::Cell<(usize, usize)> = const { std::cell::Cell::new((0, 0)) };
}

/// The work counted since the last call, on this thread: (candidates looked at,
/// distance-table cells).
#[cfg(test)]
pub(crate) fn take_work() -> (usize, usize) {
    WORK.with(|w| w.replace((0, 0)))
}

/// Levenshtein distance over chars. Callers bound the lengths (see [`did_you_mean`]).
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    #[cfg(test)]
    WORK.with(|w| {
        let (c, cells) = w.get();
        w.set((c, cells + a.chars().count() * b.len()));
    });
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

/// The number of chars of `s`, or `None` when it has more than `max` (looking at no
/// more than `4 * max + 4` bytes of it).
fn short_len(s: &str, max: usize) -> Option<usize> {
    if s.len() > 4 * max + 4 {
        return None;
    }
    let n = s.chars().count();
    (n <= max).then_some(n)
}

/// The closest candidate to `name`, if it is close enough to be a plausible typo.
///
/// Bounded work: a name longer than [`MAX_SUGGESTION_LEN`] chars gets no suggestion, and
/// a candidate is compared only if its length is within the allowed distance of the
/// name's, so each comparison is at most a 64×64 table.
pub(crate) fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let len = short_len(name, MAX_SUGGESTION_LEN)?;
    // Very short names are too easy to "match": only suggest a different case there.
    let limit = if len < 3 { 0 } else { (len / 3).max(1) };
    let lower = name.to_ascii_lowercase();
    let mut best: Option<(usize, &'a str)> = None;
    let skeleton = |s: &str| -> String { s.chars().filter(|c| !c.is_ascii_digit()).collect() };
    let name_skeleton = skeleton(name);
    for c in candidates {
        #[cfg(test)]
        WORK.with(|w| {
            let (n, cells) = w.get();
            w.set((n + 1, cells));
        });
        // The edit distance is at least the difference in length.
        let Some(clen) = short_len(c, MAX_SUGGESTION_LEN) else {
            continue;
        };
        if clen.abs_diff(len) > limit {
            continue;
        }
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
        // Ties go to the smallest name, so that the suggestion does not depend on the
        // order of a hash map's keys.
        if d <= limit && best.is_none_or(|(bd, bc)| (d, c) < (bd, bc)) {
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

/// At most `max` names, comma-separated, then how many were left out: for help texts
/// that list what a file declares (a file can declare many thousands of names).
pub(crate) fn name_list<'a>(names: impl IntoIterator<Item = &'a str>, max: usize) -> String {
    let mut out = String::new();
    let mut more = 0usize;
    for (i, n) in names.into_iter().enumerate() {
        if i >= max {
            more += 1;
            continue;
        }
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(&truncate_chars(n, MAX_SUGGESTION_LEN));
    }
    if more > 0 {
        let _ = write!(out, ", … ({} more)", thousands(more));
    }
    out
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

    #[test]
    fn a_suggestion_tie_goes_to_the_smallest_name_whatever_the_order() {
        assert_eq!(did_you_mean("abcX", ["abcZ", "abcY"]), Some("abcY"));
        assert_eq!(did_you_mean("abcX", ["abcY", "abcZ"]), Some("abcY"));
    }

    #[test]
    fn a_fifty_thousand_char_name_costs_no_distance_table() {
        for len in [50_000, 300_000] {
            let name = "x".repeat(len);
            let close = format!("{name}y");
            take_work();
            assert_eq!(did_you_mean(&name, [close.as_str(), "wake_up"]), None);
            assert_eq!(take_work(), (0, 0));
            // Nor does a long candidate for a short name.
            assert_eq!(
                did_you_mean("wake_upp", [close.as_str(), "wake_up"]),
                Some("wake_up")
            );
            let (_, cells) = take_work();
            assert_eq!(cells, 8 * 7);
        }
    }

    #[test]
    fn candidates_too_different_in_length_are_not_compared() {
        take_work();
        assert_eq!(
            did_you_mean("abcdef", ["abcdefghijklmnop", "ab", "abcdeg"]),
            Some("abcdeg")
        );
        assert_eq!(take_work(), (3, 36));
    }

    #[test]
    fn thousands_of_unknown_names_compute_a_bounded_number_of_suggestions() {
        // 5,000 variables and 5,000 uses of unknown ones: one suggestion each would look
        // at 25 million candidates.
        let n = 5_000;
        let mut text: String = (0..n).map(|i| format!("bit var{i};\n")).collect();
        text.push_str("void t(void)\n{\n");
        for i in 0..n {
            text.push_str(&format!("\tWRITE_ONCE(vbr{i}, 1);\n"));
        }
        text.push_str("}\n");
        let mut diags = Vec::new();
        let items = crate::parser::parse("m.wq", &text, 0, &mut diags);
        assert!(diags.is_empty());
        take_work();
        let source = wqcheck_model::ir::Source::single("m.wq", &text);
        let d = crate::check::check(&source, &items).expect_err("unknown variables");
        assert_eq!(d.len(), MAX_KEPT + 1);
        let (looked_at, _) = take_work();
        assert!(
            looked_at <= MAX_SUGGESTIONS * (n + 1_000),
            "{looked_at} candidates looked at"
        );
        // The first ones still get their suggestion.
        let help = d.first().and_then(|d| d.help.clone()).unwrap_or_default();
        assert_eq!(help, "did you mean `var0`?");
    }

    #[test]
    fn render_all_shows_fifty_per_file_then_counts_the_rest_and_ends_with_the_stop() {
        let text = "x\n".repeat(200);
        let mut diags: Vec<Diagnostic> = (0..120)
            .map(|i| Diagnostic::new("a.wq", Span::new(2 * i, 2 * i + 1), format!("e{i}")))
            .collect();
        diags.push(Diagnostic::new("b.ron", Span::new(0, 1), "in b"));
        diags.push(Diagnostic::new(
            "a.wq",
            Span::new(398, 398),
            format!("too many{STOPPING}"),
        ));
        let r = render_all(&diags, |_| text.as_str());
        assert_eq!(r.matches("error: e").count(), 50);
        assert!(r.contains("error: e49\n") && !r.contains("error: e50\n"));
        assert!(r.contains("error: in b\n"));
        assert!(r.contains("\n… and 70 more errors in a.wq (the first 50 are shown)\n"));
        assert!(r.trim_end().ends_with("^"));
        let stop = r.find("error: too many; stopping here").unwrap_or(0);
        assert!(stop > r.find("… and 70 more").unwrap_or(usize::MAX));
    }

    #[test]
    fn kept_diagnostics_are_the_first_in_the_file_whatever_order_they_were_found_in() {
        let mut kept = Kept::default();
        for i in (0..3 * MAX_KEPT).rev() {
            kept.push(Diagnostic::new("a", Span::new(i, i), format!("e{i}")));
        }
        let list = kept.finish("a", 10_000);
        assert_eq!(list.len(), MAX_KEPT + 1);
        assert_eq!(list.first().map(|d| d.message.as_str()), Some("e0"));
        assert_eq!(
            list.get(MAX_KEPT - 1).map(|d| d.span.start as usize),
            Some(MAX_KEPT - 1)
        );
        assert_eq!(
            list.last().map(|d| d.message.as_str()),
            Some("too many errors: 2,000 more are not listed; stopping here")
        );
    }
}
