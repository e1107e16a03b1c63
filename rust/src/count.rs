//! Exact token counting.
//!
//! Counts equal HF tokenizers `encode(text, add_special_tokens=False)` lengths.
//! QMSum asks several queries about each meeting, so most prompts share a long
//! transcript. For tokenizers whose pipeline provably splits at a space that
//! follows a non-space character (GPT-2 style byte-level BPE, like gpt-neox-20b),
//! a transcript is cut into segments at such points and each segment is counted
//! once; a prompt's count is then its short edges plus the shared middle.
//! Other tokenizers count every full prompt, still in parallel.

use rayon::prelude::*;
use rustc_hash::FxHashMap;
use serde_json::Value;
use std::sync::RwLock;
use tokenizers::{Model, OffsetReferential, OffsetType, PreTokenizer, Tokenizer};

/// Bytes between segment cuts: small enough to spread one long transcript over
/// all cores, large enough that per-call overhead does not matter.
const SEGMENT_BYTES: usize = 4096;

/// Most distinct pre-token words remembered; QMSum has far fewer, and the cap
/// keeps memory bounded on other text.
const WORD_CACHE_LIMIT: usize = 1 << 18;

pub struct TokenCounter {
    tokenizer: Tokenizer,
    splits_exactly: bool,
    /// Token count per byte-level pre-token, shared by all threads. Only used
    /// when `splits_exactly`: there the count of a text is the sum of its
    /// added tokens and the model's counts of each pre-token, and a word's
    /// count does not depend on its neighbours.
    words: RwLock<FxHashMap<Box<str>, u32>>,
}

/// A prompt: `prefix + transcripts[index] + suffix`.
pub type Prompt = (String, usize, String);

impl TokenCounter {
    pub fn from_file(path: &str) -> Result<Self, String> {
        let json = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read tokenizer {path}: {e}"))?;
        Self::from_json(&json).map_err(|e| format!("cannot load tokenizer {path}: {e}"))
    }

    pub fn from_json(json: &str) -> Result<Self, String> {
        let config: Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
        let mut tokenizer: Tokenizer = json.parse().map_err(|e| format!("{e}"))?;
        // Counting measures the whole text; a saved truncation or padding
        // setting would silently change the figures.
        tokenizer
            .with_truncation(None)
            .map_err(|e| format!("{e}"))?;
        tokenizer.with_padding(None);
        Ok(Self {
            tokenizer,
            splits_exactly: splits_at_spaces(&config),
            words: RwLock::new(FxHashMap::default()),
        })
    }

    /// Whether prompts sharing a transcript are counted from one tokenization.
    pub fn splits_exactly(&self) -> bool {
        self.splits_exactly
    }

    pub fn count(&self, text: &str) -> Result<usize, String> {
        if self.splits_exactly {
            if let Some(pre_tokenizer) = self.tokenizer.get_pre_tokenizer() {
                return self.count_words(pre_tokenizer, text);
            }
        }
        self.count_encoding(text)
    }

    /// The reference: length of the full `Encoding`.
    pub fn count_encoding(&self, text: &str) -> Result<usize, String> {
        self.tokenizer
            .encode_fast(text, false)
            .map(|encoding| encoding.len())
            .map_err(|e| format!("tokenizer failed: {e}"))
    }

    /// The steps of `encode_fast` up to the model (added tokens, normalizer,
    /// pre-tokenizer), then a cached count per pre-token instead of building
    /// the `Encoding`: with few distinct words, nearly every word is a hit and
    /// neither BPE nor the token strings and offsets are made.
    fn count_words<P: PreTokenizer>(&self, pre_tokenizer: &P, text: &str) -> Result<usize, String> {
        let mut pieces = self
            .tokenizer
            .get_added_vocabulary()
            .extract_and_normalize(self.tokenizer.get_normalizer(), text);
        pre_tokenizer
            .pre_tokenize(&mut pieces)
            .map_err(|e| format!("tokenizer failed: {e}"))?;
        let splits = pieces.get_splits(OffsetReferential::Normalized, OffsetType::None);
        let mut total = 0usize;
        let mut misses: Vec<&str> = Vec::new();
        {
            let words = self.words.read().unwrap_or_else(|e| e.into_inner());
            for (word, _, tokens) in &splits {
                match tokens {
                    // An added token, already matched.
                    Some(tokens) => total += tokens.len(),
                    None => match words.get(*word) {
                        Some(&n) => total += n as usize,
                        None => misses.push(word),
                    },
                }
            }
        }
        if misses.is_empty() {
            return Ok(total);
        }
        let model = self.tokenizer.get_model();
        let mut learned = Vec::with_capacity(misses.len());
        for word in misses {
            let n = model
                .tokenize(word)
                .map_err(|e| format!("tokenizer failed: {e}"))?
                .len();
            total += n;
            learned.push((word, n as u32));
        }
        let mut words = self.words.write().unwrap_or_else(|e| e.into_inner());
        for (word, n) in learned {
            if words.len() >= WORD_CACHE_LIMIT {
                break;
            }
            words.entry(word.into()).or_insert(n);
        }
        Ok(total)
    }

