"""SDPA attention for transformers' MPT, in query blocks.

transformers' ``MptAttention`` has only an eager path: it materializes the
``(batch, heads, queries, keys)`` scores and their fp32 softmax. For
MPT-7B-storywriter at 30,000 tokens that is 32 x 30,000^2 floats per layer,
more memory than any one GPU has. This forward computes the same attention
(ALiBi bias, causal and padding masks, MPT's softmax scale) with
``torch.nn.functional.scaled_dot_product_attention`` over blocks of queries,
so only one block's bias is ever held, and the fused kernels do the rest.
"""

from __future__ import annotations

import types

QUERY_BLOCK = 2048


def enable_blocked_sdpa(model, block: int = QUERY_BLOCK) -> int:
    """Replaces the forward of every ``MptAttention`` in ``model``; returns how many."""
    from transformers.models.mpt.modeling_mpt import MptAttention

    patched = 0
    for module in model.modules():
        if isinstance(module, MptAttention):
            setattr(module, "query_block", block)  # noqa: B010 - read by _blocked_forward
            module.forward = types.MethodType(_blocked_forward, module)
            patched += 1
    return patched


def _blocked_forward(self, hidden_states, position_bias, cache=None, attention_mask=None, **kwargs):
    import torch
    import torch.nn.functional as F

    batch_size, seq_length = hidden_states.shape[:2]
    mixed_qkv = self.Wqkv(hidden_states)
    if self.clip_qkv:
        mixed_qkv = mixed_qkv.clamp(min=-self.clip_qkv, max=self.clip_qkv)
    query, key, value = (
        part.reshape(batch_size, seq_length, self.n_heads, self.head_dim).transpose(1, 2)
        for part in mixed_qkv.chunk(3, dim=2)
    )
    if cache is not None:
        key, value = cache.update(key, value, self.layer_idx, kwargs=kwargs)
    key_length = key.shape[-2]
    # Cached tokens come first: this forward's first query sits at absolute position key_length - seq_length.
    first_query = key_length - seq_length
    slopes = _alibi_slopes(position_bias)
    masked_value = torch.finfo(query.dtype).min
    outputs = []
    for start in range(0, seq_length, self.query_block):
        stop = min(seq_length, start + self.query_block)
        mask = torch.zeros((batch_size, self.n_heads, stop - start, key_length), dtype=query.dtype, device=query.device)
        if slopes is not None:
            mask = mask + _relative_bias(slopes, first_query + start, first_query + stop, key_length).to(query.dtype)
        if attention_mask is not None:
            mask = mask.masked_fill(attention_mask[:, :, start:stop, :], masked_value)
        outputs.append(
            F.scaled_dot_product_attention(
                query[:, :, start:stop], key, value, attn_mask=mask, dropout_p=0.0, scale=self.softmax_scale
            )
        )
    context = torch.cat(outputs, dim=2).permute(0, 2, 1, 3).reshape(batch_size, seq_length, -1)
    return self.out_proj(context), None


def _alibi_slopes(position_bias):
    """Each head's ALiBi slope, (heads, 1, 1), from the bias MPT builds: ``slope * (1 - max_len .. 0)`` per key."""
    if position_bias is None:
        return None
    # The next-to-last entry is slope * -1, exactly.
    return -position_bias[:, :, -2:-1].float()


def _relative_bias(slopes, first_query: int, stop_query: int, key_length: int):
    """ALiBi for queries [first_query, stop_query) over keys [0, key_length): ``slope * (key - query)``.

    MPT adds ``slope * (key - last key)``, the same for every query, which softmax
    turns into the same weights, but its values depend on how many keys this
    forward sees: a prompt computed whole and one continued from a KV cache
    would round differently. Relative to each query, a (query, key) pair gets
    the same bias however the prompt was split, so continuing from a cache
    computes what the whole prompt computes.
    """
    import torch

    device = slopes.device
    keys = torch.arange(key_length, device=device, dtype=torch.int64)
    queries = torch.arange(first_query, stop_query, device=device, dtype=torch.int64)
    return (keys.view(1, -1) - queries.view(-1, 1)).float().unsqueeze(0) * slopes
