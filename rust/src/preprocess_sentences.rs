//! The sentences QMSum preprocessing cuts text into before word tokenization
//! (`preprocess.rs`): sentence splitting as NLTK's Punkt does it with no trained
//! parameters.
//!
//! The QMSum reference data matches `PunktSentenceTokenizer()` (NLTK 3.8.1, no abbreviation
//! list, collocations, sentence starters or orthographic statistics) on every example, so
//! this is that algorithm with the empty parameters folded in:
//!
//! 1. Candidates are `.`, `?` and `!` followed by one of `)";}]*:@'({[?!` or by whitespace
//!    and another token.
//! 2. Each candidate is judged on its context (the word before it through the token after
//!    it): it ends a sentence when a token of the context other than the last one is a
//!    break. `.`, `?` and `!` alone are breaks; so is a word ending in one period
//!    (`on.`, `e.g.`), except an initial (`a.`) or a number (`2001.`) followed by a
//!    lowercase word or by one of `;:,.!?` (an initial also before an uppercase word).
//!    `..`-runs (ellipses) never end a sentence.
//! 3. Closing quotes and brackets after a break move to the end of the sentence before.

use crate::pyunicode::{
    is_ascii_whitespace, is_decimal, is_lower, is_space, is_upper, is_word, rstrip,
};

/// The sentences of `text`, as `PunktSentenceTokenizer().tokenize(text)`.
pub fn split(text: &str) -> Vec<&str> {
    let slice = |(start, end)| if start < end { &text[start..end] } else { "" };
    sentence_spans(text).into_iter().map(slice).collect()
}

/// Byte spans of the sentences of `text` (a span may be empty where Punkt's is).
fn sentence_spans(text: &str) -> Vec<(usize, usize)> {
    realign_boundaries(text, &raw_slices(text))
}

/// `)";}]*:@'({[?!`: punctuation that cannot be inside a word.
fn is_non_word(c: char) -> bool {
    matches!(
        c,
        ')' | '"' | ';' | '}' | ']' | '*' | ':' | '@' | '\'' | '(' | '{' | '[' | '?' | '!'
    )
}

/// Punkt's word-start exclusions: `(":;&#*@)}]-,` and the backquote.
fn cannot_start_word(c: char) -> bool {
    matches!(
        c,
        '(' | '"'
            | '`'
            | '{'
            | '['
            | ':'
            | ';'
            | '&'
            | '#'
            | '*'
            | '@'
            | ')'
            | '}'
            | ']'
            | '-'
            | ','
    )
}

fn char_at(text: &str, at: usize) -> Option<char> {
    text.get(at..)?.chars().next()
}

/// A potential sentence end: the `.`/`?`/`!` at `at`, the context's end, and where the
/// next token starts when whitespace follows.
struct Candidate {
    at: usize,
    after_end: usize,
    next_token: Option<usize>,
}

/// `[.?!](?=(?P<after_tok>NonWord|\s+(?P<next_tok>\S+)))`, every match.
fn candidates(text: &str) -> Vec<Candidate> {
    let mut found = Vec::new();
    for (at, c) in text.char_indices() {
        if !matches!(c, '.' | '?' | '!') {
            continue;
        }
        let after = at + 1;
        match char_at(text, after) {
            Some(n) if is_non_word(n) => found.push(Candidate {
                at,
                after_end: after + n.len_utf8(),
                next_token: None,
            }),
            Some(n) if is_space(n) => {
                let rest = &text[after..];
                let token = after + (rest.len() - rest.trim_start_matches(is_space).len());
                if token < text.len() {
                    let word = &text[token..];
                    let end = token + word.find(is_space).unwrap_or(word.len());
                    found.push(Candidate {
                        at,
                        after_end: end,
                        next_token: Some(token),
                    });
                }
            }
            _ => {}
        }
    }
    found
}

/// Candidates with their context start, as `_match_potential_end_contexts` pairs them:
/// the context starts after the last ASCII whitespace since the previous candidate; with
/// none, it reaches back to the previous context's start and the previous candidate is
/// dropped.
fn contexts(candidates: Vec<Candidate>, text: &str) -> Vec<(Candidate, usize)> {
    let mut kept: Vec<(Candidate, usize)> = Vec::new();
    let mut previous: Option<(Candidate, (usize, usize))> = None;
    let mut previous_slice = (0, 0);
    for candidate in candidates {
        let before = &text[previous_slice.1..candidate.at];
        // Python's `if index_after_last_space:` treats a space at index 0 as none.
        let start = match before.rfind(is_ascii_whitespace) {
            Some(index) if index > 0 => previous_slice.1 + index + 1,
            _ => previous_slice.0,
        };
        if let Some((prev, slice)) = previous.take() {
            if slice.1 <= start {
                kept.push((prev, slice.0));
            }
        }
        previous_slice = (start, candidate.at);
        previous = Some((candidate, previous_slice));
    }
    if let Some((prev, slice)) = previous {
        kept.push((prev, slice.0));
    }
    kept
}

