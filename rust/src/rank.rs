//! Shared pieces of the extractive baselines and the locator: word lists for
//! ranking, the sentences a turn is cut into for the baselines, selection of
//! ranked units within a budget, and merging selected turns into spans.
//!
//! Ranking (BM25, TF-IDF, TextRank) only needs a reasonable bag of words, not
//! rouge-score's exact tokens (the oracle uses those), so `words` is a small
//! lowercase alphanumeric splitter with an English stop-word list.

use std::collections::HashMap;
use std::str::FromStr;

use crate::vocabulary::Vocabulary;

/// Frequent English function words and meeting fillers that carry no topic.
const STOP_WORDS: &[&str] = &[
    "a", "about", "after", "again", "all", "also", "am", "an", "and", "any", "are", "as", "at",
    "be", "because", "been", "before", "being", "both", "but", "by", "can", "could", "did", "do",
    "does", "doing", "done", "for", "from", "get", "got", "had", "has", "have", "having", "he",
    "her", "here", "him", "his", "how", "i", "if", "in", "into", "is", "it", "its", "just", "like",
    "me", "mm", "mmm", "more", "my", "no", "not", "now", "of", "oh", "okay", "on", "one", "or",
    "other", "our", "out", "over", "really", "right", "said", "say", "she", "so", "some", "such",
    "than", "that", "the", "their", "them", "then", "there", "these", "they", "thing", "think",
    "this", "those", "through", "to", "too", "uh", "um", "up", "us", "very", "was", "we", "well",
    "were", "what", "when", "where", "which", "while", "who", "whom", "why", "will", "with",
    "would", "yeah", "yes", "you", "your",
];

/// Lowercase ASCII-alphanumeric words of `text`; every other character splits.
/// Non-ASCII letters split too, as in rouge-score's tokenizer.
pub fn words(text: &str) -> Vec<String> {
    text.to_ascii_lowercase()
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `words` without stop words; when nothing is left (a query made only of
/// function words, "what did they say?"), all words, so a query with words
/// never ranks on nothing.
pub fn content_words(text: &str) -> Vec<String> {
    let all = words(text);
    let kept: Vec<String> = all.iter().filter(|w| !is_stop_word(w)).cloned().collect();
    if kept.is_empty() {
        all
    } else {
        kept
    }
}

/// Like `content_words` but never falls back: for the units being ranked, a
/// unit of fillers ("Yeah . Okay .") should have no words.
pub fn unit_words(text: &str) -> Vec<String> {
    words(text)
        .into_iter()
        .filter(|w| !is_stop_word(w))
        .collect()
}

fn is_stop_word(word: &str) -> bool {
    STOP_WORDS.binary_search(&word).is_ok()
}

/// Sentences of a transcript turn, the units of the sentence baselines: cut
/// after a `.`, `?` or `!` that is followed by whitespace (QMSum turns are
/// word-tokenized, "So . Right ?"). Sentences keep their end mark and lose
/// surrounding whitespace; empty ones are dropped.
pub fn split_turn_sentences(text: &str) -> Vec<String> {
    let mut sentences = Vec::new();
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let at_end_mark = matches!(c, '.' | '?' | '!');
        let before_space = chars.peek().is_some_and(|&(_, next)| next.is_whitespace());
        if at_end_mark && before_space {
            push_trimmed(&mut sentences, &text[start..i + c.len_utf8()]);
            start = i + c.len_utf8();
        }
    }
    push_trimmed(&mut sentences, &text[start..]);
    sentences
}

fn push_trimmed(out: &mut Vec<String>, piece: &str) {
    let piece = piece.trim();
    if !piece.is_empty() {
        out.push(piece.to_owned());
    }
}

/// How ranked units fill a budget.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fill {
    /// Take units in rank order and stop at the first that does not fit.
    Stop,
    /// Skip a unit that does not fit and try the next ones (fills small
    /// budgets with shorter, lower-ranked units).
    Skip,
    /// Take units in rank order and stop once the budget is reached; the last
    /// unit may overshoot it (a word budget like "about 60 words").
    Reach,
}

