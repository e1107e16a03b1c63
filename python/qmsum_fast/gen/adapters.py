"""LLaMA-Adapter weights on a transformers LLaMA, through PEFT's adaption prompt.

Two forms load:
- a PEFT folder (``adapter_config.json`` + weights), as PEFT saves it;
- the original v1 release file (``llama_adapter_len10_layer30_release.pth``,
  OpenGVLab/LLaMA-Adapter): ``adapter_query.weight`` of shape
  ``[adapter_len * adapter_layer, dim]`` and one scalar
  ``layers.<i>.attention.gate`` per adapted layer, the top ``adapter_layer``
  layers. The v1 code adds ``gate * softmax(q k_a^T / sqrt(d)) v_a`` to each
  adapted layer's attention output, with the adapter keys and values made by
  the layer's own k/v projections and no rotary embedding. PEFT's adaption
  prompt computes the same sum on the same (top) layers, so the mapping is
  exact: prompt rows ``[l * len, (l + 1) * len)`` go to the l-th adapted layer
  and each gate to its layer. Q and K rows of HF-converted LLaMA weights are
  permuted alike within each head, which leaves every q.k product unchanged.
  Adapter files of later versions (v2: per-head gates through tanh, bias and
  norm tuning) do not fit PEFT's single scalar gate and are refused.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import InputError
from .models import describe_error

GATE_KEY = re.compile(r"^layers\.(\d+)\.attention\.gate$")


def load_adapter(model, path: str):
    folder = Path(path)
    if folder.is_dir():
        if not (folder / "adapter_config.json").is_file():
            raise InputError(f"--adapter {path}: folder holds no adapter_config.json (not a PEFT adapter)")
        return _load_peft_folder(model, folder, path)
    return attach_original(model, _read_state(folder), source=f"--adapter {path}")


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


def attach_original(model, state: dict, source: str = "--adapter"):
    """A PEFT adaption-prompt model carrying the v1 release weights ``state``."""
    from peft import AdaptionPromptConfig, get_peft_model

    query, gates = _original_parts(model, state, source)
    adapter_layers = len(gates)
    adapter_len = query.shape[0] // adapter_layers
    config = AdaptionPromptConfig(adapter_len=adapter_len, adapter_layers=adapter_layers, task_type="CAUSAL_LM")
    peft_model = get_peft_model(model, config)
    adapted = [
        m for _, m in peft_model.named_modules() if hasattr(m, "adaption_prompt") and hasattr(m, "adaption_gate")
    ]
    if len(adapted) != adapter_layers:
        raise InputError(f"{source}: PEFT adapted {len(adapted)} layers, the file has {adapter_layers}")
    prompts = query.reshape(adapter_layers, adapter_len, query.shape[1])
    for module, prompt, (_, gate) in zip(adapted, prompts, sorted(gates.items())):
        module.adaption_prompt.data.copy_(prompt.unsqueeze(0).to(module.adaption_prompt.dtype))
        module.adaption_gate.data.copy_(gate.reshape(1).to(module.adaption_gate.dtype))
    return peft_model


def _original_parts(model, state: dict, source: str):
    if "adapter_query.weight" not in state:
        raise InputError(f"{source}: no 'adapter_query.weight' (not a LLaMA-Adapter v1 file)")
    query = state["adapter_query.weight"]
    gates = {int(m.group(1)): value for key, value in state.items() if (m := GATE_KEY.match(key))}
    extra = sorted(k for k in state if k != "adapter_query.weight" and not GATE_KEY.match(k))
    if extra:
        raise InputError(f"{source}: unexpected weights {extra[:3]} (only LLaMA-Adapter v1 files map onto PEFT)")
    if not gates:
        raise InputError(f"{source}: no 'layers.<i>.attention.gate' weights")
    n_layers = model.config.num_hidden_layers
    if sorted(gates) != list(range(n_layers - len(gates), n_layers)):
        raise InputError(f"{source}: gates on layers {sorted(gates)[:3]}..., not the top {len(gates)} of {n_layers}")
    if any(g.numel() != 1 for g in gates.values()):
        raise InputError(f"{source}: per-head gates (LLaMA-Adapter v2) do not fit PEFT's one gate per layer")
    hidden = model.config.hidden_size
    if query.ndim != 2 or query.shape[1] != hidden or query.shape[0] % len(gates):
        raise InputError(
            f"{source}: adapter_query.weight has shape {tuple(query.shape)}, "
            f"expected [adapter_len * {len(gates)}, {hidden}]"
        )
    return query, gates