    pub fn count_batch(&self, texts: &[String]) -> Result<Vec<usize>, String> {
        texts.par_iter().map(|text| self.count(text)).collect()
    }

    /// Token counts of prompts `prefix + transcripts[i] + suffix`.
    pub fn count_prompts(
        &self,
        transcripts: &[String],
        prompts: &[Prompt],
    ) -> Result<Vec<usize>, String> {
        check_transcript_indexes(transcripts, prompts)?;
        if !self.splits_exactly {
            return prompts
                .par_iter()
                .map(|(prefix, i, suffix)| {
                    self.count(&format!("{prefix}{}{suffix}", transcripts[*i]))
                })
                .collect();
        }
        let shared = self.shared_transcript_counts(transcripts)?;
        prompts
            .par_iter()
            .map(|(prefix, i, suffix)| {
                let split = &shared[*i];
                let text = &transcripts[*i];
                match split.cuts {
                    Some((first, last)) => {
                        let head = self.count(&format!("{prefix}{}", &text[..first]))?;
                        let tail = self.count(&format!("{}{suffix}", &text[last..]))?;
                        Ok(head + split.middle + tail)
                    }
                    None => self.count(&format!("{prefix}{text}{suffix}")),
                }
            })
            .collect()
    }

    /// For each group of consecutive prompts (`group_sizes` of them in turn),
    /// the length of the longest common prefix of their token ids: what a
    /// group's prompts share when their common prefix is computed once.
    /// `counts` are the prompts' token counts (`count_prompts`): a long
    /// shared head is then counted as a prompt's count less its short rest,
    /// not tokenized again.
    pub fn common_prefix_counts(
        &self,
        transcripts: &[String],
        prompts: &[Prompt],
        group_sizes: &[usize],
        counts: &[usize],
    ) -> Result<Vec<usize>, String> {
        check_transcript_indexes(transcripts, prompts)?;
        let total: usize = group_sizes.iter().sum();
        if total != prompts.len() || counts.len() != prompts.len() {
            return Err(format!(
                "{} prompts, but group sizes add up to {total} and there are {} counts",
                prompts.len(),
                counts.len()
            ));
        }
        let mut groups = Vec::with_capacity(group_sizes.len());
        let mut start = 0;
        for &size in group_sizes {
            groups.push(start..start + size);
            start += size;
        }
        groups
            .par_iter()
            .map(|range| {
                let texts: Vec<String> = prompts[range.clone()]
                    .iter()
                    .map(|(prefix, i, suffix)| format!("{prefix}{}{suffix}", transcripts[*i]))
                    .collect();
                self.common_prefix(&texts, counts.get(range.start).copied())
            })
            .collect()
    }

    /// The longest common prefix of the texts' token ids, in tokens. Where
    /// the pipeline splits at safe cuts, the texts' tokens up to the last cut
    /// before their first differing byte are the same (counted once), and
    /// only the pieces from there to each text's next cut are encoded; if
    /// those pieces agree up to the shortest (a text that is a prefix of
    /// another, or texts equal after normalization), the rest is compared too.
    fn common_prefix(&self, texts: &[String], first_count: Option<usize>) -> Result<usize, String> {
        let Some(first) = texts.first() else {
            return Ok(0);
        };
        let differ = common_byte_prefix(texts);
        if !self.splits_exactly || self.tokenizer.get_pre_tokenizer().is_none() {
            let ids: Vec<Vec<u32>> = texts
                .iter()
                .map(|t| self.ids(t))
                .collect::<Result<_, _>>()?;
            return Ok(common_prefix_length(&ids));
        }
        let start = last_safe_cut_before(first, differ);
        let pieces: Vec<Vec<u32>> = texts
            .iter()
            .map(|t| self.ids(&t[start..first_safe_cut_after(t, differ)]))
            .collect::<Result<_, _>>()?;
        let mut shared = common_prefix_length(&pieces);
        if shared == pieces.iter().map(Vec::len).min().unwrap_or(0) {
            let rests: Vec<Vec<u32>> = texts
                .iter()
                .map(|t| self.ids(&t[start..]))
                .collect::<Result<_, _>>()?;
            shared = common_prefix_length(&rests);
        }
        Ok(self.head_count(first, start, first_count)? + shared)
    }

