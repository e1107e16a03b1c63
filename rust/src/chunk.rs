//! Chunking of a transcript's turns into token budgets, on turn boundaries.
//!
//! Map-reduce summarization feeds a short-window model one piece of a meeting
//! at a time. A piece is a run of whole turns whose joined text (turns joined
//! by a separator) fits a token budget. Per-turn counts give a fast first
//! guess; with a tokenizer every chunk is then counted exactly as one joined
//! text, because BPE merges and normalizers make sums of parts inexact.
//!
//! A single turn longer than the budget becomes a chunk of its own whose
//! `tokens` exceed the budget; the caller decides how to cut it. Sums of
//! counts saturate, so huge budgets and counts cannot overflow.

use crate::count::TokenCounter;

/// An inclusive turn range and the token count of its joined text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chunk {
    pub start: usize,
    pub end: usize,
    pub tokens: usize,
}

/// Chunks from per-turn token counts alone: a chunk's count is the sum of its
/// turns plus `separator_tokens` between neighbours.
pub fn chunk_counts(
    turn_tokens: &[usize],
    budget: usize,
    overlap: usize,
    separator_tokens: usize,
) -> Result<Vec<Chunk>, String> {
    let measure = |start: usize, end: usize| -> Result<usize, String> {
        Ok(estimate(turn_tokens, start, end, separator_tokens))
    };
    chunk_with(turn_tokens, budget, overlap, separator_tokens, measure)
}

/// Chunks whose joined text `turns[start..=end].join(separator)` is counted
/// exactly with `counter` (no special tokens).
pub fn chunk_turns(
    counter: &TokenCounter,
    turns: &[String],
    separator: &str,
    budget: usize,
    overlap: usize,
) -> Result<Vec<Chunk>, String> {
    let turn_tokens = counter.count_batch(turns)?;
    let separator_tokens = if separator.is_empty() {
        0
    } else {
        counter.count(separator)?
    };
    let measure = |start: usize, end: usize| counter.count(&turns[start..=end].join(separator));
    chunk_with(&turn_tokens, budget, overlap, separator_tokens, measure)
}

fn estimate(turn_tokens: &[usize], start: usize, end: usize, separator_tokens: usize) -> usize {
    let turns = turn_tokens[start..=end]
        .iter()
        .fold(0usize, |total, &n| total.saturating_add(n));
    turns.saturating_add(separator_tokens.saturating_mul(end - start))
}

/// Greedy packing: each chunk is the longest run from its start that fits,
/// and the next chunk starts early enough to repeat at most `overlap` tokens.
fn chunk_with(
    turn_tokens: &[usize],
    budget: usize,
    overlap: usize,
    separator_tokens: usize,
    measure: impl Fn(usize, usize) -> Result<usize, String>,
) -> Result<Vec<Chunk>, String> {
    if budget == 0 {
        return Err("chunk budget must be at least 1 token".into());
    }
    if overlap >= budget {
        return Err(format!(
            "overlap ({overlap}) must be smaller than the budget ({budget})"
        ));
    }
    let n = turn_tokens.len();
    let mut chunks: Vec<Chunk> = Vec::new();
    let mut start = 0;
    while start < n {
        let mut chunk = longest_fit(turn_tokens, start, budget, separator_tokens, &measure)?;
        // The repeated turns joined with the next one can count more than their
        // estimate (merges across the joins): repeat fewer turns until the chunk
        // brings a new one (from the first new turn on, it always does).
        while chunks.last().is_some_and(|last| chunk.end <= last.end) {
            start += 1;
            chunk = longest_fit(turn_tokens, start, budget, separator_tokens, &measure)?;
        }
        chunks.push(chunk);
        if chunk.end + 1 >= n {
            break;
        }
        start = overlap_start(turn_tokens, &chunk, budget, overlap, separator_tokens);
    }
    Ok(chunks)
}

/// The longest run of turns from `start` whose measured count fits `budget`
/// (at least the one turn at `start`).
fn longest_fit(
    turn_tokens: &[usize],
    start: usize,
    budget: usize,
    separator_tokens: usize,
    measure: &impl Fn(usize, usize) -> Result<usize, String>,
) -> Result<Chunk, String> {
    let n = turn_tokens.len();
    // First guess from the per-turn counts.
    let mut end = start;
    let mut guess = turn_tokens[start];
    let joined =
        |guess: usize, turn: usize| guess.saturating_add(separator_tokens.saturating_add(turn));
    while end + 1 < n && joined(guess, turn_tokens[end + 1]) <= budget {
        end += 1;
        guess = joined(guess, turn_tokens[end]);
    }
    // Then correct it with exact counts of the joined text, in both directions.
    let mut tokens = measure(start, end)?;
    while tokens > budget && end > start {
        end -= 1;
        tokens = measure(start, end)?;
    }
    while end + 1 < n {
        let longer = measure(start, end + 1)?;
        if longer > budget {
            break;
        }
        end += 1;
        tokens = longer;
    }
    Ok(Chunk { start, end, tokens })
}

