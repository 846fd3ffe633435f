//! Lowering of the tree IR to flat code: one instruction list for the whole program, a
//! register machine whose registers ("slots") are a function's locals and temporaries.
//!
//! Why flat code: a thread's position must be a small number (the `pc`) so that a state is
//! a short byte string, and the atomicity rule of docs/dsl.md §7 ("a step is one shared
//! operation and the local operations after it") needs every shared operation to be one
//! instruction. The compiler also computes, per instruction, which slots are live: the
//! engines zero dead slots at the end of a step so that a value nobody will read again
//! never tells two states apart.

use crate::ir::{
    BinOp, Builtin, EntryField, Expr, ExprKind, FuncId, Instance, LabelId, Place, Program, QueueId,
    Span, Stmt, StmtKind, Type, UnOp, Value, VarId,
};

/// An instruction index.
pub type Pc = u16;
/// A slot index within one function's frame.
pub type Slot = u16;

/// `pc` value of a thread that has returned from its body.
pub const PC_DONE: Pc = Pc::MAX;

/// The most slots one function may use (the liveness masks are `u128`).
pub const MAX_SLOTS: usize = 128;

/// The most wake_q head locals in a program (each takes 2 bytes of every thread's part).
pub const MAX_WAKE_QS: usize = 8;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Opnd {
    Slot(Slot),
    Imm(Value),
    /// The handle of this thread's instance of entry local number `n` (see [`Code::entries`]).
    OwnEntry(u8),
    /// `current`.
    Current,
}

#[derive(Clone, Debug)]
pub enum Instr {
    Move {
        dst: Slot,
        src: Opnd,
    },
    Unary {
        dst: Slot,
        op: UnOp,
        a: Opnd,
    },
    Binary {
        dst: Slot,
        op: BinOp,
        a: Opnd,
        b: Opnd,
    },
    Jump(Pc),
    Branch {
        cond: Opnd,
        then_pc: Pc,
        else_pc: Pc,
    },
    /// `if (a op b)` without a temporary: branch on a comparison or a bit test.
    BranchBin {
        op: BinOp,
        a: Opnd,
        b: Opnd,
        then_pc: Pc,
        else_pc: Pc,
    },
    Call {
        func: FuncId,
        args: Box<[Opnd]>,
        dst: Option<Slot>,
    },
    Return(Option<Opnd>),
    Assert {
        cond: Opnd,
    },
    /// The index of a [`ExprKind::Select`] matched none of its `len` arms: a run-time
    /// error naming `Program::arrays[array]`.
    IndexOutOfBounds {
        index: Opnd,
        len: u16,
        array: u16,
    },
    AtomicBegin,
    AtomicEnd,
    /// A label an actor waits for (`after: ("thread", "label")`): if the running thread is
    /// `thread`, the actor may act from now on. One step of its own.
    PassLabel {
        actor: u8,
        thread: u8,
    },
    ReadVar {
        dst: Slot,
        var: VarId,
    },
    WriteVar {
        var: VarId,
        src: Opnd,
    },
    ReadField {
        dst: Slot,
        entry: Opnd,
        field: EntryField,
    },
    WriteField {
        entry: Opnd,
        field: EntryField,
        src: Opnd,
    },
    /// `dst = ptr->field` for a pointer to a struct local of this thread
    /// ([`crate::ir::frame_ptr`]): a slot of an active frame below this one.
    ReadFrame {
        dst: Slot,
        ptr: Opnd,
        field: u8,
    },
    /// `ptr->field = src`.
    WriteFrame {
        ptr: Opnd,
        field: u8,
        src: Opnd,
    },
    Builtin {
        op: Builtin,
        args: Box<[Opnd]>,
        dst: Option<Slot>,
    },
    /// Start a `__wake_up_common` walk of `queue` (the lock is held).
    WalkBegin {
        queue: QueueId,
        mode: Opnd,
        nr: Opnd,
        /// The key each wake function gets (`__wake_up_locked_key(q, mode, &key)`).
        key: Opnd,
    },
    /// Take the next entry of the walk and call its wake function; jump to `done` when the
    /// list is exhausted.
    WalkNext {
        done: Pc,
    },
    /// Account for the wake function's return value; continue at `next` or stop at `done`.
    /// The second half of `autoremove_wake_function()`: `list_del_init_careful(&wait->entry)`
    /// once its `try_to_wake_up()` succeeded, of entry `Some(op)` (a call in a model wake
    /// function, compiled after a branch on the wake-up's result) or of the walk's current
    /// entry (`None`: the entry's own function, checked here). A step of its own, because
    /// the woken task may run between the wake-up and the unlink (which is why
    /// `finish_wait()` exists).
    AutoremoveUnlink(Option<Opnd>),
    WalkAfter {
        next: Pc,
        done: Pc,
    },
    WalkEnd,
    /// The sleeping half of `futex_wait` on futex queue `queue`: `dst` gets 0 (woken) or
    /// -EINTR.
    FutexSleep {
        dst: Slot,
        queue: QueueId,
    },
}

/// Whether an instruction is a shared operation (docs/dsl.md §7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Visibility {
    Local,
    Shared,
    /// Shared unless the entry (the given operand) belongs to the running thread and is not
    /// linked on any queue.
    EntryDependent(Opnd),
    /// `WalkNext`: shared if the next entry's wake function is a builtin (it runs
    /// try_to_wake_up at once); local if the walk is over or calls a model function.
    WalkDependent,
    /// `AutoremoveUnlink(None)`: shared if it unlinks (the walk's current entry's function
    /// is `autoremove_wake_function` and it woke its task), local otherwise.
    WalkUnlinkDependent,
}

#[derive(Clone, Debug)]
pub struct FuncInfo {
    pub name: String,
    pub entry: Pc,
    pub nparams: usize,
    pub nslots: usize,
    /// Offset of this function's slots in a thread's slot array.
    pub slot_base: usize,
    /// Index of this function's return pc in a thread's return-pc array.
    pub ret_index: usize,
    pub returns_value: bool,
    /// Slots that stay live from the function's start to its return: the fields of its
    /// struct locals, which a callee may read through a pointer ([`crate::ir::Local`]'s
    /// `addressed`).
    pub pinned: u128,
}

/// One entry local of the program: every thread has its own instance of each.
#[derive(Clone, Debug)]
pub struct EntryLocal {
    pub func: FuncId,
    pub name: String,
}

