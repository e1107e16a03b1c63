//! The greedy extractive oracle: add the unit that most raises
//! ROUGE-1 F + ROUGE-2 F of the summary against the reference, until no unit
//! raises it.
//!
//! The summary is the selected units joined in document order and scored as
//! rouge-score scores it: unigrams and bigrams of the concatenated tokens, so
//! a bigram spans the boundary between two selected units. Scores are never
//! recomputed from strings: the state keeps the clipped overlap counts, and a
//! candidate's gain is computed from its own n-grams that occur in the
//! reference plus the (at most three) boundary bigrams it changes. Ties go to
//! the earliest unit, as a plain `if score > best` loop over units does.
//!
//! Tokens are rouge-score's (`crate::rouge::tokenize`: lowercase,
//! alphanumeric, Porter-stemmed when the scorer stems), so the oracle
//! optimizes exactly the figure the scorer reports.

use crate::rouge::tokenize;
use crate::vocabulary::Vocabulary;
use rayon::prelude::*;
use std::collections::{BTreeSet, HashMap};

/// Optional stopping rules besides "no unit improves the score".
#[derive(Clone, Copy, Debug, Default)]
pub struct OracleLimits {
    /// At most this many units.
    pub max_units: Option<usize>,
    /// Units whose tokens would take the summary past this many are skipped.
    pub max_tokens: Option<usize>,
}

/// The units of one meeting, tokenized once and shared by all its queries.
pub struct OracleUnits {
    vocabulary: Vocabulary,
    units: Vec<Vec<u32>>,
    /// Whether tokens are Porter-stemmed, for the units and the references.
    stem: bool,
}

impl OracleUnits {
    /// Units given as text, tokenized as rouge-score tokenizes them
    /// (Porter-stemmed when `stem`); references are tokenized the same way.
    pub fn new<S: AsRef<str>>(units: &[S], stem: bool) -> Self {
        let tokens: Vec<Vec<String>> = units.iter().map(|u| tokenize(u.as_ref(), stem)).collect();
        Self::from_tokens(&tokens, stem)
    }

    fn from_tokens(units: &[Vec<String>], stem: bool) -> Self {
        let mut vocabulary = Vocabulary::default();
        let units = units.iter().map(|tokens| vocabulary.ids(tokens)).collect();
        Self {
            vocabulary,
            units,
            stem,
        }
    }

    /// Indices of the units selected for `references` (given as text), in
    /// document order.
    pub fn select<S: AsRef<str>>(&self, references: &[S], limits: OracleLimits) -> Vec<usize> {
        let tokens: Vec<Vec<String>> = references
            .iter()
            .map(|r| tokenize(r.as_ref(), self.stem))
            .collect();
        self.select_tokens(&tokens, limits)
    }

    /// Indices of the selected units in document order. With several
    /// references the objective is the sum of their ROUGE-1 F + ROUGE-2 F.
    fn select_tokens(&self, references: &[Vec<String>], limits: OracleLimits) -> Vec<usize> {
        let mut states: Vec<ReferenceState> = references
            .iter()
            .map(|r| ReferenceState::new(self, r))
            .collect();
        let mut selected: BTreeSet<usize> = BTreeSet::new();
        let mut used_tokens = 0usize;
        let mut current = 0.0f64;
        loop {
            if limits.max_units.is_some_and(|m| selected.len() >= m) {
                break;
            }
            let mut best: Option<(usize, f64)> = None;
            for (unit, tokens) in self.units.iter().enumerate() {
                if tokens.is_empty() || selected.contains(&unit) {
                    continue;
                }
                if limits
                    .max_tokens
                    .is_some_and(|m| used_tokens + tokens.len() > m)
                {
                    continue;
                }
                let context = Neighbours::of(unit, &selected, &self.units);
                let score: f64 = states.iter().map(|s| s.score_with(unit, &context)).sum();
                if score > best.map_or(current, |(_, b)| b) {
                    best = Some((unit, score));
                }
            }
            let Some((unit, score)) = best else { break };
            let context = Neighbours::of(unit, &selected, &self.units);
            for state in &mut states {
                state.add(unit, &context);
            }
            selected.insert(unit);
            used_tokens += self.units[unit].len();
            current = score;
        }
        selected.into_iter().collect()
    }
}

