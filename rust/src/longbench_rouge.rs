//! LongBench's ROUGE-L: the F-measure of the `rouge` package 1.0.1 (pltrdy),
//! exactly as LongBench's `metrics.rouge_score` uses it, that is
//! `Rouge().get_scores([prediction], [reference], avg=True)["rouge-l"]["f"]`,
//! and 0.0 whenever that call raises (LongBench catches every exception).
//!
//! The rules of rouge 1.0.1 (`rouge/rouge.py`, `rouge/rouge_score.py`):
//! - sentences are the non-empty pieces of the text between `.` characters;
//!   a sentence's words are its whitespace-separated words (Python
//!   `str.split()`), and a piece of whitespace only is a sentence whose one
//!   word is the empty string;
//! - nothing else is normalised: case and punctuation other than `.` count
//!   (`Meeting,` and `meeting` are different words);
//! - counts are of distinct words (its default `exclusive=True` keeps sets):
//!   `m` distinct reference words, `n` distinct predicted words;
//! - the overlap is the number of distinct words in the union, over every
//!   (reference sentence, predicted sentence) pair, of the words of the one
//!   longest common subsequence that its recursive backtrack picks (on a tie
//!   it steps back in the predicted sentence);
//! - `P = overlap / n`, `R = overlap / m`, `F = 2 (P R) / (P + R + 1e-8)`.
//!
//! The call raises, so LongBench scores 0.0, when the prediction or the
//! reference has no sentence (empty, or nothing but dots) and when the
//! backtrack recurses deeper than the Python process allows
//! (`RecursionError`). How deep that is depends on the caller's stack and the
//! interpreter; [`LongbenchRouge::new`] takes it as the deepest recursion, in
//! backtrack frames, that still succeeds.

use rayon::prelude::*;
use rustc_hash::FxHashMap;

use crate::pyunicode;

/// Why rouge 1.0.1 raises instead of scoring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// `ValueError("Hypothesis is empty.")`: the prediction has no sentence.
    EmptyPrediction,
    /// `ValueError("Reference is empty.")`: the reference has no sentence.
    EmptyReference,
    /// `RecursionError`: an LCS backtrack needs more frames than allowed.
    TooDeep,
}

/// Scores as LongBench does, given how deep Python lets the backtrack recurse.
#[derive(Debug, Clone, Copy)]
pub struct LongbenchRouge {
    max_depth: Option<usize>,
}

impl LongbenchRouge {
    /// `max_depth`: the most nested backtrack frames (`_recon` calls) that do
    /// not raise RecursionError; None for no limit.
    pub fn new(max_depth: Option<usize>) -> Self {
        Self { max_depth }
    }

    /// rouge 1.0.1's ROUGE-L F of `prediction` against `reference`, or why it raises.
    pub fn rouge_l(&self, prediction: &str, reference: &str) -> Result<f64, Failure> {
        // rouge computes ROUGE-1 and ROUGE-2 first; they raise only on these two.
        let predicted = sentences(prediction);
        if predicted.is_empty() {
            return Err(Failure::EmptyPrediction);
        }
        let referenced = sentences(reference);
        if referenced.is_empty() {
            return Err(Failure::EmptyReference);
        }
        let mut ids = Interner::default();
        let predicted = ids.sentences(&predicted);
        let referenced = ids.sentences(&referenced);
        let n = distinct_words(&predicted, ids.len());
        let m = distinct_words(&referenced, ids.len());
        let overlap = self.union_lcs_words(&referenced, &predicted, ids.len())?;
        let recall = overlap as f64 / m as f64;
        let precision = overlap as f64 / n as f64;
        Ok(2.0 * ((precision * recall) / (precision + recall + 1e-8)))
    }

    /// LongBench's `rouge_score`: the F-measure, 0.0 where rouge raises.
    pub fn score(&self, prediction: &str, reference: &str) -> f64 {
        self.rouge_l(prediction, reference).unwrap_or(0.0)
    }

    /// LongBench's per-example score: the best over the references, starting from 0.0.
    pub fn best_score<S: AsRef<str>>(&self, prediction: &str, references: &[S]) -> f64 {
        references
            .iter()
            .map(|reference| self.score(prediction, reference.as_ref()))
            .fold(0.0, f64::max)
    }

    /// [`LongbenchRouge::best_score`] of each example, in parallel. Unequal
    /// numbers of predictions and reference lists are an error.
    pub fn best_scores<S: AsRef<str> + Sync>(
        &self,
        predictions: &[S],
        references: &[Vec<S>],
    ) -> Result<Vec<f64>, String> {
        if predictions.len() != references.len() {
            return Err(format!(
                "{} predictions but {} reference lists",
                predictions.len(),
                references.len()
            ));
        }
        Ok(predictions
            .par_iter()
            .zip(references)
            .map(|(prediction, refs)| self.best_score(prediction.as_ref(), refs))
            .collect())
    }