#[derive(Clone, Debug)]
pub struct Code {
    pub instrs: Vec<Instr>,
    /// Source span per instruction (the expression or statement it came from).
    pub spans: Vec<Span>,
    /// Function per instruction.
    pub func_of: Vec<FuncId>,
    pub visibility: Vec<Visibility>,
    /// `visibility` as one byte for the interpreter's fast path: 0 local, 1 shared,
    /// 2 depends on the state.
    pub visibility_class: Vec<u8>,
    /// Live-in slot mask per instruction (slots of `func_of[pc]`).
    pub live: Vec<u128>,
    pub funcs: Vec<FuncInfo>,
    /// Entry locals, in handle order. The futex queue entry of a thread is one more, last.
    pub entries: Vec<EntryLocal>,
    /// Whether any instruction is a `futex_wait`.
    pub uses_futex: bool,
    /// wake_q head locals (`DEFINE_WAKE_Q(h);`), numbered as their `WakeQPtr` values - 1.
    /// Like entries, every thread has its own instance of each, allocated statically.
    pub wake_qs: Vec<EntryLocal>,
    /// Whether any instruction is a `wake_q_add()`: then every task has a `wake_q` node.
    pub uses_wake_q: bool,
    /// Whether any instruction arms a timer (`schedule_timeout()`): then every thread has
    /// a timer word, and a thread that can reach it a timer actor.
    pub uses_timers: bool,
    /// Whether a wake function may start a wake walk of its own (directly or through the
    /// functions it calls): then a thread may have two walks in progress.
    pub nested_walks: bool,
    /// Whether some wake walk passes a key (`__wake_up_locked_key(q, mode, &key)`): then a
    /// walk in progress keeps it for each wake function.
    pub keyed_walks: bool,
    pub total_slots: usize,
    /// Return-pc words per thread.
    pub total_rets: usize,
}

impl Code {
    /// Entry slots per thread: the entry locals, plus one for `futex_wait` when the program
    /// uses it (the last slot).
    pub fn entries_per_thread(&self) -> usize {
        self.entries.len() + self.uses_futex as usize
    }
}

#[derive(Debug)]
pub struct CompileError(pub String);

/// Numbers the program's locals of type `ty` (wait entries, wake_q heads) into `all`:
/// every thread has its own instance of each, allocated statically in its part. Returns,
/// per function and local, the local's number.
fn number_locals(
    prog: &Program,
    ty: Type,
    max: usize,
    what: &str,
    all: &mut Vec<EntryLocal>,
) -> Result<Vec<Vec<Option<u8>>>, CompileError> {
    let mut of_func = Vec::with_capacity(prog.functions.len());
    for (fi, f) in prog.functions.iter().enumerate() {
        let mut numbers = Vec::with_capacity(f.locals.len());
        for l in &f.locals {
            if l.ty != ty {
                numbers.push(None);
                continue;
            }
            if all.len() >= max {
                return Err(CompileError(format!(
                    "more than {max} {what} locals in the program"
                )));
            }
            numbers.push(Some(all.len() as u8));
            all.push(EntryLocal {
                func: fi as FuncId,
                name: l.name.clone(),
            });
        }
        of_func.push(numbers);
    }
    Ok(of_func)
}

pub fn compile(inst: &Instance) -> Result<Code, CompileError> {
    let prog = &inst.program;
    let afters = inst
        .actors
        .iter()
        .enumerate()
        .filter_map(|(a, actor)| match actor {
            crate::ir::Actor::Signal {
                after: Some(after), ..
            } => Some((a as u8, *after)),
            _ => None,
        })
        .collect();
    let mut c = Compiler {
        afters,
        code: Code {
            instrs: Vec::new(),
            spans: Vec::new(),
            func_of: Vec::new(),
            visibility: Vec::new(),
            visibility_class: Vec::new(),
            live: Vec::new(),
            funcs: Vec::new(),
            entries: Vec::new(),
            uses_futex: false,
            wake_qs: Vec::new(),
            uses_wake_q: false,
            uses_timers: false,
            nested_walks: false,
            keyed_walks: false,
            total_slots: 0,
            total_rets: 0,
        },
        cur_func: 0,
        nslots: 0,
        temp_base: 0,
        temp_next: 0,
        loops: Vec::new(),
        labels: Vec::new(),
        gotos: Vec::new(),
        entry_of_local: Vec::new(),
        wake_q_of_local: Vec::new(),
        wake_fns: Vec::new(),
    };
    let entries_of_func = number_locals(prog, Type::Entry, 14, "wait entry", &mut c.code.entries)?;
    let wake_qs_of_func = number_locals(
        prog,
        Type::WakeQ,
        MAX_WAKE_QS,
        "wake_q head",
        &mut c.code.wake_qs,
    )?;
    let mut slot_base = 0;
    for (fi, f) in prog.functions.iter().enumerate() {
        c.cur_func = fi as FuncId;
        c.entry_of_local = entries_of_func[fi].clone();
        c.wake_q_of_local = wake_qs_of_func[fi].clone();
        c.nslots = f.locals.len();
        c.temp_base = f.locals.len();
        c.temp_next = c.temp_base;
        c.labels = vec![None; f.labels];
        c.gotos.clear();
        let entry = c.here()?;
        c.block(&f.body)?;
        // Falling off the end returns (0 for an int function, as a compiled C function would
        // return garbage: the checker warns about it).
        c.emit(Instr::Return(None), f.span);
        for &(at, label) in &c.gotos {
            let target = c.labels[label as usize]
                .ok_or_else(|| CompileError(format!("label {label} is never defined")))?;
            c.code.instrs[at] = Instr::Jump(target);
        }
        if c.nslots > MAX_SLOTS {
            return Err(CompileError(format!(
                "function `{}` needs {} locals and temporaries; the limit is {MAX_SLOTS}",
                f.name, c.nslots
            )));
        }
        c.code.funcs.push(FuncInfo {
            name: f.name.clone(),
            entry,
            nparams: f.params,
            nslots: c.nslots,
            slot_base,
            ret_index: fi,
            returns_value: f.ret != Type::Void,
            pinned: f
                .locals
                .iter()
                .enumerate()
                .filter(|(i, l)| l.addressed && *i < 128)
                .fold(0, |m, (i, _)| m | 1u128 << i),
        });
        slot_base += c.nslots;
    }
    c.code.total_slots = slot_base;
    c.code.total_rets = prog.functions.len();
    let wake_fns = std::mem::take(&mut c.wake_fns);
    c.code.nested_walks = walks_in(&c.code, &wake_fns);
    overlay_frames(&mut c.code, &wake_fns);
    if c.code.instrs.len() >= PC_DONE as usize {
        return Err(CompileError("program too large".into()));
    }
    c.code.uses_futex = c.code.instrs.iter().any(|i| {
        matches!(
            i,
            Instr::Builtin {
                op: Builtin::FutexWait(_),
                ..
            }
        )
    });
    c.code.uses_wake_q = c.code.instrs.iter().any(|i| {
        matches!(
            i,
            Instr::Builtin {
                op: Builtin::WakeQAdd,
                ..
            }
        )
    });
    c.code.keyed_walks = c
        .code
        .instrs
        .iter()
        .any(|i| matches!(i, Instr::WalkBegin { key, .. } if *key != Opnd::Imm(0)));
    c.code.uses_timers = c.code.instrs.iter().any(|i| {
        matches!(
            i,
            Instr::Builtin {
                op: Builtin::TimerArm,
                ..
            }
        )
    });
    c.code.visibility = c.code.instrs.iter().map(visibility).collect();
    c.code.visibility_class = c
        .code
        .visibility
        .iter()
        .map(|v| match v {
            Visibility::Local => 0,
            Visibility::Shared => 1,
            _ => 2,
        })
        .collect();
    c.code.live = liveness(&c.code);
    Ok(c.code)
}

