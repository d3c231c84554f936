"""Figures of the physical toy: forward and echo trajectories, the gradient building up during the echo,
the loss curve, and (where ``ffmpeg`` is on PATH) an animation of the forward pass and its echo.

Every file is written atomically (to a temporary file in the same folder, then ``os.replace``), so an
interrupted run never leaves a truncated figure behind. A figure's format is its file suffix (``.png``,
``.pdf`` or ``.svg``: :func:`rhel.figure.save_figure`); paths may be ``str`` or ``Path``. Matplotlib
runs on the Agg backend.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np

from rhel.atomic import atomic_path
from rhel.figure import save_figure
from rhel.physics.toy import ToyTask
from rhel.physics.trace import EchoTrace


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: str | os.PathLike) -> Path:
    """Write ``fig`` to ``path`` in the format its suffix names, close it, and return ``Path(path)``."""
    save_figure(fig, path, dpi=110)
    return Path(path)


def _physical(task: ToyTask, trace: EchoTrace):
    """Forward positions, echo positions and ∂L/∂x in physical units (x = φ/√m, ∂L/∂x = √m ∂L/∂φ)."""
    root_m = np.sqrt(np.asarray(task.system.masses))
    x = np.asarray(trace.phi) / root_m
    echoes = np.asarray(trace.echo_phi) / root_m
    adjoint = np.asarray(trace.adjoint_midpoint[0]) * root_m
    return x, echoes, adjoint


def trajectories_figure(
    task: ToyTask, trace: EchoTrace, path: str | os.PathLike, *, trained_readout: np.ndarray | None = None
) -> Path:
    """Forward pass, the two echoes on top of it, and the adjoint ∂L/∂x(t) read off their momentum gap.

    The third panel plots :attr:`EchoTrace.adjoint_midpoint` in physical units,
    ``√m ⊙ [(c/2εδ)(π₊ − π₋) + g/2]`` (c the nudge scale, g the loss cotangent at that step).
    """
    plt = _pyplot()
    t = np.asarray(task.times)
    x, echoes, adjoint = _physical(task, trace)
    ro = task.system.readout
    fig, axes = plt.subplots(3, 1, figsize=(9, 9), sharex=True)
    for i in range(x.shape[1]):
        axes[0].plot(t, x[:, i], lw=1, label=f"x{i + 1}")
    axes[0].set_ylabel("position")
    axes[0].set_title(f"forward pass: force on oscillator {task.system.drive + 1}")
    axes[0].legend(ncol=6, fontsize=8, loc="upper right")

    axes[1].plot(t[1:], np.asarray(task.target), "k", lw=2, alpha=0.4, label="target y(t)")
    axes[1].plot(t, x[:, ro], "C0", lw=1, label=f"x{ro + 1} forward (initial θ)")
    axes[1].plot(t, echoes[0, :, ro], "C1--", lw=1, label="echo +ε (run backwards in time)")
    axes[1].plot(t, echoes[1, :, ro], "C2--", lw=1, label="echo −ε")
    if trained_readout is not None:
        axes[1].plot(t[1:], trained_readout, "C3", lw=1, label=f"x{ro + 1} after training")
    axes[1].set_ylabel(f"oscillator {ro + 1}")
    axes[1].set_title("the echoes retrace the forward pass; their gap is the gradient signal")
    axes[1].legend(fontsize=8, loc="upper right")

    for i in range(adjoint.shape[1]):
        axes[2].plot(t, adjoint[:, i], lw=1, label=f"∂L/∂x{i + 1}")
    axes[2].set_ylabel("adjoint λ(t)")
    axes[2].set_xlabel("forward time t (the echo runs from t = T down to 0)")
    axes[2].set_title("adjoint ∂L/∂x(t) read off the echoes' momentum gap: √m·[(c/2εδ)(π₊ − π₋) + g/2]")
    axes[2].legend(ncol=6, fontsize=8, loc="upper right")
    fig.tight_layout()
    return _save(fig, path)


def gradient_figure(task: ToyTask, trace: EchoTrace, path: str | os.PathLike, *, reference=None) -> Path:
    """Each parameter's gradient as the echo accumulates it, against echo time s = T − t.

    ``reference`` (optional, a pytree like the parameters) marks the totals of another method (BPTT).
    """
    plt = _pyplot()
    s = task.horizon - np.asarray(task.times)
    n = task.system.size
    rows, cols = np.triu_indices(n, k=1)
    names = {
        "springs": [f"k{i + 1}" for i in range(n)],
        "couplings": [f"c{i + 1}{j + 1}" if n < 10 else f"c{i + 1},{j + 1}" for i, j in zip(rows, cols)],
    }
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8))
    for ax, name, symbol in zip(axes, ("springs", "couplings"), ("k̂", "ĉ")):
        partial = np.asarray(getattr(trace.partial_grad, name))
        # tab20 (not the 10-colour default cycle) so that the 15 couplings of six oscillators differ
        colours = plt.get_cmap("tab20" if partial.shape[1] > 10 else "tab10").colors
        for j in range(partial.shape[1]):
            ax.plot(s, partial[:, j], lw=1, color=colours[j % len(colours)], label=names[name][j])
        if reference is not None:
            total = np.asarray(getattr(reference, name))
            ax.plot(np.full_like(total, s[0]), total, "kx", ms=6, label="BPTT total")
        ax.legend(fontsize=7, ncol=3 if partial.shape[1] > 8 else 2, loc="best")
        ax.set_xlabel("echo time s = T − t")
        ax.set_ylabel(f"∂L/∂{symbol} accumulated so far")
        ax.set_title(f"∂L/∂{name} accumulating during the echo\n(raw parameters, through the softplus)",
                     fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def loss_figure(curves: dict[str, np.ndarray], path: str | os.PathLike) -> Path:
    """Training loss against the update step, on a log scale, one line per gradient method."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for i, (label, losses) in enumerate(curves.items()):
        style = dict(lw=3, alpha=0.5) if i == 0 else dict(lw=1.2, ls="--")
        ax.semilogy(np.arange(len(losses)), losses, label=label, **style)
    ax.set_xlabel("Adam step")
    ax.set_ylabel("loss ∫ ½(x₄ − y)² dt")
    ax.set_title("physical toy: training the springs and couplings")
    ax.legend()
    fig.tight_layout()
    return _save(fig, path)


