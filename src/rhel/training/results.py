"""What a run leaves behind: ``results.json`` and ``metrics.csv``, both written atomically.

``results.json`` holds the resolved config, the seed, library versions, the test metric at the best
validation point, the best step, wall time, time per step and the peak resident memory; ``metrics.csv``
holds one row per validation (the learning curve that ``rhel report`` plots).
"""

from __future__ import annotations

import csv
import io
import json
import platform
import resource
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from rhel.atomic import atomic_write_text
from rhel.errors import RHELError

RESULTS = "results.json"
METRICS = "metrics.csv"
METRIC_COLUMNS = ("step", "epoch", "train_loss", "train_metric", "val_loss", "val_metric", "steps_per_s",
                  "elapsed_s")


def vm_hwm_mb() -> float | None:
    """``VmHWM`` of ``/proc/self/status`` (this address space's resident high-water mark), in MB; None
    where it is not available."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def peak_rss_mb() -> float:
    """High-water mark of this process's own resident memory, in MB.

    On Linux this is ``VmHWM``: ``getrusage``'s ``ru_maxrss`` keeps the larger of its own mark and the
    parent's across ``exec``, so a process started by ``subprocess`` from a 2 GB parent reports at least
    2 GB however little it uses (``rhel compare`` starts its trainings from a process that has run JAX).
    Elsewhere ``ru_maxrss`` (KB on Linux, bytes on macOS).
    """
    hwm = vm_hwm_mb()
    if hwm is not None:
        return hwm
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


def library_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in ("rhel", "jax", "jaxlib", "equinox", "optax", "numpy", "aeon"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def write_results(run_dir: str | Path, results: dict[str, Any]) -> Path:
    return atomic_write_text(Path(run_dir) / RESULTS, json.dumps(results, indent=2) + "\n")


def read_results(path: str | Path) -> dict[str, Any]:
    """The content of a ``results.json``; :class:`RHELError` naming the file if it is not a JSON object."""
    try:
        results = json.loads(Path(path).read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        results = None
    if not isinstance(results, dict):
        raise RHELError(f"{str(path)!r} is damaged (not a JSON object of results); delete it and run the same "
                        "command with --resume to evaluate the run's best checkpoint again, or choose another "
                        "--out folder.")
    return results


def write_metrics(run_dir: str | Path, rows: list[dict[str, Any]]) -> Path:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=METRIC_COLUMNS, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: r.get(k, "") for k in METRIC_COLUMNS})
    return atomic_write_text(Path(run_dir) / METRICS, buf.getvalue())


def read_metrics(path: str | Path) -> list[dict[str, float]]:
    with open(path, newline="") as f:
        return [{k: float(v) for k, v in row.items() if v != ""} for row in csv.DictReader(f)]
