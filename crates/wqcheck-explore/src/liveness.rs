//! The liveness check: over the stored state graph of a finished search, is there a fair
//! infinite run in which a thread the scenario's `liveness` names never returns? It owns
//! the graph the search records for it (`Graph`: every transition, and which threads have
//! returned in each state), the fairness conditions (docs/dsl.md, "Liveness"), and the
//! lasso it reports: a shortest stem, then a cycle that repeats for ever.
//!
//! The algorithm is the classic one for finite graphs (fair-SCC detection, as in
//! Emerson–Lei): a thread that has returned stays returned, so the runs in which `t`
//! never returns are the runs that stay in the subgraph of states where `t` has not
//! returned. Such a run is fair and infinite exactly when it ends up going round a
//! strongly connected component of that subgraph whose edges and states meet the
//! fairness condition:
//! - no fairness: the component has an edge;
//! - weak fairness: every thread (and, under TSO, every store buffer) that can move in
//!   every state of the component moves somewhere inside it;
//! - strong fairness: every one that can move in some state of the component moves
//!   inside it; when one cannot, the states where it can move are removed and the rest is
//!   split into components again.
//!
//! Environment actors (signals, timers) are owed nothing: a signal need not arrive. A
//! state with no move at all is the safety check's business (a lost wakeup or a
//! deadlock), not an infinite run.
//!
//! Architecture invariant: the check reads only the graph; it never runs the model, so
//! the lasso it reports is made of moves the search itself took.

use crate::mem::{MVec, Meter, OutOfMemory};
use std::collections::VecDeque;
use std::rc::Rc;
use wqcheck_model::interp::Mover;
use wqcheck_model::ir::{Fairness, Liveness};

/// Every transition of the search, by source state (states are numbered in BFS order),
/// and which threads have returned in each state.
pub(crate) struct Graph {
    /// `edges[start[i]..start[i + 1]]` leave state `i`.
    start: MVec<u64>,
    target: MVec<u32>,
    /// [`code`] of each edge's move.
    mover: MVec<u16>,
    /// Bit `t`: thread `t` has returned.
    done: MVec<u16>,
}

/// A move in two bytes: a thread `t`, a store buffer flush `0x100 | t`, an actor's choice
/// `0x8000 | actor << 8 | choice`.
fn code(m: Mover) -> u16 {
    match m {
        Mover::Thread(t) => t as u16,
        Mover::Flush(t) => 0x100 | t as u16,
        Mover::Actor { actor, choice } => 0x8000 | (actor as u16) << 8 | choice as u16,
    }
}

fn mover_of(c: u16) -> Mover {
    if c & 0x8000 != 0 {
        Mover::Actor {
            actor: ((c >> 8) & 0x7f) as u8,
            choice: c as u8,
        }
    } else if c & 0x100 != 0 {
        Mover::Flush(c as u8)
    } else {
        Mover::Thread(c as u8)
    }
}

/// The fairness process of a move: bit `t` for thread `t`, bit `16 + t` for its store
/// buffer; 0 for an actor (owed nothing).
fn process(c: u16) -> u32 {
    if c & 0x8000 != 0 {
        0
    } else if c & 0x100 != 0 {
        1 << (16 + (c & 0xff))
    } else {
        1 << c
    }
}

impl Graph {
    pub(crate) fn new(meter: &Rc<Meter>) -> Graph {
        Graph {
            start: MVec::new(meter),
            target: MVec::new(meter),
            mover: MVec::new(meter),
            done: MVec::new(meter),
        }
    }

    /// Record the next state's transitions (the state expanded next in BFS order) and
    /// which of its threads have returned.
    pub(crate) fn push_state(
        &mut self,
        done: u16,
        targets: &[u32],
        movers: &[Mover],
    ) -> Result<(), OutOfMemory> {
        if self.start.is_empty() {
            self.start.push(0)?;
        }
        self.target.extend_from_slice(targets)?;
        for &m in movers {
            self.mover.push(code(m))?;
        }
        self.start.push(self.target.len() as u64)?;
        self.done.push(done)
    }

