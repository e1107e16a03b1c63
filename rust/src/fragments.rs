//! Faithfulness signals of a summary against its source transcript.
//!
//! - Extractive fragments (Grusky et al. 2018, "Newsroom", section 4.1): the
//!   paper's greedy algorithm, step for step. For each summary position `i`
//!   it scans the source from its start; at each source position `j` where
//!   the tokens agree it extends the match as far as it goes, keeps it if it
//!   is strictly longer than the best so far (so the first longest wins) and
//!   resumes the scan at the match's end (the paper's `j <- j'`: positions
//!   inside a match are not tried again). Then `i` advances by the best
//!   match's length (or by 1 when nothing matched).
//!   Coverage is `sum |f| / |S|`, density `sum |f|^2 / |S|` over the
//!   fragments `f` of a summary of `|S|` tokens.
//! - Novel n-grams: the share of the summary's n-grams (each occurrence
//!   counted) found in neither the source nor the query, a proxy for
//!   content the model made up.
//!
//! Tokens are rouge-score's (`rouge::tokenize`: lowercase `[a-z0-9]` runs,
//! Porter-stemmed when asked), so the fragments line up with the tokens ROUGE
//! counts. The scan does not walk every source position: a posting list per
//! source token gives the next `j >= start` where the tokens agree, which is
//! exactly where the paper's `j <- j + 1` loop would stop.

use rayon::prelude::*;

use crate::rouge::tokenize;
use crate::vocabulary::Vocabulary;

/// The n-gram size of the novelty share unless asked otherwise.
pub const DEFAULT_NGRAM: usize = 2;

/// One extractive fragment: `len` summary tokens from `summary_start` equal to
/// the source tokens from `source_start`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fragment {
    pub summary_start: usize,
    pub source_start: usize,
    pub len: usize,
}

/// A source text tokenized once, with the positions of each distinct token,
/// shared by every summary of it.
pub struct Source {
    vocabulary: Vocabulary,
    ids: Vec<u32>,
    positions: Vec<Vec<usize>>,
}

impl Source {
    pub fn new(text: &str, stem: bool) -> Self {
        let mut vocabulary = Vocabulary::default();
        let ids = vocabulary.ids(&tokenize(text, stem));
        let mut positions = vec![Vec::new(); vocabulary.len()];
        for (position, &id) in ids.iter().enumerate() {
            positions[id as usize].push(position);
        }
        Self {
            vocabulary,
            ids,
            positions,
        }
    }

    /// Source ids of `tokens`; None for a token the source never has.
    fn lookup(&self, tokens: &[String]) -> Vec<Option<u32>> {
        tokens.iter().map(|t| self.vocabulary.get(t)).collect()
    }

    /// How many tokens from `summary[i..]` and `self.ids[j..]` agree.
    fn match_length(&self, summary: &[Option<u32>], i: usize, j: usize) -> usize {
        summary[i..]
            .iter()
            .zip(&self.ids[j..])
            .take_while(|(s, a)| **s == Some(**a))
            .count()
    }

    /// The first longest match for `summary[i]` found by the paper's scan.
    fn best_match(&self, summary: &[Option<u32>], i: usize) -> Option<Fragment> {
        let id = summary[i]?;
        let mut best: Option<Fragment> = None;
        let mut resume = 0;
        for &j in &self.positions[id as usize] {
            if j < resume {
                continue; // inside the previous match: the scan jumped past it
            }
            let len = self.match_length(summary, i, j);
            if best.is_none_or(|b| len > b.len) {
                best = Some(Fragment {
                    summary_start: i,
                    source_start: j,
                    len,
                });
            }
            resume = j + len;
        }
        best
    }

    /// The greedy extractive fragments of `summary` (source ids).
    pub fn fragments(&self, summary: &[Option<u32>]) -> Vec<Fragment> {
        let mut fragments = Vec::new();
        let mut i = 0;
        while i < summary.len() {
            match self.best_match(summary, i) {
                Some(fragment) => {
                    i += fragment.len;
                    fragments.push(fragment);
                }
                None => i += 1,
            }
        }
        fragments
    }

    /// Whether the n-gram `gram` (source ids) occurs in the source.
    fn contains(&self, gram: &[Option<u32>]) -> bool {
        let Some(first) = gram[0] else {
            return false;
        };
        self.positions[first as usize]
            .iter()
            .any(|&j| self.match_length(gram, 0, j) == gram.len())
    }
}

