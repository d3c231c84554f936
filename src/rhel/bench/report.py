"""Tables and target ratios from a list of worker results (no JAX).

The targets are those of the performance issue, measured within one run on one machine:

* RHEL step time ≤ 1.0 × BPTT for every L ≥ 4,000 at the EigenWorms shape (batch 4, 2 blocks, H=64, P=16);
* RHEL step time ≤ 3.3 × the forward-only step;
* RHEL peak memory ≤ 0.9 × BPTT at the EigenWorms shape, ≤ 0.5 × BPTT at the SCP1 shape
  (batch 32, 6 blocks, H=64, P=256).

The memory target is checked on two measures, reported side by side: the process's peak RSS (the
issue's measure on a CPU: runtime + compiler + buffers) and the compiled step's XLA buffers (the
measure of a GPU's device-memory statistics; see :mod:`rhel.bench.measure`).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

#: (batch, blocks, hidden, state) of the shapes the targets are stated for.
EIGENWORMS_SHAPE = (4, 2, 64, 16)
SCP1_SHAPE = (32, 6, 64, 256)


def label(config: dict[str, Any]) -> str:
    """``linear/rhel`` for the HSSM suite, ``engine/rhel`` for the engine suite."""
    head = config["model"] if config["suite"] == "hssm" else "engine"
    return f"{head}/{config['method']}"


#: Where a ratio's times come from: the interleaved timing of a model and length's methods in one process,
#: or each configuration's own process.
INTERLEAVED, SEPARATE = "interleaved", "separate processes"


def time_basis(results: list[dict[str, Any]]) -> str:
    """:data:`INTERLEAVED` when every one of ``results`` has an interleaved median, else :data:`SEPARATE`
    (no interleaved timing, or a failed one: then the times of all of them come from their own processes,
    never a mix of the two)."""
    return INTERLEAVED if all(r.get("interleaved_time_s") is not None for r in results) else SEPARATE


def step_time(result: dict[str, Any], basis: str | None = None) -> float:
    """The step time on ``basis``: the interleaved median (all methods of a model and length timed round by
    round in one process, so that the machine's drift cancels) or the configuration's own median. Without
    ``basis``, the interleaved median when the run measured one, else its own."""
    basis = time_basis([result]) if basis is None else basis
    return result["interleaved_time_s"] if basis == INTERLEAVED else result["time_s"]


def _shape(config: dict[str, Any]) -> tuple[int, int, int, int]:
    return (config["batch"], config["blocks"], config["hidden"], config["state"])


def format_table(results: list[dict[str, Any]]) -> str:
    """A Markdown table: one row per configuration, failed ones with their error; the interleaved column
    says "interleaved failed" when the interleaved timing of its model and length failed, "–" when it was
    not run."""
    lines = [
        "| configuration | L | P | step s (median) | interleaved s (median) | CPU s | peak RSS MB "
        "| peak RSS of the steps MB | RSS after set-up MB | XLA buffers MB | compile s |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        c = r["config"]
        head = f"| {label(c)} | {c['length']} | {c['state']} |"
        if "error" in r:
            lines.append(f"{head} failed: {r['error'].splitlines()[0][:120]} | | | | | | | |")
            continue
        device = "" if r.get("device_peak_mb") is None else f" (device {r['device_peak_mb']:.0f})"
        step_peak = "n/a" if r.get("step_peak_rss_mb") is None else f"{r['step_peak_rss_mb']:.0f}"
        if "interleaved_error" in r:
            interleaved = "interleaved failed"
        else:
            interleaved = "–" if r.get("interleaved_time_s") is None else f"{r['interleaved_time_s']:.4g}"
        buffers = "n/a" if r.get("buffers_mb") is None else f"{r['buffers_mb']:.1f}"
        lines.append(
            f"{head} {r['time_s']:.4g} | {interleaved} | {r['cpu_time_s']:.4g} | "
            f"{r['peak_rss_mb']:.0f}{device} | {step_peak} | {r['rss_setup_mb']:.0f} | {buffers} | "
            f"{r['compile_s']:.1f} |"
        )
    return "\n".join(lines)


def _targets(config: dict[str, Any]) -> dict[str, float]:
    """The issue's targets that apply to this configuration's shape and length."""
    if config["suite"] != "hssm":
        return {}
    targets = {"time rhel/forward": 3.3}
    shape = _shape(config)
    memory = {EIGENWORMS_SHAPE: 0.9, SCP1_SHAPE: 0.5}.get(shape)
    if memory is not None:
        targets["memory rhel/bptt"] = targets["buffers rhel/bptt"] = memory
    if shape == EIGENWORMS_SHAPE and config["length"] >= 4000:
        targets["time rhel/bptt"] = 1.0
    return targets


def ratios(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """RHEL against the other methods, per model and length: time and peak-memory ratios.

    ``time`` compares :func:`step_time` on the pair's :func:`time_basis` (interleaved when both were
    timed interleaved, else both from their own processes); ``memory`` the whole process's peak RSS (the
    issue's measure on a CPU); ``step memory`` the peak while the compiled steps run (the compiler's own
    peak left out); ``buffers`` the compiled steps' XLA buffers (a GPU's measure). The memory measures
    always come from each configuration's own process.

    Each row: ``{"group", "length", "ratio", "value", "target", "met", "measured"}`` where ``target`` is
    None when the issue states no target for that ratio at that shape, and ``measured`` is
    :data:`INTERLEAVED` or :data:`SEPARATE`.
    """
    groups: dict[tuple, dict[str, dict[str, Any]]] = defaultdict(dict)
    for r in results:
        if "error" in r:
            continue
        c = r["config"]
        key = (label(c).split("/")[0], c["length"], _shape(c))
        groups[key][c["method"]] = r
    rows = []
    for (group, length, _), by_method in groups.items():
        rhel = by_method.get("rhel")
        if rhel is None:
            continue
        targets = _targets(rhel["config"])
        for other in ("bptt", "bptt_checkpoint", "forward"):
            if other not in by_method:
                continue
            basis = time_basis([rhel, by_method[other]])
            pairs = [("time", lambda result: step_time(result, basis), basis)]
            if other != "forward":
                pairs += [
                    ("memory", _field("peak_rss_mb"), SEPARATE),
                    ("step memory", _field("step_peak_rss_mb"), SEPARATE),
                    ("buffers", _field("buffers_mb"), SEPARATE),
                ]
            for kind, get, measured in pairs:
                if get(rhel) is None or get(by_method[other]) is None:
                    continue
                name = f"{kind} rhel/{other}"
                value = get(rhel) / get(by_method[other])
                target = targets.get(name)
                rows.append(
                    {
                        "group": group,
                        "length": length,
                        "ratio": name,
                        "value": value,
                        "target": target,
                        "met": None if target is None else bool(value <= target),
                        "measured": measured,
                    }
                )
    return rows


def _field(name: str):
    return lambda result: result.get(name)


def format_ratios(rows: list[dict[str, Any]]) -> str:
    """A Markdown table of :func:`ratios`; its last column says where each ratio's numbers come from
    (interleaved or separate processes)."""
    lines = ["| model | L | ratio | value | target | measured in |", "|---|---|---|---|---|---|"]
    for row in rows:
        target = "" if row["target"] is None else f"≤ {row['target']:g} " + (
            "met" if row["met"] else "**missed**"
        )
        lines.append(
            f"| {row['group']} | {row['length']} | {row['ratio']} | {row['value']:.2f} | {target} "
            f"| {row['measured']} |"
        )
    return "\n".join(lines)


def format_summary(results: list[dict[str, Any]]) -> str:
    """A compact Markdown table for a README: one row per model and length, methods side by side.

    Times are median step times in seconds, on the row's :func:`time_basis` (interleaved when every method
    of the row was timed interleaved, else all from their own processes), which the last column names;
    memory the process's peak RSS and the step's XLA buffers, in MB; the ratios are RHEL's against BPTT
    (time, peak RSS, buffers) and against the forward-only step (time). Missing or failed measurements
    are "–".
    """
    cells: dict[tuple, dict[str, dict[str, Any]]] = defaultdict(dict)
    for r in results:
        if "error" not in r:
            c = r["config"]
            cells[(label(c).split("/")[0], c["length"])][c["method"]] = r

    def value(r, field, basis):
        return step_time(r, basis) if field == "time_s" else r.get(field)

    def get(row, method, field, fmt):
        r, basis = row.get(method), time_basis(list(row.values()))
        return "–" if r is None or value(r, field, basis) is None else format(value(r, field, basis), fmt)

    def ratio(row, a, b, field):
        basis = time_basis(list(row.values()))
        if a not in row or b not in row or None in (value(row[a], field, basis), value(row[b], field, basis)):
            return "–"
        return f"{value(row[a], field, basis) / value(row[b], field, basis):.2f}"

    lines = [
        "| model | L | forward s | BPTT s | RHEL s | RHEL/BPTT time | RHEL/forward time "
        "| BPTT MB | RHEL MB | RHEL/BPTT memory | BPTT buffers MB | RHEL buffers MB | RHEL/BPTT buffers "
        "| times measured in |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (group, length), row in sorted(cells.items()):
        lines.append(
            f"| {group} | {length:,} | {get(row, 'forward', 'time_s', '.3g')} | "
            f"{get(row, 'bptt', 'time_s', '.3g')} | {get(row, 'rhel', 'time_s', '.3g')} | "
            f"{ratio(row, 'rhel', 'bptt', 'time_s')} | {ratio(row, 'rhel', 'forward', 'time_s')} | "
            f"{get(row, 'bptt', 'peak_rss_mb', ',.0f')} | {get(row, 'rhel', 'peak_rss_mb', ',.0f')} | "
            f"{ratio(row, 'rhel', 'bptt', 'peak_rss_mb')} | {get(row, 'bptt', 'buffers_mb', ',.0f')} | "
            f"{get(row, 'rhel', 'buffers_mb', ',.0f')} | {ratio(row, 'rhel', 'bptt', 'buffers_mb')} | "
            f"{time_basis(list(row.values()))} |"
        )
    return "\n".join(lines)