    /// Tokens of `text[..cut]` for a safe cut: counted directly when short,
    /// else as the text's count (`count`, if known) less that of `text[cut..]`.
    fn head_count(&self, text: &str, cut: usize, count: Option<usize>) -> Result<usize, String> {
        match count {
            Some(whole) if cut > text.len() / 2 => whole
                .checked_sub(self.count(&text[cut..])?)
                .ok_or_else(|| format!("a prompt's given count {whole} is less than its tail's")),
            _ => self.count(&text[..cut]),
        }
    }

    /// Token ids of `text`, as HF tokenizers `encode(text, add_special_tokens=False).ids`.
    fn ids(&self, text: &str) -> Result<Vec<u32>, String> {
        self.tokenizer
            .encode_fast(text, false)
            .map(|encoding| encoding.get_ids().to_vec())
            .map_err(|e| format!("tokenizer failed: {e}"))
    }

    /// Cuts each transcript at safe points and counts its middle once.
    fn shared_transcript_counts(&self, transcripts: &[String]) -> Result<Vec<SharedCount>, String> {
        let segments: Vec<(usize, &str)> = transcripts
            .iter()
            .enumerate()
            .flat_map(|(i, text)| {
                let cuts = safe_cuts(text, SEGMENT_BYTES);
                cuts.windows(2)
                    .map(|w| (i, &text[w[0]..w[1]]))
                    .collect::<Vec<_>>()
            })
            .collect();
        let counts: Vec<usize> = segments
            .par_iter()
            .map(|(_, segment)| self.count(segment))
            .collect::<Result<_, _>>()?;
        let mut shared: Vec<SharedCount> = transcripts
            .iter()
            .map(|text| {
                let cuts = safe_cuts(text, SEGMENT_BYTES);
                SharedCount {
                    cuts: (cuts.len() >= 2).then(|| (cuts[0], cuts[cuts.len() - 1])),
                    middle: 0,
                }
            })
            .collect();
        for ((i, _), count) in segments.iter().zip(counts) {
            shared[*i].middle += count;
        }
        Ok(shared)
    }
}

struct SharedCount {
    /// First and last cut; the text between them is counted in `middle`.
    cuts: Option<(usize, usize)>,
    middle: usize,
}

/// Byte offsets of safe cut points, about `every` bytes apart: positions of a
/// U+0020 space whose previous character is not whitespace. For a GPT-2 style
/// byte-level pipeline no pre-token, added token or NFC composition spans such
/// a point, so counts of the pieces add up to the count of the whole.
pub fn safe_cuts(text: &str, every: usize) -> Vec<usize> {
    let mut cuts = Vec::new();
    let mut next_allowed = 0;
    let mut previous_is_space = true;
    for (offset, ch) in text.char_indices() {
        if ch == ' ' && !previous_is_space && offset >= next_allowed {
            cuts.push(offset);
            next_allowed = offset + every;
        }
        previous_is_space = ch.is_whitespace();
    }
    // Keep the last cut close to the end, so the per-prompt tail stays short.
    if let Some(last_space) = last_safe_cut(text) {
        if cuts.last().is_some_and(|&c| c < last_space) {
            cuts.push(last_space);
        }
    }
    cuts
}

fn last_safe_cut(text: &str) -> Option<usize> {
    let mut chars = text.char_indices().rev().peekable();
    while let Some((offset, ch)) = chars.next() {
        if ch == ' ' {
            if let Some(&(_, before)) = chars.peek() {
                if !before.is_whitespace() {
                    return Some(offset);
                }
            }
        }
    }
    None
}

/// Every prompt's transcript index must name one of `transcripts`.
fn check_transcript_indexes(transcripts: &[String], prompts: &[Prompt]) -> Result<(), String> {
    match prompts.iter().find(|p| p.1 >= transcripts.len()) {
        Some((_, index, _)) => Err(format!(
            "prompt refers to transcript {index}, but there are {}",
            transcripts.len()
        )),
        None => Ok(()),
    }
}

/// Bytes all texts share at their start, backed off to a character boundary.
fn common_byte_prefix(texts: &[String]) -> usize {
    let first = texts[0].as_bytes();
    let mut length = first.len();
    for text in &texts[1..] {
        length = first[..length]
            .iter()
            .zip(text.as_bytes())
            .take_while(|(a, b)| a == b)
            .count();
    }
    while !texts[0].is_char_boundary(length) {
        length -= 1;
    }
    length
}

