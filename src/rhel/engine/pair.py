"""The derivatives of V at the two echoes of one step — by autodiff, or in closed form from the potential.

The echo (:mod:`rhel.engine.echo`) steps a *pair* of states ``Φ± = (φ±, π±)`` (the ±ε echoes) with the
one :func:`rhel.engine.leapfrog.leapfrog_step`. At each step it needs, at the two half-step positions
``φ±_½``,

* the forces of both lanes, ``∇_φ V(φ+_½)`` and ``∇_φ V(φ−_½)`` (the kick), and
* the *differences* ``∇_u V(φ+_½) − ∇_u V(φ−_½)`` and ``∇_θ V(φ+_½) − ∇_θ V(φ−_½)`` (the gradients).

By default they come from ``jax.grad`` of V at each lane, and the differences are taken afterwards.
A potential may instead supply them in closed form, as a method

    potential.echo_derivatives(phi_pair (2, P), u (H,), params) -> (dV_dphi (2, P), ΔdV_du (H,), ΔdV_dparams)

(:class:`EchoDerivatives`). Two things make that worthwhile: the two lanes are evaluated together, so
a quantity that depends on the lanes only through their mean ``φ̄ = (φ+ + φ−)/2`` and half-difference
``Δ = (φ+ − φ−)/2`` is computed once for both; and a difference such as ``f(φ̄ + Δ) − f(φ̄ − Δ)`` can be
written without cancellation, which is more accurate in float32 than two evaluations and a subtraction.
:func:`rhel.engine.checks.echo_derivatives_error` compares such a method with autodiff.

The dynamics are untouched: the method only replaces how the derivatives of the same V are computed.
It is used when the potential receives everything it is differentiated with respect to through
``params`` and ``u``; a potential that closes over traced values (see :func:`rhel.simulate`) is
differentiated by autodiff.
"""

from __future__ import annotations

from typing import Callable, Protocol, runtime_checkable

import jax
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
        """``(∇_φ V at both lanes, ∇_u V(lane 0) − ∇_u V(lane 1), ∇_θ V(lane 0) − ∇_θ V(lane 1))``."""
        ...


def lane_difference(x: Array) -> Array:
    """``x[0] − x[1]``: lane 0 (the +ε echo) minus lane 1 (the −ε echo)."""
    return x[0] - x[1]


def autodiff_pair_derivatives(
    potential: Potential, phi_pair: Float[Array, "2 P"], u: Float[Array, " H"], params: PyTree
) -> tuple[Float[Array, "2 P"], Float[Array, " H"], PyTree]:
    """The echo's derivatives by ``jax.grad`` of V at each lane, then the differences."""
    dV_dphi, dV_du, dV_dparams = jax.vmap(lambda phi: gradients(potential, phi, u, params))(phi_pair)
    return dV_dphi, lane_difference(dV_du), jax.tree.map(lane_difference, dV_dparams)


def pair_derivatives(potential: Potential) -> Callable:
    """``derivatives(phi_pair, u, params)`` for :func:`rhel.engine.leapfrog.leapfrog_step` on a pair of
    lanes: the potential's own ``echo_derivatives`` if it has one, autodiff otherwise."""
    if isinstance(potential, EchoDerivatives):
        return potential.echo_derivatives

    def derivatives(phi_pair, u, params):
        return autodiff_pair_derivatives(potential, phi_pair, u, params)

    return derivatives


__all__ = ["EchoDerivatives", "pair_derivatives", "autodiff_pair_derivatives", "lane_difference"]
