//! NLTK's improved Treebank word tokenizer (`NLTKWordTokenizer`, as of NLTK 3.8.1) on one
//! sentence.
//!
//! The QMSum recipe ran `nltk.word_tokenize`, which splits sentences with Punkt
//! (`preprocess_sentences.rs`) and then applies this tokenizer to each sentence. The tokenizer is a
//! fixed sequence of regular-expression substitutions; each pass below reproduces one
//! Python `re.sub` exactly (leftmost, non-overlapping matches, Python's `\w`, `\s`, `\d`,
//! `$` and `(?i)`), written as a scan so that no pass needs look-around.
//!
//! NLTK 3.9 changed two rules (a quote before a word, and whitespace normalisation before
//! the clitic rules) and added a dash rule; the QMSum reference data was made with the
//! earlier rules, which are the ones kept here.

use crate::pyunicode::{is_decimal, is_space, is_word, split_whitespace, starts_with_ignore_case};

/// Appends the tokens of `sentence` to `out`, each followed by one space.
pub fn tokenize_into(sentence: &str, out: &mut String) {
    let text = rewrite(sentence);
    if text.is_ascii() {
        // Python's ASCII whitespace, `\x1c`..`\x1f` included.
        let space = |b: &u8| matches!(b, b'\t'..=b'\r' | 0x1c..=b' ');
        for token in text
            .as_bytes()
            .split(space)
            .filter(|token| !token.is_empty())
        {
            out.push_str(std::str::from_utf8(token).expect("ASCII"));
            out.push(' ');
        }
        return;
    }
    for token in split_whitespace(&text) {
        out.push_str(token);
        out.push(' ');
    }
}

/// The sentence after all substitutions; splitting it on whitespace gives the tokens.
///
/// A pass runs only when the characters it looks for are present (passes add spaces,
/// and quotes only where a quote was), and returns `None` when it changes nothing, so
/// the text is copied only when it changes.
fn rewrite(sentence: &str) -> String {
    let mut text = sentence.to_owned();
    let has = AsciiSet::of(sentence);
    // Every pass inserts ASCII only, so an ASCII sentence stays ASCII.
    let unicode = !sentence.is_ascii();
    let quotes = has.any(b"'\"`");
    let run = |text: &mut String, wanted: bool, pass: &dyn Fn(&str) -> Option<String>| {
        if wanted {
            if let Some(changed) = pass(text) {
                *text = changed;
            }
        }
    };
    // Starting quotes.
    run(&mut text, unicode || has.any(b"`"), &|t| {
        pad_opening_quotes(t, unicode)
    });
    run(&mut text, has.any(b"\""), &|t| {
        t.strip_prefix('"').map(|rest| format!("``{rest}"))
    });
    run(&mut text, quotes, &|t| pad_literal(t, "``"));
    run(&mut text, quotes, &opening_double_quote_after_bracket);
    run(&mut text, has.any(b"'"), &split_quote_before_letter);
    // Punctuation.
    let periods = has.any(b".");
    run(&mut text, periods, &|t| final_period(t, CLOSERS_WIDE, true));
    run(&mut text, has.any(b":,"), &pad_colon_comma_before_non_digit);
    run(&mut text, has.any(b":,"), &pad_final_colon_comma);
    run(&mut text, periods, &pad_dot_runs);
    let symbols = |b| matches!(b, b';' | b'@' | b'#' | b'$' | b'%' | b'&');
    run(&mut text, has.any(b";@#$%&"), &|t| pad_ascii(t, symbols));
    run(&mut text, periods, &|t| {
        final_period(t, CLOSERS_NARROW, false)
    });
    run(&mut text, has.any(b"?!"), &|t| {
        pad_ascii(t, |b| matches!(b, b'?' | b'!'))
    });
    run(&mut text, has.any(b"'"), &pad_quote_before_space);
    run(&mut text, has.any(b"*"), &|t| pad_ascii(t, |b| b == b'*'));
    // Parentheses and brackets, then double dashes.
    let brackets = |b| matches!(b, b'[' | b']' | b'(' | b')' | b'{' | b'}' | b'<' | b'>');
    run(&mut text, has.any(b"[](){}<>"), &|t| pad_ascii(t, brackets));
    run(&mut text, has.any(b"-"), &|t| pad_literal(t, "--"));
    text = format!(" {text} ");
    // Ending quotes (a double quote becomes two single ones).
    run(&mut text, unicode, &|t| {
        pad_chars(t, |c| matches!(c, '»' | '”' | '’'))
    });
    let singles = has.any(b"'\"");
    run(&mut text, singles, &|t| pad_literal(t, "''"));
    run(&mut text, has.any(b"\""), &|t| {
        t.contains('"').then(|| t.replace('"', " '' "))
    });
    let clitics = ["'s", "'S", "'m", "'M", "'d", "'D", "'"];
    run(&mut text, singles, &|t| split_clitic(t, &clitics));
    let clitics = ["'ll", "'LL", "'re", "'RE", "'ve", "'VE", "n't", "N'T"];
    run(&mut text, singles, &|t| split_clitic(t, &clitics));
    // Contractions.
    run(&mut text, true, &split_contractions);
    run(&mut text, singles, &split_t_contractions);
    text
}

