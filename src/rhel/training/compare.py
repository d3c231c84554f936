"""RHEL against BPTT on one data set: same model, seed and split; accuracy, speed, memory, gradients.

Each training runs in a fresh child process (``python -m rhel.cli.main train``) so that its peak resident
memory and its time per step are its own; a child that exceeds its time limit is killed, so a comparison
always terminates. The gradient agreement at initialisation is measured here, in float64, on one training
batch: per parameter tensor the cosine similarity and the norm ratio ‖g_RHEL‖/‖g_BPTT‖
(:func:`rhel.model.compare_gradients`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from rhel.errors import RHELError
from rhel.atomic import atomic_write_text
from rhel.training.config import TrainConfig
from rhel.training.results import read_results
from rhel.training.trainer import build_model, load_splits, precision, run_dir, run_outputs

METHODS = ("rhel", "bptt")
#: The fix named when the comparison runs out of time.
OUT_OF_TIME_FIX = ("raise --timeout, lower --steps, or run the same command with --resume to continue from the "
                   "last checkpoint")


def child_config(config: TrainConfig, gradient: str, seed: int) -> TrainConfig:
    """The config of one method's training: ``config`` with that gradient and the one seed."""
    return config.replace(gradient=gradient, seeds=(seed,))


def train_child(config: TrainConfig, gradient: str, seed: int, out: Path, *, timeout: float,
                stream: TextIO, resume: bool = False) -> dict[str, Any]:
    """Train one method in a child process; returns its ``results.json``.

    With ``resume`` the child is ``rhel train --resume``: a finished run in ``out`` is returned as it is,
    an unfinished one continues from its last checkpoint.
    """
    cfg = child_config(config, gradient, seed)
    cfg_path = out / f"config-{gradient}.json"
    atomic_write_text(cfg_path, json.dumps(cfg.to_dict(), indent=2))
    cmd = [sys.executable, "-m", "rhel.cli.main", "train", "--config", str(cfg_path), "--out", str(out),
           "--no-bar"] + (["--resume"] if resume else [])
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=env)
    deadline = time.monotonic() + timeout
    lines = []
    try:
        import selectors

        sel = selectors.DefaultSelector()
        sel.register(proc.stdout, selectors.EVENT_READ)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise subprocess.TimeoutExpired(cmd, timeout)
            if sel.select(timeout=min(left, 1.0)):
                line = proc.stdout.readline()
                if not line:
                    break
                lines.append(line)
                print(f"  [{gradient}] {line.rstrip()}", file=stream, flush=True)
        proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise RHELError(f"the {gradient.upper()} training did not finish within {timeout:.0f} s and was "
                        f"stopped; {OUT_OF_TIME_FIX}.") from None
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if proc.returncode != 0:
        tail = "".join(lines[-5:]).strip()
        raise RHELError(f"the {gradient.upper()} training failed (exit {proc.returncode}): {tail}")
    return read_results(run_dir(out, cfg, seed) / "results.json")


def started_runs(config: TrainConfig, seed: int, out: Path) -> list[str]:
    """The methods (of :data:`METHODS`) whose run folder in ``out`` holds checkpoints or results (a folder
    with only the config of a run that failed before its first checkpoint is trained into again)."""
    folders = {g: run_dir(out, child_config(config, g, seed), seed) for g in METHODS}
    return [g for g, folder in folders.items() if run_outputs(folder)]


def check_fresh(config: TrainConfig, seed: int, out: Path) -> None:
    """Refuse an ``out`` that holds runs of this comparison already (without ``resume``), naming the fix."""
    started = started_runs(config, seed, out)
    if started:
        names = " and ".join(g.upper() for g in started)
        runs = "run" if len(started) == 1 else "runs"
        raise RHELError(f"{str(out)!r} already holds this comparison's {names} {runs}; pass --resume to keep "
                        "finished runs and continue unfinished ones, or choose another --out folder "
                        "(nothing is overwritten).")


def gradient_agreement(config: TrainConfig, seed: int, splits, *, batch: int = 4) -> list[dict[str, Any]]:
    """Per parameter tensor: cosine and norm ratio of the RHEL gradient to the BPTT one, at init, float64."""
    import jax
    import jax.numpy as jnp

    from rhel.data import take
    from rhel.model import compare_gradients

    with precision(True):
        model_key, train_key = jax.random.split(jax.random.PRNGKey(seed))
        model, state = build_model(config, splits.info, splits.train.x.shape[-1], model_key, jnp.float64)
        x, y, mask = take(splits.train, np.arange(min(batch, len(splits.train))))
        x = jnp.asarray(x, jnp.float64)
        if splits.info.task == "regression":
            y = jnp.asarray(y, jnp.float64)
        rows = compare_gradients(model, state, x, y, mask, key=jax.random.fold_in(train_key, 0),
                                 epsilon=config.epsilon)
    return [{k: (float(v) if isinstance(v, (float, np.floating, np.ndarray)) or hasattr(v, "dtype") else v)
             for k, v in r.items()} for r in rows]


