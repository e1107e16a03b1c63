"""LLaMA-Adapter weights on a transformers LLaMA, through PEFT's adaption prompt.

Two forms load:
- a PEFT folder (``adapter_config.json`` + weights), as PEFT saves it;
- an original v1 file (``llama_adapter_len10_layer30_release.pth``,
  OpenGVLab/LLaMA-Adapter), read as the authors' ``example.py`` reads it into
  ``llama/model.py``: ``adapter_query.weight`` has ``adapter_len *
  adapter_layer`` rows, so ``adapter_layer = rows / adapter_len``
  (``--adapter-len``, 10 in the release file's name), and the top
  ``adapter_layer`` layers are adapted, the l-th of them by rows
  ``[l * len, (l + 1) * len)``. Each adapted layer adds
  ``gate * softmax(q k_a^T / sqrt(d)) v_a`` to its attention output before
  the output projection, with the adapter keys and values made by the layer's
  own k/v projections, no rotary embedding, and the gate as stored: the
  release inference code applies no tanh (the training code,
  ``alpaca_finetuning_v1``, does: ``gate.tanh()``). The gate of layer i is
  ``layers.<i>.attention.gate``: one value per layer (the first release) or
  one per head, shape ``(1, n_heads, 1, 1)`` (since the v1 fine-tuning code).
  The extraction script saves a gate for every layer; the authors' forward
  never reads those below the adapted layers, which training leaves at their
  zero init, so they are ignored here too, and refused only when non-zero:
  then ``--adapter-len`` does not match how the file was trained.

PEFT's adaption prompt computes the same sum on the same (top) layers with
the gate untouched (no tanh); its one gate per layer becomes a
``(1, n_heads, 1, 1)`` tensor for per-head files, which its
``gate * softmax(...)`` broadcasts over the heads. PEFT applies the output
projection to the adapter term separately, which equals projecting the sum
because LLaMA's o_proj has no bias (a model whose o_proj has one is refused).
Q and K rows of HF-converted LLaMA weights are permuted alike within each
head, which leaves every q.k product unchanged. LLaMA-Adapter v2 files (bias,
scale and norm tuning, more keys) are refused.
"""

from __future__ import annotations

import re
from pathlib import Path

from ...errors import InputError
from ..presets import DEFAULT_ADAPTER_LEN
from .load_errors import describe_error

GATE_KEY = re.compile(r"^layers\.(\d+)\.attention\.gate$")


def load_adapter(model, path: str, adapter_len: int | None = None):
    """``model`` with the adapter at ``path``; ``adapter_len`` (None: the default)
    is a v1 file's prompt rows per layer, unused by PEFT folders (they record theirs)."""
    folder = Path(path)
    if folder.is_dir():
        if not (folder / "adapter_config.json").is_file():
            raise InputError(f"--adapter {path}: folder holds no adapter_config.json (not a PEFT adapter)")
        return _load_peft_folder(model, folder, path)
    length = DEFAULT_ADAPTER_LEN if adapter_len is None else adapter_len
    return attach_original(model, _read_state(folder), length, source=f"--adapter {path}")


def _load_peft_folder(model, folder: Path, path: str):
    from peft import PeftModel

    try:
        return PeftModel.from_pretrained(model, str(folder))
    except Exception as exc:  # a corrupt or mismatched adapter is the user's to fix
        raise InputError(f"--adapter {path}: cannot load it: {describe_error(exc)}") from None


def _read_state(path: Path) -> dict:
    import torch

    if not path.is_file():
        raise InputError(f"--adapter {path}: no such file or folder")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch.load and safetensors raise many types for a corrupt file
        raise InputError(f"--adapter {path}: cannot read it: {describe_error(exc)}") from None
    if not isinstance(state, dict) or not all(isinstance(value, torch.Tensor) for value in state.values()):
        raise InputError(f"--adapter {path}: holds no flat name-to-tensor dict (not an adapter weights file)")
    return state