/// The oracle's selection from one meeting's `units` for one query's
/// `references`, all given as text.
pub fn select<S: AsRef<str>>(
    units: &[S],
    references: &[S],
    stem: bool,
    limits: OracleLimits,
) -> Vec<usize> {
    OracleUnits::new(units, stem).select(references, limits)
}

/// The oracle for many queries about many meetings: `queries[i]` is the index
/// of its meeting in `meetings` and its references. Each meeting's units are
/// tokenized once, meetings in parallel; then the queries run in parallel.
/// A query whose meeting index is out of range is an error.
pub fn select_batch<S: AsRef<str> + Sync>(
    meetings: &[Vec<S>],
    queries: &[(usize, Vec<S>)],
    stem: bool,
    limits: OracleLimits,
) -> Result<Vec<Vec<usize>>, String> {
    if let Some((bad, _)) = queries.iter().find(|(m, _)| *m >= meetings.len()) {
        return Err(format!(
            "query refers to meeting {bad}, but there are {}",
            meetings.len()
        ));
    }
    let prepared: Vec<OracleUnits> = meetings
        .par_iter()
        .map(|units| OracleUnits::new(units, stem))
        .collect();
    Ok(queries
        .par_iter()
        .map(|(meeting, references)| prepared[*meeting].select(references, limits))
        .collect())
}

/// The tokens at the edges of the selected units around a candidate: the last
/// token of the selected unit before it and the first of the one after it.
struct Neighbours {
    before: Option<u32>,
    after: Option<u32>,
    first: u32,
    last: u32,
}

impl Neighbours {
    fn of(unit: usize, selected: &BTreeSet<usize>, units: &[Vec<u32>]) -> Self {
        let tokens = &units[unit];
        Self {
            before: selected
                .range(..unit)
                .next_back()
                .map(|&p| *units[p].last().unwrap()),
            after: selected.range(unit + 1..).next().map(|&s| units[s][0]),
            first: tokens[0],
            last: *tokens.last().unwrap(),
        }
    }
}

/// Clipped n-gram overlap of the current summary with one reference.
struct ReferenceState {
    bigram_index: HashMap<u64, u32>,
    reference_unigrams: Vec<u32>,
    reference_bigrams: Vec<u32>,
    reference_tokens: usize,
    /// Per unit: (reference unigram index, count), sorted by index.
    unit_unigrams: Vec<Vec<(u32, u32)>>,
    /// Per unit: (reference bigram index, count) of bigrams inside the unit.
    unit_bigrams: Vec<Vec<(u32, u32)>>,
    unit_lengths: Vec<usize>,
    summary_unigrams: Vec<u32>,
    summary_bigrams: Vec<u32>,
    overlap1: u64,
    overlap2: u64,
    summary_tokens: usize,
}

fn pair(a: u32, b: u32) -> u64 {
    (u64::from(a) << 32) | u64::from(b)
}

impl ReferenceState {
    fn new(units: &OracleUnits, reference: &[String]) -> Self {
        // Reference words the meeting never uses get no id: they count in the
        // reference length but can never overlap.
        let ids: Vec<Option<u32>> = reference.iter().map(|w| units.vocabulary.get(w)).collect();
        let mut unigram_index = HashMap::new();
        let mut reference_unigrams: Vec<u32> = Vec::new();
        for id in ids.iter().flatten() {
            let next = unigram_index.len() as u32;
            let index = *unigram_index.entry(*id).or_insert(next);
            if index as usize == reference_unigrams.len() {
                reference_unigrams.push(0);
            }
            reference_unigrams[index as usize] += 1;
        }
        let mut bigram_index = HashMap::new();
        let mut reference_bigrams: Vec<u32> = Vec::new();
        for window in ids.windows(2) {
            if let (Some(a), Some(b)) = (window[0], window[1]) {
                let next = bigram_index.len() as u32;
                let index = *bigram_index.entry(pair(a, b)).or_insert(next);
                if index as usize == reference_bigrams.len() {
                    reference_bigrams.push(0);
                }
                reference_bigrams[index as usize] += 1;
            }
        }
        let unit_unigrams = units
            .units
            .iter()
            .map(|tokens| run_lengths(tokens.iter().filter_map(|t| unigram_index.get(t).copied())))
            .collect();
        let unit_bigrams = units
            .units
            .iter()
            .map(|tokens| {
                run_lengths(
                    tokens
                        .windows(2)
                        .filter_map(|w| bigram_index.get(&pair(w[0], w[1])).copied()),
                )
            })
            .collect();
        Self {
            summary_unigrams: vec![0; reference_unigrams.len()],
            summary_bigrams: vec![0; reference_bigrams.len()],
            bigram_index,
            reference_unigrams,
            reference_bigrams,
            reference_tokens: reference.len(),
            unit_unigrams,
            unit_bigrams,
            unit_lengths: units.units.iter().map(Vec::len).collect(),
            overlap1: 0,
            overlap2: 0,
            summary_tokens: 0,
        }
    }