    pub(crate) fn bytes(&self) -> u64 {
        self.start.bytes() + self.target.bytes() + self.mover.bytes() + self.done.bytes()
    }

    fn states(&self) -> usize {
        self.done.len()
    }

    fn edges(&self, s: usize) -> std::ops::Range<usize> {
        self.start[s] as usize..self.start[s + 1] as usize
    }

    /// The processes that can move in state `s`.
    fn enabled(&self, s: usize) -> u32 {
        self.edges(s).fold(0, |a, e| a | process(self.mover[e]))
    }
}

/// A fair infinite run in which `thread` never returns: a stem from the initial state to
/// state `entry`, then `cycle`, which leads back to it.
#[derive(Clone, Debug)]
pub(crate) struct Lasso {
    pub(crate) thread: usize,
    /// The cycle's first state: the stem is the BFS path to it.
    pub(crate) entry: usize,
    pub(crate) cycle: Vec<Mover>,
    /// Threads that move in the cycle.
    pub(crate) movers: u16,
    /// The threads that move in the cycle with nothing owed (not among the pending
    /// `returns`): some, a starvation; none, a livelock.
    pub(crate) free: u16,
}

/// A set of states, as a bitmap.
struct Set(Vec<u64>);

impl Set {
    fn new(n: usize) -> Set {
        Set(vec![0; n.div_ceil(64)])
    }
    fn has(&self, i: usize) -> bool {
        self.0[i / 64] >> (i % 64) & 1 != 0
    }
    fn add(&mut self, i: usize) {
        self.0[i / 64] |= 1 << (i % 64);
    }
    fn remove(&mut self, i: usize) {
        self.0[i / 64] &= !(1 << (i % 64));
    }
    /// The set of `states` among `n`.
    fn of(n: usize, states: &[usize]) -> Set {
        let mut s = Set::new(n);
        states.iter().for_each(|&x| s.add(x));
        s
    }
}

