//! The bit and variable waits of kernel/sched/wait_bit.c, written in the DSL for the
//! model that calls them: `wait_on_bit()`, `wait_on_bit_io()`, `wait_on_bit_lock()`,
//! `wait_on_bit_lock_io()`, `wake_up_bit()`, `clear_and_wake_up_bit()`, and
//! `wait_var_event()`, `wait_var_event_killable()`, `wait_var_event_timeout()`,
//! `wake_up_var()`.
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
//! A word or variable may be an element of an array (`&bh_state[i]`, `&counts[i]`):
//! then the copies take the index last, with keys of their own for each element (the
//! array's first key plus, for a bit, or less, for a variable, the index), and the
//! index must be an expression over locals and constants, which takes no step.
//!
//! A variable wait keys on the variable's address, with bit number -1: here each
//! variable declared at top level that a variable wait names gets a negative key of its
//! own (-1, -2, ...), `wake_up_var(&v)` becomes the header's `wake_up_var__v()`, and
//! `wait_var_event*(&v, condition)` keeps its name with the key in place of `&v`: the
//! checker expands it as the `wait_event*()` family (check/wait_event.rs), on
//! `bit_wait_table` with `var_wake_function()` and the key, as the kernel's
//! `___wait_var_event()` does, because its condition is the caller's code.
//!
//! A model that defines a function of a helper's name calls its own
//! (`models/linux/wait-on-bit.wq` writes the code out).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use wqcheck_model::ir::{BinOp, Source, SourceFile, Span};

use crate::ast::{self, ExprKind as AK};
use crate::{parser, Diagnostic};

/// The file the generated header's diagnostics and trace rows name.
pub(crate) const FILE: &str = "<prelude>/linux/wait_bit.wq";

/// Each bit helper: its name, the position of the bit and of the word among its
/// arguments, and how many arguments it takes.
const HELPERS: &[(&str, usize, usize, usize)] = &[
    ("wait_on_bit", 1, 0, 3),
    ("wait_on_bit_io", 1, 0, 3),
    ("wait_on_bit_lock", 1, 0, 3),
    ("wait_on_bit_lock_io", 1, 0, 3),
    ("wake_up_bit", 1, 0, 2),
    ("clear_and_wake_up_bit", 0, 1, 2),
];

/// Each variable helper: its name, how many arguments it takes (the variable first),
/// and the rest of its signature.
const VAR_HELPERS: &[(&str, usize, &str)] = &[
    ("wait_var_event", 2, ", CONDITION"),
    ("wait_var_event_killable", 2, ", CONDITION"),
    ("wait_var_event_timeout", 3, ", CONDITION, TIMEOUT"),
    ("wake_up_var", 1, ""),
];