/// The faithfulness signals of one summary. A summary without tokens has no
/// coverage or density, and one shorter than `n` tokens no novelty share.
#[derive(Clone, Debug, PartialEq)]
pub struct Signals {
    pub tokens: usize,
    pub fragments: Vec<Fragment>,
    pub coverage: Option<f64>,
    pub density: Option<f64>,
    pub novel_ngrams: Option<f64>,
}

/// Coverage `sum |f| / |S|` of fragments over a summary of `tokens` tokens.
pub fn coverage(fragments: &[Fragment], tokens: usize) -> Option<f64> {
    let covered: usize = fragments.iter().map(|f| f.len).sum();
    (tokens > 0).then(|| covered as f64 / tokens as f64)
}

/// Density `sum |f|^2 / |S|` of fragments over a summary of `tokens` tokens.
pub fn density(fragments: &[Fragment], tokens: usize) -> Option<f64> {
    let squares: usize = fragments.iter().map(|f| f.len * f.len).sum();
    (tokens > 0).then(|| squares as f64 / tokens as f64)
}

/// The share of the summary's `n`-grams in neither the source nor the query.
fn novel_share(
    source: &Source,
    summary: &[String],
    ids: &[Option<u32>],
    query: &[String],
    n: usize,
) -> Option<f64> {
    if summary.len() < n {
        return None;
    }
    let grams = summary.len() - n + 1;
    let novel = (0..grams)
        .filter(|&i| {
            let in_query = query.windows(n).any(|q| q == &summary[i..i + n]);
            !in_query && !source.contains(&ids[i..i + n])
        })
        .count();
    Some(novel as f64 / grams as f64)
}

/// All signals of `summary` against `source` and `query`.
pub fn signals(source: &Source, summary: &str, query: &str, n: usize, stem: bool) -> Signals {
    let tokens = tokenize(summary, stem);
    let ids = source.lookup(&tokens);
    let fragments = source.fragments(&ids);
    let query_tokens = tokenize(query, stem);
    Signals {
        tokens: tokens.len(),
        coverage: coverage(&fragments, tokens.len()),
        density: density(&fragments, tokens.len()),
        novel_ngrams: novel_share(source, &tokens, &ids, &query_tokens, n),
        fragments,
    }
}

/// Signals of many summaries: `summaries[i]` was written from
/// `sources[source_of[i]]` for `queries[i]`. Each source is tokenized once;
/// sources, then summaries, run in parallel.
pub fn signals_batch<S: AsRef<str> + Sync>(
    summaries: &[S],
    sources: &[S],
    queries: &[S],
    source_of: &[usize],
    n: usize,
    stem: bool,
) -> Result<Vec<Signals>, String> {
    check_batch(summaries.len(), sources.len(), queries.len(), source_of, n)?;
    let prepared: Vec<Source> = sources
        .par_iter()
        .map(|text| Source::new(text.as_ref(), stem))
        .collect();
    Ok((0..summaries.len())
        .into_par_iter()
        .map(|i| {
            let source = &prepared[source_of[i]];
            signals(source, summaries[i].as_ref(), queries[i].as_ref(), n, stem)
        })
        .collect())
}

