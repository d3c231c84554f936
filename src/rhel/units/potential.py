"""A Hamiltonian Recurrent Unit built from any potential energy a user writes.

Given ``V(φ, u, θ) -> scalar`` the unit integrates ``H = ½‖π‖² + V(φ; θ, u_k)`` with the engine's leapfrog
(:func:`rhel.simulate`) from the zero state and reads out

    o_k = C φ_k + D ⊙ u_k,        C ∈ R^{H×P},  D ∈ R^H.

The potential, its parameters θ, the readout and the step size are all the unit needs. Optionally a
*drive* (:mod:`rhel.units.drive`), a feed-forward map ``v = drive(u)`` applied to the whole sequence
before the recurrence, turns the potential's input into ``v_k`` instead of ``u_k``: the usual
``B u + b`` then leaves the per-step work. The dynamics are never rewritten here, so BPTT and RHEL
differentiate exactly the same map. The paper's nonlinear HRU
(:func:`rhel.units.nonlinear.nonlinear_hru`) is one instance; the linear HRU is another (its potential
is quadratic, ``½ Σ a_i φ_i² − φᵀ B u``), which :class:`rhel.units.linear.LinearHRU` runs faster with a
parallel scan.

Step size. δ (a scalar or one per dimension) is either *fixed* — stored as a static value, so it is not a
parameter and neither gradient method differentiates it — or *trained*, parameterised as
``δ = δ_max · sigmoid(δ̂)`` (always in (0, δ_max)); its gradient then comes from the engine, exactly, for
both methods (RHEL reads it from the echo, BPTT from autodiff).
"""

from __future__ import annotations

import math
from typing import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray, PyTree

from rhel.argcheck import positive_integer
from rhel.engine.echo import echo_gradients, explicit_potential, final_state_vjp
from rhel.engine.gradient import RHEL, GradientMethod
from rhel.engine.integrate import integrate
from rhel.engine.leapfrog import Potential
from rhel.engine.simulate import check_system, simulate
from rhel.errors import RHELError
from rhel.units.base import HRU


def _check_dt(dt, dt_max: float, state: int) -> np.ndarray:
    arr = np.asarray(dt, dtype=np.float64)
    if arr.shape not in ((), (state,)):
        raise RHELError(
            f"dt must be a scalar or one step per state dimension, shape ({state},); got shape {arr.shape}."
        )
    if not np.all(np.isfinite(arr) & (arr > 0) & (arr < dt_max)):
        raise RHELError(
            f"dt must lie in (0, dt_max={dt_max}); got {arr if arr.size < 8 else 'values outside it'}. "
            "Lower dt or raise dt_max."
        )
    return arr


class PotentialHRU(HRU):
    """An HRU whose dynamics are the leapfrog of a user-supplied potential ``V(φ, u, params)``.

    Args:
        potential: ``V(phi (P,), u (H,), params) -> scalar`` (the kinetic energy is ½‖π‖²). It is stored
            as a static field, so pass a module-level function (or any hashable callable).
        params: the trainable parameters θ of the potential, any pytree of floating-point arrays
            (constraints such as positivity belong inside ``potential``: then both gradient methods
            differentiate the unconstrained values).
        hidden: H, the width of the input and the output.
        state: P, the number of positions.
        key: a JAX PRNG key (initialises C and D).
        dt: the step size δ, a scalar or one per dimension (P,), in (0, dt_max).
        train_dt: train δ (``δ = dt_max · sigmoid(δ̂)``) or keep it fixed (the default).
        dt_max: the upper bound of a trained δ.
        dtype: floating dtype of C and D (default: JAX's default float).
        drive: optional module mapping the inputs ``u (L, H)`` to the potential's inputs ``v (L, D)``
            for all steps at once (e.g. :class:`rhel.units.drive.AffineDrive`); the potential is then
            ``V(phi, v_k, params)``. Its parameters are trained by autodiff through the engine's input
            gradients, for both gradient methods.
    """

    potential: Potential = eqx.field(static=True)
    params: PyTree
    drive: Callable[[Float[Array, "L H"]], Float[Array, "L D"]] | None
    C: Float[Array, "H P"]
    D: Float[Array, " H"]
    dt_raw: Float[Array, "*P"] | None
    dt_fixed: float | tuple[float, ...] | None = eqx.field(static=True)
    dt_max: float = eqx.field(static=True)

    def __init__(
        self,
        potential: Potential,
        params: PyTree,
        *,
        hidden: int,
        state: int,
        key: PRNGKeyArray,
        dt: float | Float[Array, " P"] = 0.1,
        train_dt: bool = False,
        dt_max: float = 1.0,
        dtype=None,
        drive: Callable[[Float[Array, "L H"]], Float[Array, "L D"]] | None = None,
    ):
        if not callable(potential):
            raise RHELError(
                "potential must be a function V(phi, u, params) -> scalar; got "
                f"{type(potential).__name__}."
            )
        positive_integer("hidden", hidden)
        positive_integer("state", state)
        dt = _check_dt(dt, dt_max, state)
        dtype = jnp.result_type(float) if dtype is None else dtype
        kc, kd = jr.split(key)
        if drive is not None and not callable(drive):
            raise RHELError(
                f"drive must be a module or function mapping inputs (L, H) to (L, D); got "
                f"{type(drive).__name__}."
            )
        self.potential = potential
        self.params = params
        self.drive = drive
        self.C = jr.normal(kc, (hidden, state), dtype) / math.sqrt(state)
        self.D = jr.normal(kd, (hidden,), dtype)
        self.dt_max = float(dt_max)
        if train_dt:
            self.dt_raw = jnp.asarray(np.log(dt / (dt_max - dt)), dtype)  # sigmoid⁻¹(dt / dt_max)
            self.dt_fixed = None
        else:
            self.dt_raw = None
            self.dt_fixed = float(dt) if dt.ndim == 0 else tuple(float(v) for v in dt)

    @property
    def hidden(self) -> int:
        return self.C.shape[0]

    @property
    def state(self) -> int:
        return self.C.shape[1]

    def step_size(self, dtype=None) -> Float[Array, "*P"]:
        """The leapfrog step δ (trained: ``dt_max · sigmoid(δ̂)``; fixed: a constant)."""
        if self.dt_raw is None:
            return jnp.asarray(self.dt_fixed, dtype or self.C.dtype)
        return self.dt_max * jax.nn.sigmoid(self.dt_raw)

    def __call__(
        self, u: Float[Array, "L H"], *, gradient: GradientMethod
    ) -> Float[Array, "L H"]:
        """``o_k = C φ_k + D ⊙ u_k`` with φ_1 … φ_L from the leapfrog of V driven by ``u`` (or ``drive(u)``)."""
        u = u if hasattr(u, "dtype") else jnp.asarray(u, self.C.dtype)  # e.g. a nested list
        if jnp.ndim(u) != 2 or jnp.shape(u)[1] != self.hidden:
            raise RHELError(
                f"{type(self).__name__} expects inputs of shape (L, {self.hidden}) (one sequence); got "
                f"{jnp.shape(u)}. Use jax.vmap for a batch."
            )
        dt = self.step_size(u.dtype)
        if isinstance(gradient, RHEL):
            return _rhel_unit(self.potential, gradient, self.params, self.drive, self.C, self.D, dt, u)
        zeros = jnp.zeros((self.state,), u.dtype)
        v = u if self.drive is None else self.drive(u)
        phis = simulate(self.potential, self.params, v, (zeros, zeros), dt=dt, gradient=gradient)
        return _readout(phis, self.C, self.D, u)


