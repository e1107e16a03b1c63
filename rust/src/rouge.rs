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
//! The extractive oracle (`oracle.rs`) optimizes the same figures with
//! [`tokenize`] and [`fmeasure`]. To score one text against many others,
//! [`Scorer::prepare`] tokenizes it once into a [`PreparedText`] for
//! [`Scorer::score_prepared`]; [`Scorer::score_batch`] does this for every
//! distinct text of a batch and scores the pairs in parallel.

use std::cell::RefCell;

use rayon::prelude::*;
use rustc_hash::FxHashMap;

use crate::lcs::{lcs_length_ids, Masks, UnionLcs, NO_ID};
use crate::stem;
use crate::summary_sentences;
use crate::vocabulary::Vocabulary;

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

/// Token ids of `text` (interned in `vocab`) together with its sentence
/// boundaries.
fn document(vocab: &mut Vocabulary, text: &str, stem: bool, sentences: Sentences) -> Document {
    let mut doc = Document::default();
    // Ids of the raw (unstemmed) tokens of this text: most tokens repeat,
    // and one lookup here replaces the stem cache and vocabulary lookups.
    let mut raw_ids: FxHashMap<Box<str>, u32> = FxHashMap::default();
    let mut id_of = |token: &str| match raw_ids.get(token) {
        Some(&id) => id,
        None => {
            let id = with_stemmed(token, stem, |t| vocab.id(t));
            raw_ids.insert(token.into(), id);
            id
        }
    };
    match sentences {
        Sentences::Lines => scan_tokens(text, |token, new_line| {
            if new_line {
                doc.end_sentence();
            }
            doc.ids.push(id_of(token));
        }),
        Sentences::Split => {
            for sentence in summary_sentences::split(text) {
                scan_tokens(sentence, |token, _| doc.ids.push(id_of(token)));
                doc.end_sentence();
            }
        }
    }
    doc.end_sentence();
    doc
}

/// How rougeLsum finds sentences.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sentences {
    /// rouge-score's default: one sentence per line (`text.split("\n")`).
    Lines,
    /// Our rule-based splitter ([`crate::summary_sentences::split`]), rouge-score's
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
}

// ---------------------------------------------------------------------------
// ROUGE-N
// ---------------------------------------------------------------------------

/// rouge-score's `_score_ngrams` from the overlap and the n-gram totals.
fn ngram_score(overlap: usize, target_total: usize, prediction_total: usize) -> Score {
    let precision = overlap as f64 / prediction_total.max(1) as f64;
    let recall = overlap as f64 / target_total.max(1) as f64;
    Score::new(precision, recall)
}

/// Number of n-grams in a sequence of `len` tokens.
fn ngram_total(len: usize, n: usize) -> usize {
    (len + 1).saturating_sub(n)
}

// ---------------------------------------------------------------------------
// Texts prepared once, scored against many others
// ---------------------------------------------------------------------------

/// The n-gram counts of one text over its own token ids: a hash table for
/// lookups and the distinct n-grams as a flat list for iteration. Keys pack the
/// n ids into one integer (`bits` per id) when they fit in 128 bits, which is
/// exact (injective); otherwise the ids themselves are the key.
struct NgramTable {
    lookup: NgramLookup,
    /// Distinct n-grams, n ids each, and their counts.
    grams: Vec<u32>,
    counts: Vec<u32>,
}

enum NgramLookup {
    Packed {
        bits: u32,
        counts: FxHashMap<u128, u32>,
    },
    Slices(FxHashMap<Box<[u32]>, u32>),
}

impl NgramTable {
    fn build(ids: &[u32], n: usize, vocab_size: usize) -> Self {
        let bits = (u32::BITS - (vocab_size as u32).leading_zeros()).max(1);
        let mut grams = Vec::new();
        let mut counts = Vec::new();
        let lookup = if n as u32 * bits <= 128 {
            let mut table: FxHashMap<u128, u32> = FxHashMap::default();
            table.reserve(ids.len());
            for gram in ids.windows(n) {
                *table.entry(pack(gram, bits)).or_insert_with(|| {
                    grams.extend_from_slice(gram);
                    0
                }) += 1;
            }
            NgramLookup::Packed {
                bits,
                counts: table,
            }
        } else {
            let mut table: FxHashMap<Box<[u32]>, u32> = FxHashMap::default();
            for gram in ids.windows(n) {
                *table.entry(gram.into()).or_insert_with(|| {
                    grams.extend_from_slice(gram);
                    0
                }) += 1;
            }
            NgramLookup::Slices(table)
        };
        let mut this = Self {
            lookup,
            grams,
            counts: Vec::new(),
        };
        counts.extend(this.grams.chunks_exact(n).map(|gram| this.get(gram)));
        this.counts = counts;
        this
    }

