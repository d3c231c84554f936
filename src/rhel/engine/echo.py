"""The RHEL echo (Algorithm 1 of Pourcel & Ernoult, 2025), as a custom VJP of the forward pass.

Coordinates. With a per-dimension step δ the leapfrog in ``(φ, π)`` is the *unit-step* leapfrog of
``Ṽ(q) = V(δ ⊙ q)`` in the coordinates ``q = φ / δ``, ``p = π`` (substitute and compare term by term).
That map is symplectic and reversible, so the echo theorem applies to it, with the loss gradient in
those coordinates ``∂L/∂q_k = δ ⊙ g_k`` where ``g_k = ∂L/∂φ_k``. For a scalar δ this is the paper's
algorithm with its ε rescaled by δ. Writing ``n_k = (ε/c) δ ⊙ g_k`` for the nudge (``c`` from
:meth:`rhel.RHEL.nudge_scale`) and ``Φ± = (φ±, π±)`` for the two echoes:

1. start from the flipped final state, ``Φ± = (φ_L, −π_L)``;
2. for k = L−1, …, 0: nudge ``π± += ±n_{k+1}``, then take one leapfrog step with input ``u_k``
   (replayed backwards), reading the half-step position ``φ±_½`` at which the kick is evaluated, and
   accumulate

       ∂L/∂θ   += −(c/2ε) [∇_θ V(φ+_½; u_k) − ∇_θ V(φ−_½; u_k)]
       ∂L/∂u_k  = −(c/2ε) [∇_u V(φ+_½; u_k) − ∇_u V(φ−_½; u_k)]
       ∂L/∂δ   += −(c/2ε) [φ+_½ ⊙ ∇_φ V(φ+_½) − φ−_½ ⊙ ∇_φ V(φ−_½)] / δ  +  g_{k+1} ⊙ φ̄_{k+1} / δ

   where φ̄ = (φ+ + φ−)/2 is the echo's estimate of the forward position (the last term is the explicit
   dependence of the outputs φ = δ ⊙ q on δ);
3. after the last step the initial-state gradient is the swapped difference,
   ``∂L/∂φ_0 = (c/2ε)(π+ − π−)/δ`` and ``∂L/∂π_0 = (c/2ε)(φ+ − φ−)/δ``, and δ receives
   ``−φ_0 ⊙ ∂L/∂φ_0 / δ`` from the dependence of ``q_0 = φ_0/δ`` on δ.

Both echoes advance together in one scan, stored as their mean and half-difference (a leading axis of
size 2, :mod:`rhel.engine.pair`): the nudge ``±n`` adds ``n`` to the half-difference of the momenta, every
difference above is twice a half-difference, and the half-difference is never rounded against the size
of the states. The parameter gradients are summed in the scan carry, and nothing of the forward trajectory
is stored: memory is independent of the length apart from the inputs, the outputs and the per-step input
gradients. For a quadratic potential the echo is affine in ε and every formula above is exact for any ε;
otherwise the error is O(ε²).
"""

from __future__ import annotations

from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
from jax import lax
from jaxtyping import Array, Bool, Float, PyTree

from rhel.engine.gradient import RHEL
from rhel.engine.integrate import integrate
from rhel.engine.leapfrog import Potential, leapfrog_step
from rhel.engine.pair import flipped_start, half_difference_of_product, nudge, pair_derivatives

_ECHO_NAN_MESSAGE = (
    "The RHEL echo produced a non-finite gradient from a finite forward pass and finite cotangents. "
    "The echo diverged: the nudge is too strong for this system, or the step size makes the leapfrog "
    "unstable. Lower RHEL(epsilon=...), keep nudge='relative', or reduce dt; rhel.reversibility_error "
    "tells whether the dynamics can be replayed backwards at this step size."
)


def _all_finite(tree: PyTree) -> Array:
    leaves = [jnp.all(jnp.isfinite(x)) for x in jax.tree.leaves(tree)]
    return jnp.all(jnp.stack(leaves)) if leaves else jnp.asarray(True)


def _max_abs(x: Array) -> Array:
    """``max |x|`` (NaN if any entry is NaN; zero for an empty array)."""
    return jnp.max(jnp.abs(x), initial=0.0) if jnp.size(x) else jnp.zeros((), x.dtype)


def _raise_if(x: PyTree, bad: Array) -> PyTree:
    """Raise the echo error at run time when ``bad``, without copying the arrays of ``x`` (a pytree).

    ``eqx.error_if`` returns its argument through a conditional, and XLA gives a conditional's outputs
    their own buffers: applied to an (L, H) input gradient directly it would copy it. Instead the check
    is threaded through a scalar zero, which is then added to one element of each array (an in-place
    update), so every array still depends on the one check and nothing is copied.
    """
    zero = eqx.error_if(jnp.zeros((), jnp.float32), bad, _ECHO_NAN_MESSAGE)

    def thread(x):
        if jnp.size(x) == 0:  # e.g. the input gradients of an autonomous system, inputs (L, 0)
            return x
        if jnp.ndim(x) == 0:
            return x + zero.astype(x.dtype)
        return x.at[(0,) * jnp.ndim(x)].add(zero.astype(x.dtype))

    return jax.tree.map(thread, x)