def agreement_summary(rows: list[dict[str, Any]]) -> dict[str, float]:
    cos = np.array([r["cosine"] for r in rows], dtype=np.float64)
    ratio = np.array([r["norm_ratio"] for r in rows], dtype=np.float64)
    rel = np.array([r["rel_error"] for r in rows], dtype=np.float64)
    return {"tensors": len(rows), "cosine_min": float(np.nanmin(cos)), "cosine_median": float(np.nanmedian(cos)),
            "norm_ratio_min": float(np.nanmin(ratio)), "norm_ratio_max": float(np.nanmax(ratio)),
            "rel_error_max": float(np.nanmax(rel))}


def table(config: TrainConfig, results: dict[str, dict], agreement: dict[str, float] | None) -> str:
    """The side-by-side comparison as plain text."""
    r0 = results[METHODS[0]]
    metric = "test accuracy %" if r0["task"] == "classification" else "test MSE"
    scale = 100.0 if r0["task"] == "classification" else 1.0

    def num(v, fmt):
        return "–" if v is None else format(v, fmt)

    rows = [
        (metric, lambda r: num(r["test_metric"] * scale, ".1f")),
        ("best validation step", lambda r: str(r["best_step"])),
        ("steps trained", lambda r: str(r["steps_done"])),
        ("time per step (ms, median)", lambda r: num(r["time_per_step_s"] and r["time_per_step_s"] * 1e3, ".1f")),
        ("peak memory (MB, RSS)", lambda r: num(r["peak_rss_mb"], ".0f")),
        ("wall time (s)", lambda r: num(r["wall_time_s"], ".1f")),
    ]
    sizes = r0.get("sizes", {})
    head = (f"{config.dataset}: {config.model} HSSM ({config.blocks} blocks, H={config.hidden}, "
            f"P={config.state_size}), seed {r0['seed']}, batch {config.batch_size}, lr {config.lr:g}, "
            f"{sizes.get('train', '?')}/{sizes.get('val', '?')}/{sizes.get('test', '?')} train/val/test")
    w = max(len(r[0]) for r in rows) + 2
    lines = [head, "", f"{'':<{w}}{'RHEL':>12}{'BPTT':>12}"]
    for name, f in rows:
        lines.append(f"{name:<{w}}{f(results['rhel']):>12}{f(results['bptt']):>12}")
    if agreement:
        lines += ["", f"gradient agreement at initialisation (float64, ε = {config.epsilon:g}, "
                  f"{agreement['tensors']} parameter tensors):",
                  f"  cosine(RHEL, BPTT)  min {agreement['cosine_min']:.6f}  median {agreement['cosine_median']:.6f}",
                  f"  ‖RHEL‖/‖BPTT‖       {agreement['norm_ratio_min']:.6f} … {agreement['norm_ratio_max']:.6f}",
                  f"  max relative error  {agreement['rel_error_max']:.2e}"]
    return "\n".join(lines)


def compare(config: TrainConfig, seed: int, out: str | Path, *, timeout: float = 600.0,
            stream: TextIO | None = None, gradients: bool = True, resume: bool = False) -> dict[str, Any]:
    """Train ``config`` with RHEL and with BPTT (children), check the gradients, return everything.

    Without ``resume`` an ``out`` that already holds a run of this comparison is an error (before any
    work). With it, a finished run is kept as it is and an unfinished or missing one is trained: an
    interrupted comparison resumes.
    """
    stream = stream if stream is not None else sys.stderr
    out = Path(out)
    if not resume:
        check_fresh(config, seed, out)
    t0 = time.perf_counter()
    agreement = rows = None
    splits = load_splits(config, seed)  # fails fast on an unknown or missing data set
    if gradients:
        print("gradient agreement at initialisation (float64)...", file=stream, flush=True)
        rows = gradient_agreement(config, seed, splits)
        agreement = agreement_summary(rows)
    results = {}
    for g in METHODS:
        left = timeout - (time.perf_counter() - t0)
        if left <= 0:
            raise RHELError(f"the comparison used its {timeout:.0f} s before training {g.upper()}; "
                            f"{OUT_OF_TIME_FIX}.")
        print(f"training {g.upper()}...", file=stream, flush=True)
        results[g] = train_child(config, g, seed, out, timeout=left, stream=stream, resume=resume)
    summary = {"results": results, "gradient_agreement": agreement, "gradient_rows": rows,
               "total_s": time.perf_counter() - t0, "table": table(config, results, agreement)}
    atomic_write_text(out / "compare.json", json.dumps(summary, indent=2, default=str))
    return summary