def ffmpeg_available() -> bool:
    return shutil.which("ffmpeg") is not None


def echo_animation(
    task: ToyTask, trace: EchoTrace, path: str | os.PathLike, *, frames: int = 150, writer=None
) -> Path:
    """A movie of the oscillators during the forward pass and then the echo.

    ``writer`` is a Matplotlib movie writer; the default, ``FFMpegWriter`` (an MP4), needs ``ffmpeg``.
    """
    plt = _pyplot()
    from matplotlib import animation

    path = Path(path)
    x, echoes, _ = _physical(task, trace)
    forward = x[:: max(1, len(x) // frames)]
    backward = echoes[0, ::-1][:: max(1, len(x) // frames)]
    states = np.concatenate([forward, backward])
    n = x.shape[1]
    fig, ax = plt.subplots(figsize=(7, 3))
    span = float(np.max(np.abs(states))) or 1.0
    ax.set_xlim(-span * 1.2, span * 1.2)
    ax.set_ylim(-0.5, n - 0.5)
    ax.set_yticks(range(n), [f"oscillator {i + 1}" for i in range(n)])
    dots = ax.scatter(states[0], np.arange(n), s=80)
    title = ax.set_title("")

    def draw(i):
        dots.set_offsets(np.stack([states[i], np.arange(n)], axis=1))
        title.set_text("forward pass" if i < len(forward) else "echo (momenta flipped, +ε nudge)")
        return dots, title

    anim = animation.FuncAnimation(fig, draw, frames=len(states), interval=40, blit=False)
    try:
        writer = animation.FFMpegWriter(fps=25) if writer is None else writer
        with atomic_path(path, suffix=path.suffix) as tmp:
            anim.save(tmp, writer=writer)
        return path
    finally:
        plt.close(fig)
