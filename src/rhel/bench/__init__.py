"""``rhel bench``'s measurement harness: one configuration per fresh process, results as JSON.

* :mod:`rhel.bench.config` — one configuration (suite, method, model, shape, length), plain data;
* :mod:`rhel.bench.plan` — the configurations of a run and the shape presets;
* :mod:`rhel.bench.worker` — ``python -m rhel.bench.worker '<config JSON>'`` measures one configuration
  (given a JSON list, it times the methods of one model and length interleaved in one process);
* :mod:`rhel.bench.measure` — compile, warm up, median of the timed steps, peak RSS / device memory;
  and the interleaved timing of several steps, whose medians the time ratios use;
* :mod:`rhel.bench.engine_suite`, :mod:`rhel.bench.hssm_suite` — the steps being measured;
* :mod:`rhel.bench.runner` — starts the workers; :mod:`rhel.bench.report`, :mod:`rhel.bench.plot` —
  tables, target ratios and the log-log plot.

The parent process (``rhel bench``) imports JAX, as ``import rhel`` does, but runs no JAX computation:
it plans the configurations, starts the workers and reads their results. Each worker measures its own
process (its peak RSS is that process's high-water mark), so the parent's memory is in no measurement.
"""

from rhel.bench.config import Config

__all__ = ["Config"]
