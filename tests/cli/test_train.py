"""rhel train: --help, a happy path, usage errors, and a SIGKILLed run resumed bit-identically."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from rhel.cli.main import main
from rhel.training.checkpoint import array_bytes, read_header
from rhel.training.config import TrainConfig
from rhel.training.trainer import LAST, run_dir

# the same shapes as tests/training (JapaneseVowels ships with aeon)
FLAGS = ["--dataset", "JapaneseVowels", "--model", "linear", "--blocks", "1", "--hidden", "32", "--state-size",
         "32", "--batch-size", "32", "--eval-batch-size", "96", "--lr", "3e-3"]


def test_help(capsys):
    with pytest.raises(SystemExit) as e:
        main(["train", "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    for flag in ("--dataset", "--model", "--gradient", "--config", "--seed", "--steps", "--eval-every",
                 "--patience", "--out", "--resume", "--x64", "--batch-size", "--lr", "--unit"):
        assert flag in out


def test_happy_path_writes_a_run_folder(tmp_path, capsys):
    code = main(["train", *FLAGS, "--gradient", "bptt", "--seed", "3", "4", "--steps", "4", "--eval-every", "2",
                 "--out", str(tmp_path)])
    assert code == 0
    out = capsys.readouterr()
    assert "seed 3:" in out.out and "seed 4:" in out.out and "mean ± std" in out.out
    assert "step 2/4" in out.err and "steps/s" in out.err  # plain progress lines (not a terminal)
    for seed in (3, 4):
        d = tmp_path / "JapaneseVowels" / "linear" / "bptt" / f"seed{seed}"
        res = json.loads((d / "results.json").read_text())
        assert res["seed"] == seed and res["config"]["steps"] == 4 and res["config"]["hidden"] == 32
        assert {"test_metric", "best_step", "wall_time_s", "peak_rss_mb", "versions"} <= set(res)
        assert res["dtype"] == "float32" and set(res["config"]) == set(TrainConfig().to_dict())
        assert (d / "metrics.csv").read_text().count("\n") == 3
        assert (d / "best.ckpt").exists() and (d / "last.ckpt").exists()
    # rerunning into the same folder is an error, not a prompt; --resume keeps the finished runs
    assert main(["train", *FLAGS, "--gradient", "bptt", "--seed", "3", "--steps", "4", "--eval-every", "2",
                 "--out", str(tmp_path)]) == 2
    assert "--resume" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--lr", "fast"], "invalid float value"),
        (["--model", "lstm"], "invalid choice"),
        (["--steps", "1.5"], "invalid int value"),
        (["--unit", "[1]"], "JSON object"),
        (["--bogus"], "unrecognized arguments"),
    ],
)
def test_usage_errors(capsys, argv, message):
    with pytest.raises(SystemExit) as e:
        main(["train", *argv])
    assert e.value.code == 2
    assert message in capsys.readouterr().err


def test_boolean_fields_of_a_config_file_can_be_switched_off(tmp_path, capsys):
    (tmp_path / "c.json").write_text(json.dumps({"dataset": "GunPoint", "x64": True, "time_channel": True}))
    assert main(["train", "--config", str(tmp_path / "c.json"), "--print-config"]) == 0
    c = json.loads(capsys.readouterr().out)
    assert (c["x64"], c["time_channel"]) == (True, True)
    assert main(["train", "--config", str(tmp_path / "c.json"), "--no-x64", "--no-time-channel",
                 "--print-config"]) == 0
    c = json.loads(capsys.readouterr().out)
    assert (c["x64"], c["time_channel"]) == (False, False)
    assert main(["train", "--dataset", "GunPoint", "--x64", "--print-config"]) == 0
    assert json.loads(capsys.readouterr().out)["x64"] is True


def test_length_help_says_what_the_code_does(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    assert "a real data set keeps its stored length and refuses this setting" in " ".join(
        capsys.readouterr().out.split())
    assert main(["train", "--dataset", "GunPoint", "--length", "10", "--out", str(tmp_path)]) == 2
    assert "length/size apply to the synthetic tasks (recall, adding) only" in capsys.readouterr().err


def test_bad_values_are_one_line_errors(tmp_path, capsys):
    assert main(["train", "--steps", "0", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rhel train: error: config field 'steps'") and "Traceback" not in err
    (tmp_path / "a-file").write_text("")
    for out, message in (("a-file", "is a file; give a folder"), ("a-file/runs", "a-file is a file, not a folder")):
        assert main(["train", "--dataset", "recall", "--length", "8", "--steps", "1", "--out",
                     str(tmp_path / out)]) == 2
        err = capsys.readouterr().err
        assert f"rhel train: error: --out {tmp_path / out}" in err and message in err
    (tmp_path / "c.json").write_text(json.dumps({"dataset": "GunPoint", "learning_rate": 1}))
    assert main(["train", "--config", str(tmp_path / "c.json")]) == 2
    assert "'learning_rate'" in capsys.readouterr().err


def test_sigkill_then_resume_is_bit_identical(tmp_path):
    cfg = TrainConfig(dataset="JapaneseVowels", model="linear", gradient="bptt", seeds=(5,), steps=300,
                      eval_every=100, patience=10, batch_size=32, eval_batch_size=96, lr=3e-3, blocks=1,
                      hidden=32, state_size=32, checkpoint_every=2)
    (tmp_path / "cfg.json").write_text(json.dumps(cfg.to_dict()))
    cmd = [sys.executable, "-m", "rhel.cli.main", "train", "--config", str(tmp_path / "cfg.json"),
           "--out", str(tmp_path / "killed")]
    # the resumed process reads the killed one's compiled programs from a persistent cache
    env = {**os.environ, "JAX_COMPILATION_CACHE_DIR": str(tmp_path / "jax-cache"),
           "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0"}
    folder = run_dir(tmp_path / "killed", cfg, 5)
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env=env)
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and proc.poll() is None:
            if (folder / LAST).exists() and read_header(folder / LAST)["step"] >= 6:
                break
            time.sleep(0.02)
        assert proc.poll() is None, "the run finished before it could be killed: " + proc.stderr.read().decode()
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    killed_at = read_header(folder / LAST)["step"]
    assert 6 <= killed_at < 300 and not (folder / "results.json").exists()
    done = subprocess.run(cmd + ["--resume"], stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    # the uninterrupted reference runs under the same conditions (a fresh process, the same programs)
    full = subprocess.run(cmd[:-1] + [str(tmp_path / "ref")], stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, env=env, timeout=300)
    assert full.returncode == 0, full.stderr[-2000:]
    r = run_dir(tmp_path / "ref", cfg, 5)
    got, ref = (json.loads((d / "results.json").read_text()) for d in (folder, r))
    assert (got["test_metric"], got["best_step"], got["steps_done"]) == (ref["test_metric"], ref["best_step"], 300)
    for name in ("last.ckpt", "best.ckpt"):
        assert array_bytes(folder / name) == array_bytes(r / name)
