"""The Hamiltonian state-space model (HSSM): linear encoder → N blocks → head.

One model instance is differentiated by either method: the ``gradient=`` argument of each call picks BPTT or
RHEL for every HRU of the model; everything outside the HRUs (encoder, norm, GELU, GLU, dropout, head) is
ordinary autodiff. A call processes ONE sequence ``x (L, C)`` with its validity ``mask (L,)`` (padding at
the end); batches go through :func:`rhel.model.batch_loss` / :func:`rhel.model.batch_predict`.

The running statistics of all the blocks' norms live in one state entry, ``(means (N, H), variances (N, H))``.
When the blocks are alike (same unit type and static configuration, the usual case), they run as one
``lax.scan`` over their stacked parameters, so a deep model compiles one block instead of N; otherwise they
run in a Python loop. Both paths compute the same thing.
"""

from __future__ import annotations

from typing import Callable, Literal

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, Bool, Float, PRNGKeyArray

from rhel.argcheck import is_integer, is_real, positive_integer
from rhel.engine.gradient import GradientMethod, check_gradient_method
from rhel.errors import RHELError
from rhel.model.block import Block
from rhel.model.dense import per_step
from rhel.model.heads import ClassificationHead, RegressionHead
from rhel.model.norm import init_stats
from rhel.units.base import HRU


class HSSM(eqx.Module):
    """Encoder ``Linear(C → H)``, a stack of :class:`~rhel.model.block.Block`, and a task head."""

    encoder: eqx.nn.Linear
    blocks: tuple[Block, ...]
    head: ClassificationHead | RegressionHead
    norm_stats: eqx.nn.StateIndex
    task: str = eqx.field(static=True)

    def __init__(self, encoder, blocks, head, task: str):
        self.encoder = encoder
        self.blocks = tuple(blocks)
        self.head = head
        self.task = task
        hidden = encoder.out_features
        stats = [init_stats(hidden, encoder.weight.dtype) for _ in self.blocks]
        self.norm_stats = eqx.nn.StateIndex(tuple(jnp.stack(s) for s in zip(*stats)))

    def __call__(
        self,
        x: Float[Array, "L C"],
        mask: Bool[Array, " L"],
        *,
        state: eqx.nn.State,
        key: PRNGKeyArray | None = None,
        gradient: GradientMethod,
        inference: bool = False,
    ) -> tuple[Array, eqx.nn.State]:
        """Returns ``(log-probabilities (K,) or regression outputs (T, D), new state)``; ``x`` is cast to the
        model's dtype (that of its parameters) first."""
        gradient = check_gradient_method(gradient)
        c_in = self.encoder.in_features
        if jnp.ndim(x) != 2 or jnp.shape(x)[1] != c_in or jnp.shape(mask) != jnp.shape(x)[:1]:
            raise RHELError(
                f"HSSM expects one sequence x of shape (L, {c_in}) and mask of shape (L,); got "
                f"{jnp.shape(x)} and {jnp.shape(mask)}. Batches go through rhel.model.batch_loss."
            )
        if key is None and not inference and any(b.dropout > 0 for b in self.blocks):
            raise RHELError("HSSM in training mode needs key= (dropout); pass inference=True to evaluate.")
        x = jnp.asarray(x).astype(self.encoder.weight.dtype)  # e.g. float64 NumPy data, float32 model
        h = per_step(self.encoder, jnp.where(mask[:, None], x, 0))  # a select: NaN/Inf padding stays out
        stats = state.get(self.norm_stats)
        shape = (len(self.blocks), self.encoder.out_features)
        if jax.tree.map(jnp.shape, stats) != (shape, shape):
            raise RHELError(
                f"the state holds norm statistics of shapes {jax.tree.map(jnp.shape, stats)}, not {shape} "
                f"({shape[0]} blocks of width {shape[1]}): pass the state make_hssm built with this model."
            )
        h, new_stats = self._run_blocks(h, mask, stats, key, gradient, inference)
        if not inference:
            state = state.set(self.norm_stats, new_stats)
        return self.head(h, mask), state

    def _run_blocks(self, h, mask, stats, key, gradient, inference):
        n = len(self.blocks)
        keys = None if key is None else jr.split(key, n)
        parts = [eqx.partition(b, eqx.is_array) for b in self.blocks]
        alike = all(
            jax.tree.structure(p) == jax.tree.structure(parts[0][0])
            and eqx.tree_equal(s, parts[0][1]) is True
            and all(a.shape == b.shape and a.dtype == b.dtype
                    for a, b in zip(jax.tree.leaves(p), jax.tree.leaves(parts[0][0])))
            for p, s in parts
        )
        if not alike:
            means, variances = [], []
            for i, block in enumerate(self.blocks):
                k = None if keys is None else keys[i]
                h, (m, v) = block(h, mask, (stats[0][i], stats[1][i]), key=k, gradient=gradient,
                                  inference=inference)
                means.append(m)
                variances.append(v)
            return h, (jnp.stack(means), jnp.stack(variances))

        static = parts[0][1]
        stacked = jax.tree.map(lambda *xs: jnp.stack(xs), *[p for p, _ in parts])

        def body(h, xs):
            params, mean, var, k = xs
            block = eqx.combine(params, static)
            h, new = block(h, mask, (mean, var), key=None if keys is None else k, gradient=gradient,
                           inference=inference)
            return h, new

        xs_keys = jnp.zeros((n,)) if keys is None else keys
        h, new_stats = jax.lax.scan(body, h, (stacked, stats[0], stats[1], xs_keys))
        return h, new_stats


