//! The lexer: `.wq` text to [`Token`]s with byte spans (docs/dsl.md §2).
//!
//! It owns comments, identifiers, keywords, integer literals and punctuation. It never
//! fails: a bad character or an unterminated comment becomes a diagnostic and lexing goes
//! on, so the parser always gets a token stream ending in [`Tok::Eof`].

use wqcheck_model::ir::Span;

use crate::diag::{Diagnostic, MAX_KEPT, STOPPING};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kw {
    Bit,
    Bool,
    Int,
    Unsigned,
    Long,
    Void,
    Const,
    Waitqueue,
    Futex,
    Until,
    If,
    Else,
    While,
    Do,
    For,
    Break,
    Continue,
    Return,
    Goto,
    Atomic,
    Assert,
    True,
    False,
    Null,
    Current,
    Struct,
    Final,
}

pub(crate) const KEYWORDS: &[(&str, Kw)] = &[
    ("bit", Kw::Bit),
    ("bool", Kw::Bool),
    ("int", Kw::Int),
    ("unsigned", Kw::Unsigned),
    ("long", Kw::Long),
    ("void", Kw::Void),
    ("const", Kw::Const),
    ("waitqueue", Kw::Waitqueue),
    ("futex", Kw::Futex),
    ("until", Kw::Until),
    ("if", Kw::If),
    ("else", Kw::Else),
    ("while", Kw::While),
    ("do", Kw::Do),
    ("for", Kw::For),
    ("break", Kw::Break),
    ("continue", Kw::Continue),
    ("return", Kw::Return),
    ("goto", Kw::Goto),
    ("atomic", Kw::Atomic),
    ("assert", Kw::Assert),
    ("true", Kw::True),
    ("false", Kw::False),
    ("NULL", Kw::Null),
    ("current", Kw::Current),
    ("struct", Kw::Struct),
    ("final", Kw::Final),
];

/// Punctuation, longest first within each family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum P {
    LParen,
    RParen,
    LBrace,
    RBrace,
    LBracket,
    RBracket,
    Semi,
    Comma,
    Colon,
    Question,
    Dot,
    DotDot,
    Arrow,
    Amp,
    Star,
    Plus,
    Minus,
    Slash,
    Percent,
    Bang,
    Tilde,
    Pipe,
    Caret,
    Lt,
    Gt,
    Assign,
    EqEq,
    Ne,
    Le,
    Ge,
    Shl,
    Shr,
    AndAnd,
    OrOr,
    PlusPlus,
    MinusMinus,
    PlusEq,
    MinusEq,
    StarEq,
    SlashEq,
    PercentEq,
    AmpEq,
    PipeEq,
    CaretEq,
    ShlEq,
    ShrEq,
}

const PUNCTS: &[(&str, P)] = &[
    ("<<=", P::ShlEq),
    (">>=", P::ShrEq),
    ("->", P::Arrow),
    ("..", P::DotDot),
    ("==", P::EqEq),
    ("!=", P::Ne),
    ("<=", P::Le),
    (">=", P::Ge),
    ("<<", P::Shl),
    (">>", P::Shr),
    ("&&", P::AndAnd),
    ("||", P::OrOr),
    ("++", P::PlusPlus),
    ("--", P::MinusMinus),
    ("+=", P::PlusEq),
    ("-=", P::MinusEq),
    ("*=", P::StarEq),
    ("/=", P::SlashEq),
    ("%=", P::PercentEq),
    ("&=", P::AmpEq),
    ("|=", P::PipeEq),
    ("^=", P::CaretEq),
    ("(", P::LParen),
    (")", P::RParen),
    ("{", P::LBrace),
    ("}", P::RBrace),
    ("[", P::LBracket),
    ("]", P::RBracket),
    (";", P::Semi),
    (",", P::Comma),
    (":", P::Colon),
    ("?", P::Question),
    (".", P::Dot),
    ("&", P::Amp),
    ("*", P::Star),
    ("+", P::Plus),
    ("-", P::Minus),
    ("/", P::Slash),
    ("%", P::Percent),
    ("!", P::Bang),
    ("~", P::Tilde),
    ("|", P::Pipe),
    ("^", P::Caret),
    ("<", P::Lt),
    (">", P::Gt),
    ("=", P::Assign),
];

