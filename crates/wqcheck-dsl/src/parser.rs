//! The hand-written recursive-descent parser: tokens to the [`ast`](crate::ast) tree.
//!
//! It owns the grammar of docs/dsl.md §3-§5 (C precedence and associativity) and syntax
//! error recovery: a bad statement is skipped up to its `;` (or the enclosing `}`), a bad
//! top-level item up to the next item, and a missing `;` is reported and assumed, so one
//! run reports several problems. It never loops without consuming input and bounds its
//! recursion: nesting deeper than [`MAX_DEPTH`] is an error, not a stack overflow.

use wqcheck_model::ir::{BinOp, Span};

use crate::ast::*;
use crate::diag::{Diagnostic, STOPPING};
use crate::lexer::{keyword_str, lex, punct_str, Kw, Tok, Token, P};

/// Deepest nesting of statements and expressions the parser accepts.
pub(crate) const MAX_DEPTH: usize = 200;
/// After this many syntax errors the parser stops.
const MAX_ERRORS: usize = 50;

type PResult<T> = Result<T, ()>;

/// Parses a whole model: `text` from byte `start` on (an included file sits in the
/// model's combined text, lib.rs). Syntax errors are appended to `diags`; the returned
/// items are what could be parsed.
pub(crate) fn parse(
    file: &str,
    text: &str,
    start: usize,
    diags: &mut Vec<Diagnostic>,
) -> Vec<Item> {
    let toks = lex(file, text, start, diags);
    let mut p = Parser {
        file,
        text,
        toks,
        pos: 0,
        prev_end: start,
        depth: 0,
        errors: 0,
        aborted: false,
        diags,
    };
    p.program()
}

struct Parser<'a> {
    file: &'a str,
    text: &'a str,
    toks: Vec<Token>,
    pos: usize,
    /// End of the last consumed token.
    prev_end: usize,
    depth: usize,
    errors: usize,
    aborted: bool,
    diags: &'a mut Vec<Diagnostic>,
}

fn binop_prec(t: Tok) -> Option<(BinOp, u8)> {
    let table = [
        (P::OrOr, BinOp::Or, 1),
        (P::AndAnd, BinOp::And, 2),
        (P::Pipe, BinOp::BitOr, 3),
        (P::Caret, BinOp::BitXor, 4),
        (P::Amp, BinOp::BitAnd, 5),
        (P::EqEq, BinOp::Eq, 6),
        (P::Ne, BinOp::Ne, 6),
        (P::Lt, BinOp::Lt, 7),
        (P::Le, BinOp::Le, 7),
        (P::Gt, BinOp::Gt, 7),
        (P::Ge, BinOp::Ge, 7),
        (P::Shl, BinOp::Shl, 8),
        (P::Shr, BinOp::Shr, 8),
        (P::Plus, BinOp::Add, 9),
        (P::Minus, BinOp::Sub, 9),
        (P::Star, BinOp::Mul, 10),
        (P::Slash, BinOp::Div, 10),
        (P::Percent, BinOp::Rem, 10),
    ];
    table
        .iter()
        .find(|(p, _, _)| Tok::P(*p) == t)
        .map(|(_, op, prec)| (*op, *prec))
}

fn assign_op(t: Tok) -> Option<Option<BinOp>> {
    let Tok::P(p) = t else { return None };
    Some(match p {
        P::Assign => None,
        P::PlusEq => Some(BinOp::Add),
        P::MinusEq => Some(BinOp::Sub),
        P::StarEq => Some(BinOp::Mul),
        P::SlashEq => Some(BinOp::Div),
        P::PercentEq => Some(BinOp::Rem),
        P::AmpEq => Some(BinOp::BitAnd),
        P::PipeEq => Some(BinOp::BitOr),
        P::CaretEq => Some(BinOp::BitXor),
        P::ShlEq => Some(BinOp::Shl),
        P::ShrEq => Some(BinOp::Shr),
        _ => return None,
    })
}

/// Base types before any `*`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Base {
    Void,
    Int,
    Bool,
    Entry,
    Task,
    WakeQ,
    /// A struct the model declares (the checker resolves the name at this span).
    Struct(Span),
}

impl<'a> Parser<'a> {
    // ---------------------------------------------------------------- token access

    fn tok_at(&self, n: usize) -> Token {
        self.toks
            .get(self.pos + n)
            .or_else(|| self.toks.last())
            .copied()
            .unwrap_or(Token {
                tok: Tok::Eof,
                span: Span::new(self.text.len(), self.text.len()),
            })
    }

    fn peek(&self) -> Tok {
        self.tok_at(0).tok
    }

    fn peek_span(&self) -> Span {
        self.tok_at(0).span
    }

    fn bump(&mut self) -> Token {
        let t = self.tok_at(0);
        if t.tok != Tok::Eof {
            self.pos += 1;
            self.prev_end = t.span.end as usize;
        }
        t
    }

    fn at(&self, p: P) -> bool {
        self.peek() == Tok::P(p)
    }

    fn at_kw(&self, k: Kw) -> bool {
        self.peek() == Tok::Kw(k)
    }

    fn eat(&mut self, p: P) -> bool {
        if self.at(p) {
            self.bump();
            true
        } else {
            false
        }
    }

