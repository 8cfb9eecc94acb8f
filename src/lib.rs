//! swarmdeck: a terminal dashboard for support swarm leads, live over Slack Socket Mode.
//!
//! The binary is in `main.rs`; this library holds the pieces so that integration tests
//! and benchmarks can drive them directly.

#![forbid(unsafe_code)]

pub mod emulator;
pub mod slack;
