//! TextRank (Mihalcea and Tarau, 2004) over transcript units: a graph whose
//! edges weigh the word overlap of two units, ranked with weighted PageRank.
//!
//! Similarity is `|Si ∩ Sj| / (ln|Si| + ln|Sj|)` over distinct words; when the
//! denominator is zero (two one-word units) the pair gets no edge, as in the
//! common implementations, so single fillers cannot dominate the graph.

use crate::vocabulary::Vocabulary;

pub const DAMPING: f64 = 0.85;
const MAX_ITERATIONS: usize = 200;
const TOLERANCE: f64 = 1e-9;

/// The TextRank score of each unit, given its words.
pub fn textrank(units: &[Vec<String>]) -> Vec<f64> {
    let edges = similarity_graph(units);
    pagerank(&edges, DAMPING)
}

/// Weighted undirected adjacency lists; `edges[i]` holds `(j, weight)`.
pub fn similarity_graph(units: &[Vec<String>]) -> Vec<Vec<(usize, f64)>> {
    let mut vocabulary = Vocabulary::default();
    let sets: Vec<Vec<u32>> = units
        .iter()
        .map(|words| {
            let mut ids = vocabulary.ids(words);
            ids.sort_unstable();
            ids.dedup();
            ids
        })
        .collect();
    let logs: Vec<f64> = sets.iter().map(|s| (s.len().max(1) as f64).ln()).collect();
    let mut edges = vec![Vec::new(); units.len()];
    for i in 0..sets.len() {
        for j in i + 1..sets.len() {
            let denominator = logs[i] + logs[j];
            if denominator <= 0.0 {
                continue;
            }
            let common = count_common(&sets[i], &sets[j]);
            if common > 0 {
                let weight = common as f64 / denominator;
                edges[i].push((j, weight));
                edges[j].push((i, weight));
            }
        }
    }
    edges
}

fn count_common(a: &[u32], b: &[u32]) -> usize {
    let (mut i, mut j, mut common) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                common += 1;
                i += 1;
                j += 1;
            }
        }
    }
    common
}

/// Weighted PageRank in TextRank's form `S(i) = (1 - d) + d * Σ_j w_ji / W_j * S(j)`,
/// iterated from all ones until no score moves by more than `TOLERANCE`.
/// Isolated units keep `1 - d`.
pub fn pagerank(edges: &[Vec<(usize, f64)>], damping: f64) -> Vec<f64> {
    let out_weight: Vec<f64> = edges
        .iter()
        .map(|e| e.iter().map(|&(_, w)| w).sum())
        .collect();
    let mut scores = vec![1.0; edges.len()];
    for _ in 0..MAX_ITERATIONS {
        let next: Vec<f64> = edges
            .iter()
            .map(|neighbours| {
                let inflow: f64 = neighbours
                    .iter()
                    .map(|&(j, w)| w / out_weight[j] * scores[j])
                    .sum();
                (1.0 - damping) + damping * inflow
            })
            .collect();
        let change = next
            .iter()
            .zip(&scores)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        scores = next;
        if change < TOLERANCE {
            break;
        }
    }
    scores
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rank::unit_words;

    fn units(texts: &[&str]) -> Vec<Vec<String>> {
        texts.iter().map(|t| unit_words(t)).collect()
    }

    #[test]
    fn central_unit_ranks_first() {
        let scores = textrank(&units(&[
            "remote control buttons",
            "remote control design buttons colour",
            "design colour yellow",
            "lunch break",
        ]));
        let best = crate::rank::order_by_score(&scores)[0];
        assert_eq!(best, 1);
        assert!((scores[3] - (1.0 - DAMPING)).abs() < 1e-12);
    }

    #[test]
    fn scores_sum_to_unit_count_on_connected_graph() {
        // With out-weight normalisation the fixed point keeps the total at N.
        let scores = textrank(&units(&["a b c", "b c d", "c d e", "a e f"]));
        let total: f64 = scores.iter().sum();
        assert!((total - 4.0).abs() < 1e-6, "{total}");
    }

    #[test]
    fn similarity_follows_the_formula() {
        let edges = similarity_graph(&units(&["apple banana cherry", "banana cherry"]));
        let expect = 2.0 / (3f64.ln() + 2f64.ln());
        assert_eq!(edges[0].len(), 1);
        assert!((edges[0][0].1 - expect).abs() < 1e-12);
    }

    #[test]
    fn degenerate_inputs_do_not_panic() {
        assert!(textrank(&[]).is_empty());
        assert_eq!(textrank(&units(&["", "word", "word"])).len(), 3);
    }
}