    /// Count of the n-gram `gram` (ids of this text).
    #[inline]
    fn get(&self, gram: &[u32]) -> u32 {
        match &self.lookup {
            NgramLookup::Packed { bits, counts } => {
                counts.get(&pack(gram, *bits)).copied().unwrap_or(0)
            }
            NgramLookup::Slices(counts) => counts.get(gram).copied().unwrap_or(0),
        }
    }

    /// Calls `f(gram, count)` for each distinct n-gram.
    fn for_each(&self, n: usize, mut f: impl FnMut(&[u32], u32)) {
        for (gram, &count) in self.grams.chunks_exact(n).zip(&self.counts) {
            f(gram, count);
        }
    }
}

#[inline]
fn pack(gram: &[u32], bits: u32) -> u128 {
    gram.iter()
        .fold(0u128, |key, &id| (key << bits) | id as u128)
}

/// A text tokenized once (tokens, sentences, unigram and n-gram counts), so
/// that it can be scored against any number of other texts cheaply.
pub struct PreparedText {
    vocab: Vocabulary,
    doc: Document,
    counts: Vec<u32>,
    ngrams: Vec<Option<NgramTable>>,
}

impl PreparedText {
    fn new(text: &str, stem: bool, sentences: Sentences, ngram_sizes: &[usize]) -> Self {
        let mut vocab = Vocabulary::default();
        let doc = document(&mut vocab, text, stem, sentences);
        let mut counts = vec![0u32; vocab.len()];
        for &id in &doc.ids {
            counts[id as usize] += 1;
        }
        let mut ngrams: Vec<Option<NgramTable>> = (0..10).map(|_| None).collect();
        for &n in ngram_sizes {
            if n >= 2 && ngrams[n].is_none() {
                ngrams[n] = Some(NgramTable::build(&doc.ids, n, vocab.len()));
            }
        }
        Self {
            vocab,
            doc,
            counts,
            ngrams,
        }
    }

    /// Number of tokens.
    fn len(&self) -> usize {
        self.doc.ids.len()
    }
}

/// Two prepared texts seen through the ids of the one with more distinct
/// tokens (`big`); the other's tokens are mapped to those ids, or to
/// [`NO_ID`] when `big` lacks them (such tokens can match nothing).
struct Pair<'a> {
    big: &'a PreparedText,
    small: &'a PreparedText,
    /// `small`'s id -> `big`'s id or NO_ID.
    remap: Vec<u32>,
    /// `small`'s tokens in `big`'s ids.
    small_ids: Vec<u32>,
    small_is_target: bool,
}

impl<'a> Pair<'a> {
    /// The pair, filling `remap` and `small_ids` (buffers reused across pairs).
    fn new(
        target: &'a PreparedText,
        prediction: &'a PreparedText,
        mut remap: Vec<u32>,
        mut small_ids: Vec<u32>,
    ) -> Self {
        let small_is_target = target.vocab.len() < prediction.vocab.len();
        let (big, small) = if small_is_target {
            (prediction, target)
        } else {
            (target, prediction)
        };
        remap.clear();
        remap.resize(small.vocab.len(), NO_ID);
        for (token, id) in small.vocab.iter() {
            if let Some(big_id) = big.vocab.get(token) {
                remap[id as usize] = big_id;
            }
        }
        small_ids.clear();
        small_ids.extend(small.doc.ids.iter().map(|&id| remap[id as usize]));
        Self {
            big,
            small,
            remap,
            small_ids,
            small_is_target,
        }
    }

    /// The buffers back, for the next pair.
    fn into_buffers(self) -> (Vec<u32>, Vec<u32>) {
        (self.remap, self.small_ids)
    }

    fn vocab_size(&self) -> usize {
        self.big.vocab.len()
    }

    /// (target, prediction) token ids in `big`'s ids.
    fn ids(&self) -> (&[u32], &[u32]) {
        if self.small_is_target {
            (&self.small_ids, &self.big.doc.ids)
        } else {
            (&self.big.doc.ids, &self.small_ids)
        }
    }

    /// (target, prediction) sentence ends.
    fn sentence_ends(&self) -> (&[usize], &[usize]) {
        let (small, big) = (&self.small.doc.sentence_ends, &self.big.doc.sentence_ends);
        if self.small_is_target {
            (small, big)
        } else {
            (big, small)
        }
    }

