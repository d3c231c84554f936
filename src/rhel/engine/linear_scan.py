"""A parallel (associative) scan for independent 2×2 affine recurrences.

Many linear recurrent layers evolve a set of independent two-dimensional states, one per dimension:

    x_{k+1} = M_k x_k + F_k,        x_k = (x¹_k, x²_k),  M_k a 2×2 matrix,  k = 0 … L−1.

Composing two steps is again an affine map, ``(M₂, F₂) ∘ (M₁, F₁) = (M₂ M₁, M₂ F₁ + F₂)``, and that
composition is associative, so all L states follow from ``jax.lax.associative_scan`` in O(log L) depth
instead of L sequential steps. A 2×2 matrix is carried as its four entries and a state as its two
components (arrays of any common shape), which keeps every operation elementwise.

The initial state is folded into the first forcing term, ``F₀ ← F₀ + M₀ x₀``, so the scan itself always
starts from zero.
"""

from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp
from jax import lax
from jaxtyping import Array, Float


class Block2x2(NamedTuple):
    """The entries of a 2×2 matrix ``[[m11, m12], [m21, m22]]``, each an array of the same shape."""

    m11: Array
    m12: Array
    m21: Array
    m22: Array

    def apply(self, x1: Array, x2: Array) -> tuple[Array, Array]:
        """``M x`` for the two components of ``x``."""
        return self.m11 * x1 + self.m12 * x2, self.m21 * x1 + self.m22 * x2


def _compose(earlier, later):
    """``later ∘ earlier`` for the affine maps ``x ↦ M x + F`` (both given as (M entries, F parts))."""
    (a11, a12, a21, a22, f1, f2) = earlier
    (b11, b12, b21, b22, g1, g2) = later
    later_m = Block2x2(b11, b12, b21, b22)
    m11 = b11 * a11 + b12 * a21
    m12 = b11 * a12 + b12 * a22
    m21 = b21 * a11 + b22 * a21
    m22 = b21 * a12 + b22 * a22
    h1, h2 = later_m.apply(f1, f2)
    return (m11, m12, m21, m22, h1 + g1, h2 + g2)


def affine_scan(
    transition: Block2x2,
    forcing: tuple[Float[Array, "L *S"], Float[Array, "L *S"]],
    initial: tuple[Float[Array, "*S"], Float[Array, "*S"]] | None = None,
) -> tuple[Float[Array, "L *S"], Float[Array, "L *S"]]:
    """All states of ``x_{k+1} = M_k x_k + F_k`` for k = 0 … L−1, by a parallel associative scan.

    Args:
        transition: the matrices ``M_k``; each entry broadcasts against the forcing, so a time-invariant
            matrix is given without the leading L axis.
        forcing: the two components of ``F_k``, each of shape (L, *S): the scan runs over axis 0.
        initial: the two components of ``x_0`` (shape S); zero when omitted.

    Returns:
        The two components of ``x_1 … x_L``, each of shape (L, *S).
    """
    f1, f2 = forcing
    shape = jnp.broadcast_shapes(jnp.shape(f1), jnp.shape(f2))
    entries = tuple(jnp.broadcast_to(m, shape) for m in transition)
    f1 = jnp.broadcast_to(f1, shape)
    f2 = jnp.broadcast_to(f2, shape)
    if initial is not None:
        first = Block2x2(*(m[0] for m in entries))
        x1, x2 = first.apply(*initial)
        f1 = f1.at[0].add(x1)
        f2 = f2.at[0].add(x2)
    *_, x1, x2 = lax.associative_scan(_compose, (*entries, f1, f2), axis=0)
    return x1, x2


__all__ = ["Block2x2", "affine_scan"]
