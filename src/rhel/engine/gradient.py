"""Gradient methods: values passed as ``gradient=`` to choose how a Hamiltonian system is differentiated.

Like Diffrax's ``adjoint=`` argument, the method is a small immutable module:

* :class:`BPTT` differentiates through the integrator with ordinary reverse-mode autodiff (optionally
  rematerialising each step with ``jax.checkpoint``, the strongest digital baseline on a CPU);
* :class:`RHEL` replaces the backward pass by two echo passes (Algorithm 1 of Pourcel & Ernoult, 2025).

What ε means
------------
The echoes are nudged on their momenta by ``±(ε/c) · n_k`` where ``n_k = δ ⊙ g_k`` is the incoming
cotangent ``g_k = ∂L/∂φ_k`` expressed in the integrator's unit-step coordinates (see
:mod:`rhel.engine.echo`), and the echo difference is multiplied back by ``c``. Two modes choose ``c``:

* ``nudge="relative"`` (default): ``c = Σ_k ‖δ ⊙ g_k‖₂`` over the sequence, so the *total* nudge injected
  into the echo has norm ε whatever the scale of the loss and the length of the sequence. The echo then
  departs from the forward trajectory by O(ε) (a non-dissipative system neither damps nor amplifies the
  injected nudges on average), which fixes both error sources at once: the O(ε²) bias of the central
  difference for nonlinear potentials, and float32 rounding: the echo stores the lanes' half-difference
  Δ itself (:mod:`rhel.engine.pair`), but autodiff evaluates V at the lanes ``φ̄ ± Δ``, which are rounded
  relative to the state and lose an absolute nudge ``ε·g`` when the cotangents of a batch-mean loss are
  1e-5 and smaller.
* ``nudge="absolute"``: ``c = max(δ)``, so for a scalar step the momentum nudge is exactly ``ε·g_k`` —
  the convention of the paper and of its reference code, where ε must be chosen against the loss scale.

For linear dynamics (quadratic potential) the echo is affine in ε and the central difference is exact for
every ε in both modes; the linear HRU (:func:`rhel.units.linear.rhel_layer`) therefore nudges by ε·L in
the relative mode (ε per step on average), which keeps the echoes' difference above float32 round-off
on long sequences. The default ε = 0.1 (the paper's value) gives, for a nonlinear system in float64, a
relative error of about 1e-5 and, in float32, a cosine to BPTT above 0.9999 on the project's tests.
"""

from __future__ import annotations

import math
from typing import Literal

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jax import lax
from jaxtyping import Array, Float

from rhel.argcheck import is_real
from rhel.errors import RHELError


_NORM_BLOCK = 256  # rows per iteration of the nudge scale's reduction


def _check_flag(method: str, name: str, value: object) -> None:
    """A switch must be True or False (a string such as "no" would otherwise count as True)."""
    if not isinstance(value, (bool, np.bool_)):
        raise RHELError(f"{method}({name}={value!r}): {name} must be True or False.")


class GradientMethod(eqx.Module):
    """Base class of the gradient methods (:class:`BPTT`, :class:`RHEL`)."""


class BPTT(GradientMethod):
    """Backpropagation through time: reverse-mode autodiff through the integrator's scan.

    Args:
        checkpoint: rematerialise each step in the backward pass (``jax.checkpoint`` on the step), which
            trades one extra step evaluation for not storing the step's intermediate values.
    """

    checkpoint: bool = eqx.field(default=False, static=True)

    def __check_init__(self):
        _check_flag("BPTT", "checkpoint", self.checkpoint)


def _python_float(value):
    """A real number as a Python ``float`` (a NumPy scalar as a static field would be hashed as an array);
    anything else unchanged, for ``__check_init__`` to refuse."""
    return float(value) if is_real(value) else value


