//! QMSum preprocessing: the upstream data-processing recipe (Yale-LILY/QMSum).
//!
//! Text is lowercased and word-tokenized as `nltk.word_tokenize` did it (Punkt
//! sentences, `preprocess_sentences.rs`, then the Treebank tokenizer on each,
//! `treebank.rs`), tokens joined by single spaces. A meeting becomes one string: each
//! turn is `speaker.lower() + ": " + tokens`, turns joined by one space, then the
//! speech-recognition noise markers are removed from the joined transcript
//! (`NOISE_REPLACEMENTS`, in order). Queries and answers are tokenized the same way
//! with no replacements.

use rayon::prelude::*;

use crate::{preprocess_sentences, treebank};

/// The recipe's replacements, applied in this order to the joined transcript.
pub const NOISE_REPLACEMENTS: [(&str, &str); 9] = [
    ("{ vocalsound } ", ""),
    ("{ disfmarker } ", ""),
    ("a_m_i_", "ami"),
    ("l_c_d_", "lcd"),
    ("p_m_s", "pms"),
    ("t_v_", "tv"),
    ("{ pause } ", ""),
    ("{ nonvocalsound } ", ""),
    ("{ gap } ", ""),
];

/// `" ".join(word_tokenize(text.lower()))`: a query or an answer.
pub fn tokenize_text(text: &str) -> String {
    // `str::to_lowercase` applies the same full mappings (and final sigma) as `str.lower`.
    let lower = text.to_lowercase();
    let mut out = String::with_capacity(lower.len() + lower.len() / 4);
    for sentence in preprocess_sentences::split(&lower) {
        treebank::tokenize_into(sentence, &mut out);
    }
    if out.ends_with(' ') {
        out.pop();
    }
    out
}

/// One turn: `speaker.lower() + ": " + tokenize_text(content)`.
pub fn format_turn(speaker: &str, content: &str) -> String {
    let mut turn = speaker.to_lowercase();
    turn.push_str(": ");
    turn.push_str(&tokenize_text(content));
    turn
}

/// Removes the noise markers (`NOISE_REPLACEMENTS`, in order).
pub fn remove_noise(transcript: &str) -> String {
    let mut text = transcript.to_owned();
    for (marker, replacement) in NOISE_REPLACEMENTS {
        if text.contains(marker) {
            text = text.replace(marker, replacement);
        }
    }
    text
}

/// A meeting's preprocessed transcript from its `(speaker, content)` turns; the turns are
/// tokenized in parallel.
pub fn transcript<S: AsRef<str> + Sync>(turns: &[(S, S)]) -> String {
    let formatted: Vec<String> = turns
        .par_iter()
        .map(|(speaker, content)| format_turn(speaker.as_ref(), content.as_ref()))
        .collect();
    remove_noise(&formatted.join(" "))
}

/// A transcript given as one string (SCROLLS, LongBench): tokenized whole, then cleaned.
pub fn raw_transcript(text: &str) -> String {
    remove_noise(&tokenize_text(text))
}

/// `transcript` of each meeting, in parallel.
pub fn transcripts<S: AsRef<str> + Sync>(meetings: &[Vec<(S, S)>]) -> Vec<String> {
    meetings.par_iter().map(|turns| transcript(turns)).collect()
}

/// `tokenize_text` of each text, in parallel.
pub fn tokenize_texts<S: AsRef<str> + Sync>(texts: &[S]) -> Vec<String> {
    texts
        .par_iter()
        .map(|text| tokenize_text(text.as_ref()))
        .collect()
}

/// `raw_transcript` of each text, in parallel.
pub fn raw_transcripts<S: AsRef<str> + Sync>(texts: &[S]) -> Vec<String> {
    texts
        .par_iter()
        .map(|text| raw_transcript(text.as_ref()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn turns_follow_the_recipe() {
        let turns = [
            ("Professor C", "Uh , is it the twenty - fourth ?"),
            ("PhD F", "now we 're on ."),
            ("PhD A", "Uh Chuck , is the mike type wireless {disfmarker}"),
            ("PhD F", "Yes ."),
            ("PhD A", "wireless headset ? OK ."),
        ];
        assert_eq!(
            transcript(&turns),
            "professor c: uh , is it the twenty - fourth ? phd f: now we 're on . \
             phd a: uh chuck , is the mike type wireless phd f: yes . \
             phd a: wireless headset ? ok ."
        );
    }

    #[test]
    fn answers_split_sentence_final_periods_only() {
        assert_eq!(
            tokenize_text("The team met, e.g. twice. Then (i.e. later) it ended."),
            "the team met , e.g . twice . then ( i.e . later ) it ended ."
        );
        assert_eq!(
            tokenize_text("Twenty-five users' data, in 2001. OK"),
            "twenty-five users ' data , in 2001. ok"
        );
    }

    #[test]
    fn noise_markers_go_in_order() {
        assert_eq!(
            remove_noise("a { vocalsound } b { gap } c_t_v_ d"),
            "a b c_tv d"
        );
        assert_eq!(
            remove_noise("the l_c_d_ and a_m_i_ p_m_s"),
            "the lcd and ami pms"
        );
        // Only markers followed by a space are removed.
        assert_eq!(remove_noise("end { pause }"), "end { pause }");
    }

    #[test]
    fn empty_turns_keep_their_speaker() {
        assert_eq!(transcript(&[("A", ""), ("B", "Hi .")]), "a:  b: hi .");
    }

    #[test]
    fn batches_equal_single_calls() {
        let texts = ["Hello there. Bye.", "", "What? (No!)"];
        let single: Vec<String> = texts.iter().map(|t| tokenize_text(t)).collect();
        assert_eq!(tokenize_texts(&texts), single);
        assert_eq!(raw_transcripts(&["A {vocalsound} B."]), ["a b ."]);
        let meetings = vec![vec![("X", "One ."), ("Y", "Two .")]];
        assert_eq!(transcripts(&meetings), ["x: one . y: two ."]);
    }
}