impl FromStr for Fill {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, String> {
        crate::choice::parse(
            "fill rule",
            name,
            &[
                ("stop", Self::Stop),
                ("skip", Self::Skip),
                ("reach", Self::Reach),
            ],
        )
    }
}

/// Units taken from `order` (best first) whose `lengths` fit `budget`,
/// returned in document order (ascending index); zero-length units are taken
/// for free. An index in `order` that has no length is an error.
pub fn select_within_budget(
    order: &[usize],
    lengths: &[usize],
    budget: usize,
    fill: Fill,
) -> Result<Vec<usize>, String> {
    if let Some(bad) = order.iter().find(|&&i| i >= lengths.len()) {
        return Err(format!("unit {bad} out of range: {} units", lengths.len()));
    }
    let mut used = 0usize;
    let mut chosen = Vec::new();
    for &unit in order {
        let length = lengths[unit];
        let fits = used
            .checked_add(length)
            .is_some_and(|total| total <= budget);
        match fill {
            Fill::Reach if used >= budget => break,
            Fill::Stop if !fits => break,
            Fill::Skip if !fits => continue,
            _ => {}
        }
        used = used.saturating_add(length);
        chosen.push(unit);
    }
    chosen.sort_unstable();
    Ok(chosen)
}

/// Indices sorted by descending score; equal scores keep document order, so
/// a ranking with no signal degrades to the lead baseline.
pub fn order_by_score(scores: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    order
}

/// Scores plus their neighbours' scores weighted by `1 / distance`, up to
/// `window` units away on each side. Relevant passages of a meeting run over
/// many consecutive turns, most of which do not repeat the query's words;
/// smoothing lets a turn inherit relevance from the turns around it.
/// `window` 0 returns the scores unchanged; a window wider than the scores
/// is as wide as the scores.
pub fn smooth_with_neighbours(scores: &[f64], window: usize) -> Vec<f64> {
    let window = window.min(scores.len());
    (0..scores.len())
        .map(|i| {
            let mut total = scores[i];
            for distance in 1..=window {
                let weight = 1.0 / distance as f64;
                if distance <= i {
                    total += weight * scores[i - distance];
                }
                if i + distance < scores.len() {
                    total += weight * scores[i + distance];
                }
            }
            total
        })
        .collect()
}

/// Turn indices (in any order, repeats allowed) merged into sorted inclusive
/// spans of neighbours: [7, 1, 2, 3, 2] -> [(1, 3), (7, 7)].
pub fn merge_spans(indices: &[usize]) -> Vec<(usize, usize)> {
    let mut sorted = indices.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut spans: Vec<(usize, usize)> = Vec::new();
    for index in sorted {
        match spans.last_mut() {
            Some((_, end)) if *end + 1 == index => *end = index,
            _ => spans.push((index, index)),
        }
    }
    spans
}

/// Per-document term counts and document frequencies over a shared
/// vocabulary: the statistics both BM25 and TF-IDF start from.
pub struct TermCounts {
    pub vocabulary: Vocabulary,
    pub counts: Vec<HashMap<u32, u32>>,
    pub document_frequency: Vec<u32>,
}

