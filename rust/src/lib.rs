//! Rust core of qmsum-fast.
//!
//! Every module here is pure Rust and tested with `cargo test` (no Python needed).
//! The PyO3 glue lives only in `py.rs`, compiled with the `python` feature.

pub mod lcs;
pub mod punkt;
pub mod pyunicode;
pub mod rouge;
pub mod sentences;
pub mod stats;
pub mod stem;
pub mod text;
pub mod treebank;

// rank: extractive baselines and the query locator
pub mod bm25;
pub mod locate;
pub mod oracle;
pub mod rank;
pub mod textrank;
pub mod tfidf;

#[cfg(feature = "python")]
mod py;
