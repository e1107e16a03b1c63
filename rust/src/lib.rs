//! Rust core of qmsum-fast.
//!
//! Every module here is pure Rust and tested with `cargo test` (no Python needed).
//! The PyO3 glue lives only in `py.rs`, compiled with the `python` feature.

pub mod chunk;
pub mod stats;

#[cfg(feature = "python")]
mod py;
