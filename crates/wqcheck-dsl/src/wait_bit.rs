//! The bit waits of kernel/sched/wait_bit.c: `wait_on_bit()`, `wait_on_bit_io()`,
//! `wake_up_bit()` and `clear_and_wake_up_bit()`, written in the DSL for the model that
//! calls them.
//!
//! The kernel passes the word as a pointer and the bit as a number, hashes the pair to
//! one of 256 wait queues, and wakes through `wake_bit_function()`, which compares the
//! waiter's key with the waker's. A model has no pointer to a word, so this module
//! writes a header, [`FILE`], with one copy of each function per bit the model names
//! (`wait_on_bit__BH_Lock()`), numbers the bits for the keys, and renames the model's
//! calls to those copies. The header is the kernel's code otherwise, statement for
//! statement, so a trace steps through it as through the prelude's. Every bit hashes
//! to the one queue `bit_wait_table`: a collision the kernel's table allows, which
//! makes `wake_bit_function()`'s key test matter.
//!
//! A model that defines a function of a helper's name calls its own
//! (`models/linux/wait-on-bit.wq` writes the code out).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use wqcheck_model::ir::{Source, SourceFile, Span};

use crate::ast::{self, ExprKind as AK};
use crate::{parser, Diagnostic};

/// The file the generated header's diagnostics and trace rows name.
pub(crate) const FILE: &str = "<prelude>/linux/wait_bit.wq";

/// Each helper: its name, the position of the bit and of the word among its arguments,
/// and how many arguments it takes.
const HELPERS: &[(&str, usize, usize, usize)] = &[
    ("wait_on_bit", 1, 0, 3),
    ("wait_on_bit_io", 1, 0, 3),
    ("wake_up_bit", 1, 0, 2),
    ("clear_and_wake_up_bit", 0, 1, 2),
];

/// The globals the header declares besides its per-bit functions.
const HEADER_GLOBALS: &[&str] = &[
    "wait_bit_key",
    "wait_bit_queue_entry",
    "bit_wait_table",
    "wake_bit_function",
];

/// The model's items with its bit-wait calls renamed to the header's copies, and the
/// header's items after them; `items` unchanged if it calls none.
pub(crate) fn expand(
    source: &mut Source,
    mut items: Vec<ast::Item>,
    diags: &mut Vec<Diagnostic>,
) -> Vec<ast::Item> {
    let defined: BTreeSet<String> = items
        .iter()
        .filter_map(|i| match i {
            ast::Item::Func(f) => Some(f.name.name.clone()),
            _ => None,
        })
        .collect();
    // Each bit of a word declared at top level, with its word.
    let mut word_of: BTreeMap<String, String> = BTreeMap::new();
    for i in &items {
        if let ast::Item::Var {
            ty: ast::SharedTy::Word { bits },
            name,
            len: None,
            ..
        } = i
        {
            for (b, _) in bits {
                word_of.insert(b.name.clone(), name.name.clone());
            }
        }
    }
    // The header's own globals must be free, or the model declared them itself: then
    // each call is refused (once, below) instead of written.
    let globals = model_globals(&items);
    let clash = HEADER_GLOBALS
        .iter()
        .find(|g| globals.contains(**g))
        .copied();
    let mut bits: Vec<String> = Vec::new();
    let mut first_call: Option<(String, Span)> = None;
    let file_of = |span: Span| source.file_of(span.start).0.to_string();
    for item in &mut items {
        let ast::Item::Func(f) = item else { continue };
        for s in &mut f.body {
            s.visit_mut(&mut |_| {}, &mut |e| {
                let AK::Call { name, args } = &e.kind else {
                    return;
                };
                let Some(helper) = HELPERS.iter().find(|h| h.0 == name.name) else {
                    return;
                };
                if defined.contains(helper.0) {
                    return;
                }
                if clash.is_some() {
                    first_call.get_or_insert((helper.0.to_string(), e.span));
                    e.kind = AK::Int(0);
                    return;
                }
                match bit_of_call(helper, args, &word_of) {
                    Ok(bit) => {
                        let AK::Call { name, args } = &mut e.kind else {
                            return;
                        };
                        name.name = format!("{}__{bit}", helper.0);
                        let mode = helper.0.starts_with("wait_on_bit").then(|| args.remove(2));
                        args.clear();
                        args.extend(mode);
                        if !bits.contains(&bit) {
                            bits.push(bit);
                        }
                        if first_call.is_none() {
                            first_call = Some((helper.0.to_string(), e.span));
                        }
                    }
                    Err((msg, help)) => {
                        diags.push(Diagnostic::new(&file_of(e.span), e.span, msg).with_help(help));
                        // Reported: the checker sees a constant, and reports nothing more.
                        e.kind = AK::Int(0);
                    }
                }
            });
        }
    }
    let Some((helper, span)) = first_call else {
        return items;
    };
    if let Some(clash) = clash {
        diags.push(
            Diagnostic::new(
                &file_of(span),
                span,
                format!("`{helper}` is written with a global `{clash}`, which the model declares itself"),
            )
            .with_help(format!(
                "rename the model's `{clash}`, or define `{helper}()` in the model (then the model's is called)"
            )),
        );
        return items;
    }
    source.text.push('\n');
    let start = source.text.len();
    source.text.push_str(&header(&bits));
    source.includes.push(SourceFile {
        name: FILE.to_string(),
        start: start as u32,
    });
    let text = source.text.clone();
    let mut header_items = parser::parse(FILE, &text, start, diags);
    // A header function's parameters and locals are its own (as include.rs has it for
    // the prelude): those with the name of a model global are renamed. Only those: the
    // header names the model's bits.
    for item in &mut header_items {
        let ast::Item::Func(f) = item else { continue };
        let mut own: BTreeSet<String> = f.params.iter().map(|p| p.name.name.clone()).collect();
        for s in &mut f.body {
            s.visit_mut(
                &mut |st| match &st.kind {
                    ast::StmtKind::Decl { vars, .. } => {
                        own.extend(vars.iter().map(|(n, _)| n.name.clone()))
                    }
                    ast::StmtKind::DefineWait(n) | ast::StmtKind::DefineWakeQ(n) => {
                        own.insert(n.name.clone());
                    }
                    _ => {}
                },
                &mut |_| {},
            );
        }
        own.retain(|n| globals.contains(n));
        if own.is_empty() {
            continue;
        }
        for p in &mut f.params {
            crate::include::rename_ident(&mut p.name, &own);
        }
        for s in &mut f.body {
            crate::include::rename_stmt(s, &own);
        }
    }
    items.extend(header_items);
    items
}