/// Where the chunk after `chunk` starts: back far enough to repeat at most
/// `overlap` tokens of its tail, but never so far that the next new turn
/// cannot fit beside the repeated ones, and always after `chunk.start`.
fn overlap_start(
    turn_tokens: &[usize],
    chunk: &Chunk,
    budget: usize,
    overlap: usize,
    separator_tokens: usize,
) -> usize {
    let next_new = chunk.end + 1;
    let room = budget.saturating_sub(turn_tokens[next_new].saturating_add(separator_tokens));
    let limit = overlap.min(room);
    let mut next = next_new;
    let mut repeated = 0usize;
    while next - 1 > chunk.start {
        let separator = if repeated > 0 { separator_tokens } else { 0 };
        let cost = turn_tokens[next - 1].saturating_add(separator);
        if repeated.saturating_add(cost) > limit {
            break;
        }
        repeated += cost;
        next -= 1;
    }
    next
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranges(chunks: &[Chunk]) -> Vec<(usize, usize)> {
        chunks.iter().map(|c| (c.start, c.end)).collect()
    }

    #[test]
    fn packs_whole_turns_greedily() {
        let chunks = chunk_counts(&[3, 3, 3, 3, 3], 7, 0, 1).unwrap();
        assert_eq!(ranges(&chunks), vec![(0, 1), (2, 3), (4, 4)]);
        assert_eq!(chunks[0].tokens, 7);
        assert_eq!(chunks[2].tokens, 3);
    }

    #[test]
    fn empty_transcript_has_no_chunks() {
        assert!(chunk_counts(&[], 10, 0, 0).unwrap().is_empty());
    }

    #[test]
    fn an_oversized_turn_stands_alone() {
        let chunks = chunk_counts(&[2, 50, 2], 10, 0, 0).unwrap();
        assert_eq!(ranges(&chunks), vec![(0, 0), (1, 1), (2, 2)]);
        assert_eq!(chunks[1].tokens, 50);
    }

    #[test]
    fn overlap_repeats_the_tail() {
        let chunks = chunk_counts(&[2, 2, 2, 2, 2, 2], 6, 2, 0).unwrap();
        assert_eq!(ranges(&chunks), vec![(0, 2), (2, 4), (4, 5)]);
    }

    #[test]
    fn overlap_leaves_room_for_new_turns() {
        // Repeating turn 1 (4 tokens) would leave no room for turn 2 (4 tokens).
        let chunks = chunk_counts(&[4, 4, 4], 5, 4, 0).unwrap();
        assert_eq!(ranges(&chunks), vec![(0, 0), (1, 1), (2, 2)]);
    }

    #[test]
    fn every_chunk_brings_a_new_turn_when_joins_count_more_than_estimated() {
        // Turns of 1 token each (no separator tokens), but joining turn 3 to
        // turn 0 or 1 merges into 4 tokens: after the chunk 0..=2, repeating
        // turns 1 and 2 beside turn 3 fits the estimate and not the exact count.
        let measure = |start: usize, end: usize| {
            Ok(match (start, end) {
                (0 | 1, 3) => 4,
                _ => (end - start + 1).min(2),
            })
        };
        let chunks = chunk_with(&[1, 1, 1, 1], 3, 2, 0, measure).unwrap();
        for pair in chunks.windows(2) {
            assert!(
                pair[1].end > pair[0].end && pair[1].start > pair[0].start,
                "{chunks:?}"
            );
        }
        assert_eq!(chunks.last().unwrap().end, 3);
    }

    #[test]
    fn huge_counts_and_budgets_do_not_overflow() {
        let max = usize::MAX;
        // An unlimited budget takes every turn, whatever the counts.
        let all = chunk_counts(&[max, max, 1, 2], max, max - 1, max).unwrap();
        assert_eq!(
            all,
            [Chunk {
                start: 0,
                end: 3,
                tokens: max
            }]
        );
        // Sums past the budget split, with no room left to repeat turns.
        let chunks = chunk_counts(&[max, 1, max, 1], max - 1, max - 2, max).unwrap();
        assert_eq!(ranges(&chunks), vec![(0, 0), (1, 1), (2, 2), (3, 3)]);
        assert_eq!(chunks[0].tokens, max);
    }

    #[test]
    fn rejects_bad_budgets() {
        assert!(chunk_counts(&[1], 0, 0, 0).is_err());
        assert!(chunk_counts(&[1], 5, 5, 0).is_err());
    }

    fn counter() -> TokenCounter {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../python/qmsum_fast/_data/tokenizers/gpt-neox-20b/tokenizer.json"
        );
        TokenCounter::from_file(path).unwrap()
    }

    #[test]
    fn exact_chunks_fit_and_cover_every_turn() {
        let counter = counter();
        let turns: Vec<String> = (0..40)
            .map(|i| {
                format!(
                    "Speaker {}: we talked about item {i} and then moved on.",
                    i % 3
                )
            })
            .collect();
        for (budget, overlap) in [(30, 0), (45, 10), (100, 25)] {
            let chunks = chunk_turns(&counter, &turns, "\n", budget, overlap).unwrap();
            assert_eq!(chunks[0].start, 0);
            assert_eq!(chunks.last().unwrap().end, turns.len() - 1);
            for pair in chunks.windows(2) {
                assert!(pair[1].start > pair[0].start);
                assert!(pair[1].start <= pair[0].end + 1);
                assert!(pair[1].end > pair[0].end);
            }
            for chunk in &chunks {
                let text = turns[chunk.start..=chunk.end].join("\n");
                assert_eq!(chunk.tokens, counter.count(&text).unwrap());
                assert!(chunk.tokens <= budget);
                // Maximal: one more turn would not fit.
                if chunk.end + 1 < turns.len() {
                    let longer = turns[chunk.start..=chunk.end + 1].join("\n");
                    assert!(counter.count(&longer).unwrap() > budget);
                }
            }
        }
    }
}
