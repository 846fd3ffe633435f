//! The native explorer: breadth-first search over the explicit states of a
//! [`wqcheck_model::Model`], so that every counterexample is a shortest one and every
//! exhaustive run knows exactly how many distinct states exist.
//!
//! Storage is what makes it scale. A state is a shared part plus one part per thread; the
//! thread parts repeat across states far more than whole states do, so each distinct thread
//! part is stored once (`Interner`) and a visited state's key is its thread parts' numbers
//! (2 bytes each, 4 when a run needs more than 65,535 distinct thread parts) followed by
//! the shared bytes, packed into 64-bit words. The keys live in the visited table itself
//! (`Seen`), so that recognising a state seen before costs one cache line. States are
//! numbered in BFS order: each one's BFS parent and the place of the move that reached it
//! are kept (`Parents`), so a path is rebuilt by replaying moves, and the states not
//! expanded yet are a FIFO of keys (`Frontier`) whose chunks are freed once expanded.
//! Speed comes from the step cache (`StepCache`), which answers most steps without running
//! the interpreter, from small memos around it (`Recolor`, `Blocked`), and from expanding
//! states in batches so that their cache misses overlap (see ARCHITECTURE.md).
//!
//! Architecture invariant: the explorer knows nothing of the DSL or of any builtin; it only
//! calls [`Model::step`], [`Model::classify_stuck`], [`Model::initial_state`] and the
//! read-only helpers `surely_blocked_part` and `actor_choices`.

mod bytes;
mod codec;
mod frontier;
mod interner;
mod liveness;
mod mem;
mod memo;
mod parents;
mod records;
mod search;
mod seen;
mod step_cache;

use search::{explore_with_width, Overflow};
use std::time::Duration;
use wqcheck_model::interp::Mover;
use wqcheck_model::{Model, Verdict, Violation};

/// Bounds and hooks for one search.
pub struct Options<'a> {
    /// Stop with `Inconclusive` when the search needs more than this many distinct states
    /// (a search that stores exactly this many and finishes is complete).
    pub max_states: Option<u64>,
    /// Stop with `Inconclusive` after this long.
    pub max_time: Option<Duration>,
    /// Stop with `Inconclusive` rather than let the search's stores (visited table,
    /// parents, frontier, interned thread parts, step cache and its views) hold more than
    /// this many bytes at once, a table's growth included; an allocation the system
    /// refuses ends the search the same way. None: no budget (allocations are still
    /// fallible). The explorer does no I/O: the caller picks the figure.
    pub max_memory: Option<u64>,
    /// Called about once a second with the search's progress.
    pub progress: Option<&'a dyn Fn(&Progress)>,
    /// Explore every reachable state even after a violation (like SPIN's `pan -c0`), so
    /// that `states` counts them all; the violation reported is still the first (shortest)
    /// one found.
    pub full: bool,
    /// Entries of the step cache (0: off). See [`DEFAULT_STEP_CACHE`].
    pub step_cache: usize,
    /// Check the model's `liveness` (if it has one) once the search is complete: the
    /// search then keeps every transition (module `liveness`). Off: safety only.
    pub liveness: bool,
}

/// The step cache's default size: 2^22 entries of 32 bytes (at most 2^23 slots, 256 MiB,
/// plus the numbered views). The cache only speeds the search up; it never changes the
/// result.
pub const DEFAULT_STEP_CACHE: usize = 1 << 22;

impl Default for Options<'_> {
    fn default() -> Self {
        Options {
            max_states: None,
            max_time: None,
            max_memory: None,
            progress: None,
            full: false,
            step_cache: DEFAULT_STEP_CACHE,
            liveness: true,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Progress {
    pub states: u64,
    pub depth: u32,
    pub elapsed: Duration,
}

/// The result of a search.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub verdict: Verdict,
    /// Distinct states stored.
    pub states: u64,
    /// Transitions taken (successors generated, including already-seen ones).
    pub transitions: u64,
    /// BFS depth reached (the counterexample's length for a violation).
    pub depth: u32,
    pub elapsed: Duration,
    /// For a violation: what it is.
    pub violation: Option<Violation>,
    /// For a violation: the moves from the initial state (a shortest path). For a
    /// liveness violation, a lasso: the stem, then the cycle from `cycle_start` on, after
    /// which the run is back in the state the cycle began in.
    pub path: Vec<Mover>,
    /// For a liveness violation: where the cycle begins in `path`.
    pub cycle_start: Option<usize>,
    /// Whether the model's `liveness` was checked (the search finished without a safety
    /// violation, and `Options::liveness` was on).
    pub liveness_checked: bool,
    /// For `Inconclusive`: which bound ran out.
    pub budget_hit: Option<String>,
    /// Bytes held by the state store at the end (keys, parents, interned thread parts and
    /// the hash tables), an estimate of the search's memory.
    pub store_bytes: u64,
    /// The most bytes the search's stores held at once (what `max_memory` bounds).
    pub memory_peak: u64,
}

/// Search `model` breadth-first.
pub fn explore(model: &Model, opts: &Options) -> Outcome {
    match explore_with_width(model, opts, 2) {
        Ok(o) => o,
        Err(Overflow) => match explore_with_width(model, opts, 4) {
            Ok(o) => o,
            Err(Overflow) => unreachable_outcome(),
        },
    }
}

fn unreachable_outcome() -> Outcome {
    Outcome {
        verdict: Verdict::Inconclusive,
        states: 0,
        transitions: 0,
        depth: 0,
        elapsed: Duration::ZERO,
        violation: None,
        path: Vec::new(),
        cycle_start: None,
        liveness_checked: false,
        budget_hit: Some("more than 2^32 distinct thread states".into()),
        store_bytes: 0,
        memory_peak: 0,
    }
}