/// The bit a call of `helper` waits on or wakes, checked against its word; or the
/// error and its help.
fn bit_of_call(
    &(helper, bit_at, word_at, nargs): &(&str, usize, usize, usize),
    args: &[ast::Expr],
    word_of: &BTreeMap<String, String>,
) -> Result<String, (String, String)> {
    let sig = match helper {
        "clear_and_wake_up_bit" => "clear_and_wake_up_bit(BIT, &WORD)".to_string(),
        "wake_up_bit" => "wake_up_bit(&WORD, BIT)".to_string(),
        h => format!("{h}(&WORD, BIT, TASK_UNINTERRUPTIBLE)"),
    };
    const ELSEWHERE: &str = "for an element of an array of words or a shared object's word, write the kernel's loop on a queue and a wake function, as models/linux/wait-on-bit.wq does";
    if args.len() != nargs {
        let given = match args.len() {
            1 => "1 was given".to_string(),
            n => format!("{n} were given"),
        };
        return Err((
            format!("`{helper}` takes {nargs} arguments but {given}"),
            format!("the signature is `{sig}`"),
        ));
    }
    // `clear_and_wake_up_bit(&WORD, BIT)`: the order of wake_up_bit()'s.
    if let (Some(w), Some(b)) = (
        args[bit_at].without_addr_of().as_ident(),
        args[word_at].as_ident(),
    ) {
        if word_of.contains_key(b) && !word_of.contains_key(w) {
            return Err((
                format!("`{helper}` takes the bit first, then the word"),
                format!("write `{}`", sig.replace("WORD", w).replace("BIT", b)),
            ));
        }
    }
    let (Some(bit), Some(word)) = (
        args[bit_at].as_ident(),
        args[word_at].without_addr_of().as_ident(),
    ) else {
        return Err((
            format!("`{helper}` takes a word and one of its bits, by name"),
            format!("write `{sig}` for a word declared at top level, `unsigned long WORD {{ BIT, ... }};`; {ELSEWHERE}"),
        ));
    };
    match word_of.get(bit) {
        Some(w) if w == word => Ok(bit.to_string()),
        Some(w) => Err((
            format!("`{bit}` is a bit of `{w}`, not of `{word}`"),
            format!("write `{}`", sig.replace("WORD", w).replace("BIT", bit)),
        )),
        None => Err((
            format!("`{bit}` is not a bit of a word declared at top level"),
            format!("`{helper}` waits on a bit of a word, `unsigned long {word} {{ {bit}, ... }};`; {ELSEWHERE}"),
        )),
    }
}