/// Whether one of `roots`, or a function it calls (transitively), has an instruction
/// for which `found` holds.
fn reaches(code: &Code, roots: &[FuncId], found: impl Fn(&Instr) -> bool) -> bool {
    let n = code.funcs.len();
    let mut reached = vec![false; n];
    let mut todo: Vec<usize> = roots.iter().map(|&f| f as usize).collect();
    while let Some(f) = todo.pop() {
        if f >= n || std::mem::replace(&mut reached[f], true) {
            continue;
        }
        for (pc, i) in code.instrs.iter().enumerate() {
            if code.func_of[pc] as usize != f {
                continue;
            }
            if found(i) {
                return true;
            }
            if let Instr::Call { func, .. } = i {
                todo.push(*func as usize);
            }
        }
    }
    false
}

/// Whether one of `wake_fns`, or a function it calls (transitively), starts a wake walk.
fn walks_in(code: &Code, wake_fns: &[FuncId]) -> bool {
    reaches(code, wake_fns, |i| matches!(i, Instr::WalkBegin { .. }))
}

/// Whether a thread that runs `func` can arm its timer (reach a `schedule_timeout()`):
/// then it has a timer actor.
pub fn reaches_timed_sleep(code: &Code, func: FuncId) -> bool {
    reaches(code, &[func], |i| {
        matches!(
            i,
            Instr::Builtin {
                op: Builtin::TimerArm,
                ..
            }
        )
    })
}

/// Give functions that can never be active at the same time in one thread the same frame
/// space, as a C stack would: a function's slots (and its return-pc word) start after those
/// of every function that can call it. Without recursion the call graph is acyclic; a
/// wake function counts as called by every function that runs a wake-up walk. If the graph
/// has a cycle anyway, every function keeps a frame of its own.
fn overlay_frames(code: &mut Code, wake_fns: &[FuncId]) {
    let n = code.funcs.len();
    let mut callers: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (pc, i) in code.instrs.iter().enumerate() {
        let from = code.func_of[pc] as usize;
        match i {
            Instr::Call { func, .. } => callers[*func as usize].push(from),
            Instr::WalkNext { .. } => {
                for &w in wake_fns {
                    callers[w as usize].push(from);
                }
            }
            _ => {}
        }
    }
    // offset(f) = max over callers g of offset(g) + size(g); computed by iterating to a
    // fixed point, which a cycle would prevent within n rounds.
    let mut slot = vec![0usize; n];
    let mut ret = vec![0usize; n];
    let mut stable = false;
    for _ in 0..=n {
        stable = true;
        for f in 0..n {
            let (mut so, mut ro) = (0, 0);
            for &g in &callers[f] {
                so = so.max(slot[g] + code.funcs[g].nslots);
                ro = ro.max(ret[g] + 1);
            }
            if so != slot[f] || ro != ret[f] {
                slot[f] = so;
                ret[f] = ro;
                stable = false;
            }
        }
        if stable {
            break;
        }
    }
    if !stable {
        return;
    }
    for (f, info) in code.funcs.iter_mut().enumerate() {
        info.slot_base = slot[f];
        info.ret_index = ret[f];
    }
    code.total_slots = code
        .funcs
        .iter()
        .map(|f| f.slot_base + f.nslots)
        .max()
        .unwrap_or(0);
    code.total_rets = code
        .funcs
        .iter()
        .map(|f| f.ret_index + 1)
        .max()
        .unwrap_or(0);
}

fn visibility(i: &Instr) -> Visibility {
    use Visibility::*;
    match i {
        Instr::Move { .. }
        | Instr::Unary { .. }
        | Instr::Binary { .. }
        | Instr::Jump(_)
        | Instr::Branch { .. }
        | Instr::BranchBin { .. }
        | Instr::Call { .. }
        | Instr::Return(_)
        | Instr::Assert { .. }
        | Instr::IndexOutOfBounds { .. }
        | Instr::ReadFrame { .. }
        | Instr::WriteFrame { .. }
        | Instr::AtomicEnd
        | Instr::WalkBegin { .. }
        | Instr::WalkAfter { .. }
        | Instr::WalkEnd => Local,
        Instr::AtomicBegin
        | Instr::ReadVar { .. }
        | Instr::WriteVar { .. }
        | Instr::PassLabel { .. } => Shared,
        Instr::FutexSleep { .. } => Shared,
        // `wait->private` never changes while the entry exists: reading it is local. A
        // struct's own fields around an entry change only while the entry is off every
        // queue, by its owner, and are read by others only while it is on one (both
        // checked at run time): local too. With `list_first_entry()`, others may also
        // read and write them under the lock of the list the entry was on, and then the
        // owner only under it too (checked at run time): whoever holds that lock is
        // the only one who can touch them, so those accesses are local as well.
        Instr::ReadField {
            field: EntryField::Private | EntryField::Data(_),
            ..
        }
        | Instr::WriteField {
            field: EntryField::Data(_),
            ..
        } => Local,
        Instr::ReadField { entry, .. } | Instr::WriteField { entry, .. } => EntryDependent(*entry),
        Instr::WalkNext { .. } => WalkDependent,
        Instr::AutoremoveUnlink(None) => WalkUnlinkDependent,
        Instr::AutoremoveUnlink(Some(entry)) => EntryDependent(*entry),
        Instr::Builtin { op, args, .. } => match op {
            // A wake_q head is on its owner's stack: initialising and testing it is local.
            Builtin::Fence(_) | Builtin::InitWait | Builtin::WakeQInit | Builtin::WakeQEmpty => {
                Local
            }
            Builtin::ListEmpty { .. } | Builtin::ListDelInit { .. } => EntryDependent(args[0]),
            Builtin::Load { loc, .. }
            | Builtin::Store { loc, .. }
            | Builtin::Rmw { loc, .. }
            | Builtin::RmwReturn { loc, .. }
            | Builtin::CmpXchg { loc, .. }
                if *loc == crate::ir::Loc::EntryFlags =>
            {
                EntryDependent(args[0])
            }
            _ => Shared,
        },
    }
}

