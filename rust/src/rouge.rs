//! ROUGE-N, ROUGE-L and summary-level ROUGE-Lsum, equal (`==`) to rouge-score 0.1.2.
//!
//! Every number follows rouge-score's definitions and its order of float
//! operations:
//! - tokens: Python `text.lower()`, runs of characters outside `[a-z0-9]` become
//!   separators, tokens longer than 3 characters go through NLTK's Porter stemmer
//!   when stemming is on ([`tokenize`]);
//! - ROUGE-N: clipped n-gram overlap, `p = overlap / max(pred_ngrams, 1)`,
//!   `r = overlap / max(target_ngrams, 1)`;
//! - ROUGE-L: longest common subsequence (bit-parallel here; the length is the
//!   same as rouge-score's DP table), `p = lcs / len(pred)`, `r = lcs / len(target)`,
//!   zero when either side has no tokens;
//! - ROUGE-Lsum: for each target sentence the union of the LCS indices chosen by
//!   rouge-score's backtracking against every prediction sentence, hits capped by
//!   the token counts of both summaries;
//! - F-measure: `2 * p * r / (p + r)`, 0 when `p + r == 0` ([`fmeasure`]).
//!
//! Building blocks for incremental scoring (the extractive oracle) are public:
//! [`tokenize`], [`Vocab`], [`ngram_counts`], [`ngram_overlap`], [`ngram_score`],
//! [`lcs_length`] and [`fmeasure`].

use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::Hash;

use rayon::prelude::*;
use rustc_hash::FxHashMap;

use crate::sentences;
use crate::stem;

/// Precision, recall and F-measure, as rouge-score's `Score` namedtuple.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Score {
    pub precision: f64,
    pub recall: f64,
    pub fmeasure: f64,
}

impl Score {
    /// The score from precision and recall, F-measure by [`fmeasure`].
    pub fn new(precision: f64, recall: f64) -> Self {
        Self {
            precision,
            recall,
            fmeasure: fmeasure(precision, recall),
        }
    }
}

/// rouge-score's `scoring.fmeasure`: `2 * p * r / (p + r)`, evaluated left to
/// right as Python does, and 0 when `p + r` is not positive.
pub fn fmeasure(precision: f64, recall: f64) -> f64 {
    if precision + recall > 0.0 {
        2.0 * precision * recall / (precision + recall)
    } else {
        0.0
    }
}

/// A ROUGE variant: `rouge1`..`rouge9`, `rougeL` or `rougeLsum`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RougeType {
    /// n-gram overlap with n in 1..=9.
    N(usize),
    /// Sentence-level LCS over the whole text.
    L,
    /// Summary-level union LCS over sentences.
    Lsum,
}

impl std::str::FromStr for RougeType {
    type Err = String;

    /// Parses names as rouge-score accepts them (`rouge[0-9]`, `rougeL`, `rougeLsum`).
    fn from_str(name: &str) -> Result<Self, String> {
        match name {
            "rougeL" => Ok(Self::L),
            "rougeLsum" => Ok(Self::Lsum),
            _ => match name.strip_prefix("rouge").map(str::as_bytes) {
                Some(&[digit]) if digit.is_ascii_digit() => match digit - b'0' {
                    0 => Err(format!("rougen requires positive n: {name}")),
                    n => Ok(Self::N(n as usize)),
                },
                _ => Err(format!("Invalid rouge type: {name}")),
            },
        }
    }
}

// ---------------------------------------------------------------------------
// Tokenization
// ---------------------------------------------------------------------------

thread_local! {
    /// Stems already computed on this thread: the same words recur constantly.
    static STEM_CACHE: RefCell<FxHashMap<Box<str>, Box<str>>> = RefCell::new(FxHashMap::default());
}

/// Most distinct words kept in a thread's stem cache before it is cleared.
const STEM_CACHE_LIMIT: usize = 1 << 20;