def attach_original(model, state: dict, adapter_len: int = DEFAULT_ADAPTER_LEN, source: str = "--adapter"):
    """A PEFT adaption-prompt model carrying the v1 weights ``state``."""
    import torch
    from peft import AdaptionPromptConfig, get_peft_model

    query, gates = _original_parts(model, state, adapter_len, source)
    adapter_layers = len(gates)
    config = AdaptionPromptConfig(adapter_len=adapter_len, adapter_layers=adapter_layers, task_type="CAUSAL_LM")
    peft_model = get_peft_model(model, config)
    adapted = [
        m for _, m in peft_model.named_modules() if hasattr(m, "adaption_prompt") and hasattr(m, "adaption_gate")
    ]
    if len(adapted) != adapter_layers:
        raise InputError(f"{source}: PEFT adapted {len(adapted)} layers, the file has {adapter_layers}")
    prompts = query.reshape(adapter_layers, adapter_len, query.shape[1])
    for module, prompt, gate in zip(adapted, prompts, gates):
        module.adaption_prompt.data.copy_(prompt.unsqueeze(0).to(module.adaption_prompt.dtype))
        old = module.adaption_gate
        # One value: PEFT's own (1,) gate. Per head: (1, heads, 1, 1), broadcast over PEFT's
        # (batch, heads, queries, adapter_len) softmax exactly as the v1 code broadcasts it.
        shape = (1,) if gate.numel() == 1 else (1, gate.numel(), 1, 1)
        module.adaption_gate = torch.nn.Parameter(gate.reshape(shape).to(device=old.device, dtype=old.dtype))
    return peft_model


def _original_parts(model, state: dict, adapter_len: int, source: str):
    """The prompt rows and the adapted layers' gates (lowest adapted layer first), checked."""
    if "adapter_query.weight" not in state:
        raise InputError(f"{source}: no 'adapter_query.weight' (not a LLaMA-Adapter v1 file)")
    query = state["adapter_query.weight"]
    gates = {int(m.group(1)): value for key, value in state.items() if (m := GATE_KEY.match(key))}
    extra = sorted(k for k in state if k != "adapter_query.weight" and not GATE_KEY.match(k))
    if extra:
        raise InputError(f"{source}: unexpected weights {extra[:3]} (only LLaMA-Adapter v1 files map onto PEFT)")
    if not gates:
        raise InputError(f"{source}: no 'layers.<i>.attention.gate' weights")
    config = model.config
    n_layers, hidden, heads = config.num_hidden_layers, config.hidden_size, config.num_attention_heads
    if query.ndim != 2 or query.shape[1] != hidden:
        raise InputError(f"{source}: adapter_query.weight has shape {tuple(query.shape)}, expected [rows, {hidden}]")
    rows = query.shape[0]
    if rows == 0 or rows % adapter_len:
        raise InputError(
            f"{source}: adapter_query.weight has {rows} rows, not a multiple of --adapter-len {adapter_len}"
        )
    adapter_layers = rows // adapter_len
    if adapter_layers > n_layers:
        raise InputError(
            f"{source}: {rows} rows / --adapter-len {adapter_len} = {adapter_layers} adapted layers, "
            f"the model has {n_layers}"
        )
    _check_gate_layers(gates, n_layers, adapter_layers, adapter_len, source)
    top = [gates[index] for index in range(n_layers - adapter_layers, n_layers)]
    for index, gate in zip(range(n_layers - adapter_layers, n_layers), top):
        if gate.numel() not in (1, heads):
            raise InputError(
                f"{source}: layers.{index}.attention.gate has {gate.numel()} values, "
                f"expected 1 or {heads} (one per head)"
            )
    _refuse_o_proj_bias(model, source)
    return query, top


def _check_gate_layers(gates: dict, n_layers: int, adapter_layers: int, adapter_len: int, source: str) -> None:
    first = n_layers - adapter_layers
    beyond = sorted(i for i in gates if i >= n_layers)
    if beyond:
        raise InputError(f"{source}: gates for layers {beyond[:3]}, the model has {n_layers} layers")
    missing = [i for i in range(first, n_layers) if i not in gates]
    if missing:
        raise InputError(
            f"{source}: no gate for adapted layers {missing[:3]} (the top {adapter_layers} of {n_layers} "
            f"with --adapter-len {adapter_len})"
        )
    live = [i for i in sorted(gates) if i < first and bool(gates[i].ne(0).any())]
    if live:
        # The authors' forward never reads them and their training leaves them at zero: a
        # non-zero one means the file was trained with another adapter length.
        raise InputError(
            f"{source}: gates of layers {live[:3]} below the adapted top {adapter_layers} are non-zero: "
            f"is --adapter-len {adapter_len} the length it was trained with?"
        )


def _refuse_o_proj_bias(model, source: str) -> None:
    """PEFT projects the adapter term on its own; with an o_proj bias that would add the bias twice."""
    if any(getattr(getattr(m, "o_proj", None), "bias", None) is not None for m in model.modules()):
        raise InputError(f"{source}: the model's attention output projection has a bias (not LLaMA's)")
