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


def test_echo_animation_frames(tmp_path):
    """The animation's frames, written with Pillow (GIF) since ffmpeg may be absent."""
    import jax
    from matplotlib.animation import PillowWriter

    from rhel.physics import random_params
    from rhel.physics.render import echo_animation
    from rhel.physics.toy import echo_of, make_task

    task = make_task(jax.random.key(0), horizon=5.0, steps=50)
    trace = echo_of(task, random_params(jax.random.key(1), 6))
    path = echo_animation(task, trace, tmp_path / "echo.gif", frames=5, writer=PillowWriter(fps=5))
    assert path.read_bytes()[:6] in (b"GIF89a", b"GIF87a")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["echo.gif"]