/// The names of every helper this module writes, for "did you mean" on a misspelling.
pub(crate) fn helper_names<'a>() -> impl Iterator<Item = &'a str> {
    HELPERS
        .iter()
        .map(|h| -> &'a str { h.0 })
        .chain(VAR_HELPERS.iter().map(|h| -> &'a str { h.0 }))
}

/// A call's helper: a bit wait or a variable wait.
#[derive(Clone, Copy)]
enum Helper {
    Bit(&'static (&'static str, usize, usize, usize)),
    Var(&'static (&'static str, usize, &'static str)),
}

impl Helper {
    fn name(self) -> &'static str {
        match self {
            Helper::Bit(h) => h.0,
            Helper::Var(h) => h.0,
        }
    }
}

/// A bit or variable the helpers key on: its name, its array's length (`None`: one
/// word or variable), and its first key. Bits count up from 0, variables down from -1
/// (the kernel's `bit_nr` of a variable), each element of an array a key of its own.
struct Keyed {
    name: String,
    len: Option<u8>,
    first: i64,
}

impl Keyed {
    /// The first key of `name` in `list`, whose keys go in `step` (1 or -1), appending
    /// it if it is new; or the error if its keys no longer fit a wait entry's key byte
    /// (`key_bit_nr`: 0 to 127 for bits, -1 to -128 for variables).
    fn first_key(
        list: &mut Vec<Keyed>,
        name: &str,
        len: Option<u8>,
        step: i64,
    ) -> Result<i64, (String, String)> {
        if let Some(k) = list.iter().find(|k| k.name == name) {
            return Ok(k.first);
        }
        let first = list.last().map_or(if step > 0 { 0 } else { -1 }, |k| {
            k.first + step * k.count()
        });
        let last = first + step * (i64::from(len.unwrap_or(1)) - 1);
        if !(i64::from(i8::MIN)..=i64::from(i8::MAX)).contains(&last) {
            return Err((
                format!("`{name}` needs keys past the 128 a wait entry's key byte holds for bits, or for variables"),
                "each bit and variable a bit or variable wait names takes a key, and each element of an array one of its own: wait on fewer, or on smaller arrays".to_string(),
            ));
        }
        list.push(Keyed {
            name: name.to_string(),
            len,
            first,
        });
        Ok(first)
    }

    /// How many keys it has.
    fn count(&self) -> i64 {
        i64::from(self.len.unwrap_or(1))
    }
}

/// The most elements an array may have (docs/dsl.md §3).
const MAX_LEN: u8 = 16;

/// The hashed queue every key is on.
pub(crate) const TABLE: &str = "bit_wait_table";
/// The wake function of a variable wait's entry.
pub(crate) const VAR_WAKE_FUNCTION: &str = "var_wake_function";

/// The globals the header declares besides its per-bit functions.
const HEADER_GLOBALS: &[&str] = &[
    "wait_bit_key",
    "wait_bit_queue_entry",
    "bit_wait_table",
    "wake_bit_function",
    "var_wake_function",
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
    // Each bit of a word declared at top level, with its word and the word's array
    // length (`None`: not an array); and the variables declared at top level, with theirs.
    // (A length the checker will refuse, or one given by a name that is no integer
    // constant, counts as 16, the most an array may have: the checker reports it.)
    let consts: BTreeMap<&str, i64> = items
        .iter()
        .filter_map(|i| match i {
            ast::Item::Const {
                name,
                value: ast::Expr {
                    kind: AK::Int(v), ..
                },
                ..
            } => Some((name.name.as_str(), *v)),
            _ => None,
        })
        .collect();
    let length = |e: &ast::Expr| -> u8 {
        let v = match &e.kind {
            AK::Int(v) => Some(*v),
            AK::Ident(n) => consts.get(n.as_str()).copied(),
            _ => None,
        };
        v.and_then(|v| u8::try_from(v).ok())
            .filter(|v| (1..=MAX_LEN).contains(v))
            .unwrap_or(MAX_LEN)
    };
    let mut word_of: BTreeMap<String, (String, Option<u8>)> = BTreeMap::new();
    let mut top_vars: BTreeMap<String, Option<u8>> = BTreeMap::new();
    for i in &items {
        if let ast::Item::Var { ty, name, len, .. } = i {
            let len = len.as_ref().map(length);
            top_vars.insert(name.name.clone(), len);
            if let ast::SharedTy::Word { bits } = ty {
                for (b, _) in bits {
                    word_of.insert(b.name.clone(), (name.name.clone(), len));
                }
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
    let mut bits: Vec<Keyed> = Vec::new();
    let mut vars: Vec<Keyed> = Vec::new();
    let mut first_call: Option<(String, Span)> = None;
    let file_of = |span: Span| source.file_of(span.start).0.to_string();
    for item in &mut items {
        let ast::Item::Func(f) = item else { continue };
        for s in &mut f.body {
            s.visit_mut(&mut |_| {}, &mut |e| {
                let AK::Call { name, args } = &e.kind else {
                    return;
                };
                let helper = match VAR_HELPERS.iter().find(|h| h.0 == name.name) {
                    Some(h) => Helper::Var(h),
                    None => match HELPERS.iter().find(|h| h.0 == name.name) {
                        Some(h) => Helper::Bit(h),
                        None => return,
                    },
                };
                let helper_name = helper.name();
                if defined.contains(helper_name) {
                    return;
                }
                let call = (helper_name.to_string(), e.span);
                if clash.is_some() {
                    first_call.get_or_insert(call);
                    e.kind = AK::Int(0);
                    return;
                }
                let done = match helper {
                    Helper::Var(h) => var_of_call(h, args, &top_vars, &word_of, &globals).and_then(
                        |(var, index)| {
                            let len = top_vars.get(&var).copied().flatten();
                            let first = Keyed::first_key(&mut vars, &var, len, -1)?;
                            let AK::Call { name, args } = &mut e.kind else {
                                return Ok(());
                            };
                            if h.0 == "wake_up_var" {
                                name.name = format!("wake_up_var__{var}");
                                args.clear();
                                args.extend(index);
                            } else {
                                // The key, for check/wait_event.rs: the variable's, less
                                // the element's index.
                                let span = args[0].span;
                                let k = ast::Expr {
                                    kind: AK::Int(first),
                                    span,
                                };
                                args[0] = match index {
                                    None => k,
                                    Some(i) => ast::Expr {
                                        kind: AK::Binary(BinOp::Sub, Box::new(k), Box::new(i)),
                                        span,
                                    },
                                };
                            }
                            Ok(())
                        },
                    ),
                    Helper::Bit(h) => {
                        bit_of_call(h, args, &word_of, &globals).and_then(|(bit, index)| {
                            let len = word_of.get(&bit).and_then(|w| w.1);
                            Keyed::first_key(&mut bits, &bit, len, 1)?;
                            let AK::Call { name, args } = &mut e.kind else {
                                return Ok(());
                            };
                            name.name = format!("{}__{bit}", h.0);
                            let mode = h.0.starts_with("wait_on_bit").then(|| args.remove(2));
                            args.clear();
                            args.extend(mode);
                            args.extend(index);
                            Ok(())
                        })
                    }
                };
                match done {
                    Ok(()) => {
                        first_call.get_or_insert(call);
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
    source.text.push_str(&header(&bits, &vars));
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

/// `&NAME` or `&NAME[INDEX]` (the `&` may be left out, as for builtins): the name, and
/// the index.
fn element(e: &ast::Expr) -> Option<(&str, Option<&ast::Expr>)> {
    match &e.without_addr_of().kind {
        AK::Ident(n) => Some((n, None)),
        AK::Index { base, index } => base.as_ident().map(|n| (n, Some(&**index))),
        _ => None,
    }
}

/// The index a helper passes on for `name`, an array of `len` (`None`: not an array):
/// none for a variable, and for an element a constant in range or an expression over
/// locals and constants, which takes no step; or the error and its help.
fn element_index(
    name: &str,
    index: Option<&ast::Expr>,
    len: Option<u8>,
    globals: &BTreeSet<String>,
) -> Result<Option<ast::Expr>, (String, String)> {
    match (index, len) {
        (None, None) => Ok(None),
        (Some(_), None) => Err((
            format!("`{name}` is not an array"),
            format!("write `&{name}`"),
        )),
        (None, Some(len)) => Err((
            format!("`{name}` is an array of {len}: name one element"),
            format!("write `&{name}[i]`, with a local or a constant `i`"),
        )),
        (Some(i), Some(len)) => match &i.kind {
            AK::Int(k) if (0..i64::from(len)).contains(k) => Ok(Some(i.clone())),
            AK::Int(k) => Err((
                format!("index {k} is outside `{name}[{len}]`"),
                format!("the elements are `{name}[0]` to `{name}[{}]`", len - 1),
            )),
            _ if of_locals(i, globals) => Ok(Some(i.clone())),
            _ => Err((
                format!("the index of `{name}` here must be an expression over locals and constants"),
                "read a shared index into a local first (`int i = READ_ONCE(x);`), then write `&NAME[i]`".to_string(),
            )),
        },
    }
}

/// Whether `e` is an expression over locals and constants only (names that are no
/// model global, integers, operators), so that passing it on reads no shared memory.
fn of_locals(e: &ast::Expr, globals: &BTreeSet<String>) -> bool {
    match &e.kind {
        AK::Int(_) => true,
        AK::Ident(n) => !globals.contains(n),
        AK::Unary(op, x) => {
            !matches!(op, ast::UnaryOp::AddrOf | ast::UnaryOp::Deref) && of_locals(x, globals)
        }
        AK::Binary(_, a, b) => of_locals(a, globals) && of_locals(b, globals),
        _ => false,
    }
}

/// The bit a call of `helper` waits on or wakes, checked against its word, and the
/// word's index in its array; or the error and its help.
fn bit_of_call(
    &(helper, bit_at, word_at, nargs): &(&str, usize, usize, usize),
    args: &[ast::Expr],
    word_of: &BTreeMap<String, (String, Option<u8>)>,
    globals: &BTreeSet<String>,
) -> Result<(String, Option<ast::Expr>), (String, String)> {
    let sig = match helper {
        "clear_and_wake_up_bit" => "clear_and_wake_up_bit(BIT, &WORD)".to_string(),
        "wake_up_bit" => "wake_up_bit(&WORD, BIT)".to_string(),
        h => format!("{h}(&WORD, BIT, TASK_UNINTERRUPTIBLE)"),
    };
    const ELSEWHERE: &str = "for a shared object's word, write the kernel's loop on a queue and a wake function, as models/linux/wait-on-bit.wq does";
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
    if let (Some((w, _)), Some(b)) = (element(&args[bit_at]), args[word_at].as_ident()) {
        if word_of.contains_key(b) && !word_of.contains_key(w) {
            let text = |e: &ast::Expr| match element(e) {
                Some((n, Some(_))) => format!("{n}[i]"),
                _ => w.to_string(),
            };
            return Err((
                format!("`{helper}` takes the bit first, then the word"),
                format!(
                    "write `{}`",
                    sig.replace("WORD", &text(&args[bit_at])).replace("BIT", b)
                ),
            ));
        }
    }
    let (Some(bit), Some((word, index))) = (args[bit_at].as_ident(), element(&args[word_at]))
    else {
        return Err((
            format!("`{helper}` takes a word and one of its bits, by name"),
            format!("write `{sig}` for a word declared at top level, `unsigned long WORD {{ BIT, ... }};` (`&WORD[i]` for an array of words); {ELSEWHERE}"),
        ));
    };
    match word_of.get(bit) {
        Some((w, len)) if w == word => {
            element_index(word, index, *len, globals).map(|i| (bit.to_string(), i))
        }
        Some((w, _)) => Err((
            format!("`{bit}` is a bit of `{w}`, not of `{word}`"),
            format!("write `{}`", sig.replace("WORD", w).replace("BIT", bit)),
        )),
        None => Err((
            format!("`{bit}` is not a bit of a word declared at top level"),
            format!("`{helper}` waits on a bit of a word, `unsigned long {word} {{ {bit}, ... }};`; {ELSEWHERE}"),
        )),
    }
}

/// The variable a call of a variable wait waits on or wakes, checked, and its index in
/// its array; or the error and its help.
fn var_of_call(
    &(helper, nargs, rest): &(&str, usize, &str),
    args: &[ast::Expr],
    top_vars: &BTreeMap<String, Option<u8>>,
    word_of: &BTreeMap<String, (String, Option<u8>)>,
    globals: &BTreeSet<String>,
) -> Result<(String, Option<ast::Expr>), (String, String)> {
    let sig = format!("{helper}(&VAR{rest})");
    if args.len() != nargs {
        let given = match args.len() {
            1 => "1 was given".to_string(),
            n => format!("{n} were given"),
        };
        return Err((
            format!(
                "`{helper}` takes {nargs} argument{} but {given}",
                if nargs == 1 { "" } else { "s" }
            ),
            format!("the signature is `{sig}`"),
        ));
    }
    const ELSEWHERE: &str = "for a shared object's field, write the kernel's loop on a queue and a wake function that tests a key, as models/linux/wait-on-bit.wq does for a bit";
    let Some((var, index)) = element(&args[0]) else {
        return Err((
            format!("`{helper}` takes a variable declared at top level, by name"),
            format!(
                "write `{}` (`&v[i]` for an element of an array); {ELSEWHERE}",
                sig.replace("VAR", "v")
            ),
        ));
    };
    if let Some(len) = top_vars.get(var) {
        return element_index(var, index, *len, globals).map(|i| (var.to_string(), i));
    }
    let help = match word_of.get(var) {
        Some((w, _)) => format!(
            "`{var}` is a bit of `{w}`: wait on the word, `{}`, or on the bit with `wait_on_bit()`",
            sig.replace("VAR", w)
        ),
        None => format!(
            "a variable wait keys on a variable declared at top level (`int<0..N> {var};`); {ELSEWHERE}"
        ),
    };
    Err((
        format!("`{var}` is not a variable declared at top level"),
        help,
    ))
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

/// The header for `bits` and `vars`: the kernel's code, one copy per bit and per
/// variable. A copy for an array takes the element's index, `idx`, last, and keys each
/// element apart: a bit's key is its first plus `idx`, a variable's its first minus
/// `idx`.
fn header(bits: &[Keyed], vars: &[Keyed]) -> String {
    let mut out = String::from(
        "/*
 * <linux/wait_bit.h> for this model, written by wqcheck for the bits and variables it
 * waits on (crates/wqcheck-dsl/src/wait_bit.rs): kernel/sched/wait_bit.c
 * (wake_bit_function, __wait_on_bit, out_of_line_wait_on_bit, __wait_on_bit_lock,
 * out_of_line_wait_on_bit_lock, __wake_up_bit, wake_up_bit, var_wake_function,
 * wake_up_var, bit_wait, bit_wait_io) and include/linux/wait_bit.h (wait_on_bit,
 * wait_on_bit_io, wait_on_bit_lock, wait_on_bit_lock_io, clear_and_wake_up_bit) at
 * commit 0d78592583949b531318b51763ade7ff536ba9bc, one copy of each function per bit
 * and per variable: a model has no pointer to a word (a copy for an array of words or
 * variables takes the element's index, idx). A key is the bit's number here, or a
 * variable's negative number (its bit_nr is -1 in the kernel, and its address tells it
 * from another's), each element of an array a number of its own. Every key hashes to
 * the one queue bit_wait_table.
 * wait_var_event*() are expanded where they are called, as the kernel's macros are.
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
    for Keyed {
        name: b,
        len,
        first: k,
    } in bits
    {
        if len.is_none() {
            let _ = write!(out, " ||\n\t    (key->bit_nr == {k} && test_bit({b}))");
        }
    }
    out.push_str(")\n\t\treturn 0;\n");
    // An array's bit is tested only for its own keys: its index must be in range.
    for Keyed {
        name: b,
        len,
        first: k,
    } in bits
    {
        if let Some(len) = len {
            let _ = write!(
                out,
                "\tif (key->bit_nr >= {k} && key->bit_nr < {end}) {{
\t\tif (test_bit({b}[key->bit_nr - {k}]))
\t\t\treturn 0;
\t}}
",
                end = k + i64::from(*len)
            );
        }
    }
    out.push_str(
        "
\treturn autoremove_wake_function(wq_entry, mode, sync, arg);
}

int var_wake_function(wait_queue_entry_t *wq_entry, unsigned int mode, int sync, void *arg)
{
\t/* __var_wake_key(), written in */
\tstruct wait_bit_key *key = arg;
\tstruct wait_bit_queue_entry *wbq_entry = container_of(wq_entry, struct wait_bit_queue_entry, wq_entry);

\tif (wbq_entry->key_bit_nr != key->bit_nr)
\t\treturn 0;

\treturn autoremove_wake_function(wq_entry, mode, sync, arg);
}
",
    );
    for Keyed {
        name: v,
        len,
        first: k,
    } in vars
    {
        let (what, param, key, check) = match len {
            None => (format!("key {k}"), "void", k.to_string(), String::new()),
            Some(len) => (
                format!(
                    "keys {k} to {} for {v}[0] to {v}[{}]",
                    k - i64::from(*len) + 1,
                    len - 1
                ),
                "int idx",
                format!("{k} - idx"),
                format!("\tassert(idx >= 0 && idx < {len});\t/* &{v}[idx] is an element */\n"),
            ),
        };
        let _ = write!(
            out,
            "
/* variable {v}: {what} */
void wake_up_var__{v}({param})
{{
\tstruct wait_bit_key key;

{check}\tkey.bit_nr = {key};
\tif (waitqueue_active(&bit_wait_table))
\t\t__wake_up(&bit_wait_table, TASK_NORMAL, 1, &key);
}}
"
        );
    }
    for Keyed {
        name: b,
        len,
        first: k,
    } in bits
    {
        // The parameters and arguments that name the element, the bit, and the key.
        let (what, pv, pm, av, am, bref, key) = match len {
            None => (
                format!("bit {k}"),
                "void",
                "",
                "",
                "",
                b.clone(),
                k.to_string(),
            ),
            Some(len) => (
                format!(
                    "bits {k} to {} for {b}[0] to {b}[{}]",
                    k + i64::from(*len) - 1,
                    len - 1
                ),
                "int idx",
                ", int idx",
                "idx",
                ", idx",
                format!("{b}[idx]"),
                format!("{k} + idx"),
            ),
        };
        let _ = write!(
            out,
            "
/* {what}: {b} */
int bit_wait__{b}(unsigned mode{pm})
{{
\tschedule() until !{bref};
\tif (signal_pending_state(mode, current))
\t\treturn -EINTR;
\treturn 0;
}}

int bit_wait_io__{b}(unsigned mode{pm})
{{
\tio_schedule() until !{bref};
\tif (signal_pending_state(mode, current))
\t\treturn -EINTR;
\treturn 0;
}}

int __wait_on_bit__{b}(unsigned mode, int io{pm})
{{
\tstruct wait_bit_queue_entry wbq_entry;
\tint ret = 0;

\tinit_wait(&wbq_entry.wq_entry);
\twbq_entry.wq_entry.func = wake_bit_function;
\twbq_entry.key_bit_nr = {key};
\tdo {{
\t\tprepare_to_wait(&bit_wait_table, &wbq_entry.wq_entry, mode);
\t\tif (test_bit({bref})) {{
\t\t\tif (io)
\t\t\t\tret = bit_wait_io__{b}(mode{am});
\t\t\telse
\t\t\t\tret = bit_wait__{b}(mode{am});
\t\t}}
\t}} while (test_bit_acquire({bref}) && !ret);
\tfinish_wait(&bit_wait_table, &wbq_entry.wq_entry);
\treturn ret;
}}

int __wait_on_bit_lock__{b}(unsigned mode, int io{pm})
{{
\tstruct wait_bit_queue_entry wbq_entry;
\tint ret = 0;

\tinit_wait(&wbq_entry.wq_entry);
\twbq_entry.wq_entry.func = wake_bit_function;
\twbq_entry.key_bit_nr = {key};
\tfor (;;) {{
\t\tprepare_to_wait_exclusive(&bit_wait_table, &wbq_entry.wq_entry, mode);
\t\tif (test_bit({bref})) {{
\t\t\tif (io)
\t\t\t\tret = bit_wait_io__{b}(mode{am});
\t\t\telse
\t\t\t\tret = bit_wait__{b}(mode{am});
\t\t\t/*
\t\t\t * See the comment in prepare_to_wait_event().
\t\t\t * finish_wait() does not necessarily takes wwq_head->lock,
\t\t\t * but test_and_set_bit() implies mb() which pairs with
\t\t\t * smp_mb__after_atomic() before wake_up_page().
\t\t\t */
\t\t\tif (ret)
\t\t\t\tfinish_wait(&bit_wait_table, &wbq_entry.wq_entry);
\t\t}}
\t\tif (!test_and_set_bit({bref})) {{
\t\t\tif (!ret)
\t\t\t\tfinish_wait(&bit_wait_table, &wbq_entry.wq_entry);
\t\t\treturn 0;
\t\t}} else if (ret) {{
\t\t\treturn ret;
\t\t}}
\t}}
}}

int wait_on_bit__{b}(unsigned mode{pm})
{{
\tif (!test_bit_acquire({bref}))
\t\treturn 0;
\treturn __wait_on_bit__{b}(mode, 0{am});
}}

int wait_on_bit_io__{b}(unsigned mode{pm})
{{
\tif (!test_bit_acquire({bref}))
\t\treturn 0;
\treturn __wait_on_bit__{b}(mode, 1{am});
}}

int wait_on_bit_lock__{b}(unsigned mode{pm})
{{
\tif (!test_and_set_bit({bref}))
\t\treturn 0;
\treturn __wait_on_bit_lock__{b}(mode, 0{am});
}}

int wait_on_bit_lock_io__{b}(unsigned mode{pm})
{{
\tif (!test_and_set_bit({bref}))
\t\treturn 0;
\treturn __wait_on_bit_lock__{b}(mode, 1{am});
}}

void wake_up_bit__{b}({pv})
{{
\tstruct wait_bit_key key;

\tkey.bit_nr = {key};
\tif (waitqueue_active(&bit_wait_table))
\t\t__wake_up(&bit_wait_table, TASK_NORMAL, 1, &key);
}}

void clear_and_wake_up_bit__{b}({pv})
{{
\tclear_bit_unlock({bref});
\t/* See wake_up_bit() for which memory barrier you need to use. */
\tsmp_mb__after_atomic();
\twake_up_bit__{b}({av});
}}
"
        );
    }
    out
}
