//! Okapi BM25: scores of documents (transcript units) for a query.
//!
//! IDF is the non-negative Lucene form `ln(1 + (N - n + 0.5) / (n + 0.5))`, so
//! a word found in most turns of a meeting still counts a little instead of
//! pushing scores below zero. Statistics come from the units of one meeting.

use crate::rank::TermCounts;
use crate::vocabulary::Vocabulary;
use std::collections::HashMap;

#[derive(Clone, Copy, Debug)]
pub struct Bm25Params {
    pub k1: f64,
    pub b: f64,
}

impl Default for Bm25Params {
    fn default() -> Self {
        Self { k1: 1.2, b: 0.75 }
    }
}

/// A BM25 index over the word lists of a collection of documents.
pub struct Bm25 {
    vocabulary: Vocabulary,
    term_counts: Vec<HashMap<u32, u32>>,
    lengths: Vec<usize>,
    document_frequency: Vec<u32>,
    mean_length: f64,
    params: Bm25Params,
}

impl Bm25 {
    pub fn new(documents: &[Vec<String>], params: Bm25Params) -> Self {
        let TermCounts {
            vocabulary,
            counts: term_counts,
            document_frequency,
        } = TermCounts::new(documents);
        let lengths: Vec<usize> = documents.iter().map(Vec::len).collect();
        let total: usize = lengths.iter().sum();
        let mean_length = if documents.is_empty() {
            0.0
        } else {
            total as f64 / documents.len() as f64
        };
        Self {
            vocabulary,
            term_counts,
            lengths,
            document_frequency,
            mean_length,
            params,
        }
    }

    fn idf(&self, id: u32) -> f64 {
        let n = self.lengths.len() as f64;
        let df = self.document_frequency[id as usize] as f64;
        (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
    }

    /// The score of every document for `query` (repeated query words count
    /// again). Words unknown to the collection add nothing.
    pub fn scores(&self, query: &[String]) -> Vec<f64> {
        let query_ids: Vec<u32> = query
            .iter()
            .filter_map(|w| self.vocabulary.get(w))
            .collect();
        let Bm25Params { k1, b } = self.params;
        self.term_counts
            .iter()
            .zip(&self.lengths)
            .map(|(counts, &length)| {
                let norm = if self.mean_length > 0.0 {
                    length as f64 / self.mean_length
                } else {
                    0.0
                };
                query_ids
                    .iter()
                    .map(|&id| {
                        let tf = counts.get(&id).copied().unwrap_or(0) as f64;
                        if tf == 0.0 {
                            return 0.0;
                        }
                        self.idf(id) * tf * (k1 + 1.0) / (tf + k1 * (1.0 - b + b * norm))
                    })
                    .sum()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn docs(texts: &[&str]) -> Vec<Vec<String>> {
        texts.iter().map(|t| crate::rank::words(t)).collect()
    }

    fn q(text: &str) -> Vec<String> {
        crate::rank::words(text)
    }

    #[test]
    fn matches_hand_computed_scores() {
        let index = Bm25::new(
            &docs(&["remote control", "battery", "remote remote battery"]),
            Bm25Params::default(),
        );
        let s = index.scores(&q("remote"));
        // N = 3, df(remote) = 2, lengths 2, 1, 3, mean 2.
        let idf = (1.0f64 + (3.0 - 2.0 + 0.5) / 2.5).ln();
        let expect0 = idf * 1.0 * 2.2 / (1.0 + 1.2 * (0.25 + 0.75 * 1.0));
        let expect2 = idf * 2.0 * 2.2 / (2.0 + 1.2 * (0.25 + 0.75 * 1.5));
        assert!((s[0] - expect0).abs() < 1e-12);
        assert_eq!(s[1], 0.0);
        assert!((s[2] - expect2).abs() < 1e-12);
    }

    #[test]
    fn rarer_words_weigh_more() {
        let index = Bm25::new(&docs(&["a b", "a c", "a d"]), Bm25Params::default());
        let s = index.scores(&q("a b"));
        assert!(s[0] > s[1] && s[1] > 0.0);
    }

    #[test]
    fn empty_inputs_give_zero_scores() {
        let index = Bm25::new(&docs(&["", "x"]), Bm25Params::default());
        assert_eq!(index.scores(&[]), [0.0, 0.0]);
        assert_eq!(index.scores(&q("unknown")), [0.0, 0.0]);
        assert!(Bm25::new(&[], Bm25Params::default())
            .scores(&q("x"))
            .is_empty());
        let blank = Bm25::new(&docs(&["", ""]), Bm25Params::default());
        assert_eq!(blank.scores(&q("x")), [0.0, 0.0]);
    }
}
