"""What makes an example's output depend on the examples run before it or beside it.

The reference is each prompt alone, from the model's initial state. Padded
batches (``--reuse off``) and a meeting's shared prefix (``--reuse auto``)
compute the same thing only where the model's positions and masks are the same
however prompts are grouped or split. Found by reading transformers and checked
with ``==`` over many architectures (tests/test_exactness.py):

- **Length-dependent RoPE** (``rope_type`` ``dynamic`` or ``longrope``, and
  remote code's dynamic rotary classes): the frequencies of a forward call
  depend on the longest position in it (the batch's longest row, or the whole
  prompt rather than the prefix alone), and transformers' dynamic update keeps
  them between calls. Below the switch length nothing changes; prompts whose
  positions can pass it (prompt + generated tokens) run alone, without reuse,
  and the saved state is restored before every call (:class:`PositionState`).
- **Local attention windows counted by index** (GPT-Neo's local layers): pads
  between the prefix and a tail push real tokens out of the window, so reuse
  batches only tails of equal length. (Left pads before a whole prompt keep the
  distances between its tokens, so plain batches stay exact.)
- **Caches that are not per-token** (sliding-window layers, recurrent or
  linear-attention state: Mistral's and Gemma's windows, Mamba, Jamba) and models
  whose forward takes no cache at all (RWKV's recurrent state): no reuse,
  decided from the model before any prefix is computed.
- **Batched recurrence** (RWKV): its forward ignores the attention mask, and its
  batched generation differs from one prompt at a time even without pads, so
  its prompts run one at a time.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

# The rope types whose frequencies transformers recomputes from the positions of each call.
LENGTH_DEPENDENT_ROPE = ("dynamic", "longrope")
# Architectures whose batched generation differs from one prompt at a time. RWKV: its forward
# ignores the attention mask (the pads run through the recurrence), and even prompts of equal
# length, batched, generate other tokens than alone after the first one (transformers 5.25).
NOT_BATCHABLE = {"rwkv": "RWKV's batched recurrence differs from one prompt at a time (and reads the pads)"}


@dataclass(frozen=True)
class LengthSwitch:
    """Outputs are exact while every forward call's positions stay under ``positions``."""

    positions: int
    scheme: str  # what switches, for the stderr line

    def crossed_by(self, prompt_tokens: int, new_tokens: int | None) -> bool:
        """Whether a prompt's forward calls can reach past the switch: the last position
        fed is the prompt's plus all generated tokens but the last (unknown: yes)."""
        if new_tokens is None:
            return True
        return prompt_tokens + max(new_tokens - 1, 0) > self.positions


def length_switch(model: Any) -> LengthSwitch | None:
    """The model's length-dependent position scheme, if any (the smallest switch if several)."""
    found: list[LengthSwitch] = []
    for module in model.modules():
        found += _rope_switches(model.config, module)
    return min(found, key=lambda switch: switch.positions) if found else None


def _rope_switches(config: Any, module: Any) -> list[LengthSwitch]:
    rope_type = getattr(module, "rope_type", None)
    name = type(module).__name__
    if isinstance(rope_type, dict):  # per layer type (sliding / full attention)
        pairs = list(rope_type.items())
    elif isinstance(rope_type, str):
        pairs = [(None, rope_type)]
    elif "dynamic" in name.lower() and "rotary" in name.lower():  # remote code's own dynamic NTK classes
        limit = getattr(module, "max_position_embeddings", None) or getattr(config, "max_position_embeddings", None)
        return [LengthSwitch(int(limit), f"{name} (dynamic rotary scaling)")] if limit else []
    else:
        return []
    switches = []
    for layer_type, kind in pairs:
        if not any(length_kind in kind for length_kind in LENGTH_DEPENDENT_ROPE):
            continue
        parameters = getattr(config, "rope_parameters", None) or {}
        if layer_type is not None:
            parameters = parameters.get(layer_type, {})
        if kind == "longrope":
            limit = parameters.get("original_max_position_embeddings") or config.max_position_embeddings
        else:
            limit = getattr(module, "original_max_seq_len", None) or config.max_position_embeddings
        where = f" on {layer_type} layers" if layer_type else ""
        switches.append(LengthSwitch(int(limit), f"{name}'s {kind!r} RoPE{where}"))
    return switches


class PositionState:
    """Restores the rotary modules' frequencies to those they were built with, before every
    generation, so that no call sees what a previous, longer call left (transformers' dynamic
    update keeps its frequencies and resets them only on a call shorter than the original
    length). transformers' modules keep their built frequencies (``original_inv_freq``);
    remote code's dynamic classes are restored to what they held when this was made."""

    def __init__(self, model: Any) -> None:
        self.modules = [module for module in model.modules() if _rope_switches(model.config, module)]
        self.saved = {
            id(module): {name: _copy(value) for name, value in _state_fields(module).items()}
            for module in self.modules
            if not hasattr(module, "original_inv_freq")
        }

    def restore(self) -> None:
        for module in self.modules:
            if hasattr(module, "original_inv_freq"):
                _restore_built_frequencies(module)
            else:
                for name, value in self.saved[id(module)].items():
                    _set(module, name, _copy(value))


