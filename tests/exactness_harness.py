"""Runs prompts through the in-process engine every way it can: each alone, in padded
batches (``--reuse off``), and from a meeting's shared prefix (``--reuse auto``), and
returns each example's generated token ids, to compare the ways with ``==``."""

from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace

TRANSCRIPT = (
    "Project Manager: Good morning everyone, let us start with the budget for the new remote control. "
    "Industrial Designer: The case will be made of rubber, which is cheaper than titanium and feels soft. "
    "Marketing: Our survey says young people want a fancy look and a remote that is easy to find. "
    "User Interface: We could add a beeper, so the remote answers when you clap your hands twice. "
    "Project Manager: Then the price must stay under twelve euros fifty, including the batteries and the chip. "
    "Industrial Designer: A kinetic battery would avoid changing batteries, but it costs more than solar cells. "
)
QUERIES = (
    "What did the group decide about the case?",
    "Summarize the discussion of the price.",
    "What did Marketing say?",
    "Why was a beeper proposed, and what did the others think of it in the end?",
)


def loaded_model(model, tokenizer):
    """The model as gen/local/models.load_model returns it (padding side as it sets it)."""
    from qmsum_fast.gen.local.models import LoadedModel

    is_seq2seq = bool(getattr(model.config, "is_encoder_decoder", False))
    tokenizer.padding_side = "right" if is_seq2seq else "left"
    attention = getattr(model.config, "_attn_implementation", None) or "eager"
    return LoadedModel(model, tokenizer, is_seq2seq, model.device, model.config.model_type, attention)


def prompts_of(tokenizer, transcript_tokens: int, queries: Sequence[str] = QUERIES):
    """One meeting's prompts: the transcript cut to its first ``transcript_tokens`` tokens, then a query."""
    from qmsum_fast.gen.prompting import Prompt

    cut = tokenizer.decode(tokenizer(TRANSCRIPT * 4, add_special_tokens=False)["input_ids"][:transcript_tokens])
    prompts, sources = [], []
    for number, query in enumerate(queries):
        text = f"{cut}\nQuery: {query}\nAnswer:"
        n_tokens = len(tokenizer(text, add_special_tokens=True)["input_ids"])
        prompts.append(Prompt(text, n_tokens, False))
        example = SimpleNamespace(id=f"q{number}", split="test", meeting="m1")
        sources.append(SimpleNamespace(example=example))
    return sources, prompts


def token_runs(loaded, sources, prompts, reuse: str, batch_size: int, order: Sequence[int] | None = None, **generation):
    """Per example id, ``(generated token ids, finished record)`` of one run over the
    prompts (in ``order``, data order by default), greedy with 6 new tokens."""
    from qmsum_fast.gen.config import Request, Reuse, build_config
    from qmsum_fast.gen.local.batching import Batcher
    from qmsum_fast.gen.local.generate_call import GenerateCall, Output, _generated_length
    from qmsum_fast.gen.local.reuse import prefix_reuse

    order = list(range(len(prompts))) if order is None else list(order)
    config = build_config(
        Request(
            model="/nonexistent/tiny-model",
            template="{transcript}",
            max_new_tokens=6,
            reuse=Reuse(reuse),
            **generation,
        )
    )
    engine = GenerateCall(loaded, config)

    def token_ids(row):
        ids = row.tolist()
        stop = _generated_length(ids, loaded.tokenizer, loaded.is_seq2seq)
        return Output(" ".join(str(i) for i in ids[:stop]), stop)

    engine._decode = token_ids  # type: ignore[method-assign]
    finished: list = []
    runner = prefix_reuse(engine, Batcher(engine.generate, batch_size), config)
    runner.run([sources[i] for i in order], [prompts[i] for i in order], finished.append)
    return {f.source.example.id: (f.prediction, f) for f in finished}


def alone(loaded, sources, prompts, order: Sequence[int] | None = None) -> dict[str, str]:
    """The reference: each prompt in its own run (``--reuse off``, batch size 1), in ``order``."""
    order = list(range(len(prompts))) if order is None else list(order)
    found = {}
    for index in order:
        found.update(token_runs(loaded, [sources[index]], [prompts[index]], "off", 1))
    return {ident: ids for ident, (ids, _) in found.items()}


def ids_of(run: dict) -> dict[str, str]:
    return {ident: ids for ident, (ids, _) in run.items()}
