"""A LLaMA written the transformers-4 way, as remote code: the stand-in for LongLLaMA's in CI.

Our own code (the project holds no copy of LongLLaMA's), with the properties of
LongLLaMA's ``modeling_longllama.py`` that transformers 5 breaks
(qmsum_fast/gen/local/remote_compat.py):

- the attention asserts ``config.rope_scaling is None``;
- the rotary ``inv_freq``, ``cos_cached`` and ``sin_cached`` are non-persistent
  buffers computed in ``__init__`` (and ``_init_weights`` leaves them alone);
- the cache is a tuple of per-layer (keys, values), and
  ``prepare_inputs_for_generation`` reads it only as ``past_key_values`` and
  makes position ids from the attention mask unless it is given some, which
  must then match the input (LongLLaMA raises on a mismatch; so does this);
- no ``_supports_sdpa``: transformers loads it with eager attention.

With the weights of a transformers LLaMA it computes what that LLaMA's eager
attention computes, in the same order, so greedy tokens can be compared with
``==`` (the head size is kept a power of 4, where dividing by its square root
and multiplying by the inverse agree exactly).
"""

import math

import torch
from torch import nn
from transformers import PreTrainedModel
from transformers.modeling_outputs import CausalLMOutputWithPast

from .configuration_standin import StandinConfig


class StandinRMSNorm(nn.Module):
    def __init__(self, size, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(size))
        self.eps = eps

    def forward(self, hidden):
        dtype = hidden.dtype
        hidden = hidden.to(torch.float32)
        variance = hidden.pow(2).mean(-1, keepdim=True)
        hidden = hidden * torch.rsqrt(variance + self.eps)
        return self.weight * hidden.to(dtype)


class StandinRotary(nn.Module):
    """cos/sin tables for every position up to the maximum, computed once, here."""

    def __init__(self, dim, max_positions, base):
        super().__init__()
        inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2).float() / dim))
        self.register_buffer("inv_freq", inv_freq, persistent=False)
        positions = torch.arange(max_positions, dtype=torch.float32)
        angles = torch.einsum("i,j->ij", positions, inv_freq)
        table = torch.cat((angles, angles), dim=-1)
        self.register_buffer("cos_cached", table.cos().to(torch.get_default_dtype()), persistent=False)
        self.register_buffer("sin_cached", table.sin().to(torch.get_default_dtype()), persistent=False)

    def forward(self, x, position_ids):
        cos = self.cos_cached[position_ids].unsqueeze(1).to(x.dtype)
        sin = self.sin_cached[position_ids].unsqueeze(1).to(x.dtype)
        half = x.shape[-1] // 2
        rotated = torch.cat((-x[..., half:], x[..., :half]), dim=-1)
        return (x * cos) + (rotated * sin)


class StandinAttention(nn.Module):
    def __init__(self, config):
        super().__init__()
        assert config.rope_scaling is None
        self.heads = config.num_attention_heads
        self.head_dim = config.hidden_size // config.num_attention_heads
        size = config.hidden_size
        self.q_proj = nn.Linear(size, size, bias=False)
        self.k_proj = nn.Linear(size, size, bias=False)
        self.v_proj = nn.Linear(size, size, bias=False)
        self.o_proj = nn.Linear(size, size, bias=False)
        self.rotary = StandinRotary(self.head_dim, config.max_position_embeddings, config.rope_theta)

    def forward(self, hidden, mask, position_ids, past=None):
        batch, length, size = hidden.shape
        if position_ids.shape != (batch, length):
            raise ValueError(f"position_ids of shape {tuple(position_ids.shape)} do not match the input")

        def split(x):
            return x.view(batch, length, self.heads, self.head_dim).transpose(1, 2)

        query = self.rotary(split(self.q_proj(hidden)), position_ids)
        key = self.rotary(split(self.k_proj(hidden)), position_ids)
        value = split(self.v_proj(hidden))
        if past is not None:
            key = torch.cat([past[0], key], dim=2)
            value = torch.cat([past[1], value], dim=2)
        weights = torch.matmul(query, key.transpose(2, 3)) / math.sqrt(self.head_dim)
        weights = weights + mask
        weights = nn.functional.softmax(weights, dim=-1, dtype=torch.float32).to(query.dtype)
        out = torch.matmul(weights, value).transpose(1, 2).reshape(batch, length, size)
        return self.o_proj(out), (key, value)


