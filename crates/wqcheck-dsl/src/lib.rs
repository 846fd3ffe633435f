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
mod include;
mod lexer;
mod parser;
pub mod prelude;
mod scenario;
mod stack;
#[cfg(test)]
mod tests;
mod wait_bit;

pub use diag::{
    bounded_text, line_col, render, render_all, render_short, Diagnostic, MAX_RENDERED_PER_FILE,
};
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
        let items = include::include_headers(&mut source, items, &mut diags);
        if !diags.is_empty() {
            return Err(in_their_files(&source, diags));
        }
        // A misused bit-wait helper is reported with the checker's problems, not alone.
        let items = wait_bit::expand(&mut source, items, &mut diags);
        match check::check(&source, &items) {
            Ok(p) if diags.is_empty() => Ok(p),
            Ok(_) => Err(in_their_files(&source, diags)),
            Err(d) => {
                diags.extend(d);
                Err(in_their_files(&source, diags))
            }
        }
    })
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
