"""Assumption checks a user can run before trusting RHEL on their own Hamiltonian system.

RHEL is exact when the discrete dynamics can be replayed backwards: flipping the momenta of the final
state and stepping with the inputs in reverse order must return to the (flipped) initial state. The
leapfrog is reversible in exact arithmetic for every potential, so what these checks measure is whether
the system at this step size is well-behaved enough for that to survive floating point (a chaotic or
unstable system amplifies rounding exponentially and the echo cannot retrace the forward pass).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax
from jaxtyping import Array, Float, PyTree

from rhel.argcheck import positive_integer
from rhel.engine.integrate import integrate
from rhel.engine.leapfrog import Potential, leapfrog_step
from rhel.engine.pair import EchoDerivatives, autodiff_pair_derivatives
from rhel.engine.simulate import check_system
from rhel.errors import RHELError


class Reversibility(NamedTuple):
    """Distance between the initial state and the state after running forward then back."""

    abs_error: Float[Array, ""]
    """max |Φ_back − Φ_0| over positions and momenta."""
    rel_error: Float[Array, ""]
    """``abs_error`` divided by the largest |state| met on the forward pass."""


class EnergyDrift(NamedTuple):
    """How far the energy H = ½‖π‖² + V(φ; u) wanders along a trajectory with a constant input."""

    abs_drift: Float[Array, ""]
    """max_k |H_k − H_0|."""
    rel_drift: Float[Array, ""]
    """``abs_drift`` / max(|H_0|, tiny)."""
    energies: Float[Array, " L+1"]
    """H_0 … H_L."""


def reversibility_error(
    potential: Potential,
    params: PyTree,
    inputs: Float[Array, "L H"],
    state0: tuple[Float[Array, " P"], Float[Array, " P"]],
    *,
    dt,
) -> Reversibility:
    """Run forward over ``inputs``, flip the momenta, run back over the reversed inputs, flip again.

    Returns the distance to the starting state. In float64 a system suitable for RHEL returns errors
    near machine precision times the trajectory length; errors that grow exponentially with the length
    mean the echo cannot replay the forward pass (reduce ``dt``, or the system is chaotic).
    """
    inputs, phi0, pi0, dt = check_system(potential, params, inputs, state0, dt)
    phis, (phiL, piL) = integrate(potential, params, inputs, phi0, pi0, dt)
    _, (phi_back, pi_back) = integrate(potential, params, inputs[::-1], phiL, -piL, dt)
    err = jnp.maximum(jnp.max(jnp.abs(phi_back - phi0)), jnp.max(jnp.abs(-pi_back - pi0)))
    size = jnp.maximum(jnp.max(jnp.abs(phis)), jnp.max(jnp.abs(jnp.concatenate([phi0, pi0]))))
    size = jnp.maximum(size, jnp.finfo(phis.dtype).tiny)
    return Reversibility(err, err / size)


def energy_drift(
    potential: Potential,
    params: PyTree,
    state0: tuple[Float[Array, " P"], Float[Array, " P"]],
    *,
    dt,
    steps: int,
    u: Float[Array, " H"] | None = None,
) -> EnergyDrift:
    """The energy error of the leapfrog at step ``dt`` over ``steps`` steps with a constant input ``u``.

    The leapfrog conserves a modified energy, so for a stable step size the drift stays bounded and
    shrinks as O(dt²); a drift that grows without bound signals an unstable step.
    """
    steps = positive_integer("steps", steps)
    phi0 = jnp.asarray(state0[0])
    u = jnp.zeros((1,), phi0.dtype) if u is None else jnp.asarray(u)
    inputs = jnp.broadcast_to(u, (steps,) + u.shape)
    inputs, phi0, pi0, dt = check_system(potential, params, inputs, state0, dt)

    def energy(phi, pi):
        return 0.5 * jnp.sum(pi**2) + potential(phi, u, params)

    def body(state, _):
        step = leapfrog_step(potential, params, u, dt, *state)
        return (step.phi, step.pi), energy(step.phi, step.pi)

    _, energies = lax.scan(body, (phi0, pi0), None, length=steps)
    energies = jnp.concatenate([energy(phi0, pi0)[None], energies])
    drift = jnp.max(jnp.abs(energies - energies[0]))
    rel = drift / jnp.maximum(jnp.abs(energies[0]), jnp.finfo(energies.dtype).tiny)
    return EnergyDrift(drift, rel, energies)


class EchoDerivativesError(NamedTuple):
    """Norm-wise relative errors of a potential's ``echo_derivatives`` against autodiff."""

    forces: Float[Array, ""]
    """‖Δ‖/‖ref‖ of ∇_φ V in pair coordinates (its mean and half-difference over the lanes)."""
    inputs: Float[Array, ""]
    """The same for the half-difference of ∇_u V."""
    params: Float[Array, ""]
    """The largest over the leaves of the half-difference of ∇_θ V."""