/// rouge-score's rule: only tokens longer than 3 characters are stemmed.
fn with_stemmed<R>(token: &str, stem: bool, f: impl FnOnce(&str) -> R) -> R {
    if !stem || token.len() <= 3 {
        return f(token);
    }
    STEM_CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if let Some(stemmed) = cache.get(token) {
            return f(stemmed);
        }
        if cache.len() >= STEM_CACHE_LIMIT {
            cache.clear();
        }
        let stemmed: Box<str> = stem::stem(token).into();
        let out = f(&stemmed);
        cache.insert(token.into(), stemmed);
        out
    })
}

/// Calls `emit(token, new_line)` for each rouge-score token of `text`, before
/// stemming. `new_line` is true for the first token after a `'\n'`.
///
/// Python lowercases the whole text first; the only non-ASCII characters whose
/// lowercase contains `[a-z0-9]` are U+0130 (lowercase `i` + U+0307, so an `i`
/// that ends its token) and U+212A KELVIN SIGN (`k`). Everything else outside
/// ASCII is a separator.
fn scan_tokens(text: &str, mut emit: impl FnMut(&str, bool)) {
    let bytes = text.as_bytes();
    let mut token = String::new();
    let mut new_line = false;
    let mut flush = |token: &mut String, new_line: &mut bool| {
        if !token.is_empty() {
            emit(token, *new_line);
            token.clear();
            *new_line = false;
        }
    };
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b.is_ascii_alphanumeric() {
            token.push(b.to_ascii_lowercase() as char);
            i += 1;
        } else if b < 0x80 {
            flush(&mut token, &mut new_line);
            new_line |= b == b'\n';
            i += 1;
        } else if bytes[i..].starts_with("\u{130}".as_bytes()) {
            token.push('i');
            flush(&mut token, &mut new_line);
            i += 2;
        } else if bytes[i..].starts_with("\u{212A}".as_bytes()) {
            token.push('k');
            i += 3;
        } else {
            flush(&mut token, &mut new_line);
            i += 1;
        }
    }
    flush(&mut token, &mut new_line);
}

/// rouge-score's `tokenize.tokenize(text, stemmer)`: the tokens of `text`,
/// Porter-stemmed (NLTK default mode) when longer than 3 characters if `stem`.
pub fn tokenize(text: &str, stem: bool) -> Vec<String> {
    let mut tokens = Vec::new();
    scan_tokens(text, |token, _| {
        with_stemmed(token, stem, |t| tokens.push(t.to_string()))
    });
    tokens
}

/// Interns token strings as dense ids `0..len()`, so that texts scored
/// against each other share ids. Equal tokens get equal ids.
#[derive(Default, Debug)]
pub struct Vocab {
    ids: FxHashMap<Box<str>, u32>,
}

impl Vocab {
    pub fn new() -> Self {
        Self::default()
    }

    /// The id of `token`, adding it if new.
    pub fn id(&mut self, token: &str) -> u32 {
        if let Some(&id) = self.ids.get(token) {
            return id;
        }
        let id = self.ids.len() as u32;
        self.ids.insert(token.into(), id);
        id
    }

    /// Number of distinct tokens seen.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Tokenizes `text` as [`tokenize`] does and returns the token ids.
    pub fn tokenize(&mut self, text: &str, stem: bool) -> Vec<u32> {
        self.document(text, stem, Sentences::Lines).ids
    }

    /// Token ids of `text` together with its sentence boundaries.
    pub fn document(&mut self, text: &str, stem: bool, sentences: Sentences) -> Document {
        let mut doc = Document::default();
        match sentences {
            Sentences::Lines => scan_tokens(text, |token, new_line| {
                if new_line {
                    doc.end_sentence();
                }
                doc.ids.push(with_stemmed(token, stem, |t| self.id(t)));
            }),
            Sentences::Split => {
                for sentence in sentences::split(text) {
                    scan_tokens(sentence, |token, _| {
                        doc.ids.push(with_stemmed(token, stem, |t| self.id(t)))
                    });
                    doc.end_sentence();
                }
            }
        }
        doc.end_sentence();
        doc
    }
}