/// The strongly connected components of the subgraph induced by `inside` (Tarjan's
/// algorithm, iterative), each as its list of states; only components with an edge
/// inside them (a cycle) are kept.
fn components(g: &Graph, inside: &Set, roots: &[usize]) -> Vec<Vec<usize>> {
    const NONE: u32 = u32::MAX;
    let n = g.states();
    let mut index = vec![NONE; n];
    let mut low = vec![0u32; n];
    let mut on_stack = Set::new(n);
    let mut stack: Vec<usize> = Vec::new();
    // (state, next edge to look at)
    let mut call: Vec<(usize, usize)> = Vec::new();
    let mut next = 0u32;
    let mut out = Vec::new();
    // Number state `v`, put it on the stack and start looking at its edges.
    macro_rules! enter {
        ($v:expr) => {{
            let v = $v;
            index[v] = next;
            low[v] = next;
            next += 1;
            stack.push(v);
            on_stack.add(v);
            call.push((v, g.edges(v).start));
        }};
    }
    for &root in roots {
        if !inside.has(root) || index[root] != NONE {
            continue;
        }
        enter!(root);
        while let Some(&mut (v, ref mut e)) = call.last_mut() {
            let end = g.edges(v).end;
            if *e < end {
                let w = g.target[*e] as usize;
                *e += 1;
                if !inside.has(w) {
                    continue;
                }
                if index[w] == NONE {
                    enter!(w);
                } else if on_stack.has(w) {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            call.pop();
            if let Some(&(u, _)) = call.last() {
                low[u] = low[u].min(low[v]);
            }
            if low[v] == index[v] {
                let mut comp = Vec::new();
                while let Some(w) = stack.pop() {
                    on_stack.remove(w);
                    comp.push(w);
                    if w == v {
                        break;
                    }
                }
                let cyclic = comp.len() > 1 || g.edges(v).any(|e| g.target[e] as usize == v);
                if cyclic {
                    comp.sort_unstable();
                    out.push(comp);
                }
            }
        }
    }
    out
}

/// What the processes do in a component: which move inside it, which can move in every
/// state of it, which in some state of it.
fn profile(g: &Graph, comp: &[usize], inside: &Set) -> (u32, u32, u32) {
    let (mut moved, mut always, mut some) = (0u32, u32::MAX, 0u32);
    for &s in comp {
        let en = g.enabled(s);
        always &= en;
        some |= en;
        for e in g.edges(s) {
            if inside.has(g.target[e] as usize) {
                moved |= process(g.mover[e]);
            }
        }
    }
    (moved, always, some)
}

/// The fair components inside `region` (states where the thread has not returned): for
/// strong fairness, refined until every component is fair. Each is returned with the set
/// of its states.
fn fair_components(
    g: &Graph,
    region: &Set,
    roots: &[usize],
    fairness: Fairness,
) -> Vec<(Vec<usize>, Set)> {
    let n = g.states();
    let mut work: Vec<(Vec<usize>, Set)> = components(g, region, roots)
        .into_iter()
        .map(|c| {
            let s = Set::of(n, &c);
            (c, s)
        })
        .collect();
    let mut fair = Vec::new();
    while let Some((comp, set)) = work.pop() {
        let (moved, always, some) = profile(g, &comp, &set);
        match fairness {
            Fairness::None => fair.push((comp, set)),
            Fairness::Weak => {
                if always & !moved == 0 {
                    fair.push((comp, set));
                }
            }
            Fairness::Strong => {
                let owed = some & !moved;
                if owed == 0 {
                    fair.push((comp, set));
                    continue;
                }
                // A process that can move here but never does: a fair run cannot stay
                // where it can move. Split what is left.
                let kept: Vec<usize> = comp
                    .iter()
                    .copied()
                    .filter(|&s| g.enabled(s) & owed == 0)
                    .collect();
                for c in components(g, &Set::of(n, &kept), &kept) {
                    let s = Set::of(n, &c);
                    work.push((c, s));
                }
            }
        }
    }
    fair
}

/// A shortest path inside `set` from `from` to a state that `goal` accepts, as edges.
fn path_within(g: &Graph, set: &Set, from: usize, goal: impl Fn(usize) -> bool) -> Vec<usize> {
    if goal(from) {
        return Vec::new();
    }
    let mut prev: std::collections::HashMap<usize, usize> = Default::default();
    let mut queue = VecDeque::from([from]);
    let mut seen = std::collections::HashSet::from([from]);
    while let Some(v) = queue.pop_front() {
        for e in g.edges(v) {
            let w = g.target[e] as usize;
            if !set.has(w) || !seen.insert(w) {
                continue;
            }
            prev.insert(w, e);
            if goal(w) {
                let mut edges = vec![e];
                let mut at = v;
                while at != from {
                    let pe = prev[&at];
                    edges.push(pe);
                    at = source_of(g, pe);
                }
                edges.reverse();
                return edges;
            }
            queue.push_back(w);
        }
    }
    Vec::new()
}

/// The state an edge leaves (edges are stored by source, in order).
fn source_of(g: &Graph, e: usize) -> usize {
    g.start.partition_point(|&s| s as usize <= e) - 1
}

/// A cycle through `entry` inside the fair component `set` that is itself fair when
/// repeated: it takes an edge of every process the fairness owes a move, or passes a
/// state where that process cannot move.
fn fair_cycle(
    g: &Graph,
    comp: &[usize],
    set: &Set,
    entry: usize,
    fairness: Fairness,
) -> Vec<usize> {
    let (moved, always, some) = profile(g, comp, set);
    let mut edges: Vec<usize> = Vec::new();
    let mut at = entry;
    let take_edge_of = |p: u32, at: &mut usize, edges: &mut Vec<usize>| {
        let has = |s: usize| {
            g.edges(s)
                .any(|e| process(g.mover[e]) & p != 0 && set.has(g.target[e] as usize))
        };
        edges.extend(path_within(g, set, *at, has));
        let s = edges.last().map_or(*at, |&e| g.target[e] as usize);
        if let Some(e) = g
            .edges(s)
            .find(|&e| process(g.mover[e]) & p != 0 && set.has(g.target[e] as usize))
        {
            edges.push(e);
            *at = g.target[e] as usize;
        }
    };
    let processes = moved | always | some;
    for bit in 0..32 {
        let p = 1u32 << bit;
        if processes & p == 0 {
            continue;
        }
        match fairness {
            Fairness::None => {}
            Fairness::Weak => {
                if always & p != 0 {
                    take_edge_of(p, &mut at, &mut edges);
                } else {
                    // Pass a state where it cannot move.
                    edges.extend(path_within(g, set, at, |s| g.enabled(s) & p == 0));
                    at = edges.last().map_or(at, |&e| g.target[e] as usize);
                }
            }
            Fairness::Strong => {
                if some & p != 0 {
                    take_edge_of(p, &mut at, &mut edges);
                }
            }
        }
    }
    // Back to the entry, with at least one edge.
    if edges.is_empty() {
        let e = g
            .edges(at)
            .find(|&e| set.has(g.target[e] as usize))
            .expect("a component with a cycle has an edge inside it");
        edges.push(e);
        at = g.target[e] as usize;
    }
    edges.extend(path_within(g, set, at, |s| s == entry));
    edges
}

/// Look for a fair infinite run in which a thread of `live.returns` never returns. The
/// lasso reported has the shortest stem of all (ties: the lowest thread), since states
/// are numbered in BFS order.
pub(crate) fn check(g: &Graph, live: &Liveness) -> Option<Lasso> {
    let n = g.states();
    let mut best: Option<(usize, usize, Vec<usize>, Set)> = None;
    for &t in &live.returns {
        let t = t as usize;
        let mut region = Set::new(n);
        let mut roots = Vec::new();
        for s in 0..n {
            if g.done[s] >> t & 1 == 0 {
                region.add(s);
                roots.push(s);
            }
        }
        for (comp, set) in fair_components(g, &region, &roots, live.fairness) {
            let entry = comp[0];
            if best.as_ref().is_none_or(|b| entry < b.1) {
                best = Some((t, entry, comp, set));
            }
        }
    }
    let (thread, entry, comp, set) = best?;
    let cycle = fair_cycle(g, &comp, &set, entry, live.fairness);
    let mut movers = 0u16;
    for &e in &cycle {
        if let Mover::Thread(u) = mover_of(g.mover[e]) {
            movers |= 1 << u;
        }
    }
    let pending = live
        .returns
        .iter()
        .filter(|&&u| g.done[entry] >> u & 1 == 0)
        .fold(0u16, |a, &u| a | 1 << u);
    Some(Lasso {
        thread,
        entry,
        cycle: cycle.iter().map(|&e| mover_of(g.mover[e])).collect(),
        movers,
        free: movers & !pending,
    })
}

/// The lasso in words, with the trace's row numbers (1-based): the stem is rows
/// `1..=stem`, the cycle the rows after it.
pub(crate) fn describe(l: &Lasso, stem: usize, names: &[&str], live: &Liveness) -> String {
    let list = |mask: u16| {
        (0..names.len())
            .filter(|&u| mask >> u & 1 != 0)
            .map(|u| format!("`{}`", names[u]))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let rows = wqcheck_model::verdict::cycle_rows(stem, l.cycle.len());
    let fair = match live.fairness {
        Fairness::None => "a run that counts without fairness".to_string(),
        f => format!("a run that is fair under {} fairness", f.name()),
    };
    let who = if l.free != 0 {
        let verb = if l.free.count_ones() == 1 {
            "keeps"
        } else {
            "keep"
        };
        format!("{} {verb} moving in them with nothing owed", list(l.free))
    } else if l.movers == 0 {
        "no thread moves in them".to_string()
    } else {
        format!(
            "every thread that moves in them ({}) still has to return",
            list(l.movers)
        )
    };
    format!(
        "`{}` never returns: {rows} for ever, {fair}; {who}",
        names[l.thread]
    )
}
