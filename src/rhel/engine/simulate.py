"""``rhel.simulate``: run a Hamiltonian system over an input sequence, differentiable by BPTT or RHEL."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, PyTree

from rhel.engine.echo import rhel_integrate
from rhel.engine.gradient import BPTT, RHEL, GradientMethod, check_gradient_method
from rhel.engine.integrate import integrate
from rhel.engine.leapfrog import Potential
from rhel.errors import RHELError


def _shape(x) -> tuple[int, ...]:
    return tuple(jnp.shape(x))


def check_system(
    potential: Potential,
    params: PyTree,
    inputs,
    state0,
    dt,
) -> tuple[Array, Array, Array, Array]:
    """Validate the arguments of :func:`simulate`; return ``(inputs, phi0, pi0, dt)`` as arrays.

    Raises :class:`rhel.errors.RHELError` with a message naming the problem and the fix. Checks that
    can be made on shapes happen at trace time; a non-finite or non-positive ``dt`` is checked at once
    when ``dt`` is concrete and at run time (``equinox.error_if``) when it is traced.
    """
    if not callable(potential):
        raise RHELError(
            f"potential must be a function V(phi, u, params) -> scalar, got {type(potential).__name__}."
        )
    if not hasattr(inputs, "shape") or len(_shape(inputs)) != 2:
        got = _shape(inputs) if hasattr(inputs, "shape") else type(inputs).__name__
        raise RHELError(
            f"inputs must have shape (L, H): one input vector per step; got {got}. For a batch of "
            "sequences use jax.vmap over simulate; for a scalar input per step use inputs[:, None]."
        )
    if _shape(inputs)[0] < 1:
        raise RHELError("inputs has length 0: simulate needs at least one step (L >= 1).")
    if not (isinstance(state0, (tuple, list)) and len(state0) == 2):
        raise RHELError(
            "state0 must be a pair (phi0, pi0) of positions and momenta, each of shape (P,); "
            f"got {type(state0).__name__}."
        )
    phi0, pi0 = state0
    if len(_shape(phi0)) != 1 or _shape(phi0) != _shape(pi0):
        raise RHELError(
            f"state0 = (phi0, pi0) must be two vectors of the same shape (P,); got shapes "
            f"{_shape(phi0)} and {_shape(pi0)}."
        )
    (P,) = _shape(phi0)
    if dt is None or isinstance(dt, (str, bytes)):
        raise RHELError(
            f"dt must be a number > 0 or an array of them, one per dimension (the leapfrog step); got {dt!r}."
        )
    if _shape(dt) not in ((), (P,)):
        raise RHELError(
            f"dt must be a scalar or have one step per dimension, shape ({P},); got shape {_shape(dt)}."
        )
    for leaf in jax.tree.leaves(params):
        if not jnp.issubdtype(jnp.result_type(leaf), jnp.inexact):
            raise RHELError(
                f"params must be a pytree of floating-point arrays; found a leaf of dtype "
                f"{jnp.result_type(leaf)}. Convert it with jnp.asarray(x, dtype=float) or close over it."
            )

    for name, x in (("inputs", inputs), ("phi0", phi0), ("pi0", pi0), ("dt", dt)):
        if jnp.iscomplexobj(x):
            raise RHELError(
                f"{name} is complex; the leapfrog runs on real numbers (a cast would drop the imaginary "
                "part). Split a complex quantity into its real and imaginary parts, e.g. "
                "jnp.concatenate([x.real, x.imag], axis=-1)."
            )
    dtype = jnp.result_type(inputs, phi0, pi0)
    if not jnp.issubdtype(dtype, jnp.floating):
        dtype = jnp.result_type(float)
    inputs = jnp.asarray(inputs, dtype)
    phi0 = jnp.asarray(phi0, dtype)
    pi0 = jnp.asarray(pi0, dtype)
    # dt takes the state's dtype: a float64 dt with a float32 state would otherwise promote the
    # state inside the scan (a carry-type error); its gradient is cast back to dt's own dtype.
    dt = jnp.asarray(dt, dtype)

    try:
        out = jax.eval_shape(potential, phi0, inputs[0], params)
    except Exception as e:  # the user's function failed on abstract values of the right shapes
        raise RHELError(
            f"potential(phi, u, params) failed for phi of shape ({P},) and u of shape "
            f"({_shape(inputs)[1]},): {type(e).__name__}: {e}"
        ) from e
    if not hasattr(out, "shape") or out.shape != () or not jnp.issubdtype(out.dtype, jnp.floating):
        got = f"shape {out.shape}, dtype {out.dtype}" if hasattr(out, "shape") else type(out).__name__
        raise RHELError(
            "potential(phi, u, params) must return a floating-point scalar (the potential energy V); "
            f"it returned {got}. Sum over dimensions, e.g. return jnp.sum(...)."
        )

    bad_dt = (
        "dt must be finite and > 0 (the leapfrog step size); got {dt}. A trained step should go "
        "through a positive map, e.g. dt = jax.nn.sigmoid(raw) or jax.nn.softplus(raw)."
    )
    if isinstance(dt, jax.core.Tracer):
        got = "a non-finite or non-positive value at run time"
        dt = eqx.error_if(dt, ~jnp.all(jnp.isfinite(dt) & (dt > 0)), bad_dt.format(dt=got))
    else:
        dt_np = np.asarray(dt)
        if not np.all(np.isfinite(dt_np) & (dt_np > 0)):
            raise RHELError(bad_dt.format(dt=dt_np))
    return inputs, phi0, pi0, dt


def simulate(
    potential: Potential,
    params: PyTree,
    inputs: Float[Array, "L H"],
    state0: tuple[Float[Array, " P"], Float[Array, " P"]],
    *,
    dt: float | Float[Array, "*P"],
    gradient: GradientMethod = BPTT(),
) -> Float[Array, "L P"]:
    """Integrate ``H(φ, π) = ½‖π‖² + V(φ; params, u)`` over the inputs; return the positions φ_1 … φ_L.

    Each step is one leapfrog (drift–kick–drift) step, with the kick evaluated at the half-step position
    (see :mod:`rhel.engine.leapfrog`). The result is differentiable w.r.t. ``params``, ``inputs``,
    ``state0`` and ``dt`` with ``jax.grad``/``jax.vjp``, by the chosen gradient method:

    * ``gradient=rhel.BPTT()`` — autodiff through the integrator;
    * ``gradient=rhel.RHEL(epsilon=...)`` — the echo (Algorithm 1): flip the final momenta, replay the
      inputs backwards while nudging by ±ε times the incoming cotangent, and read the gradients from the
      difference of the two echoes. Exact for quadratic potentials at any ε; O(ε²) otherwise.

    Args:
        potential: ``V(phi, u, params) -> scalar``, the potential energy; the kinetic energy is ½‖π‖².
        params: any pytree of floating-point arrays (θ).
        inputs: one input vector per step, shape (L, H).
        state0: the initial state ``(phi0, pi0)``, each of shape (P,).
        dt: the step size δ > 0, a scalar or one per dimension (P,).
        gradient: the gradient method.

    Works under ``jit``, ``vmap`` (a batch of sequences) and ``grad``.
    """
    gradient = check_gradient_method(gradient)
    inputs, phi0, pi0, dt = check_system(potential, params, inputs, state0, dt)
    if isinstance(gradient, RHEL):
        return rhel_integrate(potential, gradient, params, inputs, phi0, pi0, dt)
    checkpoint = gradient.checkpoint if isinstance(gradient, BPTT) else False
    return integrate(potential, params, inputs, phi0, pi0, dt, checkpoint=checkpoint)[0]
