"""The paper's tables from run folders: mean ± std over seeds, per data set, RHEL vs BPTT.

Reads every ``results.json`` (and its ``metrics.csv``) under the given folders and writes

* ``report.md`` — one Markdown table per task, rows = model × gradient method, columns = data sets
  (plus the average over data sets for classification), cells = mean ± std over seeds of the test
  metric at the best validation step: accuracy in %, MSE × 1e-2 (the paper's units);
* ``report.csv`` — the same numbers in long form (one row per data set × model × method, raw units);
* ``curves_<dataset>.png`` — validation learning curves, one line per run, one colour per method.

The std is the population standard deviation (``ddof=0``) over seeds, as in the reference code's tables;
a cell with a single seed shows no ± part.
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from rhel.errors import RHELError
from rhel.atomic import atomic_write, atomic_write_text
from rhel.training.results import METRICS, RESULTS, read_metrics

METHOD_ORDER = [("linear", "bptt"), ("linear", "rhel"), ("nonlinear", "bptt"), ("nonlinear", "rhel")]
#: The paper's column order (RHEL-SPEC §6); other data sets follow, alphabetically.
DATASET_ORDER = ["EigenWorms", "SelfRegulationSCP1", "SelfRegulationSCP2", "EthanolConcentration", "Heartbeat",
                 "MotorImagery", "PPG-DaLiA"]


def _dataset_key(name: str):
    return (DATASET_ORDER.index(name), "") if name in DATASET_ORDER else (len(DATASET_ORDER), name)


#: The fields of a ``results.json`` the report reads, and the types they must have.
FIELDS: dict[str, tuple[tuple[type, ...], str]] = {
    **{name: ((str,), "a string") for name in ("dataset", "model", "gradient", "task")},
    "seed": ((int,), "an integer"),
    "test_metric": ((int, float), "a number"),
}


def _read_run(path: Path) -> dict[str, Any]:
    """The content of one ``results.json``; an :class:`RHELError` naming the file and what is wrong when it
    cannot be read, is not UTF-8 JSON, is not a JSON object, or lacks one of :data:`FIELDS` (or has it with
    another type)."""

    def refuse(why: str):
        raise RHELError(f"{str(path)!r} is not a results file of rhel train ({why}); remove it or point rhel "
                        "report elsewhere.")

    try:
        r = json.loads(path.read_bytes().decode("utf-8"))
    except OSError as e:
        refuse(f"{type(e).__name__}: {e}")
    except UnicodeDecodeError:
        refuse("not UTF-8 text")
    except json.JSONDecodeError as e:
        refuse(f"not JSON: {e}")
    if not isinstance(r, dict):
        refuse(f"a JSON {type(r).__name__}, not an object")
    for name in FIELDS:
        if name not in r:
            refuse(f"no {name!r} field")
        value, (types, kind) = r[name], FIELDS[name]
        if isinstance(value, bool) or not isinstance(value, types):
            refuse(f"{name!r} is {value!r}, not {kind}")
    return r


def collect(paths: list[str | Path]) -> list[dict[str, Any]]:
    """Every run's results under ``paths`` (a run folder or any folder above run folders)."""
    runs = []
    for p in map(Path, paths):
        if not p.exists():
            raise RHELError(f"{str(p)!r} does not exist; pass run folders (or their parent) written by rhel train.")
        files = [p] if p.is_file() else sorted(p.rglob(RESULTS))
        for f in files:
            r = _read_run(f)
            r["_dir"] = str(f.parent)
            runs.append(r)
    if not runs:
        raise RHELError(f"no {RESULTS} found under {', '.join(map(str, paths))}; train first with rhel train "
                        "(or wait for the runs to finish).")
    seen = {}
    for r in runs:
        key = (r["dataset"], r["model"], r["gradient"], r["seed"])
        if key in seen:
            raise RHELError(f"two runs of {key} ({seen[key]} and {r['_dir']}); pass each run folder once.")
        seen[key] = r["_dir"]
    return runs