/// `_slices_from_text`: sentence slices before realignment (possibly empty or inverted).
fn raw_slices(text: &str) -> Vec<(usize, usize)> {
    let mut slices = Vec::new();
    let mut last_break = 0;
    for (candidate, start) in contexts(candidates(text), text) {
        if contains_sentence_break(&text[start..candidate.after_end]) {
            slices.push((last_break, candidate.at + 1));
            last_break = candidate.next_token.unwrap_or(candidate.at + 1);
        }
    }
    slices.push((last_break, rstrip(text).len()));
    slices
}

/// `_realign_boundaries`: closing quotes and brackets right after a break (with the
/// whitespace after them) join the sentence before.
fn realign_boundaries(text: &str, slices: &[(usize, usize)]) -> Vec<(usize, usize)> {
    let mut spans = Vec::with_capacity(slices.len());
    let mut realign = 0;
    let non_empty = |(start, end): (usize, usize)| start < end;
    for (i, &(start, end)) in slices.iter().enumerate() {
        let sentence = (start + realign, end);
        let Some(&next) = slices.get(i + 1) else {
            if non_empty(sentence) {
                spans.push(sentence);
            }
            continue;
        };
        let next_text = if next.0 < next.1 {
            &text[next.0..next.1]
        } else {
            ""
        };
        if let Some((closers, matched)) = realignment(next_text) {
            spans.push((sentence.0, next.0 + closers));
            realign = matched;
        } else {
            realign = 0;
            if non_empty(sentence) {
                spans.push(sentence);
            }
        }
    }
    spans
}

/// `["\')\]}]+?(?:\s+|(?=--)|$)` (multiline) at the start of `text`: the length of the
/// closing characters and of the whole match.
fn realignment(text: &str) -> Option<(usize, usize)> {
    let mut at = 0;
    while let Some(c) = char_at(text, at).filter(|&c| matches!(c, '"' | '\'' | ')' | ']' | '}')) {
        at += c.len_utf8();
        let rest = &text[at..];
        match rest.chars().next() {
            Some(n) if is_space(n) => {
                return Some((at, text.len() - rest.trim_start_matches(is_space).len()));
            }
            None => return Some((at, at)),
            _ if rest.starts_with("--") => return Some((at, at)),
            _ => {}
        }
    }
    None
}

/// `text_contains_sentbreak`: whether a token other than the last is a sentence break.
fn contains_sentence_break(context: &str) -> bool {
    let tokens = words(context);
    tokens.windows(2).any(|pair| is_break(pair[0], pair[1]))
}

/// Whether `token`, followed by `next`, ends a sentence (both annotation passes).
fn is_break(token: &str, next: &str) -> bool {
    if matches!(token, "." | "?" | "!") {
        return true;
    }
    let ellipsis = token.len() >= 2 && token.bytes().all(|b| b == b'.');
    if ellipsis || !token.ends_with('.') || token.ends_with("..") {
        return false;
    }
    // A word ending in one period breaks, unless it is an initial or a number that the
    // orthographic heuristic (with no statistics) keeps in the sentence.
    let initial = is_initial(token);
    if !(initial || is_number(token)) {
        return true;
    }
    let first = next.chars().next().expect("tokens are not empty");
    let next_is_punctuation = matches!(next, ";" | ":" | "," | "." | "!" | "?");
    if next_is_punctuation || is_lower(first) {
        return false;
    }
    !(initial && is_upper(first))
}

/// `[^\W\d]\.$`: one letter (or underscore) and a period.
fn is_initial(token: &str) -> bool {
    let mut chars = token.chars();
    matches!(
        (chars.next(), chars.next(), chars.next()),
        (Some(c), Some('.'), None) if is_word(c) && !is_decimal(c)
    )
}

/// `^-?[\.,]?\d[\d,\.-]*\.?$`: Punkt's `##number##` type.
fn is_number(token: &str) -> bool {
    let rest = token.strip_prefix('-').unwrap_or(token);
    let rest = rest.strip_prefix(['.', ',']).unwrap_or(rest);
    let mut chars = rest.chars();
    chars.next().is_some_and(is_decimal)
        && chars.all(|c| is_decimal(c) || matches!(c, ',' | '.' | '-'))
}

