"""`rhel gradcheck` on the paper's six-block SCP1 shape (H=64, P=256, L=896; synthetic data, batch 1)."""

import json

import pytest

from rhel.cli.main import main

SCP1 = ["--blocks", "6", "--hidden", "64", "--state", "256", "--length", "896", "--channels", "6",
        "--classes", "2", "--batch", "1", "--x64"]


@pytest.mark.parametrize(
    "model, epsilon, threshold, leaves_per_block",
    [("linear", "0.1", 1e-9, 9), ("nonlinear", "0.1", 1e-6, 12)],
)
def test_gradcheck_six_block_scp1_shape(tmp_path, capsys, model, epsilon, threshold, leaves_per_block):
    out_json, out_png = tmp_path / "g.json", tmp_path / "g.png"
    argv = ["gradcheck", "--model", model, "--epsilon", epsilon, *SCP1, "--json", str(out_json)]
    if model == "linear":
        argv += ["--plot", str(out_png)]
    assert main(argv) == 0
    records = json.loads(out_json.read_text())["records"]
    assert set(records[0]) == {"block", "param", "cosine", "norm_ratio", "rel_error"}
    # every parameter of every block, plus the encoder (block -1) and the head (block 6)
    for block in range(6):
        assert len([r for r in records if r["block"] == block]) == leaves_per_block
    assert {r["block"] for r in records} == set(range(-1, 7))
    worst = max(records, key=lambda r: r["rel_error"])
    assert worst["rel_error"] <= threshold, worst
    assert min(r["cosine"] for r in records) > 1 - threshold
    table = capsys.readouterr().out
    assert "hru." in table and "min cosine" in table
    if model == "linear":
        assert out_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_gradcheck_bad_arguments_give_clean_errors(tmp_path, capsys):
    assert main(["gradcheck", "--blocks", "0"]) == 2
    assert "--blocks must be >= 1" in capsys.readouterr().err
    assert main(["gradcheck", "--json", str(tmp_path / "missing" / "g.json")]) == 2
    assert "folder does not exist" in capsys.readouterr().err
    assert main(["gradcheck", "--dataset", "NoSuchDataset", "--blocks", "1"]) == 2
    assert "NoSuchDataset" in capsys.readouterr().err


def test_gradcheck_on_a_shipped_dataset_sample(tmp_path):
    out_json = tmp_path / "g.json"
    argv = ["gradcheck", "--model", "nonlinear", "--dataset", "JapaneseVowels", "--blocks", "1", "--hidden",
            "8", "--state", "8", "--batch", "2", "--epsilon", "0.01", "--x64", "--json", str(out_json)]
    assert main(argv) == 0
    records = json.loads(out_json.read_text())["records"]
    assert len(records) == 2 + 12 + 2  # encoder, one block, head
    assert max(r["rel_error"] for r in records) < 1e-3