/// How rougeLsum finds sentences.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sentences {
    /// rouge-score's default: one sentence per line (`text.split("\n")`).
    Lines,
    /// Our rule-based splitter ([`crate::sentences::split`]), rouge-score's
    /// `split_summaries=True` without NLTK's punkt model.
    Split,
}

/// A tokenized text: token ids and the end offset of each non-empty sentence.
#[derive(Clone, Debug, Default)]
pub struct Document {
    pub ids: Vec<u32>,
    pub sentence_ends: Vec<usize>,
}

impl Document {
    fn end_sentence(&mut self) {
        let start = self.sentence_ends.last().copied().unwrap_or(0);
        if self.ids.len() > start {
            self.sentence_ends.push(self.ids.len());
        }
    }

    /// The sentences that have tokens (rouge-score drops empty ones; sentences
    /// without tokens change no count).
    pub fn sentences(&self) -> impl Iterator<Item = &[u32]> {
        let starts = std::iter::once(0).chain(self.sentence_ends.iter().copied());
        starts
            .zip(self.sentence_ends.iter())
            .map(|(start, &end)| &self.ids[start..end])
    }
}

// ---------------------------------------------------------------------------
// ROUGE-N
// ---------------------------------------------------------------------------

/// Counts of the n-grams of `tokens` (rouge-score's `_create_ngrams`). Works
/// with any token type: strings from [`tokenize`] or ids from [`Vocab`].
pub fn ngram_counts<T: Hash + Eq + Clone>(tokens: &[T], n: usize) -> HashMap<Vec<T>, usize> {
    let mut counts = HashMap::new();
    if n == 0 {
        return counts;
    }
    for gram in tokens.windows(n) {
        *counts.entry(gram.to_vec()).or_insert(0) += 1;
    }
    counts
}

/// Clipped overlap: the sum over target n-grams of `min(target, prediction)`.
pub fn ngram_overlap<K: Hash + Eq>(
    target: &HashMap<K, usize>,
    prediction: &HashMap<K, usize>,
) -> usize {
    target
        .iter()
        .map(|(gram, &count)| count.min(prediction.get(gram).copied().unwrap_or(0)))
        .sum()
}

/// rouge-score's `_score_ngrams` from the overlap and the n-gram totals.
pub fn ngram_score(overlap: usize, target_total: usize, prediction_total: usize) -> Score {
    let precision = overlap as f64 / prediction_total.max(1) as f64;
    let recall = overlap as f64 / target_total.max(1) as f64;
    Score::new(precision, recall)
}

/// Number of n-grams in a sequence of `len` tokens.
fn ngram_total(len: usize, n: usize) -> usize {
    (len + 1).saturating_sub(n)
}

/// Clipped n-gram overlap of two id sequences. Ids below `vocab_size` are
/// packed into one integer key when they fit, which is exact (injective).
fn id_ngram_overlap(target: &[u32], prediction: &[u32], n: usize, vocab_size: usize) -> usize {
    if target.len() < n || prediction.len() < n {
        return 0;
    }
    if n == 1 {
        let mut remaining = vec![0u32; vocab_size];
        for &id in target {
            remaining[id as usize] += 1;
        }
        let mut overlap = 0;
        for &id in prediction {
            if remaining[id as usize] > 0 {
                remaining[id as usize] -= 1;
                overlap += 1;
            }
        }
        return overlap;
    }
    let bits = (usize::BITS - vocab_size.leading_zeros()).max(1) as usize;
    if n * bits <= 64 {
        packed_overlap(target, prediction, n, |gram| {
            gram.iter().fold(0u64, |key, &id| (key << bits) | id as u64)
        })
    } else if n * bits <= 128 {
        packed_overlap(target, prediction, n, |gram| {
            gram.iter()
                .fold(0u128, |key, &id| (key << bits) | id as u128)
        })
    } else {
        packed_overlap(target, prediction, n, |gram| gram)
    }
}

