//! The sentences of a summary for rougeLsum with `split_summaries`: a small
//! rule-based sentence splitter.
//!
//! rouge-score calls `nltk.sent_tokenize` (the Punkt model) when
//! `split_summaries=True`; Punkt's data cannot be downloaded here, so this is
//! our documented replacement. Rules:
//! - every line break ends a sentence (Punkt ignores single newlines);
//! - within a line, a sentence ends after a run of `.`, `!` or `?`, optionally
//!   followed by closing quotes or brackets, when whitespace follows and the
//!   next word does not start with a lowercase letter;
//! - a `.` does not end a sentence after a known abbreviation (`Mr.`, `Dr.`,
//!   `e.g.`, `etc.`, ... see [`ABBREVIATIONS`]) or a single-letter initial.
//!
//! Punkt instead learns abbreviations, initials and collocations from a
//! corpus, so it keeps some breaks we make (e.g. after an unknown abbreviation
//! followed by a capitalised word) and makes some we do not.
//!
//! Sentences are slices of the input without surrounding whitespace, cut only
//! at whitespace, so their tokens concatenate to the tokens of the whole text.

/// Lowercase words (without the final dot) after which a `.` is not an end.
pub const ABBREVIATIONS: &[&str] = &[
    "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "vs", "etc", "e.g", "i.e", "eg", "ie",
    "inc", "ltd", "co", "corp", "no", "nos", "fig", "al", "approx", "dept", "est", "mt", "rev",
    "gen", "col", "lt", "sgt", "capt", "gov", "sen", "rep", "hon", "jan", "feb", "mar", "apr",
    "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "u.s", "u.k", "a.m", "p.m",
];

const CLOSERS: &[char] = &['"', '\'', ')', ']', '}', '\u{201D}', '\u{2019}', '\u{BB}'];

/// The sentences of `text`, in order, without empty ones.
pub fn split(text: &str) -> Vec<&str> {
    let mut sentences = Vec::new();
    for line in text.split('\n') {
        split_line(line, &mut sentences);
    }
    sentences
}

fn split_line<'a>(line: &'a str, out: &mut Vec<&'a str>) {
    let mut start = 0;
    let chars: Vec<(usize, char)> = line.char_indices().collect();
    let mut k = 0;
    while k < chars.len() {
        let (_, c) = chars[k];
        if !matches!(c, '.' | '!' | '?') {
            k += 1;
            continue;
        }
        let mut end = k;
        while end + 1 < chars.len() && matches!(chars[end + 1].1, '.' | '!' | '?') {
            end += 1;
        }
        while end + 1 < chars.len() && CLOSERS.contains(&chars[end + 1].1) {
            end += 1;
        }
        let after = end + 1;
        let boundary = after < chars.len()
            && chars[after].1.is_whitespace()
            && next_word_may_start_sentence(&chars[after..])
            && !(c == '.' && end == k && is_abbreviation(&line[start..chars[k].0]));
        if boundary {
            push_trimmed(&line[start..chars[after].0], out);
            start = chars[after].0;
        }
        k = after;
    }
    push_trimmed(&line[start..], out);
}

/// False when the next word starts with a lowercase letter (a sentence rarely does).
fn next_word_may_start_sentence(rest: &[(usize, char)]) -> bool {
    match rest.iter().map(|&(_, c)| c).find(|c| !c.is_whitespace()) {
        Some(c) => !c.is_lowercase(),
        None => false,
    }
}

/// Whether the word right before a single `.` is an abbreviation or initial.
fn is_abbreviation(before_dot: &str) -> bool {
    let word = before_dot.rsplit(char::is_whitespace).next().unwrap_or("");
    let word = word
        .trim_start_matches(|c: char| !c.is_alphanumeric())
        .to_lowercase();
    let mut letters = word.chars();
    let single_letter =
        matches!((letters.next(), letters.next()), (Some(c), None) if c.is_alphabetic());
    single_letter || ABBREVIATIONS.contains(&word.as_str())
}

fn push_trimmed<'a>(piece: &'a str, out: &mut Vec<&'a str>) {
    let piece = piece.trim();
    if !piece.is_empty() {
        out.push(piece);
    }
}

#[cfg(test)]
mod tests {
    use super::split;

    #[test]
    fn splits_on_terminal_punctuation_and_newlines() {
        assert_eq!(
            split("The team met. They chose a remote!\nThen lunch? Yes."),
            [
                "The team met.",
                "They chose a remote!",
                "Then lunch?",
                "Yes."
            ]
        );
    }

    #[test]
    fn keeps_abbreviations_initials_and_lowercase_continuations() {
        assert_eq!(
            split("Dr. Smith and J. Doe agreed, e.g. on costs. It cost 3.5 euros. ok then"),
            [
                "Dr. Smith and J. Doe agreed, e.g. on costs.",
                "It cost 3.5 euros. ok then"
            ]
        );
    }

    #[test]
    fn closing_quotes_stay_with_their_sentence() {
        assert_eq!(
            split("He said \"no.\" Then left..."),
            ["He said \"no.\"", "Then left..."]
        );
    }

    #[test]
    fn empty_and_blank_texts_have_no_sentences() {
        assert!(split("").is_empty());
        assert!(split(" \n\t\n").is_empty());
    }
}