/// The ASCII characters a text holds, as a bit set.
#[derive(Clone, Copy)]
struct AsciiSet(u128);

impl AsciiSet {
    fn of(text: &str) -> Self {
        let bits = text
            .bytes()
            .filter(u8::is_ascii)
            .fold(0u128, |bits, b| bits | 1 << b);
        Self(bits)
    }

    fn any(self, chars: &[u8]) -> bool {
        chars.iter().any(|&c| self.0 & (1 << c) != 0)
    }
}

/// `[\]\)}>"\'»”’ ]` and `[\]\)}>"\']`: what may follow a sentence's final period.
const CLOSERS_WIDE: &[char] = &[']', ')', '}', '>', '"', '\'', '»', '”', '’', ' '];
const CLOSERS_NARROW: &[char] = &[']', ')', '}', '>', '"', '\''];

/// `MacIntyreContractions.CONTRACTIONS2`, each `(?i)\b(first)(second)\b`; `wanna` needs
/// whitespace after it instead of a word boundary. Applying them in one pass equals
/// NLTK's one pass each: a match is a whole word, and no split creates another match.
const CONTRACTIONS: [(&str, &str); 8] = [
    ("can", "not"),
    ("d", "'ye"),
    ("gim", "me"),
    ("gon", "na"),
    ("got", "ta"),
    ("lem", "me"),
    ("more", "'n"),
    ("wan", "na"),
];

fn next_char(text: &str, at: usize) -> Option<char> {
    text[at..].chars().next()
}

fn has_byte(text: &str, class: impl Fn(u8) -> bool) -> bool {
    text.bytes().any(class)
}

/// Whether `text` holds the two ASCII bytes `pair` in a row (cheaper than a substring
/// search on the short texts here).
fn has_pair(text: &str, pair: [u8; 2]) -> bool {
    let bytes = text.as_bytes();
    text.match_indices(char::from(pair[0]))
        .any(|(at, _)| bytes.get(at + 1) == Some(&pair[1]))
}

/// Whether `text` may hold one of `CONTRACTIONS`: each has an apostrophe or a doubled
/// `n`, `m` or `t` (in either case; these letters fold to nothing else).
fn may_hold_contraction(text: &str) -> bool {
    let doubled =
        |w: &[u8]| (w[0] | 0x20) == (w[1] | 0x20) && matches!(w[0] | 0x20, b'n' | b'm' | b't');
    text.contains('\'') || text.as_bytes().windows(2).any(doubled)
}

