//! The IR of a checked wqcheck program and its one reference semantics.
pub mod ir;