fn packed_overlap<'a, K: Hash + Eq>(
    target: &'a [u32],
    prediction: &'a [u32],
    n: usize,
    key: impl Fn(&'a [u32]) -> K,
) -> usize {
    let mut remaining: FxHashMap<K, u32> = FxHashMap::default();
    remaining.reserve(target.len());
    for gram in target.windows(n) {
        *remaining.entry(key(gram)).or_insert(0) += 1;
    }
    let mut overlap = 0;
    for gram in prediction.windows(n) {
        if let Some(count) = remaining.get_mut(&key(gram)) {
            if *count > 0 {
                *count -= 1;
                overlap += 1;
            }
        }
    }
    overlap
}

// ---------------------------------------------------------------------------
// ROUGE-L and ROUGE-Lsum
// ---------------------------------------------------------------------------

/// Length of the longest common subsequence of `a` and `b`, bit-parallel
/// (Allison-Dix / Hyyrö): one pass over the longer sequence with the shorter
/// one as bit vectors. Only symbols of the shorter sequence change the state.
pub fn lcs_length<T: Hash + Eq>(a: &[T], b: &[T]) -> usize {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if short.is_empty() {
        return 0;
    }
    let words = short.len().div_ceil(64);
    let mut slots: HashMap<&T, usize> = HashMap::new();
    let mut masks: Vec<u64> = Vec::new();
    for (i, symbol) in short.iter().enumerate() {
        let next = slots.len();
        let slot = *slots.entry(symbol).or_insert(next);
        if slot == next {
            masks.resize(masks.len() + words, 0);
        }
        masks[slot * words + i / 64] |= 1 << (i % 64);
    }
    let mut v = vec![u64::MAX; words];
    for symbol in long {
        if let Some(&slot) = slots.get(symbol) {
            advance(&mut v, &masks[slot * words..(slot + 1) * words]);
        }
    }
    count_matches(&v, short.len())
}

/// [`lcs_length`] for ids below `vocab_size`, with a dense slot table.
fn id_lcs_length(a: &[u32], b: &[u32], vocab_size: usize) -> usize {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if short.is_empty() {
        return 0;
    }
    let words = short.len().div_ceil(64);
    let mut slot_of = vec![u32::MAX; vocab_size];
    let mut masks: Vec<u64> = Vec::new();
    for (i, &id) in short.iter().enumerate() {
        if slot_of[id as usize] == u32::MAX {
            slot_of[id as usize] = (masks.len() / words) as u32;
            masks.resize(masks.len() + words, 0);
        }
        let slot = slot_of[id as usize] as usize;
        masks[slot * words + i / 64] |= 1 << (i % 64);
    }
    let mut v = vec![u64::MAX; words];
    if words == 1 {
        let mut v0 = v[0];
        for &id in long {
            let slot = slot_of[id as usize];
            if slot != u32::MAX {
                let u = v0 & masks[slot as usize];
                v0 = v0.wrapping_add(u) | (v0 - u);
            }
        }
        v[0] = v0;
    } else {
        for &id in long {
            let slot = slot_of[id as usize];
            if slot != u32::MAX {
                let start = slot as usize * words;
                advance(&mut v, &masks[start..start + words]);
            }
        }
    }
    count_matches(&v, short.len())
}

/// One step of the bit-parallel LCS: `V = (V + (V & M)) | (V - (V & M))`
/// over multi-word integers (least significant word first).
fn advance(v: &mut [u64], mask: &[u64]) {
    let mut carry = false;
    let mut borrow = false;
    for (word, &m) in v.iter_mut().zip(mask) {
        let u = *word & m;
        let (sum, c1) = word.overflowing_add(u);
        let (sum, c2) = sum.overflowing_add(carry as u64);
        let (diff, b1) = word.overflowing_sub(u);
        let (diff, b2) = diff.overflowing_sub(borrow as u64);
        carry = c1 || c2;
        borrow = b1 || b2;
        *word = sum | diff;
    }
}

/// The LCS length: zero bits among the low `len` bits of V.
fn count_matches(v: &[u64], len: usize) -> usize {
    let mut zeros = 0;
    for (k, &word) in v.iter().enumerate() {
        let bits = (len - k * 64).min(64);
        let valid = if bits == 64 {
            u64::MAX
        } else {
            (1u64 << bits) - 1
        };
        zeros += (!word & valid).count_ones() as usize;
    }
    zeros
}

