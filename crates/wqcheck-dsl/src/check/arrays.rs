//! Arrays of shared variables, of a word's bits and of wait queues (`int<0..2>
//! count[2];`, `unsigned long flags[2] { PG_locked, PG_waiters };`, `waitqueue
//! page_wait[2];`): several objects of one kind, as several pages or several CPUs are.
//!
//! Each element is a global of its own, named `x[k]`, so that everything after the
//! checker (the IR, the engines, traces, a scenario's `init`) sees plain variables, bits
//! and queues. An element whose index is a constant is that global. An index known only
//! at run time (a parameter `page`) must be computed from locals and constants; the
//! smallest enclosing call, assignment or read then becomes an
//! [`ir::ExprKind::Select`] whose arm `k` is that expression written with `x[k]`, and a
//! statement that needs a name (a sleep's `until`, `wait_event()`'s queue) becomes an
//! `if` chain over the index. Choosing the element is local work, as computing an
//! address is in the kernel: no step, no state. An index outside the array is a
//! run-time error.

use wqcheck_model::ir::{self, BinOp, Span, Value};

use crate::ast::{self, ExprKind as AK, UnaryOp};
use crate::builtins;

use super::{err_expr, mk, Checker, Sym, TExpr, Ty};

/// Lowers a statement from its (element-resolved) expressions into IR statements.
pub(super) type LowerStmt<'l, 'a> =
    dyn FnMut(&mut Checker<'a>, &[ast::Expr], &mut Vec<ir::Stmt>) + 'l;

/// The most elements an array may have.
pub(super) const MAX_LEN: Value = 16;

/// A declared array: its elements are the globals `elems`.
pub(super) struct ArrayInfo {
    pub name: String,
    pub elems: Vec<String>,
    /// What the elements are, for messages ("shared variables", "bits", "wait queues",
    /// "objects").
    pub what: &'static str,
    /// For a field array of an object struct (`x->done`, objects.rs): the struct, whose
    /// pointers index it.
    pub pointer: Option<u8>,
}

/// An array element's index, checked.
enum Index {
    Const(usize),
    /// Computed at run time from locals and constants.
    Run(TExpr),
    /// Reported.
    Bad,
}

impl<'a> Checker<'a> {
    /// The array `n` names, if it names one here (a local of the same name would hide
    /// it, but locals may not shadow globals).
    pub(super) fn array_named(&self, n: &str) -> Option<usize> {
        match self.globals.get(n) {
            Some((Sym::Array(a), _)) if !self.cx.scope.contains_key(n) => Some(*a),
            _ => None,
        }
    }

    /// The first element of a declared array in `e`, outermost first.
    fn first_element<'e>(&self, e: &'e ast::Expr) -> Option<(&'e ast::Expr, usize)> {
        if let AK::Index { base, .. } = &e.kind {
            if let Some(a) = base.as_ident().and_then(|n| self.array_named(n)) {
                return Some((e, a));
            }
        }
        children(e).into_iter().find_map(|c| self.first_element(c))
    }

    /// Whether `e` is built from constants only.
    pub(super) fn is_constant(&self, e: &ast::Expr) -> bool {
        match &e.kind {
            AK::Int(_) | AK::True | AK::False => true,
            AK::Ident(n) => {
                !self.cx.scope.contains_key(n)
                    && (builtins::constant(n).is_some()
                        || matches!(self.globals.get(n), Some((Sym::Const(_), _))))
            }
            AK::Unary(UnaryOp::Neg | UnaryOp::Not | UnaryOp::BitNot, x) => self.is_constant(x),
            AK::Binary(_, a, b) => self.is_constant(a) && self.is_constant(b),
            AK::Ternary(c, a, b) => {
                self.is_constant(c) && self.is_constant(a) && self.is_constant(b)
            }
            _ => false,
        }
    }

    /// Whether `e` is built from locals and constants only: evaluating it is no shared
    /// access, so it may be evaluated before, or once per element of, what it indexes.
    fn is_local_only(&self, e: &ast::Expr) -> bool {
        match &e.kind {
            AK::Int(_) | AK::True | AK::False => true,
            AK::Ident(n) => self.cx.scope.contains_key(n) || self.is_constant(e),
            // A field of a struct of integers on this thread's stack (`key->page`).
            AK::Member { base, .. } => base
                .as_ident()
                .and_then(|n| self.cx.scope.get(n))
                .and_then(|id| self.cx.local_tys.get(*id as usize))
                .is_some_and(|t| matches!(t, super::Ty::Struct(_) | super::Ty::StructPtr(_))),
            AK::Unary(UnaryOp::Neg | UnaryOp::Not | UnaryOp::BitNot, x) => self.is_local_only(x),
            AK::Binary(_, a, b) => self.is_local_only(a) && self.is_local_only(b),
            AK::Ternary(c, a, b) => {
                self.is_local_only(c) && self.is_local_only(a) && self.is_local_only(b)
            }
            _ => false,
        }
    }

    /// Checks the index of an element of array `a`.
    fn index_of(&mut self, a: usize, index: &ast::Expr) -> Index {
        let (name, len) = match self.arrays.get(a) {
            Some(info) => (info.name.clone(), info.elems.len()),
            None => return Index::Bad,
        };
        if let Some(sid) = self.arrays.get(a).and_then(|x| x.pointer) {
            return match self.pointer_index(sid, index) {
                Some(i) => Index::Run(i),
                None => Index::Bad,
            };
        }
        if self.is_constant(index) {
            let Some(k) = self.const_eval(index) else {
                return Index::Bad;
            };
            return match usize::try_from(k).ok().filter(|k| *k < len) {
                Some(k) => Index::Const(k),
                None => {
                    self.error_help(
                        index.span,
                        format!("index {k} is out of bounds of `{name}[{len}]`"),
                        format!("the elements are `{name}[0]` to `{name}[{}]`", len - 1),
                    );
                    Index::Bad
                }
            };
        }
        if !self.is_local_only(index) {
            let _ = self.expr(index);
            self.error_help(
                index.span,
                format!("the index of `{name}` must be computed from locals and constants"),
                "read a shared value into a local first (`int k = READ_ONCE(x);`), then index with it: choosing an element must not be a step of its own",
            );
            return Index::Bad;
        }
        let v = self.value(index);
        if !v.ty.is_int() {
            self.error(
                index.span,
                format!(
                    "the index of `{name}` must be an integer, found `{}`",
                    v.ty.name()
                ),
            );
            return Index::Bad;
        }
        Index::Run(v)
    }

    /// `e` lowered by `lower` with its first array element resolved: the element itself
    /// for a constant index, else a [`ir::ExprKind::Select`] over the elements. `None`
    /// if `e` has no element of a declared array.
    pub(super) fn with_element(
        &mut self,
        e: &ast::Expr,
        lower: fn(&mut Self, &ast::Expr) -> TExpr,
    ) -> Option<TExpr> {
        let (node, a) = self.first_element(e)?;
        let AK::Index { index, .. } = &node.kind else {
            return None;
        };
        Some(match self.index_of(a, index) {
            Index::Bad => err_expr(e.span),
            Index::Const(k) => {
                let e = self.element_written(e, node, a, k);
                lower(self, &e)
            }
            Index::Run(iv) => {
                let len = self.arrays.get(a).map_or(0, |x| x.elems.len());
                let mut arms = Vec::with_capacity(len);
                let mut ty = Ty::Err;
                for k in 0..len {
                    let ek = self.element_written(e, node, a, k);
                    // Every arm is the same code on another element: report its
                    // problems once.
                    let quiet = self.quiet.replace(self.quiet.get() || k > 0);
                    let t = lower(self, &ek);
                    self.quiet.set(quiet);
                    if k == 0 {
                        ty = t.ty;
                    }
                    arms.push(t.e);
                }
                mk(
                    ir::ExprKind::Select {
                        index: Box::new(iv.e),
                        arms,
                        array: a as u16,
                    },
                    ty,
                    e.span,
                )
            }
        })
    }

    /// A statement that needs its elements by name (a sleep's `until`, `wait_event()`'s
    /// queue), lowered by `lower` from `exprs` with every array element resolved: for a
    /// run-time index, an `if` chain with one branch per element. `false` if `exprs` have
    /// no element of a declared array (nothing was lowered).
    pub(super) fn with_elements_stmt(
        &mut self,
        exprs: &[ast::Expr],
        span: Span,
        out: &mut Vec<ir::Stmt>,
        lower: &mut LowerStmt<'_, 'a>,
    ) -> bool {
        let Some((node, a)) = exprs.iter().find_map(|e| self.first_element(e)) else {
            return false;
        };
        let AK::Index { index, .. } = &node.kind else {
            return false;
        };
        let node = node.clone();
        let written = |ck: &Self, k: usize| -> Vec<ast::Expr> {
            exprs
                .iter()
                .map(|e| ck.element_written(e, &node, a, k))
                .collect()
        };
        match self.index_of(a, index) {
            Index::Bad => {}
            Index::Const(k) => {
                let ek = written(self, k);
                if !self.with_elements_stmt(&ek, span, out, lower) {
                    lower(self, &ek, out);
                }
            }
            Index::Run(iv) => {
                let len = self.arrays.get(a).map_or(0, |x| x.elems.len());
                // The last `else`: the index matched no element.
                let mut chain = vec![ir::Stmt {
                    kind: ir::StmtKind::Expr(
                        mk(
                            ir::ExprKind::Select {
                                index: Box::new(iv.e.clone()),
                                arms: Vec::new(),
                                array: a as u16,
                            },
                            Ty::Void,
                            index.span,
                        )
                        .e,
                    ),
                    span,
                }];
                let mut branches = Vec::with_capacity(len);
                for k in 0..len {
                    let ek = written(self, k);
                    let quiet = self.quiet.replace(self.quiet.get() || k > 0);
                    let mut body = Vec::new();
                    if !self.with_elements_stmt(&ek, span, &mut body, lower) {
                        lower(self, &ek, &mut body);
                    }
                    self.quiet.set(quiet);
                    branches.push(body);
                }
                for (k, body) in branches.into_iter().enumerate().rev() {
                    let k = mk(ir::ExprKind::Const(k as Value), Ty::Int, index.span);
                    let cond = mk(
                        ir::ExprKind::Binary(BinOp::Eq, Box::new(iv.e.clone()), Box::new(k.e)),
                        Ty::Bool,
                        index.span,
                    );
                    chain = vec![ir::Stmt {
                        kind: ir::StmtKind::If {
                            cond: cond.e,
                            then_branch: body,
                            else_branch: chain,
                        },
                        span,
                    }];
                }
                out.extend(chain);
            }
        }
        true
    }

    /// `e` with `node` (an element of array `a`) replaced by element `k`'s name, and so
    /// is every other element in `e` of an array of the same length with the same index
    /// (`clear_bit_unlock_is_negative_byte(PG_locked[page], PG_waiters[page])` names bits
    /// of one word): they are chosen together, not one arm per combination.
    fn element_written(&self, e: &ast::Expr, node: &ast::Expr, a: usize, k: usize) -> ast::Expr {
        let AK::Index { index, .. } = &node.kind else {
            return e.clone();
        };
        let len = self.arrays.get(a).map_or(0, |x| x.elems.len());
        let elem = |ck: &Self, x: &ast::Expr| -> Option<String> {
            let AK::Index { base, index: i } = &x.kind else {
                return None;
            };
            let b = base.as_ident().and_then(|n| ck.array_named(n))?;
            let info = ck.arrays.get(b)?;
            let same = x.span == node.span || (info.elems.len() == len && same_expr(i, index));
            same.then(|| info.elems.get(k).cloned()).flatten()
        };
        replace(e, &|x| elem(self, x))
    }

    /// `x[i]` where `x` is no array, or a name of an array used without an index.
    pub(super) fn not_an_array(
        &mut self,
        base: &ast::Expr,
        index: &ast::Expr,
        span: Span,
    ) -> TExpr {
        let _ = self.expr(index);
        match base.as_ident() {
            Some(n) => {
                let what = if self.cx.scope.contains_key(n) {
                    "a local".to_string()
                } else {
                    match self.globals.get(n) {
                        Some((sym, _)) => sym.what().to_string(),
                        None => {
                            let _ = self.expr(base);
                            return err_expr(span);
                        }
                    }
                };
                self.error_help(
                    base.span,
                    format!("`{n}` is {what}, not an array"),
                    "only shared variables, a word's bits and wait queues declared with a length (`bit x[2];`) are indexed",
                );
            }
            None => {
                let _ = self.expr(base);
                self.error_help(
                    base.span,
                    "only a declared array can be indexed",
                    "declare one at top level: `bit x[2];`, `waitqueue q[2];`",
                );
            }
        }
        err_expr(span)
    }

    /// The name of an array used as a value.
    pub(super) fn array_without_index(&mut self, a: usize, span: Span) -> TExpr {
        if let Some(info) = self.arrays.get(a) {
            let msg = format!(
                "`{}` is an array of {} {}; name an element",
                info.name,
                info.elems.len(),
                info.what
            );
            let help = format!("write `{0}[0]`, or `{0}[i]` for a local `i`", info.name);
            self.error_help(span, msg, help);
        }
        err_expr(span)
    }
}

