//! Shared objects: a struct whose fields are shared state, declared at top level and
//! passed by pointer, as the kernel passes a `struct completion *x` or a `struct
//! semaphore *sem`:
//!
//! ```c
//! struct completion { int<0..2> done; wait_queue_head_t wait; };
//! struct completion setup_done, reqs[2];
//! void complete(struct completion *x) { ... x->done++; __wake_up_locked(&x->wait, ...); }
//! ```
//!
//! Each object's fields are globals of their own, named `setup_done.done`,
//! `reqs[1].wait` (in traces, messages and a scenario's `init`), so that everything
//! after the checker sees plain variables and queues, as it does for arrays. A field's
//! `until` condition names the fields of its own object.
//!
//! A `struct NAME *` is the object's number among the objects of its struct, from 1;
//! `NULL` is 0. A field reached through a pointer (`x->done`) is an element of the
//! struct's field array, one element per object, indexed by the pointer: the array
//! machinery (arrays.rs) chooses it, at no cost in states, and dereferencing `NULL` is
//! a run-time error. To get there, every statement's own expressions are rewritten
//! before they are lowered: `obj.f` becomes the global `obj.f`, `objs[i].f` and
//! `x->f` become elements of field arrays (whose names no identifier can spell).
//!
//! The pointers are local values (parameters and locals): no shared variable holds
//! one, as no shared variable holds an index.

use std::borrow::Cow;

use wqcheck_model::ir::{self, Span};

use crate::ast::{self, ExprKind as AK, StmtKind as SK, TypeAst, TypeName};

use super::arrays::ArrayInfo;
use super::{err_expr, mk, Checker, Sym, TExpr, Ty};

/// One declared object (`setup_done`, or each element `reqs[k]` of an array).
pub(super) struct ObjectInfo {
    /// Its struct.
    pub sid: u8,
    /// Its pointer's value: its number among its struct's objects, from 1.
    pub ptr: ir::Value,
}

