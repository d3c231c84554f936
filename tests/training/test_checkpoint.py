"""Checkpoints round-trip exactly, are replaced atomically, and a damaged one is named as such."""

import os
import struct

import equinox as eqx
import jax
import numpy as np
import optax
import pytest

from rhel.atomic import atomic_path, atomic_write, atomic_write_text
from rhel.errors import RHELError
from rhel.training.checkpoint import (
    DamagedCheckpoint,
    TrainState,
    load_checkpoint,
    read_header,
    save_checkpoint,
)


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


def test_a_damaged_checkpoint_is_named_as_such(tmp_path):
    """Cut anywhere (first line, header length, header, arrays), extended, or with a corrupt header or length:
    a DamagedCheckpoint naming the file, never a struct/JSON/numpy error or "does not match the model"."""
    save_checkpoint(tmp_path / "c.ckpt", _state(0), {"step": 1})
    data = (tmp_path / "c.ckpt").read_bytes()
    (n,) = struct.unpack("<Q", data[10:18])
    header_end = 18 + n
    corrupt_header = data[:18] + b"\xff" + data[19:]
    huge_length = data[:10] + struct.pack("<Q", 2**62) + data[18:]
    cases = {"empty": b"", "first line": data[:5], "12 bytes": data[:12], "header": data[:header_end - 3],
             "arrays": data[:header_end + 100], "last byte": data[:-1], "appended": data + b"x",
             "corrupt header": corrupt_header, "huge length": huge_length}
    for case, content in cases.items():
        (tmp_path / "d.ckpt").write_bytes(content)
        with pytest.raises(DamagedCheckpoint, match=r"^checkpoint '.*d\.ckpt' is damaged \(.+\); delete it") as e:
            load_checkpoint(tmp_path / "d.ckpt", _state(1))
        assert e.value.path == tmp_path / "d.ckpt", case


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


def test_leftover_temporaries_are_those_of_the_atomic_writer(tmp_path):
    """What a killed write leaves (the writer's own temporary name), found per target file; nothing else."""
    from rhel.atomic import atomic_path, leftover_temporaries

    target = tmp_path / "last.ckpt"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"half")
            left = tmp.with_name(tmp.name)  # the name the writer chose
            raise RuntimeError("killed")  # an exception cleans up; a SIGKILL would not: simulate it below
    left.write_bytes(b"half")
    for other in ("last.ckpt", ".last.ckpt.tmp", ".best.ckpt.abc.tmp", "x.last.ckpt.abc.tmp"):
        (tmp_path / other).write_bytes(b"x")
    assert leftover_temporaries(target) == [left]