def _make_unit(unit, hidden: int, state_size: int, key, unit_kwargs) -> HRU:
    if unit == "linear":
        try:
            from rhel.units.linear import LinearHRU
        except ImportError as e:
            raise RHELError("unit='linear' needs rhel.units.linear.LinearHRU, which is not available.") from e
        hru = LinearHRU(hidden, state_size, key=key, **unit_kwargs)
    elif unit == "nonlinear":
        from rhel.units.nonlinear import nonlinear_hru

        hru = nonlinear_hru(hidden, state_size, key=key, **unit_kwargs)
    elif callable(unit):
        hru = unit(hidden, state_size, key=key, **unit_kwargs)
    else:
        raise RHELError(
            f"unit={unit!r}: use 'linear', 'nonlinear', or a callable (hidden, state, *, key, **kw) -> HRU."
        )
    if not isinstance(hru, HRU):
        raise RHELError(f"the unit factory returned {type(hru).__name__}, not an rhel.units.HRU.")
    return hru


def cast_floats(tree, dtype):
    """Cast every floating (and complex) array leaf of ``tree`` to ``dtype`` (complex: its complex twin)."""
    complex_dtype = jnp.result_type(dtype, jnp.complex64)

    def cast(x):
        if not eqx.is_inexact_array(x):
            return x
        return x.astype(complex_dtype if jnp.iscomplexobj(x) else dtype)

    return jax.tree.map(cast, tree)


def make_hssm(
    unit: Literal["linear", "nonlinear"] | Callable[..., HRU],
    *,
    d_in: int,
    d_out: int,
    task: Literal["classification", "regression"],
    hidden: int,
    state_size: int,
    blocks: int,
    output_step: int | None = None,
    dropout: float = 0.05,
    key: PRNGKeyArray,
    dtype=jnp.float32,
    **unit_kwargs,
) -> tuple[HSSM, eqx.nn.State]:
    """Build an HSSM and its initial state (the norms' running statistics).

    Args:
        unit: ``"linear"`` (:class:`rhel.units.linear.LinearHRU`), ``"nonlinear"``
            (:func:`rhel.units.nonlinear.nonlinear_hru`) or any callable ``(hidden, state, *, key,
            **unit_kwargs) -> HRU`` (e.g. a :class:`rhel.units.potential.PotentialHRU` factory).
        d_in: input channels C.  d_out: classes K or regression outputs D.
        task: ``"classification"`` or ``"regression"`` (the latter needs ``output_step``).
        hidden: H.  state_size: P.  blocks: N.
        dropout: dropout rate of both dropouts in every block.
        key: PRNG key.  dtype: float32 or float64 (float64 needs ``jax_enable_x64``).
        unit_kwargs: passed to the unit constructor.
    """
    sizes = {"d_in": d_in, "d_out": d_out, "hidden": hidden, "state_size": state_size, "blocks": blocks}
    # as Python ints (NumPy integers are accepted)
    d_in, d_out, hidden, state_size, blocks = (positive_integer(f"make_hssm: {k}", v) for k, v in sizes.items())
    if task not in ("classification", "regression"):
        raise RHELError(f"make_hssm: task must be 'classification' or 'regression', got {task!r}.")
    if task == "regression" and (not is_integer(output_step) or output_step < 1):
        raise RHELError(f"make_hssm: task='regression' needs output_step >= 1, got {output_step!r}.")
    if task == "classification" and output_step is not None:
        raise RHELError(f"make_hssm: output_step={output_step!r} is for task='regression'; leave it out for "
                        "classification.")
    if not is_real(dropout) or not 0.0 <= dropout < 1.0:
        raise RHELError(f"make_hssm: dropout must be in [0, 1), got {dropout!r}.")
    if jnp.dtype(dtype) == jnp.float64 and not jax.config.jax_enable_x64:
        raise RHELError(
            "make_hssm(dtype=float64) needs 64-bit JAX: jax.config.update('jax_enable_x64', True) first."
        )
    if not jnp.issubdtype(dtype, jnp.floating):
        raise RHELError(f"make_hssm: dtype must be a floating dtype, got {dtype!r}.")
    kenc, khead, *kblocks = jr.split(key, blocks + 2)

    def build():
        block_list = []
        for k in kblocks:
            ku, kb = jr.split(k)
            hru = _make_unit(unit, hidden, state_size, ku, unit_kwargs)
            block_list.append(Block(hru, hidden, key=kb, dropout=dropout, dtype=dtype))
        head = (
            ClassificationHead(hidden, d_out, key=khead, dtype=dtype)
            if task == "classification"
            else RegressionHead(hidden, d_out, output_step, key=khead, dtype=dtype)
        )
        encoder = eqx.nn.Linear(d_in, hidden, key=kenc, dtype=dtype)
        return HSSM(encoder, tuple(block_list), head, task)

    model, state = eqx.nn.make_with_state(build)()
    return cast_floats(model, dtype), cast_floats(state, dtype)