def check_echo_gradients(grads: PyTree, sane: Array) -> PyTree:
    """Raise the echo error (at run time) for any non-finite gradient leaf, when the inputs were ``sane``.

    ``sane`` says that the echo started from finite values (a finite final state, finite cotangents):
    a non-finite gradient is then the echo's own divergence. A non-finite cotangent comes from the loss
    and propagates silently, as it would through BPTT.

    Each leaf is checked on its own and carries its own check, so that a gradient the caller does not
    use is dead code together with its check (a single flag over all the leaves would keep every
    gradient, e.g. the (L, H) input gradients, alive).
    """
    return jax.tree.map(lambda x: _raise_if(x, ~jnp.all(jnp.isfinite(x)) & sane), grads)


def check_echo_group(grads: PyTree, diverged: Array, sane: Array) -> PyTree:
    """One run-time check for a group of gradients that are always used together: raise the echo error
    when ``diverged`` (e.g. some leaf, or the echo's final state, is not finite) and the inputs were
    ``sane`` (see :func:`check_echo_gradients`). One conditional instead of one per leaf."""
    return _raise_if(grads, diverged & sane)


class EchoScales(NamedTuple):
    """What turns a cotangent into the echoes' nudges and their difference into gradients (scalars)."""

    kick: Float[Array, ""]
    """``ε/c``: the nudge of step k is ``±kick · δ ⊙ g_k``."""
    factor: Float[Array, ""]
    """``−c/ε``, the factor of every half-difference of the two echoes (``−c/2ε`` times a difference);
    exactly zero when the cotangent is zero."""
    cotangent_finite: Bool[Array, ""]
    """Whether every cotangent is finite."""


def echo_scales(method: RHEL, cotangent: Float[Array, "L P"], step: Float[Array, " P"]) -> EchoScales:
    """The nudge's and the gradients' scale for the cotangents ``g`` of one sequence, at step ``δ``.

    A zero cotangent must give exactly zero gradients. Without a nudge the half-differences stay zero,
    but autodiff derivatives evaluate V at both (equal) lanes, which XLA may round differently
    (vectorised and scalar code paths): that noise must not be amplified by ``c/ε``, so the factor is
    zero then.
    """
    scale = method.nudge_scale(cotangent, step, weight=step)
    # One float reduction of the cotangent gives both flags (NaN propagates through max, and a max
    # cannot overflow); a boolean reduction would materialise an (L, P) array of booleans.
    g_max = _max_abs(cotangent)
    factor = jnp.where(g_max != 0, -scale / method.epsilon, jnp.zeros_like(scale))
    return EchoScales(method.epsilon / scale, factor, jnp.isfinite(g_max))


def echo_gradients(
    potential: Potential,
    method: RHEL,
    params: PyTree,
    inputs: Float[Array, "L H"],
    phi0: Float[Array, " P"],
    phiL: Float[Array, " P"],
    piL: Float[Array, " P"],
    dt: Float[Array, "*P"],
    cotangent: Float[Array, "L P"],
    *,
    replay: bool = False,
):
    """Gradients of ``Σ_k ⟨g_k, φ_k⟩`` w.r.t. ``(params, inputs, phi0, pi0, dt)`` from the two echoes.

    With ``replay=True`` it also returns the echoes' mean positions φ̄_1 … φ_L (L, P): the forward
    trajectory as the echo replays it (exact for a quadratic potential, O(ε²) otherwise), for a caller
    that needs it for gradients of its own (e.g. a readout's weights) instead of storing it.
    """
    dtype = phiL.dtype
    dt_in = dt  # its gradient is returned in its own shape and dtype
    dt = jnp.asarray(dt).astype(dtype)  # a float64 step would promote a float32 echo's carry
    step = jnp.broadcast_to(dt, phiL.shape)
    cotangent = cotangent.astype(dtype)
    # The factor multiplies the per-step terms of the dt gradient inside the scan, so that they and the
    # explicit term g·φ̄ share one accumulator.
    kick, factor, cotangent_finite = echo_scales(method, cotangent, step)
    derivatives = pair_derivatives(potential)

    def body(carry, x):
        phi2, pi2, acc_params, acc_dt = carry
        u, g = x
        pi2 = nudge(pi2, kick * step * g)
        phi_mean = phi2[0]
        r = leapfrog_step(potential, params, u, dt, phi2, pi2, derivatives=derivatives)
        acc_params = jax.tree.map(jnp.add, acc_params, r.dV_dparams)
        acc_dt = acc_dt + factor * half_difference_of_product(r.phi_half, r.dV_dphi) + g * phi_mean
        out = (r.dV_du, phi_mean) if replay else r.dV_du
        return (r.phi, r.pi, acc_params, acc_dt), out

    phi2, pi2 = flipped_start(phiL, piL)
    acc_params = jax.tree.map(jnp.zeros_like, params)
    (phi2, pi2, acc_params, acc_dt), out = lax.scan(
        body, (phi2, pi2, acc_params, jnp.zeros_like(phiL)), (inputs, cotangent), reverse=True
    )
    du, phi_bar = out if replay else (out, None)
    grad_params = jax.tree.map(lambda a: (factor * a).astype(a.dtype), acc_params)
    grad_inputs = (factor * du).astype(inputs.dtype)
    grad_phi0 = -factor * pi2[1] / step
    grad_pi0 = -factor * phi2[1] / step
    grad_step = (acc_dt - phi0 * grad_phi0) / step
    grad_dt = grad_step.reshape(jnp.shape(dt_in)) if jnp.ndim(dt_in) else jnp.sum(grad_step)
    grads = (grad_params, grad_inputs, grad_phi0, grad_pi0, grad_dt.astype(jnp.result_type(dt_in)))
    if method.check_finite:
        # Each gradient carries its own check, so that a gradient the caller does not use is dead code
        # together with its check. The input gradients are not read again (that would keep the (L, H)
        # array alive as a temporary, and a check in the loop costs a kernel per step): an echo that
        # diverged on the way leaves a non-finite echo state at its end, which is checked instead.
        sane = cotangent_finite & _all_finite((phiL, piL))
        grad_params, grad_inputs, *rest = grads
        grad_params, rest = check_echo_gradients((grad_params, rest), sane)
        grads = (grad_params, check_echo_group(grad_inputs, ~_all_finite((phi2, pi2)), sane), *rest)
    return (grads, phi_bar) if replay else grads


