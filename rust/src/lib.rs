//! Rust core of qmsum-fast.
//!
//! Every module here is pure Rust and tested with `cargo test` (no Python needed).
//! The PyO3 glue lives only in `py.rs`, compiled with the `python` feature; it
//! converts arguments, releases the GIL and maps errors, and holds no logic.
//!
//! - token statistics: `count` (exact token counts, as HF tokenizers), `stats`
//!   (length summaries, shares that fit a window), `chunk` (turns packed into
//!   token budgets);
//! - ROUGE: `rouge` (scores equal to rouge-score), `stem` (NLTK's Porter
//!   stemmer), `lcs` (longest common subsequences), `summary_sentences` (the
//!   sentences of a summary for rougeLsum with `split_summaries`),
//!   `longbench_rouge` (LongBench's ROUGE-L: the `rouge` package 1.0.1);
//! - QMSum preprocessing: `preprocess` (the upstream recipe), built on
//!   `preprocess_sentences` (NLTK's untrained Punkt), `treebank` (NLTK's word
//!   tokenizer) and `pyunicode` (Python's character classes);
//! - extractive baselines and the query locator: `rank` (words, the sentences
//!   of a turn, budgets, spans), `bm25`, `tfidf`, `textrank`, `locate`,
//!   `oracle` (the greedy ROUGE oracle);
//! - faithfulness signals: `fragments` (extractive fragment coverage and
//!   density, Grusky et al. 2018; novel n-grams);
//! - statistics: `resample` (bootstrap intervals and sign-flip tests by
//!   meeting, Holm's adjustment, the design effect);
//! - shared: `vocabulary` (the string interner), `choice` (string options).

pub mod choice;
pub mod vocabulary;

// token statistics
pub mod chunk;
pub mod count;
pub mod stats;

// ROUGE
pub mod lcs;
pub mod longbench_rouge;
pub mod rouge;
pub mod stem;
pub mod summary_sentences;

// QMSum preprocessing
pub mod preprocess;
pub mod preprocess_sentences;
pub mod pyunicode;
pub mod treebank;

// extractive baselines and the query locator
pub mod bm25;
pub mod locate;
pub mod oracle;
pub mod rank;
pub mod textrank;
pub mod tfidf;

// faithfulness signals
pub mod fragments;

// intervals and paired tests by meeting
pub mod resample;

#[cfg(feature = "python")]
mod py;
