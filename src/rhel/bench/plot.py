"""The log-log plot of step time and peak memory against sequence length, one line per configuration."""

from __future__ import annotations

import os
from collections import defaultdict
from typing import Any

from rhel.bench.report import label, step_time
from rhel.figure import plot_format, save_figure

#: The memory measures of the right panel: (index in a plotted point, legend label, Matplotlib format: a
#: marker, so that a single length is visible too, and a line style).
MEMORY_MEASURES: tuple[tuple[int, str, str], ...] = (
    (2, "peak RSS of the process", "o-"),
    (3, "peak RSS of the steps", "s:"),
    (4, "XLA buffers of the step", "^--"),
)


def plot_results(results: list[dict[str, Any]], path: str | os.PathLike, *, title: str = "") -> None:
    """Write a two-panel figure (time | memory, both against L, log-log) to ``path`` atomically.

    Time: :func:`rhel.bench.report.step_time` (the interleaved median when measured). Memory
    (:data:`MEMORY_MEASURES`): circles on solid lines are the whole process's peak RSS, squares on dotted
    ones the peak while the steps run, triangles on dashed ones the compiled step's XLA buffers; a measure
    that a configuration lacks at any of its lengths is not drawn for that configuration. Every point has a marker, so
    a run of a single length shows all of them. The memory panel's legend names the configurations
    (colours) and the measures (markers and line styles).

    The format follows the file suffix (:func:`plot_format`, checked before drawing). Failed
    configurations are left out.
    """
    plot_format(path)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series: dict[str, list[tuple]] = defaultdict(list)
    for r in results:
        if "error" not in r:
            point = (
                r["config"]["length"],
                step_time(r),
                r["peak_rss_mb"],
                r.get("step_peak_rss_mb"),
                r.get("buffers_mb"),
            )
            series[label(r["config"])].append(point)

    from matplotlib.lines import Line2D

    fig, (ax_time, ax_mem) = plt.subplots(1, 2, figsize=(11, 4.2))
    handles = []
    for name, points in sorted(series.items()):
        points.sort()
        lengths = [p[0] for p in points]
        (line,) = ax_time.plot(lengths, [p[1] for p in points], "o-", label=name)
        handles.append(Line2D([], [], color=line.get_color(), label=name))
        for index, _, style in MEMORY_MEASURES:
            if all(p[index] is not None for p in points):
                ax_mem.plot(lengths, [p[index] for p in points], style, color=line.get_color())
    handles += [Line2D([], [], color="0.3", marker=style[0], linestyle=style[1:], label=measure)
                for _, measure, style in MEMORY_MEASURES]
    memory_label = "memory (MB): peak RSS, steps' RSS, XLA buffers"
    for ax, ylabel in ((ax_time, "median step time (s)"), (ax_mem, memory_label)):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("sequence length L")
        ax.set_ylabel(ylabel)
        ax.grid(True, which="both", alpha=0.3)
    ax_mem.legend(handles=handles, fontsize=7, loc="best")
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    save_figure(fig, path, dpi=120)