/// rouge-score's `_score_lcs` from token sequences.
fn lcs_score(target: &[u32], prediction: &[u32], vocab_size: usize) -> Score {
    if target.is_empty() || prediction.is_empty() {
        return Score::default();
    }
    let lcs = id_lcs_length(target, prediction, vocab_size) as f64;
    Score::new(lcs / prediction.len() as f64, lcs / target.len() as f64)
}

/// Marks in `hit` the target positions of the LCS that rouge-score's
/// `_backtrack_norec` reads out of its DP table (ties move left in the
/// prediction only when that cell is strictly larger).
fn mark_lcs(target: &[u32], prediction: &[u32], table: &mut Vec<u32>, hit: &mut [bool]) {
    let cols = prediction.len() + 1;
    table.clear();
    table.resize((target.len() + 1) * cols, 0);
    for (i, &t) in target.iter().enumerate() {
        let (above, row) = table[i * cols..(i + 2) * cols].split_at_mut(cols);
        for (j, &p) in prediction.iter().enumerate() {
            row[j + 1] = if t == p {
                above[j] + 1
            } else {
                above[j + 1].max(row[j])
            };
        }
    }
    let (mut i, mut j) = (target.len(), prediction.len());
    while i > 0 && j > 0 {
        if target[i - 1] == prediction[j - 1] {
            hit[i - 1] = true;
            i -= 1;
            j -= 1;
        } else if table[i * cols + j - 1] > table[(i - 1) * cols + j] {
            j -= 1;
        } else {
            i -= 1;
        }
    }
}

/// rouge-score's `_summary_level_lcs`: union LCS per target sentence, with
/// hits capped by the remaining token counts of both summaries.
fn summary_lcs_score(target: &Document, prediction: &Document, vocab_size: usize) -> Score {
    let target_len = target.ids.len();
    let prediction_len = prediction.ids.len();
    if target_len == 0 || prediction_len == 0 {
        return Score::default();
    }
    let mut remaining_target = vec![0u32; vocab_size];
    let mut remaining_prediction = vec![0u32; vocab_size];
    for &id in &target.ids {
        remaining_target[id as usize] += 1;
    }
    for &id in &prediction.ids {
        remaining_prediction[id as usize] += 1;
    }
    let mut table = Vec::new();
    let mut hits = 0usize;
    for sentence in target.sentences() {
        let mut hit = vec![false; sentence.len()];
        for candidate in prediction.sentences() {
            mark_lcs(sentence, candidate, &mut table, &mut hit);
        }
        for (&id, _) in sentence.iter().zip(&hit).filter(|(_, &h)| h) {
            let id = id as usize;
            if remaining_prediction[id] > 0 && remaining_target[id] > 0 {
                hits += 1;
                remaining_prediction[id] -= 1;
                remaining_target[id] -= 1;
            }
        }
    }
    Score::new(
        hits as f64 / prediction_len as f64,
        hits as f64 / target_len as f64,
    )
}

// ---------------------------------------------------------------------------
// The scorer
// ---------------------------------------------------------------------------

/// Scores texts for a fixed list of ROUGE types, like rouge-score's `RougeScorer`.
#[derive(Clone, Debug)]
pub struct Scorer {
    types: Vec<RougeType>,
    stem: bool,
    sentences: Sentences,
}

impl Scorer {
    /// `types` by name (`rouge1`..`rouge9`, `rougeL`, `rougeLsum`); `split`
    /// selects our sentence splitter for rougeLsum instead of newlines.
    pub fn new<S: AsRef<str>>(types: &[S], stem: bool, split: bool) -> Result<Self, String> {
        let types = types
            .iter()
            .map(|t| t.as_ref().parse())
            .collect::<Result<Vec<_>, _>>()?;
        let sentences = if split {
            Sentences::Split
        } else {
            Sentences::Lines
        };
        Ok(Self {
            types,
            stem,
            sentences,
        })
    }