/// Length of the longest common prefix of id lists.
fn common_prefix_length(rows: &[Vec<u32>]) -> usize {
    let Some(first) = rows.first() else {
        return 0;
    };
    rows[1..].iter().fold(first.len(), |length, row| {
        first[..length]
            .iter()
            .zip(row)
            .take_while(|(a, b)| a == b)
            .count()
    })
}

/// Whether `offset` is a safe cut of `text` (see `safe_cuts`).
fn is_safe_cut(text: &str, offset: usize) -> bool {
    text.as_bytes().get(offset) == Some(&b' ')
        && text[..offset]
            .chars()
            .next_back()
            .is_some_and(|before| !before.is_whitespace())
}

/// The last safe cut before `limit` (0 if none): the bytes before it are the
/// same in every text that shares the first `limit` bytes.
fn last_safe_cut_before(text: &str, limit: usize) -> usize {
    text[..limit]
        .char_indices()
        .rev()
        .map(|(offset, _)| offset)
        .find(|&offset| is_safe_cut(text, offset))
        .unwrap_or(0)
}

/// The first safe cut after `offset` (the text's end if none): no token of
/// `text` spans it, so the token holding byte `offset` ends before it.
fn first_safe_cut_after(text: &str, offset: usize) -> usize {
    text[offset..]
        .char_indices()
        .skip(1)
        .map(|(at, _)| offset + at)
        .find(|&at| is_safe_cut(text, at))
        .unwrap_or(text.len())
}

/// True when the tokenizer's pipeline is known to split at every safe cut.
fn splits_at_spaces(config: &Value) -> bool {
    normalizer_is_local(&config["normalizer"])
        && pre_tokenizer_is_gpt2_bytelevel(&config["pre_tokenizer"])
        && added_tokens_respect_cuts(&config["added_tokens"])
}

fn normalizer_is_local(normalizer: &Value) -> bool {
    match normalizer["type"].as_str() {
        None => normalizer.is_null(),
        Some("NFC") => true,
        Some("Sequence") => normalizer["normalizers"]
            .as_array()
            .is_some_and(|all| all.iter().all(normalizer_is_local)),
        Some(_) => false,
    }
}

fn pre_tokenizer_is_gpt2_bytelevel(pre: &Value) -> bool {
    match pre["type"].as_str() {
        Some("ByteLevel") => {
            pre["add_prefix_space"].as_bool() == Some(false)
                && pre["use_regex"].as_bool().unwrap_or(true)
        }
        Some("Sequence") => pre["pretokenizers"]
            .as_array()
            .is_some_and(|all| all.len() == 1 && pre_tokenizer_is_gpt2_bytelevel(&all[0])),
        _ => false,
    }
}

fn added_tokens_respect_cuts(tokens: &Value) -> bool {
    let Some(tokens) = tokens.as_array() else {
        return tokens.is_null();
    };
    tokens.iter().all(|token| {
        let flag = |name: &str| token[name].as_bool().unwrap_or(false);
        let content = token["content"].as_str().unwrap_or("");
        !flag("lstrip") && !flag("rstrip") && !flag("single_word") && !joins_word_and_space(content)
    })
}