/// A branch instruction's target still to be filled in.
#[derive(Clone, Copy)]
enum Fix {
    Then(usize),
    Else(usize),
}

struct LoopCtx {
    break_fixups: Vec<usize>,
    continue_fixups: Vec<usize>,
}

struct Compiler {
    code: Code,
    /// The actors that wait for a label: (actor, where).
    afters: Vec<(u8, crate::ir::After)>,
    cur_func: FuncId,
    nslots: usize,
    temp_base: usize,
    temp_next: usize,
    loops: Vec<LoopCtx>,
    labels: Vec<Option<Pc>>,
    gotos: Vec<(usize, LabelId)>,
    entry_of_local: Vec<Option<u8>>,
    /// Per local of the current function: its wake_q head number, if it is a `WakeQ` local.
    wake_q_of_local: Vec<Option<u8>>,
    /// Functions used as wake functions (`wait->func = f`).
    wake_fns: Vec<FuncId>,
}

const PLACEHOLDER: Pc = 0;

impl Compiler {
    fn here(&self) -> Result<Pc, CompileError> {
        let n = self.code.instrs.len();
        if n >= PC_DONE as usize {
            return Err(CompileError("program too large".into()));
        }
        Ok(n as Pc)
    }

    fn emit(&mut self, i: Instr, span: Span) -> usize {
        self.code.instrs.push(i);
        self.code.spans.push(span);
        self.code.func_of.push(self.cur_func);
        self.code.instrs.len() - 1
    }

    fn temp(&mut self) -> Slot {
        let s = self.temp_next;
        self.temp_next += 1;
        self.nslots = self.nslots.max(self.temp_next);
        s as Slot
    }

    fn patch_jump(&mut self, at: usize, target: Pc) {
        match &mut self.code.instrs[at] {
            Instr::Jump(t) => *t = target,
            Instr::WalkNext { done } => *done = target,
            Instr::WalkAfter { done, .. } => *done = target,
            _ => {}
        }
    }

    fn fix(&mut self, fixes: &[Fix], target: Pc) {
        for f in fixes {
            let (at, then_side) = match *f {
                Fix::Then(a) => (a, true),
                Fix::Else(a) => (a, false),
            };
            match &mut self.code.instrs[at] {
                Instr::Jump(t) => *t = target,
                Instr::Branch {
                    then_pc, else_pc, ..
                }
                | Instr::BranchBin {
                    then_pc, else_pc, ..
                } => {
                    if then_side {
                        *then_pc = target;
                    } else {
                        *else_pc = target;
                    }
                }
                _ => {}
            }
        }
    }

    /// Compile `e` as a condition: jumps whose "true" and "false" targets are returned as
    /// fixups. `!`, `&&` and `||` become control flow and comparisons branch directly, so a
    /// condition needs no temporaries.
    fn cond(&mut self, e: &Expr) -> Result<(Vec<Fix>, Vec<Fix>), CompileError> {
        match &e.kind {
            ExprKind::Unary(UnOp::Not, a) => {
                let (t, f) = self.cond(a)?;
                Ok((f, t))
            }
            ExprKind::Binary(BinOp::And, a, b) => {
                let (ta, fa) = self.cond(a)?;
                let here = self.here()?;
                self.fix(&ta, here);
                let (tb, mut fb) = self.cond(b)?;
                fb.extend(fa);
                Ok((tb, fb))
            }
            ExprKind::Binary(BinOp::Or, a, b) => {
                let (mut ta, fa) = self.cond(a)?;
                let here = self.here()?;
                self.fix(&fa, here);
                let (tb, fb) = self.cond(b)?;
                ta.extend(tb);
                Ok((ta, fb))
            }
            ExprKind::Binary(
                op @ (BinOp::Eq
                | BinOp::Ne
                | BinOp::Lt
                | BinOp::Le
                | BinOp::Gt
                | BinOp::Ge
                | BinOp::BitAnd),
                a,
                b,
            ) => {
                let av = self.expr(a)?;
                let bv = self.expr(b)?;
                if let (Opnd::Imm(x), Opnd::Imm(y)) = (av, bv) {
                    let at = self.emit(Instr::Jump(PLACEHOLDER), e.span);
                    let truth = eval_binary(*op, x, y).unwrap_or(0) != 0;
                    return Ok(if truth {
                        (vec![Fix::Then(at)], vec![])
                    } else {
                        (vec![], vec![Fix::Then(at)])
                    });
                }
                let at = self.emit(
                    Instr::BranchBin {
                        op: *op,
                        a: av,
                        b: bv,
                        then_pc: PLACEHOLDER,
                        else_pc: PLACEHOLDER,
                    },
                    e.span,
                );
                Ok((vec![Fix::Then(at)], vec![Fix::Else(at)]))
            }
            _ => {
                let v = self.expr(e)?;
                if let Opnd::Imm(x) = v {
                    let at = self.emit(Instr::Jump(PLACEHOLDER), e.span);
                    return Ok(if x != 0 {
                        (vec![Fix::Then(at)], vec![])
                    } else {
                        (vec![], vec![Fix::Then(at)])
                    });
                }
                let at = self.emit(
                    Instr::Branch {
                        cond: v,
                        then_pc: PLACEHOLDER,
                        else_pc: PLACEHOLDER,
                    },
                    e.span,
                );
                Ok((vec![Fix::Then(at)], vec![Fix::Else(at)]))
            }
        }
    }

    fn block(&mut self, stmts: &[Stmt]) -> Result<(), CompileError> {
        for s in stmts {
            self.stmt(s)?;
        }
        Ok(())
    }

