"""rhel compare: --help, a happy path (both methods beat chance; gradients agree), a time limit that
stops a training instead of hanging, and usage errors."""

import json
import shutil

import pytest

from rhel.cli.main import main

# JapaneseVowels ships with aeon: 9 classes, chance ≈ 11 %.
FLAGS = ["--dataset", "JapaneseVowels", "--blocks", "1", "--hidden", "32", "--state-size", "32", "--batch-size",
         "32", "--eval-batch-size", "96", "--lr", "3e-3"]


def test_help(capsys):
    with pytest.raises(SystemExit) as e:
        main(["compare", "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert "ACSF1" in out and "--steps" in out and "--timeout" in out


def test_defaults_are_the_compare_budget(capsys):
    assert main(["compare", "--print-config"]) == 0
    c = json.loads(capsys.readouterr().out)
    assert (c["dataset"], c["model"], c["steps"]) == ("ACSF1", "linear", 1000)
    from rhel.data import load  # the default data set is real, loads offline and is long

    splits = load(c["dataset"], seed=c["seeds"][0], split=c["split"], time_channel=c["time_channel"])
    assert splits.info.task == "classification" and splits.train.x.shape[1] >= 1000
    assert main(["compare", "--model", "nonlinear", "--dataset", "GunPoint", "--print-config"]) == 0
    c = json.loads(capsys.readouterr().out)
    assert (c["dataset"], c["model"], c["steps"], c["blocks"]) == ("GunPoint", "nonlinear", 1000, 2)


def test_a_few_hundred_steps_with_each_method_beat_chance(tmp_path, capsys):
    assert main(["compare", *FLAGS, "--steps", "200", "--eval-every", "50", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    header = next(l for l in out.splitlines() if "RHEL" in l and "BPTT" in l)
    assert header.split() == ["RHEL", "BPTT"]
    for row in ("test accuracy %", "time per step", "peak memory", "cosine(RHEL, BPTT)"):
        assert row in out
    summary = json.loads((tmp_path / "compare.json").read_text())
    for g in ("rhel", "bptt"):
        r = summary["results"][g]
        assert r["gradient"] == g and r["seed"] == 2345 and r["steps_done"] >= 50
        assert r["test_metric"] > 5 / 9, (g, r["test_metric"])  # chance is 1/9
        assert r["peak_rss_mb"] > 0 and r["time_per_step_s"] > 0
    assert summary["results"]["rhel"]["sizes"] == summary["results"]["bptt"]["sizes"]  # same split
    agreement = summary["gradient_agreement"]
    assert agreement["tensors"] > 3 and agreement["cosine_min"] > 0.999
    assert 0.99 < agreement["norm_ratio_min"] <= agreement["norm_ratio_max"] < 1.01


def test_a_training_over_the_time_limit_is_stopped(tmp_path, capsys):
    code = main(["compare", *FLAGS, "--steps", "100000", "--no-gradient-check", "--timeout", "3",
                 "--out", str(tmp_path)])
    assert code == 2
    assert "did not finish within 3 s" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [(["--steps", "many"], "invalid int value"),
                                           (["--gradient", "rhel"], "unrecognized arguments")])
def test_usage_errors(capsys, argv, message):
    with pytest.raises(SystemExit) as e:
        main(["compare", *argv])
    assert e.value.code == 2 and message in capsys.readouterr().err


def test_an_interrupted_comparison_resumes(tmp_path, capsys):
    """A re-run refuses to touch the runs in --out before any work, and names --resume, which exists: it
    keeps the finished RHEL run as it is and trains only the missing BPTT one."""
    tiny = ["--dataset", "ItalyPowerDemand", "--blocks", "1", "--hidden", "4", "--state-size", "4",
            "--steps", "2", "--eval-every", "1", "--no-gradient-check", "--out", str(tmp_path)]
    assert main(["compare", *tiny]) == 0
    seed_dirs = {g: tmp_path / "ItalyPowerDemand" / "linear" / g / "seed2345" for g in ("rhel", "bptt")}
    kept = (seed_dirs["rhel"] / "results.json").read_bytes()
    shutil.rmtree(seed_dirs["bptt"])  # as if interrupted before BPTT started
    (tmp_path / "compare.json").unlink()
    capsys.readouterr()
    assert main(["compare", *tiny]) == 2
    err = capsys.readouterr().err
    assert "already holds this comparison's RHEL run; pass --resume" in err and "training" not in err
    assert main(["compare", *tiny, "--resume"]) == 0
    assert (seed_dirs["rhel"] / "results.json").read_bytes() == kept
    summary = json.loads((tmp_path / "compare.json").read_text())
    assert summary["results"]["rhel"] == json.loads(kept)
    assert summary["results"]["bptt"]["steps_done"] == 2


def test_an_interrupt_says_how_to_resume(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))  # where the default --out folder goes

    def interrupted(config, seed, out, **kwargs):  # the RHEL run has saved a checkpoint, then Ctrl-C
        folder = out / config.dataset / config.model / "rhel" / f"seed{seed}"
        folder.mkdir(parents=True)
        (folder / "config.json").write_text("{}")
        (folder / "last.ckpt").write_bytes(b"")
        raise KeyboardInterrupt

    monkeypatch.setattr("rhel.training.compare.compare", interrupted)
    assert main(["compare", "--dataset", "GunPoint"]) == 130
    (out,) = tmp_path.iterdir()
    assert f"runs so far are kept in {out}; add `--out {out} --resume` to the same command" in capsys.readouterr().err


def test_bad_values(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))  # where the default --out folder goes
    assert main(["compare", "--timeout", "0"]) == 2
    assert "--timeout" in capsys.readouterr().err
    assert main(["compare", "--timeout", "nan"]) == 2
    assert "--timeout must be a finite number > 0, got nan" in capsys.readouterr().err
    assert main(["compare", "--resume"]) == 2
    assert "--resume continues the comparison in --out DIR" in capsys.readouterr().err
    (tmp_path / "a-file").write_text("")
    assert main(["compare", "--out", str(tmp_path / "a-file")]) == 2
    assert "is a file; give a folder" in capsys.readouterr().err
    (tmp_path / "a-file").unlink()
    assert main(["compare", "--dataset", "NoSuchSet", "--no-gradient-check", "--timeout", "60"]) == 2
    assert "NoSuchSet" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []  # the folder made for the runs is gone again, being empty


def test_a_run_folder_with_only_its_config_is_not_a_started_run(tmp_path):
    """A training that failed before its first checkpoint leaves its config.json: nothing to keep, so a plain
    re-run of the comparison may train into it (the training itself allows it too)."""
    from rhel.training import config as C
    from rhel.training.compare import child_config, started_runs
    from rhel.training.trainer import run_dir

    config = C.shipped_config("ACSF1", "linear")
    seed = config.seeds[0]
    folder = run_dir(tmp_path, child_config(config, "rhel", seed), seed)
    folder.mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    assert started_runs(config, seed, tmp_path) == []
    (folder / "last.ckpt").write_bytes(b"")
    assert started_runs(config, seed, tmp_path) == ["rhel"]