/// The names the model's items declare at top level.
fn model_globals(items: &[ast::Item]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for i in items {
        match i {
            ast::Item::Var { name, ty, .. } => {
                out.insert(name.name.clone());
                if let ast::SharedTy::Word { bits } = ty {
                    out.extend(bits.iter().map(|(b, _)| b.name.clone()));
                }
            }
            ast::Item::Const { name, .. }
            | ast::Item::Queue { name, .. }
            | ast::Item::Object { name, .. }
            | ast::Item::Struct { name, .. } => {
                out.insert(name.name.clone());
            }
            ast::Item::Futex { var, .. } => {
                out.insert(var.name.clone());
            }
            ast::Item::Func(f) => {
                out.insert(f.name.name.clone());
            }
            ast::Item::Final { .. } | ast::Item::Include { .. } => {}
        }
    }
    out
}

/// The header for `bits`, numbered in order: the kernel's code, one copy per bit.
fn header(bits: &[String]) -> String {
    let mut out = String::from(
        "/*
 * <linux/wait_bit.h> for this model, written by wqcheck for the bits it waits on
 * (crates/wqcheck-dsl/src/wait_bit.rs): kernel/sched/wait_bit.c (wake_bit_function,
 * __wait_on_bit, out_of_line_wait_on_bit, __wake_up_bit, wake_up_bit, bit_wait,
 * bit_wait_io) and include/linux/wait_bit.h (wait_on_bit, wait_on_bit_io,
 * clear_and_wake_up_bit) at commit 0d78592583949b531318b51763ade7ff536ba9bc, one copy of
 * each function per bit: a model has no pointer to a word. A key is the bit's number
 * here. Every bit hashes to the one queue bit_wait_table.
 */
struct wait_bit_key {
\tint bit_nr;
};

struct wait_bit_queue_entry {
\tint key_bit_nr;
\twait_queue_entry_t wq_entry;
};

waitqueue bit_wait_table;

int wake_bit_function(wait_queue_entry_t *wq_entry, unsigned mode, int sync, void *arg)
{
\tstruct wait_bit_key *key = arg;
\tstruct wait_bit_queue_entry *wait_bit = container_of(wq_entry, struct wait_bit_queue_entry, wq_entry);

\tif (wait_bit->key_bit_nr != key->bit_nr",
    );
    for (k, b) in bits.iter().enumerate() {
        let _ = write!(out, " ||\n\t    (key->bit_nr == {k} && test_bit({b}))");
    }
    out.push_str(
        ")
\t\treturn 0;

\treturn autoremove_wake_function(wq_entry, mode, sync, arg);
}
",
    );
    for (k, b) in bits.iter().enumerate() {
        let _ = write!(
            out,
            "
/* bit {k}: {b} */
int bit_wait__{b}(unsigned mode)
{{
\tschedule() until !{b};
\tif (signal_pending_state(mode, current))
\t\treturn -EINTR;
\treturn 0;
}}

int bit_wait_io__{b}(unsigned mode)
{{
\tio_schedule() until !{b};
\tif (signal_pending_state(mode, current))
\t\treturn -EINTR;
\treturn 0;
}}

int __wait_on_bit__{b}(unsigned mode, int io)
{{
\tstruct wait_bit_queue_entry wbq_entry;
\tint ret = 0;

\tinit_wait(&wbq_entry.wq_entry);
\twbq_entry.wq_entry.func = wake_bit_function;
\twbq_entry.key_bit_nr = {k};
\tdo {{
\t\tprepare_to_wait(&bit_wait_table, &wbq_entry.wq_entry, mode);
\t\tif (test_bit({b})) {{
\t\t\tif (io)
\t\t\t\tret = bit_wait_io__{b}(mode);
\t\t\telse
\t\t\t\tret = bit_wait__{b}(mode);
\t\t}}
\t}} while (test_bit_acquire({b}) && !ret);
\tfinish_wait(&bit_wait_table, &wbq_entry.wq_entry);
\treturn ret;
}}

int wait_on_bit__{b}(unsigned mode)
{{
\tif (!test_bit_acquire({b}))
\t\treturn 0;
\treturn __wait_on_bit__{b}(mode, 0);
}}

int wait_on_bit_io__{b}(unsigned mode)
{{
\tif (!test_bit_acquire({b}))
\t\treturn 0;
\treturn __wait_on_bit__{b}(mode, 1);
}}

void wake_up_bit__{b}(void)
{{
\tstruct wait_bit_key key;

\tkey.bit_nr = {k};
\tif (waitqueue_active(&bit_wait_table))
\t\t__wake_up(&bit_wait_table, TASK_NORMAL, 1, &key);
}}

void clear_and_wake_up_bit__{b}(void)
{{
\tclear_bit_unlock({b});
\t/* See wake_up_bit() for which memory barrier you need to use. */
\tsmp_mb__after_atomic();
\twake_up_bit__{b}();
}}
"
        );
    }
    out
}
