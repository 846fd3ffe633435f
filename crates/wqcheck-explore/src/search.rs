//! The breadth-first driver (`explore_with_width`): it expands the frontier's states in
//! batches of `BATCH`, stage by stage (moves, step-cache lookups, successors, table probes,
//! then insertion in BFS order) so that the cache misses of a batch overlap, and it
//! assembles the `Outcome` (verdict, first violation and its shortest path, budgets,
//! memory). The other modules are the stores and encodings this loop drives.
//!
//! Budgets: `max_states` is checked as each new state is about to be stored, so a search
//! that needs exactly `max_states` states finishes; `max_time` before each batch; the
//! memory budget at every growth of a store (`mem::Meter`), whose refusal ends the search
//! where it is, as `Inconclusive`, with every store freed on the way out.

use crate::bytes::hash_tag;
use crate::codec::{Codec, Stop};
use crate::frontier::Frontier;
use crate::liveness::{self, Graph};
use crate::mem::Meter;
use crate::memo::Blocked;
use crate::parents::Parents;
use crate::seen::{hash_words, Seen};
use crate::step_cache::{Cached, StepCache, StepKey};
use crate::{Options, Outcome, Progress};
use std::time::{Duration, Instant};
use wqcheck_model::interp::Mover;
use wqcheck_model::{Model, StepResult, Verdict, Violation};

/// States expanded together. Expanding a state costs a handful of cache misses (its steps
/// in the step cache, its successors in the visited table); doing each stage for a batch
/// of states before the next stage lets those misses overlap.
const BATCH: usize = 64;

/// A move to try in a state of the batch.
#[derive(Clone, Copy)]
struct Try {
    /// The move's place in the state's list of moves (`moves`), for paths.
    index: u32,
    mover: Mover,
    /// The step-cache key.
    key: StepKey,
}

/// A successor in the batch (its key is kept apart).
#[derive(Clone, Copy)]
pub(crate) struct Succ {
    /// `hash_words` of the key.
    pub(crate) hash: u64,
    /// Its view number.
    view: u32,
    /// The move's place in the state's list of moves.
    index: u32,
}

/// Part numbers no longer fit the width: run the search again with wider ones.
pub(crate) struct Overflow;

/// The step cache's entries within `max_memory`: at most a quarter of the budget for its
/// slots (32 bytes each, filled to 5/8), so that the stores every state needs keep the
/// rest. The cache only speeds the search up.
fn step_cache_entries(opts: &Options) -> usize {
    match opts.max_memory {
        Some(m) => opts
            .step_cache
            .min(usize::try_from(m / 4 / 32 * 5 / 8).unwrap_or(usize::MAX)),
        None => opts.step_cache,
    }
}

