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

Divergence. A step whose loss or gradient is not finite is not applied, and a run-time check of the
model that fails inside a compiled step or evaluation (``eqx.error_if``: e.g. a linear HRU pushed past
its stability limit) is caught; either way the run stops with an :class:`~rhel.errors.RHELError` saying
so, and the last checkpoint on disk (the last good state) is kept.

Interruption. On Ctrl-C the state after the last completed step is written to ``last.ckpt`` (it is a
consistent point like any other: the resumed run is still bit-identical). A run folder that holds no
checkpoint or results yet (a run that failed or was stopped before its first checkpoint) can be trained
into again without ``--resume``; temporary files left by a killed atomic write are removed when a run
starts or resumes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import sys
import time
from pathlib import Path
from typing import Any, Callable, TextIO

import numpy as np

from rhel.errors import RHELError
from rhel.atomic import atomic_write_text, leftover_temporaries
from rhel.training.checkpoint import (
    DamagedCheckpoint,
    TrainState,
    load_checkpoint,
    read_header,
    save_checkpoint,
)
from rhel.training.config import TrainConfig
from rhel.training.evaluate import evaluate, is_improvement
from rhel.training.progress import Progress
from rhel.training.results import (
    METRICS,
    RESULTS,
    library_versions,
    peak_rss_mb,
    read_results,
    write_metrics,
    write_results,
)

LAST, BEST, CONFIG = "last.ckpt", "best.ckpt", "config.json"
#: The files of a run that hold something to lose: a folder with any of them is not trained into anew.
RUN_OUTPUTS = (LAST, BEST, METRICS, RESULTS)
#: Fields that may differ between a run and its resumption (they do not change the steps taken so far).
RESUMABLE_CHANGES = ("steps", "seeds", "patience")
#: Of those, the ones a finished run is judged by (``seeds`` only lists the runs).
FINISHED_RUN_FIELDS = ("steps", "patience")


def run_dir(out: str | Path, config: TrainConfig, seed: int) -> Path:
    """``out/<dataset>/<model>/<gradient>/seed<seed>``: one folder per run."""
    return Path(out) / config.dataset / config.model / config.gradient / f"seed{seed}"


def run_outputs(folder: str | Path) -> list[str]:
    """The files of :data:`RUN_OUTPUTS` that ``folder`` holds: empty if a new run may be trained into it."""
    return [name for name in RUN_OUTPUTS if (Path(folder) / name).exists()]


def remove_stale_temporaries(folder: str | Path) -> list[Path]:
    """Delete the temporary files that killed atomic writes of this run's files left in ``folder``
    (:func:`rhel.atomic.leftover_temporaries` of the names a run writes). Returns the removed paths."""
    stale = [p for name in (CONFIG, *RUN_OUTPUTS) for p in leftover_temporaries(Path(folder) / name)]
    for p in stale:
        p.unlink(missing_ok=True)
    return stale


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

    try:
        return make_hssm(config.model, d_in=d_in, d_out=info.output_dim, task=info.task,
                         hidden=config.hidden, state_size=config.state_size, blocks=config.blocks,
                         output_step=output_step(config, info), dropout=config.dropout, key=key, dtype=dtype,
                         **config.unit)
    except TypeError as e:
        raise RHELError(f"config field 'unit' = {config.unit!r} was rejected by the model ({e}); "
                        "remove the unknown keyword(s).") from None


def output_step(config: TrainConfig, info) -> int | None:
    """The spacing of the regression head's outputs: the data set's own (``info.output_step``).

    The targets of a regression data set come one every ``info.output_step`` steps, so ``output_step``
    may only repeat that value; a classification data set has no outputs over time, so it must be unset.
    """
    given, flag = config.output_step, f"--output-step (config field 'output_step') = {config.output_step}"
    if given is None or given == info.output_step:
        return info.output_step
    if info.task != "regression":
        raise RHELError(f"{flag} applies to regression data sets only, and {config.dataset} is a "
                        f"{info.task} data set; leave it unset (null).")
    raise RHELError(f"{flag} does not match {config.dataset}, whose targets come one every "
                    f"{info.output_step} steps; set it to {info.output_step} or leave it unset (null).")


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

    def copy(self) -> "_Book":
        """A copy that later steps leave alone (the history list is copied; its rows are never edited)."""
        return dataclasses.replace(self, history=list(self.history))


def _check_resumable(saved: dict[str, Any], config: TrainConfig, path: Path) -> None:
    now = config.to_dict()
    diff = sorted(k for k in now if k not in RESUMABLE_CHANGES and saved.get(k) != now[k])
    if diff:
        details = ", ".join(f"{k}: {saved.get(k)!r} -> {now[k]!r}" for k in diff)
        raise RHELError(
            f"cannot resume {str(path)!r}: its config differs in {details}; resume with the original "
            "config or start a new run with another --out folder."
        )


