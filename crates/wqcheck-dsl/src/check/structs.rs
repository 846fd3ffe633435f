//! Structs, as the kernel wraps a wait entry and passes a wake key:
//!
//! ```c
//! struct wait_page_queue { int page; int bit_nr; wait_queue_entry_t wait; };
//! struct wait_page_key { int page; int bit_nr; int page_match; };
//! ```
//!
//! A struct with a `wait_queue_entry_t` member is a **container**: a local of it *is* that
//! wait entry (`&wait_page.wait`), and its integer fields are bytes of the entry
//! ([`ir::EntryField::Data`]) that a wake function reaches through
//! `container_of(wait, struct wait_page_queue, wait)`, written by the owner before it
//! queues the entry and read under the queue's lock, as `wait->func` is.
//!
//! A struct of integers only is a **key**: a local of it is one local per field, and
//! `&key` is a [`ir::frame_ptr`] to them, which a wake walk hands to every wake function
//! (`__wake_up_locked_key(q, TASK_NORMAL, &key)`, `void *arg`), which reads and writes
//! `key->page_match` on the waker's own stack. Pointers to a struct are `struct NAME *`;
//! `void *` converts to and from them, as in C.

use wqcheck_model::ir::{self, EntryField, LocalId, Place, Span};

use crate::ast::{self, ExprKind as AK, TypeAst, TypeName};

use super::{err_expr, mk, Checker, TExpr, Ty};

/// The most integer fields a struct may have.
const MAX_FIELDS: usize = 8;

pub(super) struct StructInfo {
    pub name: String,
    /// The integer fields, in order.
    pub fields: Vec<String>,
    /// Which of them are `struct task_struct *` (a task, or NULL: a value like an
    /// integer, typed so that `wake_up_process(waiter->task)` takes it).
    pub task_fields: Vec<bool>,
    /// The name of the `wait_queue_entry_t` member, for a container.
    pub entry: Option<String>,
    /// For a shared object type (objects.rs): its fields' declarations. Empty otherwise.
    pub shared: Vec<ast::Item>,
    /// The objects of a shared object type, in declaration order (a pointer's value is
    /// the position here + 1).
    pub objects: Vec<String>,
}

/// What `base.field` or `base->field` of a struct is.
pub(super) enum Member {
    /// A field of a key local: a local of its own (and the field's type).
    Local(LocalId, Ty),
    /// A field of a key reached through a pointer.
    Frame(TExpr, u8, Ty),
    /// A field of a container: a byte of the entry (the entry pointer).
    Data(TExpr, u8, Ty),
    /// The wait entry member of a container (its pointer).
    Entry(TExpr),
}