pub(crate) fn explore_with_width(
    model: &Model,
    opts: &Options,
    width: usize,
) -> Result<Outcome, Overflow> {
    let start = Instant::now();
    let meter = Meter::new(opts.max_memory);
    let l = &model.layout;
    let n = l.state_len();
    let nt = l.nthreads;
    let sl = l.shared_len;
    // A store the budget refuses before the search begins: nothing explored.
    let early = |meter: &Meter| Outcome {
        verdict: Verdict::Inconclusive,
        states: 0,
        transitions: 0,
        depth: 0,
        elapsed: start.elapsed(),
        violation: None,
        path: Vec::new(),
        cycle_start: None,
        liveness_checked: false,
        budget_hit: Some(meter.describe()),
        store_bytes: 0,
        memory_peak: meter.peak(),
    };
    let mut codec = Codec::new(model, width, &meter);
    let w = codec.words;
    // Liveness needs the graph: every transition, to numbered states.
    let live = model.inst.liveness.as_ref().filter(|_| opts.liveness);
    let mut graph = live.map(|_| Graph::new(&meter));
    let Ok(mut seen) = Seen::new(w, l.shared_len + nt * width, live.is_some(), &meter) else {
        return Ok(early(&meter));
    };
    let mut frontier = Frontier::new(w, &meter);
    let mut parents = Parents::new(&meter);
    let mut outcome = Outcome {
        verdict: Verdict::Holds,
        states: 0,
        transitions: 0,
        depth: 0,
        elapsed: Duration::ZERO,
        violation: None,
        path: Vec::new(),
        cycle_start: None,
        liveness_checked: false,
        budget_hit: None,
        store_bytes: 0,
        memory_peak: 0,
    };
    let init = match model.initial_state() {
        Ok(s) => s,
        Err(f) => {
            outcome.verdict = Verdict::AssertionFailed;
            outcome.violation = Some(Violation {
                verdict: Verdict::AssertionFailed,
                message: f.message,
                span: Some(f.span),
            });
            outcome.elapsed = start.elapsed();
            return Ok(outcome);
        }
    };
    let mut cache = match step_cache_entries(opts) {
        0 => None,
        entries => match StepCache::new(model, entries, &meter) {
            Ok(c) => Some(c),
            Err(_) => return Ok(early(&meter)),
        },
    };

    // The batch: per state, its packed key, part numbers, shared part, view, and (only for
    // the interpreter) the decoded state.
    let mut b_key = vec![0u64; BATCH * w];
    let mut b_ids = vec![0u32; BATCH * nt];
    let mut b_shared = vec![0u8; BATCH * sl];
    let mut b_view = [0u32; BATCH];
    let mut b_state = vec![0u8; BATCH * n];
    let mut b_decoded = [false; BATCH];
    // Every thread has returned / some move is possible.
    let mut b_all_done = [false; BATCH];
    // Every thread has returned and no store is still buffered: a final state, where the
    // model's `final assert`s are checked.
    let mut b_final = [false; BATCH];
    let mut b_any = [false; BATCH];
    // Which threads have returned (for the liveness graph).
    let mut b_done = [0u16; BATCH];
    // The graph's: each successor's move and state number.
    let mut s_mover: Vec<Mover> = Vec::new();
    let mut numbers: Vec<u32> = Vec::new();
    // Each state's successors: `s_*[b_succ[b]..b_succ[b + 1]]`.
    let mut b_succ = [0usize; BATCH + 1];
    let mut tries: Vec<Try> = Vec::new();
    let mut blocked = Blocked::new(sl);
    let mut looked: Vec<Cached> = Vec::new();
    let mut faults: Vec<(usize, Mover, wqcheck_model::Fault)> = Vec::new();
    // The batch's successors: packed keys (`w` words each) and the rest.
    let mut s_key: Vec<u64> = Vec::new();
    let mut succ: Vec<Succ> = Vec::new();
    // Each state's moves to try: `tries[b_tries[b]..b_tries[b + 1]]`.
    let mut b_tries = [0usize; BATCH + 1];
    let mut next = vec![0u8; n];
    let mut stuck = vec![0u8; n];
    let mut idx = 0usize;
    let mut level_end = 1usize;
    let mut depth = 0u32;
    let mut last_progress = Instant::now();
    let mut view = Vec::new();
    let mut fresh: Vec<usize> = Vec::new();
    let finish = |mut o: Outcome,
                  seen: &Seen,
                  parents: &Parents,
                  frontier: &Frontier,
                  codec: &Codec,
                  cache: &Option<StepCache>,
                  graph: &Option<Graph>,
                  depth: u32|
     -> Outcome {
        o.states = parents.len() as u64;
        o.depth = depth;
        o.elapsed = start.elapsed();
        o.store_bytes = seen.bytes()
            + parents.bytes()
            + frontier.bytes()
            + codec.interner.bytes()
            + cache.as_ref().map(|c| c.bytes()).unwrap_or(0)
            + graph.as_ref().map(|g| g.bytes()).unwrap_or(0);
        o.memory_peak = meter.peak();
        o
    };
    macro_rules! finish {
        ($depth:expr) => {
            finish(
                outcome, &seen, &parents, &frontier, &codec, &cache, &graph, $depth,
            )
        };
    }
    // The result of a store's growth or of building a key: a refused growth ends the
    // search here, with what it found so far; an overflow of part numbers goes up, to be
    // run again with wider ones.
    macro_rules! tri {
        ($e:expr) => {
            match $e {
                Ok(x) => x,
                Err(e) => match Stop::from(e) {
                    Stop::Overflow => return Err(Overflow),
                    Stop::Memory => {
                        if outcome.violation.is_none() {
                            outcome.verdict = Verdict::Inconclusive;
                        }
                        outcome.budget_hit = Some(meter.describe());
                        return Ok(finish!(depth));
                    }
                },
            }
        };
    }

    // The initial state.
    if opts.max_states == Some(0) {
        outcome.verdict = Verdict::Inconclusive;
        outcome.budget_hit = Some("state limit of 0 distinct states".into());
        return Ok(finish!(depth));
    }
    let mut key = codec.blank();
    let no_ids = vec![u32::MAX; nt];
    let blank = vec![0xAAu8; n];
    tri!(codec.encode(&init, &blank, &no_ids, None, &mut key));
    let init_view = match cache.as_mut() {
        Some(c) => {
            c.view_of(model, &init, &mut view);
            tri!(c.view_id(&view, hash_tag(&view)))
        }
        None => 0,
    };
    tri!(seen.reserve(1));
    let first = Succ {
        hash: hash_words(&key),
        view: init_view,
        index: 0,
    };
    tri!(seen.insert_all(&key, &[first], &mut fresh, None));
    tri!(parents.push(u32::MAX, 0));
    tri!(frontier.push(&key, init_view));
    while idx < parents.len() {
        if let Some(max) = opts.max_time {
            if start.elapsed() >= max {
                if outcome.violation.is_none() {
                    outcome.verdict = Verdict::Inconclusive;
                }
                outcome.budget_hit = Some(format!("time limit of {} s", max.as_secs()));
                return Ok(finish!(depth));
            }
        }
        if let Some(p) = opts.progress {
            if last_progress.elapsed() >= Duration::from_secs(1) {
                last_progress = Instant::now();
                p(&Progress {
                    states: parents.len() as u64,
                    depth,
                    elapsed: start.elapsed(),
                });
            }
        }
        let count = BATCH.min(parents.len() - idx);
        frontier.release(idx);
        // 1. Read each state's key, part numbers and moves. The thread parts are read where
        // the interner keeps them; a whole state is put together only for the interpreter.
        tries.clear();
        for b in 0..count {
            b_tries[b] = tries.len();
            let k = &mut b_key[b * w..(b + 1) * w];
            let view_id = frontier.get(idx + b, k);
            b_view[b] = view_id;
            let shared = &mut b_shared[b * sl..(b + 1) * sl];
            let ids = &mut b_ids[b * nt..(b + 1) * nt];
            if w == 2 && width == 2 {
                let mut kb = [0u8; 16];
                kb[..8].copy_from_slice(&k[0].to_le_bytes());
                kb[8..].copy_from_slice(&k[1].to_le_bytes());
                for (t, id) in ids.iter_mut().enumerate() {
                    let o = 2 * t;
                    *id = u16::from_le_bytes([kb[o], kb[o + 1]]) as u32;
                }
                for (j, x) in shared.iter_mut().enumerate() {
                    *x = kb[codec.soff + j];
                }
            } else {
                for (t, id) in ids.iter_mut().enumerate() {
                    *id = codec.id(k, t);
                }
                codec.shared(k, shared);
            }
            b_decoded[b] = false;
            b_any[b] = false;
            b_done[b] = 0;
            let mut all_done = true;
            let mut index = 0u32;
            let sh = blocked.key(shared);
            for t in 0..nt {
                let id = b_ids[b * nt + t];
                if codec.interner.done[id as usize] {
                    b_done[b] |= 1 << t;
                    continue;
                }
                all_done = false;
                if !blocked.get(model, &codec.interner, id, shared, sh) {
                    tries.push(Try {
                        index,
                        mover: Mover::Thread(t as u8),
                        key: (t as u8, id, view_id),
                    });
                }
                index += 1;
            }
            b_all_done[b] = all_done;
            let mut buffered = false;
            if l.tso() {
                for t in 0..nt {
                    let id = b_ids[b * nt + t];
                    if l.part_buffer_len(codec.interner.get(id)) > 0 {
                        buffered = true;
                        tries.push(Try {
                            index,
                            mover: Mover::Flush(t as u8),
                            key: (0x40 | t as u8, id, view_id),
                        });
                        index += 1;
                    }
                }
            }
            b_final[b] = all_done && !buffered && !model.inst.program.finals.is_empty();
            for a in 0..l.nactors {
                for c in 0..model.actor_choices(shared, a) {
                    tries.push(Try {
                        index,
                        mover: Mover::Actor {
                            actor: a as u8,
                            choice: c as u8,
                        },
                        key: (0x80 | a as u8, c as u32, view_id),
                    });
                    index += 1;
                }
            }
        }
        b_tries[count] = tries.len();
        // 2. Bring the step-cache entries in. The touched words are folded together and
        // kept once at the end: a store per touch would wait for its load and fill the
        // store buffer.
        looked.clear();
        if let Some(c) = cache.as_ref() {
            let touched = c.touch_all(tries.iter().map(|tr| tr.key));
            std::hint::black_box(touched);
            c.lookup_all(tries.iter().map(|tr| tr.key), &mut looked);
        } else {
            looked.resize(tries.len(), Cached::Unknown);
        }
        // 3. Every state's successors, from the cache or the interpreter.
        s_key.clear();
        succ.clear();
        s_mover.clear();
        faults.clear();
        for b in 0..count {
            b_succ[b] = succ.len();
            let ids = &b_ids[b * nt..(b + 1) * nt];
            for ti in b_tries[b]..b_tries[b + 1] {
                let tr = &tries[ti];
                let thread = match tr.mover {
                    Mover::Thread(t) | Mover::Flush(t) => Some(t as usize),
                    Mover::Actor { .. } => None,
                };
                if let Some(c) = cache.as_ref() {
                    match looked[ti] {
                        Cached::Blocked => continue,
                        Cached::Moved(step) => {
                            b_any[b] = true;
                            let hash = if w == 2 {
                                let key = [b_key[2 * b], b_key[2 * b + 1]];
                                let k = if width == 2 {
                                    tri!(codec.apply16::<2>(key, ids, thread, step, c))
                                } else {
                                    tri!(codec.apply16::<4>(key, ids, thread, step, c))
                                };
                                s_key.extend_from_slice(&k);
                                hash_words(&k)
                            } else {
                                let o = s_key.len();
                                s_key.extend_from_slice(&b_key[b * w..(b + 1) * w]);
                                let k = &mut s_key[o..o + w];
                                tri!(codec.apply(k, ids, thread, step, c));
                                hash_words(k)
                            };
                            succ.push(Succ {
                                hash,
                                view: step.view,
                                index: tr.index,
                            });
                            if graph.is_some() {
                                s_mover.push(tr.mover);
                            }
                            continue;
                        }
                        Cached::Unknown => {}
                    }
                }
                let cur = &mut b_state[b * n..(b + 1) * n];
                if !b_decoded[b] {
                    codec.decode(&b_key[b * w..(b + 1) * w], cur);
                    b_decoded[b] = true;
                }
                next.copy_from_slice(cur);
                match model.step(&mut next, tr.mover, None) {
                    StepResult::Blocked => {
                        if let Some(c) = cache.as_mut() {
                            c.remember(tr.key, None);
                        }
                    }
                    StepResult::Fault(f) => {
                        b_any[b] = true;
                        outcome.transitions += 1;
                        faults.push((b, tr.mover, f));
                    }
                    StepResult::Moved => {
                        b_any[b] = true;
                        let o = s_key.len();
                        s_key.resize(o + w, 0);
                        let k = &mut s_key[o..o + w];
                        let id = tri!(codec.encode(&next, cur, ids, thread, k));
                        let mut vid = 0;
                        if let Some(c) = cache.as_mut() {
                            c.view_of(model, &next, &mut view);
                            vid = tri!(c.view_id(&view, hash_tag(&view)));
                            let step = c.step_of(model, cur, &next, thread, id.unwrap_or(0), vid);
                            c.remember(tr.key, Some(step));
                        }
                        succ.push(Succ {
                            hash: hash_words(k),
                            view: vid,
                            index: tr.index,
                        });
                        if graph.is_some() {
                            s_mover.push(tr.mover);
                        }
                    }
                }
            }
        }
        b_succ[count] = succ.len();
        outcome.transitions += succ.len() as u64;
        // 4. Bring every successor's home slot in at once.
        let touched = seen.touch_all(&succ);
        std::hint::black_box(touched);
        // 5. In BFS order: report, insert, check the budget and stuck states.
        for b in 0..count {
            let i = idx + b;
            if i == level_end {
                depth += 1;
                level_end = parents.len();
            }
            for (_, m, f) in faults.iter().filter(|f| f.0 == b) {
                if outcome.violation.is_some() {
                    break;
                }
                let mut path = parents.path_to(model, i);
                path.push(*m);
                outcome.verdict = Verdict::AssertionFailed;
                outcome.violation = Some(Violation {
                    verdict: Verdict::AssertionFailed,
                    message: f.message.clone(),
                    span: Some(f.span),
                });
                outcome.path = path;
                if !opts.full {
                    return Ok(finish!(depth + 1));
                }
            }
            let (first, end) = (b_succ[b], b_succ[b + 1]);
            tri!(seen.reserve(end - first));
            fresh.clear();
            numbers.clear();
            tri!(seen.insert_all(
                &s_key[first * w..end * w],
                &succ[first..end],
                &mut fresh,
                graph.is_some().then_some(&mut numbers),
            ));
            if let Some(g) = graph.as_mut() {
                tri!(g.push_state(b_done[b], &numbers, &s_mover[first..end]));
            }
            for &j in fresh.iter() {
                let j = first + j;
                // A new state past the budget: the search needs more than `max` states.
                // (Stopping once `max` are stored would call a search that needs exactly
                // `max` unfinished.)
                if let Some(max) = opts.max_states {
                    if parents.len() as u64 >= max {
                        if outcome.violation.is_none() {
                            outcome.verdict = Verdict::Inconclusive;
                        }
                        outcome.budget_hit = Some(format!("state limit of {max} distinct states"));
                        return Ok(finish!(depth));
                    }
                }
                tri!(parents.push(i as u32, succ[j].index));
                tri!(frontier.push(&s_key[j * w..(j + 1) * w], succ[j].view));
            }
            if b_final[b] && outcome.violation.is_none() {
                codec.decode(&b_key[b * w..(b + 1) * w], &mut stuck);
                if let Some(v) = model.final_violation(&stuck) {
                    outcome.verdict = v.verdict;
                    outcome.violation = Some(v);
                    outcome.path = parents.path_to(model, i);
                    if !opts.full {
                        return Ok(finish!(depth));
                    }
                }
            }
            if !b_any[b] && !b_all_done[b] && outcome.violation.is_none() {
                // Stuck, or the idle end of daemons (whose final assertions are checked
                // here, as `b_final` does when every thread has returned).
                codec.decode(&b_key[b * w..(b + 1) * w], &mut stuck);
                if let Some(v) = model.end_violation(&stuck) {
                    outcome.verdict = v.verdict;
                    outcome.violation = Some(v);
                    outcome.path = parents.path_to(model, i);
                    if !opts.full {
                        return Ok(finish!(depth));
                    }
                }
            }
        }
        idx += count;
    }
    if let (Some(g), Some(live), None) = (&graph, live, &outcome.violation) {
        outcome.liveness_checked = true;
        if let Some(lasso) = liveness::check(g, live) {
            let stem = parents.path_to(model, lasso.entry);
            let names: Vec<&str> = (0..nt).map(|t| model.thread_name(t)).collect();
            let message = liveness::describe(&lasso, stem.len(), &names, live);
            let verdict = if lasso.free != 0 {
                Verdict::Starvation
            } else {
                Verdict::Livelock
            };
            outcome.verdict = verdict;
            outcome.violation = Some(Violation {
                verdict,
                message,
                span: None,
            });
            outcome.cycle_start = Some(stem.len());
            outcome.path = stem;
            outcome.path.extend_from_slice(&lasso.cycle);
        }
    }
    Ok(finish!(depth))
}