    pub fn types(&self) -> &[RougeType] {
        &self.types
    }

    /// One score per type, in the order the types were given.
    pub fn score(&self, target: &str, prediction: &str) -> Vec<Score> {
        self.score_multi(&[target], prediction)
    }

    /// Per type, the score of the target with the highest F-measure (the first
    /// on ties), as rouge-score's `score_multi`. No targets gives zeros.
    pub fn score_multi<S: AsRef<str>>(&self, targets: &[S], prediction: &str) -> Vec<Score> {
        let mut vocab = Vocab::new();
        let prediction = vocab.document(prediction, self.stem, self.sentences);
        let targets: Vec<Document> = targets
            .iter()
            .map(|t| vocab.document(t.as_ref(), self.stem, self.sentences))
            .collect();
        let mut best: Vec<Option<Score>> = vec![None; self.types.len()];
        for target in &targets {
            for (slot, &kind) in best.iter_mut().zip(&self.types) {
                let score = self.score_documents(kind, target, &prediction, vocab.len());
                if slot.is_none_or(|b| score.fmeasure > b.fmeasure) {
                    *slot = Some(score);
                }
            }
        }
        best.into_iter().map(Option::unwrap_or_default).collect()
    }

    fn score_documents(
        &self,
        kind: RougeType,
        target: &Document,
        prediction: &Document,
        vocab_size: usize,
    ) -> Score {
        match kind {
            RougeType::N(n) => {
                let overlap = id_ngram_overlap(&target.ids, &prediction.ids, n, vocab_size);
                ngram_score(
                    overlap,
                    ngram_total(target.ids.len(), n),
                    ngram_total(prediction.ids.len(), n),
                )
            }
            RougeType::L => lcs_score(&target.ids, &prediction.ids, vocab_size),
            RougeType::Lsum => summary_lcs_score(target, prediction, vocab_size),
        }
    }

    /// [`Scorer::score`] of each (target, prediction) pair, in parallel.
    pub fn score_batch<S: AsRef<str> + Sync>(
        &self,
        targets: &[S],
        predictions: &[S],
    ) -> Vec<Vec<Score>> {
        targets
            .par_iter()
            .zip(predictions.par_iter())
            .with_min_len(4)
            .map(|(t, p)| self.score(t.as_ref(), p.as_ref()))
            .collect()
    }

