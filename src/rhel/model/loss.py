"""Batched loss and prediction of an HSSM.

:func:`batch_loss` is pure: all randomness (dropout) comes from ``key``, split once per example, so BPTT
and RHEL see the same dropout masks for the same key, and a resumed run reproduces the same losses.

* classification: ``y (B,)`` integer labels in ``[0, K)``; loss = mean cross-entropy; metric = accuracy.
* ``mask (B, L)``: each row a run of valid steps (at least one) followed by padding, checked when the
  mask is concrete (a traced mask, under ``jit``, is taken as it is).
* regression: ``y (B, T, D)`` with ``T = L // output_step`` targets at steps ``output_step − 1,
  2·output_step − 1, …``; loss = mean squared error over valid (unpadded) target steps; metric = that MSE.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, Bool, Float, PRNGKeyArray

from rhel.engine.gradient import BPTT, GradientMethod
from rhel.errors import RHELError
from rhel.model.hssm import HSSM
from rhel.model.norm import BATCH_AXIS


def _check_batch(model: HSSM, x, mask) -> None:
    """Shapes and dtypes; a non-empty batch; and, when the mask is concrete (not traced under ``jit``),
    that every row is a run of valid steps (at least one) followed by padding."""
    c_in = model.encoder.in_features
    if jnp.ndim(x) != 3 or jnp.shape(x)[2] != c_in:
        raise RHELError(f"x must have shape (B, L, {c_in}) (batch, time, channels); got {jnp.shape(x)}.")
    if jnp.shape(mask) != jnp.shape(x)[:2] or jnp.result_type(mask) != jnp.bool_:
        raise RHELError(
            f"mask must be a boolean array of shape {jnp.shape(x)[:2]} (B, L); got shape {jnp.shape(mask)} "
            f"and dtype {jnp.result_type(mask)}."
        )
    step = getattr(model.head, "output_step", 1)
    if model.task == "regression" and jnp.shape(x)[1] < step:
        raise RHELError(f"sequences of length {jnp.shape(x)[1]} are shorter than the model's output_step = "
                        f"{step}: no output step; pass sequences of at least {step} steps.")
    if jnp.shape(x)[0] == 0:
        raise RHELError("the batch is empty (B = 0): pass at least one sequence.")
    if isinstance(mask, jax.core.Tracer) or jnp.shape(mask)[1] == 0:
        return  # a traced mask (under jit) is not checked: the training step stays free of the check
    m = np.asarray(mask)
    holes = np.flatnonzero(np.any(m[:, 1:] > m[:, :-1], axis=1))
    if holes.size:
        raise RHELError(
            f"mask row {int(holes[0])} is not a run of valid steps followed by padding: pad at the end (left "
            "padding, e.g. Keras' padding='pre', is not supported)."
        )
    empty = np.flatnonzero(~m[:, 0])
    if empty.size:
        raise RHELError(f"mask row {int(empty[0])} has no valid step: drop that sequence from the batch.")


def batch_apply(model: HSSM, state: eqx.nn.State, x, mask, *, key, gradient, inference):
    """Run the model on every sequence of the batch (vmapped with the batch-norm axis)."""
    _check_batch(model, x, mask)
    state = jax.tree.unflatten(*reversed(jax.tree.flatten(state)))  # never mark the caller's state stale
    keys = None if key is None else jr.split(key, x.shape[0])

    def one(xi, mi, ki):
        return model(xi, mi, state=state, key=ki, gradient=gradient, inference=inference)

    return jax.vmap(one, in_axes=(0, 0, None if keys is None else 0), axis_name=BATCH_AXIS,
                    out_axes=(0, None))(x, mask, keys)


_BAD_LABELS = (
    "classification labels must be integers in [0, K) = [0, {classes}); {found}. Labels counted from 1? "
    "subtract 1."
)


def _check_labels(y, classes: int):
    """``y`` if every label is in ``[0, classes)``: else an RHELError for concrete labels, a run-time error
    (``eqx.error_if``, one reduction over the B labels) for traced ones."""
    if isinstance(y, jax.core.Tracer):
        bad = jnp.any((y < 0) | (y >= classes))
        return eqx.error_if(y, bad, _BAD_LABELS.format(classes=classes, found="found one outside"))
    values = np.asarray(y)
    outside = np.flatnonzero((values < 0) | (values >= classes))
    if outside.size:
        i = int(outside[0])
        raise RHELError(_BAD_LABELS.format(classes=classes, found=f"y[{i}] = {values[i]}"))
    return y


def _target_mask(model: HSSM, mask, T: int):
    s = model.head.output_step
    return mask[:, s - 1 :: s][:, :T]


def batch_loss(
    model: HSSM,
    state: eqx.nn.State,
    x: Float[Array, "B L C"],
    y: Array,
    mask: Bool[Array, "B L"],
    *,
    key: PRNGKeyArray | None,
    gradient: GradientMethod,
    inference: bool = False,
) -> tuple[Array, tuple[eqx.nn.State, dict[str, Array]]]:
    """Mean loss of a batch; returns ``(loss, (new_state, {"metric": ...}))``."""
    _check_batch(model, x, mask)  # before the labels' check, which needs x's shape
    if model.task == "classification":
        if jnp.shape(y) != jnp.shape(x)[:1] or not jnp.issubdtype(jnp.result_type(y), jnp.integer):
            raise RHELError(f"classification y must be integer labels of shape ({jnp.shape(x)[0]},); got "
                            f"shape {jnp.shape(y)}, dtype {jnp.result_type(y)}.")
        y = _check_labels(y, model.head.linear.out_features)
    out, state = batch_apply(model, state, x, mask, key=key, gradient=gradient, inference=inference)
    if model.task == "classification":
        logp = jnp.take_along_axis(out, y[:, None], axis=1)[:, 0]
        loss = -jnp.mean(logp)
        metric = jnp.mean((jnp.argmax(out, axis=1) == y).astype(out.dtype))
    else:
        if jnp.shape(y) != out.shape:
            raise RHELError(f"regression y must have shape {out.shape} (B, L // output_step, D); got "
                            f"{jnp.shape(y)}.")
        m = _target_mask(model, mask, out.shape[1])[..., None]
        count = jnp.maximum(jnp.sum(m) * out.shape[2], 1).astype(out.dtype)
        # a select, not a product: a NaN target at a padded step must not reach the loss or its gradient
        loss = jnp.sum(jnp.where(m, out - y, 0) ** 2) / count
        metric = jax.lax.stop_gradient(loss)
    return loss, (state, {"metric": metric})


def batch_predict(model: HSSM, state: eqx.nn.State, x: Float[Array, "B L C"], mask: Bool[Array, "B L"]):
    """Inference-mode outputs: ``(B, K)`` log-probabilities or ``(B, T, D)`` regression outputs."""
    return batch_apply(model, state, x, mask, key=None, gradient=BPTT(), inference=True)[0]
