"""rhel report: --help, a happy path on run folders, and usage errors."""

import json

import pytest

from rhel.cli.main import main
from rhel.training.results import write_metrics, write_results


def test_help(capsys):
    with pytest.raises(SystemExit) as e:
        main(["report", "--help"])
    assert e.value.code == 0
    assert "RUN_DIR" in capsys.readouterr().out


def _runs(root):
    """Two seeds of RHEL and BPTT on GunPoint under ``root``."""
    for gradient, vals in (("rhel", (0.9, 0.8)), ("bptt", (0.7, 0.7))):
        for seed, v in zip((1, 2), vals):
            d = root / "GunPoint" / "linear" / gradient / f"seed{seed}"
            write_results(d, dict(dataset="GunPoint", model="linear", gradient=gradient, seed=seed,
                                  task="classification", metric="acc", test_metric=v))
            write_metrics(d, [dict(step=10, val_metric=v), dict(step=20, val_metric=v)])
    return root


def test_happy_path(tmp_path, capsys):
    _runs(tmp_path / "runs")
    assert main(["report", str(tmp_path / "runs"), "--out", str(tmp_path / "rep")]) == 0
    out = capsys.readouterr().out
    assert "| linear RHEL | 85.0 ± 5.0 |" in out and "| linear BPTT | 70.0 ± 0.0 |" in out
    assert {p.name for p in (tmp_path / "rep").iterdir()} == {"report.md", "report.csv", "curves_GunPoint.png"}


def test_usage_errors(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(["report"])
    assert e.value.code == 2 and "RUN_DIR" in capsys.readouterr().err
    assert main(["report", str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "results.json").write_text(json.dumps({"seed": 1}))
    assert main(["report", str(tmp_path / "bad")]) == 2
    assert "not a results file" in capsys.readouterr().err


def test_file_system_errors_are_one_line_errors(tmp_path, capsys):
    runs = _runs(tmp_path / "runs")
    (tmp_path / "a-file").write_text("")
    assert main(["report", str(runs), "--out", str(tmp_path / "a-file")]) == 2
    err = capsys.readouterr().err
    assert err == (f"rhel report: error: --out {tmp_path / 'a-file'} is a file; give a folder (it is "
                   "created if missing).\n")
    # an error only the write itself meets (report.md is a folder) is one line too, naming the file
    (tmp_path / "rep" / "report.md").mkdir(parents=True)
    assert main(["report", str(runs), "--out", str(tmp_path / "rep")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rhel report: error: Is a directory: ") and err.rstrip().endswith("report.md")
    assert len(err.splitlines()) == 1


@pytest.mark.parametrize(
    "content, why",
    [
        (b"[1, 2]", "a JSON list, not an object"),
        (b"\xff\xfe\x00binary", "not UTF-8 text"),
        (b"{\"dataset\": ", "not JSON: "),
        (b"{\"seed\": 1}", "no 'dataset' field"),
        (json.dumps(dict(dataset="GunPoint", model="linear", gradient="rhel", task="classification", seed=[1],
                         test_metric=0.5)).encode(), "'seed' is [1], not an integer"),
        (json.dumps(dict(dataset="GunPoint", model="linear", gradient="rhel", task="classification", seed=1,
                         test_metric=None)).encode(), "'test_metric' is None, not a number"),
    ],
)
def test_a_malformed_results_file_is_a_one_line_error(tmp_path, capsys, content, why):
    bad = tmp_path / "bad" / "results.json"
    bad.parent.mkdir()
    bad.write_bytes(content)
    assert main(["report", str(tmp_path / "bad"), "--out", str(tmp_path / "rep")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"rhel report: error: {str(bad)!r} is not a results file of rhel train ({why}")
    assert err.endswith("); remove it or point rhel report elsewhere.\n") and len(err.splitlines()) == 1
    assert not (tmp_path / "rep").exists()

