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

Importing this package does not import JAX; only the worker does.
"""

from rhel.bench.config import Config

__all__ = ["Config"]