    /// Clipped n-gram overlap; symmetric, so computed from `small`'s n-grams.
    fn ngram_overlap(&self, n: usize) -> usize {
        if n == 1 {
            return (self.small.counts.iter().zip(&self.remap))
                .filter(|(_, &big_id)| big_id != NO_ID)
                .map(|(&count, &big_id)| count.min(self.big.counts[big_id as usize]) as usize)
                .sum();
        }
        let (Some(small_table), Some(big_table)) = (&self.small.ngrams[n], &self.big.ngrams[n])
        else {
            unreachable!("n-gram tables are built for every requested n");
        };
        let mut overlap = 0;
        let mut mapped = [0u32; 9];
        let mapped = &mut mapped[..n];
        small_table.for_each(n, |gram, count| {
            for (slot, &id) in mapped.iter_mut().zip(gram) {
                *slot = self.remap[id as usize];
            }
            if !mapped.contains(&NO_ID) {
                overlap += count.min(big_table.get(mapped)) as usize;
            }
        });
        overlap
    }

    fn rouge_n(&self, n: usize) -> Score {
        let overlap = if self.small.len() < n || self.big.len() < n {
            0
        } else {
            self.ngram_overlap(n)
        };
        let (target, prediction) = self.ids();
        ngram_score(
            overlap,
            ngram_total(target.len(), n),
            ngram_total(prediction.len(), n),
        )
    }

    /// rouge-score's `_score_lcs`.
    fn rouge_l(&self, masks: &mut Masks) -> Score {
        let (target, prediction) = self.ids();
        if target.is_empty() || prediction.is_empty() {
            return Score::default();
        }
        let lcs = lcs_length_ids(target, prediction, self.vocab_size(), masks) as f64;
        Score::new(lcs / prediction.len() as f64, lcs / target.len() as f64)
    }

    /// rouge-score's `_summary_level_lcs`: the union LCS of each target
    /// sentence with all prediction sentences, hits capped by the remaining
    /// token counts of both summaries.
    fn rouge_lsum(&self, union: &mut UnionLcs, buffers: &mut LsumBuffers) -> Score {
        let (target, prediction) = self.ids();
        if target.is_empty() || prediction.is_empty() {
            return Score::default();
        }
        let (target_ends, prediction_ends) = self.sentence_ends();
        let LsumBuffers {
            remaining_big,
            remaining_small,
            hit,
        } = buffers;
        remaining_big.clear();
        remaining_big.extend_from_slice(&self.big.counts);
        remaining_small.clear();
        remaining_small.resize(self.vocab_size(), 0);
        for (&count, &big_id) in self.small.counts.iter().zip(&self.remap) {
            if big_id != NO_ID {
                remaining_small[big_id as usize] = count;
            }
        }
        let (remaining_target, remaining_prediction) = if self.small_is_target {
            (remaining_small, remaining_big)
        } else {
            (remaining_big, remaining_small)
        };
        let mut hits = 0usize;
        for sentence in sentences_of(target, target_ends) {
            hit.clear();
            hit.resize(sentence.len(), false);
            union.load(sentence, self.vocab_size());
            for candidate in sentences_of(prediction, prediction_ends) {
                union.mark(sentence, candidate, hit);
            }
            for (&id, _) in sentence.iter().zip(hit.iter()).filter(|(_, &h)| h) {
                let id = id as usize;
                if remaining_prediction[id] > 0 && remaining_target[id] > 0 {
                    hits += 1;
                    remaining_prediction[id] -= 1;
                    remaining_target[id] -= 1;
                }
            }
        }
        Score::new(
            hits as f64 / prediction.len() as f64,
            hits as f64 / target.len() as f64,
        )
    }
}

fn sentences_of<'a>(ids: &'a [u32], ends: &'a [usize]) -> impl Iterator<Item = &'a [u32]> {
    let starts = std::iter::once(0).chain(ends.iter().copied());
    starts
        .zip(ends.iter())
        .map(move |(start, &end)| &ids[start..end])
}

// ---------------------------------------------------------------------------
// The scorer
// ---------------------------------------------------------------------------

/// Bit masks, LCS columns and buffers, reused by all pairs scored on a thread.
#[derive(Default)]
struct Scratch {
    masks: Masks,
    union: UnionLcs,
    lsum: LsumBuffers,
    remap: Vec<u32>,
    small_ids: Vec<u32>,
}

/// Remaining token counts of both summaries and the union marks of rougeLsum.
#[derive(Default)]
struct LsumBuffers {
    remaining_big: Vec<u32>,
    remaining_small: Vec<u32>,
    hit: Vec<bool>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

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