def _say(stream: TextIO | None, text: str) -> None:
    print(text, file=stream if stream is not None else sys.stderr, flush=True)


def _finished_run(folder: Path, config: TrainConfig, resume: bool, say: Callable[[str], None]):
    """The results of the finished run in ``folder`` that ``resume`` keeps, or None if there is none to keep.

    Without ``resume`` a finished run is an error. With it, the run is kept as it is — saying which changed
    settings that ignores — unless ``config`` asks for more steps than it took and it did not stop early:
    then None, and the run continues from its last checkpoint (its validations so far, including the one
    at its old last step, stay in its history); its ``results.json`` is replaced when it finishes again.
    """
    path = folder / RESULTS
    if not path.exists():
        return None
    if not resume:
        raise RHELError(f"{str(folder)!r} already holds a finished run; pass --resume to keep it, or choose "
                        "another --out folder (nothing is overwritten).")
    finished = read_results(path)
    saved = finished.get("config", {})
    _check_resumable(saved, config, folder)  # not another config's results
    done, early = finished.get("steps_done"), finished.get("stopped_early")
    if isinstance(done, int) and early is False and config.steps > done:
        say(f"{str(folder)!r}: continuing the finished run from step {done} to step {config.steps}")
        return None
    ignored = [f"{k} {saved.get(k)!r} -> {getattr(config, k)!r}" for k in FINISHED_RUN_FIELDS
               if saved.get(k) != getattr(config, k)]
    if ignored:
        why = f"it stopped early at step {done}" if early else f"it has taken {done} steps"
        say(f"{str(folder)!r}: kept the finished run as it is ({why}); ignored the changed setting(s) "
            f"{', '.join(ignored)}")
    return finished


def _check_new_run_allowed(folder: Path, resume: bool) -> None:
    """Refuse to train a new run into a folder that holds another run's checkpoints or results."""
    found = [] if resume else run_outputs(folder)
    if found:
        raise RHELError(f"{str(folder)!r} already holds a run ({', '.join(found)}); pass --resume to continue "
                        "it, or choose another --out folder (nothing is overwritten).")


def _resume_point(folder: Path) -> Path | None:
    """The checkpoint a resumed run continues from: ``last.ckpt``, else ``best.ckpt`` (an earlier point of
    the same run, from which the steps after it are replayed exactly), else None."""
    return next((folder / name for name in (LAST, BEST) if (folder / name).exists()), None)


def _restore(folder: Path, config: TrainConfig, fresh: TrainState):
    """``(state, book, best_state)`` at the checkpoint a resumed run continues from (``fresh`` if none)."""
    path = _resume_point(folder)
    if path is None:
        return fresh, _Book(), None
    try:
        _check_resumable(read_header(path).get("config", {}), config, folder)
        state, header = load_checkpoint(path, fresh)
        book = _Book.from_header(header)
        if book.best_step is None or path.name == BEST:
            return state, book, (None if book.best_step is None else state)
        if not (folder / BEST).exists():
            raise RHELError(f"cannot resume {str(folder)!r}: {BEST} is missing, yet {LAST} records a best step "
                            f"({book.best_step}). {_after_damage(folder, BEST)}")
        return state, book, load_checkpoint(folder / BEST, fresh)[0]
    except DamagedCheckpoint as e:
        raise RHELError(f"cannot resume {str(folder)!r}: {e.path.name} is damaged ({e.reason}). "
                        f"{_after_damage(folder, e.path.name)}") from None


def _after_damage(folder: Path, name: str) -> str:
    """What to do about the damaged checkpoint ``name`` of the run in ``folder``."""
    if name == LAST and (folder / BEST).exists():
        return (f"Delete it: --resume then continues from {BEST}, an earlier step of the same run (the steps "
                "after it are replayed exactly); or choose another --out folder.")
    if name == BEST and (folder / LAST).exists():
        return ("It held the run's best model, which is lost: delete the folder to train the run again, or "
                "choose another --out folder.")
    return "Delete it: --resume then trains the run again from step 0; or choose another --out folder."


def _kept(folder: Path) -> str:
    """Which checkpoint a failed run leaves to resume from (for error messages)."""
    path = _resume_point(folder)
    if path is None:
        return "No checkpoint was reached yet"
    return f"The last good checkpoint is kept: {str(path)!r} (step {read_header(path)['step']})"


def _diverged(what: str, reason: str, folder: Path) -> RHELError:
    """The error of a run that diverged: what happened, why, the checkpoint kept and the fix."""
    again = ("Run it again with a lower --lr (the folder holds no checkpoint, so the same --out works)"
             if _resume_point(folder) is None else
             "Train again with a lower --lr in another --out folder (resuming with the same settings diverges "
             "again at the same step)")
    return RHELError(f"{what}: {reason.rstrip('.')}. {_kept(folder)}. {again}, or use --x64, or check the data "
                     "for extreme values.")


