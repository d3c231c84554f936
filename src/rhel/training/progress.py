"""Progress display: a tqdm bar on a terminal, plain log lines otherwise (files, CI, pipes).

Both show the step, the running training loss and metric, the rate in steps/s and the ETA to the step
budget (early stopping may finish sooner). The log-line mode prints every ``log_every`` steps and never
uses carriage returns, so captured output stays readable; it also prints at least once a minute, so a
long run never looks stuck.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


def _fmt_time(seconds: float) -> str:
    if seconds != seconds or seconds == float("inf"):
        return "?"
    seconds = int(round(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


class Progress:
    """Report training progress.

    Args:
        total: the step budget.
        initial: the step the run starts from (non-zero on resume).
        desc: a label (e.g. ``"ACSF1 linear rhel seed 2345"``).
        metric_name: name of the metric shown (``"acc"`` or ``"mse"``).
        stream: where to write (default: standard error).
        bar: force the bar on (True) or off (False); default: on iff ``stream`` is a terminal.
        log_every: steps between log lines in plain mode (default: about 20 lines per run).
        log_seconds: in plain mode, also print a line when this long has passed since the last one.
    """

    def __init__(self, total: int, *, initial: int = 0, desc: str = "", metric_name: str = "metric",
                 stream: TextIO | None = None, bar: bool | None = None, log_every: int | None = None,
                 log_seconds: float = 60.0):
        self.stream = stream if stream is not None else sys.stderr
        self.total, self.desc, self.metric_name = total, desc, metric_name
        self.step = self._t_step = initial
        self._t0 = self._t_last = time.perf_counter()
        self.rate = float("nan")
        self._first = True
        self._printed = self._t0
        isatty = getattr(self.stream, "isatty", lambda: False)()
        self.bar = None
        if bar if bar is not None else isatty:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, initial=initial, desc=desc, unit="step", file=self.stream,
                            dynamic_ncols=True, leave=True)
        self.log_every = log_every or max(1, total // 20)
        self.log_seconds = log_seconds

    def update(self, step: int, loss: float, metric: float) -> None:
        """Record that ``step`` steps are done; ``loss``/``metric`` are of the latest batch."""
        now = time.perf_counter()
        done = step - self._t_step
        if self._first:  # the first step of a process includes compilation: not a rate sample
            self._first, done = False, 0
        if done > 0 and now > self._t_last:
            inst = done / (now - self._t_last)
            self.rate = inst if self.rate != self.rate else 0.9 * self.rate + 0.1 * inst
        self._t_last, self._t_step = now, step
        if self.bar is not None:
            self.bar.update(step - self.step)
            self.bar.set_postfix(loss=f"{loss:.4g}", **{self.metric_name: f"{metric:.4g}"}, refresh=False)
        elif step % self.log_every == 0 or step == self.total or now - self._printed >= self.log_seconds:
            print(self.line(step, loss, metric), file=self.stream, flush=True)
            self._printed = now
        self.step = step

    def line(self, step: int, loss: float, metric: float) -> str:
        eta = (self.total - step) / self.rate if self.rate == self.rate and self.rate > 0 else float("nan")
        return (f"{self.desc + ' ' if self.desc else ''}step {step}/{self.total} loss {loss:.4g} "
                f"{self.metric_name} {metric:.4g} {self.rate:.3g} steps/s ETA {_fmt_time(eta)}")

    def message(self, text: str) -> None:
        """Print a line (validation results, early stop) without breaking the bar."""
        if self.bar is not None:
            self.bar.write(text, file=self.stream)
        else:
            print(text, file=self.stream, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
