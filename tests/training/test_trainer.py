"""The training loop: resume is bit-identical, ties are not improvements, divergence keeps the last good
checkpoint, run folders are never overwritten. (That a few hundred steps on a real data set beat chance
with both gradient methods is shown by tests/cli/test_compare.py.)"""

import csv
import io

import numpy as np
import pytest

import rhel.data
from rhel.errors import RHELError
from rhel.training.checkpoint import array_bytes, read_header
from rhel.training.config import TrainConfig
from rhel.training.evaluate import is_improvement
from rhel.training import trainer
from rhel.training.trainer import LAST, run_dir, train_run

# JapaneseVowels ships with aeon: 640 series of ≤ 29 steps, 12 channels, 9 classes (chance ≈ 11 %).
# Every test uses the same model and batch shapes, so a test worker compiles the training step once.
TINY = TrainConfig(dataset="JapaneseVowels", model="linear", gradient="rhel", seeds=(7,), steps=16,
                   eval_every=4, patience=100, batch_size=32, eval_batch_size=96, lr=3e-3, blocks=1, hidden=32,
                   state_size=32)


def curve(path):
    with open(path) as f:
        return [{k: v for k, v in r.items() if k not in ("steps_per_s", "elapsed_s")} for r in csv.DictReader(f)]


def test_strict_improvement():
    assert is_improvement(0.5, None, "classification") and not is_improvement(float("nan"), None, "classification")
    assert is_improvement(0.6, 0.5, "classification") and not is_improvement(0.5, 0.5, "classification")
    assert is_improvement(0.4, 0.5, "regression") and not is_improvement(0.5, 0.5, "regression")


def test_resume_mid_epoch_is_bit_identical(tmp_path):
    # 448 training series / 32 = 14 batches per epoch: the run crosses an epoch boundary at step 14 and is
    # "killed" at step 10, after the checkpoint of step 8, so the resumed run starts mid-epoch.
    quiet = dict(stream=io.StringIO())
    ref = train_run(TINY, 7, tmp_path / "a", **quiet)
    assert train_run(TINY, 7, tmp_path / "b", stop_at=10, **quiet) == {}
    b = run_dir(tmp_path / "b", TINY, 7)
    assert read_header(b / LAST)["step"] == 8 and not (b / "results.json").exists()
    at_8 = array_bytes(b / LAST)
    res = train_run(TINY, 7, tmp_path / "b", resume=True, **quiet)
    a = run_dir(tmp_path / "a", TINY, 7)
    for name in ("last.ckpt", "best.ckpt"):
        assert array_bytes(a / name) == array_bytes(b / name)
    assert curve(a / "metrics.csv") == curve(b / "metrics.csv")
    assert (res["test_metric"], res["best_step"], res["steps_done"]) == (ref["test_metric"], ref["best_step"], 16)
    assert at_8 != array_bytes(a / LAST)  # the weights did change after the resume point


def test_ties_are_not_improvements_and_early_stopping(tmp_path, monkeypatch):
    # every validation ties with the first one
    monkeypatch.setattr(trainer, "evaluate", lambda *a, **k: (1.0, 0.5))
    cfg = TINY.replace(steps=40, eval_every=2, patience=3)
    res = train_run(cfg, 7, tmp_path, stream=io.StringIO())
    assert res["best_step"] == 2 and res["stopped_early"] and res["steps_done"] == 8
    rows = list(csv.DictReader(open(run_dir(tmp_path, cfg, 7) / "metrics.csv")))
    assert [int(r["step"]) for r in rows] == [2, 4, 6, 8]
    assert len({r["val_metric"] for r in rows}) == 1


def test_divergence_stops_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    calls = {"n": 0}
    take = rhel.data.take

    def poisoned(data, idx):
        x, y, m = take(data, idx)
        calls["n"] += 1
        if calls["n"] == 6:  # the 6th training batch; checkpoints are written every 4 steps
            x = np.full_like(x, np.nan)
        return x, y, m

    monkeypatch.setattr(rhel.data, "take", poisoned)
    with pytest.raises(RHELError, match=r"diverged at step 6.*last good checkpoint.*step 4"):
        train_run(TINY, 7, tmp_path, stream=io.StringIO())
    folder = run_dir(tmp_path, TINY, 7)
    assert read_header(folder / LAST)["step"] == 4 and not (folder / "results.json").exists()


def test_existing_runs_are_never_overwritten(tmp_path):
    cfg = TINY.replace(steps=2, eval_every=2)
    res = train_run(cfg, 7, tmp_path, stream=io.StringIO())
    with pytest.raises(RHELError, match="--resume"):
        train_run(cfg, 7, tmp_path, stream=io.StringIO())
    assert train_run(cfg, 7, tmp_path, resume=True, stream=io.StringIO()) == res
    longer = cfg.replace(steps=4)
    train_run(longer, 7, tmp_path / "x", stop_at=3, stream=io.StringIO())
    with pytest.raises(RHELError, match="differs in lr"):
        train_run(longer.replace(lr=1e-1), 7, tmp_path / "x", resume=True, stream=io.StringIO())


def test_x64_runs_in_float64_and_restores_the_setting(tmp_path, x64):
    import jax

    jax.config.update("jax_enable_x64", False)
    res = train_run(TINY.replace(steps=2, eval_every=2, x64=True, gradient="bptt"), 7, tmp_path,
                    stream=io.StringIO())
    assert res["dtype"] == "float64" and res["config"]["x64"] is True
    assert jax.config.jax_enable_x64 is False
