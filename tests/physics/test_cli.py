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
    for flag in ("--steps", "--grid"):
        assert main(["physics", flag, "0"]) == 2
        assert capsys.readouterr().err == f"rhel physics: error: {flag} must be a positive integer, got 0.\n"
    for flag, value in (("--seed", "100000000000000000000000"), ("--seed", "-1"), ("--horizon", "inf"),
                        ("--lr", "nan")):
        assert main(["physics", "--out", str(tmp_path / "figs"), flag, value, "--steps", "1"]) == 2
        assert capsys.readouterr().err.startswith(f"rhel physics: error: {flag} must be")
    assert not (tmp_path / "figs").exists()


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


def _toy_trace():
    import jax

    from rhel.physics import random_params
    from rhel.physics.toy import echo_of, make_task

    task = make_task(jax.random.key(0), horizon=5.0, steps=50)
    return task, echo_of(task, random_params(jax.random.key(1), 6))


def test_figures_are_readable_by_others(tmp_path):
    """The atomic write goes through mkstemp (mode 0600); the figure must get the umask's usual mode."""
    import os
    import stat

    from rhel.physics.render import loss_figure

    old = os.umask(0o022)
    try:
        path = loss_figure({"RHEL": [1.0, 0.1]}, tmp_path / "loss.png")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_gradient_figure_names_its_axes_and_curves(tmp_path, monkeypatch):
    """Every curve of gradient.png says which parameter it is, and both panels have a y-axis label."""
    from rhel.physics import render

    task, trace = _toy_trace()
    figures = []
    saved = render._save
    monkeypatch.setattr(render, "_save", lambda fig, path: (figures.append(fig), saved(fig, path))[1])
    render.gradient_figure(task, trace, tmp_path / "gradient.png", reference=trace.grad_params)
    (fig,) = figures
    springs, couplings = fig.axes
    for ax, count in ((springs, 6), (couplings, 15)):
        assert ax.get_ylabel() and ax.get_xlabel()
        labels = [t.get_text() for t in ax.get_legend().get_texts()]
        assert len(labels) == count + 1 and "BPTT total" in labels
        colours = {tuple(line.get_color()) for line in ax.get_lines()[:count]}
        assert len(colours) == count  # no two curves share a colour
    assert "k1" in [t.get_text() for t in springs.get_legend().get_texts()]
    assert "c14" in [t.get_text() for t in couplings.get_legend().get_texts()]


def test_figures_take_their_format_from_the_suffix(tmp_path):
    """A .pdf is a PDF and a .svg an SVG; a str path is a path; any other suffix is refused by name."""
    import pytest

    from rhel.errors import RHELError
    from rhel.physics.render import loss_figure

    curves = {"RHEL": [1.0, 0.1]}
    assert loss_figure(curves, tmp_path / "loss.pdf").read_bytes()[:5] == b"%PDF-"
    path = loss_figure(curves, str(tmp_path / "loss.svg"))
    assert path == tmp_path / "loss.svg" and b"<svg" in path.read_bytes()[:1000]
    with pytest.raises(RHELError, match=r"loss\.jpg: a figure's file name must end in one of \.png, \.pdf"):
        loss_figure(curves, tmp_path / "loss.jpg")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["loss.pdf", "loss.svg"]


def test_trajectories_figure_says_what_its_adjoint_panel_plots(tmp_path, monkeypatch):
    """The third panel is √m·[(c/2εδ)(π₊ − π₋) + g/2], the adjoint ∂L/∂x from the echoes' momentum gap."""
    import jax.numpy as jnp
    import numpy as np

    import rhel
    from rhel.physics import render

    task, trace = _toy_trace()
    figures = []
    saved = render._save
    monkeypatch.setattr(render, "_save", lambda fig, path: (figures.append(fig), saved(fig, path))[1])
    render.trajectories_figure(task, trace, tmp_path / "trajectories.png")
    (fig,) = figures
    panel = fig.axes[2]
    assert "π₊ − π₋" in panel.get_title() and "∂L/∂x" in panel.get_title()
    step = jnp.full(task.system.size, task.dt)
    method = rhel.RHEL()
    c = method.nudge_scale(trace.cotangent[1:] * step, task.dt)
    gap = c / (2 * method.epsilon * task.dt) * (trace.echo_pi[0] - trace.echo_pi[1]) + trace.cotangent / 2
    expected = np.sqrt(np.asarray(task.system.masses)) * np.asarray(gap)
    for i, line in enumerate(panel.get_lines()):
        np.testing.assert_allclose(line.get_ydata(), expected[:, i], rtol=1e-4, atol=1e-6 * np.abs(expected).max())


def test_rhel_physics_refuses_a_step_too_large_for_the_initial_parameters(tmp_path, capsys):
    """The student's fastest mode, not only the teacher's, must be resolved: seed 0 at --grid 32 trained on
    garbage (RHEL loss 1.7e12, gradient difference 3.3e12) because only the teacher (ω 2.10) was checked."""
    out = str(tmp_path / "figs")
    for seed, grid, fewest in ((0, 32, 34), (4, 34, 37)):
        assert main(["physics", "--out", out, "--seed", str(seed), "--grid", str(grid), "--steps", "3"]) == 2
        err = capsys.readouterr().err
        assert "the initial θ" in err and f"use at least {fewest} leapfrog steps" in err
    assert not (tmp_path / "figs").exists()
    args = ["physics", "--out", out, "--grid", "34", "--steps", "3", "--no-compare", "--no-animation"]
    assert main(args) == 0
    line = next(s for s in capsys.readouterr().out.splitlines() if "max relative difference" in s)
    assert float(line.split()[-1]) < 1e-5


def test_rhel_physics_refuses_a_training_run_that_leaves_the_stable_region(tmp_path, capsys):
    args = ["physics", "--out", str(tmp_path), "--grid", "34", "--lr", "2", "--steps", "3", "--no-animation"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "training with RHEL left the leapfrog's stable region" in err and "raise --grid to at least" in err
    assert list(tmp_path.iterdir()) == []


def test_run_demo_refuses_a_gradient_that_differs_from_bptt(tmp_path, monkeypatch):
    import pytest

    from rhel.errors import RHELError
    from rhel.physics import demo

    monkeypatch.setattr(demo, "GRADIENT_TOLERANCE", 1e-12)
    with pytest.raises(RHELError, match=r"RHEL's gradient differs from BPTT's by .* more than 1e-12"):
        demo.run_demo(tmp_path, steps=1, horizon=5.0, grid=50, compare=False, animate=False)
    assert list(tmp_path.iterdir()) == []


def test_rhel_physics_says_when_there_is_nothing_to_train(tmp_path, capsys):
    """One step of 0.01: oscillator 4 has not moved, the loss and its gradient are 0 (was ZeroDivisionError)."""
    assert main(["physics", "--out", str(tmp_path), "--horizon", "0.01", "--grid", "1", "--steps", "1"]) == 2
    err = capsys.readouterr().err
    assert "the loss gradient is exactly zero at the initial θ" in err and "Raise --horizon and --grid" in err