    /// Reference bigram indices whose summary counts change when the unit
    /// goes between its neighbours: +1 for the two new boundary bigrams, -1
    /// for the boundary bigram it splits.
    fn boundary_changes(&self, context: &Neighbours) -> Vec<(u32, i64)> {
        let mut changes: Vec<(u32, i64)> = Vec::with_capacity(3);
        let mut push = |a: u32, b: u32, delta: i64| {
            if let Some(&index) = self.bigram_index.get(&pair(a, b)) {
                match changes.iter_mut().find(|(i, _)| *i == index) {
                    Some((_, d)) => *d += delta,
                    None => changes.push((index, delta)),
                }
            }
        };
        if let Some(before) = context.before {
            push(before, context.first, 1);
        }
        if let Some(after) = context.after {
            push(context.last, after, 1);
        }
        if let (Some(before), Some(after)) = (context.before, context.after) {
            push(before, after, -1);
        }
        changes
    }

    /// New (unigram overlap, bigram overlap) if the unit were added.
    fn overlaps_with(&self, unit: usize, context: &Neighbours) -> (u64, u64) {
        let gain = |have: u32, delta: i64, cap: u32| -> i64 {
            let have = i64::from(have);
            let cap = i64::from(cap);
            (have + delta).min(cap) - have.min(cap)
        };
        let mut overlap1 = self.overlap1 as i64;
        for &(index, count) in &self.unit_unigrams[unit] {
            let i = index as usize;
            overlap1 += gain(
                self.summary_unigrams[i],
                i64::from(count),
                self.reference_unigrams[i],
            );
        }
        let mut boundary = self.boundary_changes(context);
        let mut overlap2 = self.overlap2 as i64;
        for &(index, count) in &self.unit_bigrams[unit] {
            let mut delta = i64::from(count);
            if let Some(pos) = boundary.iter().position(|(i, _)| *i == index) {
                delta += boundary.swap_remove(pos).1;
            }
            let i = index as usize;
            overlap2 += gain(self.summary_bigrams[i], delta, self.reference_bigrams[i]);
        }
        for (index, delta) in boundary {
            let i = index as usize;
            overlap2 += gain(self.summary_bigrams[i], delta, self.reference_bigrams[i]);
        }
        (overlap1 as u64, overlap2 as u64)
    }

    /// ROUGE-1 F + ROUGE-2 F of the summary with the unit added, computed
    /// with rouge-score's arithmetic so equal summaries give equal floats.
    fn score_with(&self, unit: usize, context: &Neighbours) -> f64 {
        let (overlap1, overlap2) = self.overlaps_with(unit, context);
        let tokens = self.summary_tokens + self.unit_lengths[unit];
        fmeasure(overlap1, tokens, self.reference_tokens)
            + fmeasure(
                overlap2,
                tokens.saturating_sub(1),
                self.reference_tokens.saturating_sub(1),
            )
    }

    fn add(&mut self, unit: usize, context: &Neighbours) {
        let (overlap1, overlap2) = self.overlaps_with(unit, context);
        for &(index, count) in &self.unit_unigrams[unit] {
            self.summary_unigrams[index as usize] += count;
        }
        let boundary = self.boundary_changes(context);
        for &(index, count) in &self.unit_bigrams[unit] {
            self.summary_bigrams[index as usize] += count;
        }
        for (index, delta) in boundary {
            let slot = &mut self.summary_bigrams[index as usize];
            *slot = (i64::from(*slot) + delta) as u32;
        }
        self.overlap1 = overlap1;
        self.overlap2 = overlap2;
        self.summary_tokens += self.unit_lengths[unit];
    }
}

