"""``rhel physics`` trains the toy and writes its figures; bad arguments give a one-line error."""

from rhel.cli.main import main


def test_rhel_physics_writes_the_figures(tmp_path, capsys):
    out = tmp_path / "figs"
    assert main(["physics", "--out", str(out), "--steps", "40", "--no-compare"]) == 0
    text = capsys.readouterr().out
    assert "RHEL: loss" in text and "max relative difference" in text
    assert "ffmpeg" in text  # says whether an animation was written or why not
    names = sorted(p.name for p in out.iterdir())
    expected = ["gradient.png", "loss.png", "trajectories.png"]
    assert names in (expected, sorted(expected + ["echo.mp4"]))  # no temporary files left behind
    for name in expected:
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert (out / name).stat().st_size > 10_000


def test_rhel_physics_rejects_bad_arguments(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["physics", "--out", str(blocker), "--steps", "1"]) == 2
    assert "not a folder" in capsys.readouterr().err
    assert main(["physics", "--steps", "0"]) == 2
    assert "--steps" in capsys.readouterr().err