impl TermCounts {
    pub fn new(documents: &[Vec<String>]) -> Self {
        let mut vocabulary = Vocabulary::default();
        let mut counts = Vec::with_capacity(documents.len());
        let mut document_frequency: Vec<u32> = Vec::new();
        for words in documents {
            let mut document: HashMap<u32, u32> = HashMap::new();
            for word in words {
                *document.entry(vocabulary.id(word)).or_default() += 1;
            }
            document_frequency.resize(vocabulary.len(), 0);
            for &id in document.keys() {
                document_frequency[id as usize] += 1;
            }
            counts.push(document);
        }
        Self {
            vocabulary,
            counts,
            document_frequency,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_words_are_sorted_for_binary_search() {
        assert!(STOP_WORDS.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn words_split_like_rouge() {
        assert_eq!(
            words("Don't STOP, café-42!"),
            ["don", "t", "stop", "caf", "42"]
        );
        assert!(words(" ?! ").is_empty());
    }

    #[test]
    fn content_words_fall_back_to_all_words() {
        assert_eq!(content_words("What was said about the remote?"), ["remote"]);
        assert_eq!(
            content_words("What did they say?"),
            ["what", "did", "they", "say"]
        );
        assert!(content_words("??").is_empty());
        assert!(unit_words("Yeah . Okay .").is_empty());
    }

    #[test]
    fn sentences_split_after_end_marks() {
        assert_eq!(
            split_turn_sentences("So . Right ? We use 2.5 volts ! ok"),
            ["So .", "Right ?", "We use 2.5 volts !", "ok"]
        );
        assert_eq!(split_turn_sentences("  "), Vec::<String>::new());
        assert_eq!(split_turn_sentences("Done."), ["Done."]);
    }

    fn select(order: &[usize], lengths: &[usize], budget: usize, fill: Fill) -> Vec<usize> {
        select_within_budget(order, lengths, budget, fill).unwrap()
    }

    #[test]
    fn budget_fill_rules() {
        let lengths = [5, 3, 8, 2];
        let order = [2, 0, 1, 3];
        assert_eq!(select(&order, &lengths, 10, Fill::Stop), [2]);
        assert_eq!(select(&order, &lengths, 10, Fill::Skip), [2, 3]);
        assert_eq!(select(&order, &lengths, 10, Fill::Reach), [0, 2]);
        assert_eq!(select(&order, &lengths, 1, Fill::Skip), Vec::<usize>::new());
        assert_eq!(
            select(&order, &lengths, 0, Fill::Reach),
            Vec::<usize>::new()
        );
    }

    #[test]
    fn huge_budgets_and_lengths_do_not_overflow() {
        let lengths = [usize::MAX, 3, usize::MAX];
        let order = [1, 0, 2];
        let all = [0, 1, 2];
        assert_eq!(select(&order, &lengths, usize::MAX, Fill::Stop), [1]);
        assert_eq!(select(&order, &lengths, usize::MAX, Fill::Skip), [1]);
        // Reach stops once the budget is reached, here by saturation.
        assert_eq!(select(&order, &lengths, usize::MAX, Fill::Reach), [0, 1]);
        assert_eq!(select(&order, &[0, 0, 0], usize::MAX, Fill::Stop), all);
    }

    #[test]
    fn unknown_units_and_fill_rules_are_errors() {
        let err = select_within_budget(&[0, 3], &[1, 1], 5, Fill::Skip).unwrap_err();
        assert_eq!(err, "unit 3 out of range: 2 units");
        assert_eq!("reach".parse::<Fill>(), Ok(Fill::Reach));
        assert_eq!(
            "fill".parse::<Fill>().unwrap_err(),
            "unknown fill rule \"fill\" (use stop, skip or reach)"
        );
    }

    #[test]
    fn ties_keep_document_order() {
        assert_eq!(order_by_score(&[1.0, 3.0, 1.0, 3.0]), [1, 3, 0, 2]);
    }

    #[test]
    fn smoothing_spreads_scores_to_neighbours() {
        let scores = [0.0, 0.0, 6.0, 0.0, 0.0, 0.0];
        assert_eq!(smooth_with_neighbours(&scores, 0), scores);
        assert_eq!(
            smooth_with_neighbours(&scores, 2),
            [3.0, 6.0, 6.0, 6.0, 3.0, 0.0]
        );
        assert!(smooth_with_neighbours(&[], 3).is_empty());
        assert_eq!(smooth_with_neighbours(&[1.0], 100), [1.0]);
        assert_eq!(
            smooth_with_neighbours(&scores, usize::MAX),
            smooth_with_neighbours(&scores, scores.len())
        );
    }

    #[test]
    fn neighbours_merge_into_spans() {
        assert_eq!(merge_spans(&[1, 2, 3, 7, 9, 10]), [(1, 3), (7, 7), (9, 10)]);
        assert!(merge_spans(&[]).is_empty());
        assert_eq!(merge_spans(&[0]), [(0, 0)]);
        assert_eq!(merge_spans(&[5, 1, 2, 2, 9, 8]), [(1, 2), (5, 5), (8, 9)]);
    }
}