/// The direct subexpressions of `e`, in evaluation order.
fn children(e: &ast::Expr) -> Vec<&ast::Expr> {
    match &e.kind {
        AK::Int(_) | AK::Ident(_) | AK::True | AK::False | AK::Null | AK::Current => Vec::new(),
        AK::Unary(_, x) => vec![x],
        AK::Binary(_, a, b) => vec![a, b],
        AK::Assign { lhs, rhs, .. } => vec![lhs, rhs],
        AK::IncDec { operand, .. } => vec![operand],
        AK::Ternary(c, a, b) => vec![c, a, b],
        AK::Call { args, .. } => args.iter().collect(),
        AK::Member { base, .. } => vec![base],
        AK::Index { base, index } => vec![base, index],
        AK::ContainerOf { ptr, .. } => vec![ptr],
    }
}

/// `e` with each node that `with` names replaced by that name (outermost first: the
/// nodes inside a replaced one are not asked).
pub(super) fn replace(e: &ast::Expr, with: &dyn Fn(&ast::Expr) -> Option<String>) -> ast::Expr {
    let mut out = e.clone();
    out.visit_mut(&mut |x| {
        if let Some(name) = with(x) {
            x.kind = AK::Ident(name);
        }
    });
    out
}

/// Whether two index expressions (locals, constants and operators) are written alike.
fn same_expr(a: &ast::Expr, b: &ast::Expr) -> bool {
    match (&a.kind, &b.kind) {
        (AK::Int(x), AK::Int(y)) => x == y,
        (AK::Ident(x), AK::Ident(y)) => x == y,
        (AK::True, AK::True) | (AK::False, AK::False) => true,
        (AK::Unary(o, x), AK::Unary(p, y)) => o == p && same_expr(x, y),
        (
            AK::Member {
                base: x,
                field: f,
                arrow: a,
            },
            AK::Member {
                base: y,
                field: g,
                arrow: b,
            },
        ) => f.name == g.name && a == b && same_expr(x, y),
        (AK::Binary(o, x1, x2), AK::Binary(p, y1, y2)) => {
            o == p && same_expr(x1, y1) && same_expr(x2, y2)
        }
        (AK::Ternary(x1, x2, x3), AK::Ternary(y1, y2, y3)) => {
            same_expr(x1, y1) && same_expr(x2, y2) && same_expr(x3, y3)
        }
        _ => false,
    }
}
