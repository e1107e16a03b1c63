"""The QMSum recipe in pure Python with NLTK, as the reference for ``--preprocess qmsum``.

The recipe ran ``nltk.word_tokenize(text.lower())`` under NLTK 3.8 (before 3.9). Its
sentence split matches NLTK's Punkt with no trained parameters (``PunktSentenceTokenizer()``)
on every example of the original experiments' files; its word tokenizer is
``NLTKWordTokenizer``. The classes here are the installed NLTK's, with what later NLTK
releases changed put back to NLTK 3.8.1 (NLTK, Apache-2.0 licence):

- every pattern runs on the standard ``re`` engine (NLTK 3.10 moved to the third-party
  ``regex`` engine, whose whitespace and word classes differ);
- Treebank: 3.8.1's rule for a quote before a one-letter word, no whitespace
  normalisation before the clitic rules, no dash-padding rule;
- Punkt: 3.8.1's non-word characters and realignment class (without the curly quotes
  and guillemets that 3.10 added).
"""

from __future__ import annotations

import re
from typing import ClassVar

from nltk.tokenize.destructive import NLTKWordTokenizer
from nltk.tokenize.punkt import PunktLanguageVars, PunktSentenceTokenizer, PunktToken

NOISE_REPLACEMENTS = [
    ("{ vocalsound } ", ""),
    ("{ disfmarker } ", ""),
    ("a_m_i_", "ami"),
    ("l_c_d_", "lcd"),
    ("p_m_s", "pms"),
    ("t_v_", "tv"),
    ("{ pause } ", ""),
    ("{ nonvocalsound } ", ""),
    ("{ gap } ", ""),
]

# The standard flags; `regex`-engine version bits are dropped.
_RE_FLAGS = re.IGNORECASE | re.MULTILINE | re.DOTALL | re.VERBOSE | re.ASCII


def _stdlib(pattern) -> re.Pattern:
    if isinstance(pattern, re.Pattern):
        return pattern
    return re.compile(pattern.pattern, pattern.flags & _RE_FLAGS)


def _rules(rules):
    return [(_stdlib(pattern), substitution) for pattern, substitution in rules]


# NLTK 3.8.1's STARTING_QUOTES rule for a quote before a one-letter word.
_QUOTE_BEFORE_LETTER_381 = (re.compile(r"(?i)(\')(?!re|ve|ll|m|t|s|d|n)(\w)\b"), r"\1 \2")


class TreebankWordTokenizer381(NLTKWordTokenizer):
    """The installed ``NLTKWordTokenizer`` with NLTK 3.8.1's rules on ``re``."""

    STARTING_QUOTES: ClassVar[list[tuple[re.Pattern, str]]] = [
        _QUOTE_BEFORE_LETTER_381 if pattern.pattern.startswith("(?i)") else (pattern, substitution)
        for pattern, substitution in _rules(NLTKWordTokenizer.STARTING_QUOTES)
    ]
    ENDING_QUOTES: ClassVar[list[tuple[re.Pattern, str]]] = [
        rule for rule in _rules(NLTKWordTokenizer.ENDING_QUOTES) if rule[0].pattern != r"\s+"
    ]
    PUNCTUATION: ClassVar[list[tuple[re.Pattern, str]]] = [
        rule for rule in _rules(NLTKWordTokenizer.PUNCTUATION) if r"\u2012" not in rule[0].pattern
    ]
    PARENS_BRACKETS = _rules([NLTKWordTokenizer.PARENS_BRACKETS])[0]
    DOUBLE_DASHES = _rules([NLTKWordTokenizer.DOUBLE_DASHES])[0]
    CONTRACTIONS2: ClassVar[list[re.Pattern]] = [_stdlib(pattern) for pattern in NLTKWordTokenizer.CONTRACTIONS2]
    CONTRACTIONS3: ClassVar[list[re.Pattern]] = [_stdlib(pattern) for pattern in NLTKWordTokenizer.CONTRACTIONS3]


class PunktLanguageVars381(PunktLanguageVars):
    """Punkt's language variables as of NLTK 3.8.1, on ``re``."""

    re_boundary_realignment = re.compile(r'["\')\]}]+?(?:\s+|(?=--)|$)', re.MULTILINE)

    @property
    def _re_non_word_chars(self):
        return r"(?:[)\";}\]\*:@\'\({\[" + re.escape("".join(set(self.sent_end_chars) - {"."})) + "])"

    def _word_tokenizer_re(self):
        try:
            return self._re_word_tokenizer
        except AttributeError:
            self._re_word_tokenizer = re.compile(
                self._word_tokenize_fmt
                % {
                    "NonWord": self._re_non_word_chars,
                    "MultiChar": self._re_multi_char_punct,
                    "WordStart": self._re_word_start,
                },
                re.UNICODE | re.VERBOSE,
            )
            return self._re_word_tokenizer

    def period_context_re(self):
        try:
            return self._re_period_context
        except AttributeError:
            self._re_period_context = re.compile(
                self._period_context_fmt
                % {"NonWord": self._re_non_word_chars, "SentEndChars": self._re_sent_end_chars},
                re.UNICODE | re.VERBOSE,
            )
            return self._re_period_context


class PunktToken381(PunktToken):
    _RE_ELLIPSIS = _stdlib(PunktToken._RE_ELLIPSIS)
    _RE_NUMERIC = _stdlib(PunktToken._RE_NUMERIC)
    _RE_INITIAL = _stdlib(PunktToken._RE_INITIAL)
    _RE_ALPHA = _stdlib(PunktToken._RE_ALPHA)


TREEBANK = TreebankWordTokenizer381()
# No training text: no abbreviations, collocations, sentence starters or orthographic data.
PUNKT = PunktSentenceTokenizer(lang_vars=PunktLanguageVars381(), token_cls=PunktToken381)


def word_tokenize(text: str) -> list[str]:
    return [token for sentence in PUNKT.tokenize(text) for token in TREEBANK.tokenize(sentence)]


def qmsum_text(text: str) -> str:
    """A query or an answer: ``" ".join(word_tokenize(text.lower()))``."""
    return " ".join(word_tokenize(text.lower()))


def remove_noise(text: str) -> str:
    for marker, replacement in NOISE_REPLACEMENTS:
        text = text.replace(marker, replacement)
    return text


def qmsum_transcript(turns) -> str:
    """A meeting from ``(speaker, content)`` pairs."""
    return remove_noise(" ".join(speaker.lower() + ": " + qmsum_text(content) for speaker, content in turns))
