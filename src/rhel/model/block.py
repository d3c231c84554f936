"""The HSSM block: x → norm → HRU → GELU → dropout → GLU → dropout → + x."""

from __future__ import annotations

import math

import equinox as eqx
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, Bool, Float, PRNGKeyArray

from rhel.engine.gradient import GradientMethod
from rhel.model import threefry
from rhel.model.activations import gate, gelu
from rhel.model.dense import per_step
from rhel.model.norm import MaskedBatchNorm, Stats
from rhel.units.base import HRU


def _threshold(rate: float) -> int:
    """``t = round(rate · 2¹⁶)``, at most ``2¹⁶ − 1``: an entry is dropped when its 16 random bits are < t."""
    return min(round(rate * 2**16), 2**16 - 1)


def keep_probability(rate: float) -> float:
    """``1 − t/2¹⁶``: the probability that dropout keeps an entry (within 8e-6 of ``1 − rate``)."""
    return 1.0 - _threshold(rate) / 2**16


def dropout_mask(
    rate: float, key: PRNGKeyArray | None, shape: tuple[int, ...], inference: bool
) -> Bool[Array, "*shape"] | None:
    """The entries inverted dropout keeps, each independently with probability :func:`keep_probability`;
    None when it keeps all.

    Each 32-bit word of the key's generator decides two entries by its two 16-bit halves (independent
    and uniform): half the generator's work of ``jax.random.bernoulli``, which draws a 32-bit uniform per
    entry. With threefry on a CPU that work is not small: at the EigenWorms shape (batch 4, L = 4,000,
    H = 64) drawing the masks was half of the forward pass (docs/performance.md, finding 22). The words
    are those of ``jax.random.bits``, drawn by :func:`rhel.model.threefry.bits` (finding 25).
    """
    if inference or rate == 0.0:
        return None
    n = math.prod(shape)
    words = threefry.bits(key, (n + 1) // 2)
    # the low halves of all words, then the high halves; one expression over both, so that XLA fuses
    # the cipher into one consumer instead of computing it once for each half
    halves = (words[None, :] >> jnp.array([0, 16], jnp.uint32)[:, None]) & 0xFFFF
    return (halves.reshape(-1)[:n] >= _threshold(rate)).reshape(shape)


def apply_dropout(x: Array, keep: Bool[Array, "*shape"] | None, rate: float) -> Array:
    """Inverted dropout with a given mask: zero the dropped entries, divide the rest by the keep
    probability (so that the expectation is ``x``)."""
    return x if keep is None else jnp.where(keep, x / keep_probability(rate), 0.0)


def dropout(x: Array, rate: float, key: PRNGKeyArray | None, inference: bool) -> Array:
    """Inverted dropout: zero each entry with probability ``1 −`` :func:`keep_probability` (≈ ``rate``),
    divide the rest by the keep probability."""
    return apply_dropout(x, dropout_mask(rate, key, x.shape, inference), rate)


class GLU(eqx.Module):
    """Gated linear unit ``(W₁x + b₁) ⊙ sigmoid(W₂x + b₂)`` applied at every step."""

    linear: eqx.nn.Linear

    def __init__(self, features: int, *, key: PRNGKeyArray, dtype=None):
        self.linear = eqx.nn.Linear(features, 2 * features, key=key, dtype=dtype)

    def __call__(self, x: Float[Array, "L H"]) -> Float[Array, "L H"]:
        return self.gated(per_step(self.linear, x))

    @staticmethod
    def gated(mixed: Float[Array, "L 2*H"]) -> Float[Array, "L H"]:
        """``a ⊙ σ(g)`` for the two halves ``(a, g)`` of the linear map's output."""
        a, g = jnp.split(mixed, 2, axis=-1)
        return gate(a, g)


@eqx.filter_checkpoint(prevent_cse=False)  # the HSSM runs its blocks in a lax.scan, which prevents CSE
def _activate_and_mix(
    linear: eqx.nn.Linear, z: Float[Array, "L H"], keep: Bool[Array, "L H"] | None, rate: float
) -> Float[Array, "L 2*H"]:
    """``W · dropout(gelu(z)) + b`` at every step, as a checkpoint: its backward pass keeps z (and the
    mask) and recomputes ``gelu(z)`` and ``gelu'(z)``, instead of keeping both the derivative and the
    linear map's input ``dropout(gelu(z))`` — one (L, H) array less per block, for a few elementwise
    operations."""
    return per_step(linear, apply_dropout(gelu(z), keep, rate))


class Block(eqx.Module):
    """One residual block of the HSSM (the HRU is differentiated by the method passed per call)."""

    norm: MaskedBatchNorm
    hru: HRU
    glu: GLU
    dropout: float = eqx.field(static=True)

    def __init__(self, hru: HRU, hidden: int, *, key: PRNGKeyArray, dropout: float = 0.05, dtype=None):
        self.norm = MaskedBatchNorm(hidden, dtype=dtype)
        self.hru = hru
        self.glu = GLU(hidden, key=key, dtype=dtype)
        self.dropout = float(dropout)

    def __call__(
        self,
        x: Float[Array, "L H"],
        mask: Bool[Array, " L"],
        stats: Stats,
        *,
        key: PRNGKeyArray | None,
        gradient: GradientMethod,
        inference: bool,
    ) -> tuple[Float[Array, "L H"], Stats]:
        """Returns the block's output and the norm's updated running statistics."""
        k1, k2 = (None, None) if key is None else jr.split(key)
        y, stats = self.norm(x, mask, stats, inference=inference)
        z = self.hru(y, gradient=gradient)
        keep = dropout_mask(self.dropout, k1, z.shape, inference)
        y = self.glu.gated(_activate_and_mix(self.glu.linear, z, keep, self.dropout))
        y = dropout(y, self.dropout, k2, inference)
        return x + y, stats
