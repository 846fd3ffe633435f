//! How each state was reached (`Parents`): its BFS parent and the place of the move in the
//! parent's list of moves, about five bytes per state. A counterexample's path is rebuilt
//! from it by replaying moves from the initial state, so no state is kept for paths.
//! `moves` defines that list (threads in order, then flushes of store buffers under TSO,
//! then actors and their choices), the order in which the search numbers the moves it
//! tries.

use crate::mem::{MVec, Meter, OutOfMemory};
use std::rc::Rc;
use wqcheck_model::interp::Mover;
use wqcheck_model::{Model, StepResult};

/// Every move possible in a state (threads in order, then under TSO the flushes of the
/// threads whose store buffer holds a store, then actors and their choices).
fn moves(model: &Model, s: &[u8], v: &mut Vec<Mover>) {
    v.clear();
    for t in 0..model.layout.nthreads {
        if !model.layout.done(s, t) {
            v.push(Mover::Thread(t as u8));
        }
    }
    if model.layout.tso() {
        for t in 0..model.layout.nthreads {
            if model.layout.buffer_len(s, t) > 0 {
                v.push(Mover::Flush(t as u8));
            }
        }
    }
    for a in 0..model.layout.nactors {
        for c in 0..model.actor_choices(s, a) {
            v.push(Mover::Actor {
                actor: a as u8,
                choice: c as u8,
            });
        }
    }
}

/// How each state was reached: its BFS parent and the move's place in the parent's list
/// of moves, so that a path is rebuilt by replaying moves from the initial state.
pub(crate) struct Parents {
    parent: MVec<u32>,
    index: MVec<u8>,
    /// Move indices of 255 and more, by state (rare: a state with 255 moves or more).
    far: std::collections::HashMap<u32, u32>,
}

impl Parents {
    pub(crate) fn new(meter: &Rc<Meter>) -> Parents {
        Parents {
            parent: MVec::new(meter),
            index: MVec::new(meter),
            far: Default::default(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.parent.len()
    }

    /// Record the next state's parent and move. Memory refused: the state is not recorded
    /// (`len` counts `parent`, pushed last; a search stops at the first refusal).
    pub(crate) fn push(&mut self, parent: u32, index: u32) -> Result<(), OutOfMemory> {
        let i = self.parent.len() as u32;
        self.index.push(index.min(255) as u8)?;
        self.parent.push(parent)?;
        if index >= 255 {
            self.far.insert(i, index);
        }
        Ok(())
    }

    /// The moves from the initial state to state `i`.
    pub(crate) fn path_to(&self, model: &Model, i: usize) -> Vec<Mover> {
        let mut chain = Vec::new();
        let mut j = i;
        while self.parent[j] != u32::MAX {
            chain.push(match self.index[j] {
                255 => self.far.get(&(j as u32)).copied().unwrap_or(u32::MAX),
                x => x as u32,
            });
            j = self.parent[j] as usize;
        }
        chain.reverse();
        let Ok(mut cur) = model.initial_state() else {
            return Vec::new();
        };
        let mut movers = Vec::new();
        let mut path = Vec::with_capacity(chain.len());
        for x in chain {
            moves(model, &cur, &mut movers);
            let Some(&m) = movers.get(x as usize) else {
                break;
            };
            if model.step(&mut cur, m, None) != StepResult::Moved {
                break;
            }
            path.push(m);
        }
        path
    }

    pub(crate) fn bytes(&self) -> u64 {
        self.parent.bytes() + self.index.bytes() + (self.far.capacity() * 8) as u64
    }
}