impl Checker<'_> {
    /// Whether struct `sid` is a shared object type.
    pub(super) fn is_object_struct(&self, sid: u8) -> bool {
        self.structs
            .get(sid as usize)
            .is_some_and(|s| !s.shared.is_empty())
    }

    /// The shared fields of an object struct as declarations (`bool f;` and `struct
    /// task_struct *f;` written as a local's field become a shared bit and task pointer).
    /// `None` when the struct has no shared field (a key or a container).
    pub(super) fn object_fields(
        &mut self,
        sname: &str,
        fields: &[(TypeAst, ast::Ident)],
        shared: &[ast::Item],
    ) -> Option<Vec<ast::Item>> {
        if shared.is_empty() {
            return None;
        }
        let mut out = Vec::with_capacity(fields.len() + shared.len());
        for (ty, name) in fields {
            let sty = match ty.ty {
                TypeName::Bool => ast::SharedTy::Bit,
                TypeName::Task => ast::SharedTy::Task,
                TypeName::Int => {
                    self.error_help(
                        ty.span.to(name.span),
                        format!(
                            "`{}` of the shared object `struct {sname}` needs a range",
                            name.name
                        ),
                        format!(
                            "write `int<MIN..MAX> {0};` or `unsigned int {0} : BITS;`: shared state is bounded",
                            name.name
                        ),
                    );
                    continue;
                }
                other => {
                    self.error_help(
                        ty.span,
                        format!(
                            "a shared object's field cannot have type `{}`",
                            other.spelling()
                        ),
                        "its fields are `bit`, `int<MIN..MAX>`, `unsigned int f : BITS`, `unsigned long f { BITS }`, `struct task_struct *` and `wait_queue_head_t`; wait entries are locals of a function",
                    );
                    continue;
                }
            };
            out.push(ast::Item::Var {
                ty: sty,
                name: name.clone(),
                len: None,
                init: None,
                span: ty.span.to(name.span),
            });
        }
        for item in shared {
            match item {
                ast::Item::Var { len: Some(len), .. } | ast::Item::Queue { len: Some(len), .. } => {
                    self.error_help(
                        len.span,
                        format!("a field of `struct {sname}` cannot be an array"),
                        "declare an array of objects instead: `struct NAME objs[2];`",
                    );
                }
                ast::Item::Var { .. } | ast::Item::Queue { .. } => out.push(item.clone()),
                _ => {}
            }
        }
        // In declaration order, however each field was written.
        out.sort_by_key(|i| match i {
            ast::Item::Var { span, .. } | ast::Item::Queue { span, .. } => span.start,
            _ => 0,
        });
        Some(out)
    }

    /// The items with every `struct NAME obj;` replaced by its fields' declarations
    /// (`obj.done`, `obj.wait`), and the objects declared.
    pub(super) fn expand_objects<'i>(&mut self, items: &'i [ast::Item]) -> Cow<'i, [ast::Item]> {
        if !items.iter().any(|i| matches!(i, ast::Item::Object { .. })) {
            return Cow::Borrowed(items);
        }
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            let ast::Item::Object { ty, name, len, .. } = item else {
                out.push(item.clone());
                continue;
            };
            let Some(sid) = self.object_struct(ty) else {
                continue;
            };
            let n = self.declared_len(items, name, len.as_ref());
            if n == 0 || !self.check_new_name(name, false) {
                continue;
            }
            let template = self.structs[sid as usize].shared.clone();
            let fields = field_names(&template);
            let mut elems = Vec::with_capacity(n);
            for k in 0..n {
                let obj = match len {
                    Some(_) => format!("{}[{k}]", name.name),
                    None => name.name.clone(),
                };
                let info = &mut self.structs[sid as usize];
                info.objects.push(obj.clone());
                let ptr = info.objects.len() as ir::Value;
                let o = self.objects.len();
                self.objects.push(ObjectInfo { sid, ptr });
                self.globals
                    .insert(obj.clone(), (Sym::Object(o), name.span));
                for t in &template {
                    out.push(renamed(t, &obj, &fields));
                }
                elems.push(obj);
            }
            if len.is_some() {
                // The array of objects itself, for `&objs[i]` (arrays.rs chooses the
                // element, as for any array).
                let a = self.arrays.len();
                self.arrays.push(ArrayInfo {
                    name: name.name.clone(),
                    elems,
                    what: "objects",
                    pointer: None,
                });
                self.globals
                    .insert(name.name.clone(), (Sym::Array(a), name.span));
            }
        }
        Cow::Owned(out)
    }

    /// The object struct `struct NAME obj;` names, or `None` (reported).
    fn object_struct(&mut self, ty: &ast::Ident) -> Option<u8> {
        let Some(&sid) = self.struct_ids.get(&ty.name) else {
            let known: Vec<String> = self
                .structs
                .iter()
                .filter(|s| !s.shared.is_empty())
                .map(|s| format!("`struct {}`", s.name))
                .collect();
            let help = if known.is_empty() {
                format!(
                    "declare it first: `struct {} {{ int<0..2> done; wait_queue_head_t wait; }};`",
                    ty.name
                )
            } else {
                format!("the shared object types are {}", known.join(", "))
            };
            self.error_help(ty.span, format!("unknown type `struct {}`", ty.name), help);
            return None;
        };
        if !self.is_object_struct(sid) {
            self.error_help(
                ty.span,
                format!("`struct {}` has no shared fields: it cannot be a shared object", ty.name),
                "a struct of `int` fields is a local (a wake key), one with a `wait_queue_entry_t` a wait entry; a shared object's fields are declared as shared state is (`int<0..2> done;`, `wait_queue_head_t wait;`)",
            );
            return None;
        }
        Some(sid)
    }

    /// The field arrays of every object struct (`x->done`: one element per object), once
    /// the objects' fields are declared.
    pub(super) fn declare_field_arrays(&mut self) {
        for sid in 0..self.structs.len() {
            let info = &self.structs[sid];
            if info.objects.is_empty() {
                continue;
            }
            let sname = info.name.clone();
            let objects = info.objects.clone();
            let kinds = field_kinds(&info.shared);
            for (field, what) in kinds {
                let elems: Vec<String> = objects.iter().map(|o| format!("{o}.{field}")).collect();
                let a = self.arrays.len();
                self.arrays.push(ArrayInfo {
                    name: format!("struct {sname} *"),
                    elems,
                    what,
                    pointer: Some(sid as u8),
                });
                self.globals.insert(
                    pointer_array(&sname, &field),
                    (Sym::Array(a), Span::default()),
                );
            }
        }
        // Arrays of objects: `objs[i].f` is element `i` of the array `objs[].f`.
        let object_arrays: Vec<(String, Vec<String>)> = self
            .arrays
            .iter()
            .filter(|a| a.what == "objects")
            .map(|a| (a.name.clone(), a.elems.clone()))
            .collect();
        for (name, elems) in object_arrays {
            let Some(Sym::Object(o)) = elems.first().and_then(|e| self.globals.get(e)).map(|s| s.0)
            else {
                continue;
            };
            let sid = self.objects[o].sid;
            for (field, what) in field_kinds(&self.structs[sid as usize].shared) {
                let a = self.arrays.len();
                self.arrays.push(ArrayInfo {
                    name: name.clone(),
                    elems: elems.iter().map(|e| format!("{e}.{field}")).collect(),
                    what,
                    pointer: None,
                });
                self.globals.insert(
                    format!("{name}[].{field}"),
                    (Sym::Array(a), Span::default()),
                );
            }
        }
    }

    /// `&obj` and `&objs[k]`: the object's pointer. `None` if `x` names no object.
    pub(super) fn object_addr(&mut self, x: &ast::Expr, span: Span) -> Option<TExpr> {
        let n = x.as_ident()?;
        if self.cx.scope.contains_key(n) {
            return None;
        }
        match self.globals.get(n).copied() {
            Some((Sym::Object(o), _)) => {
                let info = &self.objects[o];
                Some(mk(
                    ir::ExprKind::Const(info.ptr),
                    Ty::ObjectPtr(info.sid),
                    span,
                ))
            }
            _ => None,
        }
    }

    /// A shared object used as a value.
    pub(super) fn object_as_value(&mut self, n: &str, o: usize, span: Span) -> TExpr {
        let sid = self.objects.get(o).map_or(0, |x| x.sid);
        let sname = self
            .structs
            .get(sid as usize)
            .map_or("?", |s| s.name.as_str());
        let msg = format!("`{n}` is a shared object (`struct {sname}`), not a value");
        self.error_help(
            span,
            msg,
            format!("pass `&{n}`, or name one of its fields: `{n}.FIELD`"),
        );
        err_expr(span)
    }

    /// `s` with its own expressions' object accesses rewritten (see the module docs);
    /// nested statements are rewritten when they are lowered, in their own scope.
    pub(super) fn objects_in_stmt<'s>(&mut self, s: &'s ast::Stmt) -> Cow<'s, ast::Stmt> {
        if self.objects.is_empty() {
            return Cow::Borrowed(s);
        }
        let r = |ck: &mut Self, e: &ast::Expr| ck.objects_in_expr(e);
        let kind = match &s.kind {
            SK::Expr(e) => SK::Expr(r(self, e)),
            SK::SleepUntil { call, until } => SK::SleepUntil {
                call: r(self, call),
                until: r(self, until),
            },
            SK::Decl { ty, vars } => SK::Decl {
                ty: *ty,
                vars: vars
                    .iter()
                    .map(|(n, init)| (n.clone(), init.as_ref().map(|e| r(self, e))))
                    .collect(),
            },
            SK::If {
                cond,
                then_branch,
                else_branch,
            } => SK::If {
                cond: r(self, cond),
                then_branch: then_branch.clone(),
                else_branch: else_branch.clone(),
            },
            SK::While { cond, body } => SK::While {
                cond: r(self, cond),
                body: body.clone(),
            },
            SK::DoWhile { body, cond } => SK::DoWhile {
                body: body.clone(),
                cond: r(self, cond),
            },
            SK::For {
                init,
                cond,
                step,
                body,
            } => SK::For {
                init: init.clone(),
                cond: cond.as_ref().map(|e| r(self, e)),
                step: step.as_ref().map(|e| r(self, e)),
                body: body.clone(),
            },
            SK::Return(Some(e)) => SK::Return(Some(r(self, e))),
            SK::Assert(e) => SK::Assert(r(self, e)),
            _ => return Cow::Borrowed(s),
        };
        Cow::Owned(ast::Stmt { kind, span: s.span })
    }

    /// `e` with `obj.f`, `objs[i].f` and `x->f` (for a local `struct NAME *x`) written as
    /// the globals and field-array elements they are.
    pub(super) fn objects_in_expr(&mut self, e: &ast::Expr) -> ast::Expr {
        let r = |ck: &mut Self, x: &ast::Expr| Box::new(ck.objects_in_expr(x));
        let kind = match &e.kind {
            AK::Member { base, field, arrow } => {
                if let Some(kind) = self.object_member(base, field, *arrow) {
                    return ast::Expr { kind, span: e.span };
                }
                let base = r(self, base);
                // `&x->wait.lock`, as the kernel writes it: the queue's lock.
                let arrow = *arrow || (field.name == "lock" && self.names_queue(&base));
                AK::Member {
                    base,
                    field: field.clone(),
                    arrow,
                }
            }
            k @ (AK::Int(_) | AK::Ident(_) | AK::True | AK::False | AK::Null | AK::Current) => {
                k.clone()
            }
            AK::Unary(op, x) => AK::Unary(*op, r(self, x)),
            AK::Binary(op, a, b) => AK::Binary(*op, r(self, a), r(self, b)),
            AK::Assign { op, lhs, rhs } => AK::Assign {
                op: *op,
                lhs: r(self, lhs),
                rhs: r(self, rhs),
            },
            AK::IncDec { inc, post, operand } => AK::IncDec {
                inc: *inc,
                post: *post,
                operand: r(self, operand),
            },
            AK::Ternary(c, a, b) => AK::Ternary(r(self, c), r(self, a), r(self, b)),
            AK::Call { name, args } => AK::Call {
                name: name.clone(),
                args: args.iter().map(|a| self.objects_in_expr(a)).collect(),
            },
            AK::Index { base, index } => AK::Index {
                base: r(self, base),
                index: r(self, index),
            },
            AK::ContainerOf {
                ptr,
                ty,
                member,
                list_first,
            } => AK::ContainerOf {
                ptr: r(self, ptr),
                ty: *ty,
                member: member.clone(),
                list_first: *list_first,
            },
        };
        ast::Expr { kind, span: e.span }
    }

    /// Whether `e` (rewritten) names a wait queue or a queue array's element.
    pub(super) fn names_queue(&self, e: &ast::Expr) -> bool {
        let n = match &e.kind {
            AK::Ident(n) => n,
            AK::Index { base, .. } => match base.as_ident().and_then(|n| self.array_named(n)) {
                Some(a) => return self.arrays.get(a).is_some_and(|a| a.what == "wait queues"),
                None => return false,
            },
            _ => return false,
        };
        !self.cx.scope.contains_key(n) && matches!(self.globals.get(n), Some((Sym::Queue(_), _)))
    }

    /// The field `base.field` or `base->field` of a shared object, rewritten; `None` when
    /// `base` is no object (a struct local, a wait entry), for the struct code.
    fn object_member(&mut self, base: &ast::Expr, field: &ast::Ident, arrow: bool) -> Option<AK> {
        let sname_of = |ck: &Self, sid: u8| ck.structs[sid as usize].name.clone();
        // `x->f` for a pointer local `x`.
        if let Some(n) = base.as_ident() {
            if let Some(&id) = self.cx.scope.get(n) {
                let Some(Ty::ObjectPtr(sid)) = self.cx.local_tys.get(id as usize).copied() else {
                    return None;
                };
                let sname = sname_of(self, sid);
                if !arrow {
                    self.error_help(
                        field.span,
                        format!("`{n}` is a pointer to `struct {sname}`: its fields are reached with `->`"),
                        format!("write `{n}->{}`", field.name),
                    );
                    return Some(AK::Int(0));
                }
                if self.object_field(sid, field).is_none() {
                    return Some(AK::Int(0));
                }
                let array = pointer_array(&sname, &field.name);
                return Some(AK::Index {
                    base: Box::new(ident(array, field.span)),
                    index: Box::new(base.clone()),
                });
            }
            // `obj.f`.
            if let Some((Sym::Object(o), _)) = self.globals.get(n).copied() {
                let sid = self.objects[o].sid;
                if !self.object_access_ok(arrow, base.span, n, sid, field) {
                    return Some(AK::Int(0));
                }
                return Some(AK::Ident(format!("{n}.{}", field.name)));
            }
            return None;
        }
        // `objs[i].f`.
        let AK::Index { base: b, index } = &base.kind else {
            return None;
        };
        let n = b.as_ident()?;
        let a = self.array_named(n)?;
        if self.arrays.get(a).map(|a| a.what) != Some("objects") {
            return None;
        }
        let first = self.arrays[a].elems.first().cloned().unwrap_or_default();
        let Some((Sym::Object(o), _)) = self.globals.get(&first).copied() else {
            return None;
        };
        let sid = self.objects[o].sid;
        if !self.object_access_ok(arrow, base.span, &format!("{n}[...]"), sid, field) {
            return Some(AK::Int(0));
        }
        Some(AK::Index {
            base: Box::new(ident(format!("{n}[].{}", field.name), b.span)),
            index: Box::new(self.objects_in_expr(index)),
        })
    }

    /// Checks `what.field` / `what->field` on the object `what` of struct `sid`: an
    /// object is no pointer, and its struct must have `field` (both reported: `false`).
    fn object_access_ok(
        &mut self,
        arrow: bool,
        span: Span,
        what: &str,
        sid: u8,
        field: &ast::Ident,
    ) -> bool {
        if arrow {
            let sname = self.structs[sid as usize].name.clone();
            self.error_help(
                span,
                format!("`{what}` is a `struct {sname}`, not a pointer"),
                format!("write `{what}.{}`", field.name),
            );
            return false;
        }
        self.object_field(sid, field).is_some()
    }

    /// Checks that struct `sid` has `field` (reports it when not: `None`).
    fn object_field(&mut self, sid: u8, field: &ast::Ident) -> Option<()> {
        let info = &self.structs[sid as usize];
        let names: Vec<String> = field_kinds(&info.shared).into_iter().map(|f| f.0).collect();
        if names.contains(&field.name) {
            return Some(());
        }
        let sname = info.name.clone();
        let help = match crate::diag::did_you_mean(&field.name, names.iter().map(|s| s.as_str())) {
            Some(s) => format!("did you mean `{s}`?"),
            None => format!("the fields of `struct {sname}` are {}", names.join(", ")),
        };
        self.error_help(
            field.span,
            format!("`struct {sname}` has no field `{}`", field.name),
            help,
        );
        None
    }

    /// The checked index of an element of a pointer's field array (`x` of `x->f`): the
    /// pointer's value less one, an error for anything but a pointer to that struct.
    pub(super) fn pointer_index(&mut self, sid: u8, index: &ast::Expr) -> Option<TExpr> {
        let v = self.value(index);
        match v.ty {
            Ty::ObjectPtr(s) if s == sid => {}
            Ty::Err => return None,
            other => {
                let sname = self.structs[sid as usize].name.clone();
                self.error(
                    index.span,
                    format!("expected `struct {sname} *`, found `{}`", other.name()),
                );
                return None;
            }
        }
        let one = mk(ir::ExprKind::Const(1), Ty::Int, index.span);
        Some(mk(
            ir::ExprKind::Binary(ir::BinOp::Sub, Box::new(v.e), Box::new(one.e)),
            Ty::Int,
            index.span,
        ))
    }
}

