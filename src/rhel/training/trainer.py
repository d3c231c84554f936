"""The training loop of one run (one data set × model × gradient method × seed).

Protocol (RHEL-SPEC §6): Adam with a constant learning rate; batches from
:func:`rhel.data.epoch_batches` (every sample once per epoch, order a function of ``(seed, epoch)``);
validation every ``eval_every`` steps; early stopping after ``patience`` validations without a *strict*
improvement; the reported test metric is that of the best validation checkpoint.

Determinism and resume. Everything a step consumes is a pure function of the step counter ``k``: the
batch is ``epoch_batches(..., epoch=k // B)[k % B]`` (``B`` batches per epoch), the dropout key is
``fold_in(key, k)``. A checkpoint therefore only needs the arrays (model, batch-norm state, Adam state,
key) and a few numbers (step, best metric, history), and a run resumed from it replays exactly the steps
an uninterrupted run would have taken: the final weights are bit-identical.

Divergence. A step whose loss or gradient is not finite is not applied; the run stops with an
:class:`~rhel.errors.RHELError` saying so, and the last checkpoint on disk (the last good state) is kept.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import time
from pathlib import Path
from typing import Any, Callable, TextIO

import numpy as np

from rhel.errors import RHELError
from rhel.atomic import atomic_write_text
from rhel.training.checkpoint import TrainState, load_checkpoint, read_header, save_checkpoint
from rhel.training.config import TrainConfig
from rhel.training.evaluate import evaluate, is_improvement
from rhel.training.progress import Progress
from rhel.training.results import (
    library_versions,
    peak_rss_mb,
    read_results,
    write_metrics,
    write_results,
)

LAST, BEST, CONFIG = "last.ckpt", "best.ckpt", "config.json"
#: Fields that may differ between a run and its resumption (they do not change the steps taken so far).
RESUMABLE_CHANGES = ("steps", "seeds", "patience")


def run_dir(out: str | Path, config: TrainConfig, seed: int) -> Path:
    """``out/<dataset>/<model>/<gradient>/seed<seed>``: one folder per run."""
    return Path(out) / config.dataset / config.model / config.gradient / f"seed{seed}"


@contextlib.contextmanager
def precision(x64: bool):
    """Run a block with ``jax_enable_x64`` set to ``x64`` and restore the previous setting after."""
    import jax

    previous = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", bool(x64))
    try:
        yield
    finally:
        jax.config.update("jax_enable_x64", previous)


@functools.lru_cache(maxsize=16)
def _adam(lr: float):
    import optax

    return optax.adam(lr)


def gradient_method(config: TrainConfig):
    import rhel

    if config.gradient == "rhel":
        return rhel.RHEL(epsilon=config.epsilon, nudge=config.nudge)
    return rhel.BPTT()


def load_splits(config: TrainConfig, seed: int):
    """The data of a run (the split is drawn from the run's seed)."""
    from rhel.data import load

    return load(config.dataset, seed=seed, split=config.split, time_channel=config.time_channel,
                length=config.length, impute=config.impute)


def build_model(config: TrainConfig, info, d_in: int, key, dtype):
    """The HSSM of ``config`` for a data set described by ``info``; returns ``(model, bn_state)``."""
    from rhel.model import make_hssm

    output_step = config.output_step if config.output_step is not None else info.output_step
    try:
        return make_hssm(config.model, d_in=d_in, d_out=info.output_dim, task=info.task,
                         hidden=config.hidden, state_size=config.state_size, blocks=config.blocks,
                         output_step=output_step, dropout=config.dropout, key=key, dtype=dtype,
                         **config.unit)
    except TypeError as e:
        raise RHELError(f"config field 'unit' = {config.unit!r} was rejected by the model ({e}); "
                        "remove the unknown keyword(s).") from None


def _fresh_state(config, seed, splits, optimizer, dtype):
    import equinox as eqx
    import jax

    model_key, train_key = jax.random.split(jax.random.PRNGKey(seed))
    d_in = splits.train.x.shape[-1]
    model, bn_state = build_model(config, splits.info, d_in, model_key, dtype)
    opt_state = optimizer.init(eqx.filter(model, eqx.is_inexact_array))
    return TrainState(model=model, bn_state=bn_state, opt_state=opt_state, key=train_key)


@functools.lru_cache(maxsize=16)
def make_train_step(optimizer, gradient) -> Callable:
    """One Adam step on one batch: ``(state, x, y, mask, step) -> (state, loss, metric, finite)``.

    Cached on ``(optimizer, gradient)`` so that runs with the same settings (seeds, resumptions) reuse
    the compiled step instead of compiling it again.
    """
    import equinox as eqx
    import jax
    import jax.numpy as jnp

    from rhel.model import batch_loss

    @eqx.filter_jit
    def step(state: TrainState, x, y, mask, k):
        key = jax.random.fold_in(state.key, k)

        def loss_fn(model):
            return batch_loss(model, state.bn_state, x, y, mask, key=key, gradient=gradient)

        (loss, (bn_state, aux)), grads = eqx.filter_value_and_grad(loss_fn, has_aux=True)(state.model)
        params = eqx.filter(state.model, eqx.is_inexact_array)
        updates, opt_state = optimizer.update(grads, state.opt_state, params)
        model = eqx.apply_updates(state.model, updates)
        leaves = jax.tree_util.tree_leaves(eqx.filter(grads, eqx.is_inexact_array))
        finite = jnp.isfinite(loss) & jnp.all(jnp.array([jnp.all(jnp.isfinite(g)) for g in leaves]))
        new = TrainState(model=model, bn_state=bn_state, opt_state=opt_state, key=state.key)
        return new, loss, aux["metric"], finite

    return step


@functools.lru_cache(maxsize=1)
def make_predict() -> Callable:
    import equinox as eqx

    from rhel.model import batch_predict

    @eqx.filter_jit
    def predict(model, bn_state, x, mask):
        return batch_predict(model, bn_state, x, mask)

    return predict


@dataclasses.dataclass
class _Book:
    """The numbers of a run that live in the checkpoint header next to the arrays."""

    step: int = 0
    best_metric: float | None = None
    best_step: int | None = None
    bad_evals: int = 0
    history: list = dataclasses.field(default_factory=list)
    train_seconds: float = 0.0
    timed_steps: int = 0
    wall_seconds: float = 0.0
    stopped_early: bool = False

    def header(self, config: TrainConfig, seed: int) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "config": config.to_dict(), "seed": seed}

    @classmethod
    def from_header(cls, h: dict[str, Any]) -> "_Book":
        return cls(**{f.name: h[f.name] for f in dataclasses.fields(cls)})