_EQX_PREFIX = "equinox.EquinoxRuntimeError: "


def _check_message(e: Exception) -> str:
    """The message a failed ``eqx.error_if`` was given (Equinox wraps it in stack traces and advice)."""
    lines = [line.strip() for line in str(e).splitlines() if line.strip()]
    given = [line[len(_EQX_PREFIX):] for line in lines if line.startswith(_EQX_PREFIX)]
    return (given or lines or [type(e).__name__])[0]


@contextlib.contextmanager
def _model_checks(error: Callable[[str], RHELError]):
    """Turn a run-time check of the model that fails inside a compiled call (``eqx.error_if``, raised by
    ``eqx.filter_jit`` as ``EquinoxRuntimeError``) into ``error(the check's message)``."""
    import equinox as eqx

    try:
        yield
    except eqx.EquinoxRuntimeError as e:
        raise error(_check_message(e)) from None


def _checkpoint_step(path: Path) -> int | None:
    return read_header(path)["step"] if path.exists() else None


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
        resume: continue from ``last.ckpt`` (or ``best.ckpt`` if it is the only checkpoint) if the folder
            holds an unfinished run. A finished run is returned as is, unless ``config.steps`` grew and it
            did not stop early: then it continues. Without it a folder holding a run's checkpoints or
            results is an error — never a prompt.
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
    finished = _finished_run(folder, config, resume, functools.partial(_say, stream))
    if finished is None:
        _check_new_run_allowed(folder, resume)
    if writer and folder.is_dir():
        remove_stale_temporaries(folder)
    if finished is not None:
        return finished

    dtype = jnp.float64 if config.x64 else jnp.float32
    splits = load_splits(config, seed)
    info = splits.info
    optimizer = _adam(config.lr)
    state = _fresh_state(config, seed, splits, optimizer, dtype)
    book, best_state = _Book(), None
    if resume:
        state, book, best_state = _restore(folder, config, state)
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
    start_step = book.step
    # The last (state, book) pair that agree (between steps): what a Ctrl-C saves. Replaced by one assignment,
    # so an interrupt arriving anywhere finds either the old pair or the new one.
    consistent = (state, book.copy())

    def run_eval(s):
        return evaluate(lambda x, m: predict(s.model, s.bn_state, x, m), splits.val, task=info.task,
                        batch_size=config.eval_batch_size, place=dp.batch, dtype=np.dtype(dtype))

    def save(name, s, b=book):
        if writer:
            b.wall_seconds = wall0 + time.perf_counter() - t_start
            save_checkpoint(folder / name, s, b.header(config, seed))

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
            what = f"training diverged at step {k + 1} of {label}"
            t0 = time.perf_counter()
            with _model_checks(lambda msg: _diverged(what, msg, folder)):
                new, loss, metric, finite = train_step(state, x, y, mask, jnp.asarray(k, jnp.int32))
                loss, metric, finite = float(loss), float(metric), bool(finite)
            step_times.append(time.perf_counter() - t0)
            book.train_seconds += step_times[-1]
            book.timed_steps += 1
            if not finite:
                raise _diverged(what, f"the loss or its gradient is not finite (loss = {loss})", folder)
            state, book.step = new, k + 1
            last_loss, last_metric = loss, metric
            progress.update(book.step, loss, metric)
            if book.step % config.eval_every == 0 or book.step == config.steps:
                with _model_checks(lambda msg: _diverged(f"{what} (found by its validation)", msg, folder)):
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
            consistent = (state, book.copy())
    except KeyboardInterrupt:
        s, b = consistent
        if writer and b.step > start_step and (_checkpoint_step(folder / LAST) or 0) < b.step:
            save(LAST, s, b)
            progress.message(f"{label}: interrupted after step {b.step}; saved it to {str(folder / LAST)!r}: "
                             "continue with --resume")
        raise
    finally:
        progress.close()
    if book.stopped_early:
        progress.message(f"{label}: early stop at step {book.step} ({config.patience} validations without "
                         f"improvement; best at step {book.best_step})")

    if book.best_step is None:
        raise RHELError(f"{label}: no finite validation metric was reached in {config.steps} steps; "
                        "increase --steps or lower --lr.")
    best = dp.replicate(best_state)

    def test_failed(msg):
        return RHELError(f"the test evaluation of {label} failed at its best checkpoint (step {book.best_step}): "
                         f"{msg.rstrip('.')}. The checkpoints are kept in {str(folder)!r}; check the test data "
                         "for extreme values, or train again with a lower --lr in another --out folder.")

    with _model_checks(test_failed):
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
