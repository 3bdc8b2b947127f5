"""Keyed random numbers of the multi-seed engine: pure functions of (seed, counter, purpose).

SplitMix64 (Steele, Lea, Flood 2014) evaluated with int64 tensor ops on the device gives
each seed's data shuffle (``keyed_permutation``), dropout masks (``KeyedDropout``, by
``swap_dropout``) and, with ``noise_rng="hash"``, Gaussian noise (``random_normal``); the
trainer's gradient counter (``_Stream``) is the counter. A seed therefore draws the same
numbers alone or beside others (see ``deeprelax.train.engine``).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

# ---------------------------------------------------------------------------------------
# Keyed random numbers: SplitMix64 (Steele, Lea, Flood 2014) with int64 tensor ops.
# ---------------------------------------------------------------------------------------
_GOLDEN = -7046029254386353131          # 0x9E3779B97F4A7C15 as a signed int64
_MIX1 = -4658895280553007687            # 0xBF58476D1CE4E5B9
_MIX2 = -7723592293110705685            # 0x94D049BB133111EB
TAG_SHUFFLE, TAG_DROPOUT, TAG_NOISE = 1, 2, 3


def _lshr(z: Tensor, s: int) -> Tensor:
    """Logical right shift of int64 values (torch's >> is arithmetic)."""
    return (z >> s) & ((1 << (64 - s)) - 1)


def _mix64(z: Tensor) -> Tensor:
    """The SplitMix64 output function (a bijection of 64-bit words)."""
    z = (z ^ _lshr(z, 30)) * _MIX1
    z = (z ^ _lshr(z, 27)) * _MIX2
    return z ^ _lshr(z, 31)


def stream_key(seed: Tensor, counter: Tensor | int, tag: int) -> Tensor:
    """64-bit key of the random stream (seed, counter, purpose tag); shapes broadcast."""
    if not isinstance(counter, Tensor):
        counter = torch.tensor(int(counter), dtype=torch.int64, device=seed.device)
    return _mix64(_mix64(seed * _GOLDEN + tag) + (counter + 1) * _GOLDEN)


def random_words(key: Tensor, n: int) -> Tensor:
    """n pseudo-random int64 words per key: SplitMix64 states key + i·φ (shape key.shape + (n,))."""
    i = torch.arange(1, n + 1, device=key.device, dtype=torch.int64)
    return _mix64(key.unsqueeze(-1) + i * _GOLDEN)


def _pieces(words: Tensor, bits: int) -> Tensor:
    """The little-endian signed ``bits``-wide pieces of int64 words, i.e. ``words.view(int<bits>)``
    by shifts and masks (``Tensor.view(dtype)`` has no vmap batching rule in torch 2.11)."""
    shifts = torch.arange(64 // bits, device=words.device, dtype=torch.int64) * bits
    p = (words.unsqueeze(-1) >> shifts) & ((1 << bits) - 1)
    return torch.where(p >= (1 << (bits - 1)), p - (1 << bits), p).flatten(-2)


def random_normal(key: Tensor, n: int, dtype=torch.float32) -> Tensor:
    """n standard normals per key: inverse CDF of 23-bit uniforms (tails cut at |z| ≈ 5.3)."""
    words = _pieces(random_words(key, (n + 1) // 2), 32)[..., :n]
    u = (((words >> 9) & 0x7FFFFF).to(torch.float32) + 0.5) * (2.0 ** -23)   # exact in fp32
    return torch.special.ndtri(u).to(dtype)


def random_uniform16(key: Tensor, n: int) -> Tensor:
    """n uniform integers in [-32768, 32767] per key (four per 64-bit word)."""
    return _pieces(random_words(key, (n + 3) // 4), 16)[..., :n].to(torch.int16)


def dropout_keep(key: Tensor, n: int, p: float, batched: bool = True) -> Tensor:
    """The keep mask 1{u ≥ round(65536·p) − 32768} of the n uniforms ``random_uniform16(key,
    n)`` (P(keep) = 1 − p up to 2⁻¹⁶). Unbatched, the int16 view of the words; under vmap
    (``batched``) their unsigned 16-bit pieces v, with u ≥ t ⇔ v ⊕ 0x8000 ≥ t + 32768."""
    threshold = int(round(p * 65536)) - 32768
    words = random_words(key, (n + 3) // 4)
    if not batched:
        return words.view(torch.int16)[..., :n] >= threshold
    shifts = torch.arange(4, device=words.device, dtype=torch.int64) * 16
    v = ((words.unsqueeze(-1) >> shifts) & 0xFFFF).flatten(-2)[..., :n]
    return (v ^ 0x8000) >= threshold + 32768


def _seed63(seed: int, tag: int) -> int:
    """A 63-bit generator seed derived from (seed, purpose tag) by SplitMix64."""
    return int(stream_key(torch.tensor(int(seed)), 0, tag)) & ((1 << 63) - 1)


def keyed_permutation(seed: Tensor, epoch: int, n: int) -> Tensor:
    """A uniformly random permutation of range(n) per seed for data epoch ``epoch``."""
    bits = max(1, (n - 1).bit_length())
    words = random_words(stream_key(seed, epoch, TAG_SHUFFLE), n)
    idx = torch.arange(n, device=seed.device, dtype=torch.int64)
    sort_key = ((_lshr(words, 1) >> bits) << bits) | idx      # unique keys: no ties
    return torch.argsort(sort_key, dim=-1)


class _Stream:
    """Shared random-stream state of one trainer: the mode and the gradient counter tensor."""

    def __init__(self, mode: str, counter: Tensor, batched: bool = True):
        self.mode = mode
        self.counter = counter
        self.batched = batched            # False: modules run unbatched (loop batching)


class KeyedDropout(nn.Module):
    """Dropout (inverted, as nn.Dropout) whose mask is keyed by (seed, counter, layer)."""

    def __init__(self, p: float, layer: int, seed: int = 0, stream: _Stream | None = None):
        super().__init__()
        self.p, self.layer = float(p), int(layer)
        self.register_buffer("seed_key", torch.tensor(int(seed), dtype=torch.int64))
        self.stream = stream

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0.0:
            return x
        if self.stream is None or self.stream.mode == "torch":
            return F.dropout(x, self.p, True)
        key = stream_key(self.seed_key, self.stream.counter, TAG_DROPOUT + 16 * self.layer)
        keep = dropout_keep(key, x.numel(), self.p, self.stream.batched).reshape(x.shape)
        scale = torch.full((), 1.0 / (1.0 - self.p), dtype=x.dtype, device=x.device)
        keep = torch.where(keep, scale, 0.0)                       # 0 or 1/(1-p)
        return x * keep                                # = x · 1{kept} / (1 − p), exactly

    def extra_repr(self) -> str:
        return f"p={self.p}, layer={self.layer}"


def swap_dropout(model: nn.Module, seed: int, stream: _Stream | None) -> int:
    """Replace every nn.Dropout in ``model`` by a KeyedDropout (in place); returns the count."""
    count = 0

    def visit(module: nn.Module) -> None:
        nonlocal count
        for name, child in module.named_children():
            if isinstance(child, nn.Dropout):
                setattr(module, name, KeyedDropout(child.p, count, seed, stream))
                count += 1
            else:
                visit(child)
    visit(model)
    return count
