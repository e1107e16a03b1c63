"""Prompt templates: how a query and a transcript become one model input.

A template is text with one ``{transcript}`` placeholder and optionally a
``{query}`` placeholder; ``{{`` and ``}}`` stand for literal braces. Counting
and generation both split a rendered prompt as ``prefix + transcript + suffix``
so that a transcript shared by several queries is handled once.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from pathlib import Path

from .errors import InputError

# The original experiments' alpaca prompt (Stanford Alpaca, with input).
ALPACA = (
    "Below is an instruction that describes a task, paired with an input that provides "
    "further context. Write a response that appropriately completes the request.\n\n"
    "### Instruction:\n{query}\n\n### Input:\n{transcript}\n\n### Response:"
)

BUILTIN = {
    "alpaca": ALPACA,
    # The original experiments' LED instruction mode: the instruction follows the transcript.
    "led": "{transcript}Instruction:{query}\nSummary: ",
    "plain": "{query}\n{transcript}",
    # SCROLLS qmsum (tau-nlp/scrolls, MIT): the row's 'input', i.e. the query, a
    # blank line, then the transcript.
    "scrolls": "{query}\n\n{transcript}",
    # lm-evaluation-harness's scrolls_qmsum (EleutherAI, MIT; lm_eval 0.4.13,
    # lm_eval/tasks/scrolls/task.py): QMSum splits the SCROLLS 'input' at its first
    # blank line into question and text (_process_doc_prepended_question) and its
    # doc_to_text is f"{text}\n\nQuestion: {question}\nAnswer:".
    "lm-eval-scrolls": "{transcript}\n\nQuestion: {query}\nAnswer:",
    # LongBench's qmsum prompt (THUDM/LongBench, config/dataset2prompt.json, MIT),
    # {context} and {input} renamed; lm-eval's longbench_qmsum renders the same text.
    "longbench": (
        "You are given a meeting transcript and a query containing a question or instruction. "
        "Answer the query in one or more sentences.\n\nTranscript:\n{transcript}\n\n"
        "Now, answer the query based on the above meeting transcript in one or more sentences."
        "\n\nQuery: {query}\nAnswer:"
    ),
    # ZeroSCROLLS' qmsum prompt (tau-nlp/zero_scrolls, MIT). UNVERIFIED: written
    # from the paper's QMSum example (Shaham et al. 2023, the figure of a QMSum
    # prompt); ZeroSCROLLS ships each prompt inside its rows' 'input', and no real
    # row has been checked against this text yet (docs/leaderboards.md).
    "zeroscrolls": (
        "You are given a meeting transcript and a query containing a question or instruction. "
        "Answer the query in one or more sentences.\n\nTranscript:\n{transcript}\n\n"
        "Query:\n{query}\n\nAnswer:\n"
    ),
}

# The templates of leaderboards (SCROLLS, lm-eval, LongBench, ZeroSCROLLS): they
# render the transcript as the peers have it, so they take it unpreprocessed.
PEER_TEMPLATES = ("scrolls", "lm-eval-scrolls", "longbench", "zeroscrolls")


def default_preprocess(template: str | None) -> str:
    """The preprocessing a template's prompts get unless ``--preprocess`` says
    otherwise: none (the raw transcript, as the peers build their prompts) for
    the peers' templates, else qmsum (the original experiments' recipe).
    ``analyze`` and ``generate`` both decide by this."""
    return "none" if template in PEER_TEMPLATES else "qmsum"


PLACEHOLDERS = ("query", "transcript")


@dataclass(frozen=True)
class Template:
    name: str
    text: str

    def split(self, query: str) -> tuple[str, str]:
        """The text before and after the transcript, with the query filled in."""
        before, after = _escape_split(self.text)
        return _fill(before, query), _fill(after, query)

    def render(self, query: str, transcript: str) -> str:
        prefix, suffix = self.split(query)
        return prefix + transcript + suffix


def load_template(name_or_path: str) -> Template:
    """A built-in template by name, or a template file holding the placeholders."""
    if name_or_path in BUILTIN:
        return Template(name_or_path, BUILTIN[name_or_path])
    path = Path(name_or_path)
    if not path.is_file():
        known = ", ".join(BUILTIN)
        raise InputError(f"unknown template {name_or_path!r}: not one of {known}, nor a file")
    from .data.jsonio import read_text  # as every file is read: a byte-order mark dropped, .gz decompressed

    return parse_template(read_text(path), source=str(path))


def parse_template(text: str, source: str = "template") -> Template:
    """Checks placeholders: exactly one ``{transcript}``, only known names."""
    try:
        fields = [field for _, field, _, _ in string.Formatter().parse(text) if field is not None]
    except ValueError as exc:
        raise InputError(f"{source}: malformed template: {exc}") from None
    for field in fields:
        if field not in PLACEHOLDERS:
            raise InputError(f"{source}: unknown placeholder {{{field}}} (use {{query}} and {{transcript}})")
    if fields.count("transcript") != 1:
        raise InputError(f"{source}: a template needs exactly one {{transcript}} placeholder")
    return Template(source, text)


def _escape_split(text: str) -> tuple[str, str]:
    """Splits the template at ``{transcript}``, keeping brace escapes intact."""
    before: list[str] = []
    after: list[str] = []
    seen = False
    for literal, field, _, _ in string.Formatter().parse(text):
        target = after if seen else before
        target.append(literal.replace("{", "{{").replace("}", "}}"))
        if field == "transcript":
            seen = True
        elif field is not None:
            target.append("{" + field + "}")
    return "".join(before), "".join(after)


def _fill(part: str, query: str) -> str:
    return part.format(query=query)


def template_from(spec: str) -> Template:
    """A built-in name, a template file, or template text with placeholders."""
    if spec in BUILTIN or Path(spec).is_file() or "{" not in spec:
        return load_template(spec)
    return parse_template(spec, source="--template")