    fn stmt(&mut self, s: &Stmt) -> Result<(), CompileError> {
        // Temporaries never outlive a statement.
        let saved = self.temp_next;
        let r = self.stmt_inner(s);
        self.temp_next = saved;
        r
    }

    fn stmt_inner(&mut self, s: &Stmt) -> Result<(), CompileError> {
        match &s.kind {
            StmtKind::Expr(e) => {
                self.expr_effect(e)?;
            }
            StmtKind::If {
                cond,
                then_branch,
                else_branch,
            } => {
                let (t, f) = self.cond(cond)?;
                let then_pc = self.here()?;
                self.fix(&t, then_pc);
                self.block(then_branch)?;
                if else_branch.is_empty() {
                    let end = self.here()?;
                    self.fix(&f, end);
                } else {
                    let j = self.emit(Instr::Jump(PLACEHOLDER), s.span);
                    let else_pc = self.here()?;
                    self.fix(&f, else_pc);
                    self.block(else_branch)?;
                    let end = self.here()?;
                    self.fix(&[Fix::Then(j)], end);
                }
            }
            StmtKind::Loop {
                cond,
                test_first,
                body,
                step,
            } => {
                let top = self.here()?;
                let mut exits = Vec::new();
                if *test_first {
                    if let Some(cond) = cond {
                        let (t, f) = self.cond(cond)?;
                        let b = self.here()?;
                        self.fix(&t, b);
                        exits = f;
                    }
                }
                self.loops.push(LoopCtx {
                    break_fixups: Vec::new(),
                    continue_fixups: Vec::new(),
                });
                self.block(body)?;
                let cont = self.here()?;
                if let Some(step) = step {
                    self.expr_effect(step)?;
                }
                match (test_first, cond) {
                    (false, Some(cond)) => {
                        let (t, f) = self.cond(cond)?;
                        self.fix(&t, top);
                        exits = f;
                    }
                    _ => {
                        self.emit(Instr::Jump(top), s.span);
                    }
                }
                let exit = self.here()?;
                self.fix(&exits, exit);
                let l = self
                    .loops
                    .pop()
                    .ok_or_else(|| CompileError("loop stack underflow".into()))?;
                for at in l.break_fixups {
                    self.patch_jump(at, exit);
                }
                for at in l.continue_fixups {
                    self.patch_jump(at, cont);
                }
            }
            StmtKind::Break | StmtKind::Continue => {
                let at = self.emit(Instr::Jump(PLACEHOLDER), s.span);
                let is_break = matches!(s.kind, StmtKind::Break);
                let l = self
                    .loops
                    .last_mut()
                    .ok_or_else(|| CompileError("break or continue outside a loop".into()))?;
                if is_break {
                    l.break_fixups.push(at);
                } else {
                    l.continue_fixups.push(at);
                }
            }
            StmtKind::Return(e) => {
                let v = match e {
                    Some(e) => Some(self.expr(e)?),
                    None => None,
                };
                self.emit(Instr::Return(v), s.span);
            }
            StmtKind::Atomic(body) => {
                // The block's span is its first operation's for the trace.
                self.emit(Instr::AtomicBegin, s.span);
                self.block(body)?;
                self.emit(Instr::AtomicEnd, s.span);
            }
            StmtKind::Block(body) => self.block(body)?,
            StmtKind::Label(l) => {
                let here = self.here()?;
                if let Some(slot) = self.labels.get_mut(*l as usize) {
                    *slot = Some(here);
                }
                let waiting: Vec<(u8, u8)> = self
                    .afters
                    .iter()
                    .filter(|(_, a)| a.func == self.cur_func && a.label == *l)
                    .map(|(actor, a)| (*actor, a.thread))
                    .collect();
                for (actor, thread) in waiting {
                    self.emit(Instr::PassLabel { actor, thread }, s.span);
                }
            }
            StmtKind::Goto(l) => {
                let at = self.emit(Instr::Jump(PLACEHOLDER), s.span);
                self.gotos.push((at, *l));
            }
            StmtKind::Assert(e) => {
                let c = self.expr(e)?;
                self.emit(Instr::Assert { cond: c }, e.span);
            }
        }
        Ok(())
    }

    fn set_branch(&mut self, at: usize, then_pc: Option<Pc>, else_pc: Option<Pc>) {
        if let Instr::Branch {
            then_pc: t,
            else_pc: e,
            ..
        } = &mut self.code.instrs[at]
        {
            if let Some(x) = then_pc {
                *t = x;
            }
            if let Some(x) = else_pc {
                *e = x;
            }
        }
    }

    /// Evaluate for effects only.
    fn expr_effect(&mut self, e: &Expr) -> Result<(), CompileError> {
        self.expr_into(e, None)?;
        Ok(())
    }

    fn expr(&mut self, e: &Expr) -> Result<Opnd, CompileError> {
        self.expr_into(e, Some(()))
            .map(|o| o.unwrap_or(Opnd::Imm(0)))
    }

