//! `#include <...>`: the prelude's headers read before the model, as C reads a header.
//!
//! A header's text is appended to the model's [`Source`] (so one span space covers
//! both) and parsed there; its items come before the model's, each header once. As in
//! C, a header function's parameters and locals are its own: where one has the name of
//! a global the model declares (a model function `t`, an object `x`), it is renamed in
//! that function ([`private_names`]), since the checker forbids a local to shadow a
//! global and resolves some names globally first. Traces are unaffected: their rows are
//! the source text.

use std::collections::BTreeSet;

use wqcheck_model::ir::Source;

use crate::ast::{self, ExprKind as AK, StmtKind as SK};
use crate::{diag, parser, prelude, Diagnostic};

/// The model's items after those of the headers it includes (each once, in the order
/// first named, a header's own includes before it), with each header's text appended
/// to `source`.
pub(crate) fn include_headers(
    source: &mut Source,
    items: Vec<ast::Item>,
    diags: &mut Vec<Diagnostic>,
) -> Vec<ast::Item> {
    let mut out = Vec::new();
    include_from(source, items, diags, &mut out, 0);
    private_names(source, out)
}

/// How deeply headers may include headers.
const MAX_INCLUDE_DEPTH: usize = 8;

fn include_from(
    source: &mut Source,
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

/// Header functions with their parameters and locals renamed where they have the name
/// of a global of the model's own (`x` becomes `x'`, which no model can spell).
fn private_names(source: &Source, items: Vec<ast::Item>) -> Vec<ast::Item> {
    let Some(first) = source.includes.first().map(|f| f.start) else {
        return items;
    };
    let in_model = |i: &ast::Item| item_start(i) < first;
    let globals: BTreeSet<String> = items
        .iter()
        .filter(|i| in_model(i))
        .filter_map(|i| match i {
            ast::Item::Var { name, .. }
            | ast::Item::Const { name, .. }
            | ast::Item::Queue { name, .. }
            | ast::Item::Object { name, .. } => Some(name.name.clone()),
            ast::Item::Futex { var, .. } => Some(var.name.clone()),
            ast::Item::Func(f) => Some(f.name.name.clone()),
            _ => None,
        })
        .collect();
    if globals.is_empty() {
        return items;
    }
    // A header cannot name a model global (the model comes after it, as in C), so in a
    // header function every such name is one of its own parameters or locals.
    items
        .into_iter()
        .map(|i| match i {
            ast::Item::Func(mut f) if f.span.start >= first => {
                for p in &mut f.params {
                    rename_ident(&mut p.name, &globals);
                }
                for s in &mut f.body {
                    rename_stmt(s, &globals);
                }
                ast::Item::Func(f)
            }
            other => other,
        })
        .collect()
}

pub(crate) fn rename_ident(n: &mut ast::Ident, names: &BTreeSet<String>) {
    if names.contains(&n.name) {
        n.name.push('\'');
    }
}

/// Renames, in `s`, the locals it declares and every identifier among `names`.
pub(crate) fn rename_stmt(s: &mut ast::Stmt, names: &BTreeSet<String>) {
    s.visit_mut(
        &mut |st| match &mut st.kind {
            SK::Decl { vars, .. } => vars.iter_mut().for_each(|(n, _)| rename_ident(n, names)),
            SK::DefineWait(n) | SK::DefineWakeQ(n) => rename_ident(n, names),
            _ => {}
        },
        &mut |x| {
            if let AK::Ident(n) = &mut x.kind {
                if names.contains(n.as_str()) {
                    n.push('\'');
                }
            }
        },
    );
}