impl Checker<'_> {
    /// `struct NAME { ... };` items, before anything that may name them.
    pub(super) fn declare_structs(&mut self, items: &[ast::Item]) {
        for item in items {
            let ast::Item::Struct {
                name,
                fields,
                shared,
            } = item
            else {
                continue;
            };
            if self.struct_ids.contains_key(&name.name) {
                self.error_help(
                    name.span,
                    format!("`struct {}` is declared twice", name.name),
                    "declare each struct once",
                );
                continue;
            }
            let mut info = StructInfo {
                name: name.name.clone(),
                fields: Vec::new(),
                task_fields: Vec::new(),
                entry: None,
                shared: Vec::new(),
                objects: Vec::new(),
            };
            if let Some(decls) = self.object_fields(&name.name, fields, shared) {
                let mut seen: Vec<&str> = Vec::new();
                for d in &decls {
                    let names: Vec<&ast::Ident> = match d {
                        ast::Item::Var { name, ty, .. } => {
                            let mut v = vec![name];
                            if let ast::SharedTy::Word { bits } = ty {
                                v.extend(bits.iter().map(|(b, _)| b));
                            }
                            v
                        }
                        ast::Item::Queue { name, .. } => vec![name],
                        _ => Vec::new(),
                    };
                    let twice = names.iter().find(|f| seen.contains(&f.name.as_str()));
                    if let Some(f) = twice {
                        self.error(
                            f.span,
                            format!("`{}` is declared twice in `struct {}`", f.name, name.name),
                        );
                        continue;
                    }
                    seen.extend(names.iter().map(|f| f.name.as_str()));
                    info.shared.push(d.clone());
                }
                let id = self.structs.len() as u8;
                self.structs.push(info);
                self.struct_ids.insert(name.name.clone(), id);
                continue;
            }
            for (ty, field) in fields {
                if info.fields.contains(&field.name) || info.entry.as_ref() == Some(&field.name) {
                    self.error(
                        field.span,
                        format!(
                            "`{}` is declared twice in `struct {}`",
                            field.name, name.name
                        ),
                    );
                    continue;
                }
                match ty.ty {
                    TypeName::Int | TypeName::Bool | TypeName::Task => {
                        info.fields.push(field.name.clone());
                        info.task_fields.push(ty.ty == TypeName::Task);
                    }
                    TypeName::Entry if info.entry.is_none() => {
                        info.entry = Some(field.name.clone())
                    }
                    TypeName::Entry => self.error_help(
                        field.span,
                        format!("`struct {}` has a second wait entry", name.name),
                        "a struct wraps one wait entry, as `struct wait_page_queue` does",
                    ),
                    _ => self.error_help(
                        ty.span,
                        format!(
                            "a struct's field is an integer, a task or its wait entry, not `{}`",
                            ty.ty.spelling()
                        ),
                        "write `int page;` for a pointer to another object: the model numbers its objects (`flags[page]`)",
                    ),
                }
            }
            if info.fields.is_empty() && info.entry.is_none() {
                self.error(name.span, format!("`struct {}` has no fields", name.name));
            }
            if info.fields.len() > MAX_FIELDS {
                self.error_help(
                    name.span,
                    format!(
                        "`struct {}` has {} integer fields; a struct has at most {MAX_FIELDS}",
                        name.name,
                        info.fields.len()
                    ),
                    "keep the fields the protocol reads",
                );
                info.fields.truncate(MAX_FIELDS);
                info.task_fields.truncate(MAX_FIELDS);
            }
            let id = self.structs.len() as u8;
            self.structs.push(info);
            self.struct_ids.insert(name.name.clone(), id);
        }
    }

    /// The data bytes every wait entry carries: the most fields of a container, and
    /// when `list_first_entry()` is used, the two of [`ir::Program::entry_home`] after
    /// them.
    pub(super) fn entry_data(&self) -> (u8, Option<u8>) {
        let most = self.structs.iter().filter(|s| s.entry.is_some());
        let most = most.map(|s| s.fields.len()).max().unwrap_or(0) as u8;
        if self.uses_list_first {
            (most + 2, Some(most))
        } else {
            (most, None)
        }
    }

    /// A type's name for messages, with its struct's name (`struct completion *`).
    pub(super) fn ty_name(&self, ty: Ty) -> String {
        let sname = |s: u8| {
            self.structs
                .get(s as usize)
                .map_or("?", |x| x.name.as_str())
        };
        match ty {
            Ty::Struct(s) | Ty::Container(s) => format!("struct {}", sname(s)),
            Ty::StructPtr(s) | Ty::ContainerPtr(s) | Ty::ObjectPtr(s) => {
                format!("struct {} *", sname(s))
            }
            other => other.name().to_string(),
        }
    }

    /// A type as written, with the model's structs resolved.
    pub(super) fn ty_of(&mut self, t: &TypeAst) -> Ty {
        let (span, ptr) = match t.ty {
            TypeName::Struct(span) => (span, false),
            TypeName::StructPtr(span) => (span, true),
            other => return Ty::from_ast(other),
        };
        let name = self
            .text
            .get(span.start as usize..span.end as usize)
            .unwrap_or("?")
            .to_string();
        let Some(&id) = self.struct_ids.get(&name) else {
            let mut known: Vec<String> = self
                .structs
                .iter()
                .map(|s| format!("`struct {}`", s.name))
                .collect();
            known.extend(["`struct task_struct *`", "`struct wake_q_head *`"].map(String::from));
            self.error_help(
                span,
                format!("unknown type `struct {name}`"),
                format!(
                    "declare it at top level (`struct {name} {{ int field; }};`); the types are {}",
                    known.join(", ")
                ),
            );
            return Ty::Err;
        };
        if self.is_object_struct(id) {
            if ptr {
                return Ty::ObjectPtr(id);
            }
            self.error_help(
                span,
                format!("`struct {name}` is a shared object type: it is not a local"),
                format!("declare its objects at top level (`struct {name} obj;`) and pass pointers to them (`&obj`, a `struct {name} *` parameter)"),
            );
            return Ty::Err;
        }
        let container = self.structs[id as usize].entry.is_some();
        match (container, ptr) {
            (false, false) => Ty::Struct(id),
            (true, false) => Ty::Container(id),
            (false, true) => Ty::StructPtr(id),
            (true, true) => Ty::ContainerPtr(id),
        }
    }

    /// Declares a local of a key struct: its first field under the local's name, the
    /// others as locals of their own, all kept live while the function runs.
    pub(super) fn declare_struct_local(&mut self, name: &ast::Ident, id: u8) -> Option<LocalId> {
        let first = self.declare_local(name, Ty::Struct(id))?;
        let fields = self.structs.get(id as usize).map_or(0, |s| s.fields.len());
        for k in 1..fields {
            let field = &self.structs[id as usize].fields[k];
            self.cx.locals.push(ir::Local {
                name: format!("{}.{field}", name.name),
                ty: ir::Type::Int,
                span: name.span,
                addressed: true,
            });
            self.cx.local_tys.push(Ty::Int);
        }
        if let Some(l) = self.cx.locals.get_mut(first as usize) {
            l.addressed = true;
        }
        Some(first)
    }

    /// `&x` for a struct local `x`.
    pub(super) fn struct_addr(&mut self, id: LocalId, ty: Ty, span: Span) -> TExpr {
        match ty {
            Ty::Container(s) => mk(ir::ExprKind::EntryAddr(id), Ty::ContainerPtr(s), span),
            Ty::Struct(s) => match ir::frame_ptr(self.cx.func, id) {
                Some(p) => mk(ir::ExprKind::Const(p), Ty::StructPtr(s), span),
                None => {
                    self.error_help(
                        span,
                        "the address of this struct does not fit the model",
                        "a struct whose address is taken must be among a function's first 128 locals, in one of the first 255 functions",
                    );
                    err_expr(span)
                }
            },
            _ => err_expr(span),
        }
    }

    /// `base.field` / `base->field` when `base` is a struct local, a pointer to a struct or
    /// a `container_of()`: `None` for anything else (an entry's own fields), `Some(None)`
    /// when it was wrong (reported).
    pub(super) fn struct_member(
        &mut self,
        base: &ast::Expr,
        field: &ast::Ident,
        arrow: bool,
    ) -> Option<Option<Member>> {
        let local = base.as_ident().and_then(|n| self.cx.scope.get(n).copied());
        let local_ty = local.and_then(|id| self.cx.local_tys.get(id as usize).copied());
        // A struct local, or the value of a pointer to one (evaluated once).
        let (sid, object, ptr) = match (local, local_ty, &base.kind) {
            (Some(id), Some(Ty::Struct(s) | Ty::Container(s)), _) => (s, Some(id), None),
            (_, Some(Ty::StructPtr(_) | Ty::ContainerPtr(_)), _)
            | (_, _, AK::ContainerOf { .. }) => {
                let v = self.value(base);
                match v.ty {
                    Ty::StructPtr(s) | Ty::ContainerPtr(s) => (s, None, Some(v)),
                    _ => return Some(None),
                }
            }
            _ => return None,
        };
        let sname = self
            .structs
            .get(sid as usize)
            .map_or("?", |s| s.name.as_str())
            .to_string();
        if object.is_some() && arrow {
            let n = base.as_ident().unwrap_or("?");
            self.error_help(
                base.span,
                format!("`{n}` is a `struct {sname}`, not a pointer"),
                format!("write `{n}.{}`", field.name),
            );
            return Some(None);
        }
        if object.is_none() && !arrow {
            self.error_help(
                field.span,
                format!("this is a pointer to `struct {sname}`: its fields are reached with `->`"),
                format!("write `->{}`", field.name),
            );
            return Some(None);
        }
        let info = &self.structs[sid as usize];
        let k = info.fields.iter().position(|f| *f == field.name);
        let fty = match k.and_then(|k| info.task_fields.get(k)) {
            Some(true) => Ty::Task,
            _ => Ty::Int,
        };
        let is_entry = info.entry.as_deref() == Some(field.name.as_str());
        let container = info.entry.is_some();
        if k.is_none() && !is_entry {
            let mut names: Vec<&str> = info.fields.iter().map(|f| f.as_str()).collect();
            names.extend(info.entry.as_deref());
            let help = format!("the fields of `struct {sname}` are {}", names.join(", "));
            self.error_help(
                field.span,
                format!("`struct {sname}` has no field `{}`", field.name),
                help,
            );
            return Some(None);
        }
        // The struct's own value: the entry's pointer for a container, the frame pointer
        // for a key reached by a pointer.
        let ptr = match (object, ptr) {
            (Some(id), _) if container => mk(ir::ExprKind::EntryAddr(id), Ty::EntryPtr, base.span),
            (Some(id), _) => {
                let k = k.unwrap_or(0) as LocalId;
                return Some(Some(Member::Local(id + k, fty)));
            }
            (None, Some(mut v)) => {
                if container {
                    v.ty = Ty::EntryPtr;
                }
                v
            }
            (None, None) => return Some(None),
        };
        Some(Some(match k {
            _ if is_entry => Member::Entry(ptr),
            Some(k) if container => Member::Data(ptr, k as u8, fty),
            Some(k) => Member::Frame(ptr, k as u8, fty),
            None => return Some(None),
        }))
    }

    /// The value of a struct member.
    pub(super) fn member_read(&mut self, m: Member, field: &ast::Ident, span: Span) -> TExpr {
        match m {
            Member::Local(id, ty) => mk(ir::ExprKind::Local(id), ty, span),
            Member::Frame(ptr, k, ty) => mk(
                ir::ExprKind::FrameField {
                    ptr: Box::new(ptr.e),
                    field: k,
                },
                ty,
                span,
            ),
            Member::Data(entry, k, ty) => mk(
                ir::ExprKind::Field {
                    entry: Box::new(entry.e),
                    field: EntryField::Data(k),
                },
                ty,
                span,
            ),
            Member::Entry(_) => {
                self.error_help(
                    span,
                    format!("`{}` is a wait entry, not a value", field.name),
                    format!(
                        "write `&...{}` for its pointer, or name one of its fields",
                        field.name
                    ),
                );
                err_expr(span)
            }
        }
    }

    /// A struct member as an assignment's target.
    pub(super) fn member_place(
        &mut self,
        m: Member,
        field: &ast::Ident,
        span: Span,
    ) -> Option<(Place, Ty)> {
        match m {
            Member::Local(id, ty) => Some((Place::Local(id), ty)),
            Member::Frame(ptr, k, ty) => Some((Place::FrameField(Box::new(ptr.e), k), ty)),
            Member::Data(entry, k, ty) => {
                Some((Place::Field(Box::new(entry.e), EntryField::Data(k)), ty))
            }
            Member::Entry(_) => {
                self.error_help(
                    span,
                    format!("cannot assign to the wait entry `{}`", field.name),
                    "set its fields instead, e.g. `.flags = 0`",
                );
                None
            }
        }
    }

    /// `container_of(ptr, struct NAME, member)`: the container of the wait entry `ptr`;
    /// with `list_first`, `list_first_entry(head, struct NAME, member)`: the container of
    /// the first entry on the queue `head` (kernel/locking/semaphore.c's `__up()`).
    pub(super) fn container_of(
        &mut self,
        ptr: &ast::Expr,
        ty: &TypeAst,
        member: &ast::Ident,
        list_first: bool,
        span: Span,
    ) -> TExpr {
        let v = if list_first {
            self.uses_list_first = true;
            let def = crate::builtins::lookup("list_first_entry").expect("a builtin");
            match self.builtin_arg(def, ptr, crate::builtins::ArgKind::Queue) {
                Some(crate::builtins::LArg::Queue(q)) => mk(
                    ir::ExprKind::Builtin {
                        op: ir::Builtin::ListFirst(q),
                        args: vec![],
                    },
                    Ty::EntryPtr,
                    span,
                ),
                _ => err_expr(span),
            }
        } else {
            self.value(ptr)
        };
        let want = match ty.ty {
            TypeName::Struct(_) => self.ty_of(ty),
            _ => Ty::Void,
        };
        let Ty::Container(sid) = want else {
            if want != Ty::Err {
                let (name, form) = if list_first {
                    (
                        "list_first_entry",
                        "list_first_entry(&head, struct NAME, MEMBER)",
                    )
                } else {
                    ("container_of", "container_of(wait, struct NAME, MEMBER)")
                };
                self.error_help(
                    ty.span,
                    format!("`{name}()` here finds the struct around a wait entry"),
                    format!("write `{form}` for a struct with a `wait_queue_entry_t MEMBER;`"),
                );
            }
            return err_expr(span);
        };
        let entry = self.structs[sid as usize].entry.clone().unwrap_or_default();
        if entry != member.name {
            let sname = self.structs[sid as usize].name.clone();
            self.error_help(
                member.span,
                format!(
                    "`{}` is not the wait entry of `struct {sname}`",
                    member.name
                ),
                format!("its wait entry is `{entry}`"),
            );
            return err_expr(span);
        }
        match v.ty {
            Ty::EntryPtr | Ty::Err => {}
            t => {
                self.error_help(
                    ptr.span,
                    format!(
                        "`container_of()` needs a `wait_queue_entry_t *`, found `{}`",
                        t.name()
                    ),
                    "pass the wake function's `wait`",
                );
                return err_expr(span);
            }
        }
        TExpr {
            e: ir::Expr { span, ..v.e },
            ty: Ty::ContainerPtr(sid),
        }
    }
}