def rhel_integrate(
    potential: Potential,
    method: RHEL,
    params: PyTree,
    inputs: Float[Array, "L H"],
    phi0: Float[Array, " P"],
    pi0: Float[Array, " P"],
    dt: Float[Array, "*P"],
) -> Float[Array, "L P"]:
    """The forward pass, differentiated by the RHEL echo instead of by autodiff.

    A potential may close over values that are being differentiated (a model's weights captured by a
    closure instead of passed in ``params``). A custom VJP only differentiates its explicit arguments,
    so those values are first hoisted out with :func:`jax.closure_convert` and carried next to
    ``params``: the echo accumulates their gradients like any parameter's.
    """
    potential, params = explicit_potential(potential, phi0, inputs[0], params)
    return _rhel_integrate(potential, method, params, inputs, phi0, pi0, dt)


def explicit_potential(
    potential: Potential, phi: Array, u: Array, params: PyTree
) -> tuple[Potential, PyTree]:
    """``(potential, params)`` with any values ``potential`` closes over hoisted into its parameters.

    A custom VJP only differentiates its explicit arguments, so a potential that closes over a value being
    differentiated (a model's weights captured by a closure instead of passed in ``params``) would leave
    that value's tracer behind. :func:`jax.closure_convert` finds such values; they are carried next to
    ``params`` as ``(params, consts)``, and the echo accumulates their gradients like any parameter's.
    Without them the potential and the parameters are returned as they are (so that a potential's own
    ``echo_derivatives`` stays visible to the echo). ``phi`` and ``u`` are examples of one step's shapes.
    """
    # closure_convert caches on (and so hashes) its function; a fresh wrapper keeps any callable
    # usable, e.g. an eqx.Module holding (possibly traced) arrays, whose arrays become consts here.
    def wrapper(phi, u, params):
        return potential(phi, u, params)

    converted, consts = jax.closure_convert(wrapper, phi, u, params)
    if not consts:
        return potential, params
    consts = tuple(consts)

    def explicit(phi, u, params_and_consts):
        params, consts = params_and_consts
        return converted(phi, u, params, *consts)

    return explicit, (params, consts)


def final_state_vjp(forward, backward):
    """A custom VJP that stores only its arguments and a final state — the shape of every RHEL rule.

    ``forward(*args) -> (out, final)`` computes the output and the system's final state;
    ``backward(args, final, cotangent) -> grads`` (one per argument) runs the echo from that state.
    Nothing else of the forward pass is kept for the backward pass.
    """

    @jax.custom_vjp
    def run(*args):
        return forward(*args)[0]

    def run_fwd(*args):
        out, final = forward(*args)
        return out, (args, final)

    def run_bwd(residuals, cotangent):
        args, final = residuals
        return tuple(backward(args, final, cotangent))

    run.defvjp(run_fwd, run_bwd)
    return run


def _rhel_integrate(potential, method, params, inputs, phi0, pi0, dt):
    def forward(params, inputs, phi0, pi0, dt):
        return integrate(potential, params, inputs, phi0, pi0, dt)

    def backward(args, final, cotangent):
        params, inputs, phi0, _, dt = args
        return echo_gradients(potential, method, params, inputs, phi0, *final, dt, cotangent)

    return final_state_vjp(forward, backward)(params, inputs, phi0, pi0, dt)
