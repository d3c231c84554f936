"""Checkpoints round-trip exactly and are replaced atomically."""

import os

import equinox as eqx
import jax
import numpy as np
import optax
import pytest

from rhel.atomic import atomic_path, atomic_write, atomic_write_text
from rhel.errors import RHELError
from rhel.training.checkpoint import TrainState, load_checkpoint, read_header, save_checkpoint


def _state(seed):
    _, bn_state = eqx.nn.make_with_state(eqx.nn.BatchNorm)(4, "batch", mode="batch")
    mlp = eqx.nn.MLP(3, 2, 4, 1, key=jax.random.PRNGKey(seed))
    opt = optax.adam(1e-3).init(eqx.filter(mlp, eqx.is_inexact_array))
    return TrainState(model=mlp, bn_state=bn_state, opt_state=opt, key=jax.random.PRNGKey(seed + 1))


def test_round_trip_is_exact(tmp_path):
    a, like = _state(0), _state(1)
    header = {"step": 17, "best_metric": 0.1 + 0.2, "history": [{"step": 1, "val_metric": float("nan")}]}
    save_checkpoint(tmp_path / "c.ckpt", a, header)
    b, h = load_checkpoint(tmp_path / "c.ckpt", like)
    assert h["step"] == 17 and h["best_metric"] == 0.1 + 0.2 and np.isnan(h["history"][0]["val_metric"])
    assert read_header(tmp_path / "c.ckpt") == h
    la, lb = jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)
    assert len(la) == len(lb)
    for x, y in zip(la, lb):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
    assert not np.array_equal(np.asarray(jax.tree_util.tree_leaves(like)[0]), np.asarray(lb[0]))


def test_mismatched_model_and_foreign_file_are_clear_errors(tmp_path):
    save_checkpoint(tmp_path / "c.ckpt", _state(0), {"step": 1})
    other = TrainState(model=eqx.nn.MLP(5, 2, 4, 1, key=jax.random.PRNGKey(0)), bn_state=_state(0).bn_state,
                       opt_state=_state(0).opt_state, key=jax.random.PRNGKey(0))
    with pytest.raises(RHELError, match="does not match"):
        load_checkpoint(tmp_path / "c.ckpt", other)
    (tmp_path / "junk").write_bytes(b"hello")
    with pytest.raises(RHELError, match="not an rhel checkpoint"):
        read_header(tmp_path / "junk")


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path):
    path = tmp_path / "f"
    atomic_write(path, lambda f: f.write(b"old"))

    def broken(f):
        f.write(b"partial")
        raise OSError("disk full")

    with pytest.raises(OSError):
        atomic_write(path, broken)
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["f"]


def test_atomic_files_get_the_mode_of_an_ordinary_open(tmp_path):
    """mkstemp makes 0600 files; results, checkpoints, caches and figures must be readable like any
    file the user writes (0666 minus the umask), whichever writer made them."""
    old = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "results.json", "{}")
        atomic_write(tmp_path / "model.ckpt", lambda f: f.write(b"x"))
        with atomic_path(tmp_path / "figure.png", suffix=".png") as tmp:
            tmp.write_bytes(b"png")
    finally:
        os.umask(old)
    for name in ("results.json", "model.ckpt", "figure.png"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o644, name
    assert sorted(p.name for p in tmp_path.iterdir()) == ["figure.png", "model.ckpt", "results.json"]