def _restore_built_frequencies(module: Any) -> None:
    """inv_freq from original_inv_freq, max_seq_len_cached from original_max_seq_len, per
    layer type where the module has one set of each per layer type."""
    layer_types = list(module.rope_type) if isinstance(module.rope_type, dict) else []
    for prefix in [""] + [f"{layer_type}_" for layer_type in layer_types]:
        original = getattr(module, f"{prefix}original_inv_freq", None)
        if original is None:
            continue
        current = getattr(module, f"{prefix}inv_freq")
        _set(module, f"{prefix}inv_freq", original.to(current.device).clone())
        if hasattr(module, f"{prefix}max_seq_len_cached") and hasattr(module, "original_max_seq_len"):
            setattr(module, f"{prefix}max_seq_len_cached", module.original_max_seq_len)


def _state_fields(module: Any) -> dict[str, Any]:
    """What a dynamic rotary module may change in a forward call: its frequencies, cached
    length and cos/sin tables."""
    names = [name for name, _ in module.named_buffers(recurse=False)]
    names += [name for name in vars(module) if name.endswith(("max_seq_len_cached", "attention_scaling"))]
    return {name: getattr(module, name) for name in names}


def _set(module: Any, name: str, value: Any) -> None:
    if name in module._buffers:
        module.register_buffer(name, value, persistent=False)
    else:
        setattr(module, name, value)


def _copy(value: Any) -> Any:
    return value.clone() if hasattr(value, "clone") else value


def cache_reason(model: Any) -> str | None:
    """Why the model cannot continue exactly from a per-token KV cache; None if it can.
    Read from its forward's signature and the cache layers its config asks for, so it is
    known before any prefix is computed."""
    from transformers import DynamicCache

    parameters = inspect.signature(model.forward).parameters
    if "cache" not in parameters and "past_key_values" not in parameters:
        return f"{type(model).__name__} keeps no per-token cache (its forward takes none; a recurrent state)"
    try:
        layers = DynamicCache(config=model.config).layers
    except Exception as exc:  # a config transformers cannot lay out a cache for
        return f"{type(model).__name__}'s cache cannot be laid out ({type(exc).__name__})"
    other = sorted({type(layer).__name__ for layer in layers} - {"DynamicLayer"})
    if other:
        return f"its cache has {', '.join(other)} layers (not a plain per-token cache)"
    return None


def index_window_reason(config: Any) -> str | None:
    """Why pads between a shared prefix and a tail would change a row: a local attention
    window counted by index (the pads count as tokens in it)."""
    if config is None:
        return None
    attention_layers = getattr(config, "attention_layers", None) or ()
    if "local" in attention_layers and getattr(config, "window_size", None):
        name = type(config).__name__.removesuffix("Config")
        return f"{name}'s local attention window ({config.window_size} tokens) counts pads"
    layer_types = getattr(config, "layer_types", None) or ()
    window = getattr(config, "sliding_window", None)
    if window and (not layer_types or any("sliding" in str(kind) for kind in layer_types)):
        return f"a sliding attention window ({window} tokens) counts pads"
    return None


def not_batchable_reason(model_type: str) -> str | None:
    return NOT_BATCHABLE.get(model_type)


@dataclass(frozen=True)
class BatchLimits:
    """Which prompts may share a padded batch: all, except those that cross a length
    switch (each runs alone), or none where batching itself is not exact."""

    switch: LengthSwitch | None = None
    new_tokens: int | None = None
    one_at_a_time: str | None = None  # why every prompt runs alone, if so

    def alone(self, length: int) -> bool:
        return self.one_at_a_time is not None or (
            self.switch is not None and self.switch.crossed_by(length, self.new_tokens)
        )

    def batches(self, order: Sequence[int], lengths: Sequence[int], size: int) -> list[int]:
        """The next batch: ``order``'s first prompt and those after it that may join it
        (``order`` is longest first, so prompts that run alone come first)."""
        batch = [order[0]]
        for index in order[1:size]:
            if self.alone(lengths[batch[0]]) or self.alone(lengths[index]):
                break
            batch.append(index)
        return batch

    def notes(self) -> list[str]:
        """What these limits change, for stderr."""
        if self.one_at_a_time:
            return [f"{self.one_at_a_time}: prompts run one at a time"]
        if self.switch is not None:
            return [
                f"{self.switch.scheme} changes its frequencies past {self.switch.positions} positions: "
                "prompts that can reach past it (with the tokens they generate) run one at a time"
            ]
        return []


def batch_limits(loaded: Any, generation: dict) -> BatchLimits:
    new_tokens = generation.get("max_new_tokens")
    return BatchLimits(
        switch=None if loaded.is_seq2seq else length_switch(loaded.model),
        new_tokens=int(new_tokens) if new_tokens is not None else None,
        one_at_a_time=not_batchable_reason(loaded.model_type),
    )