/// `re.sub(pattern, r" \g<0> ", text)` for a class of ASCII characters (which never occur
/// inside a multi-byte character, so the text can be cut at them).
fn pad_ascii(text: &str, class: impl Fn(u8) -> bool) -> Option<String> {
    let mut edits = Edits::new(text);
    for (at, &b) in text.as_bytes().iter().enumerate() {
        if class(b) {
            let padded = [b' ', b, b' '];
            edits.replace(at, at + 1, std::str::from_utf8(&padded).expect("ASCII"));
        }
    }
    edits.finish()
}

/// A copy of `text` with byte ranges replaced, left to right; `None` when nothing was.
struct Edits<'a> {
    text: &'a str,
    out: Option<String>,
    copied: usize,
}

impl<'a> Edits<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            text,
            out: None,
            copied: 0,
        }
    }

    fn replace(&mut self, start: usize, end: usize, with: &str) {
        let out = self
            .out
            .get_or_insert_with(|| String::with_capacity(self.text.len() + 32));
        out.push_str(&self.text[self.copied..start]);
        out.push_str(with);
        self.copied = end;
    }

    fn finish(self) -> Option<String> {
        let mut out = self.out?;
        out.push_str(&self.text[self.copied..]);
        Some(out)
    }
}

/// `re.sub(pattern, r" \g<0> ", text)` for a one-character class.
fn pad_chars(text: &str, class: impl Fn(char) -> bool) -> Option<String> {
    if !text.chars().any(&class) {
        return None;
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if class(c) {
            out.push(' ');
            out.push(c);
            out.push(' ');
        } else {
            out.push(c);
        }
    }
    Some(out)
}

/// `re.sub(re.escape(literal), " " + literal + " ", text)`.
fn pad_literal(text: &str, literal: &str) -> Option<String> {
    let pair = [literal.as_bytes()[0], literal.as_bytes()[1]];
    has_pair(text, pair).then(|| text.replace(literal, &format!(" {literal} ")))
}

/// `([«“‘„]|[`]+)` -> ` \1 `: opening quotes, and runs of backquotes kept together.
fn pad_opening_quotes(text: &str, unicode: bool) -> Option<String> {
    let quotes = has_byte(text, |b| b == b'`') || (unicode && text.contains(['«', '“', '‘', '„']));
    if !quotes {
        return None;
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '«' | '“' | '‘' | '„' => {
                out.push(' ');
                out.push(c);
                out.push(' ');
            }
            '`' => {
                out.push_str(" `");
                while chars.next_if_eq(&'`').is_some() {
                    out.push('`');
                }
                out.push(' ');
            }
            _ => out.push(c),
        }
    }
    Some(out)
}

/// `([ \(\[{<])(\"|\'{2})` -> ``\1 `` ``: a double quote opening after a space or bracket.
fn opening_double_quote_after_bracket(text: &str) -> Option<String> {
    if !has_byte(text, |b| b == b'"') && !has_pair(text, *b"''") {
        return None;
    }
    let mut edits = Edits::new(text);
    let bytes = text.as_bytes();
    let mut at = 0;
    while at + 1 < bytes.len() {
        if matches!(bytes[at], b' ' | b'(' | b'[' | b'{' | b'<') {
            let quote = match &bytes[at + 1..] {
                [b'"', ..] => 1,
                [b'\'', b'\'', ..] => 2,
                _ => 0,
            };
            if quote > 0 {
                edits.replace(at + 1, at + 1 + quote, " `` ");
                at += 1 + quote;
                continue;
            }
        }
        at += 1;
    }
    edits.finish()
}

/// `(?i)(\')(?!re|ve|ll|m|t|s|d|n)(\w)\b` -> `\1 \2`: a quote before a one-letter word
/// that is not a clitic (NLTK before 3.9).
fn split_quote_before_letter(text: &str) -> Option<String> {
    let mut edits = Edits::new(text);
    for (quote, _) in text.match_indices('\'') {
        let rest = &text[quote + 1..];
        let clitic = starts_with_clitic(rest);
        let mut after = rest.chars();
        let letter = after.next().is_some_and(is_word);
        if !clitic && letter && !after.next().is_some_and(is_word) {
            edits.replace(quote + 1, quote + 1, " ");
        }
    }
    edits.finish()
}