def summarise(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (dataset, model, gradient): n, mean, std over seeds of the test metric (raw units)."""
    groups: dict[tuple, list] = defaultdict(list)
    for r in runs:
        groups[(r["dataset"], r["model"], r["gradient"])].append(r)
    rows = []
    for (dataset, model, gradient), rs in sorted(groups.items()):
        rs = sorted(rs, key=lambda r: r["seed"])
        vals = np.array([r["test_metric"] for r in rs], dtype=np.float64)
        rows.append(dict(dataset=dataset, model=model, gradient=gradient, task=rs[0]["task"],
                         metric=rs[0].get("metric", ""), n=len(rs), mean=float(vals.mean()),
                         std=float(vals.std()), seeds=" ".join(str(r["seed"]) for r in rs),
                         values=" ".join(f"{v:.6g}" for v in vals),
                         time_per_step_s=_mean(r.get("time_per_step_s") for r in rs),
                         peak_rss_mb=_mean(r.get("peak_rss_mb") for r in rs)))
    return rows


def _mean(values):
    v = [x for x in values if x is not None]
    return float(np.mean(v)) if v else None


def _scale(task: str) -> tuple[float, str]:
    return (100.0, "test accuracy %") if task == "classification" else (100.0, "test MSE ×1e-2")


def _cell(row: dict | None, scale: float) -> str:
    if row is None:
        return "–"
    if row["n"] == 1:
        return f"{row['mean'] * scale:.1f}"
    return f"{row['mean'] * scale:.1f} ± {row['std'] * scale:.1f}"


def markdown(rows: list[dict[str, Any]]) -> str:
    """The Markdown tables (one per task), in the layout of the paper's Table 1."""
    out = []
    for task in ("classification", "regression"):
        sub = [r for r in rows if r["task"] == task]
        if not sub:
            continue
        scale, title = _scale(task)
        datasets = sorted({r["dataset"] for r in sub}, key=_dataset_key)
        index = {(r["dataset"], r["model"], r["gradient"]): r for r in sub}
        methods = [m for m in METHOD_ORDER if any((d, *m) in index for d in datasets)]
        methods += sorted({(r["model"], r["gradient"]) for r in sub} - set(methods))
        avg = task == "classification" and len(datasets) > 1
        head = ["method", *datasets] + (["Avg"] if avg else [])
        out.append(f"### {title} (mean ± std over seeds; n seeds per cell in report.csv)\n")
        out.append("| " + " | ".join(head) + " |")
        out.append("|" + "---|" * len(head))
        for model, gradient in methods:
            cells = [_cell(index.get((d, model, gradient)), scale) for d in datasets]
            if avg:
                means = [index[(d, model, gradient)]["mean"] for d in datasets if (d, model, gradient) in index]
                cells.append(f"{np.mean(means) * scale:.1f}" if len(means) == len(datasets) else "–")
            out.append(f"| {model} {gradient.upper()} | " + " | ".join(cells) + " |")
        out.append("")
    return "\n".join(out)


def to_csv(rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    cols = ["dataset", "model", "gradient", "task", "metric", "n", "mean", "std", "seeds", "values",
            "time_per_step_s", "peak_rss_mb"]
    w = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({c: r[c] for c in cols})
    return buf.getvalue()


def plot_curves(runs: list[dict[str, Any]], out: Path) -> list[Path]:
    """One PNG per data set: validation metric against step for every run."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colours = {m: f"C{i}" for i, m in enumerate(METHOD_ORDER)}
    written = []
    for dataset in sorted({r["dataset"] for r in runs}):
        fig, ax = plt.subplots(figsize=(6, 4))
        labelled = set()
        mine = [r for r in runs if r["dataset"] == dataset]
        for r in sorted(mine, key=lambda r: (r["model"], r["gradient"], r["seed"])):
            path = Path(r["_dir"]) / METRICS
            if not path.exists():
                continue
            hist = read_metrics(path)
            method = (r["model"], r["gradient"])
            label = f"{r['model']} {r['gradient'].upper()}"
            ax.plot([h["step"] for h in hist], [h["val_metric"] for h in hist], color=colours.get(method, "k"),
                    alpha=0.8, lw=1.2, label=None if label in labelled else label)
            labelled.add(label)
        ax.set_xlabel("step")
        ax.set_ylabel("validation " + ("accuracy" if mine[0]["task"] == "classification" else "MSE"))
        ax.set_title(f"{dataset}: validation curves (one line per seed)")
        if labelled:
            ax.legend()
        fig.tight_layout()
        path = out / f"curves_{dataset}.png"
        atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=100))
        plt.close(fig)
        written.append(path)
    return written


def write_report(paths: list[str | Path], out: str | Path) -> dict[str, Any]:
    """Collect the runs under ``paths`` and write ``report.md``, ``report.csv`` and the curves to ``out``."""
    out = Path(out)
    runs = collect(paths)
    rows = summarise(runs)
    md = markdown(rows)
    atomic_write_text(out / "report.md", md + "\n")
    atomic_write_text(out / "report.csv", to_csv(rows))
    pngs = plot_curves(runs, out)
    return {"markdown": md, "rows": rows, "files": [out / "report.md", out / "report.csv", *pngs]}
