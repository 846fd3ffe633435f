//! The IR of a checked wqcheck program and its one reference semantics.
//!
//! - [`ir`]: the checked program, as `wqcheck-dsl` produces it;
//! - [`compile`]: lowering to flat code, with liveness;
//! - [`state`]: the explicit state, a canonical byte string;
//! - [`interp`]: what a step does (every builtin's meaning, written once);
//! - [`verdict`]: the verdicts and the oracle for stuck states;
//! - [`trace`]: replaying a path of moves into a readable trace.
//!
//! Engines (the native explorer; loom and shuttle through `wqcheck-threads`) drive
//! [`interp::Model`], with their memory behind [`interp::Memory`]; none of them
//! interprets the DSL itself.
pub mod compile;
pub mod interp;
pub mod ir;
pub mod state;
pub mod trace;
pub mod verdict;

pub use interp::{Fault, Model, Mover, StepRecord, StepResult};
pub use verdict::{Verdict, Violation};
