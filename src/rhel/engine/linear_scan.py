"""A parallel (associative) scan for independent, time-invariant 2×2 affine recurrences.

Many linear recurrent layers evolve a set of independent two-dimensional states, one per dimension,
with a fixed matrix and a time-varying forcing:

    x_{k+1} = M x_k + F_k,        x_k = (x¹_k, x²_k),  M a 2×2 matrix,  k = 0 … L−1.

Composing two steps is again an affine map, ``(M₂, F₂) ∘ (M₁, F₁) = (M₂ M₁, M₂ F₁ + F₂)``, and the
composition is associative, so all L states follow from a parallel prefix scan of depth O(log L)
instead of L sequential steps. This is the odd–even recursion of ``jax.lax.associative_scan``: combine
neighbouring pairs, scan the half-length sequence of pairs, then fill in the remaining positions. Since
M does not depend on time, every combination at recursion level i uses the same matrix ``M^(2^i)``, so
only the forcing terms are carried through the recursion (never an (L, …) array of matrices), which
makes the scan and its autodiff several times cheaper than the generic associative scan.

A 2×2 matrix is carried as its four entries and a state as its two components (arrays of any common
shape), which keeps every operation elementwise. The initial state is folded into the first forcing
term, ``F₀ ← F₀ + M x₀``, so the recursion itself starts from zero.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float


class Block2x2(NamedTuple):
    """The entries of a 2×2 matrix ``[[m11, m12], [m21, m22]]``, arrays broadcastable to each other."""

    m11: Array
    m12: Array
    m21: Array
    m22: Array

    def apply(self, x1: Array, x2: Array) -> tuple[Array, Array]:
        """``M x`` for the two components of ``x``."""
        return self.m11 * x1 + self.m12 * x2, self.m21 * x1 + self.m22 * x2

    def square(self) -> Block2x2:
        """``M M``."""
        m11, m12, m21, m22 = self
        return Block2x2(
            m11 * m11 + m12 * m21, m11 * m12 + m12 * m22, m21 * m11 + m22 * m21, m21 * m12 + m22 * m22
        )


def _interleave(even: Array, odd: Array) -> Array:
    """``[even₀, odd₀, even₁, odd₁, …]`` along axis 0 (``even`` may be one longer than ``odd``)."""
    n = odd.shape[0]
    pairs = jnp.stack([even[:n], odd], axis=1).reshape((2 * n,) + odd.shape[1:])
    return jnp.concatenate([pairs, even[n:]]) if even.shape[0] > n else pairs


def _prefix(x1: Array, x2: Array, m: Block2x2) -> tuple[Array, Array]:
    """States from zero of ``x ← m x + F_k`` where ``(x1, x2)`` holds the forcing F along axis 0."""
    n = x1.shape[0]
    if n < 2:
        return x1, x2
    r1, r2 = m.apply(x1[0 : n - 1 : 2], x2[0 : n - 1 : 2])  # pair (2j, 2j+1) → one step of m²
    odd1, odd2 = _prefix(r1 + x1[1::2], r2 + x2[1::2], m.square())  # the states at 2j+1
    k = (n - 1) // 2
    q1, q2 = m.apply(odd1[:k], odd2[:k])  # the states at 2j, j ≥ 1, from those at 2j−1
    even1 = jnp.concatenate([x1[:1], q1 + x1[2::2]])
    even2 = jnp.concatenate([x2[:1], q2 + x2[2::2]])
    return _interleave(even1, odd1), _interleave(even2, odd2)


def affine_scan(
    transition: Block2x2,
    forcing: tuple[Float[Array, "L *S"], Float[Array, "L *S"]],
    initial: tuple[Float[Array, "*S"], Float[Array, "*S"]] | None = None,
) -> tuple[Float[Array, "L *S"], Float[Array, "L *S"]]:
    """All states of ``x_{k+1} = M x_k + F_k`` for k = 0 … L−1, by a parallel associative scan.

    Args:
        transition: the time-invariant matrix M; each entry broadcasts against the shape S of a state
            (e.g. one matrix per dimension, shape (P,)).
        forcing: the two components of ``F_k``, each of shape (L, *S): the scan runs over axis 0.
        initial: the two components of ``x_0`` (shape S); zero when omitted.

    Returns:
        The two components of ``x_1 … x_L``, each of shape (L, *S).
    """
    f1, f2 = forcing
    shape = jnp.broadcast_shapes(jnp.shape(f1), jnp.shape(f2))
    f1 = jnp.broadcast_to(f1, shape)
    f2 = jnp.broadcast_to(f2, shape)
    if initial is not None:
        x1, x2 = transition.apply(*initial)
        f1 = f1.at[0].add(x1)
        f2 = f2.at[0].add(x2)
    return _prefix(f1, f2, transition)


def powers(transition: Block2x2, n: int, shape: tuple[int, ...]) -> Block2x2:
    """``M¹ … Mⁿ``: each entry an array of shape ``(n, *shape)`` (``shape``: that of a state, against
    which M's entries broadcast). The columns ``Mʲ e₁`` and ``Mʲ e₂`` are the states of the unforced
    recurrence from the unit vectors, so they come from :func:`affine_scan` itself."""
    ones = jnp.ones(shape, jnp.result_type(*transition))
    zeros = jnp.zeros((n,) + shape, ones.dtype)
    m11, m21 = affine_scan(transition, (zeros, zeros), (ones, 0 * ones))
    m12, m22 = affine_scan(transition, (zeros, zeros), (0 * ones, ones))
    return Block2x2(m11, m12, m21, m22)


def chunked_affine_scan(
    transition: Block2x2,
    forcing: tuple[Float[Array, "C N *S"], Float[Array, "C N *S"]],
    initial: tuple[Float[Array, "*S"], Float[Array, "*S"]],
) -> tuple[Float[Array, "C N *S"], Float[Array, "C N *S"]]:
    """:func:`affine_scan` over ``C·N`` steps cut into C chunks of N, the chunks side by side.

    Each chunk is scanned from zero, ``z_{c,j}`` (one parallel scan of depth ``log₂ N`` over all chunks
    at once); the states at the chunks' ends follow from a scan over the chunks with the matrix ``Mᴺ``,
    ``x_{c+1,0} = Mᴺ x_{c,0} + z_{c,N}`` (depth ``log₂ C``); and every state is the chunk's own part plus
    its start carried along, ``x_{c,j} = z_{c,j} + Mʲ x_{c,0}`` (one elementwise pass with the powers of
    :func:`powers`). The same states as one scan over ``C·N`` steps, with the levels of the scan over
    short chunks only: a scan level over the whole sequence touches all of it, and at most ``log₂ N`` of
    them do here.

    Args:
        transition: the time-invariant matrix M (entries broadcasting against the state shape S).
        forcing: the two components of ``F``, each (C, N, *S), chunk by chunk in order.
        initial: the two components of the state before the first step (shape S).

    Returns:
        The two components of the states after each step, each (C, N, *S).
    """
    f1, f2 = forcing
    shape = jnp.broadcast_shapes(jnp.shape(f1), jnp.shape(f2))
    f1, f2 = jnp.broadcast_to(f1, shape), jnp.broadcast_to(f2, shape)
    z1, z2 = jax.vmap(lambda a, b: _prefix(a, b, transition))(f1, f2)
    power = powers(transition, shape[1], shape[2:])
    last = Block2x2(*(p[-1] for p in power))  # Mᴺ
    ends1, ends2 = affine_scan(last, (z1[:, -1], z2[:, -1]), initial)
    start1 = jnp.concatenate([jnp.broadcast_to(initial[0], shape[2:])[None], ends1[:-1]])[:, None]
    start2 = jnp.concatenate([jnp.broadcast_to(initial[1], shape[2:])[None], ends2[:-1]])[:, None]
    carried1, carried2 = power.apply(start1, start2)
    return z1 + carried1, z2 + carried2


__all__ = ["Block2x2", "affine_scan", "chunked_affine_scan", "powers"]