/// `(?i)(?=re|ve|ll|m|t|s|d|n)`: whether `rest` starts with a clitic's letters.
fn starts_with_clitic(rest: &str) -> bool {
    let mut chars = rest.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    // The long s folds onto `s`; no other character folds onto these letters.
    match first.to_ascii_lowercase() {
        'm' | 't' | 's' | 'd' | 'n' | '\u{17f}' => true,
        'r' | 'v' => chars.next().is_some_and(|c| c.eq_ignore_ascii_case(&'e')),
        'l' => chars.next().is_some_and(|c| c.eq_ignore_ascii_case(&'l')),
        _ => false,
    }
}

/// The final-period rules, `([^\.])(\.)([closers]*)\s*$` -> `\1 \2 \3 ` (`spaced`) or
/// `\1 \2\3 `: a period followed only by closing punctuation and whitespace.
fn final_period(text: &str, closers: &[char], spaced: bool) -> Option<String> {
    let dot = text.rfind('.')?;
    let before = &text[..dot];
    if before.is_empty() || before.ends_with('.') {
        return None;
    }
    let tail = &text[dot + 1..];
    let closing = tail.trim_start_matches(closers);
    if !closing.chars().all(is_space) {
        return None;
    }
    let closing_run = &tail[..tail.len() - closing.len()];
    let mut out = String::with_capacity(text.len() + 4);
    out.push_str(before);
    out.push_str(if spaced { " . " } else { " ." });
    out.push_str(closing_run);
    out.push(' ');
    Some(out)
}

/// `([:,])([^\d])` -> ` \1 \2`.
fn pad_colon_comma_before_non_digit(text: &str) -> Option<String> {
    if !has_byte(text, |b| b == b':' || b == b',') {
        return None;
    }
    let mut edits = Edits::new(text);
    let bytes = text.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        if matches!(bytes[at], b':' | b',') {
            if let Some(next) = text[at + 1..].chars().next().filter(|&n| !is_decimal(n)) {
                edits.replace(at, at + 1, if bytes[at] == b':' { " : " } else { " , " });
                // The character after is consumed by the match, so it cannot start one.
                at += 1 + next.len_utf8();
                continue;
            }
        }
        at += 1;
    }
    edits.finish()
}

/// `([:,])$` -> ` \1 `, where Python's `$` also matches before a final newline.
fn pad_final_colon_comma(text: &str) -> Option<String> {
    let body = text.strip_suffix('\n').unwrap_or(text);
    let at = if text.ends_with([':', ',']) {
        text.len() - 1
    } else if body.len() < text.len() && body.ends_with([':', ',']) {
        body.len() - 1
    } else {
        return None;
    };
    Some(format!(
        "{} {} {}",
        &text[..at],
        &text[at..at + 1],
        &text[at + 1..]
    ))
}