    /// The size of the union of the LCS words of every sentence pair
    /// (rouge's `_union_lcs` summed over the reference sentences).
    fn union_lcs_words(
        &self,
        referenced: &[Vec<u32>],
        predicted: &[Vec<u32>],
        vocabulary: usize,
    ) -> Result<usize, Failure> {
        let mut in_union = vec![false; vocabulary];
        let mut size = 0;
        let mut table = Vec::new();
        for reference in referenced {
            for prediction in predicted {
                self.backtrack(reference, prediction, &mut table, |word| {
                    if !in_union[word as usize] {
                        in_union[word as usize] = true;
                        size += 1;
                    }
                })?;
            }
        }
        Ok(size)
    }

    /// rouge's `_recon_lcs(x, y)`: calls `visit` with each word of the LCS
    /// that its backtrack picks, or fails when the backtrack would recurse
    /// deeper than `max_depth` frames.
    fn backtrack(
        &self,
        x: &[u32],
        y: &[u32],
        table: &mut Vec<u32>,
        mut visit: impl FnMut(u32),
    ) -> Result<(), Failure> {
        // The walk stops when either sequence is used up, so it takes at least
        // min(len) steps: too deep is known before the table is built.
        if self.exceeds(x.len().min(y.len())) {
            return Err(Failure::TooDeep);
        }
        fill_lcs_table(x, y, table);
        let width = y.len() + 1;
        let (mut i, mut j) = (x.len(), y.len());
        let mut steps = 0;
        while i > 0 && j > 0 {
            steps += 1;
            if x[i - 1] == y[j - 1] {
                visit(x[i - 1]);
                i -= 1;
                j -= 1;
            } else if table[(i - 1) * width + j] > table[i * width + j - 1] {
                i -= 1;
            } else {
                j -= 1;
            }
        }
        if self.exceeds(steps) {
            return Err(Failure::TooDeep);
        }
        Ok(())
    }

    /// Whether a backtrack of `steps` steps raises: it nests one frame per
    /// step plus the last call, which finds a sequence used up.
    fn exceeds(&self, steps: usize) -> bool {
        self.max_depth.is_some_and(|limit| steps + 1 > limit)
    }
}

/// rouge's `_lcs` table, row-major: `table[i * (len(y) + 1) + j]` is the LCS
/// length of `x[..i]` and `y[..j]`.
fn fill_lcs_table(x: &[u32], y: &[u32], table: &mut Vec<u32>) {
    let width = y.len() + 1;
    table.clear();
    table.resize((x.len() + 1) * width, 0);
    for i in 1..=x.len() {
        let (above, row) = table[(i - 1) * width..(i + 1) * width].split_at_mut(width);
        for j in 1..=y.len() {
            row[j] = if x[i - 1] == y[j - 1] {
                above[j - 1] + 1
            } else {
                above[j].max(row[j - 1])
            };
        }
    }
}

/// rouge's sentences of a text, each as its words.
fn sentences(text: &str) -> Vec<Vec<&str>> {
    text.split('.')
        .filter(|piece| !piece.is_empty())
        .map(sentence_words)
        .collect()
}

/// `" ".join(piece.split()).split(" ")`: the whitespace-separated words, or
/// the one empty word when there are none.
fn sentence_words(piece: &str) -> Vec<&str> {
    let words: Vec<&str> = pyunicode::split_whitespace(piece).collect();
    if words.is_empty() {
        vec![""]
    } else {
        words
    }
}

/// The number of distinct words among `sentences` (ids below `vocabulary`).
fn distinct_words(sentences: &[Vec<u32>], vocabulary: usize) -> usize {
    let mut seen = vec![false; vocabulary];
    let mut count = 0;
    for &word in sentences.iter().flatten() {
        if !seen[word as usize] {
            seen[word as usize] = true;
            count += 1;
        }
    }
    count
}

/// Words of one example as dense ids, borrowed from its texts (the shared
/// `Vocabulary` would copy every word; here the texts outlive the ids).
#[derive(Default)]
struct Interner<'a> {
    ids: FxHashMap<&'a str, u32>,
}

impl<'a> Interner<'a> {
    fn len(&self) -> usize {
        self.ids.len()
    }