    /// Tokenizes `text` once for scoring against any other prepared text.
    pub fn prepare(&self, text: &str) -> PreparedText {
        let sizes: Vec<usize> = self
            .types
            .iter()
            .filter_map(|t| match t {
                RougeType::N(n) => Some(*n),
                _ => None,
            })
            .collect();
        PreparedText::new(text, self.stem, self.sentences, &sizes)
    }

    /// One score per type, in the order the types were given.
    pub fn score(&self, target: &str, prediction: &str) -> Vec<Score> {
        self.score_prepared(&self.prepare(target), &self.prepare(prediction))
    }

    /// Scores of two prepared texts (both from this scorer's `prepare`).
    pub fn score_prepared(&self, target: &PreparedText, prediction: &PreparedText) -> Vec<Score> {
        SCRATCH.with(|scratch| {
            let Scratch {
                masks,
                union,
                lsum,
                remap,
                small_ids,
            } = &mut *scratch.borrow_mut();
            let pair = Pair::new(
                target,
                prediction,
                std::mem::take(remap),
                std::mem::take(small_ids),
            );
            let scores = self
                .types
                .iter()
                .map(|kind| match *kind {
                    RougeType::N(n) => pair.rouge_n(n),
                    RougeType::L => pair.rouge_l(masks),
                    RougeType::Lsum => pair.rouge_lsum(union, lsum),
                })
                .collect();
            (*remap, *small_ids) = pair.into_buffers();
            scores
        })
    }

    /// Per type, the score of the target with the highest F-measure (the first
    /// on ties), as rouge-score's `score_multi`. No targets gives zeros.
    pub fn score_multi<S: AsRef<str>>(&self, targets: &[S], prediction: &str) -> Vec<Score> {
        let prediction = self.prepare(prediction);
        let targets: Vec<PreparedText> = targets.iter().map(|t| self.prepare(t.as_ref())).collect();
        self.best_of(targets.iter(), &prediction)
    }

    fn best_of<'a>(
        &self,
        targets: impl Iterator<Item = &'a PreparedText>,
        prediction: &PreparedText,
    ) -> Vec<Score> {
        let mut best: Vec<Option<Score>> = vec![None; self.types.len()];
        for target in targets {
            let scores = self.score_prepared(target, prediction);
            for (slot, score) in best.iter_mut().zip(scores) {
                if slot.is_none_or(|b| score.fmeasure > b.fmeasure) {
                    *slot = Some(score);
                }
            }
        }
        best.into_iter().map(Option::unwrap_or_default).collect()
    }

    /// Every distinct text of `texts` prepared once, in parallel; returns the
    /// prepared texts and, per input text, its index among them.
    fn prepare_distinct<'a>(
        &self,
        texts: impl Iterator<Item = &'a str>,
    ) -> (Vec<PreparedText>, Vec<usize>) {
        let mut index: FxHashMap<&str, usize> = FxHashMap::default();
        let mut distinct = Vec::new();
        let positions = texts
            .map(|text| {
                *index.entry(text).or_insert_with(|| {
                    distinct.push(text);
                    distinct.len() - 1
                })
            })
            .collect();
        let prepared = distinct.par_iter().map(|text| self.prepare(text)).collect();
        (prepared, positions)
    }

    /// [`Scorer::score`] of each (target, prediction) pair, in parallel. Each
    /// distinct text is tokenized once however often it occurs. Unequal
    /// numbers of targets and predictions are an error.
    pub fn score_batch<S: AsRef<str> + Sync>(
        &self,
        targets: &[S],
        predictions: &[S],
    ) -> Result<Vec<Vec<Score>>, String> {
        same_length("targets", targets.len(), predictions.len())?;
        let texts = targets.iter().chain(predictions).map(AsRef::as_ref);
        let (prepared, positions) = self.prepare_distinct(texts);
        let (target_at, prediction_at) = positions.split_at(targets.len());
        Ok(target_at
            .par_iter()
            .zip(prediction_at)
            .map(|(&t, &p)| self.score_prepared(&prepared[t], &prepared[p]))
            .collect())
    }

    /// [`Scorer::score_multi`] of each (targets, prediction) pair, in parallel.
    /// Unequal numbers of target lists and predictions are an error.
    pub fn score_multi_batch<S: AsRef<str> + Sync>(
        &self,
        targets: &[Vec<S>],
        predictions: &[S],
    ) -> Result<Vec<Vec<Score>>, String> {
        same_length("target lists", targets.len(), predictions.len())?;
        let texts = predictions
            .iter()
            .chain(targets.iter().flatten())
            .map(AsRef::as_ref);
        let (prepared, positions) = self.prepare_distinct(texts);
        let (prediction_at, mut rest) = positions.split_at(predictions.len());
        let mut target_at = Vec::with_capacity(targets.len());
        for list in targets {
            let (here, tail) = rest.split_at(list.len());
            target_at.push(here);
            rest = tail;
        }
        Ok(target_at
            .par_iter()
            .zip(prediction_at)
            .map(|(ts, &p)| self.best_of(ts.iter().map(|&t| &prepared[t]), &prepared[p]))
            .collect())
    }
}