/// `\.{2,}` -> ` \g<0> `.
fn pad_dot_runs(text: &str) -> Option<String> {
    if !has_pair(text, *b"..") {
        return None;
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut rest = text;
    while let Some(start) = rest.find("..") {
        let run = rest[start..].len() - rest[start..].trim_start_matches('.').len();
        out.push_str(&rest[..start]);
        out.push(' ');
        out.push_str(&rest[start..start + run]);
        out.push(' ');
        rest = &rest[start + run..];
    }
    out.push_str(rest);
    Some(out)
}

/// `([^'])' ` -> `\1 ' `.
fn pad_quote_before_space(text: &str) -> Option<String> {
    if !has_pair(text, *b"' ") {
        return None;
    }
    let mut edits = Edits::new(text);
    let mut resume = 0;
    for (quote, _) in text.match_indices("' ") {
        // The match starts at the character before the quote, which must not be a quote
        // and must not belong to the previous match.
        if quote == 0 || quote <= resume || text.as_bytes()[quote - 1] == b'\'' {
            continue;
        }
        edits.replace(quote, quote + 2, " ' ");
        resume = quote + 2;
    }
    edits.finish()
}

/// `([^' ])(alt1|alt2|...) ` -> `\1 \2 `: clitics split from the word before them.
fn split_clitic(text: &str, clitics: &[&str]) -> Option<String> {
    // Every clitic holds an apostrophe.
    if !text.contains('\'') {
        return None;
    }
    let mut edits = Edits::new(text);
    let bytes = text.as_bytes();
    // A match is the character before a clitic, the clitic and a space; `start` walks the
    // clitic's possible starts in order, which orders matches as Python finds them.
    let mut start = 1;
    while start < bytes.len() {
        if !matches!(bytes[start], b'\'' | b'n' | b'N') || matches!(bytes[start - 1], b'\'' | b' ')
        {
            start += 1;
            continue;
        }
        let rest = &text[start..];
        let found = clitics.iter().find(|clitic| {
            rest.starts_with(*clitic) && rest.as_bytes().get(clitic.len()) == Some(&b' ')
        });
        match found {
            Some(clitic) => {
                edits.replace(start, start + clitic.len() + 1, &format!(" {clitic} "));
                // The next match needs a character before its clitic: skip one more.
                start += clitic.len() + 2;
            }
            None => start += 1,
        }
    }
    edits.finish()
}

/// The contraction at `at` (a word start), as `(split point, end)`.
fn contraction_at(text: &str, at: usize) -> Option<(usize, usize)> {
    let rest = &text[at..];
    let initial = rest.as_bytes()[0] | 0x20;
    CONTRACTIONS
        .iter()
        .filter(|(first, _)| first.as_bytes()[0] == initial)
        .find_map(|(first, second)| {
            let mid = starts_with_ignore_case(rest, first)?;
            let end = mid + starts_with_ignore_case(&rest[mid..], second)?;
            let after = rest[end..].chars().next();
            let boundary = if *first == "wan" {
                after.is_some_and(is_space)
            } else {
                !after.is_some_and(is_word)
            };
            boundary.then_some((at + mid, at + end))
        })
}

/// `(?i)\b(first)(second)\b` -> ` \1 \2 ` for all of `CONTRACTIONS`.
fn split_contractions(text: &str) -> Option<String> {
    if !may_hold_contraction(text) {
        return None;
    }
    let mut edits = Edits::new(text);
    let bytes = text.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        // Each contraction starts with one of these letters, which fold only to
        // themselves; `\b` before it means no word character before.
        let starts = matches!(bytes[at] | 0x20, b'c' | b'd' | b'g' | b'l' | b'm' | b'w');
        if starts && !text[..at].chars().next_back().is_some_and(is_word) {
            if let Some((mid, end)) = contraction_at(text, at) {
                edits.replace(
                    at,
                    end,
                    &format!(" {} {} ", &text[at..mid], &text[mid..end]),
                );
                at = end;
                continue;
            }
        }
        at += 1;
    }
    edits.finish()
}

