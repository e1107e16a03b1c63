"""A tiny private QMSum loader and "none" preprocessing for the generation tests.

``qmsum_fast.data.load_examples`` and ``qmsum_fast.preprocess.prepare`` are
written on other branches; until they are merged, ``install()`` puts these
stand-ins in their place (and does nothing once the real ones exist).
"""

from __future__ import annotations

import json
import sys
import types
from dataclasses import dataclass
from pathlib import Path

SPLITS = ("train", "val", "test")


def _domain(meeting: str) -> str:
    if meeting[:2] in ("ES", "IS", "TS"):
        return "product"
    return "academic" if meeting.startswith("B") else "committee"


def load_examples(path=None, split="all", domain=None):
    from qmsum_fast.data import Example, Turn

    root = Path(path)
    examples = []
    for split_name in SPLITS if split == "all" else (split,):
        for file in sorted((root / split_name).glob("*.json")):
            meeting = json.loads(file.read_text(encoding="utf-8"))
            turns = tuple(Turn(t["speaker"], t["content"]) for t in meeting["meeting_transcripts"])
            name = file.stem
            if domain and _domain(name) != domain:
                continue
            for kind, key in (("g", "general_query_list"), ("s", "specific_query_list")):
                for index, item in enumerate(meeting[key]):
                    spans = tuple((int(s), int(e)) for s, e in item.get("relevant_text_span", []))
                    examples.append(
                        Example(
                            id=f"{split_name}/{name}/{kind}{index}",
                            meeting=name,
                            domain=_domain(name),
                            split=split_name,
                            query_type="general" if kind == "g" else "specific",
                            query=item["query"],
                            references=(item["answer"],),
                            turns=turns,
                            spans=spans,
                        )
                    )
    return examples


@dataclass(frozen=True)
class Prepared:
    query: str
    transcript: str
    references: tuple


def prepare(examples, mode="none"):
    if mode != "none":
        raise ValueError("the test stand-in only knows mode 'none'")
    return [
        Prepared(
            e.query,
            e.raw_transcript if e.raw_transcript is not None else "\n".join(f"{t.speaker}: {t.content}" for t in e.turns),
            tuple(e.references),
        )
        for e in examples
    ]


def install() -> None:
    import qmsum_fast.data as data

    if not hasattr(data, "load_examples"):
        data.load_examples = load_examples
    try:
        import qmsum_fast.preprocess  # noqa: F401
    except ImportError:
        module = types.ModuleType("qmsum_fast.preprocess")
        module.prepare = prepare
        module.Prepared = Prepared
        sys.modules["qmsum_fast.preprocess"] = module
