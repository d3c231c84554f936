"""The echo's two states as a mean and a half-difference, and the derivatives of V in those coordinates.

The echo (:mod:`rhel.engine.echo`) runs two copies ``Φ± = (φ±, π±)`` of the system (the ±ε echoes). It
stores them as one *pair* ``(2, P)`` per variable, in **mean/half-difference coordinates**:

    pair[0] = (x+ + x−)/2 = x̄,        pair[1] = (x+ − x−)/2 = Δx,        x± = x̄ ± Δx.

The leapfrog (:func:`rhel.engine.leapfrog.leapfrog_step`) is linear in ``(φ, π)`` apart from the force,
so it steps a pair in these coordinates unchanged, provided the forces come in the same coordinates:
``(F̄, ΔF) = ((∇_φV(φ+) + ∇_φV(φ−))/2, (∇_φV(φ+) − ∇_φV(φ−))/2)``. In exact arithmetic that *is* the two
echoes. In floating point it is more accurate: the echoes differ by O(ε), so two lanes stored side by side
round their O(1) states every step and their difference collects that round-off (at float32, over
thousands of steps, it exceeds the difference itself for a small ε); stored as ``Δ`` the difference is
rounded relative to its own size.

At each step the echo needs, at the half-step pair ``(φ̄_½, Δφ_½)``:

* the forces in pair coordinates ``(F̄, ΔF)`` (the kick), and
* the *half-differences* ``Δ∇_u V = (∇_u V(φ+_½) − ∇_u V(φ−_½))/2`` and ``Δ∇_θ V`` (the gradients).

By default they come from ``jax.grad`` of V at each lane ``φ̄ ± Δφ`` (:func:`autodiff_pair_derivatives`).
A potential may instead supply them in closed form, as a method

    potential.echo_derivatives(phi_pair (2, P), u (H,), params) -> ((F̄, ΔF) (2, P), Δ∇_u V (H,), Δ∇_θ V)

(:class:`EchoDerivatives`), which computes what depends on ``φ̄`` alone once for both echoes, and writes a
difference ``f(φ̄ + Δ) − f(φ̄ − Δ)`` without cancellation: autodiff subtracts two nearly equal gradients
and, in float32, loses digits. :func:`rhel.engine.checks.echo_derivatives_error` compares such a method
with autodiff. The dynamics are untouched: the method only replaces how the derivatives of the same V
are computed. It is used when the potential receives everything it is differentiated with respect to
through ``params`` and ``u``; a potential that closes over traced values (see :func:`rhel.simulate`) is
differentiated by autodiff.
"""

from __future__ import annotations

from typing import Callable, Protocol, runtime_checkable

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PyTree

from rhel.engine.leapfrog import Potential, gradients


@runtime_checkable
class EchoDerivatives(Protocol):
    """A potential ``V(phi, u, params)`` that also gives the echo's derivatives in closed form."""

    def __call__(self, phi: Float[Array, " P"], u: Float[Array, " H"], params: PyTree) -> Float[Array, ""]:
        ...

    def echo_derivatives(
        self, phi_pair: Float[Array, "2 P"], u: Float[Array, " H"], params: PyTree
    ) -> tuple[Float[Array, "2 P"], Float[Array, " H"], PyTree]:
        """At the lanes ``φ± = phi_pair[0] ± phi_pair[1]``: ∇_φ V in pair coordinates (mean and
        half-difference, shape (2, P)), the half-difference of ∇_u V, and that of ∇_θ V."""
        ...


def pair(plus: Array, minus: Array) -> Array:
    """The pair ``(x̄, Δx) = ((x+ + x−)/2, (x+ − x−)/2)`` of two lanes, stacked on a leading axis."""
    return jnp.stack([0.5 * (plus + minus), 0.5 * (plus - minus)])


def lanes(x: Array) -> Array:
    """The two lanes ``(x+, x−) = (x̄ + Δx, x̄ − Δx)`` of a pair, stacked on a leading axis."""
    return jnp.stack([x[0] + x[1], x[0] - x[1]])


def flipped_start(phi: Array, pi: Array) -> tuple[Array, Array]:
    """Both echoes at the flipped final state ``(φ_L, −π_L)``: that mean, and a zero half-difference."""
    zero = jnp.zeros_like(phi)
    return jnp.stack([phi, zero]), jnp.stack([-pi, zero])


def nudge(pi_pair: Array, n: Array) -> Array:
    """The momenta of the ±ε echoes nudged by ``±n``: the half-difference moves by ``n``, the mean not."""
    return pi_pair + jnp.array([0.0, 1.0], pi_pair.dtype).reshape((2,) + (1,) * n.ndim) * n


def half_difference_of_product(a: Array, b: Array) -> Array:
    """``(a+ b+ − a− b−)/2 = ā Δb + Δa b̄`` for two pairs, without forming the lanes."""
    return a[0] * b[1] + a[1] * b[0]


def autodiff_pair_derivatives(
    potential: Potential, phi_pair: Float[Array, "2 P"], u: Float[Array, " H"], params: PyTree
) -> tuple[Float[Array, "2 P"], Float[Array, " H"], PyTree]:
    """The echo's derivatives by ``jax.grad`` of V at each lane, then the mean and half-differences.

    Each lane is differentiated by its own call, not by ``vmap`` over the two: vmapped, a potential's
    matrix-vector products (e.g. ``W φ``) become one matrix product of the two lanes, which XLA's CPU
    backend hands to its matrix library as a custom kernel, and a loop that contains one is never
    compiled into a single kernel (:func:`rhel.xla_loops.compile_small_loops`). Two calls keep the echo's
    loop like the forward pass's (docs/performance.md, finding 29: the engine suite's RHEL step at P = 32
    went from 3.3 × to 1.1 × BPTT's; at P = 256, where no loop is small, the two products were faster
    too).
    """
    plus, minus = (gradients(potential, lane, u, params) for lane in lanes(phi_pair))

    def half_difference(a, b):
        return 0.5 * (a - b)

    return (
        pair(plus[0], minus[0]),
        half_difference(plus[1], minus[1]),
        jax.tree.map(half_difference, plus[2], minus[2]),
    )


def pair_derivatives(potential: Potential) -> Callable:
    """``derivatives(phi_pair, u, params)`` for :func:`rhel.engine.leapfrog.leapfrog_step` on a pair: the
    potential's own ``echo_derivatives`` if it has one, autodiff otherwise."""
    if isinstance(potential, EchoDerivatives):
        return potential.echo_derivatives

    def derivatives(phi_pair, u, params):
        return autodiff_pair_derivatives(potential, phi_pair, u, params)

    return derivatives


__all__ = [
    "EchoDerivatives",
    "pair",
    "lanes",
    "flipped_start",
    "nudge",
    "half_difference_of_product",
    "pair_derivatives",
    "autodiff_pair_derivatives",
]