fn ident(name: String, span: Span) -> ast::Expr {
    ast::Expr {
        kind: AK::Ident(name),
        span,
    }
}

/// The name of struct `sname`'s field array for `field` (no identifier can spell it).
fn pointer_array(sname: &str, field: &str) -> String {
    format!("struct {sname}->{field}")
}

/// The names a template's declarations declare: fields, and a word's bits.
fn field_names(template: &[ast::Item]) -> Vec<String> {
    field_kinds(template).into_iter().map(|f| f.0).collect()
}

/// Each field name of an object struct with what its field array holds (the words used
/// in array messages: "shared variables", "bits", "wait queues").
fn field_kinds(template: &[ast::Item]) -> Vec<(String, &'static str)> {
    let mut out = Vec::new();
    for t in template {
        match t {
            ast::Item::Var { ty, name, .. } => {
                out.push((name.name.clone(), "shared variables"));
                if let ast::SharedTy::Word { bits } = ty {
                    out.extend(bits.iter().map(|(b, _)| (b.name.clone(), "bits")));
                }
            }
            ast::Item::Queue { name, spinlock, .. } => out.push((
                name.name.clone(),
                if *spinlock {
                    "spinlocks"
                } else {
                    "wait queues"
                },
            )),
            _ => {}
        }
    }
    out
}

