//! The wqcheck front end: `.wq` models and `.ron` scenarios to the checked IR of
//! [`wqcheck_model::ir`], with rustc-like diagnostics. No I/O: every function takes the
//! text and a file name (used only in messages).
//!
//! ```
//! let model = "bit done;\nwaitqueue q until done;\nvoid t(void) { done = 1; wake_up(q); }\n";
//! let program = wqcheck_dsl::check_model("m.wq", model).expect("valid model");
//! let scenario = r#"Scenario(model: "m.wq", threads: [Thread(name: "a", run: "t")], expect: Holds)"#;
//! let file = wqcheck_dsl::parse_scenario("s.ron", scenario).expect("valid scenario");
//! let instance = wqcheck_dsl::resolve_scenario("s.ron", scenario, &file, program).expect("resolves");
//! assert_eq!(instance.threads.len(), 1);
//! ```
//!
//! Modules: `lexer` (tokens), `parser` (syntax tree and syntax errors), `check` (names,
//! types, static rules, lowering), `builtins` (the kernel API table), `scenario`
//! (scenario files), `diag` (diagnostics and their rendering), `stack` (running the
//! recursive passes on a large stack).

mod ast;
mod builtins;
mod check;
mod diag;
mod lexer;
mod parser;
pub mod prelude;
mod scenario;
mod stack;
#[cfg(test)]
mod tests;

pub use diag::{line_col, render, render_all, render_short, Diagnostic};
pub use scenario::{
    parse_scenario, resolve_scenario, thread_bodies, top_level_thread_bodies, InitOverride,
    ScenarioActor, ScenarioFile, ScenarioLoom, ScenarioShuttle, ScenarioThread, ScenarioTso,
    DEFAULT_STORE_BUFFER, MAX_ACTORS, MAX_LOOM_PREEMPTIONS, MAX_SHUTTLE_DEPTH,
    MAX_SHUTTLE_ITERATIONS, MAX_STORE_BUFFER, MAX_THREADS,
};
pub use wqcheck_model::ir::Span;

/// Parses and checks a `.wq` model. `name` is the model's path as the scenario named it;
/// it becomes [`wqcheck_model::ir::Source::name`] and the file of every diagnostic in the
/// model's own text. A header it includes (`#include <linux/completion.h>`, see
/// [`prelude`]) is checked with it; a diagnostic there names the header's file, and
/// [`prelude::text`] gives that file's text.
///
/// On failure, returns every problem found, sorted by position. Syntax errors are
/// reported alone: semantic checks run only on a model that parses.
pub fn check_model(name: &str, text: &str) -> Result<wqcheck_model::ir::Program, Vec<Diagnostic>> {
    stack::with_big_stack(|| {
        let mut diags = Vec::new();
        let mut source = wqcheck_model::ir::Source::single(name, text);
        let items = parser::parse(name, text, 0, &mut diags);
        let items = include_headers(&mut source, items, &mut diags);
        if !diags.is_empty() {
            return Err(in_their_files(&source, diags));
        }
        check::check(&source, &items).map_err(|d| in_their_files(&source, d))
    })
}

/// The model's items after those of the headers it includes (each once, in the order
/// first named, a header's own includes before it), with each header's text appended
/// to `source`.
fn include_headers(
    source: &mut wqcheck_model::ir::Source,
    items: Vec<ast::Item>,
    diags: &mut Vec<Diagnostic>,
) -> Vec<ast::Item> {
    let mut out = Vec::new();
    include_from(source, items, diags, &mut out, 0);
    out
}

/// How deeply headers may include headers.
const MAX_INCLUDE_DEPTH: usize = 8;

fn include_from(
    source: &mut wqcheck_model::ir::Source,
    items: Vec<ast::Item>,
    diags: &mut Vec<Diagnostic>,
    out: &mut Vec<ast::Item>,
    depth: usize,
) {
    let file = source
        .file_of(items.first().map_or(0, item_start))
        .0
        .to_string();
    for item in &items {
        let ast::Item::Include {
            header,
            quoted,
            span,
        } = item
        else {
            continue;
        };
        let known = || {
            prelude::HEADERS
                .iter()
                .map(|h| format!("<{}>", h.include))
                .collect::<Vec<_>>()
                .join(", ")
        };
        if *quoted {
            diags.push(
                Diagnostic::new(
                    &file,
                    *span,
                    format!("`#include \"{}\"`: a model is one file", header.name),
                )
                .with_help(format!(
                    "only the prelude's headers are included, with `<...>`: {}",
                    known()
                )),
            );
            continue;
        }
        if prelude::BUILTIN_HEADERS.contains(&header.name.as_str()) {
            continue;
        }
        let Some(h) = prelude::header(&header.name) else {
            let names = prelude::HEADERS
                .iter()
                .map(|h| h.include)
                .chain(prelude::BUILTIN_HEADERS.iter().copied());
            let help = match diag::did_you_mean(&header.name, names) {
                Some(s) => format!("did you mean `<{s}>`?"),
                None => format!(
                    "the prelude's headers are {}; the API of <{}> is built in",
                    known(),
                    prelude::BUILTIN_HEADERS.join(">, <")
                ),
            };
            diags.push(
                Diagnostic::new(
                    &file,
                    header.span,
                    format!("no header `<{}>` in the prelude", header.name),
                )
                .with_help(help),
            );
            continue;
        };
        if source.includes.iter().any(|f| f.name == h.file) {
            continue;
        }
        if depth >= MAX_INCLUDE_DEPTH {
            diags.push(Diagnostic::new(
                &file,
                *span,
                "headers include each other too deeply",
            ));
            continue;
        }
        source.text.push('\n');
        let start = source.text.len();
        source.text.push_str(h.text);
        source.includes.push(wqcheck_model::ir::SourceFile {
            name: h.file.to_string(),
            start: start as u32,
        });
        let text = source.text.clone();
        let its = parser::parse(h.file, &text, start, diags);
        include_from(source, its, diags, out, depth + 1);
    }
    out.extend(
        items
            .into_iter()
            .filter(|i| !matches!(i, ast::Item::Include { .. })),
    );
}

/// Where an item starts (for the file it is in).
fn item_start(item: &ast::Item) -> u32 {
    match item {
        ast::Item::Var { span, .. }
        | ast::Item::Queue { span, .. }
        | ast::Item::Futex { span, .. }
        | ast::Item::Include { span, .. } => span.start,
        ast::Item::Func(f) => f.span.start,
        ast::Item::Const { name, .. }
        | ast::Item::Struct { name, .. }
        | ast::Item::Object { name, .. } => name.span.start,
        ast::Item::Final { cond } => cond.span.start,
    }
}

/// Diagnostics with spans in an included header moved to the header's file (and
/// offsets), sorted by file (the model first) and position.
fn in_their_files(
    source: &wqcheck_model::ir::Source,
    mut diags: Vec<Diagnostic>,
) -> Vec<Diagnostic> {
    for d in &mut diags {
        let (file, start) = source.file_of(d.span.start);
        if start > 0 {
            d.file = file.to_string();
            d.span = wqcheck_model::ir::Span {
                start: d.span.start - start,
                end: d.span.end.saturating_sub(start),
            };
        }
    }
    let rank = |f: &str| {
        source
            .includes
            .iter()
            .position(|i| i.name == f)
            .map_or(0, |k| k + 1)
    };
    diags.sort_by_key(|d| (rank(&d.file), d.span.start, d.span.end));
    diags
}
