"""`rhel gradcheck` on the paper's six-block SCP1 shape (H=64, P=256, L=896; synthetic data, batch 1)."""

import json

import pytest

from rhel.cli.main import main

SCP1 = ["--blocks", "6", "--hidden", "64", "--state", "256", "--length", "896", "--channels", "6",
        "--classes", "2", "--batch", "1", "--x64"]


@pytest.mark.parametrize(
    "model, epsilon, threshold, leaves_per_block",
    [("linear", "0.1", 1e-9, 9), ("nonlinear", "0.1", 2e-6, 12)],
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


TINY = ["--blocks", "1", "--hidden", "4", "--state", "4", "--length", "8"]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--blocks", "0"], "--blocks must be a positive integer, got 0."),
        (["--length", "0"], "--length must be a positive integer, got 0."),
        (["--classes", "1"], "--classes must be an integer >= 2, got 1."),
        (["--epsilon", "nan"], "--epsilon must be a finite number > 0, got nan"),
        (["--epsilon", "inf"], "--epsilon must be a finite number > 0, got inf"),
        (["--seed", "-1"], "--seed must be an integer from 0 to 4294967295"),
        (["--seed", "4294967296"], "--seed must be an integer from 0 to 4294967295 (a 32-bit seed), got 4294967296."),
        (["--plot", "g.jpg"], "--plot g.jpg: a figure's file name must end in one of .png, .pdf, .svg"),
        (["--dataset", "NoSuchDataset", "--blocks", "1"], "NoSuchDataset"),
        (["--dataset", "GunPoint", "--length", "8"], "length/size apply to the synthetic tasks"),
    ],
)
def test_gradcheck_bad_arguments_give_clean_errors(capsys, argv, message):
    assert main(["gradcheck", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_gradcheck_refuses_unwritable_outputs_before_computing(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("rhel.cli.gradcheck._run", lambda args: pytest.fail("the gradients were computed"))
    (tmp_path / "a-file").write_text("")
    assert main(["gradcheck", "--json", str(tmp_path)]) == 2
    assert f"--json {tmp_path} is a folder; give a file name" in capsys.readouterr().err
    assert main(["gradcheck", "--plot", str(tmp_path / "a-file" / "g.png")]) == 2
    assert "a-file is a file, not a folder" in capsys.readouterr().err


@pytest.mark.parametrize("name, magic", [("g.pdf", b"%PDF"), ("g.svg", b"<?xml")])
def test_gradcheck_plot_format_follows_the_suffix(tmp_path, name, magic):
    out = tmp_path / "new" / name  # a missing folder is created
    assert main(["gradcheck", *TINY, "--plot", str(out)]) == 0
    assert out.read_bytes().startswith(magic)


def test_gradcheck_length_applies_to_a_synthetic_dataset():
    from rhel.cli.gradcheck import _batch
    from rhel.cli.main import build_parser

    args = build_parser().parse_args(["gradcheck", "--dataset", "recall", "--length", "8", "--batch", "2"])
    x, _, mask, *_ = _batch(args)
    assert x.shape[:2] == mask.shape == (2, 8)
    args = build_parser().parse_args(["gradcheck", "--batch", "2"])  # synthetic data: SCP1's length
    assert _batch(args)[0].shape[:2] == (2, 896)


def test_gradcheck_on_a_shipped_dataset_sample(tmp_path):
    out_json = tmp_path / "g.json"
    argv = ["gradcheck", "--model", "nonlinear", "--dataset", "JapaneseVowels", "--blocks", "1", "--hidden",
            "8", "--state", "8", "--batch", "2", "--epsilon", "0.01", "--x64", "--json", str(out_json)]
    assert main(argv) == 0
    records = json.loads(out_json.read_text())["records"]
    assert len(records) == 2 + 12 + 2  # encoder, one block, head
    assert max(r["rel_error"] for r in records) < 1e-3