    /// [`Scorer::score_multi`] of each (targets, prediction) pair, in parallel.
    pub fn score_multi_batch<S: AsRef<str> + Sync>(
        &self,
        targets: &[Vec<S>],
        predictions: &[S],
    ) -> Vec<Vec<Score>> {
        targets
            .par_iter()
            .zip(predictions.par_iter())
            .with_min_len(4)
            .map(|(t, p)| self.score_multi(t, p.as_ref()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scorer(types: &[&str], stem: bool) -> Scorer {
        Scorer::new(types, stem, false).unwrap()
    }

    #[test]
    fn tokenizer_matches_rouge_score_rules() {
        assert_eq!(
            tokenize("The quick-brown FOX, 42!", false),
            ["the", "quick", "brown", "fox", "42"]
        );
        assert_eq!(
            tokenize("Meetings were running", true),
            ["meet", "were", "run"]
        );
        assert_eq!(
            tokenize("caf\u{e9} \u{130}stanbul \u{212A}elvin", false),
            ["caf", "i", "stanbul", "kelvin"]
        );
        assert!(tokenize("", true).is_empty());
        assert!(tokenize(" ... \n ", true).is_empty());
    }

    #[test]
    fn rouge_types_parse_like_rouge_score() {
        assert_eq!("rouge2".parse::<RougeType>(), Ok(RougeType::N(2)));
        assert_eq!("rougeLsum".parse::<RougeType>(), Ok(RougeType::Lsum));
        assert!("rouge0"
            .parse::<RougeType>()
            .unwrap_err()
            .contains("positive"));
        assert!("rouge10".parse::<RougeType>().is_err());
        assert!("bleu".parse::<RougeType>().is_err());
    }

    #[test]
    fn rouge_score_docstring_example() {
        // rouge-score README: rouge1 p=0.75 r=0.6667 f=0.7059, rougeL p=0.625 r=0.5556.
        let s = scorer(&["rouge1", "rougeL"], true).score(
            "The quick brown fox jumps over the lazy dog",
            "The quick brown dog jumps on the log.",
        );
        assert_eq!(s[0].precision, 6.0 / 8.0);
        assert_eq!(s[0].recall, 6.0 / 9.0);
        assert_eq!(s[1].precision, 5.0 / 8.0);
        assert_eq!(s[1].recall, 5.0 / 9.0);
    }

    #[test]
    fn empty_sides_score_zero() {
        let s = scorer(&["rouge1", "rouge2", "rougeL", "rougeLsum"], false);
        for (t, p) in [("", "a b"), ("a b", ""), ("", ""), ("!!", "a")] {
            assert!(
                s.score(t, p).iter().all(|x| *x == Score::default()),
                "{t:?} {p:?}"
            );
        }
    }

    #[test]
    fn bit_parallel_lcs_equals_dp() {
        fn dp(a: &[u32], b: &[u32]) -> usize {
            let mut t = vec![vec![0usize; b.len() + 1]; a.len() + 1];
            for i in 1..=a.len() {
                for j in 1..=b.len() {
                    t[i][j] = if a[i - 1] == b[j - 1] {
                        t[i - 1][j - 1] + 1
                    } else {
                        t[i - 1][j].max(t[i][j - 1])
                    };
                }
            }
            t[a.len()][b.len()]
        }
        let mut state = 12345u64;
        let mut next = |k: u64| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 33) % k) as u32
        };
        for round in 0..300 {
            let la = next(200) as usize;
            let lb = next(200) as usize;
            let alphabet = 1 + (round % 7) as u64;
            let a: Vec<u32> = (0..la).map(|_| next(alphabet)).collect();
            let b: Vec<u32> = (0..lb).map(|_| next(alphabet)).collect();
            let expected = dp(&a, &b);
            assert_eq!(lcs_length(&a, &b), expected);
            assert_eq!(id_lcs_length(&a, &b, 8), expected);
        }
    }

    #[test]
    fn packed_ngram_overlap_equals_generic() {
        let mut vocab = Vocab::new();
        let t = vocab.tokenize("a b a b c a b a b c d a b", false);
        let p = vocab.tokenize("b a b c a b a b a b", false);
        for n in 1..=9 {
            let generic = ngram_overlap(&ngram_counts(&t, n), &ngram_counts(&p, n));
            assert_eq!(id_ngram_overlap(&t, &p, n, vocab.len()), generic, "n={n}");
        }
    }

    #[test]
    fn summary_lcs_follows_rouge_score_example() {
        // The ROUGE paper's example, as in rouge-score's tests: hits 4 of 5 / 10.
        let s =
            scorer(&["rougeLsum"], false).score("w1 w2 w3 w4 w5", "w1 w2 w6 w7 w8\nw1 w3 w8 w9 w5");
        assert_eq!(s[0].recall, 4.0 / 5.0);
        assert_eq!(s[0].precision, 4.0 / 10.0);
    }

    #[test]
    fn score_multi_takes_best_fmeasure() {
        let s = scorer(&["rouge1"], false);
        let multi = s.score_multi(&["x y z", "a b c", "a b"], "a b c");
        assert_eq!(multi[0].fmeasure, 1.0);
        assert_eq!(s.score_multi::<&str>(&[], "a")[0], Score::default());
    }

    #[test]
    fn batch_equals_single() {
        let s = scorer(&["rouge1", "rouge2", "rougeL", "rougeLsum"], true);
        let targets = vec!["the cats sat\non mats", "one two", ""];
        let preds = vec!["a cat sat on the mat", "two one two", "x"];
        let batch = s.score_batch(&targets, &preds);
        for i in 0..3 {
            assert_eq!(batch[i], s.score(targets[i], preds[i]));
        }
    }
}
