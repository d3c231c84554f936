"""The training loop: resume is bit-identical (after a kill, a Ctrl-C, from best.ckpt, or to continue a
finished run), ties are not improvements, divergence keeps the last good checkpoint and ends in a short
error, run folders holding checkpoints or results are never overwritten. (That a few hundred steps on a
real data set beat chance with both gradient methods is shown by tests/cli/test_compare.py.)"""

import csv
import io
import os
import re

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import rhel.data
from rhel.errors import RHELError
from rhel.training.checkpoint import array_bytes, read_header
from rhel.training.config import TrainConfig
from rhel.training.evaluate import is_improvement
from rhel.training.results import read_results
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


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted run of TINY: ``(its folder, its results)``."""
    out = tmp_path_factory.mktemp("reference")
    return run_dir(out, TINY, 7), train_run(TINY, 7, out, stream=io.StringIO())


def assert_same_run(folder, reference):
    """``folder`` holds what the uninterrupted reference run wrote: the same weights, best model and curve."""
    ref, _ = reference
    for name in (LAST, "best.ckpt"):
        assert array_bytes(folder / name) == array_bytes(ref / name), name
    assert curve(folder / "metrics.csv") == curve(ref / "metrics.csv")


def test_strict_improvement():
    assert is_improvement(0.5, None, "classification") and not is_improvement(float("nan"), None, "classification")
    assert is_improvement(0.6, 0.5, "classification") and not is_improvement(0.5, 0.5, "classification")
    assert is_improvement(0.4, 0.5, "regression") and not is_improvement(0.5, 0.5, "regression")


def test_resume_mid_epoch_is_bit_identical(tmp_path, reference):
    # 448 training series / 32 = 14 batches per epoch: the run crosses an epoch boundary at step 14 and is
    # "killed" at step 10, after the checkpoint of step 8, so the resumed run starts mid-epoch.
    quiet = dict(stream=io.StringIO())
    assert train_run(TINY, 7, tmp_path, stop_at=10, **quiet) == {}
    b = run_dir(tmp_path, TINY, 7)
    assert read_header(b / LAST)["step"] == 8 and not (b / "results.json").exists()
    at_8 = array_bytes(b / LAST)
    res = train_run(TINY, 7, tmp_path, resume=True, **quiet)
    assert_same_run(b, reference)
    ref = reference[1]
    assert (res["test_metric"], res["best_step"], res["steps_done"]) == (ref["test_metric"], ref["best_step"], 16)
    assert at_8 != array_bytes(b / LAST)  # the weights did change after the resume point


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
    with pytest.raises(RHELError, match=r"already holds a run \(last.ckpt, best.ckpt, metrics.csv\); pass --resume"):
        train_run(longer, 7, tmp_path / "x", stream=io.StringIO())
    with pytest.raises(RHELError, match="differs in lr"):
        train_run(longer.replace(lr=1e-1), 7, tmp_path / "x", resume=True, stream=io.StringIO())


def test_x64_runs_in_float64_and_restores_the_setting(tmp_path, x64):
    import jax

    jax.config.update("jax_enable_x64", False)
    res = train_run(TINY.replace(steps=2, eval_every=2, x64=True, gradient="bptt"), 7, tmp_path,
                    stream=io.StringIO())
    assert res["dtype"] == "float64" and res["config"]["x64"] is True
    assert jax.config.jax_enable_x64 is False


def test_the_test_score_is_that_of_the_best_validation_checkpoint(tmp_path, monkeypatch):
    """Validation peaks at step 8 (the tie at step 12 is not an improvement): the reported test score is
    the best checkpoint's, not the last one's."""
    import jax.numpy as jnp

    from rhel.training.checkpoint import load_checkpoint
    from rhel.training.evaluate import evaluate
    from rhel.training.parallel import DataParallel

    scripted = iter([0.3, 0.6, 0.6, 0.4])  # validations at steps 4, 8, 12, 16

    def fake(predict, data, **kw):
        v = next(scripted, None)
        return (1.0, v) if v is not None else evaluate(predict, data, **kw)  # the 5th call: the test set

    monkeypatch.setattr(trainer, "evaluate", fake)
    res = train_run(TINY, 7, tmp_path, stream=io.StringIO())
    assert res["best_step"] == 8 and res["best_val_metric"] == 0.6 and res["steps_done"] == 16
    folder = run_dir(tmp_path, TINY, 7)
    assert read_header(folder / "best.ckpt")["step"] == 8 and read_header(folder / LAST)["step"] == 16

    splits = trainer.load_splits(TINY, 7)
    like = trainer._fresh_state(TINY, 7, splits, trainer._adam(TINY.lr), jnp.float32)
    predict = trainer.make_predict()

    def test_score(name):
        s, _ = load_checkpoint(folder / name, like)
        return evaluate(lambda x, m: predict(s.model, s.bn_state, x, m), splits.test, task="classification",
                        batch_size=TINY.eval_batch_size, place=DataParallel().batch, dtype=np.dtype("float32"))

    best, last = test_score("best.ckpt"), test_score(LAST)
    assert (res["test_loss"], res["test_metric"]) == best
    assert res["test_loss"] != last[0]


def test_evaluation_covers_every_sample_in_fixed_size_chunks():
    """No dropped last batch: 10 samples in chunks of 4 are all scored, and every chunk has 4 rows."""
    from types import SimpleNamespace

    from rhel.training.evaluate import evaluate

    x = np.arange(10, dtype=np.float32)[:, None, None]
    shapes = []

    def predict_class(x, m):  # predicts class int(x) % 3 with probability ~1
        shapes.append(x.shape[0])
        logp = np.full((len(x), 3), -20.0)
        logp[np.arange(len(x)), x[:, 0, 0].astype(int) % 3] = 0.0
        return logp

    y = np.arange(10) % 3
    y[9] = (y[9] + 1) % 3  # only the very last sample (in the partial chunk) is wrong
    data = SimpleNamespace(x=x, y=y, mask=np.ones((10, 1), bool))
    loss, acc = evaluate(predict_class, data, task="classification", batch_size=4, place=lambda *a: a,
                         dtype=np.float32)
    assert acc == pytest.approx(0.9) and loss == pytest.approx(2.0) and shapes == [4, 4, 4]

    yr = x[:, :1, :] + 1.0
    yr[9] += 2.0  # last sample: error 3, the others 1
    mse, mse2 = evaluate(lambda x, m: x[:, :1, :], SimpleNamespace(x=x, y=yr, mask=data.mask),
                         task="regression", batch_size=4, place=lambda *a: a, dtype=np.float32)
    assert mse == mse2 == pytest.approx((9 * 1 + 9) / 10)


def test_every_config_field_reaches_its_consumer(tmp_path, monkeypatch):
    """Data, model, gradient method, optimiser, batching, evaluation and checkpoint fields are all used."""
    import rhel
    import rhel.model

    seen = {"steps": [], "batch": [], "eval_batch": [], "saves": []}
    real_load, real_make = rhel.data.load, rhel.model.make_hssm

    def load(name, **kw):
        seen["load"] = dict(name=name, **kw)
        return real_load(name, **{**kw, "length": None})  # length: synthetic tasks only

    def make_hssm(unit, **kw):
        seen["model"] = dict(unit=unit, **kw)
        return real_make(unit, **kw)

    def make_train_step(optimizer, gradient):
        seen["gradient"] = gradient

        def step(state, x, y, mask, k):
            seen["steps"].append(int(k))
            seen["batch"].append(x.shape[0])
            return state, 1.0, 0.5, True

        return step

    def adam(lr):
        seen["lr"] = lr
        import optax

        return optax.adam(lr)

    def evaluate(predict, data, **kw):
        seen["eval_batch"].append(kw["batch_size"])
        return 1.0, 0.5  # every validation ties: early stopping after `patience` of them

    real_save = trainer.save_checkpoint

    def save(path, state, header):
        seen["saves"].append((path.name, header["step"]))
        return real_save(path, state, header)

    monkeypatch.setattr(rhel.data, "load", load)
    monkeypatch.setattr(rhel.model, "make_hssm", make_hssm)
    monkeypatch.setattr(trainer, "make_train_step", make_train_step)
    monkeypatch.setattr(trainer, "_adam", adam)
    monkeypatch.setattr(trainer, "evaluate", evaluate)
    monkeypatch.setattr(trainer, "save_checkpoint", save)
    cfg = TrainConfig(dataset="JapaneseVowels", model="linear", gradient="rhel", seeds=(11,), steps=100,
                      eval_every=5, patience=2, batch_size=20, eval_batch_size=13, lr=0.0123, blocks=3,
                      hidden=24, state_size=12, dropout=0.2, time_channel=True, length=77, output_step=None,
                      epsilon=0.03, nudge="absolute", split="official", impute=True, x64=True,
                      checkpoint_every=2, unit={"complex_weights": False})
    res = train_run(cfg, 11, tmp_path, stream=io.StringIO())
    assert seen["load"] == dict(name="JapaneseVowels", seed=11, split="official", time_channel=True, length=77,
                                impute=True)
    m = seen["model"]
    assert (m["unit"], m["hidden"], m["state_size"], m["blocks"], m["output_step"], m["dropout"]) == \
        ("linear", 24, 12, 3, None, 0.2)  # output_step: test_output_step_is_the_data_sets_own
    assert m["complex_weights"] is False and np.dtype(m["dtype"]) == np.float64
    g = seen["gradient"]
    assert isinstance(g, rhel.RHEL) and (g.epsilon, g.nudge) == (0.03, "absolute")
    assert seen["lr"] == 0.0123
    assert seen["steps"] == list(range(15))  # early stop after 3 validations (patience 2)
    n = res["sizes"]["train"]
    per_epoch = -(-n // 20)
    assert n % 20 and per_epoch < 15  # the first epoch ends with a partial batch, which is trained on
    assert seen["batch"][:per_epoch] == [20] * (per_epoch - 1) + [n % 20]
    assert res["steps_done"] == 15 and res["stopped_early"] and res["best_step"] == 5
    assert set(seen["eval_batch"]) == {13}
    assert ("last.ckpt", 2) in seen["saves"] and ("last.ckpt", 4) in seen["saves"]
    assert res["dtype"] == "float64" and res["config"] == cfg.to_dict()


def test_resuming_a_finished_run_with_another_config_is_an_error(tmp_path):
    """--resume keeps a finished run only if it was trained with the same config (not silently another's),
    and says which changed settings it ignores for a run that stopped early."""
    from rhel.training.results import write_results

    folder = run_dir(tmp_path, TINY, 7)
    finished = {"seed": 7, "test_metric": 0.5, "steps_done": 12, "stopped_early": True, "config": TINY.to_dict()}
    write_results(folder, finished)
    said = io.StringIO()
    assert train_run(TINY, 7, tmp_path, resume=True, stream=said) == finished
    assert said.getvalue() == ""
    assert train_run(TINY.replace(steps=32, patience=3), 7, tmp_path, resume=True, stream=said) == finished
    assert "kept the finished run as it is (it stopped early at step 12); ignored the changed setting(s) " \
           "steps 16 -> 32, patience 100 -> 3" in said.getvalue()
    with pytest.raises(RHELError, match="differs in lr"):
        train_run(TINY.replace(lr=1e-3), 7, tmp_path, resume=True)


@eqx.filter_jit
def failing_check(fail):
    """A model's run-time check (``eqx.error_if`` in a compiled call) that fails where ``fail`` is true."""
    return eqx.error_if(fail, fail, "LinearHRU is unstable: found δ²a >= 4 (or NaN). Lower the learning rate.")


def test_a_failed_model_check_in_a_step_is_a_short_error_that_keeps_the_checkpoint(tmp_path, monkeypatch):
    real = trainer.make_train_step

    def make_train_step(optimizer, gradient):
        step = real(optimizer, gradient)

        def checked(state, x, y, mask, k):
            failing_check(jnp.asarray(int(k) == 5))  # the 6th step; checkpoints come every 4 steps
            return step(state, x, y, mask, k)

        return checked

    monkeypatch.setattr(trainer, "make_train_step", make_train_step)
    with pytest.raises(RHELError) as e:
        train_run(TINY, 7, tmp_path, stream=io.StringIO())
    assert re.fullmatch(r"training diverged at step 6 of JapaneseVowels linear rhel seed 7: LinearHRU is unstable: "
                        r"found δ²a >= 4 \(or NaN\)\. Lower the learning rate\. The last good checkpoint is kept: "
                        r"'.*last\.ckpt' \(step 4\)\. Train again with a lower --lr in another --out folder "
                        r"\(resuming with the same settings diverges again at the same step\), .*", str(e.value))
    folder = run_dir(tmp_path, TINY, 7)
    assert read_header(folder / LAST)["step"] == 4 and not (folder / "results.json").exists()


@pytest.mark.parametrize("failing_call, message", [
    (2, r"training diverged at step 8 of .* \(found by its validation\): LinearHRU is unstable: .* The last good "
        r"checkpoint is kept: '.*last\.ckpt' \(step 4\)\. Train again with a lower --lr"),
    (5, r"the test evaluation of .* failed at its best checkpoint \(step \d+\): LinearHRU is unstable: .* The "
        r"checkpoints are kept in '.*'; check the test data for extreme values"),
])
def test_a_failed_model_check_in_an_evaluation_is_a_short_error(tmp_path, monkeypatch, failing_call, message):
    """Validations come after steps 4, 8, 12 and 16; the 5th evaluation is the test set's."""
    calls = []
    real = trainer.evaluate

    def evaluate(*args, **kw):
        calls.append(1)
        failing_check(jnp.asarray(len(calls) == failing_call))
        return real(*args, **kw)

    monkeypatch.setattr(trainer, "evaluate", evaluate)
    with pytest.raises(RHELError) as e:
        train_run(TINY, 7, tmp_path, stream=io.StringIO())
    assert re.fullmatch(message + ".*", str(e.value)) and "\n" not in str(e.value)
    assert not (run_dir(tmp_path, TINY, 7) / "results.json").exists()


@pytest.mark.parametrize("model, check", [("linear", "LinearHRU is unstable"), ("nonlinear", "dt must be finite")])
def test_a_diverging_run_ends_in_a_short_error(tmp_path, model, check):
    """lr = 1e30: the first update breaks the model, whose own run-time check fails in the second step."""
    cfg = TrainConfig(dataset="recall", length=16, model=model, seeds=(1,), steps=50, eval_every=10, blocks=1,
                      hidden=4, state_size=2, batch_size=4, eval_batch_size=16, lr=1e30)
    with pytest.raises(RHELError) as e:
        train_run(cfg, 1, tmp_path, stream=io.StringIO())
    assert re.fullmatch(rf"training diverged at step 2 of recall {model} rhel seed 1: {check}.*\. No checkpoint "
                        r"was reached yet\. Run it again with a lower --lr \(the folder holds no checkpoint, so "
                        r"the same --out works\), .*", str(e.value))


def test_a_run_that_failed_before_its_first_checkpoint_can_be_run_again(tmp_path, monkeypatch):
    take = rhel.data.take
    monkeypatch.setattr(rhel.data, "take", lambda data, idx: (np.full_like(take(data, idx)[0], np.nan),
                                                              *take(data, idx)[1:]))
    with pytest.raises(RHELError, match=r"diverged at step 1 .* No checkpoint was reached yet\. Run it again"):
        train_run(TINY, 7, tmp_path, stream=io.StringIO())
    assert os.listdir(run_dir(tmp_path, TINY, 7)) == ["config.json"]
    monkeypatch.setattr(rhel.data, "take", take)
    assert train_run(TINY.replace(steps=4), 7, tmp_path, stream=io.StringIO())["steps_done"] == 4


def test_resuming_a_finished_run_with_more_steps_continues_it(tmp_path, reference):
    """8 steps, then --resume with 16: the same run as 16 steps at once (8 is a validation step of both)."""
    said = io.StringIO()
    assert train_run(TINY.replace(steps=8), 7, tmp_path, stream=said)["steps_done"] == 8
    res = train_run(TINY, 7, tmp_path, resume=True, stream=said)
    assert "continuing the finished run from step 8 to step 16" in said.getvalue()
    folder = run_dir(tmp_path, TINY, 7)
    assert_same_run(folder, reference)
    ref = reference[1]
    assert (res["test_metric"], res["best_step"], res["steps_done"]) == (ref["test_metric"], ref["best_step"], 16)
    assert read_results(folder / "results.json") == res and res["config"] == TINY.to_dict()


@pytest.mark.parametrize("interrupted, call, saved", [
    ("take", 11, 10),     # while the batch of step 11 is prepared: steps 1–10 are complete
    ("evaluate", 2, 7),   # in the validation after step 8: step 8's bookkeeping is not complete
    ("take", 1, None),    # in the first step (e.g. while it compiles): nothing to save
])
def test_ctrl_c_saves_the_last_complete_step_and_the_run_resumes_exactly(tmp_path, monkeypatch, reference,
                                                                          interrupted, call, saved):
    owner = rhel.data if interrupted == "take" else trainer
    real, calls = getattr(owner, interrupted), []

    def interrupt(*args, **kw):
        calls.append(1)
        if len(calls) == call:
            raise KeyboardInterrupt
        return real(*args, **kw)

    monkeypatch.setattr(owner, interrupted, interrupt)
    said = io.StringIO()
    with pytest.raises(KeyboardInterrupt):
        train_run(TINY, 7, tmp_path, stream=said)
    monkeypatch.setattr(owner, interrupted, real)
    folder = run_dir(tmp_path, TINY, 7)
    if saved is None:
        assert os.listdir(folder) == ["config.json"]
    else:
        assert read_header(folder / LAST)["step"] == saved
        assert f"interrupted after step {saved}; saved it to" in said.getvalue()
    train_run(TINY, 7, tmp_path, resume=saved is not None, stream=io.StringIO())
    assert_same_run(folder, reference)


def test_a_damaged_checkpoint_or_results_file_is_an_error_naming_it_and_the_fix(tmp_path, reference):
    quiet = dict(stream=io.StringIO())
    assert train_run(TINY, 7, tmp_path, stop_at=10, **quiet) == {}
    folder = run_dir(tmp_path, TINY, 7)
    best = (folder / "best.ckpt").read_bytes()
    (folder / "best.ckpt").write_bytes(best[:-100])
    with pytest.raises(RHELError, match=r"cannot resume '.*': best\.ckpt is damaged \(it holds \d+ bytes of arrays "
                                        r"where \d+ were written\)\. It held the run's best model, which is lost"):
        train_run(TINY, 7, tmp_path, resume=True, **quiet)
    (folder / "best.ckpt").write_bytes(best)
    (folder / LAST).write_bytes(b"RHELCKPT1\n\x00\x01")  # 12 bytes
    with pytest.raises(RHELError, match=r"cannot resume '.*': last\.ckpt is damaged \(it ends before its header\)\. "
                                        r"Delete it: --resume then continues from best\.ckpt"):
        train_run(TINY, 7, tmp_path, resume=True, **quiet)
    (folder / LAST).unlink()
    res = train_run(TINY, 7, tmp_path, resume=True, **quiet)  # from best.ckpt: the steps after it replayed
    assert_same_run(folder, reference)
    assert res["test_metric"] == reference[1]["test_metric"]

    (folder / "results.json").write_text('{"seed": 7, "test_met')
    with pytest.raises(RHELError, match=r"'.*results\.json' is damaged \(not a JSON object of results\); delete it "
                                        r"and run the same command with --resume"):
        train_run(TINY, 7, tmp_path, resume=True, **quiet)
    (folder / "results.json").unlink()
    again = train_run(TINY, 7, tmp_path, resume=True, **quiet)
    assert [again[k] for k in ("test_metric", "test_loss", "best_step", "steps_done")] == \
        [res[k] for k in ("test_metric", "test_loss", "best_step", "steps_done")]


def test_stale_temporary_files_are_removed_when_a_run_starts_or_resumes(tmp_path):
    folder = run_dir(tmp_path, TINY, 7)
    folder.mkdir(parents=True)
    # rhel.atomic's temporaries (``.<name>.<random>.tmp<suffix>``) of the run's files, and files that are not
    stale = [".last.ckpt.k3j2h1g0.tmp", ".results.json.abcdefgh.tmp", ".config.json.x_1.tmp",
             ".best.ckpt.abc.tmp.png"]
    others = ["notes.txt", ".last.ckpt.tmp", ".notes.txt.abc.tmp", "last.ckpt.abc.tmp"]
    for name in stale + others:
        (folder / name).write_bytes(b"x")
    cfg = TINY.replace(steps=4, eval_every=2)
    train_run(cfg, 7, tmp_path, stop_at=3, stream=io.StringIO())  # a folder without a run's outputs: allowed
    assert sorted(os.listdir(folder)) == sorted(others + ["config.json", LAST, "best.ckpt", "metrics.csv"])
    (folder / ".best.ckpt.zzzzzzzz.tmp").write_bytes(b"x")
    train_run(cfg, 7, tmp_path, resume=True, stream=io.StringIO())
    assert not (folder / ".best.ckpt.zzzzzzzz.tmp").exists() and all((folder / n).exists() for n in others)


def test_output_step_is_the_data_sets_own():
    """A regression head must output where the targets are; a classification data set has no such steps."""
    key = jax.random.PRNGKey(0)
    adding = TrainConfig(dataset="adding", length=16, seeds=(1,), blocks=1, hidden=4, state_size=2)
    info = trainer.load_splits(adding, 1).info
    for given in (None, 16):
        model, _ = trainer.build_model(adding.replace(output_step=given), info, 2, key, jnp.float32)
        assert model.head.output_step == 16
    with pytest.raises(RHELError, match=r"^--output-step \(config field 'output_step'\) = 8 does not match adding, "
                                        r"whose targets come one every 16 steps; set it to 16 or leave it unset"):
        trainer.build_model(adding.replace(output_step=8), info, 2, key, jnp.float32)
    vowels = trainer.load_splits(TINY, 7).info
    with pytest.raises(RHELError, match=r"^--output-step \(config field 'output_step'\) = 4 applies to regression "
                                        r"data sets only, and JapaneseVowels is a classification data set; leave "
                                        r"it unset"):
        trainer.build_model(TINY.replace(output_step=4), vowels, 12, key, jnp.float32)
