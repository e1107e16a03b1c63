//! CPython's view of characters, for reproducing Python regular expressions exactly.
//!
//! NLTK's tokenizers are Python `re` patterns over `str`. Python's `\w`, `\d`, `\s`,
//! `str.islower`/`isupper` and `(?i)` matching differ from Rust's `char` methods and
//! from the `regex` crate (marks, numeric symbols, the separators U+001C..U+001F), so the
//! tables here are generated from CPython (`scripts/gen_pyunicode_tables.py`).

use std::cmp::Ordering;

include!("pyunicode_tables.rs");

fn in_ranges(ranges: &[(u32, u32)], c: char) -> bool {
    let cp = c as u32;
    ranges
        .binary_search_by(|&(lo, hi)| {
            if hi < cp {
                Ordering::Less
            } else if lo > cp {
                Ordering::Greater
            } else {
                Ordering::Equal
            }
        })
        .is_ok()
}

/// Python `re` `\w` on str.
pub fn is_word(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphanumeric() || c == '_'
    } else {
        in_ranges(&WORD, c)
    }
}

/// Python `re` `\d` on str.
pub fn is_decimal(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_digit()
    } else {
        in_ranges(&DECIMAL, c)
    }
}

/// Python `re` `\s` on str, `str.isspace()` and the separators of `str.split()`.
pub fn is_space(c: char) -> bool {
    matches!(
        c,
        '\t'..='\r'
            | '\u{1c}'..=' '
            | '\u{85}'
            | '\u{a0}'
            | '\u{1680}'
            | '\u{2000}'..='\u{200a}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{202f}'
            | '\u{205f}'
            | '\u{3000}'
    )
}

/// Python `string.whitespace` (ASCII only).
pub fn is_ascii_whitespace(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\u{b}' | '\u{c}')
}

/// `str.islower()` of one character.
pub fn is_lower(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_lowercase()
    } else {
        in_ranges(&LOWER, c)
    }
}

/// `str.isupper()` of one character.
pub fn is_upper(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_uppercase()
    } else {
        in_ranges(&UPPER, c)
    }
}

/// Whether `c` matches the ASCII letter `letter` in a Python `(?i)` pattern.
///
/// Besides the two ASCII cases, CPython's `sre` folds U+0130/U+0131 onto `i`, the long s
/// U+017F onto `s` and the Kelvin sign U+212A onto `k`; no other character folds onto an
/// ASCII letter (checked with `re.match("(?i)" + letter, chr(cp))` over all code points).
pub fn ignore_case_eq(c: char, letter: char) -> bool {
    debug_assert!(letter.is_ascii_lowercase());
    c.to_ascii_lowercase() == letter
        || (letter == 'i' && matches!(c, '\u{130}' | '\u{131}'))
        || (letter == 's' && c == '\u{17f}')
        || (letter == 'k' && c == '\u{212a}')
}

/// Whether `text` starts with `pattern` under Python `(?i)` (ASCII letters, other characters literal).
pub fn starts_with_ignore_case(text: &str, pattern: &str) -> Option<usize> {
    let mut chars = text.char_indices();
    for p in pattern.chars() {
        let (_, c) = chars.next()?;
        let same = if p.is_ascii_lowercase() { ignore_case_eq(c, p) } else { c == p };
        if !same {
            return None;
        }
    }
    Some(chars.next().map_or(text.len(), |(i, _)| i))
}

/// Python `str.strip()`'s right half: `text` without trailing `\s`.
pub fn rstrip(text: &str) -> &str {
    text.trim_end_matches(is_space)
}

/// Python `str.split()` with no argument.
pub fn split_whitespace(text: &str) -> impl Iterator<Item = &str> {
    text.split(is_space).filter(|piece| !piece.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_differs_from_rust_on_marks_and_numeric_symbols() {
        assert!(is_word('é') && is_word('_') && is_word('²') && is_word('\u{3192}'));
        // A combining acute accent is alphabetic to Rust but not `\w` to Python.
        assert!(!is_word('\u{301}'));
        assert!(!is_word('-') && !is_word(' ') && !is_word('\''));
    }

    #[test]
    fn decimal_is_nd_only() {
        assert!(is_decimal('7') && is_decimal('\u{663}'));
        assert!(!is_decimal('²') && !is_decimal('a'));
    }

    #[test]
    fn space_includes_the_ascii_separators() {
        for c in ['\t', '\n', '\u{b}', '\u{1c}', '\u{1f}', ' ', '\u{a0}', '\u{3000}'] {
            assert!(is_space(c), "{c:?}");
        }
        assert!(!is_space('\u{200b}') && !is_space('x'));
        assert!(!is_ascii_whitespace('\u{1c}') && is_ascii_whitespace('\u{b}'));
        assert_eq!(split_whitespace(" a\u{1c}b  c\n").collect::<Vec<_>>(), ["a", "b", "c"]);
    }

    #[test]
    fn case_predicates() {
        assert!(is_lower('a') && is_lower('ß') && !is_lower('A') && !is_lower('1'));
        assert!(is_upper('Ä') && !is_upper('ä'));
    }

    #[test]
    fn ignore_case_folds_like_sre() {
        assert_eq!(starts_with_ignore_case("CanNot x", "cannot"), Some(6));
        assert_eq!(starts_with_ignore_case("'TIS", "'tis"), Some(4));
        assert_eq!(starts_with_ignore_case("\u{17f}x", "s"), Some(2));
        assert_eq!(starts_with_ignore_case("\u{130}", "i"), Some(2));
        assert_eq!(starts_with_ignore_case("ca", "can"), None);
    }
}
