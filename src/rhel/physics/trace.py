"""The RHEL echo with its intermediate states: the adjoint λ(t) and the gradient as it accumulates.

:func:`rhel.simulate` with ``gradient=rhel.RHEL()`` runs the echo inside a custom VJP and keeps only
what a gradient needs. To *look at* the echo — the two echo trajectories, the adjoint state read off
them at every step, and the parameter gradient building up over echo time — :func:`echo_trace` runs
the same echo (Algorithm 1, :mod:`rhel.engine.echo`) with the engine's own pieces
(:func:`rhel.engine.integrate`, :func:`rhel.engine.leapfrog_step`, :func:`rhel.engine.echo.echo_scales`) and
records every step. Its totals are the engine's RHEL gradients (the tests check this to round-off); it
stores O(L·(P + |θ|)) numbers, so it is a tool for inspection and small physical systems, not for
training large models.

What is recorded, for the forward grid ``t_k = k δ`` (k = 0 … L), with ``g_k = ∂L/∂φ_k`` the loss
cotangent at the output ``φ_k`` (k ≥ 1), ``c`` the nudge scale and ``Φ± = (φ±, π±)`` the two echoes
after they have replayed the forward pass back to ``t_k``:

* the adjoint state (the discrete adjoint of BPTT, Theorem 3.1 of the paper)

      λ_k = (∂L/∂φ_k, ∂L/∂π_k) = (c/2ε) Σx(Φ±) / δ = (c/2ε) ((π+ − π−)/δ, (φ+ − φ−)/δ),

  the sensitivity of the loss incurred *after* ``t_k`` (outputs ``φ_{k+1} … φ_L``) to the state at
  ``t_k``; ``λ_0`` is the initial-state gradient;
* the partial parameter gradient ``G_k = −(c/2ε) Σ_{j ≥ k} [∇_θ V(φ+_{j+½}; u_j) − ∇_θ V(φ−_{j+½}; u_j)]``:
  what the echo has accumulated once it has travelled from ``t_L`` back to ``t_k``; ``G_0`` is ∂L/∂θ
  and ``G_L = 0``. In continuous time (δ → 0) this is ``−(1/2ε)∫ [∇_θH(Φᵉ₊) − ∇_θH(Φᵉ₋)] ds`` over
  echo time ``s = T − t`` (RHEL-SPEC §2);
* the per-step input gradients ``∂L/∂u_k`` (k = 0 … L−1).
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
from jax import lax
from jaxtyping import Array, Float, PyTree

from rhel.engine.echo import echo_scales
from rhel.engine.gradient import RHEL, check_gradient_method
from rhel.engine.integrate import integrate
from rhel.engine.leapfrog import Potential, leapfrog_step
from rhel.engine.pair import flipped_start, lanes, nudge, pair_derivatives
from rhel.engine.simulate import check_system
from rhel.errors import RHELError


class EchoTrace(NamedTuple):
    """The forward pass and the two RHEL echoes of one sequence, step by step (see the module doc).

    Arrays with a leading axis of size L+1 are indexed by the forward step k = 0 … L (time ``k δ``);
    the echo visits them in the order k = L, L−1, …, 0.
    """

    loss: Float[Array, ""]
    """The loss of the forward pass."""
    phi: Float[Array, "L+1 P"]
    """Forward positions φ_0 … φ_L."""
    pi: Float[Array, "L+1 P"]
    """Forward momenta π_0 … π_L (computed by one extra forward integration, for display)."""
    echo_phi: Float[Array, "2 L+1 P"]
    """Positions of the +ε and −ε echoes when they are back at time t_k."""
    echo_pi: Float[Array, "2 L+1 P"]
    """Momenta of the two echoes at t_k (≈ −π_k: the echo runs with flipped momenta)."""
    adjoint_phi: Float[Array, "L+1 P"]
    """λ^φ_k = ∂L/∂φ_k, the loss after t_k only."""
    adjoint_pi: Float[Array, "L+1 P"]
    """λ^π_k = ∂L/∂π_k."""
    cotangent: Float[Array, "L+1 P"]
    """The loss cotangents g_k = ∂L/∂φ_k that nudge the echoes (g_0 = 0: φ_0 is not an output)."""
    partial_grad: Any
    """A pytree like ``params`` with a leading L+1 axis: the parameter gradient accumulated by the echo
    from t_L back to t_k (``partial_grad[0]`` is ∂L/∂θ)."""
    grad_inputs: Float[Array, "L H"]
    """∂L/∂u_k from the echo."""

    @property
    def adjoint_midpoint(self) -> tuple[Float[Array, "L+1 P"], Float[Array, "L+1 P"]]:
        """``(λ^φ_k + g_k/2, λ^π_k)``: the adjoint with the output at t_k counted half.

        The echo's momentum jumps by the nudge at every output, so ∂L/∂φ jumps by g_k at t_k (λ^φ_k
        is the value just after the jump in forward time, ``λ^φ_k + g_k`` the value just before it). When
        the loss is a quadrature of a running loss, ``L ≈ Σ_k δ ℓ(φ_k, t_k)``, the jumps are O(δ) and the
        midpoint of each jump is the second-order estimate of the continuous adjoint λ(t_k), while either
        side is only first order. (At the two ends of a trapezoidal rule, use the one-sided values.)
        """
        return self.adjoint_phi + 0.5 * self.cotangent, self.adjoint_pi

    @property
    def grad_params(self) -> PyTree:
        """The total parameter gradient ∂L/∂θ."""
        return jax.tree.map(lambda g: g[0], self.partial_grad)


def forward_momenta(
    potential: Potential,
    params: PyTree,
    inputs: Float[Array, "L H"],
    phi0: Float[Array, " P"],
    pi0: Float[Array, " P"],
    dt: Float[Array, "*P"],
) -> Float[Array, "L+1 P"]:
    """The momenta π_0 … π_L of the forward pass (:func:`rhel.engine.integrate` returns positions)."""

    def body(state, u):
        r = leapfrog_step(potential, params, u, dt, *state)
        return (r.phi, r.pi), r.pi

    _, pis = lax.scan(body, (phi0, pi0), inputs)
    return jnp.concatenate([pi0[None], pis])


def check_loss(loss: Callable, positions: jax.ShapeDtypeStruct, what: str) -> None:
    """Check on abstract values that ``loss`` maps ``positions`` (``what`` names them, e.g. "the positions
    φ_1 … φ_L") to a floating-point scalar; raise an :class:`RHELError` naming the fix otherwise."""
    try:
        out = jax.eval_shape(loss, positions)
    except Exception as e:  # the user's function failed on abstract values of the right shape
        raise RHELError(
            f"loss failed on {what}, shape {positions.shape}: {type(e).__name__}: {e}"
        ) from e
    if getattr(out, "shape", None) != () or not jnp.issubdtype(out.dtype, jnp.floating):
        raise RHELError(
            f"loss must map {what}, shape {positions.shape}, to a floating-point scalar; it returned "
            f"{getattr(out, 'shape', type(out).__name__)}. Reduce it, e.g. with jnp.sum or jnp.mean."
        )


def echo_trace(
    potential: Potential,
    params: PyTree,
    inputs: Float[Array, "L H"],
    state0: tuple[Float[Array, " P"], Float[Array, " P"]],
    loss: Callable[[Float[Array, "L P"]], Float[Array, ""]],
    *,
    dt: float | Float[Array, "*P"],
    gradient: RHEL = RHEL(),
) -> EchoTrace:
    """Run the forward pass and the RHEL echo of ``loss(simulate(...))``, recording every echo step.

    Args:
        potential, params, inputs, state0, dt: as for :func:`rhel.simulate`.
        loss: a function of the forward positions φ_1 … φ_L (shape (L, P)) returning a scalar; its
            gradient (by autodiff) is the cotangent that nudges the echoes.
        gradient: the :class:`rhel.RHEL` settings (ε and the nudge convention).

    Returns:
        An :class:`EchoTrace`. Its ``grad_params``, ``grad_inputs`` and ``adjoint_*[0]`` equal the
        gradients :func:`rhel.simulate` gives with the same ``gradient``.

    The arguments are checked first, on their concrete values (a bad ``dt`` or ``loss`` raises an
    :class:`RHELError` at once); the echo itself is compiled (``equinox.filter_jit``).
    """
    method = check_gradient_method(gradient)
    if not isinstance(method, RHEL):
        raise RHELError(
            f"echo_trace records the RHEL echo; got gradient={method!r}. Pass gradient=rhel.RHEL(...)."
        )
    inputs, phi0, pi0, dt = check_system(potential, params, inputs, state0, dt)
    positions = jax.ShapeDtypeStruct((inputs.shape[0],) + phi0.shape, phi0.dtype)
    check_loss(loss, positions, "the positions φ_1 … φ_L")
    return _echo_trace(potential, params, inputs, phi0, pi0, loss, dt, method)


@eqx.filter_jit
def _echo_trace(
    potential: Potential,
    params: PyTree,
    inputs: Float[Array, "L H"],
    phi0: Float[Array, " P"],
    pi0: Float[Array, " P"],
    loss: Callable[[Float[Array, "L P"]], Float[Array, ""]],
    dt: Float[Array, "*P"],
    method: RHEL,
) -> EchoTrace:
    """:func:`echo_trace` on checked arguments."""
    phis, (phiL, piL) = integrate(potential, params, inputs, phi0, pi0, dt)
    value, cotangent = jax.value_and_grad(loss)(phis)
    step = jnp.broadcast_to(dt, phiL.shape)
    kick, factor, _ = echo_scales(method, cotangent, step)  # factor: times a half-difference
    derivatives = pair_derivatives(potential)

    def body(carry, x):
        phi2, pi2, acc = carry
        u, g = x
        pi2 = nudge(pi2, kick * step * g)
        r = leapfrog_step(potential, params, u, dt, phi2, pi2, derivatives=derivatives)
        acc = jax.tree.map(lambda a, d: a + factor * d, acc, r.dV_dparams)
        return (r.phi, r.pi, acc), (r.phi, r.pi, acc, factor * r.dV_du)

    start = flipped_start(phiL, piL)
    acc0 = jax.tree.map(jnp.zeros_like, params)
    _, (e_phi, e_pi, partial, du) = lax.scan(
        body, (*start, acc0), (inputs, cotangent), reverse=True
    )

    def with_end(stacked, last):  # append the state at t_L, where the echo starts
        return jnp.concatenate([stacked, last[None]], axis=0)

    echo_phi = jnp.moveaxis(with_end(e_phi, start[0]), 1, 0)  # pairs: mean and half-difference
    echo_pi = jnp.moveaxis(with_end(e_pi, start[1]), 1, 0)
    partial = jax.tree.map(with_end, partial, acc0)
    return EchoTrace(
        loss=value,
        phi=jnp.concatenate([phi0[None], phis]),
        pi=forward_momenta(potential, params, inputs, phi0, pi0, dt),
        echo_phi=lanes(echo_phi),
        echo_pi=lanes(echo_pi),
        adjoint_phi=-factor * echo_pi[1] / step,
        adjoint_pi=-factor * echo_phi[1] / step,
        cotangent=jnp.concatenate([jnp.zeros_like(phi0)[None], cotangent]),
        partial_grad=partial,
        grad_inputs=du,
    )