    /// Compile `e`; if `want` is Some, return an operand holding its value.
    fn expr_into(&mut self, e: &Expr, want: Option<()>) -> Result<Option<Opnd>, CompileError> {
        let span = e.span;
        Ok(Some(match &e.kind {
            ExprKind::Const(v) => Opnd::Imm(*v),
            ExprKind::Local(l) => Opnd::Slot(*l),
            ExprKind::EntryAddr(l) => match self.entry_of_local.get(*l as usize).copied().flatten()
            {
                Some(n) => Opnd::OwnEntry(n),
                None => return Err(CompileError("address of a non-entry local".into())),
            },
            ExprKind::WakeQAddr(l) => {
                match self.wake_q_of_local.get(*l as usize).copied().flatten() {
                    Some(n) => Opnd::Imm(n as Value + 1),
                    None => return Err(CompileError("address of a non-wake_q local".into())),
                }
            }
            ExprKind::Current => Opnd::Current,
            ExprKind::FuncRef(f) => {
                if !self.wake_fns.contains(f) {
                    self.wake_fns.push(*f);
                }
                Opnd::Imm(*f as Value + 2)
            }
            ExprKind::Shared(v) => {
                let dst = self.temp();
                self.emit(Instr::ReadVar { dst, var: *v }, span);
                Opnd::Slot(dst)
            }
            // A plain read of a bit of a word is `test_bit()`: a relaxed load of the word.
            ExprKind::SharedBit(b) => {
                let dst = self.temp();
                self.emit(
                    Instr::Builtin {
                        op: Builtin::TestBit(*b),
                        args: Box::new([]),
                        dst: Some(dst),
                    },
                    span,
                );
                Opnd::Slot(dst)
            }
            ExprKind::Unary(op, a) => {
                let a = self.expr(a)?;
                if let Opnd::Imm(x) = a {
                    Opnd::Imm(eval_unary(*op, x))
                } else {
                    let dst = self.temp();
                    self.emit(Instr::Unary { dst, op: *op, a }, span);
                    Opnd::Slot(dst)
                }
            }
            ExprKind::Binary(op @ (BinOp::And | BinOp::Or), a, b) => {
                // dst = a ? (b != 0) : 0   for &&;   dst = a ? 1 : (b != 0)   for ||
                let dst = self.temp();
                let av = self.expr(a)?;
                let br = self.emit(
                    Instr::Branch {
                        cond: av,
                        then_pc: PLACEHOLDER,
                        else_pc: PLACEHOLDER,
                    },
                    a.span,
                );
                let eval_b = self.here()?;
                let bv = self.expr(b)?;
                self.emit(
                    Instr::Binary {
                        dst,
                        op: BinOp::Ne,
                        a: bv,
                        b: Opnd::Imm(0),
                    },
                    b.span,
                );
                let j = self.emit(Instr::Jump(PLACEHOLDER), span);
                let short = self.here()?;
                let short_val = if *op == BinOp::And { 0 } else { 1 };
                self.emit(
                    Instr::Move {
                        dst,
                        src: Opnd::Imm(short_val),
                    },
                    span,
                );
                let end = self.here()?;
                self.patch_jump(j, end);
                if *op == BinOp::And {
                    self.set_branch(br, Some(eval_b), Some(short));
                } else {
                    self.set_branch(br, Some(short), Some(eval_b));
                }
                Opnd::Slot(dst)
            }
            ExprKind::Binary(op, a, b) => {
                let a = self.expr(a)?;
                let b = self.expr(b)?;
                match (a, b) {
                    (Opnd::Imm(x), Opnd::Imm(y)) if eval_binary(*op, x, y).is_some() => {
                        Opnd::Imm(eval_binary(*op, x, y).unwrap_or(0))
                    }
                    _ => {
                        let dst = self.temp();
                        self.emit(Instr::Binary { dst, op: *op, a, b }, span);
                        Opnd::Slot(dst)
                    }
                }
            }
            ExprKind::Select { index, arms, array } => {
                // One comparison per arm, all local: choosing the element is no step.
                let iv = self.expr(index)?;
                let dst = self.temp();
                let mut ends = Vec::with_capacity(arms.len());
                for (k, arm) in arms.iter().enumerate() {
                    let br = self.emit(
                        Instr::BranchBin {
                            op: BinOp::Eq,
                            a: iv,
                            b: Opnd::Imm(k as Value),
                            then_pc: PLACEHOLDER,
                            else_pc: PLACEHOLDER,
                        },
                        index.span,
                    );
                    let t = self.here()?;
                    let v = self.expr_into(arm, want)?;
                    if let Some(v) = v.filter(|_| want.is_some()) {
                        self.emit(Instr::Move { dst, src: v }, arm.span);
                    }
                    ends.push(self.emit(Instr::Jump(PLACEHOLDER), span));
                    let f = self.here()?;
                    self.fix(&[Fix::Then(br)], t);
                    self.fix(&[Fix::Else(br)], f);
                }
                self.emit(
                    Instr::IndexOutOfBounds {
                        index: iv,
                        len: arms.len().min(u16::MAX as usize) as u16,
                        array: *array,
                    },
                    index.span,
                );
                let end = self.here()?;
                for j in ends {
                    self.patch_jump(j, end);
                }
                Opnd::Slot(dst)
            }
            ExprKind::Ternary(c, a, b) => {
                let dst = self.temp();
                let cv = self.expr(c)?;
                let br = self.emit(
                    Instr::Branch {
                        cond: cv,
                        then_pc: PLACEHOLDER,
                        else_pc: PLACEHOLDER,
                    },
                    c.span,
                );
                let t = self.here()?;
                let av = self.expr(a)?;
                self.emit(Instr::Move { dst, src: av }, a.span);
                let j = self.emit(Instr::Jump(PLACEHOLDER), span);
                let f = self.here()?;
                let bv = self.expr(b)?;
                self.emit(Instr::Move { dst, src: bv }, b.span);
                let end = self.here()?;
                self.patch_jump(j, end);
                self.set_branch(br, Some(t), Some(f));
                Opnd::Slot(dst)
            }
            ExprKind::Assign {
                place,
                op,
                value,
                post,
            } => return self.assign(place, *op, value, *post, span, want.is_some()),
            ExprKind::Call { func, args } => {
                let mut ops = Vec::with_capacity(args.len());
                for a in args {
                    ops.push(self.expr(a)?);
                }
                let dst = if e.ty != Type::Void {
                    Some(self.temp())
                } else {
                    None
                };
                self.emit(
                    Instr::Call {
                        func: *func,
                        args: ops.into_boxed_slice(),
                        dst,
                    },
                    span,
                );
                match dst {
                    Some(d) => Opnd::Slot(d),
                    None => Opnd::Imm(0),
                }
            }
            ExprKind::Field { entry, field } => {
                let en = self.expr(entry)?;
                let dst = self.temp();
                self.emit(
                    Instr::ReadField {
                        dst,
                        entry: en,
                        field: *field,
                    },
                    span,
                );
                Opnd::Slot(dst)
            }
            ExprKind::FrameField { ptr, field } => {
                let ptr = self.expr(ptr)?;
                let dst = self.temp();
                self.emit(
                    Instr::ReadFrame {
                        dst,
                        ptr,
                        field: *field,
                    },
                    span,
                );
                Opnd::Slot(dst)
            }
            ExprKind::Builtin { op, args } => return self.builtin(*op, args, e, span),
        }))
    }