/// Punkt's word tokenizer (`_tokenize_words`) over each line of `text`.
fn words(text: &str) -> Vec<&str> {
    let mut tokens = Vec::new();
    for line in text.split('\n') {
        let mut at = 0;
        while let Some(c) = char_at(line, at) {
            let end = if let Some(end) = multi_char_punct(line, at) {
                end
            } else if is_space(c) {
                at += c.len_utf8();
                continue;
            } else if cannot_start_word(c) {
                at + c.len_utf8()
            } else {
                word_end(line, at + c.len_utf8())
            };
            tokens.push(&line[at..end]);
            at = end;
        }
    }
    tokens
}

/// The lazy `\S+?` of a word: the first position from `at` where a word may end.
fn word_end(line: &str, mut at: usize) -> usize {
    loop {
        let Some(c) = char_at(line, at) else {
            return at;
        };
        if is_space(c) || is_non_word(c) || multi_char_punct(line, at).is_some() {
            return at;
        }
        if c == ',' {
            let after = at + 1;
            let ends = match char_at(line, after) {
                None => true,
                Some(n) => is_space(n) || is_non_word(n) || multi_char_punct(line, after).is_some(),
            };
            if ends {
                return at;
            }
        }
        at += c.len_utf8();
    }
}

/// `\-{2,}|\.{2,}|(?:\.\s){2,}\.` at `at`: the end of the match.
fn multi_char_punct(line: &str, at: usize) -> Option<usize> {
    let rest = &line[at..];
    for mark in ['-', '.'] {
        let run = rest.len() - rest.trim_start_matches(mark).len();
        if run >= 2 {
            return Some(at + run);
        }
    }
    // Spaced dots: as many `.\s` pairs as possible, then a period; backtracking gives
    // up the last pair when no period follows it.
    let mut ends = vec![at];
    let mut chars = rest.char_indices().peekable();
    while let Some((_, '.')) = chars.next() {
        match chars.next() {
            Some((i, s)) if is_space(s) => ends.push(at + i + s.len_utf8()),
            _ => break,
        }
    }
    let pairs = ends.len() - 1;
    for count in (2..=pairs).rev() {
        let end = ends[count];
        if line[end..].starts_with('.') {
            return Some(end + 1);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_after_periods_and_question_marks() {
        assert_eq!(
            split("wireless headset ? ok ."),
            ["wireless headset ?", "ok ."]
        );
        assert_eq!(
            split("the team met. then they left."),
            ["the team met.", "then they left."]
        );
        assert_eq!(
            split("clean ( i.e. spell checked )"),
            ["clean ( i.e.", "spell checked )"]
        );
    }

    #[test]
    fn initials_and_numbers_before_lowercase_stay() {
        assert_eq!(split("plan a. then b"), ["plan a. then b"]);
        assert_eq!(split("in 2001. then"), ["in 2001. then"]);
        assert_eq!(split("in 2001. (then)"), ["in 2001.", "(then)"]);
        assert_eq!(split("it was 5. ."), ["it was 5. ."]);
        assert_eq!(split("plan A. Then"), ["plan A. Then"]);
        assert_eq!(split("in 2001. Then"), ["in 2001.", "Then"]);
    }

    #[test]
    fn ellipses_do_not_split() {
        assert_eq!(split("well... maybe"), ["well... maybe"]);
        // Spaced dots are one word token, but each `.` is also a candidate: two breaks.
        assert_eq!(split("well . . . maybe"), ["well .", ".", ".", "maybe"]);
    }

    #[test]
    fn closing_brackets_and_quotes_realign() {
        assert_eq!(split("( time etc. ) : x"), ["( time etc. )", ": x"]);
        assert_eq!(
            split("he said \"stop.\" then"),
            ["he said \"stop.\"", "then"]
        );
        assert_eq!(split("what?! no"), ["what?!", "no"]);
    }

    #[test]
    fn trailing_whitespace_and_empty_text() {
        assert_eq!(split("one.  two.  "), ["one.", "two."]);
        assert!(split("").is_empty());
        assert!(split("   ").is_empty());
    }

    #[test]
    fn word_tokens() {
        assert_eq!(words("on. professor"), ["on.", "professor"]);
        assert_eq!(
            words("a?b, c,d -- e..."),
            ["a", "?b", ",", "c,d", "--", "e", "..."]
        );
        assert_eq!(words("x . . . y"), ["x", ". . .", "y"]);
    }
}
