"""RHEL against BPTT on a whole model: the paper's Fig. 4, with numbers.

For one batch, the gradient of :func:`rhel.model.batch_loss` w.r.t. every parameter is computed twice — with
``gradient=BPTT()`` and ``gradient=RHEL(epsilon)`` — with the same key (same dropout masks) and the same
state. For each parameter leaf ``g_R``, ``g_B`` the record holds

    cosine     = ⟨g_R, g_B⟩ / (‖g_R‖ ‖g_B‖)
    norm_ratio = ‖g_R‖ / ‖g_B‖
    rel_error  = ‖g_R − g_B‖ / ‖g_B‖

(for a leaf whose gradients are both exactly zero: 1, 1, 0). Blocks are numbered 0 … N−1; the encoder is
reported as block −1 and the head as block N (they are plain autodiff, but their gradients depend on the
HRUs' input gradients).
"""

from __future__ import annotations

import equinox as eqx
import jax
import numpy as np

from rhel.engine.gradient import BPTT, RHEL
from rhel.model.loss import batch_loss


def _named_leaves(tree) -> list[tuple[str, np.ndarray]]:
    leaves, _ = jax.tree_util.tree_flatten_with_path(eqx.filter(tree, eqx.is_inexact_array))
    return [(jax.tree_util.keystr(path).lstrip("."), np.asarray(x)) for path, x in leaves]


def compare_record(block: int, param: str, g_rhel: np.ndarray, g_bptt: np.ndarray) -> dict:
    """One record of the comparison (see the module docstring)."""
    a = np.asarray(g_rhel).ravel()
    b = np.asarray(g_bptt).ravel()
    if np.iscomplexobj(a) or np.iscomplexobj(b):  # compare as real vectors
        a, b = np.concatenate([a.real, a.imag]), np.concatenate([b.real, b.imag])
    a, b = a.astype(np.float64), b.astype(np.float64)
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    if na == 0.0 and nb == 0.0:
        cosine, ratio, rel = 1.0, 1.0, 0.0
    else:
        cosine = float(a @ b / (na * nb)) if na > 0 and nb > 0 else 0.0
        ratio = na / nb if nb > 0 else float("inf")
        rel = float(np.linalg.norm(a - b)) / nb if nb > 0 else float("inf")
    return {"block": int(block), "param": param, "cosine": cosine, "norm_ratio": ratio, "rel_error": rel}


@eqx.filter_jit
def _model_grads(model, state, x, y, mask, key, gradient):
    grad_fn = eqx.filter_grad(batch_loss, has_aux=True)
    return grad_fn(model, state, x, y, mask, key=key, gradient=gradient)[0]


def compare_gradients(model, state, x, y, mask, *, key, epsilon: float) -> list[dict]:
    """Records ``{"block", "param", "cosine", "norm_ratio", "rel_error"}`` for every parameter leaf."""
    g_bptt = _model_grads(model, state, x, y, mask, key, BPTT())
    g_rhel = _model_grads(model, state, x, y, mask, key, RHEL(epsilon=epsilon))
    parts = [(-1, "encoder", g_rhel.encoder, g_bptt.encoder)]
    parts += [(i, "", gr, gb) for i, (gr, gb) in enumerate(zip(g_rhel.blocks, g_bptt.blocks))]
    parts.append((len(g_bptt.blocks), "head", g_rhel.head, g_bptt.head))
    records = []
    for block, prefix, gr, gb in parts:
        for (name, a), (_, b) in zip(_named_leaves(gr), _named_leaves(gb)):
            name = f"{prefix}.{name}" if prefix else name
            records.append(compare_record(block, name, a, b))
    return records