def _relative(got, want):
    scale = jnp.maximum(jnp.linalg.norm(jnp.ravel(want)), jnp.finfo(want.dtype).tiny)
    return jnp.linalg.norm(jnp.ravel(got - want)) / scale


def echo_derivatives_error(
    potential: Potential,
    params: PyTree,
    phi_pair: Float[Array, "2 P"],
    u: Float[Array, " H"],
) -> EchoDerivativesError:
    """Compare ``potential.echo_derivatives(phi_pair, u, params)`` with autodiff of the same potential.

    A potential that supplies the echo's derivatives in closed form (:mod:`rhel.engine.pair`) must give
    what ``jax.grad`` gives, up to rounding. ``phi_pair`` is a pair in the echo's coordinates,
    ``stack([φ̄, Δ])`` for the lanes ``φ̄ ± Δ`` (:func:`rhel.engine.pair.pair` makes it from two lanes).
    Run this in float64 on states like the ones the echo meets (a small Δ, and a large one): every error
    should be near machine precision (the closed form is often the more accurate of the two, because
    autodiff's difference of two nearly equal gradients loses digits).
    """
    if not isinstance(potential, EchoDerivatives):
        raise RHELError(
            f"{type(potential).__name__} has no echo_derivatives method: the echo differentiates it by "
            "autodiff, and there is nothing to check."
        )
    phi_pair = jnp.asarray(phi_pair)
    if phi_pair.ndim != 2 or phi_pair.shape[0] != 2:
        raise RHELError(
            "phi_pair must stack the lanes' mean position and half-difference (rhel.engine.pair.pair("
            f"plus, minus)), shape (2, P); got shape {phi_pair.shape}."
        )
    want = autodiff_pair_derivatives(potential, phi_pair, u, params)
    got = potential.echo_derivatives(phi_pair, u, params)
    if jax.tree.structure(got) != jax.tree.structure(want) or any(
        jnp.shape(a) != jnp.shape(b) for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(want))
    ):
        raise RHELError(
            "echo_derivatives must return (dV_dphi of shape (2, P) in pair coordinates, the half-difference "
            "of dV/du, and the half-difference of dV/dparams with the structure of params); got "
            f"{jax.tree.map(jnp.shape, got)}, expected {jax.tree.map(jnp.shape, want)}."
        )
    param_errors = [_relative(a, b) for a, b in zip(jax.tree.leaves(got[2]), jax.tree.leaves(want[2]))]
    zero = jnp.zeros((), phi_pair.dtype)
    return EchoDerivativesError(
        forces=_relative(got[0], want[0]),
        inputs=_relative(got[1], want[1]),
        params=jnp.max(jnp.stack(param_errors)) if param_errors else zero,
    )


__all__ = [
    "reversibility_error",
    "energy_drift",
    "echo_derivatives_error",
    "Reversibility",
    "EnergyDrift",
    "EchoDerivativesError",
]
