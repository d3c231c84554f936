"""The HSSM block: x → norm → HRU → GELU → dropout → GLU → dropout → + x."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, Bool, Float, PRNGKeyArray

from rhel.engine.gradient import GradientMethod
from rhel.model.activations import gate, gelu
from rhel.model.norm import MaskedBatchNorm, Stats
from rhel.units.base import HRU


def dropout(x: Array, rate: float, key: PRNGKeyArray | None, inference: bool) -> Array:
    """Inverted dropout: zero each entry with probability ``rate``, scale the rest by ``1/(1 − rate)``."""
    if inference or rate == 0.0:
        return x
    keep = jr.bernoulli(key, 1.0 - rate, x.shape)
    return jnp.where(keep, x / (1.0 - rate), 0.0)


class GLU(eqx.Module):
    """Gated linear unit ``(W₁x + b₁) ⊙ sigmoid(W₂x + b₂)`` applied at every step."""

    linear: eqx.nn.Linear

    def __init__(self, features: int, *, key: PRNGKeyArray, dtype=None):
        self.linear = eqx.nn.Linear(features, 2 * features, key=key, dtype=dtype)

    def __call__(self, x: Float[Array, "L H"]) -> Float[Array, "L H"]:
        a, g = jnp.split(jax.vmap(self.linear)(x), 2, axis=-1)
        return gate(a, g)


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
        y = gelu(self.hru(y, gradient=gradient))
        y = dropout(y, self.dropout, k1, inference)
        y = dropout(self.glu(y), self.dropout, k2, inference)
        return x + y, stats