    fn assign(
        &mut self,
        place: &Place,
        op: Option<BinOp>,
        value: &Expr,
        post: bool,
        span: Span,
        want: bool,
    ) -> Result<Option<Opnd>, CompileError> {
        // Read the old value when needed (op= or a post-increment whose value is used).
        let old = match (op, place) {
            (None, _) if !post => None,
            (_, Place::Local(l)) => {
                let t = self.temp();
                self.emit(
                    Instr::Move {
                        dst: t,
                        src: Opnd::Slot(*l),
                    },
                    span,
                );
                Some(Opnd::Slot(t))
            }
            (_, Place::Shared(v)) => {
                let t = self.temp();
                self.emit(Instr::ReadVar { dst: t, var: *v }, span);
                Some(Opnd::Slot(t))
            }
            (_, Place::Field(en, f)) => {
                let en = self.expr(en)?;
                let t = self.temp();
                self.emit(
                    Instr::ReadField {
                        dst: t,
                        entry: en,
                        field: *f,
                    },
                    span,
                );
                Some(Opnd::Slot(t))
            }
            (_, Place::FrameField(ptr, field)) => {
                let ptr = self.expr(ptr)?;
                let t = self.temp();
                self.emit(
                    Instr::ReadFrame {
                        dst: t,
                        ptr,
                        field: *field,
                    },
                    span,
                );
                Some(Opnd::Slot(t))
            }
        };
        let v = self.expr(value)?;
        let new = match (op, old) {
            (Some(op), Some(old)) => {
                let t = self.temp();
                self.emit(
                    Instr::Binary {
                        dst: t,
                        op,
                        a: old,
                        b: v,
                    },
                    span,
                );
                Opnd::Slot(t)
            }
            _ => v,
        };
        match place {
            Place::Local(l) => {
                self.emit(Instr::Move { dst: *l, src: new }, span);
            }
            Place::Shared(var) => {
                self.emit(
                    Instr::WriteVar {
                        var: *var,
                        src: new,
                    },
                    span,
                );
            }
            Place::Field(en, f) => {
                let en = self.expr(en)?;
                self.emit(
                    Instr::WriteField {
                        entry: en,
                        field: *f,
                        src: new,
                    },
                    span,
                );
            }
            Place::FrameField(ptr, field) => {
                let ptr = self.expr(ptr)?;
                self.emit(
                    Instr::WriteFrame {
                        ptr,
                        field: *field,
                        src: new,
                    },
                    span,
                );
            }
        }
        if !want {
            return Ok(None);
        }
        Ok(Some(if post {
            old.unwrap_or(new)
        } else if let Place::Local(l) = place {
            Opnd::Slot(*l)
        } else {
            new
        }))
    }

    fn builtin(
        &mut self,
        op: Builtin,
        args: &[Expr],
        e: &Expr,
        span: Span,
    ) -> Result<Option<Opnd>, CompileError> {
        let mut ops = Vec::with_capacity(args.len());
        for a in args {
            ops.push(self.expr(a)?);
        }
        match op {
            Builtin::WakeUp { queue, takes_lock } => {
                let (mode, nr, key) = match ops.as_slice() {
                    [m, n] => (*m, *n, Opnd::Imm(0)),
                    [m, n, k] => (*m, *n, *k),
                    _ => return Err(CompileError("wake_up needs (mode, nr, key)".into())),
                };
                if takes_lock {
                    self.emit(
                        Instr::Builtin {
                            op: Builtin::SpinLock(queue),
                            args: Box::new([]),
                            dst: None,
                        },
                        span,
                    );
                }
                self.emit(
                    Instr::WalkBegin {
                        queue,
                        mode,
                        nr,
                        key,
                    },
                    span,
                );
                let next = self.here()?;
                let wn = self.emit(Instr::WalkNext { done: PLACEHOLDER }, span);
                self.emit(Instr::AutoremoveUnlink(None), span);
                let wa = self.emit(
                    Instr::WalkAfter {
                        next,
                        done: PLACEHOLDER,
                    },
                    span,
                );
                let done = self.here()?;
                self.patch_jump(wn, done);
                self.patch_jump(wa, done);
                self.emit(Instr::WalkEnd, span);
                if takes_lock {
                    self.emit(
                        Instr::Builtin {
                            op: Builtin::SpinUnlock(queue),
                            args: Box::new([]),
                            dst: None,
                        },
                        span,
                    );
                }
                Ok(Some(Opnd::Imm(0)))
            }
            Builtin::AutoremoveWakeFunction => {
                // default_wake_function(), then list_del_init_careful() if it woke the
                // task: two steps.
                let dst = self.temp();
                self.emit(
                    Instr::Builtin {
                        op: Builtin::DefaultWakeFunction,
                        args: ops.clone().into_boxed_slice(),
                        dst: Some(dst),
                    },
                    span,
                );
                let br = self.emit(
                    Instr::Branch {
                        cond: Opnd::Slot(dst),
                        then_pc: PLACEHOLDER,
                        else_pc: PLACEHOLDER,
                    },
                    span,
                );
                let unlink = self.here()?;
                self.emit(Instr::AutoremoveUnlink(Some(ops[0])), span);
                let end = self.here()?;
                self.set_branch(br, Some(unlink), Some(end));
                Ok(Some(Opnd::Slot(dst)))
            }
            Builtin::ScheduleTimeout { until, state } => {
                // kernel/time/timer.c schedule_timeout(): __mod_timer(); schedule();
                // del_timer_sync(); three steps, the timeout operand kept across them.
                let timeout = ops.into_boxed_slice();
                let builtin = |op, args: &[Opnd], dst| Instr::Builtin {
                    op,
                    args: args.into(),
                    dst,
                };
                if let Some(state) = state {
                    // schedule_timeout_interruptible() and the others.
                    let set = Builtin::SetCurrentState { barrier: false };
                    self.emit(builtin(set, &[Opnd::Imm(state)], None), span);
                }
                self.emit(builtin(Builtin::TimerArm, &timeout, None), span);
                self.emit(
                    builtin(Builtin::Schedule { io: false, until }, &[], None),
                    span,
                );
                let dst = self.temp();
                self.emit(builtin(Builtin::TimerDel, &timeout, Some(dst)), span);
                Ok(Some(Opnd::Slot(dst)))
            }
            Builtin::FutexWait(queue) => {
                let dst = self.temp();
                self.emit(
                    Instr::Builtin {
                        op,
                        args: ops.into_boxed_slice(),
                        dst: Some(dst),
                    },
                    span,
                );
                // dst == 0: queued, go to sleep; else -EAGAIN, return it.
                let br = self.emit(
                    Instr::Branch {
                        cond: Opnd::Slot(dst),
                        then_pc: PLACEHOLDER,
                        else_pc: PLACEHOLDER,
                    },
                    span,
                );
                let sleep = self.here()?;
                self.emit(Instr::FutexSleep { dst, queue }, span);
                let end = self.here()?;
                self.set_branch(br, Some(end), Some(sleep));
                Ok(Some(Opnd::Slot(dst)))
            }
            _ => {
                let dst = if e.ty != Type::Void {
                    Some(self.temp())
                } else {
                    None
                };
                self.emit(
                    Instr::Builtin {
                        op,
                        args: ops.into_boxed_slice(),
                        dst,
                    },
                    span,
                );
                Ok(Some(dst.map(Opnd::Slot).unwrap_or(Opnd::Imm(0))))
            }
        }
    }
}