def _check_resumable(saved: dict[str, Any], config: TrainConfig, path: Path) -> None:
    now = config.to_dict()
    diff = sorted(k for k in now if k not in RESUMABLE_CHANGES and saved.get(k) != now[k])
    if diff:
        details = ", ".join(f"{k}: {saved.get(k)!r} -> {now[k]!r}" for k in diff)
        raise RHELError(
            f"cannot resume {str(path)!r}: its config differs in {details}; resume with the original "
            "config or start a new run with another --out folder."
        )


def train_run(
    config: TrainConfig,
    seed: int,
    out: str | Path,
    *,
    resume: bool = False,
    stream: TextIO | None = None,
    bar: bool | None = None,
    parallel=None,
    stop_at: int | None = None,
) -> dict[str, Any]:
    """Train one seed; returns the content of its ``results.json``.

    On Linux, a script that trains with the library should call :func:`rhel.retain_freed_memory` once
    before this (the ``rhel`` command does): without it glibc hands every step's large temporaries back
    to the kernel, and the next step faults them in again (docs/performance.md, finding 23). Before its
    first JAX computation it should also call :func:`rhel.compile_small_loops` (the command does too):
    then XLA runs a unit's recurrence as one kernel instead of launching every step's kernels one by one
    (finding 28).

    Args:
        config: the resolved configuration.
        seed: the run's seed (initialisation, split, batch order, dropout).
        out: the output root; the run writes to :func:`run_dir`.
        resume: continue from ``last.ckpt`` if the folder holds an unfinished run (a finished run is
            returned as is). Without it an existing run folder is an error — never a prompt.
        stream, bar: where and how progress is shown (see :class:`Progress`).
        parallel: a :class:`~rhel.training.parallel.DataParallel` (default: all devices).
        stop_at: stop (as if killed) once this many steps are done, after writing what an uninterrupted
            run would have written by then; returns ``{}``. For testing resume.
    """
    with precision(config.x64):
        return _train_run(config, seed, Path(out), resume=resume, stream=stream, bar=bar,
                          parallel=parallel, stop_at=stop_at)