class StandinMLP(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.gate_proj = nn.Linear(config.hidden_size, config.intermediate_size, bias=False)
        self.up_proj = nn.Linear(config.hidden_size, config.intermediate_size, bias=False)
        self.down_proj = nn.Linear(config.intermediate_size, config.hidden_size, bias=False)

    def forward(self, x):
        return self.down_proj(nn.functional.silu(self.gate_proj(x)) * self.up_proj(x))


class StandinLayer(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.self_attn = StandinAttention(config)
        self.mlp = StandinMLP(config)
        self.input_layernorm = StandinRMSNorm(config.hidden_size, config.rms_norm_eps)
        self.post_attention_layernorm = StandinRMSNorm(config.hidden_size, config.rms_norm_eps)

    def forward(self, hidden, mask, position_ids, past=None):
        attended, present = self.self_attn(self.input_layernorm(hidden), mask, position_ids, past)
        hidden = hidden + attended
        hidden = hidden + self.mlp(self.post_attention_layernorm(hidden))
        return hidden, present


class StandinPreTrainedModel(PreTrainedModel):
    config_class = StandinConfig
    base_model_prefix = "model"

    def _init_weights(self, module):
        if isinstance(module, (nn.Linear, nn.Embedding)):
            module.weight.data.normal_(mean=0.0, std=self.config.initializer_range)


def additive_mask(attention_mask, past_length, length, dtype):
    """0 where a query may look (earlier or same position, not padding), the dtype's minimum elsewhere."""
    total = past_length + length
    causal = torch.ones(length, total, dtype=torch.bool, device=attention_mask.device).tril(past_length)
    allowed = causal[None, None, :, :] & attention_mask[:, None, None, -total:].bool()
    mask = torch.zeros(allowed.shape, dtype=dtype, device=attention_mask.device)
    return mask.masked_fill(~allowed, torch.finfo(dtype).min)


class StandinModel(StandinPreTrainedModel):
    def __init__(self, config):
        super().__init__(config)
        self.embed_tokens = nn.Embedding(config.vocab_size, config.hidden_size)
        self.layers = nn.ModuleList([StandinLayer(config) for _ in range(config.num_hidden_layers)])
        self.norm = StandinRMSNorm(config.hidden_size, config.rms_norm_eps)
        self.post_init()

    def forward(self, input_ids, attention_mask=None, position_ids=None, past_key_values=None, use_cache=None):
        batch, length = input_ids.shape
        past_length = past_key_values[0][0].shape[2] if past_key_values is not None else 0
        if attention_mask is None:
            attention_mask = torch.ones(batch, past_length + length, dtype=torch.long, device=input_ids.device)
        if position_ids is None:
            position_ids = torch.arange(past_length, past_length + length, device=input_ids.device)[None].expand(
                batch, length
            )
        hidden = self.embed_tokens(input_ids)
        mask = additive_mask(attention_mask, past_length, length, hidden.dtype)
        presents = ()
        for index, layer in enumerate(self.layers):
            past = past_key_values[index] if past_key_values is not None else None
            hidden, present = layer(hidden, mask, position_ids, past)
            presents += (present,)
        return self.norm(hidden), (presents if use_cache else None)


class StandinForCausalLM(StandinPreTrainedModel):
    def __init__(self, config):
        super().__init__(config)
        self.model = StandinModel(config)
        self.lm_head = nn.Linear(config.hidden_size, config.vocab_size, bias=False)
        self.post_init()

    def get_input_embeddings(self):
        return self.model.embed_tokens

    def forward(
        self,
        input_ids=None,
        attention_mask=None,
        position_ids=None,
        past_key_values=None,
        use_cache=None,
        return_dict=None,
        **kwargs,
    ):
        use_cache = self.config.use_cache if use_cache is None else use_cache
        hidden, presents = self.model(input_ids, attention_mask, position_ids, past_key_values, use_cache)
        return CausalLMOutputWithPast(logits=self.lm_head(hidden), past_key_values=presents)

    def prepare_inputs_for_generation(self, input_ids, past_key_values=None, attention_mask=None, **kwargs):
        if past_key_values is not None:
            input_ids = input_ids[:, -1:]
        position_ids = kwargs.get("position_ids")
        if attention_mask is not None and position_ids is None:
            position_ids = attention_mask.long().cumsum(-1) - 1
            position_ids.masked_fill_(attention_mask == 0, 1)
            if past_key_values is not None:
                position_ids = position_ids[:, -1].unsqueeze(-1)
        return {
            "input_ids": input_ids,
            "position_ids": position_ids,
            "past_key_values": past_key_values,
            "use_cache": kwargs.get("use_cache"),
            "attention_mask": attention_mask,
        }

    @staticmethod
    def _reorder_cache(past_key_values, beam_idx):
        return tuple(tuple(state.index_select(0, beam_idx) for state in layer) for layer in past_key_values)