pub fn eval_unary(op: UnOp, x: Value) -> Value {
    match op {
        UnOp::Neg => x.wrapping_neg(),
        UnOp::Not => (x == 0) as Value,
        UnOp::BitNot => !x,
    }
}

/// `None` for a division by zero (a run-time error).
pub fn eval_binary(op: BinOp, a: Value, b: Value) -> Option<Value> {
    Some(match op {
        BinOp::Add => a.wrapping_add(b),
        BinOp::Sub => a.wrapping_sub(b),
        BinOp::Mul => a.wrapping_mul(b),
        BinOp::Div => a.checked_div(b)?,
        BinOp::Rem => a.checked_rem(b)?,
        BinOp::BitAnd => a & b,
        BinOp::BitOr => a | b,
        BinOp::BitXor => a ^ b,
        BinOp::Shl => a.wrapping_shl(b as u32),
        BinOp::Shr => a.wrapping_shr(b as u32),
        BinOp::Eq => (a == b) as Value,
        BinOp::Ne => (a != b) as Value,
        BinOp::Lt => (a < b) as Value,
        BinOp::Le => (a <= b) as Value,
        BinOp::Gt => (a > b) as Value,
        BinOp::Ge => (a >= b) as Value,
        BinOp::And => (a != 0 && b != 0) as Value,
        BinOp::Or => (a != 0 || b != 0) as Value,
    })
}

fn opnd_mask(o: &Opnd) -> u128 {
    match o {
        Opnd::Slot(s) if (*s as usize) < MAX_SLOTS => 1u128 << s,
        _ => 0,
    }
}

fn bit(s: Slot) -> u128 {
    if (s as usize) < MAX_SLOTS {
        1u128 << s
    } else {
        0
    }
}

/// (uses, defs) of one instruction, as slot masks of its function.
fn uses_defs(i: &Instr) -> (u128, u128) {
    match i {
        Instr::Move { dst, src } => (opnd_mask(src), bit(*dst)),
        Instr::Unary { dst, a, .. } => (opnd_mask(a), bit(*dst)),
        Instr::Binary { dst, a, b, .. } => (opnd_mask(a) | opnd_mask(b), bit(*dst)),
        Instr::Branch { cond, .. } => (opnd_mask(cond), 0),
        Instr::BranchBin { a, b, .. } => (opnd_mask(a) | opnd_mask(b), 0),
        Instr::Call { args, dst, .. } => (
            args.iter().map(opnd_mask).fold(0, |a, b| a | b),
            dst.map(bit).unwrap_or(0),
        ),
        Instr::Return(v) => (v.as_ref().map(opnd_mask).unwrap_or(0), 0),
        Instr::Assert { cond } => (opnd_mask(cond), 0),
        Instr::IndexOutOfBounds { index, .. } => (opnd_mask(index), 0),
        Instr::ReadVar { dst, .. } => (0, bit(*dst)),
        Instr::WriteVar { src, .. } => (opnd_mask(src), 0),
        Instr::ReadField { dst, entry, .. } => (opnd_mask(entry), bit(*dst)),
        Instr::WriteField { entry, src, .. } => (opnd_mask(entry) | opnd_mask(src), 0),
        Instr::Builtin { args, dst, .. } => (
            args.iter().map(opnd_mask).fold(0, |a, b| a | b),
            dst.map(bit).unwrap_or(0),
        ),
        Instr::AutoremoveUnlink(Some(entry)) => (opnd_mask(entry), 0),
        Instr::WalkBegin { mode, nr, key, .. } => {
            (opnd_mask(mode) | opnd_mask(nr) | opnd_mask(key), 0)
        }
        Instr::ReadFrame { dst, ptr, .. } => (opnd_mask(ptr), bit(*dst)),
        Instr::WriteFrame { ptr, src, .. } => (opnd_mask(ptr) | opnd_mask(src), 0),
        // FutexSleep overwrites dst, which the futex_wait builtin set: dst is not live across.
        Instr::FutexSleep { dst, .. } => (0, bit(*dst)),
        Instr::Jump(_)
        | Instr::AtomicBegin
        | Instr::AtomicEnd
        | Instr::PassLabel { .. }
        | Instr::WalkNext { .. }
        | Instr::AutoremoveUnlink(None)
        | Instr::WalkAfter { .. }
        | Instr::WalkEnd => (0, 0),
    }
}

fn successors(pc: usize, i: &Instr) -> [Option<usize>; 2] {
    match i {
        Instr::Jump(t) => [Some(*t as usize), None],
        Instr::Branch {
            then_pc, else_pc, ..
        }
        | Instr::BranchBin {
            then_pc, else_pc, ..
        } => [Some(*then_pc as usize), Some(*else_pc as usize)],
        // A fault: nothing runs after it.
        Instr::Return(_) | Instr::IndexOutOfBounds { .. } => [None, None],
        Instr::WalkNext { done } => [Some(pc + 1), Some(*done as usize)],
        Instr::WalkAfter { next, done } => [Some(*next as usize), Some(*done as usize)],
        _ => [Some(pc + 1), None],
    }
}

/// Backward may-liveness over each function's instructions.
fn liveness(code: &Code) -> Vec<u128> {
    let n = code.instrs.len();
    let mut live = vec![0u128; n];
    let mut changed = true;
    while changed {
        changed = false;
        for pc in (0..n).rev() {
            let i = &code.instrs[pc];
            let (uses, defs) = uses_defs(i);
            let mut out = 0u128;
            for s in successors(pc, i).into_iter().flatten() {
                if s < n && code.func_of[s] == code.func_of[pc] {
                    out |= live[s];
                }
            }
            // A parameter is live at its function's entry only if used; params are written
            // by the caller, so nothing special is needed here.
            let inn = uses | (out & !defs);
            if inn != live[pc] {
                live[pc] = inn;
                changed = true;
            }
        }
    }
    for (pc, l) in live.iter_mut().enumerate() {
        *l |= code
            .funcs
            .get(code.func_of[pc] as usize)
            .map_or(0, |f| f.pinned);
    }
    live
}
