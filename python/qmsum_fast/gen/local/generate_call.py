"""One batched ``generate`` call: prompt texts in, generated texts out.

Causal models get left-padded batches and return only the new tokens (so the
prediction is the text after the prompt, as the original experiments' split
on the prompt's last line gave). LED gets global attention on its first token
and inputs padded to a multiple of its attention window, as LED requires.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..config import LocalModel, RunConfig
from .exactness import PositionState
from .models import LoadedModel


@dataclass(frozen=True)
class Output:
    text: str
    new_tokens: int


class GenerateCall:
    """The loaded model's ``generate`` with the run's settings, over a batch of prompt texts."""

    def __init__(self, loaded: LoadedModel, config: RunConfig) -> None:
        local = config.engine
        assert isinstance(local, LocalModel), "an in-process model run's configuration"
        self.loaded = loaded
        self.tokenizer = loaded.tokenizer
        self.answer_marker = config.answer_marker
        self.generation = dict(config.generation)
        # Arguments only a remote-code architecture understands (LongLLaMA's
        # last_context_length); any other model would reject them.
        self.generation.update(local.remote_generate_kwargs.get(loaded.model_type, {}))
        self.generation.setdefault("pad_token_id", self.tokenizer.pad_token_id)
        self.is_led = loaded.model_type == "led"
        self.position_state = PositionState(loaded.model)

    def fresh_state(self) -> None:
        """The model's position state as loaded (length-dependent RoPE keeps what a previous call
        left), so an example's output does not depend on what ran before it."""
        self.position_state.restore()

    def generate(self, texts: Sequence[str]) -> list[Output]:
        import torch

        inputs = self._encode(list(texts))
        self.fresh_state()
        with torch.inference_mode():
            sequences = self.loaded.model.generate(**inputs, **self.generation)
        if not self.loaded.is_seq2seq:
            sequences = sequences[:, inputs["input_ids"].shape[1] :]
        return [self._decode(row) for row in sequences]

    def _encode(self, texts: list[str]) -> dict:
        import torch

        pad_multiple = None
        if self.is_led:
            window = self.loaded.model.config.attention_window
            pad_multiple = max(window) if isinstance(window, (list, tuple)) else window
        encoded = self.tokenizer(
            texts,
            return_tensors="pt",
            padding=True,
            pad_to_multiple_of=pad_multiple,
            add_special_tokens=True,
        )
        inputs = {key: encoded[key].to(self.loaded.device) for key in ("input_ids", "attention_mask")}
        if self.is_led:
            global_mask = torch.zeros_like(inputs["input_ids"])
            global_mask[:, 0] = 1
            inputs["global_attention_mask"] = global_mask
        return inputs

    def _decode(self, row) -> Output:
        ids = row.tolist()
        stop = _generated_length(ids, self.tokenizer, self.loaded.is_seq2seq)
        text = self.tokenizer.decode(ids[:stop], skip_special_tokens=True)
        if self.answer_marker and self.answer_marker in text:
            text = text.split(self.answer_marker)[0]
        start = 1 if self.loaded.is_seq2seq else 0
        return Output(text.strip(), new_tokens=stop - start)


def _generated_length(ids: list[int], tokenizer, is_seq2seq: bool) -> int:
    """Generated tokens up to and including the first end-of-sequence token."""
    eos = tokenizer.eos_token_id
    start = 1 if is_seq2seq else 0  # the decoder start token is not generated
    for index in range(start, len(ids)):
        if ids[index] == eos:
            return index + 1
    pad = tokenizer.pad_token_id
    end = len(ids)
    while end > start and ids[end - 1] == pad and pad != eos:
        end -= 1
    return end