/// `(?i) ('t)(is)\b` and `(?i) ('t)(was)\b` -> ` \1 \2 `: 'tis and 'twas (in one pass:
/// their matches cannot overlap or make each other).
fn split_t_contractions(text: &str) -> Option<String> {
    if !has_pair(text, *b" '") {
        return None;
    }
    let mut edits = Edits::new(text);
    let mut resume = 0;
    for (space, _) in text.match_indices(" '") {
        if space < resume {
            continue;
        }
        let start = space + 1;
        let Some(t_len) = starts_with_ignore_case(&text[start..], "'t") else {
            continue;
        };
        let mid = start + t_len;
        let found = ["is", "was"].iter().find_map(|second| {
            let end = mid + starts_with_ignore_case(&text[mid..], second)?;
            (!next_char(text, end).is_some_and(is_word)).then_some(end)
        });
        if let Some(end) = found {
            edits.replace(
                space,
                end,
                &format!(" {} {} ", &text[start..mid], &text[mid..end]),
            );
            resume = end;
        }
    }
    edits.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tokens of `sentence`, as `NLTKWordTokenizer().tokenize(sentence)`.
    fn tok(sentence: &str) -> Vec<String> {
        let mut out = String::new();
        tokenize_into(sentence, &mut out);
        out.split(' ')
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn nltk_docstring_example() {
        let s = "Good muffins cost $3.88\nin New York.  Please buy me\ntwo of them.\nThanks.";
        assert_eq!(
            tok(s),
            [
                "Good", "muffins", "cost", "$", "3.88", "in", "New", "York.", "Please", "buy",
                "me", "two", "of", "them.", "Thanks", "."
            ]
        );
    }

    #[test]
    fn only_the_final_period_is_split() {
        assert_eq!(tok("now we 're on ."), ["now", "we", "'re", "on", "."]);
        assert_eq!(tok("it was e.g. this."), ["it", "was", "e.g.", "this", "."]);
        assert_eq!(
            tok("( time , space etc. ) :"),
            ["(", "time", ",", "space", "etc.", ")", ":"]
        );
        assert_eq!(
            tok("( time , space etc. )"),
            ["(", "time", ",", "space", "etc", ".", ")"]
        );
        assert_eq!(tok("wait..."), ["wait", "..."]);
    }

    #[test]
    fn clitics_and_contractions() {
        assert_eq!(tok("i don't know"), ["i", "do", "n't", "know"]);
        assert_eq!(
            tok("we'll see, can't we?"),
            ["we", "'ll", "see", ",", "ca", "n't", "we", "?"]
        );
        assert_eq!(
            tok("I cannot gimme wanna go"),
            ["I", "can", "not", "gim", "me", "wan", "na", "go"]
        );
        assert_eq!(tok("'Tis late"), ["'T", "is", "late"]);
        assert_eq!(tok("he said 'twas"), ["he", "said", "'t", "was"]);
        assert_eq!(tok("wanna"), ["wan", "na"]);
    }

    #[test]
    fn quotes() {
        assert_eq!(tok("\"hi\" she said"), ["``", "hi", "''", "she", "said"]);
        assert_eq!(
            tok("for 'bleeping out' any"),
            ["for", "'bleeping", "out", "'", "any"]
        );
        assert_eq!(tok("a 'b c"), ["a", "'", "b", "c"]);
        assert_eq!(tok("``x''"), ["``", "x", "''"]);
    }

    #[test]
    fn numbers_keep_their_commas_and_colons() {
        assert_eq!(tok("3,36 at 10:30, ok"), ["3,36", "at", "10:30", ",", "ok"]);
        assert_eq!(tok("end:"), ["end", ":"]);
        assert_eq!(tok("end,\n"), ["end", ","]);
    }

    #[test]
    fn python_character_classes() {
        // `\s` includes U+001C, so the period is final.
        assert_eq!(tok("2001.\u{1c}"), ["2001", "."]);
        // The long s folds onto `s` under `(?i)`: a clitic, not split.
        assert_eq!(tok("x '\u{17f} y"), ["x", "'\u{17f}", "y"]);
        // A combining accent is not `\w` to Python: `'a` + U+0301 is a one-letter word.
        assert_eq!(tok("x 'a\u{301} y"), ["x", "'", "a\u{301}", "y"]);
        assert_eq!(tok("wanna\u{1c}go"), ["wan", "na", "go"]);
    }

    #[test]
    fn markers_and_brackets() {
        assert_eq!(
            tok("uh {disfmarker} so"),
            ["uh", "{", "disfmarker", "}", "so"]
        );
        assert_eq!(tok("a--b"), ["a", "--", "b"]);
        assert_eq!(tok("x*y&z"), ["x", "*", "y", "&", "z"]);
    }
}