fn check_batch(
    summaries: usize,
    sources: usize,
    queries: usize,
    source_of: &[usize],
    n: usize,
) -> Result<(), String> {
    if n == 0 {
        return Err("n must be at least 1".to_string());
    }
    if queries != summaries || source_of.len() != summaries {
        return Err(format!(
            "{summaries} summaries but {queries} queries and {} source indices",
            source_of.len()
        ));
    }
    if let Some(bad) = source_of.iter().find(|&&s| s >= sources) {
        return Err(format!(
            "a summary refers to source {bad}, but there are {sources}"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The paper's pseudocode over token strings, scanning every position.
    fn paper_fragments(summary: &[&str], source: &[&str]) -> Vec<(usize, usize, usize)> {
        let mut fragments = Vec::new();
        let mut i = 0;
        while i < summary.len() {
            let mut best: Option<(usize, usize, usize)> = None;
            let mut j = 0;
            while j < source.len() {
                if summary[i] == source[j] {
                    let (mut i2, mut j2) = (i, j);
                    while i2 < summary.len() && j2 < source.len() && summary[i2] == source[j2] {
                        i2 += 1;
                        j2 += 1;
                    }
                    if best.is_none_or(|b| b.2 < i2 - i) {
                        best = Some((i, j, i2 - i));
                    }
                    j = j2;
                } else {
                    j += 1;
                }
            }
            match best {
                Some(b) => {
                    i += b.2;
                    fragments.push(b);
                }
                None => i += 1,
            }
        }
        fragments
    }

    fn fragments_of(summary: &str, source: &str) -> Vec<(usize, usize, usize)> {
        let source = Source::new(source, false);
        let ids = source.lookup(&tokenize(summary, false));
        source
            .fragments(&ids)
            .iter()
            .map(|f| (f.summary_start, f.source_start, f.len))
            .collect()
    }

    fn words(text: &str) -> Vec<&str> {
        text.split_whitespace().collect()
    }

    #[test]
    fn copied_sentence_is_one_fragment() {
        let got = fragments_of("the cat sat", "yes the cat sat down");
        assert_eq!(got, vec![(0, 1, 3)]);
        let s = signals(
            &Source::new("yes the cat sat down", false),
            "the cat sat",
            "",
            2,
            false,
        );
        assert_eq!(s.coverage, Some(1.0));
        assert_eq!(s.density, Some(3.0));
        assert_eq!(s.novel_ngrams, Some(0.0));
    }

    #[test]
    fn the_scan_skips_positions_inside_a_match_as_the_paper_does() {
        // The longest match "a a b" starts at source position 1, inside the
        // first match "a a" (positions 0-1), so the paper's scan never tries it.
        let (summary, source) = ("a a b", "a a a b");
        assert_eq!(fragments_of(summary, source), vec![(0, 0, 2), (2, 3, 1)]);
        assert_eq!(
            fragments_of(summary, source),
            paper_fragments(&words(summary), &words(source))
        );
    }

    #[test]
    fn first_longest_match_wins() {
        assert_eq!(fragments_of("x y z", "x y q x y z"), vec![(0, 3, 3)]);
        assert_eq!(fragments_of("x y", "x y q x y"), vec![(0, 0, 2)]);
    }

    #[test]
    fn novel_tokens_make_no_fragment() {
        let got = fragments_of("new words here cat", "the cat");
        assert_eq!(got, vec![(3, 1, 1)]);
        let s = signals(
            &Source::new("the cat", false),
            "new words here cat",
            "",
            2,
            false,
        );
        assert_eq!(s.coverage, Some(0.25));
        assert_eq!(s.novel_ngrams, Some(1.0));
    }

    #[test]
    fn query_ngrams_are_not_novel() {
        let source = Source::new("alpha beta", false);
        let s = signals(
            &source,
            "budget talk alpha beta",
            "the budget talk",
            2,
            false,
        );
        // budget talk (query), talk alpha (novel), alpha beta (source)
        assert_eq!(s.novel_ngrams, Some(1.0 / 3.0));
    }

    #[test]
    fn empty_and_short_summaries_have_no_ratio() {
        let source = Source::new("some text", false);
        let empty = signals(&source, "...", "", 2, false);
        assert_eq!(
            (empty.tokens, empty.coverage, empty.density),
            (0, None, None)
        );
        assert_eq!(empty.novel_ngrams, None);
        assert_eq!(signals(&source, "text", "", 2, false).novel_ngrams, None);
        assert_eq!(
            signals(&source, "text", "", 1, false).novel_ngrams,
            Some(0.0)
        );
    }

    #[test]
    fn stemming_joins_word_forms() {
        let source = Source::new("the meetings ended", true);
        let s = signals(&source, "meeting end", "", 2, true);
        assert_eq!(s.coverage, Some(1.0));
    }

    #[test]
    fn agrees_with_the_paper_on_pseudo_random_texts() {
        let mut state: u64 = 7;
        let mut next = |m: u64| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) % m
        };
        let vocabulary = ["a", "b", "c", "d"];
        for _ in 0..500 {
            let mut text = |len: u64| -> String {
                (0..len)
                    .map(|_| vocabulary[next(4) as usize])
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            let source = text(40);
            let summary = text(12);
            assert_eq!(
                fragments_of(&summary, &source),
                paper_fragments(&words(&summary), &words(&source)),
                "{summary} / {source}"
            );
        }
    }

    #[test]
    fn batch_checks_its_arguments() {
        let one = ["x"];
        assert!(signals_batch(&one, &one, &one, &[0], 0, false).is_err());
        assert!(signals_batch(&one, &one, &one, &[1], 2, false).is_err());
        assert!(signals_batch(&one, &one, &[] as &[&str], &[0], 2, false).is_err());
        let got = signals_batch(&one, &one, &one, &[0], 1, false).unwrap();
        assert_eq!(got[0].coverage, Some(1.0));
    }
}
