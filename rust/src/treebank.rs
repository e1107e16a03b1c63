//! NLTK's improved Treebank word tokenizer (`NLTKWordTokenizer`, as of NLTK 3.8.1) on one
//! sentence.
//!
//! The QMSum recipe ran `nltk.word_tokenize`, which splits sentences with Punkt
//! (`punkt.rs`) and then applies this tokenizer to each sentence. The tokenizer is a
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
    for token in split_whitespace(&text) {
        out.push_str(token);
        out.push(' ');
    }
}

/// The tokens of `sentence`, as `NLTKWordTokenizer().tokenize(sentence)` (NLTK 3.8.1).
pub fn tokens(sentence: &str) -> Vec<String> {
    split_whitespace(&rewrite(sentence)).map(str::to_owned).collect()
}

/// The sentence after all substitutions; splitting it on whitespace gives the tokens.
///
/// Each pass returns `None` when it cannot match (most sentences hold none of the
/// characters most rules look for), so the text is copied only when it changes.
fn rewrite(sentence: &str) -> String {
    let mut text = sentence.to_owned();
    // Every pass inserts ASCII only, so an ASCII sentence stays ASCII.
    let unicode = !sentence.is_ascii();
    let run = |text: &mut String, pass: &dyn Fn(&str) -> Option<String>| {
        if let Some(changed) = pass(text) {
            *text = changed;
        }
    };
    // Starting quotes.
    run(&mut text, &|t| pad_opening_quotes(t, unicode));
    run(&mut text, &|t| t.strip_prefix('"').map(|rest| format!("``{rest}")));
    run(&mut text, &|t| pad_literal(t, "``"));
    run(&mut text, &opening_double_quote_after_bracket);
    run(&mut text, &split_quote_before_letter);
    // Punctuation.
    run(&mut text, &|t| final_period(t, CLOSERS_WIDE, true));
    run(&mut text, &pad_colon_comma_before_non_digit);
    run(&mut text, &pad_final_colon_comma);
    run(&mut text, &pad_dot_runs);
    run(&mut text, &|t| pad_ascii(t, |b| matches!(b, b';' | b'@' | b'#' | b'$' | b'%' | b'&')));
    run(&mut text, &|t| final_period(t, CLOSERS_NARROW, false));
    run(&mut text, &|t| pad_ascii(t, |b| matches!(b, b'?' | b'!')));
    run(&mut text, &pad_quote_before_space);
    run(&mut text, &|t| pad_ascii(t, |b| b == b'*'));
    // Parentheses and brackets, then double dashes.
    run(&mut text, &|t| {
        pad_ascii(t, |b| matches!(b, b'[' | b']' | b'(' | b')' | b'{' | b'}' | b'<' | b'>'))
    });
    run(&mut text, &|t| pad_literal(t, "--"));
    text = format!(" {text} ");
    // Ending quotes.
    if unicode {
        run(&mut text, &|t| pad_chars(t, |c| matches!(c, '»' | '”' | '’')));
    }
    run(&mut text, &|t| pad_literal(t, "''"));
    run(&mut text, &|t| t.contains('"').then(|| t.replace('"', " '' ")));
    run(&mut text, &|t| split_clitic(t, &["'s", "'S", "'m", "'M", "'d", "'D", "'"]));
    run(&mut text, &|t| split_clitic(t, &["'ll", "'LL", "'re", "'RE", "'ve", "'VE", "n't", "N'T"]));
    // Contractions.
    run(&mut text, &split_contractions);
    run(&mut text, &split_t_contractions);
    text
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

/// `re.sub(pattern, r" \g<0> ", text)` for a class of ASCII characters (which never occur
/// inside a multi-byte character, so the text can be cut at them).
fn pad_ascii(text: &str, class: impl Fn(u8) -> bool) -> Option<String> {
    let bytes = text.as_bytes();
    let first = bytes.iter().position(|&b| class(b))?;
    let mut out = String::with_capacity(text.len() + 16);
    let mut copied = 0;
    for (at, &b) in bytes.iter().enumerate().skip(first) {
        if class(b) {
            out.push_str(&text[copied..at]);
            out.push(' ');
            out.push(b as char);
            out.push(' ');
            copied = at + 1;
        }
    }
    out.push_str(&text[copied..]);
    Some(out)
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
    text.contains(literal).then(|| text.replace(literal, &format!(" {literal} ")))
}

/// `([«“‘„]|[`]+)` -> ` \1 `: opening quotes, and runs of backquotes kept together.
fn pad_opening_quotes(text: &str, unicode: bool) -> Option<String> {
    if !has_byte(text, |b| b == b'`') && !(unicode && text.contains(['«', '“', '‘', '„'])) {
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
    if !has_byte(text, |b| b == b'"' || b == b'\'') {
        return None;
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut at = 0;
    while let Some(c) = next_char(text, at) {
        at += c.len_utf8();
        out.push(c);
        if matches!(c, ' ' | '(' | '[' | '{' | '<') {
            let rest = &text[at..];
            let quote = if rest.starts_with('"') {
                1
            } else if rest.starts_with("''") {
                2
            } else {
                0
            };
            if quote > 0 {
                out.push_str(" `` ");
                at += quote;
            }
        }
    }
    Some(out)
}

/// `(?i)(\')(?!re|ve|ll|m|t|s|d|n)(\w)\b` -> `\1 \2`: a quote before a one-letter word
/// that is not a clitic (NLTK before 3.9).
fn split_quote_before_letter(text: &str) -> Option<String> {
    if !has_byte(text, |b| b == b'\'') {
        return None;
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut at = 0;
    while let Some(c) = next_char(text, at) {
        at += c.len_utf8();
        out.push(c);
        if c != '\'' {
            continue;
        }
        let rest = &text[at..];
        let clitic = ["re", "ve", "ll", "m", "t", "s", "d", "n"]
            .iter()
            .any(|clitic| starts_with_ignore_case(rest, clitic).is_some());
        if clitic {
            continue;
        }
        let mut after = rest.chars();
        if let Some(letter) = after.next().filter(|&l| is_word(l)) {
            if !after.next().is_some_and(is_word) {
                out.push(' ');
                out.push(letter);
                at += letter.len_utf8();
            }
        }
    }
    Some(out)
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
    let mut out = String::with_capacity(text.len() + 16);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if matches!(c, ':' | ',') {
            if let Some(next) = chars.next_if(|&n| !is_decimal(n)) {
                out.push(' ');
                out.push(c);
                out.push(' ');
                out.push(next);
                continue;
            }
        }
        out.push(c);
    }
    Some(out)
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
    Some(format!("{} {} {}", &text[..at], &text[at..at + 1], &text[at + 1..]))
}

/// `\.{2,}` -> ` \g<0> `.
fn pad_dot_runs(text: &str) -> Option<String> {
    if !text.contains("..") {
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
    if !text.contains("' ") {
        return None;
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut at = 0;
    while let Some(c) = next_char(text, at) {
        at += c.len_utf8();
        out.push(c);
        if c != '\'' && text[at..].starts_with("' ") {
            out.push_str(" ' ");
            at += 2;
        }
    }
    Some(out)
}

/// `([^' ])(alt1|alt2|...) ` -> `\1 \2 `: clitics split from the word before them.
fn split_clitic(text: &str, clitics: &[&str]) -> Option<String> {
    if !has_byte(text, |b| b == b'\'') {
        return None;
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut at = 0;
    while let Some(c) = next_char(text, at) {
        at += c.len_utf8();
        out.push(c);
        if c == '\'' || c == ' ' {
            continue;
        }
        let rest = &text[at..];
        if !rest.starts_with(['\'', 'n', 'N']) {
            continue;
        }
        let found = clitics
            .iter()
            .find(|clitic| rest.starts_with(*clitic) && rest[clitic.len()..].starts_with(' '));
        if let Some(clitic) = found {
            out.push(' ');
            out.push_str(clitic);
            out.push(' ');
            at += clitic.len() + 1;
        }
    }
    Some(out)
}

/// The contraction at `at` (a word start), as `(split point, end)`.
fn contraction_at(text: &str, at: usize) -> Option<(usize, usize)> {
    let rest = &text[at..];
    CONTRACTIONS.iter().find_map(|(first, second)| {
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
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut previous_is_word = false;
    let mut at = 0;
    while let Some(c) = next_char(text, at) {
        // Each contraction starts with one of these letters, which fold only to themselves.
        let starts = matches!(c.to_ascii_lowercase(), 'c' | 'd' | 'g' | 'l' | 'm' | 'w');
        if starts && !previous_is_word {
            if let Some((mid, end)) = contraction_at(text, at) {
                let buffer = out.get_or_insert_with(|| String::with_capacity(text.len() + 16));
                buffer.push_str(&text[copied..at]);
                for part in [&text[at..mid], &text[mid..end]] {
                    buffer.push(' ');
                    buffer.push_str(part);
                }
                buffer.push(' ');
                copied = end;
                at = end;
                previous_is_word = true;
                continue;
            }
        }
        previous_is_word = is_word(c);
        at += c.len_utf8();
    }
    let mut out = out?;
    out.push_str(&text[copied..]);
    Some(out)
}

/// `(?i) ('t)(is)\b` and `(?i) ('t)(was)\b` -> ` \1 \2 `: 'tis and 'twas.
fn split_t_contractions(text: &str) -> Option<String> {
    if !text.contains(" '") {
        return None;
    }
    let mut text = text.to_owned();
    for second in ["is", "was"] {
        let mut out = String::with_capacity(text.len() + 16);
        let mut at = 0;
        while let Some(c) = next_char(&text, at) {
            if c == ' ' {
                let start = at + 1;
                if let Some(t_len) = starts_with_ignore_case(&text[start..], "'t") {
                    let mid = start + t_len;
                    if let Some(len) = starts_with_ignore_case(&text[mid..], second) {
                        let end = mid + len;
                        if !next_char(&text, end).is_some_and(is_word) {
                            out.push(' ');
                            out.push_str(&text[start..mid]);
                            out.push(' ');
                            out.push_str(&text[mid..end]);
                            out.push(' ');
                            at = end;
                            continue;
                        }
                    }
                }
            }
            out.push(c);
            at += c.len_utf8();
        }
        text = out;
    }
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tok(sentence: &str) -> Vec<String> {
        tokens(sentence)
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
        assert_eq!(tok("( time , space etc. ) :"), ["(", "time", ",", "space", "etc.", ")", ":"]);
        assert_eq!(tok("( time , space etc. )"), ["(", "time", ",", "space", "etc", ".", ")"]);
        assert_eq!(tok("wait..."), ["wait", "..."]);
    }

    #[test]
    fn clitics_and_contractions() {
        assert_eq!(tok("i don't know"), ["i", "do", "n't", "know"]);
        assert_eq!(tok("we'll see, can't we?"), ["we", "'ll", "see", ",", "ca", "n't", "we", "?"]);
        assert_eq!(tok("I cannot gimme wanna go"), ["I", "can", "not", "gim", "me", "wan", "na", "go"]);
        assert_eq!(tok("'Tis late"), ["'T", "is", "late"]);
        assert_eq!(tok("he said 'twas"), ["he", "said", "'t", "was"]);
        assert_eq!(tok("wanna"), ["wan", "na"]);
    }

    #[test]
    fn quotes() {
        assert_eq!(tok("\"hi\" she said"), ["``", "hi", "''", "she", "said"]);
        assert_eq!(tok("for 'bleeping out' any"), ["for", "'bleeping", "out", "'", "any"]);
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
    fn markers_and_brackets() {
        assert_eq!(tok("uh {disfmarker} so"), ["uh", "{", "disfmarker", "}", "so"]);
        assert_eq!(tok("a--b"), ["a", "--", "b"]);
        assert_eq!(tok("x*y&z"), ["x", "*", "y", "&", "z"]);
    }
}
