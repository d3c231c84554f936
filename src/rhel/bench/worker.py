"""Measure one configuration in this process: ``python -m rhel.bench.worker '<config JSON>'``.

The parent (:mod:`rhel.bench.runner`) starts one fresh process per configuration, so that the peak
memory of one method cannot leak into another's. The worker prints exactly one JSON object on the last
line of its standard output: the configuration, the measurements of :func:`rhel.bench.measure.time_step`,
the backend it ran on and ``retain_freed_memory`` (whether the allocator keeps freed memory: an HSSM
worker sets it up before JAX starts, as ``rhel train`` does, :func:`rhel.allocator.retain_freed_memory`;
an engine worker leaves glibc's defaults) and ``small_loop_bytes`` (the threshold below which XLA compiles a
loop into one kernel, :func:`rhel.xla_loops.compile_small_loops`, set before JAX starts unless the
environment says otherwise; None = XLA's default); or ``{"error": ...}`` for a configuration that could
not be measured.

Given a JSON *list* of configurations (the methods of one model and length), the worker instead times
them interleaved in this one process (:func:`rhel.bench.measure.time_interleaved`) and prints
``{"group": [...], "interleaved": {method: {"time_s", "times_s"}}}``.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from rhel.allocator import retain_freed_memory
from rhel.bench.config import Config
from rhel.errors import RHELError
from rhel.xla_loops import compile_small_loops, small_loop_bytes

#: Prefix of the result line, so that the parent can ignore anything else a library prints.
RESULT_PREFIX = "RHEL-BENCH-RESULT "


def run_config(config: Config) -> dict[str, Any]:
    """Build the step of ``config`` and measure it in this process."""
    import jax

    from rhel.bench.measure import time_step

    step, carry, data = _suite(config).build(config)
    result = time_step(step, carry, data, repeats=config.repeats, warmup=config.warmup)
    device = jax.devices()[0]
    result["backend"] = f"{device.platform}:{device.device_kind}"
    return result


def _suite(config: Config):
    if config.suite == "engine":
        from rhel.bench import engine_suite as suite
    else:
        from rhel.bench import hssm_suite as suite
    return suite


def run_group(configs: list[Config]) -> dict[str, Any]:
    """Time the configurations (one per method) interleaved in this process."""
    from rhel.bench.measure import time_interleaved

    if len({c.method for c in configs}) != len(configs):
        raise RHELError("an interleaved group needs one configuration per method.")
    steps = {c.method: _suite(c).build(c) for c in configs}
    return {"interleaved": time_interleaved(steps, rounds=configs[0].repeats, warmup=configs[0].warmup)}


def _set_up_allocator(configs: list[Config]) -> bool:
    """Keep freed memory for the HSSM suite, as ``rhel train`` does; leave the engine suite's defaults."""
    return retain_freed_memory() if all(c.suite == "hssm" for c in configs) else False


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m rhel.bench.worker '<config JSON>'", file=sys.stderr)
        return 2
    is_group = argv[0].lstrip().startswith("[")
    compile_small_loops()  # as the rhel command does (its child processes inherit the setting anyway)
    try:
        if is_group:
            try:
                items = json.loads(argv[0])
            except json.JSONDecodeError as e:
                raise RHELError(f"a group of benchmark configurations must be a JSON list: {e}") from e
            configs = [Config.from_json(json.dumps(c)) for c in items]
            retained = _set_up_allocator(configs)
            result: dict[str, Any] = {"group": [json.loads(c.to_json()) for c in configs], **run_group(configs)}
        else:
            config = Config.from_json(argv[0])
            retained = _set_up_allocator([config])
            result = {"config": json.loads(config.to_json()), **run_config(config)}
        result["retain_freed_memory"] = retained
        result["small_loop_bytes"] = small_loop_bytes()
        code = 0
    except RHELError as e:
        key = "group" if is_group else "config"
        try:
            given = json.loads(argv[0])
        except json.JSONDecodeError:
            given = argv[0]
        result = {key: given, "error": str(e)}
        code = 1
    print(RESULT_PREFIX + json.dumps(result), flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