    fn text_of(&self, span: Span) -> &'a str {
        self.text
            .get(span.start as usize..span.end as usize)
            .unwrap_or("")
    }

    fn describe(&self, t: Token) -> String {
        match t.tok {
            Tok::Eof => "end of file".to_string(),
            Tok::Ident => format!("`{}`", self.text_of(t.span)),
            Tok::Int(_) => format!("`{}`", self.text_of(t.span)),
            Tok::Kw(k) => format!("keyword `{}`", keyword_str(k)),
            Tok::P(p) => format!("`{}`", punct_str(p)),
            Tok::Include => "`#include`".to_string(),
        }
    }

    fn span_from(&self, start: Span) -> Span {
        Span::new(
            start.start as usize,
            self.prev_end.max(start.start as usize),
        )
    }

    // ---------------------------------------------------------------- errors

    fn error(&mut self, span: Span, msg: impl Into<String>, help: Option<String>) {
        if self.aborted {
            return;
        }
        self.errors += 1;
        self.diags
            .push(Diagnostic::new(self.file, span, msg).with_opt_help(help));
        if self.errors >= MAX_ERRORS {
            self.abort(span, &format!("too many syntax errors{STOPPING}"));
        }
    }

    fn abort(&mut self, span: Span, msg: &str) {
        if !self.aborted {
            self.diags.push(Diagnostic::new(self.file, span, msg));
            self.aborted = true;
        }
        self.pos = self.toks.len().saturating_sub(1);
    }

    /// `expected WHAT, found TOKEN` at the current token.
    fn expected<T>(&mut self, what: &str) -> PResult<T> {
        let t = self.tok_at(0);
        let found = self.describe(t);
        self.error(t.span, format!("expected {what}, found {found}"), None);
        Err(())
    }

    fn expect(&mut self, p: P, context: &str) -> PResult<Span> {
        if self.at(p) {
            Ok(self.bump().span)
        } else {
            let what = if context.is_empty() {
                format!("`{}`", punct_str(p))
            } else {
                format!("`{}` {context}", punct_str(p))
            };
            self.expected(&what)
        }
    }

    /// A `;` that ends something; if it is missing, report it right after the previous
    /// token and carry on as if it were there.
    fn expect_semi(&mut self, after: &str) {
        if self.eat(P::Semi) {
            return;
        }
        let t = self.tok_at(0);
        let found = self.describe(t);
        let at = Span::new(self.prev_end, self.prev_end);
        self.error(
            at,
            format!("expected `;` after {after}, found {found}"),
            Some("add `;` here".to_string()),
        );
    }

    fn ident(&mut self, what: &str) -> PResult<Ident> {
        if self.peek() == Tok::Ident {
            let t = self.bump();
            Ok(Ident {
                name: self.text_of(t.span).to_string(),
                span: t.span,
            })
        } else {
            if let Tok::Kw(k) = self.peek() {
                let span = self.peek_span();
                self.error(
                    span,
                    format!("expected {what}, found keyword `{}`", keyword_str(k)),
                    Some(format!(
                        "`{}` is a keyword and cannot be used as a name",
                        keyword_str(k)
                    )),
                );
                return Err(());
            }
            self.expected(what)
        }
    }

    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            self.depth -= 1;
            let span = self.peek_span();
            self.abort(
                span,
                &format!("nesting too deep (more than {MAX_DEPTH} levels); stopping here"),
            );
            return Err(());
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    // ---------------------------------------------------------------- recovery

    /// Skip to the end of the current statement: past the next `;` at this nesting level,
    /// or up to (not past) a `}` that closes the enclosing block.
    fn recover_stmt(&mut self) {
        let mut braces = 0usize;
        let mut parens = 0usize;
        loop {
            match self.peek() {
                Tok::Eof => return,
                Tok::P(P::Semi) if braces == 0 && parens == 0 => {
                    self.bump();
                    return;
                }
                Tok::P(P::LBrace) => braces += 1,
                Tok::P(P::RBrace) => {
                    if braces == 0 {
                        return;
                    }
                    braces -= 1;
                    if braces == 0 {
                        self.bump();
                        return;
                    }
                }
                Tok::P(P::LParen) => parens += 1,
                Tok::P(P::RParen) => parens = parens.saturating_sub(1),
                _ => {}
            }
            self.bump();
        }
    }

    /// Skip to the start of the next top-level item.
    fn recover_item(&mut self) {
        let mut depth = 0usize;
        loop {
            match self.peek() {
                Tok::Eof => return,
                Tok::P(P::Semi) if depth == 0 => {
                    self.bump();
                    return;
                }
                Tok::P(P::LBrace) => depth += 1,
                Tok::P(P::RBrace) => {
                    self.bump();
                    if depth <= 1 {
                        return;
                    }
                    depth -= 1;
                    continue;
                }
                _ => {}
            }
            self.bump();
        }
    }

    // ---------------------------------------------------------------- items

    fn program(&mut self) -> Vec<Item> {
        let mut items = Vec::new();
        while self.peek() != Tok::Eof {
            let before = self.pos;
            match self.item() {
                Ok(item) => items.push(item),
                Err(()) => self.recover_item(),
            }
            if self.pos == before {
                self.bump();
            }
        }
        items
    }

    fn starts_type(&self, n: usize) -> bool {
        let t = self.tok_at(n);
        match t.tok {
            Tok::Kw(
                Kw::Bit | Kw::Bool | Kw::Int | Kw::Unsigned | Kw::Long | Kw::Void | Kw::Struct,
            ) => true,
            Tok::Ident => self.text_of(t.span) == "wait_queue_entry_t",
            _ => false,
        }
    }

    fn item(&mut self) -> PResult<Item> {
        let start = self.peek_span();
        match self.peek() {
            Tok::Include => {
                self.bump();
                let line = self.text_of(start);
                // `#include <HEADER>`; a quoted name is read too, for its error.
                let name = line
                    .find(['<', '"'])
                    .and_then(|open| {
                        let close = if line.as_bytes()[open] == b'<' {
                            '>'
                        } else {
                            '"'
                        };
                        let rest = &line[open + 1..];
                        rest.find(close).map(|k| (open + 1, &rest[..k]))
                    })
                    .filter(|(_, n)| !n.trim().is_empty());
                let Some((at, name)) = name else {
                    self.error(
                        start,
                        "malformed `#include`".to_string(),
                        Some("write `#include <linux/completion.h>`".to_string()),
                    );
                    return Err(());
                };
                let from = start.start as usize + at;
                Ok(Item::Include {
                    header: Ident {
                        name: name.to_string(),
                        span: Span::new(from, from + name.len()),
                    },
                    quoted: line.as_bytes()[at - 1] == b'"',
                    span: start,
                })
            }
            Tok::Kw(Kw::Const) => {
                self.bump();
                let ty = self.full_type()?;
                let name = self.ident("a constant name")?;
                self.expect(P::Assign, "(a constant needs a value)")?;
                let value = self.expr()?;
                self.expect_semi("the constant declaration");
                Ok(Item::Const { ty, name, value })
            }
            Tok::Kw(Kw::Waitqueue) => {
                self.bump();
                let name = self.ident("a wait queue name")?;
                let len = self.array_len()?;
                let until = self.until()?;
                self.expect_semi("the wait queue declaration");
                Ok(Item::Queue {
                    name,
                    len,
                    until,
                    span: self.span_from(start),
                    spinlock: false,
                })
            }
            Tok::Kw(Kw::Futex) => {
                self.bump();
                let var = self.ident("the name of a shared variable")?;
                let until = self.until()?;
                self.expect_semi("the futex declaration");
                Ok(Item::Futex {
                    var,
                    until,
                    span: self.span_from(start),
                })
            }
            Tok::Kw(Kw::Int) if self.tok_at(1).tok == Tok::P(P::Lt) => {
                self.bump();
                self.bump();
                let min = self.binary(8)?;
                self.expect(P::DotDot, "in `int<MIN..MAX>`")?;
                let max = self.binary(8)?;
                self.expect(P::Gt, "to close `int<MIN..MAX>`")?;
                let name = self.ident("a variable name")?;
                self.shared_var_rest(start, SharedTy::Int { min, max }, name)
            }
            Tok::Kw(Kw::Bit | Kw::Bool) if self.tok_at(2).tok != Tok::P(P::LParen) => {
                self.bump();
                let name = self.ident("a variable name")?;
                self.shared_var_rest(start, SharedTy::Bit, name)
            }
            Tok::Kw(Kw::Struct)
                if self.tok_at(1).tok == Tok::Ident && self.tok_at(2).tok == Tok::P(P::LBrace) =>
            {
                self.bump();
                let name = self.ident("a struct name")?;
                self.expect(P::LBrace, "")?;
                let mut fields = Vec::new();
                let mut shared = Vec::new();
                while !self.at(P::RBrace) {
                    if self.starts_shared_field() {
                        shared.push(self.shared_field()?);
                        continue;
                    }
                    let ty = self.full_type_or_expected("a field type")?;
                    let field = self.ident("a field name")?;
                    self.expect_semi("the field");
                    fields.push((ty, field));
                }
                self.expect(P::RBrace, "to close the struct")?;
                self.expect_semi("the struct declaration");
                Ok(Item::Struct {
                    name,
                    fields,
                    shared,
                })
            }
            Tok::Kw(Kw::Final) => {
                self.bump();
                if !self.at_kw(Kw::Assert) {
                    return self.expected("`assert(...)` after `final`");
                }
                self.bump();
                let cond = self.paren_cond("final assert")?;
                self.expect_semi("`final assert(...)`");
                Ok(Item::Final { cond })
            }
            _ if self.starts_type(0) => {
                let ret = self.full_type()?;
                let name = self.ident("a name")?;
                if self.at(P::LParen) {
                    return self.function(start, ret, name);
                }
                if let TypeName::Struct(ty) = ret.ty {
                    return self.object(ty, name);
                }
                if self.at(P::LBracket)
                    && ret.ty == TypeName::Int
                    && self.text_of(start) == "unsigned"
                {
                    // `unsigned long flags[2] { PG_locked, ... };`: an array of words;
                    // `unsigned int seq[2] : 2;`: an array of bit-fields.
                    let len = self.array_len()?;
                    if self.at(P::LBrace) {
                        return self.word(start, name, len);
                    }
                    if self.eat(P::Colon) {
                        let bits = self.ternary()?;
                        return self.shared_var_tail(start, SharedTy::Unsigned { bits }, name, len);
                    }
                    self.error(
                        self.peek_span(),
                        "an array of shared integers needs a range or its bits".to_string(),
                        Some(format!(
                            "write `int<MIN..MAX> {0}[N];`, `unsigned int {0}[N] : BITS;` or `unsigned long {0}[N] {{ BIT, ... }};`",
                            name.name
                        )),
                    );
                    return Err(());
                }
                if self.at(P::LBrace) && ret.ty == TypeName::Int {
                    return self.word(start, name, None);
                }
                if ret.ty == TypeName::Int && self.at(P::Colon) {
                    // `unsigned int seq : 2;`: an unsigned bit-field, which wraps.
                    let colon = self.peek_span();
                    self.bump();
                    let bits = self.ternary()?;
                    if self.text_of(start) != "unsigned" {
                        self.error(
                            colon.to(bits.span),
                            "a wrapping bit-field is unsigned".to_string(),
                            Some(format!(
                                "write `unsigned int {} : BITS` (a signed bit-field's overflow is not defined)",
                                name.name
                            )),
                        );
                        return Err(());
                    }
                    return self.shared_var_rest(start, SharedTy::Unsigned { bits }, name);
                }
                if ret.ty == TypeName::Int {
                    // `int x;` at top level: the checker explains that a range is needed.
                    return self.shared_var_rest(start, SharedTy::Unbounded, name);
                }
                if ret.ty == TypeName::Task {
                    return self.shared_var_rest(start, SharedTy::Task, name);
                }
                // The type as written (`struct completion *`), whitespace aside.
                let written = self
                    .text_of(ret.span)
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ");
                let help = if matches!(ret.ty, TypeName::StructPtr(_)) {
                    "shared state holds no pointer but a task's: a pointer to a shared object \
                     is a local or a parameter (`struct completion *x = &done;`), and a choice \
                     among objects an index into an array of them (`objs[i]`)"
                } else {
                    "shared variables are `bit`, `bool`, `int<MIN..MAX>` or `struct task_struct *`; \
                     wait entries are locals of a function"
                };
                self.error(
                    ret.span,
                    format!("a shared variable cannot have type `{written}`"),
                    Some(help.to_string()),
                );
                Err(())
            }
            Tok::Ident if is_spinlock_type(self.text_of(start)) => self.spinlock(start),
            Tok::Ident
                if matches!(
                    self.text_of(start),
                    "DEFINE_SPINLOCK" | "DEFINE_RAW_SPINLOCK"
                ) && self.tok_at(1).tok == Tok::P(P::LParen) =>
            {
                // `DEFINE_SPINLOCK(name);`: include/linux/spinlock_types.h's static
                // definition of an unlocked `spinlock_t`.
                self.bump();
                self.bump();
                let name = self.ident("the name of the spinlock to define")?;
                self.expect(P::RParen, "to close `DEFINE_SPINLOCK(...)`")?;
                self.expect_semi("`DEFINE_SPINLOCK(...)`");
                Ok(Item::Queue {
                    name,
                    len: None,
                    until: None,
                    span: self.span_from(start),
                    spinlock: true,
                })
            }
            Tok::Ident if self.tok_at(1).tok == Tok::Ident => {
                let t = self.tok_at(0);
                let name = self.text_of(t.span).to_string();
                self.error(t.span, format!("unknown type `{name}`"), type_help(&name));
                Err(())
            }
            _ => self.expected(
                "a declaration (`bit`, `bool`, `int<MIN..MAX>`, `unsigned long NAME { ... }`, \
                 `const`, `waitqueue`, `futex`, `final assert` or a function)",
            ),
        }
    }

    /// Whether a struct's next field is declared as shared state is: `int<..>`,
    /// `waitqueue`, `wait_queue_head_t`, `bool NAME = v`, `unsigned long NAME { ... }`,
    /// `unsigned int NAME : BITS`.
    fn starts_shared_field(&self) -> bool {
        match self.peek() {
            Tok::Kw(Kw::Int) => self.tok_at(1).tok == Tok::P(P::Lt),
            Tok::Kw(Kw::Waitqueue) => true,
            // `bool f = false;`: a shared bit with its initial value (`bool f;` is read
            // as a local's field; in a shared object it becomes a shared bit too).
            Tok::Kw(Kw::Bit | Kw::Bool) => self.tok_at(2).tok == Tok::P(P::Assign),
            Tok::Ident => {
                let ty = self.text_of(self.peek_span());
                ty == "wait_queue_head_t" || is_spinlock_type(ty)
            }
            Tok::Kw(Kw::Unsigned | Kw::Long) => {
                let mut n = 1;
                while matches!(
                    self.tok_at(n).tok,
                    Tok::Kw(Kw::Int | Kw::Long | Kw::Unsigned)
                ) {
                    n += 1;
                }
                self.tok_at(n).tok == Tok::Ident
                    && matches!(self.tok_at(n + 1).tok, Tok::P(P::LBrace | P::Colon))
            }
            _ => false,
        }
    }

    /// A shared field of a struct (see [`Self::starts_shared_field`]).
    fn shared_field(&mut self) -> PResult<Item> {
        let start = self.peek_span();
        if self.peek() == Tok::Ident && is_spinlock_type(self.text_of(start)) {
            return self.spinlock(start);
        }
        if self.peek() == Tok::Ident {
            // `wait_queue_head_t wait;`, as include/linux/completion.h writes it.
            self.bump();
            let name = self.ident("a wait queue name")?;
            let until = self.until()?;
            self.expect_semi("the wait queue field");
            return Ok(Item::Queue {
                name,
                len: None,
                until,
                span: self.span_from(start),
                spinlock: false,
            });
        }
        self.item()
    }

    /// `spinlock_t NAME;`, `raw_spinlock_t NAME[LEN];`, at top level or in a struct: a
    /// lock alone. A condition is refused: nothing sleeps on a spinlock.
    fn spinlock(&mut self, start: Span) -> PResult<Item> {
        self.bump();
        let name = self.ident("a spinlock name")?;
        let len = self.array_len()?;
        if self.at_kw(Kw::Until) {
            let span = self.peek_span();
            self.error(
                span,
                "a spinlock has no wake condition".to_string(),
                Some("nothing sleeps on a `spinlock_t`: declare `waitqueue NAME until CONDITION;` for the sleepers, and take the spinlock around what they test".to_string()),
            );
            return Err(());
        }
        self.expect_semi("the spinlock declaration");
        Ok(Item::Queue {
            name,
            len,
            until: None,
            span: self.span_from(start),
            spinlock: true,
        })
    }

    /// `struct NAME obj;` or `struct NAME objs[LEN];` after the name: shared objects.
    fn object(&mut self, ty: Span, name: Ident) -> PResult<Item> {
        let len = self.array_len()?;
        if self.at(P::Assign) {
            let span = self.peek_span();
            self.error(
                span,
                "a shared object is declared without an initializer".to_string(),
                Some("give the struct's fields their initial values (`int<0..2> done = 0;`), or set them per scenario (`init: { \"obj.done\": 1 }`)".to_string()),
            );
            return Err(());
        }
        self.expect_semi("the object declaration");
        Ok(Item::Object {
            ty: Ident {
                name: self.text_of(ty).to_string(),
                span: ty,
            },
            name,
            len,
        })
    }

    fn until(&mut self) -> PResult<Option<Expr>> {
        if self.at_kw(Kw::Until) {
            self.bump();
            Ok(Some(self.expr()?))
        } else {
            Ok(None)
        }
    }

    /// `[LEN]` after a declared name, if there is one.
    fn array_len(&mut self) -> PResult<Option<Expr>> {
        if !self.eat(P::LBracket) {
            return Ok(None);
        }
        let len = self.ternary()?;
        self.expect(P::RBracket, "to close the array's length")?;
        Ok(Some(len))
    }

    /// `unsigned long NAME[LEN] { BIT [= v], ... };` after the name (and its length).
    fn word(&mut self, start: Span, name: Ident, len: Option<Expr>) -> PResult<Item> {
        self.expect(P::LBrace, "")?;
        let mut bits = Vec::new();
        while !self.at(P::RBrace) {
            let bit = self.ident("a bit name")?;
            let init = if self.eat(P::Assign) {
                Some(self.binary(8)?)
            } else {
                None
            };
            bits.push((bit, init));
            if !self.eat(P::Comma) {
                break;
            }
        }
        self.expect(P::RBrace, "to close the word's bits")?;
        self.expect_semi("the word declaration");
        Ok(Item::Var {
            ty: SharedTy::Word { bits },
            name,
            len,
            init: None,
            span: self.span_from(start),
        })
    }

    fn shared_var_rest(&mut self, start: Span, ty: SharedTy, name: Ident) -> PResult<Item> {
        let len = self.array_len()?;
        self.shared_var_tail(start, ty, name, len)
    }

    /// A shared variable's initializer and `;`, after its name and length.
    fn shared_var_tail(
        &mut self,
        start: Span,
        ty: SharedTy,
        name: Ident,
        len: Option<Expr>,
    ) -> PResult<Item> {
        let init = if !self.eat(P::Assign) {
            None
        } else if self.at(P::LBrace) {
            let open = self.peek_span();
            self.bump();
            let mut elems = Vec::new();
            while !self.at(P::RBrace) {
                elems.push(self.ternary()?);
                if !self.eat(P::Comma) {
                    break;
                }
            }
            self.expect(P::RBrace, "to close the initializer list")?;
            Some(Init::List(elems, self.span_from(open)))
        } else {
            Some(Init::Value(self.expr()?))
        };
        self.expect_semi("the variable declaration");
        Ok(Item::Var {
            ty,
            name,
            len,
            init,
            span: self.span_from(start),
        })
    }

    fn function(&mut self, start: Span, ret: TypeAst, name: Ident) -> PResult<Item> {
        self.expect(P::LParen, "")?;
        let mut params = Vec::new();
        if self.at_kw(Kw::Void) && self.tok_at(1).tok == Tok::P(P::RParen) {
            self.bump();
        }
        if !self.at(P::RParen) {
            loop {
                let ty = self.full_type_or_expected("a parameter type")?;
                if self.peek() != Tok::Ident {
                    let span = self.peek_span();
                    self.error(
                        span,
                        "expected a parameter name".to_string(),
                        Some("every parameter needs a name, e.g. `int mode`".to_string()),
                    );
                    return Err(());
                }
                let pname = self.ident("a parameter name")?;
                params.push(Param { ty, name: pname });
                if !self.eat(P::Comma) {
                    break;
                }
            }
        }
        self.expect(P::RParen, "to close the parameter list")?;
        if !self.at(P::LBrace) {
            let help = if self.at(P::Semi) {
                Some("function prototypes are not needed: functions may be used before they are defined".to_string())
            } else {
                None
            };
            let t = self.tok_at(0);
            let found = self.describe(t);
            self.error(
                t.span,
                format!(
                    "expected `{{` to start the body of `{}`, found {found}",
                    name.name
                ),
                help,
            );
            return Err(());
        }
        let body = self.block_body()?;
        Ok(Item::Func(Func {
            ret,
            name,
            params,
            body,
            span: self.span_from(start),
        }))
    }

    // ---------------------------------------------------------------- types

    fn full_type_or_expected(&mut self, what: &str) -> PResult<TypeAst> {
        if self.starts_type(0) {
            self.full_type()
        } else if self.peek() == Tok::Ident {
            let t = self.tok_at(0);
            let name = self.text_of(t.span).to_string();
            self.error(t.span, format!("unknown type `{name}`"), type_help(&name));
            Err(())
        } else {
            self.expected(what)
        }
    }

    fn base_type(&mut self) -> PResult<(Base, Span)> {
        let start = self.peek_span();
        let base = match self.peek() {
            Tok::Kw(Kw::Void) => {
                self.bump();
                Base::Void
            }
            Tok::Kw(Kw::Bool | Kw::Bit) => {
                self.bump();
                Base::Bool
            }
            Tok::Kw(Kw::Int) => {
                self.bump();
                Base::Int
            }
            Tok::Kw(Kw::Unsigned | Kw::Long) => {
                self.bump();
                // `unsigned`, `unsigned int`, `unsigned long`, `long`, `long int`,
                // `unsigned long long`, ...
                while matches!(self.peek(), Tok::Kw(Kw::Int | Kw::Long | Kw::Unsigned)) {
                    self.bump();
                }
                Base::Int
            }
            Tok::Kw(Kw::Struct) => {
                self.bump();
                let name = self.ident("a struct name")?;
                match name.name.as_str() {
                    "task_struct" => Base::Task,
                    "wait_queue_entry" => Base::Entry,
                    "wake_q_head" => Base::WakeQ,
                    _ => Base::Struct(name.span),
                }
            }
            Tok::Ident if self.text_of(self.peek_span()) == "wait_queue_entry_t" => {
                self.bump();
                Base::Entry
            }
            _ => return self.expected("a type"),
        };
        Ok((base, self.span_from(start)))
    }

    /// Applies the `*`s that follow (none or one) to a base type.
    fn pointerize(&mut self, base: Base, start: Span) -> PResult<TypeAst> {
        let mut stars = 0;
        while self.at(P::Star) {
            self.bump();
            stars += 1;
        }
        let span = self.span_from(start);
        let ty = match (base, stars) {
            (Base::Void, 0) => TypeName::Void,
            (Base::Void, 1) => TypeName::VoidPtr,
            (Base::Int, 0) => TypeName::Int,
            (Base::Bool, 0) => TypeName::Bool,
            (Base::Entry, 0) => TypeName::Entry,
            (Base::Entry, 1) => TypeName::EntryPtr,
            (Base::Task, 1) => TypeName::Task,
            (Base::WakeQ, 1) => TypeName::WakeQPtr,
            (Base::Struct(name), 0) => TypeName::Struct(name),
            (Base::Struct(name), 1) => TypeName::StructPtr(name),
            (Base::WakeQ, 0) => {
                self.error(
                    span,
                    "a wake_q head is declared with `DEFINE_WAKE_Q(name);`".to_string(),
                    Some("write `DEFINE_WAKE_Q(wake_q);` and pass `&wake_q`; a parameter is `struct wake_q_head *wake_q`".to_string()),
                );
                return Err(());
            }
            (Base::Task, 0) => {
                self.error(
                    span,
                    "a task is always used through a pointer".to_string(),
                    Some("write `struct task_struct *`".to_string()),
                );
                return Err(());
            }
            _ => {
                self.error(
                    span,
                    "this pointer type is not supported".to_string(),
                    Some(
                        "pointers are `wait_queue_entry_t *`, `struct task_struct *` and `void *`"
                            .to_string(),
                    ),
                );
                return Err(());
            }
        };
        Ok(TypeAst { ty, span })
    }

    fn full_type(&mut self) -> PResult<TypeAst> {
        let (base, span) = self.base_type()?;
        self.pointerize(base, span)
    }

    // ---------------------------------------------------------------- statements

    /// `{ stmts }`; the current token is `{`.
    fn block_body(&mut self) -> PResult<Vec<Stmt>> {
        let open = self.expect(P::LBrace, "")?;
        let mut stmts = Vec::new();
        loop {
            match self.peek() {
                Tok::P(P::RBrace) => {
                    self.bump();
                    return Ok(stmts);
                }
                Tok::Eof => {
                    if !self.aborted {
                        let span = self.peek_span();
                        self.error(
                            span,
                            "unexpected end of file: this block is not closed".to_string(),
                            Some(format!(
                                "the `{{` at line {} needs a matching `}}`",
                                crate::diag::line_col(self.text, open.start as usize).0
                            )),
                        );
                    }
                    return Err(());
                }
                _ => {}
            }
            let before = self.pos;
            match self.stmt() {
                Ok(s) => stmts.push(s),
                Err(()) => self.recover_stmt(),
            }
            if self.pos == before {
                self.bump();
            }
        }
    }

    /// The statement of an `if`, `else`, `while`, `do` or `for`. In C a labeled statement
    /// `L: S` is one statement, so a label there takes the statement after it along:
    /// `if (c) L: x = 1;` assigns only when `c` holds.
    fn sub_stmt(&mut self) -> PResult<Stmt> {
        let s = self.stmt()?;
        if !matches!(s.kind, StmtKind::Label(_)) || self.peek() == Tok::P(P::RBrace) {
            return Ok(s);
        }
        let next = self.sub_stmt()?;
        let span = s.span.to(next.span);
        Ok(Stmt {
            kind: StmtKind::Block(vec![s, next]),
            span,
        })
    }

    fn stmt(&mut self) -> PResult<Stmt> {
        self.enter()?;
        let r = self.stmt_inner();
        self.leave();
        r
    }

    fn stmt_inner(&mut self) -> PResult<Stmt> {
        let start = self.peek_span();
        let kind = match self.peek() {
            Tok::P(P::LBrace) => StmtKind::Block(self.block_body()?),
            Tok::P(P::Semi) => {
                self.bump();
                StmtKind::Empty
            }
            Tok::Kw(Kw::If) => {
                self.bump();
                let cond = self.paren_cond("if")?;
                let then_branch = Box::new(self.sub_stmt()?);
                let else_branch = if self.at_kw(Kw::Else) {
                    self.bump();
                    Some(Box::new(self.sub_stmt()?))
                } else {
                    None
                };
                StmtKind::If {
                    cond,
                    then_branch,
                    else_branch,
                }
            }
            Tok::Kw(Kw::While) => {
                self.bump();
                let cond = self.paren_cond("while")?;
                let body = Box::new(self.sub_stmt()?);
                StmtKind::While { cond, body }
            }
            Tok::Kw(Kw::Do) => {
                self.bump();
                let body = Box::new(self.sub_stmt()?);
                if !self.at_kw(Kw::While) {
                    return self.expected("`while` after the body of `do`");
                }
                self.bump();
                let cond = self.paren_cond("do ... while")?;
                self.expect_semi("`do ... while (...)`");
                StmtKind::DoWhile { body, cond }
            }
            Tok::Kw(Kw::For) => {
                self.bump();
                self.expect(P::LParen, "after `for`")?;
                let init = if self.at(P::Semi) {
                    self.bump();
                    None
                } else if self.starts_type(0) {
                    Some(Box::new(self.decl()?))
                } else {
                    let s = self.peek_span();
                    let e = self.expr()?;
                    self.expect(P::Semi, "after the `for` initializer")?;
                    Some(Box::new(Stmt {
                        span: self.span_from(s),
                        kind: StmtKind::Expr(e),
                    }))
                };
                let cond = if self.at(P::Semi) {
                    None
                } else {
                    Some(self.expr()?)
                };
                self.expect(P::Semi, "after the `for` condition")?;
                let step = if self.at(P::RParen) {
                    None
                } else {
                    Some(self.expr()?)
                };
                self.expect(P::RParen, "to close `for (...)`")?;
                let body = Box::new(self.sub_stmt()?);
                StmtKind::For {
                    init,
                    cond,
                    step,
                    body,
                }
            }
            Tok::Kw(Kw::Break) => {
                self.bump();
                self.expect_semi("`break`");
                StmtKind::Break
            }
            Tok::Kw(Kw::Continue) => {
                self.bump();
                self.expect_semi("`continue`");
                StmtKind::Continue
            }
            Tok::Kw(Kw::Return) => {
                self.bump();
                let value = if self.at(P::Semi) || self.at(P::RBrace) {
                    None
                } else {
                    Some(self.expr()?)
                };
                self.expect_semi("`return`");
                StmtKind::Return(value)
            }
            Tok::Kw(Kw::Goto) => {
                self.bump();
                let label = self.ident("a label name after `goto`")?;
                self.expect_semi("`goto`");
                StmtKind::Goto(label)
            }
            Tok::Kw(Kw::Atomic) => {
                self.bump();
                if !self.at(P::LBrace) {
                    return self.expected("`{` after `atomic`");
                }
                StmtKind::Atomic(self.block_body()?)
            }
            Tok::Kw(Kw::Assert) => {
                self.bump();
                let cond = self.paren_cond("assert")?;
                self.expect_semi("`assert(...)`");
                StmtKind::Assert(cond)
            }
            Tok::Kw(Kw::Else) => {
                self.bump();
                self.error(
                    start,
                    "`else` without a matching `if`".to_string(),
                    Some("check the braces of the `if` before it".to_string()),
                );
                return Err(());
            }
            Tok::Ident if self.tok_at(1).tok == Tok::P(P::Colon) => {
                let label = self.ident("a label")?;
                self.bump();
                StmtKind::Label(label)
            }
            // `DEFINE_WAIT(name);` and `DEFINE_WAKE_Q(name);`: the kernel's macros that
            // declare a local wait entry or wake_q head, parsed as declarations.
            Tok::Ident
                if matches!(self.text_of(start), "DEFINE_WAIT" | "DEFINE_WAKE_Q")
                    && self.tok_at(1).tok == Tok::P(P::LParen) =>
            {
                let wait = self.text_of(start) == "DEFINE_WAIT";
                let (what, macro_call) = if wait {
                    ("the name of the wait entry to define", "`DEFINE_WAIT(...)`")
                } else {
                    (
                        "the name of the wake_q head to define",
                        "`DEFINE_WAKE_Q(...)`",
                    )
                };
                self.bump();
                self.bump();
                let name = self.ident(what)?;
                self.expect(P::RParen, &format!("to close {macro_call}"))?;
                self.expect_semi(macro_call);
                if wait {
                    StmtKind::DefineWait(name)
                } else {
                    StmtKind::DefineWakeQ(name)
                }
            }
            _ if self.starts_type(0) => return self.decl(),
            Tok::Ident if self.tok_at(1).tok == Tok::Ident => {
                let name = self.text_of(start).to_string();
                let what = if is_spinlock_type(&name) {
                    format!("a `{name}` cannot be a local")
                } else {
                    format!("unknown type `{name}`")
                };
                self.error(start, what, type_help(&name));
                return Err(());
            }
            Tok::Kw(Kw::Const) => {
                self.error(
                    start,
                    "`const` locals are not supported".to_string(),
                    Some(
                        "declare the constant at top level: `const int NAME = VALUE;`".to_string(),
                    ),
                );
                return Err(());
            }
            _ => {
                let e = self.expr()?;
                if self.at_kw(Kw::Until) {
                    self.bump();
                    let until = self.expr()?;
                    self.expect_semi("the sleep's `until` condition");
                    StmtKind::SleepUntil { call: e, until }
                } else {
                    self.expect_semi("the expression");
                    StmtKind::Expr(e)
                }
            }
        };
        Ok(Stmt {
            kind,
            span: self.span_from(start),
        })
    }

    /// `TYPE a [= e], *b, ...;`
    fn decl(&mut self) -> PResult<Stmt> {
        let start = self.peek_span();
        let (base, bspan) = self.base_type()?;
        let mut vars = Vec::new();
        let mut first_ty = None;
        loop {
            let ty = self.pointerize(base, bspan)?;
            // Each declarator may have its own `*`; the AST keeps one type per
            // declaration, so all declarators must agree.
            match first_ty {
                None => first_ty = Some(ty),
                Some(f) if f.ty != ty.ty => {
                    self.error(
                        ty.span,
                        "declarators of different types in one declaration".to_string(),
                        Some("declare them in separate statements".to_string()),
                    );
                    return Err(());
                }
                Some(_) => {}
            }
            let name = self.ident("a variable name")?;
            let init = if self.eat(P::Assign) {
                Some(self.assign()?)
            } else {
                None
            };
            vars.push((name, init));
            if !self.eat(P::Comma) {
                break;
            }
        }
        self.expect_semi("the declaration");
        let ty = first_ty.unwrap_or(TypeAst {
            ty: TypeName::Int,
            span: bspan,
        });
        Ok(Stmt {
            kind: StmtKind::Decl { ty, vars },
            span: self.span_from(start),
        })
    }

    fn paren_cond(&mut self, what: &str) -> PResult<Expr> {
        self.expect(P::LParen, &format!("after `{what}`"))?;
        let e = self.expr()?;
        self.expect(P::RParen, &format!("to close the condition of `{what}`"))?;
        Ok(e)
    }

    // ---------------------------------------------------------------- expressions

    pub(crate) fn expr(&mut self) -> PResult<Expr> {
        self.assign()
    }

    fn assign(&mut self) -> PResult<Expr> {
        let lhs = self.ternary()?;
        if let Some(op) = assign_op(self.peek()) {
            self.bump();
            self.enter()?;
            let rhs = self.assign();
            self.leave();
            let rhs = rhs?;
            let span = lhs.span.to(rhs.span);
            return Ok(Expr {
                kind: ExprKind::Assign {
                    op,
                    lhs: Box::new(lhs),
                    rhs: Box::new(rhs),
                },
                span,
            });
        }
        Ok(lhs)
    }

    fn ternary(&mut self) -> PResult<Expr> {
        let cond = self.binary(1)?;
        if !self.eat(P::Question) {
            return Ok(cond);
        }
        self.enter()?;
        let r = (|| {
            let a = self.expr()?;
            self.expect(P::Colon, "in `?:`")?;
            let b = self.ternary()?;
            Ok((a, b))
        })();
        self.leave();
        let (a, b) = r?;
        let span = cond.span.to(b.span);
        Ok(Expr {
            kind: ExprKind::Ternary(Box::new(cond), Box::new(a), Box::new(b)),
            span,
        })
    }

    /// Precedence climbing over the left-associative binary operators with precedence
    /// at least `min`. Each operator applied counts as one nesting level (the tree
    /// grows one deeper), so long chains are bounded too.
    fn binary(&mut self, min: u8) -> PResult<Expr> {
        let mut lhs = self.unary()?;
        let mut levels = 0;
        let r = loop {
            let Some((op, prec)) = binop_prec(self.peek()) else {
                break Ok(lhs);
            };
            if prec < min {
                break Ok(lhs);
            }
            if let Err(()) = self.enter() {
                break Err(());
            }
            levels += 1;
            self.bump();
            let rhs = match self.binary(prec + 1) {
                Ok(r) => r,
                Err(()) => break Err(()),
            };
            let span = lhs.span.to(rhs.span);
            lhs = Expr {
                kind: ExprKind::Binary(op, Box::new(lhs), Box::new(rhs)),
                span,
            };
        };
        for _ in 0..levels {
            self.leave();
        }
        r
    }

    /// Prefix operators recurse; each one counts as a nesting level.
    fn unary_nested(&mut self) -> PResult<Expr> {
        self.enter()?;
        let r = self.unary();
        self.leave();
        r
    }

    fn unary(&mut self) -> PResult<Expr> {
        let start = self.peek_span();
        let op = match self.peek() {
            Tok::P(P::Bang) => Some(UnaryOp::Not),
            Tok::P(P::Tilde) => Some(UnaryOp::BitNot),
            Tok::P(P::Minus) => Some(UnaryOp::Neg),
            Tok::P(P::Amp) => Some(UnaryOp::AddrOf),
            Tok::P(P::Star) => Some(UnaryOp::Deref),
            _ => None,
        };
        if let Some(op) = op {
            self.bump();
            let e = self.unary_nested()?;
            let span = start.to(e.span);
            return Ok(Expr {
                kind: ExprKind::Unary(op, Box::new(e)),
                span,
            });
        }
        if self.at(P::PlusPlus) || self.at(P::MinusMinus) {
            let inc = self.at(P::PlusPlus);
            self.bump();
            let e = self.unary_nested()?;
            let span = start.to(e.span);
            return Ok(Expr {
                kind: ExprKind::IncDec {
                    inc,
                    post: false,
                    operand: Box::new(e),
                },
                span,
            });
        }
        if self.at(P::LParen) && self.starts_type(1) {
            // A cast: report it, then parse as if it were not there.
            self.bump();
            let _ = self.full_type();
            self.expect(P::RParen, "to close the cast")?;
            self.error(
                self.span_from(start),
                "casts are not supported".to_string(),
                Some("remove the cast: all values are 32-bit integers".to_string()),
            );
            return self.unary_nested();
        }
        self.postfix()
    }

    fn postfix(&mut self) -> PResult<Expr> {
        let mut e = self.primary()?;
        let mut levels = 0;
        let r = loop {
            let start = e.span;
            let t = self.peek();
            if !matches!(
                t,
                Tok::P(P::LParen | P::Arrow | P::Dot | P::PlusPlus | P::MinusMinus | P::LBracket)
            ) {
                break Ok(e);
            }
            if let Err(()) = self.enter() {
                break Err(());
            }
            levels += 1;
            match t {
                Tok::P(P::LParen) => {
                    let ExprKind::Ident(name) = &e.kind else {
                        let span = self.peek_span();
                        self.error(
                            span,
                            "only named functions can be called".to_string(),
                            Some(
                                "to call an entry's wake function, let the wake walk do it \
                                 (`__wake_up`)"
                                    .to_string(),
                            ),
                        );
                        break Err(());
                    };
                    let name = Ident {
                        name: name.clone(),
                        span: e.span,
                    };
                    self.bump();
                    if name.name == "container_of" || name.name == "list_first_entry" {
                        match self.container_of(&name.name) {
                            Ok(kind) => {
                                e = Expr {
                                    kind,
                                    span: self.span_from(start),
                                };
                                continue;
                            }
                            Err(()) => break Err(()),
                        }
                    }
                    let args = match self.call_args() {
                        Ok(a) => a,
                        Err(()) => break Err(()),
                    };
                    e = Expr {
                        kind: ExprKind::Call { name, args },
                        span: self.span_from(start),
                    };
                }
                Tok::P(P::Arrow | P::Dot) => {
                    let arrow = t == Tok::P(P::Arrow);
                    self.bump();
                    let field = match self.ident("a field name") {
                        Ok(f) => f,
                        Err(()) => break Err(()),
                    };
                    e = Expr {
                        kind: ExprKind::Member {
                            base: Box::new(e),
                            field,
                            arrow,
                        },
                        span: self.span_from(start),
                    };
                }
                Tok::P(P::PlusPlus | P::MinusMinus) => {
                    let inc = t == Tok::P(P::PlusPlus);
                    self.bump();
                    e = Expr {
                        kind: ExprKind::IncDec {
                            inc,
                            post: true,
                            operand: Box::new(e),
                        },
                        span: self.span_from(start),
                    };
                }
                _ => {
                    self.bump();
                    let index = match self.expr() {
                        Ok(i) => i,
                        Err(()) => break Err(()),
                    };
                    if let Err(()) = self.expect(P::RBracket, "to close the index") {
                        break Err(());
                    }
                    e = Expr {
                        kind: ExprKind::Index {
                            base: Box::new(e),
                            index: Box::new(index),
                        },
                        span: self.span_from(start),
                    };
                }
            }
        };
        for _ in 0..levels {
            self.leave();
        }
        r
    }

    /// `container_of(ptr, struct NAME, member)` after its `(`: the second argument is a
    /// type.
    /// `list_first_entry(head, struct NAME, member)` is read the same way.
    fn container_of(&mut self, name: &str) -> PResult<ExprKind> {
        let list_first = name == "list_first_entry";
        let what = if list_first { "list head" } else { "pointer" };
        let ptr = self.assign()?;
        self.expect(P::Comma, &format!("after the {what} of `{name}`"))?;
        let ty = self.full_type_or_expected("the struct type, `struct NAME`")?;
        self.expect(P::Comma, &format!("after the type of `{name}`"))?;
        let member = self.ident("the member that is the wait entry")?;
        self.expect(P::RParen, &format!("to close `{name}(`"))?;
        Ok(ExprKind::ContainerOf {
            ptr: Box::new(ptr),
            ty,
            member,
            list_first,
        })
    }

    fn call_args(&mut self) -> PResult<Vec<Expr>> {
        let mut args = Vec::new();
        if self.eat(P::RParen) {
            return Ok(args);
        }
        loop {
            args.push(self.assign()?);
            if self.eat(P::Comma) {
                continue;
            }
            if self.eat(P::RParen) {
                return Ok(args);
            }
            return self.expected("`,` or `)` in the argument list");
        }
    }

    fn primary(&mut self) -> PResult<Expr> {
        let t = self.tok_at(0);
        let kind = match t.tok {
            Tok::Int(v) => ExprKind::Int(v),
            Tok::Ident => ExprKind::Ident(self.text_of(t.span).to_string()),
            Tok::Kw(Kw::True) => ExprKind::True,
            Tok::Kw(Kw::False) => ExprKind::False,
            Tok::Kw(Kw::Null) => ExprKind::Null,
            Tok::Kw(Kw::Current) => ExprKind::Current,
            Tok::P(P::LParen) => {
                self.bump();
                self.enter()?;
                let inner = self.expr();
                self.leave();
                let inner = inner?;
                self.expect(P::RParen, "to close `(`")?;
                return Ok(Expr {
                    kind: inner.kind,
                    span: self.span_from(t.span),
                });
            }
            Tok::Kw(Kw::Assert) => {
                self.error(
                    t.span,
                    "`assert` is a statement, not an expression".to_string(),
                    Some("write `assert(EXPR);` on its own".to_string()),
                );
                return Err(());
            }
            _ => return self.expected("an expression"),
        };
        self.bump();
        Ok(Expr { kind, span: t.span })
    }
}