/// The source spelling of a punctuation token (for messages).
pub(crate) fn punct_str(p: P) -> &'static str {
    PUNCTS.iter().find(|(_, q)| *q == p).map_or("?", |(s, _)| s)
}

pub(crate) fn keyword_str(k: Kw) -> &'static str {
    KEYWORDS
        .iter()
        .find(|(_, q)| *q == k)
        .map_or("?", |(s, _)| s)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tok {
    Ident,
    /// An integer literal, already wrapped to `i32` for hexadecimal literals up to
    /// `0xffffffff`; decimal literals up to `2147483648` (for `-2147483648`).
    Int(i64),
    Kw(Kw),
    P(P),
    /// `#include <linux/completion.h>`: the whole line; the header's name is between
    /// its `<` and `>`.
    Include,
    Eof,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Token {
    pub tok: Tok,
    pub span: Span,
}

/// Splits `text` from byte `start` on into tokens (with spans in the whole `text`: an
/// included file is lexed where it sits in the model's combined text); lexical problems
/// are appended to `diags`.
pub(crate) fn lex(file: &str, text: &str, start: usize, diags: &mut Vec<Diagnostic>) -> Vec<Token> {
    let bytes = text.as_bytes();
    let mut toks = Vec::new();
    // A file of garbage has a lexical error per byte: past `MAX_KEPT`, one last
    // diagnostic says the listing stopped, and lexing goes on without listing.
    let mut errors = 0usize;
    let mut report = |diags: &mut Vec<Diagnostic>, d: Diagnostic| {
        if errors < MAX_KEPT {
            diags.push(d);
        } else if errors == MAX_KEPT {
            diags.push(Diagnostic::new(
                file,
                d.span,
                format!("too many lexical errors{STOPPING}"),
            ));
        }
        errors += 1;
    };
    let mut i = start;
    while i < bytes.len() {
        let b = bytes.get(i).copied().unwrap_or(0);
        let next = bytes.get(i + 1).copied().unwrap_or(0);
        if b.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if b == b'/' && next == b'/' {
            // A line comment ends at `\n`, `\r\n` or a lone `\r` (the diagnostics'
            // line breaks: a file with old Mac line endings is not one long comment).
            while i < bytes.len() && !matches!(bytes.get(i), Some(b'\n' | b'\r')) {
                i += 1;
            }
            continue;
        }
        if b == b'/' && next == b'*' {
            let start = i;
            match text.get(i + 2..).and_then(|s| s.find("*/")) {
                Some(k) => i = i + 2 + k + 2,
                None => {
                    report(
                        diags,
                        Diagnostic::new(file, Span::new(start, start + 2), "unterminated comment")
                            .with_help("close the `/*` comment with `*/`"),
                    );
                    i = bytes.len();
                }
            }
            continue;
        }
        if b.is_ascii_alphabetic() || b == b'_' {
            let start = i;
            while bytes
                .get(i)
                .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
            {
                i += 1;
            }
            let word = text.get(start..i).unwrap_or("");
            let tok = KEYWORDS
                .iter()
                .find(|(k, _)| *k == word)
                .map_or(Tok::Ident, |(_, kw)| Tok::Kw(*kw));
            toks.push(Token {
                tok,
                span: Span::new(start, i),
            });
            continue;
        }
        if b.is_ascii_digit() {
            let start = i;
            while bytes
                .get(i)
                .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
            {
                i += 1;
            }
            let word = text.get(start..i).unwrap_or("");
            let span = Span::new(start, i);
            let value = parse_int(word);
            let v = match value {
                Ok(v) => v,
                Err(msg) => {
                    report(diags, Diagnostic::new(file, span, msg));
                    0
                }
            };
            toks.push(Token {
                tok: Tok::Int(v),
                span,
            });
            continue;
        }
        let rest = text.get(i..).unwrap_or("");
        if let Some((s, p)) = PUNCTS.iter().find(|(s, _)| rest.starts_with(s)) {
            toks.push(Token {
                tok: Tok::P(*p),
                span: Span::new(i, i + s.len()),
            });
            i += s.len();
            continue;
        }
        // Anything else: one bad character.
        let c = rest.chars().next().unwrap_or('?');
        let span = Span::new(i, i + c.len_utf8());
        let d = Diagnostic::new(file, span, format!("unexpected character `{c}`"));
        if c == '#' {
            let end = rest.find(['\n', '\r']).map_or(bytes.len(), |k| i + k);
            let line = rest.get(..end - i).unwrap_or("").trim_end();
            let directive = line.get(1..).unwrap_or("").trim_start();
            if directive.starts_with("include") {
                // The prelude's headers (lib.rs resolves them).
                toks.push(Token {
                    tok: Tok::Include,
                    span: Span::new(i, i + line.len()),
                });
                i = end;
                continue;
            }
            // Any other preprocessor line: one error for the whole line.
            report(
                diags,
                Diagnostic::new(
                    file,
                    Span::new(i, i + line.len()),
                    "the DSL has no preprocessor",
                )
                .with_help(
                    "declare constants with `const int NAME = VALUE;`; the only directive is `#include <linux/completion.h>` (the prelude's headers)",
                ),
            );
            i = end;
            continue;
        }
        let d = match c {
            '"' | '\'' => d.with_help("the DSL has no string or character literals"),
            _ => d,
        };
        report(diags, d);
        i += c.len_utf8();
    }
    toks.push(Token {
        tok: Tok::Eof,
        span: Span::new(text.len(), text.len()),
    });
    toks
}

fn parse_int(word: &str) -> Result<i64, String> {
    let (digits, radix) = match word.strip_prefix("0x").or_else(|| word.strip_prefix("0X")) {
        Some(h) => (h, 16),
        None => (word, 10),
    };
    // C suffixes (`1U`, `2UL`) are accepted and ignored.
    let digits = digits.trim_end_matches(['u', 'U', 'l', 'L']);
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return Err(format!("invalid integer literal `{word}`"));
    }
    let v = i64::from_str_radix(digits, radix)
        .map_err(|_| format!("integer literal `{word}` is too large"))?;
    if radix == 16 {
        if v > i64::from(u32::MAX) {
            return Err(format!(
                "integer literal `{word}` is too large (values are 32-bit)"
            ));
        }
        // 0x80000000..=0xffffffff wrap, as in C's unsigned-to-int conversion.
        Ok(i64::from(v as u32 as i32))
    } else if v > 1 << 31 {
        Err(format!(
            "integer literal `{word}` is too large (values are 32-bit)"
        ))
    } else {
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(s: &str) -> Vec<Tok> {
        let mut d = Vec::new();
        lex("t", s, 0, &mut d).into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn lexes_ranges_and_punct() {
        assert_eq!(
            kinds("int<0..3> x >>= 0x10;"),
            vec![
                Tok::Kw(Kw::Int),
                Tok::P(P::Lt),
                Tok::Int(0),
                Tok::P(P::DotDot),
                Tok::Int(3),
                Tok::P(P::Gt),
                Tok::Ident,
                Tok::P(P::ShrEq),
                Tok::Int(16),
                Tok::P(P::Semi),
                Tok::Eof
            ]
        );
    }

    #[test]
    fn comments_and_errors() {
        let mut d = Vec::new();
        let t = lex("t", "a /* x */ b // c\n @ /*", 0, &mut d);
        assert_eq!(t.len(), 3);
        assert_eq!(d.len(), 2);
        assert!(d.iter().any(|x| x.message.contains("unterminated")));
        let mut d = Vec::new();
        lex("t", "99999999999 0xffffffff 0x1ffffffff é", 0, &mut d);
        assert_eq!(d.len(), 3);
    }

    #[test]
    fn hex_wraps() {
        assert_eq!(kinds("0xffffffff")[0], Tok::Int(-1));
    }
}