fn same_length(what: &str, targets: usize, predictions: usize) -> Result<(), String> {
    if targets == predictions {
        Ok(())
    } else {
        Err(format!("{targets} {what} but {predictions} predictions"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::hash::Hash;

    /// rouge-score's `_create_ngrams`: counts of the n-grams of `tokens`.
    fn ngram_counts<T: Hash + Eq + Clone>(tokens: &[T], n: usize) -> HashMap<Vec<T>, usize> {
        let mut counts = HashMap::new();
        for gram in tokens.windows(n) {
            *counts.entry(gram.to_vec()).or_insert(0) += 1;
        }
        counts
    }

    /// Clipped overlap: the sum over target n-grams of `min(target, prediction)`.
    fn ngram_overlap<K: Hash + Eq>(
        target: &HashMap<K, usize>,
        prediction: &HashMap<K, usize>,
    ) -> usize {
        target
            .iter()
            .map(|(gram, &count)| count.min(prediction.get(gram).copied().unwrap_or(0)))
            .sum()
    }

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
    fn packed_ngram_overlap_equals_generic() {
        let (t, p) = ("a b a b c a b a b c d a b e", "b a b c a b a b a b f g");
        let types: Vec<String> = (1..=9).map(|n| format!("rouge{n}")).collect();
        let scores = Scorer::new(&types, false, false).unwrap().score(t, p);
        let (t, p) = (tokenize(t, false), tokenize(p, false));
        for n in 1..=9 {
            let generic = ngram_overlap(&ngram_counts(&t, n), &ngram_counts(&p, n));
            let expected = ngram_score(
                generic,
                (t.len() + 1).saturating_sub(n),
                (p.len() + 1).saturating_sub(n),
            );
            assert_eq!(scores[n - 1], expected, "n={n}");
        }
    }

    #[test]
    fn wide_vocabularies_use_unpacked_ngram_keys() {
        // 40000 distinct tokens need 16 bits per id: 9-grams no longer fit 128 bits.
        let words: Vec<String> = (0..40000).map(|i| format!("w{i}")).collect();
        let target = words.join(" ");
        let prediction = format!(
            "{} x {}",
            words[10..30].join(" "),
            words[100..200].join(" ")
        );
        let types = ["rouge1", "rouge4", "rouge9", "rougeL"];
        let scores = Scorer::new(&types, false, false)
            .unwrap()
            .score(&target, &prediction);
        let (t, p) = (tokenize(&target, false), tokenize(&prediction, false));
        for (k, n) in [(0, 1), (1, 4), (2, 9)] {
            let overlap = ngram_overlap(&ngram_counts(&t, n), &ngram_counts(&p, n));
            assert_eq!(
                scores[k],
                ngram_score(overlap, t.len() + 1 - n, p.len() + 1 - n)
            );
        }
        assert_eq!(scores[3].precision, 120.0 / 121.0);
    }

    #[test]
    fn multi_batch_equals_score_multi() {
        let s = scorer(&["rouge1", "rouge2", "rougeL", "rougeLsum"], true);
        let targets = vec![
            vec!["the cats sat", "cats\nsat on mats"],
            vec!["one"],
            vec![],
        ];
        let preds = vec!["a cat sat on the mat", "one two", "x"];
        let batch = s.score_multi_batch(&targets, &preds).unwrap();
        for i in 0..3 {
            assert_eq!(batch[i], s.score_multi(&targets[i], preds[i]));
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
        let batch = s.score_batch(&targets, &preds).unwrap();
        for i in 0..3 {
            assert_eq!(batch[i], s.score(targets[i], preds[i]));
        }
        assert_eq!(
            s.score_batch(&targets, &preds[..2]).unwrap_err(),
            "3 targets but 2 predictions"
        );
        assert_eq!(
            s.score_multi_batch(&[vec!["a"]], &[]).unwrap_err(),
            "1 target lists but 0 predictions"
        );
    }
}
