//! The IR of a checked wqcheck program and its one reference semantics.
//!
//! - [`ir`]: the checked program, as `wqcheck-dsl` produces it;
//! - [`compile`]: lowering to flat code, with liveness;
//! - [`blocks`]: which steps are made under the atomic-block lock;
//! - [`state`]: the explicit state, a canonical byte string;
//! - [`interp`]: what a step does (every builtin's meaning, written once);
//! - [`memory`]: the memory map, the seam through which a step reaches shared state,
//!   and its sequentially consistent implementation ([`memory::Direct`]);
//! - [`tso`]: x86-TSO on the same bytes, with a store buffer per thread;
//! - [`verdict`]: the verdicts and the oracle for stuck states;
//! - [`trace`]: replaying a path of moves into a readable trace.
//!
//! Engines (the native explorer; loom and shuttle through `wqcheck-threads`) drive
//! [`interp::Model`], with their memory behind [`memory::Memory`]; none of them
//! interprets the DSL itself.
pub mod blocks;
pub mod compile;
pub mod interp;
pub mod ir;
pub mod memory;
pub mod state;
pub mod trace;
pub mod tso;
pub mod verdict;

pub use interp::{Fault, Model, Mover, StepRecord, StepResult};
pub use verdict::{Verdict, Violation};
