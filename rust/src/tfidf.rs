//! TF-IDF cosine similarity of documents (transcript units) to a query.
//!
//! Weights are `tf * idf` with the smoothed `idf = ln((1 + N) / (1 + df)) + 1`
//! (scikit-learn's default), computed over the units of one meeting; the query
//! is weighted with the same idf. Words absent from the meeting are ignored.

use crate::rank::TermCounts;
use crate::vocabulary::Vocabulary;
use std::collections::HashMap;

pub struct TfIdf {
    vocabulary: Vocabulary,
    vectors: Vec<HashMap<u32, f64>>,
    norms: Vec<f64>,
    idf: Vec<f64>,
}

impl TfIdf {
    pub fn new(documents: &[Vec<String>]) -> Self {
        let TermCounts {
            vocabulary,
            counts,
            document_frequency,
        } = TermCounts::new(documents);
        let n = documents.len() as f64;
        let idf: Vec<f64> = document_frequency
            .iter()
            .map(|&df| ((1.0 + n) / (1.0 + df as f64)).ln() + 1.0)
            .collect();
        let vectors: Vec<HashMap<u32, f64>> = counts
            .iter()
            .map(|tf| {
                tf.iter()
                    .map(|(&id, &count)| (id, count as f64 * idf[id as usize]))
                    .collect()
            })
            .collect();
        let norms = vectors
            .iter()
            .map(|v| v.values().map(|w| w * w).sum::<f64>().sqrt())
            .collect();
        Self {
            vocabulary,
            vectors,
            norms,
            idf,
        }
    }

    /// Cosine similarity of every document to `query`; 0 for empty vectors.
    pub fn scores(&self, query: &[String]) -> Vec<f64> {
        let mut weights: HashMap<u32, f64> = HashMap::new();
        for id in query.iter().filter_map(|w| self.vocabulary.get(w)) {
            *weights.entry(id).or_default() += self.idf[id as usize];
        }
        let query_norm = weights.values().map(|w| w * w).sum::<f64>().sqrt();
        self.vectors
            .iter()
            .zip(&self.norms)
            .map(|(vector, &norm)| {
                if norm == 0.0 || query_norm == 0.0 {
                    return 0.0;
                }
                let dot: f64 = weights
                    .iter()
                    .map(|(id, w)| w * vector.get(id).copied().unwrap_or(0.0))
                    .sum();
                dot / (norm * query_norm)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rank::words;

    fn docs(texts: &[&str]) -> Vec<Vec<String>> {
        texts.iter().map(|t| words(t)).collect()
    }

    #[test]
    fn identical_text_has_cosine_one() {
        let index = TfIdf::new(&docs(&["remote control design", "battery life"]));
        let s = index.scores(&words("remote control design"));
        assert!((s[0] - 1.0).abs() < 1e-12);
        assert_eq!(s[1], 0.0);
    }

    #[test]
    fn matches_hand_computed_cosine() {
        let index = TfIdf::new(&docs(&["a b", "a"]));
        // idf(a) = ln(3/3) + 1 = 1, idf(b) = ln(3/2) + 1.
        let ib = (1.5f64).ln() + 1.0;
        let s = index.scores(&words("b"));
        assert!((s[0] - ib / (1.0 + ib * ib).sqrt()).abs() < 1e-12);
        assert_eq!(s[1], 0.0);
    }

    #[test]
    fn empty_inputs_give_zero_scores() {
        let index = TfIdf::new(&docs(&["", "x"]));
        assert_eq!(index.scores(&[]), [0.0, 0.0]);
        assert!(TfIdf::new(&[]).scores(&words("x")).is_empty());
    }
}