fn joins_word_and_space(content: &str) -> bool {
    let chars: Vec<char> = content.chars().collect();
    chars
        .windows(2)
        .any(|w| !w[0].is_whitespace() && w[1].is_whitespace())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundled() -> TokenCounter {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../python/qmsum_fast/_data/tokenizers/gpt-neox-20b/tokenizer.json"
        );
        TokenCounter::from_file(path).unwrap()
    }

    #[test]
    fn gpt_neox_is_split_exactly() {
        assert!(bundled().splits_exactly());
    }

    #[test]
    fn cuts_follow_non_space_characters() {
        let text = "a b  c\n d e";
        let cuts = safe_cuts(text, 1);
        assert_eq!(cuts, vec![1, 3, 9]);
        for cut in cuts {
            assert_eq!(&text[cut..cut + 1], " ");
        }
    }

    #[test]
    fn cuts_respect_char_boundaries() {
        let text = "é ü  ñ";
        for cut in safe_cuts(text, 1) {
            assert!(text.is_char_boundary(cut));
        }
    }

    #[test]
    fn prompt_counts_equal_full_counts() {
        let counter = bundled();
        let transcript = "grad a: so we 're going to  talk about the    belief-net . \
            professor b: okay . { vocalsound } i think ...\n\nphd c: ÷ naïve café 1234567 , yeah ."
            .repeat(300);
        let prompts = vec![
            (
                "### Input:\n".to_string(),
                0,
                "\n\n### Response:".to_string(),
            ),
            ("query ".to_string(), 0, " end".to_string()),
            ("".to_string(), 0, "".to_string()),
            ("x".to_string(), 1, "y".to_string()),
        ];
        let transcripts = vec![transcript, "   ".to_string()];
        let got = counter.count_prompts(&transcripts, &prompts).unwrap();
        for ((prefix, i, suffix), n) in prompts.iter().zip(got) {
            let full = counter
                .count(&format!("{prefix}{}{suffix}", transcripts[*i]))
                .unwrap();
            assert_eq!(n, full);
        }
    }

    #[test]
    fn word_counts_equal_encoding_counts() {
        let counter = bundled();
        let long_word = "x".repeat(300) + &"é".repeat(200);
        let texts = [
            "",
            " ",
            "hello<|endoftext|>world",
            "a<|endoftext|> <|endoftext|>  b<|padding|>c",
            "so   the\u{a0}café naïve 😀😀 e\u{301}tude \n\n\t x",
            &long_word,
            "grad a: so we 're going to  talk about the    belief-net .",
        ];
        // Twice: the second pass counts from the word cache.
        for _ in 0..2 {
            for text in texts {
                assert_eq!(
                    counter.count(text).unwrap(),
                    counter.count_encoding(text).unwrap(),
                    "{text:?}"
                );
            }
        }
    }

    fn full_common_prefix(counter: &TokenCounter, texts: &[String]) -> usize {
        let ids: Vec<Vec<u32>> = texts.iter().map(|t| counter.ids(t).unwrap()).collect();
        common_prefix_length(&ids)
    }

    #[test]
    fn common_prefixes_equal_those_of_full_encodings() {
        let counter = bundled();
        let transcript = "grad a: so we 're going to  talk about the belief-net . \
            professor b: okay . naïve café 1234 ,  yeah .\n"
            .repeat(200);
        let prompts: Vec<Prompt> = vec![
            // Transcript first, queries last: the transcript is shared.
            (
                "T:\n".into(),
                0,
                "\n\nQuery: what was said?\nAnswer:".into(),
            ),
            (
                "T:\n".into(),
                0,
                "\n\nQuery: what was decided?\nAnswer:".into(),
            ),
            ("T:\n".into(), 0, "\n\nQuery: whatever\nAnswer:".into()),
            // Queries first: only the preamble is shared.
            ("Q: a b\n".into(), 0, "".into()),
            ("Q: a c\n".into(), 0, "".into()),
            // One prompt the prefix of another, and equal prompts.
            ("x".into(), 1, "".into()),
            ("x".into(), 1, " and more".into()),
            ("same ".into(), 0, "".into()),
            ("same ".into(), 0, "".into()),
            // A group of one, and texts differing inside a word.
            ("alone".into(), 1, "".into()),
            ("café".into(), 1, "".into()),
            ("cafe\u{301}".into(), 1, "".into()),
        ];
        let transcripts = vec![transcript, "  the end of it".to_string()];
        let sizes = [3, 2, 2, 2, 1, 2];
        let counts = counter.count_prompts(&transcripts, &prompts).unwrap();
        let got = counter
            .common_prefix_counts(&transcripts, &prompts, &sizes, &counts)
            .unwrap();
        let mut start = 0;
        for (size, n) in sizes.iter().zip(got) {
            let texts: Vec<String> = prompts[start..start + size]
                .iter()
                .map(|(p, i, s)| format!("{p}{}{s}", transcripts[*i]))
                .collect();
            assert_eq!(n, full_common_prefix(&counter, &texts), "group at {start}");
            start += size;
        }
        assert!(counter
            .common_prefix_counts(&transcripts, &prompts, &[1], &counts)
            .unwrap_err()
            .contains("group sizes add up to 1"));
    }

    #[test]
    fn bad_transcript_index_is_an_error() {
        let err = bundled()
            .count_prompts(&[], &[("a".into(), 0, "b".into())])
            .unwrap_err();
        assert!(err.contains("transcript 0"));
    }

    #[test]
    fn non_bytelevel_tokenizers_count_full_prompts() {
        let config: Value = serde_json::json!({
            "normalizer": null,
            "pre_tokenizer": {"type": "Metaspace", "replacement": "▁"},
            "added_tokens": []
        });
        assert!(!splits_at_spaces(&config));
        let rstrip: Value = serde_json::json!({
            "normalizer": {"type": "NFC"},
            "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false},
            "added_tokens": [{"content": "<x>", "rstrip": true}]
        });
        assert!(!splits_at_spaces(&rstrip));
    }
}