def _readout(phis, C, D, u):
    """``o_k = C φ_k + D ⊙ u_k``."""
    return phis @ C.T + D * u


def _in_dtype_of(gradient, primal):
    """``gradient`` in the dtype of its (floating) ``primal``."""
    dtype = jnp.result_type(primal)
    return gradient.astype(dtype) if jnp.issubdtype(dtype, jnp.inexact) else gradient


def _rhel_unit(potential, method: RHEL, params, drive, C, D, dt, u):
    """The unit ``u ↦ o`` (drive, leapfrog, readout) as one RHEL custom VJP.

    The forward pass stores the inputs ``u`` and the final state only: autodiff of the drive and the
    readout around :func:`rhel.simulate` would keep the drive's output ``v`` and the positions φ_1 … φ_L
    (two (L, P) arrays) until the backward pass. The backward pass recomputes ``v = drive(u)``, turns the
    output cotangent into ``g_k = Cᵀ do_k``, runs the engine's echo, sends ``∂L/∂v`` back through the
    drive, and takes ``∂L/∂C = Σ_k do_k φ̄_kᵀ`` from the echoes' replay φ̄ of the trajectory.
    """
    drive_arrays, drive_static = eqx.partition(drive, eqx.is_array)

    def drive_fn(arrays, u):
        return u if drive is None else eqx.combine(arrays, drive_static)(u)

    # values the potential closes over (e.g. a weight under jax.grad) become parameters of the custom VJP
    v = jax.eval_shape(drive_fn, drive_arrays, u)
    potential, params = explicit_potential(
        potential, jnp.zeros((C.shape[1],), u.dtype), jnp.zeros(v.shape[1:], v.dtype), params
    )

    def forward(params, arrays, C, D, dt, u):
        zeros = jnp.zeros((C.shape[1],), u.dtype)
        v, phi0, pi0, dt = check_system(potential, params, drive_fn(arrays, u), (zeros, zeros), dt)[:4]
        phis, final = integrate(potential, params, v, phi0, pi0, dt)
        return _readout(phis, C, D, u), final

    def backward(args, final, do):
        params, arrays, C, D, dt, u = args
        do = do.astype(u.dtype)
        v, drive_vjp = jax.vjp(drive_fn, arrays, u)
        (g_params, g_v, _, _, g_dt), phi_bar = echo_gradients(
            potential, method, params, v, jnp.zeros_like(final[0]), *final, dt, do @ C, replay=True
        )
        g_arrays, g_u = drive_vjp(g_v.astype(v.dtype))
        grads = (g_params, g_arrays, do.T @ phi_bar, jnp.sum(do * u, axis=0), g_dt, g_u + D * do)
        return jax.tree.map(_in_dtype_of, grads, args)  # e.g. float32 C, D given float64 inputs u

    return final_state_vjp(forward, backward)(params, drive_arrays, C, D, dt, u)


__all__ = ["PotentialHRU"]