def _train_run(config, seed, out, *, resume, stream, bar, parallel, stop_at):
    import jax
    import jax.numpy as jnp

    from rhel.data import epoch_batches, take
    from rhel.training.parallel import DataParallel

    t_start = time.perf_counter()
    folder = run_dir(out, config, seed)
    dp = parallel or DataParallel()
    writer = dp.process_index == 0
    label = f"{config.dataset} {config.model} {config.gradient} seed {seed}"
    if (folder / "results.json").exists():
        if resume:
            finished = read_results(folder / "results.json")
            _check_resumable(finished.get("config", {}), config, folder)  # not another config's results
            return finished
        raise RHELError(f"{str(folder)!r} already holds a finished run; pass --resume to keep it, or choose "
                        "another --out folder (nothing is overwritten).")
    has_ckpt = (folder / LAST).exists()
    if not resume and folder.exists() and any(folder.iterdir()):
        raise RHELError(f"{str(folder)!r} already holds a run; pass --resume to continue it, or choose another "
                        "--out folder (nothing is overwritten).")

    dtype = jnp.float64 if config.x64 else jnp.float32
    splits = load_splits(config, seed)
    info = splits.info
    optimizer = _adam(config.lr)
    state = _fresh_state(config, seed, splits, optimizer, dtype)
    book = _Book()
    best_state = None
    if resume and has_ckpt:
        header = read_header(folder / LAST)
        _check_resumable(header["config"], config, folder)
        state, header = load_checkpoint(folder / LAST, state)
        book = _Book.from_header(header)
        if book.best_step is not None:
            best_state, _ = load_checkpoint(folder / BEST, state)
    if writer:
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write_text(folder / CONFIG, json.dumps(config.to_dict(), indent=2) + "\n")
    state = dp.replicate(state)

    train_step = make_train_step(optimizer, gradient_method(config))
    predict = make_predict()
    n_train = len(splits.train)
    per_epoch = len(epoch_batches(n_train, config.batch_size, seed=seed, epoch=0))
    metric_name = "acc" if info.task == "classification" else "mse"
    progress = Progress(config.steps, initial=book.step, desc=label, metric_name=metric_name, stream=stream,
                        bar=bar)
    wall0 = book.wall_seconds
    batches, batches_epoch = None, -1
    last_loss = last_metric = float("nan")
    step_times: list[float] = []  # this process's step durations (the median ignores compilations)

    def run_eval(s):
        return evaluate(lambda x, m: predict(s.model, s.bn_state, x, m), splits.val, task=info.task,
                        batch_size=config.eval_batch_size, place=dp.batch, dtype=np.dtype(dtype))

    def save(name, s):
        if writer:
            book.wall_seconds = wall0 + time.perf_counter() - t_start
            save_checkpoint(folder / name, s, book.header(config, seed))

    try:
        while book.step < config.steps and not book.stopped_early:
            if stop_at is not None and book.step >= stop_at:
                return {}
            k = book.step
            epoch, i = divmod(k, per_epoch)
            if epoch != batches_epoch:
                batches, batches_epoch = epoch_batches(n_train, config.batch_size, seed=seed, epoch=epoch), epoch
            x, y, mask = take(splits.train, batches[i])
            x = x.astype(dtype)
            y = y.astype(dtype) if info.task == "regression" else y.astype(np.int32)  # labels: same in x32/x64
            x, y, mask = dp.batch(x, y, mask)
            t0 = time.perf_counter()
            new, loss, metric, finite = train_step(state, x, y, mask, jnp.asarray(k, jnp.int32))
            loss, metric, finite = float(loss), float(metric), bool(finite)
            step_times.append(time.perf_counter() - t0)
            book.train_seconds += step_times[-1]
            book.timed_steps += 1
            if not finite:
                last = (f"{str(folder / LAST)!r} (step {read_header(folder / LAST)['step']})"
                        if (folder / LAST).exists() else "none (no checkpoint was reached yet)")
                raise RHELError(
                    f"training diverged at step {k + 1} of {label}: the loss or its gradient is not finite "
                    f"(loss = {loss}); the last good checkpoint is kept: {last}. Lower --lr, or use --x64, "
                    "or check the data for extreme values."
                )
            state, book.step = new, k + 1
            last_loss, last_metric = loss, metric
            progress.update(book.step, loss, metric)
            if book.step % config.eval_every == 0 or book.step == config.steps:
                val_loss, val_metric = run_eval(state)
                rate = book.timed_steps / book.train_seconds if book.train_seconds > 0 else float("nan")
                book.history.append(dict(step=book.step, epoch=epoch, train_loss=last_loss,
                                         train_metric=last_metric, val_loss=val_loss, val_metric=val_metric,
                                         steps_per_s=rate, elapsed_s=wall0 + time.perf_counter() - t_start))
                improved = is_improvement(val_metric, book.best_metric, info.task)
                if improved:
                    book.best_metric, book.best_step, book.bad_evals = val_metric, book.step, 0
                    best_state = state
                    save(BEST, state)
                else:
                    book.bad_evals += 1
                    book.stopped_early = book.bad_evals >= config.patience
                progress.message(f"{label} step {book.step}: val loss {val_loss:.4g} {metric_name} "
                                 f"{val_metric:.4g}{' (best)' if improved else ''}")
                save(LAST, state)
                if writer:
                    write_metrics(folder, book.history)
            elif config.checkpoint_every and book.step % config.checkpoint_every == 0:
                save(LAST, state)
    finally:
        progress.close()
    if book.stopped_early:
        progress.message(f"{label}: early stop at step {book.step} ({config.patience} validations without "
                         f"improvement; best at step {book.best_step})")

    if book.best_step is None:
        raise RHELError(f"{label}: no finite validation metric was reached in {config.steps} steps; "
                        "increase --steps or lower --lr.")
    best = dp.replicate(best_state)
    test_loss, test_metric = evaluate(lambda x, m: predict(best.model, best.bn_state, x, m), splits.test,
                                      task=info.task, batch_size=config.eval_batch_size, place=dp.batch,
                                      dtype=np.dtype(dtype))
    wall = wall0 + time.perf_counter() - t_start
    results = {
        "dataset": config.dataset, "model": config.model, "gradient": config.gradient, "seed": seed,
        "task": info.task, "metric": metric_name,
        "test_metric": test_metric, "test_loss": test_loss,
        "best_val_metric": book.best_metric, "best_step": book.best_step, "steps_done": book.step,
        "stopped_early": book.stopped_early,
        "wall_time_s": wall,
        "time_per_step_s": float(np.median(step_times)) if step_times else None,
        "peak_rss_mb": peak_rss_mb(),
        "devices": dp.size, "processes": dp.num_processes, "backend": jax.default_backend(),
        "dtype": np.dtype(dtype).name,
        "sizes": {"train": n_train, "val": len(splits.val), "test": len(splits.test)},
        "config": config.to_dict(), "versions": library_versions(),
        "data_meta": _jsonable(splits.meta),
    }
    if writer:
        write_results(folder, results)
    return results


def _jsonable(obj):
    try:
        return json.loads(json.dumps(obj, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o)))
    except (TypeError, ValueError):
        return str(obj)


def train(config: TrainConfig, out: str | Path, *, resume: bool = False, stream: TextIO | None = None,
          bar: bool | None = None, parallel=None) -> list[dict[str, Any]]:
    """Train every seed of ``config`` one after the other; returns their results."""
    return [train_run(config, s, out, resume=resume, stream=stream, bar=bar, parallel=parallel)
            for s in config.seeds]