class RHEL(GradientMethod):
    """Recurrent Hamiltonian Echo Learning: gradients from two nudged echo passes.

    Args:
        epsilon: nudge strength ε > 0 (see the module docstring for its exact meaning).
        nudge: ``"relative"`` (default; ε is the norm of the total nudge of a sequence, whatever the
            loss scale: robust in float32) or ``"absolute"`` (ε multiplies the raw cotangent, the
            paper's convention).
        check_finite: raise an error when the echo produces a non-finite gradient from finite inputs.

    RHEL is a custom reverse-mode rule (``jax.grad``, ``jax.vjp``, ``jax.jacrev``). Forward mode of a loss
    through it (``jax.jvp``, ``jax.jacfwd``, ``jax.linearize``) is not defined — JAX says "can't apply
    forward-mode autodiff (jvp) to a custom_vjp function" — and needs ``BPTT``. Second derivatives
    (``jax.hessian``, ``grad`` of ``grad``) work: they differentiate the echo itself, so they carry its
    O(ε²) bias for a nonlinear potential.
    """

    epsilon: float = eqx.field(default=0.1, static=True, converter=_python_float)
    nudge: Literal["relative", "absolute"] = eqx.field(default="relative", static=True)
    check_finite: bool = eqx.field(default=True, static=True)

    def __check_init__(self):
        eps = self.epsilon
        # Plain Python checks: a RHEL may be built inside jit, where jnp.isfinite would be traced.
        if not is_real(eps) or not math.isfinite(eps) or eps <= 0:
            raise RHELError(
                f"RHEL(epsilon={eps!r}): epsilon must be a finite number > 0 (a static setting: a Python "
                "or NumPy scalar, not a JAX array); typical values are 1e-3 to 1 (the default is 0.1)."
            )
        _check_flag("RHEL", "check_finite", self.check_finite)
        if self.nudge not in ("relative", "absolute"):
            raise RHELError(
                f"RHEL(nudge={self.nudge!r}): nudge must be 'relative' or 'absolute'."
            )

    def nudge_scale(
        self,
        weighted_cotangent: Float[Array, "L ..."],
        step: Float[Array, "..."],
        *,
        weight: Float[Array, "..."] | None = None,
    ) -> Float[Array, ""]:
        """The normalising scale ``c`` of the nudge (see the module docstring).

        Args:
            weighted_cotangent: ``δ ⊙ g_k`` for every step of one sequence, shape (L, ...).
            step: the step size δ (scalar or per dimension).
            weight: if given, ``weighted_cotangent`` is the raw cotangent ``g_k`` and each row is
                multiplied by ``weight`` (δ broadcast to a row) inside the reduction, so that the
                (L, ...) product is never materialised.
        """
        if self.nudge == "absolute":
            return jnp.max(jnp.abs(step)).astype(weighted_cotangent.dtype)
        rows = weighted_cotangent
        weight = jnp.ones((), rows.dtype) if weight is None else weight

        def norms_sum(block):  # Σ of the rows' norms of a (K, ...) block
            return jnp.sum(jnp.sqrt(jnp.sum((weight * block) ** 2, axis=tuple(range(1, block.ndim)))))

        # Blocks of _NORM_BLOCK rows in a loop with a scalar carry: jnp.sum(norm(rows, axis=-1)) would
        # materialise the (L,) vector of norms (the echo's memory must not grow with L), and a scan
        # over single rows would cost L tiny loop iterations.
        length = rows.shape[0]
        blocks, rest = divmod(length, _NORM_BLOCK)
        scale = jnp.zeros((), rows.dtype)
        if blocks:

            def add_block(i, acc):
                return acc + norms_sum(lax.dynamic_slice_in_dim(rows, i * _NORM_BLOCK, _NORM_BLOCK))

            scale = lax.fori_loop(0, blocks, add_block, scale)
        if rest:
            scale = scale + norms_sum(rows[length - rest :])
        tiny = jnp.finfo(weighted_cotangent.dtype).tiny
        return jnp.where(scale > tiny, scale, jnp.ones_like(scale))


def check_gradient_method(gradient: object) -> GradientMethod:
    """Return ``gradient`` if it is a gradient method, else raise an error naming the fix."""
    if not isinstance(gradient, GradientMethod):
        raise RHELError(
            f"gradient={gradient!r} is not a gradient method; pass gradient=rhel.BPTT() or "
            "gradient=rhel.RHEL(epsilon=...)."
        )
    return gradient