/// A field's declaration for object `obj`: its name (and a word's bits) prefixed with
/// `obj.`, and so is every field its `until` condition or initial value names.
fn renamed(t: &ast::Item, obj: &str, fields: &[String]) -> ast::Item {
    let id = |i: &ast::Ident| ast::Ident {
        name: format!("{obj}.{}", i.name),
        span: i.span,
    };
    let ex = |e: &ast::Expr| rename_fields(e, obj, fields);
    match t {
        ast::Item::Var {
            ty,
            name,
            len,
            init,
            span,
        } => {
            let ty = match ty {
                ast::SharedTy::Word { bits } => ast::SharedTy::Word {
                    bits: bits
                        .iter()
                        .map(|(b, v)| (id(b), v.as_ref().map(ex)))
                        .collect(),
                },
                other => other.clone(),
            };
            let init = init.as_ref().map(|i| match i {
                ast::Init::Value(e) => ast::Init::Value(ex(e)),
                ast::Init::List(es, s) => ast::Init::List(es.iter().map(ex).collect(), *s),
            });
            ast::Item::Var {
                ty,
                name: id(name),
                len: len.clone(),
                init,
                span: *span,
            }
        }
        ast::Item::Queue {
            name,
            len,
            until,
            span,
            spinlock,
        } => ast::Item::Queue {
            name: id(name),
            len: len.clone(),
            until: until.as_ref().map(ex),
            span: *span,
            spinlock: *spinlock,
        },
        other => other.clone(),
    }
}

/// `e` with every identifier that names one of `fields` prefixed with `obj.`.
fn rename_fields(e: &ast::Expr, obj: &str, fields: &[String]) -> ast::Expr {
    super::arrays::replace(e, &|x| match &x.kind {
        AK::Ident(n) if fields.contains(n) => Some(format!("{obj}.{n}")),
        _ => None,
    })
}
