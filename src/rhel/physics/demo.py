"""The physical toy end to end (what ``rhel physics`` runs): train by RHEL, compare with BPTT, render."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from rhel.engine.gradient import BPTT, RHEL
from rhel.errors import RHELError
from rhel.physics import render
from rhel.physics.oscillators import random_params
from rhel.physics.toy import MASSES, echo_of, fewest_steps, make_task, train

GRADIENT_TOLERANCE = 1e-3
"""The largest RHEL-vs-BPTT difference :func:`run_demo` accepts at the initial θ (relative to max |g_BPTT|).
The toy's V is quadratic, so the two agree to float32 round-off (about 1e-6) on a stable grid."""


class DemoResult(NamedTuple):
    losses: dict[str, np.ndarray]
    """Loss curve per gradient method (``"RHEL"``, and ``"BPTT"`` when compared)."""
    gradient_rel_diff: float
    """max |g_RHEL − g_BPTT| / max |g_BPTT| at the initial parameters."""
    files: list[Path]
    animation_note: str
    """What happened to the animation (written, or why not)."""


def run_demo(
    out: str | Path,
    *,
    steps: int = 200,
    learning_rate: float = 0.05,
    epsilon: float = 0.1,
    horizon: float = 30.0,
    grid: int = 300,
    seed: int = 0,
    compare: bool = True,
    animate: bool = True,
) -> DemoResult:
    """Train the toy from a random θ with RHEL (and with BPTT when ``compare``); write the figures to
    ``out``: ``trajectories.png`` (forward pass, echoes, adjoint at the initial θ), ``gradient.png``
    (the gradient accumulating during that echo), ``loss.png``, and ``echo.mp4`` if ffmpeg is found.

    Raises an :class:`RHELError`, naming the fix, when the step does not resolve the fastest normal mode of
    the teacher or of the initial θ (:func:`rhel.physics.toy.check_step`), when the loss gradient (by
    BPTT) is exactly zero at the initial θ (nothing to train), when RHEL's gradient there differs from
    BPTT's by more than :data:`GRADIENT_TOLERANCE`, and when a training run leaves the stable region
    (δ·ω_max ≥ 2 at some step) or its loss is not finite.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise RHELError(f"--out {out} exists and is not a folder; choose another path.")
    key_task, key_init = jax.random.split(jax.random.key(seed))
    params = random_params(key_init, len(MASSES))
    task = make_task(key_task, horizon=horizon, steps=grid, initial=params)
    method = RHEL(epsilon=epsilon)

    trace = echo_of(task, params, method)  # its totals are the RHEL gradient
    g_bptt = jax.jit(jax.grad(task.loss), static_argnums=1)(params, BPTT())
    leaves_r, leaves_b = jax.tree.leaves(trace.grad_params), jax.tree.leaves(g_bptt)
    scale = max(float(jnp.max(jnp.abs(b))) for b in leaves_b)
    if scale == 0:
        raise RHELError(
            f"the loss gradient is exactly zero at the initial θ (loss {float(trace.loss):.3g}): in {grid} "
            f"leapfrog step(s) over a horizon of {horizon:g} the force on oscillator 1 does not move "
            "oscillator 4 measurably, and there is nothing to train. Raise --horizon and --grid."
        )
    rel = max(float(jnp.max(jnp.abs(a - b))) for a, b in zip(leaves_r, leaves_b)) / scale
    if not rel <= GRADIENT_TOLERANCE:
        raise RHELError(
            f"RHEL's gradient differs from BPTT's by {rel:.3g} (max relative difference at the initial θ, "
            f"more than {GRADIENT_TOLERANCE:g}): the echo does not retrace the forward pass. Use a finer "
            "step (raise --grid) or an --epsilon nearer the default 0.1."
        )

    # Each training run is checked below (its stability, then its losses), so the engine's own run-time
    # check of the echo is off: it would end the run with a JAX traceback from inside the compiled loop.
    methods = {"RHEL": RHEL(epsilon=epsilon, check_finite=False)}
    if compare:
        methods["BPTT"] = BPTT()
    runs = {name: train(task, params, steps=steps, learning_rate=learning_rate, gradient=gradient)
            for name, gradient in methods.items()}
    for name, run in runs.items():
        omegas = np.asarray(run.omega_max)
        omegas = np.where(np.isnan(omegas), 0.0, omegas)  # the steps after a divergence
        k = int(np.argmax(omegas))
        if task.dt * omegas[k] >= 2:
            raise RHELError(
                f"training with {name} left the leapfrog's stable region: the fastest mode reached ω = "
                f"{omegas[k]:.3g} after {k} Adam steps, too fast for the step {task.dt:.3g} (need δ·ω < 2); "
                f"raise --grid to at least {fewest_steps(horizon, float(omegas[k]))} or lower --lr."
            )
        if not np.all(np.isfinite(run.losses)):
            raise RHELError(f"training with {name} diverged (non-finite loss); lower --lr or raise --grid.")
    losses = {name: np.asarray(run.losses) for name, run in runs.items()}

    trained = np.asarray(task.readout(task.system.run(runs["RHEL"].params, task.force, dt=task.dt)))
    files = [
        render.trajectories_figure(task, trace, out / "trajectories.png", trained_readout=trained),
        render.gradient_figure(task, trace, out / "gradient.png", reference=g_bptt),
        render.loss_figure(losses, out / "loss.png"),
    ]
    if not animate:
        note = "animation skipped (--no-animation)"
    elif render.ffmpeg_available():
        files.append(render.echo_animation(task, trace, out / "echo.mp4"))
        note = "animation written (ffmpeg found)"
    else:
        note = "ffmpeg not found on PATH: PNG figures only, no animation"
    return DemoResult(losses, rel, files, note)


def convergence_table(
    *, horizon: float = 30.0, grids: tuple[int, ...] = (300, 600, 1200, 2400), seed: int = 0,
    epsilon: float = 0.1,
) -> list[tuple[int, float, float]]:
    """The toy's RHEL gradient at its initial θ as the step shrinks: rows ``(L, change, order)``.

    ``change`` is ``max|g(T/L) − g(T/2L)| / max|g(T/2L)|`` for consecutive grids and ``order`` the
    observed order ``log₂(change_prev / change)`` (nan on the first row). A second-order method shows
    changes falling 4× per halving; tests/physics/test_continuous.py identifies the limit as the
    continuous adjoint method's gradient.
    """
    key_task, key_init = jax.random.split(jax.random.key(seed))
    grads = []
    params = random_params(key_init, len(MASSES))
    for grid in grids:
        task = make_task(key_task, horizon=horizon, steps=grid, initial=params)
        g = jax.jit(jax.grad(task.loss), static_argnums=1)(params, RHEL(epsilon=epsilon))
        grads.append(np.concatenate([np.ravel(x) for x in jax.tree.leaves(g)]))
    rows, previous = [], None
    for grid, g, g_next in zip(grids, grads, grads[1:]):
        change = float(np.max(np.abs(g - g_next)) / np.max(np.abs(g_next)))
        order = float("nan") if previous is None else float(np.log2(previous / change))
        rows.append((grid, change, order))
        previous = change
    return rows