    fn sentences(&mut self, sentences: &[Vec<&'a str>]) -> Vec<Vec<u32>> {
        sentences
            .iter()
            .map(|words| words.iter().map(|&word| self.id(word)).collect())
            .collect()
    }

    fn id(&mut self, word: &'a str) -> u32 {
        let next = self.ids.len() as u32;
        *self.ids.entry(word).or_insert(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(prediction: &str, reference: &str) -> Result<f64, Failure> {
        LongbenchRouge::new(None).rouge_l(prediction, reference)
    }

    fn expected(overlap: f64, n: f64, m: f64) -> f64 {
        let (p, r) = (overlap / n, overlap / m);
        2.0 * ((p * r) / (p + r + 1e-8))
    }

    #[test]
    fn identical_text_is_just_below_one() {
        // The 1e-8 in the denominator keeps F under 1.
        assert_eq!(f("the cat sat", "the cat sat"), Ok(expected(3.0, 3.0, 3.0)));
        assert!(f("the cat sat", "the cat sat").unwrap() < 1.0);
    }

    #[test]
    fn case_and_punctuation_other_than_dots_count() {
        assert_eq!(f("The cat", "the cat"), Ok(expected(1.0, 2.0, 2.0)));
        assert_eq!(f("cat, dog", "cat dog"), Ok(expected(1.0, 2.0, 2.0)));
        assert_eq!(f("cat. dog", "cat dog"), Ok(expected(2.0, 2.0, 2.0)));
    }

    #[test]
    fn counts_are_of_distinct_words() {
        // n = 1 distinct predicted word, m = 2 distinct reference words.
        assert_eq!(f("a a a a", "a b a b"), Ok(expected(1.0, 1.0, 2.0)));
    }

    #[test]
    fn no_sentence_raises_whitespace_piece_is_the_empty_word() {
        assert_eq!(f("", "a"), Err(Failure::EmptyPrediction));
        assert_eq!(f("...", "a"), Err(Failure::EmptyPrediction));
        assert_eq!(f("a", "."), Err(Failure::EmptyReference));
        assert_eq!(f("", ""), Err(Failure::EmptyPrediction));
        // " " is one sentence, [""]: it matches an empty word of the reference.
        assert_eq!(f(" ", "a. "), Ok(expected(1.0, 1.0, 2.0)));
        assert_eq!(f(" ", "a"), Ok(0.0));
    }

    #[test]
    fn tie_steps_back_in_the_prediction() {
        // x = reference [a, b], y = prediction [b, a]: T[1][2] = T[2][1] = 1,
        // a tie, so the walk drops the last predicted word and keeps "b".
        let mut words = Vec::new();
        let scorer = LongbenchRouge::new(None);
        let mut table = Vec::new();
        scorer
            .backtrack(&[0, 1], &[1, 0], &mut table, |w| words.push(w))
            .unwrap();
        assert_eq!(words, vec![1]);
    }

    #[test]
    fn union_runs_over_all_sentence_pairs() {
        // Reference sentences "a b" and "c"; prediction sentences "c" and "a b":
        // every word is in some pair's LCS.
        assert_eq!(f("c. a b", "a b. c"), Ok(expected(3.0, 3.0, 3.0)));
    }

    #[test]
    fn depth_counts_steps_plus_the_last_call() {
        let text = ["w"; 9].join(" ");
        // Nine diagonal steps, then the call that finds both used up: 10 frames.
        assert!(LongbenchRouge::new(Some(10)).rouge_l(&text, &text).is_ok());
        assert_eq!(
            LongbenchRouge::new(Some(9)).rouge_l(&text, &text),
            Err(Failure::TooDeep)
        );
        // Too deep scores 0.0 as LongBench's bare except does.
        assert_eq!(LongbenchRouge::new(Some(9)).score(&text, &text), 0.0);
    }

    #[test]
    fn best_score_starts_from_zero_and_checks_lengths() {
        let scorer = LongbenchRouge::new(None);
        assert_eq!(scorer.best_score::<&str>("a", &[]), 0.0);
        assert_eq!(
            scorer.best_score("a", &["", "b", "a"]),
            expected(1.0, 1.0, 1.0)
        );
        let batch = scorer.best_scores(&["a", "b"], &[vec!["a"], vec!["a", "b"]]);
        assert_eq!(batch.unwrap(), vec![expected(1.0, 1.0, 1.0); 2]);
        assert!(scorer.best_scores(&["a"], &[]).is_err());
    }

    #[test]
    fn python_whitespace_separates_words() {
        // U+001F and U+3000 are whitespace to str.split(); U+200B is not.
        assert_eq!(f("a\u{1f}b\u{3000}c", "a b c"), Ok(expected(3.0, 3.0, 3.0)));
        assert_eq!(f("a\u{200b}b", "a b"), Ok(0.0));
    }
}
