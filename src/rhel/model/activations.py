"""GELU and the GLU gate with derivatives that keep one or two arrays for the backward pass, not three to five.

Reverse-mode autodiff keeps, for the backward pass, every intermediate a derivative needs. For the
tanh-approximated GELU ``½x(1 + tanh(s))``, ``s = √(2/π)(x + 0.044715x³)``, plain autodiff keeps four
arrays the size of ``x`` (``x``, ``tanh s``, and two products); for the gate ``a ⊙ σ(g)`` it keeps three.
Around every HRU of an HSSM these arrays are (L, H) each and dominate the memory of a training step
(at the EigenWorms shape they are several times the HRU's own state), for BPTT and RHEL alike.

Here the derivative is written as a ``jax.custom_jvp``: the rule computes the primal value and the
elementwise coefficient(s) the tangent is multiplied by, so linearisation keeps only those:

* ``gelu'(x) = ½(1 + t) + ½x(1 − t²)·√(2/π)(1 + 3·0.044715x²)``, ``t = tanh s`` — one array;
* ``d(a σ(g)) = σ(g)·da + a σ(g)(1 − σ(g))·dg`` — two arrays.

The primal values are exactly ``jax.nn.gelu(x, approximate=True)`` and ``a * jax.nn.sigmoid(g)``. The
rules are linear in the tangent, so both work with forward and reverse mode, ``vmap`` and ``scan``.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_CUBIC = 0.044715


@jax.custom_jvp
def gelu(x: Float[Array, "*shape"]) -> Float[Array, "*shape"]:
    """``jax.nn.gelu(x, approximate=True)``, whose derivative keeps one array (``gelu'(x)``)."""
    return jax.nn.gelu(x, approximate=True)


def gelu_derivative(x: Float[Array, "*shape"]) -> Float[Array, "*shape"]:
    """``d/dx ½x(1 + tanh(√(2/π)(x + 0.044715x³)))``."""
    t = jnp.tanh(_SQRT_2_OVER_PI * (x + _CUBIC * x**3))
    ds_dx = _SQRT_2_OVER_PI * (1.0 + 3.0 * _CUBIC * x**2)
    return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * ds_dx


@gelu.defjvp
def _gelu_jvp(primals, tangents):
    (x,), (dx,) = primals, tangents
    return gelu(x), gelu_derivative(x) * dx


@jax.custom_jvp
def gate(a: Float[Array, "*shape"], g: Float[Array, "*shape"]) -> Float[Array, "*shape"]:
    """The GLU's gate ``a ⊙ σ(g)``, whose derivative keeps two arrays (``σ(g)`` and ``a σ(g)(1 − σ(g))``)."""
    return a * jax.nn.sigmoid(g)


@gate.defjvp
def _gate_jvp(primals, tangents):
    (a, g), (da, dg) = primals, tangents
    s = jax.nn.sigmoid(g)
    return a * s, s * da + (a * s * (1.0 - s)) * dg