/// `spinlock_t` and `raw_spinlock_t`: the same lock in a model (the difference, sleeping
/// on PREEMPT_RT, is not modelled).
fn is_spinlock_type(name: &str) -> bool {
    matches!(name, "spinlock_t" | "raw_spinlock_t")
}

/// What a top-level declaration may start with besides a type: a misspelt one is an
/// "unknown type" to the parser.
const TOP_LEVEL_KEYWORDS: &[&str] = &[
    "waitqueue",
    "futex",
    "bit",
    "const",
    "final",
    "spinlock_t",
    "raw_spinlock_t",
];

fn type_help(name: &str) -> Option<String> {
    match name {
        "wait_queue_t" => {
            Some("write `wait_queue_entry_t` (Linux 4.13 renamed `wait_queue_t`)".to_string())
        }
        "wait_queue_head_t" => {
            Some("declare wait queues at top level: `waitqueue NAME until CONDITION;`".to_string())
        }
        "atomic_t" => Some("declare a shared `int<MIN..MAX> NAME;` at top level".to_string()),
        "spinlock_t" | "raw_spinlock_t" => Some(format!(
            "a spinlock is shared state: declare `{name} NAME;` at top level or as a field of a shared object, and take it with `spin_lock(&NAME)`"
        )),
        "struct completion" | "completion" => Some(
            "completions are in the prelude: `#include <linux/completion.h>`, then `struct completion done;`".to_string(),
        ),
        _ if crate::diag::did_you_mean(name, TOP_LEVEL_KEYWORDS.iter().copied()).is_some() => {
            crate::diag::suggest(name, TOP_LEVEL_KEYWORDS.iter().copied())
        }
        _ => Some(
            "types are `int`, `unsigned`, `long`, `bool`, `void`, `wait_queue_entry_t`, \
             `wait_queue_entry_t *`, `struct task_struct *` and `void *`"
                .to_string(),
        ),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn parse_ok(src: &str) -> Vec<Item> {
        let mut d = Vec::new();
        let items = parse("t.wq", src, 0, &mut d);
        assert!(d.is_empty(), "unexpected diagnostics: {d:?}");
        items
    }

    /// Renders an expression fully parenthesized.
    fn show(e: &Expr) -> String {
        match &e.kind {
            ExprKind::Int(v) => v.to_string(),
            ExprKind::Ident(n) => n.clone(),
            ExprKind::True => "true".into(),
            ExprKind::False => "false".into(),
            ExprKind::Null => "NULL".into(),
            ExprKind::Current => "current".into(),
            ExprKind::Unary(op, x) => format!("({op:?} {})", show(x)),
            ExprKind::Binary(op, a, b) => format!("({} {op:?} {})", show(a), show(b)),
            ExprKind::Assign { op, lhs, rhs } => {
                format!("({} ={op:?} {})", show(lhs), show(rhs))
            }
            ExprKind::IncDec { inc, post, operand } => {
                format!("(incdec {inc} {post} {})", show(operand))
            }
            ExprKind::Ternary(c, a, b) => format!("({} ? {} : {})", show(c), show(a), show(b)),
            ExprKind::Call { name, args } => format!(
                "{}({})",
                name.name,
                args.iter().map(show).collect::<Vec<_>>().join(", ")
            ),
            ExprKind::Member { base, field, arrow } => {
                format!(
                    "({}{}{})",
                    show(base),
                    if *arrow { "->" } else { "." },
                    field.name
                )
            }
            ExprKind::Index { base, index } => format!("({}[{}])", show(base), show(index)),
            ExprKind::ContainerOf { ptr, member, .. } => {
                format!("container_of({}, struct, {})", show(ptr), member.name)
            }
        }
    }

    fn parse_expr(src: &str) -> String {
        let items = parse_ok(&format!("void f(void) {{ {src}; }}"));
        let Some(Item::Func(f)) = items.first() else {
            panic!("no function")
        };
        let Some(Stmt {
            kind: StmtKind::Expr(e),
            ..
        }) = f.body.first()
        else {
            panic!("no expression")
        };
        show(e)
    }

    #[test]
    fn precedence() {
        assert_eq!(parse_expr("a + b * c"), "(a Add (b Mul c))");
        assert_eq!(parse_expr("a - b - c"), "((a Sub b) Sub c)");
        assert_eq!(parse_expr("a << 1 + 2"), "(a Shl (1 Add 2))");
        assert_eq!(parse_expr("a < b == c > d"), "((a Lt b) Eq (c Gt d))");
        assert_eq!(parse_expr("a & b == c"), "(a BitAnd (b Eq c))");
        assert_eq!(
            parse_expr("a | b ^ c & d"),
            "(a BitOr (b BitXor (c BitAnd d)))"
        );
        assert_eq!(parse_expr("a || b && c"), "(a Or (b And c))");
        assert_eq!(parse_expr("a ? b : c ? d : e"), "(a ? b : (c ? d : e))");
        assert_eq!(parse_expr("a = b = c"), "(a =None (b =None c))");
        assert_eq!(parse_expr("a += b || c"), "(a =Some(Add) (b Or c))");
        assert_eq!(parse_expr("x = c ? 1 : 2"), "(x =None (c ? 1 : 2))");
        assert_eq!(parse_expr("!a && -b"), "((Not a) And (Neg b))");
        assert_eq!(parse_expr("-a * b"), "((Neg a) Mul b)");
        assert_eq!(parse_expr("&w->flags"), "(AddrOf (w->flags))");
        assert_eq!(
            parse_expr("&q[i + 1]->lock"),
            "(AddrOf ((q[(i Add 1)])->lock))"
        );
        assert_eq!(parse_expr("!x[i]++"), "(Not (incdec true true (x[i])))");
        assert_eq!(parse_expr("!w.func"), "(Not (w.func))");
        assert_eq!(
            parse_expr("i++ + ++j"),
            "((incdec true true i) Add (incdec true false j))"
        );
        assert_eq!(parse_expr("f(a, b + 1)->flags"), "(f(a, (b Add 1))->flags)");
        assert_eq!(parse_expr("(a + b) * c"), "((a Add b) Mul c)");
        assert_eq!(parse_expr("a % b / c"), "((a Rem b) Div c)");
        assert_eq!(
            parse_expr("~a >> 2 >= 1 != 0"),
            "((((BitNot a) Shr 2) Ge 1) Ne 0)"
        );
    }

    #[test]
    fn items_and_statements() {
        let items = parse_ok(
            "bit PG_locked = 1; bool done; int<0..3> count = 0; const int N = 2;\n\
             waitqueue q until !PG_locked; waitqueue gate; futex count until count == 0;\n\
             int wf(wait_queue_entry_t *wait, unsigned mode, int sync, void *key) { return 0; }\n\
             bool b(void) { return true; }\n\
             void t(int a) { DEFINE_WAIT(w); unsigned long flags, g = 1; struct task_struct *p = current;\n\
               for (int i = 0; i < 3; i++) { if (a) break; else continue; }\n\
               for (;;) { goto out; } do { a--; } while (a > 0); while (1) ;\n\
               atomic { a = 1; } assert(a == 1); out: return; }",
        );
        assert_eq!(items.len(), 10);
    }

    #[test]
    fn recovery_reports_several_errors() {
        let mut d = Vec::new();
        let items = parse(
            "t.wq",
            "void f(void) { a = 1 b = 2; c = ; }\nbit x = ;\nvoid g(void) { foo(1 2); }\nbit ok;",
            0,
            &mut d,
        );
        assert_eq!(d.len(), 4, "{d:?}");
        assert!(items
            .iter()
            .any(|i| matches!(i, Item::Var { name, .. } if name.name == "ok")));
    }

    #[test]
    fn missing_semicolon_points_after_previous_token() {
        let mut d = Vec::new();
        let src = "void f(void) {\n  x = 1\n  y = 2;\n}";
        parse("t.wq", src, 0, &mut d);
        assert_eq!(d.len(), 1);
        let at = src.find("1\n").unwrap_or(0) + 1;
        assert_eq!(d[0].span, Span::new(at, at));
        assert!(d[0].message.starts_with("expected `;`"));
    }

    #[test]
    fn deep_nesting_is_an_error() {
        crate::stack::with_big_stack(deep_nesting_cases);
    }

    fn deep_nesting_cases() {
        let mut d = Vec::new();
        let src = format!(
            "int f(void) {{ return {}1{}; }}",
            "(".repeat(5000),
            ")".repeat(5000)
        );
        parse("t.wq", &src, 0, &mut d);
        assert!(d.iter().any(|x| x.message.contains("nesting too deep")));
        let mut d = Vec::new();
        let src = format!("int f(void) {{ return 1{}; }}", " + 1".repeat(5000));
        parse("t.wq", &src, 0, &mut d);
        assert!(d.iter().any(|x| x.message.contains("nesting too deep")));
        let mut d = Vec::new();
        let src = format!("void f(void) {{ {} }}", "{".repeat(5000));
        parse("t.wq", &src, 0, &mut d);
        assert!(d.iter().any(|x| x.message.contains("nesting too deep")));
        // 190 levels are fine
        let src = format!(
            "int f(void) {{ return {}1{}; }}",
            "(".repeat(190),
            ")".repeat(190)
        );
        parse_ok(&src);
    }
}