/// rouge-score's F1 of an n-gram overlap given prediction and target sizes.
pub fn fmeasure(overlap: u64, prediction: usize, target: usize) -> f64 {
    let precision = overlap as f64 / prediction.max(1) as f64;
    let recall = overlap as f64 / target.max(1) as f64;
    crate::rouge::fmeasure(precision, recall)
}

/// Sorted (value, count) pairs of the values.
fn run_lengths(values: impl Iterator<Item = u32>) -> Vec<(u32, u32)> {
    let mut sorted: Vec<u32> = values.collect();
    sorted.sort_unstable();
    let mut runs: Vec<(u32, u32)> = Vec::new();
    for value in sorted {
        match runs.last_mut() {
            Some((v, c)) if *v == value => *c += 1,
            _ => runs.push((value, 1)),
        }
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn tokens(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_owned).collect()
    }

    fn counts(tokens: &[String], n: usize) -> HashMap<Vec<String>, u64> {
        let mut map = HashMap::new();
        for w in tokens.windows(n) {
            *map.entry(w.to_vec()).or_insert(0) += 1;
        }
        map
    }

    /// ROUGE-1 F + ROUGE-2 F of a summary scored from scratch.
    fn scratch_score(summary: &[String], reference: &[String]) -> f64 {
        let mut total = 0.0;
        for n in 1..=2 {
            let (s, r) = (counts(summary, n), counts(reference, n));
            let overlap: u64 = r
                .iter()
                .map(|(g, c)| (*c).min(s.get(g).copied().unwrap_or(0)))
                .sum();
            let sizes = (
                summary.len().saturating_sub(n - 1),
                reference.len().saturating_sub(n - 1),
            );
            total += fmeasure(overlap, sizes.0, sizes.1);
        }
        total
    }

    /// The straightforward greedy oracle: rebuild and rescore every candidate.
    fn scratch_oracle(units: &[Vec<String>], reference: &[String]) -> Vec<usize> {
        let mut selected: Vec<usize> = Vec::new();
        let mut current = 0.0;
        loop {
            let mut best: Option<(usize, f64)> = None;
            for unit in 0..units.len() {
                if selected.contains(&unit) {
                    continue;
                }
                let mut trial = selected.clone();
                trial.push(unit);
                trial.sort_unstable();
                let summary: Vec<String> = trial.iter().flat_map(|&i| units[i].clone()).collect();
                let score = scratch_score(&summary, reference);
                if score > best.map_or(current, |(_, b)| b) {
                    best = Some((unit, score));
                }
            }
            let Some((unit, score)) = best else { break };
            selected.push(unit);
            current = score;
        }
        selected.sort_unstable();
        selected
    }

    struct Lcg(u64);
    impl Lcg {
        fn below(&mut self, n: u64) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (self.0 >> 33) % n
        }
        fn text(&mut self, max_len: u64, vocabulary: u64) -> Vec<String> {
            let len = self.below(max_len + 1);
            (0..len)
                .map(|_| format!("w{}", self.below(vocabulary)))
                .collect()
        }
    }

    #[test]
    fn picks_the_units_that_cover_the_reference() {
        let units: Vec<Vec<String>> = [
            "the remote is yellow",
            "lunch time",
            "buttons are big",
            "yeah",
        ]
        .iter()
        .map(|t| tokens(t))
        .collect();
        let reference = tokens("the remote is yellow and the buttons are big");
        let chosen = OracleUnits::from_tokens(&units, false)
            .select_tokens(&[reference], OracleLimits::default());
        assert_eq!(chosen, [0, 2]);
    }

    #[test]
    fn matches_rescoring_from_scratch_on_random_inputs() {
        // Small vocabularies make repeated n-grams, clipping and boundary
        // bigrams common, which is where incremental counting can go wrong.
        let mut rng = Lcg(7);
        for case in 0..400 {
            let vocabulary = 2 + rng.below(8);
            let units: Vec<Vec<String>> = (0..1 + rng.below(9))
                .map(|_| rng.text(6, vocabulary))
                .collect();
            let reference = rng.text(12, vocabulary + 2);
            let fast = OracleUnits::from_tokens(&units, false)
                .select_tokens(std::slice::from_ref(&reference), OracleLimits::default());
            assert_eq!(
                fast,
                scratch_oracle(&units, &reference),
                "case {case}: {units:?} vs {reference:?}"
            );
        }
    }

    #[test]
    fn limits_stop_early() {
        let units: Vec<Vec<String>> = ["a b", "c d", "e f"].iter().map(|t| tokens(t)).collect();
        let reference = tokens("a b c d e f");
        let oracle = OracleUnits::from_tokens(&units, false);
        let one = oracle.select_tokens(
            std::slice::from_ref(&reference),
            OracleLimits {
                max_units: Some(1),
                max_tokens: None,
            },
        );
        assert_eq!(one.len(), 1);
        let short = oracle.select_tokens(
            std::slice::from_ref(&reference),
            OracleLimits {
                max_units: None,
                max_tokens: Some(4),
            },
        );
        assert_eq!(short.len(), 2);
        let none = oracle.select_tokens(
            &[reference],
            OracleLimits {
                max_units: None,
                max_tokens: Some(1),
            },
        );
        assert!(none.is_empty());
    }

    #[test]
    fn degenerate_inputs_select_nothing() {
        let empty = OracleUnits::from_tokens(&[], false);
        assert!(empty
            .select_tokens(&[tokens("a b")], OracleLimits::default())
            .is_empty());
        let units = OracleUnits::from_tokens(&[tokens(""), tokens("a")], false);
        assert!(units
            .select_tokens(&[tokens("")], OracleLimits::default())
            .is_empty());
        assert!(units.select_tokens(&[], OracleLimits::default()).is_empty());
        assert!(units
            .select_tokens(&[tokens("zzz")], OracleLimits::default())
            .is_empty());
    }

    #[test]
    fn optimizes_the_score_rouge_reports() {
        // The chosen summary scores what the ROUGE core says, and no single
        // extra unit would raise it.
        let units = [
            "The remote is yellow .",
            "Lunch time .",
            "With big buttons .",
            "Yeah .",
        ];
        let reference = "The remote should be yellow with big buttons .";
        let chosen = select(&units, &[reference], true, OracleLimits::default());
        let scorer = crate::rouge::Scorer::new(&["rouge1", "rouge2"], true, false).unwrap();
        let total = |picked: &[usize]| -> f64 {
            let text: Vec<&str> = picked.iter().map(|&i| units[i]).collect();
            scorer
                .score(reference, &text.join("\n"))
                .iter()
                .map(|s| s.fmeasure)
                .sum()
        };
        let best = total(&chosen);
        for extra in (0..units.len()).filter(|i| !chosen.contains(i)) {
            let mut more = chosen.clone();
            more.push(extra);
            more.sort_unstable();
            assert!(total(&more) <= best);
        }
        assert_eq!(chosen, [0, 2]);
    }

    #[test]
    fn several_references_sum_their_scores() {
        let units: Vec<Vec<String>> = ["a b", "c d"].iter().map(|t| tokens(t)).collect();
        let chosen = OracleUnits::from_tokens(&units, false)
            .select_tokens(&[tokens("a b"), tokens("c d")], OracleLimits::default());
        assert_eq!(chosen, [0, 1]);
    }

    #[test]
    fn batches_equal_single_queries() {
        let meetings = vec![
            vec!["The remote is yellow .", "Lunch time .", "Big buttons ."],
            vec!["We met .", "The budget is tight ."],
        ];
        let queries = vec![
            (1, vec!["The budget was tight ."]),
            (0, vec!["A yellow remote with big buttons ."]),
            (0, vec!["Lunch ."]),
        ];
        let limits = OracleLimits {
            max_units: Some(2),
            max_tokens: None,
        };
        let batch = select_batch(&meetings, &queries, true, limits).unwrap();
        for ((meeting, references), chosen) in queries.iter().zip(&batch) {
            assert_eq!(
                *chosen,
                select(&meetings[*meeting], references, true, limits)
            );
        }
        assert_eq!(batch[1], [0, 2]);
        let err = select_batch(&meetings, &[(2, vec!["x"])], true, limits).unwrap_err();
        assert_eq!(err, "query refers to meeting 2, but there are 2");
    }
}
