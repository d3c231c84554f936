"""The cache location and atomic writes, and the ``rhel data`` subcommands."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rhel import data
from rhel.cli.main import main
from rhel.data import cache_dir, uea
from rhel.data.cache import atomic_path, save_npz
from rhel.errors import DatasetError


def test_cache_dir_precedence(monkeypatch, tmp_path):
    monkeypatch.delenv("RHEL_DATA", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "rhel"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "rhel"
    monkeypatch.setenv("RHEL_DATA", str(tmp_path / "env"))
    assert cache_dir() == tmp_path / "env"
    assert cache_dir(tmp_path / "flag") == tmp_path / "flag"


def test_an_interrupted_write_leaves_the_old_file(tmp_path):
    final = tmp_path / "sub" / "a.npz"
    save_npz(final, x=np.arange(3))
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(final) as tmp:
            tmp.write_bytes(b"half")
            raise KeyboardInterrupt
    with np.load(final) as z:
        np.testing.assert_array_equal(z["x"], np.arange(3))
    assert sorted(p.name for p in final.parent.iterdir()) == ["a.npz"]


def test_data_list(capsys, tmp_path):
    assert main(["data", "list", "--cache-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[0]: line.split() for line in out.splitlines()[1:] if line and not line.startswith("cache")}
    assert lines["EigenWorms"][1:5] == ["uea", "17984", "6", "5"] and lines["EigenWorms"][-1] == "no"
    assert lines["ACSF1"][1:5] == ["uea", "1460", "1", "10"] and lines["ACSF1"][-1] == "yes"
    assert lines["PPG-DaLiA"][1:5] == ["ppg", "49920", "6", "-"]
    assert lines["recall"][-1] == "generated" and "adding" in lines
    assert str(tmp_path) in out


def test_data_info_and_prepare(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("RHEL_DATA", str(tmp_path / "env"))
    assert main(["data", "info", "JapaneseVowels", "--seed", "5", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["info"]["length"] == 29 and out["info"]["num_classes"] == 9
    assert out["meta"]["seed"] == 5 and sum(out["meta"]["sizes"].values()) == 640 - out["meta"]["duplicates_dropped"]
    assert (tmp_path / "env" / "uea" / "JapaneseVowels.npz").is_file()  # the environment variable sets the cache
    assert main(["data", "info", "adding", "--length", "500", "--size", "10"]) == 0
    assert "length 500" in capsys.readouterr().out
    assert main(["data", "info", "MotorImagery"]) == 0
    assert "rhel data prepare MotorImagery" in capsys.readouterr().out
    src = Path(__import__("rhel.data.uea", fromlist=["x"]).aeon_data_dir()) / "BasicMotions"
    assert main(["data", "prepare", "BasicMotions", "--source", str(src), "--cache-dir", str(tmp_path / "c")]) == 0
    assert (tmp_path / "c" / "uea" / "BasicMotions" / "BasicMotions_TRAIN.ts").is_file()
    assert (tmp_path / "c" / "uea" / "BasicMotions.npz").is_file()


def test_data_info_text_is_readable_and_json_is_json(capsys, tmp_path):
    cache = ["--cache-dir", str(tmp_path)]
    assert main(["data", "info", "JapaneseVowels", *cache]) == 0
    out = capsys.readouterr().out
    assert "indices: {" not in out and len(out) < 2_000, out  # 640 split indices belong to --json
    assert "variable length 7-29" in out and "class_counts" in out
    assert main(["data", "info", "MotorImagery", *cache]) == 0
    out = capsys.readouterr().out
    assert not out.lstrip().startswith("{")
    assert "length 3000, 64 channels, 2 classes" in out and "rhel data prepare MotorImagery" in out
    assert main(["data", "info", "MotorImagery", "--json", *cache]) == 0
    out = json.loads(capsys.readouterr().out)  # nothing but JSON, also when not cached
    assert out["cached"] is False and out["spec"]["length"] == 3000


def test_cli_errors_are_one_clean_line(capsys, tmp_path):
    assert main(["data", "info", "NoSuchSet", "--cache-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rhel data: error: unknown data set 'NoSuchSet'") and "EigenWorms" in err
    assert "Traceback" not in err and err.count("\n") == 1
    assert main(["data", "prepare", "PPG-DaLiA", "--cache-dir", str(tmp_path)]) == 2
    assert "archive.ics.uci.edu" in capsys.readouterr().err
    assert main(["data", "prepare", "ACSF1", "--source", str(tmp_path / "nowhere"), "--cache-dir", str(tmp_path)]) == 2
    assert "does not contain ACSF1_TRAIN.ts" in capsys.readouterr().err


def test_prepare_into_a_cache_that_cannot_be_written_says_so(capsys, tmp_path, monkeypatch):
    """Loading goes on without its cache file (the arrays are in memory); `prepare` exists to write it."""
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    # the library's own check (the command checks --cache-dir before, tests/cli/test_data.py)
    with pytest.raises(DatasetError, match=f"cannot use {not_a_folder} as the data cache .*--cache-dir"):
        data.prepare("BasicMotions", cache_dir=not_a_folder)

    def refuse(path, **arrays):  # a folder the process may not write to (chmod does not stop root)
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(uea, "save_npz", refuse)
    assert main(["data", "prepare", "BasicMotions", "--cache-dir", str(tmp_path / "c")]) == 2
    err = capsys.readouterr().err
    assert "BasicMotions was read but" in err and "could not be written" in err and "--cache-dir" in err


def test_length_and_size_are_refused_for_a_set_that_is_not_generated(capsys, tmp_path):
    cache = ["--cache-dir", str(tmp_path)]
    assert main(["data", "info", "BasicMotions", "--length", "5", "--size", "3", *cache]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rhel data: error: --length and --size apply to the synthetic tasks") and "Drop" in err
    assert main(["data", "info", "MotorImagery", "--size", "3", *cache]) == 2  # also when not cached
    err = capsys.readouterr().err
    assert "error: --size applies to the synthetic tasks" in err and "--length" not in err
    assert main(["data", "info", "recall", "--length", "20", "--size", "3", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["meta"]["size"] == 3


def test_a_ppg_source_that_does_not_exist_is_named(capsys, tmp_path):
    missing = tmp_path / "nowhere" / "PPG_FieldStudy"
    assert main(["data", "prepare", "PPG-DaLiA", "--source", str(missing), "--cache-dir", str(tmp_path / "c")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"rhel data: error: --source {missing} does not exist;") and "archive.ics.uci.edu" in err
    assert err.count("\n") == 1
