"""`rhel.xla_loops.compile_small_loops`: XLA compiles a unit's loop into one kernel, with the same results.

The setting is read once per process, when JAX creates its backends, so its effect is checked in fresh
processes; the bookkeeping (environment, a user's own setting, a late call) in this one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings

import jax.numpy as jnp
import numpy as np
import pytest

from rhel import xla_loops
from rhel.xla_loops import OPTION, SMALL_LOOP_BYTES, compile_small_loops, small_loop_bytes, with_small_loops

# One process: value and gradients in float64 by BPTT and by RHEL, of the nonlinear HRU and of the generic
# engine with an all-to-all coupling (whose echo differentiates V at each lane by autodiff), and how many
# of the compiled programs' loops XLA made one kernel each.
_SCRIPT = r"""
import json
import rhel
on = rhel.compile_small_loops()
import jax, jax.numpy as jnp
jax.config.update("jax_enable_x64", True)
from rhel.units.nonlinear import nonlinear_hru
out = {"on": on, "small_calls": {}, "grads": {}}

def measure(name, loss, *args):
    step = jax.jit(jax.value_and_grad(loss, argnums=(0, 1))).lower(*args).compile()
    out["small_calls"][name] = step.as_text().count("xla_cpu_small_call")
    value, grads = step(*args)
    out["grads"][name] = [float(value)] + [float(x) for leaf in jax.tree.leaves(grads) for x in leaf.ravel()]

def potential(phi, u, params):
    z = params["W"] @ phi + u
    return 0.5 * jnp.sum(phi**2) + jnp.sum(jnp.logaddexp(z, -z))

hru = nonlinear_hru(6, 4, key=jax.random.PRNGKey(0))
u = jax.random.normal(jax.random.PRNGKey(1), (2, 300, 6))
params = {"W": 0.15 * jax.random.normal(jax.random.PRNGKey(2), (4, 4))}
v = jax.random.normal(jax.random.PRNGKey(3), (300, 4))
zero = jnp.zeros(4)
for name, method in (("bptt", rhel.BPTT()), ("rhel", rhel.RHEL(epsilon=1e-3))):
    measure(name, lambda h, u: jnp.mean(jax.vmap(lambda x: h(x, gradient=method))(u) ** 2), hru, u)
    measure("engine_" + name,
            lambda p, v: jnp.sum(rhel.simulate(potential, p, v, (zero, zero), dt=0.1, gradient=method) ** 2),
            params, v)
print("RESULT " + json.dumps(out))
"""


def _run(environment: dict[str, str]) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("XLA_FLAGS", xla_loops.ENVIRONMENT_VARIABLE)}
    env.update(environment)
    done = subprocess.run([sys.executable, "-c", _SCRIPT], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    line = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT "):])


def test_loops_become_one_kernel_each_with_the_same_gradients():
    on = _run({})
    off = _run({xla_loops.ENVIRONMENT_VARIABLE: "0"})
    assert on["on"] is True and off["on"] is False
    # BPTT: the forward loop and its backward loop; RHEL: the forward loop and the echo, also where the
    # potential has a matrix product and the echo differentiates it at each lane (finding 29)
    for name in on["small_calls"]:
        assert on["small_calls"][name] >= 2, (name, on["small_calls"])
        # XLA's own 1 kB threshold catches at most the tiniest of them (the engine's forward loop, P = 4)
        assert off["small_calls"][name] < on["small_calls"][name], (name, off["small_calls"])
        got, want = np.asarray(on["grads"][name]), np.asarray(off["grads"][name])
        assert np.max(np.abs(got - want)) <= 1e-11 * np.max(np.abs(want)), name  # round-off, norm-wise
    # and RHEL still equals BPTT there (ε = 1e-3: the echo's O(ε²) error)
    for rhel_name, bptt_name in (("rhel", "bptt"), ("engine_rhel", "engine_bptt")):
        np.testing.assert_allclose(on["grads"][rhel_name], on["grads"][bptt_name], rtol=1e-4, atol=1e-9)


def test_the_flag_is_added_to_the_users_own():
    flags = with_small_loops("--xla_cpu_enable_fast_math=false", 4096)
    assert flags.startswith("--xla_cpu_enable_fast_math=false ")
    assert flags.endswith(f"--xla_backend_extra_options={OPTION}=4096")
    assert small_loop_bytes(flags) == 4096
    assert small_loop_bytes(with_small_loops("", SMALL_LOOP_BYTES)) == SMALL_LOOP_BYTES
    assert small_loop_bytes("--xla_cpu_enable_fast_math=false") is None
    # XLA adds repeated backend options up; the last setting of the option counts
    both = f"--xla_backend_extra_options=xla_cpu_disable_loop_unrolling,{OPTION}=5 " \
           f"--xla_backend_extra_options={OPTION}=7"
    assert small_loop_bytes(both) == 7


@pytest.fixture
def fresh_process(monkeypatch):
    """This process as if JAX had not started yet, with neither variable set."""
    monkeypatch.delenv("XLA_FLAGS", raising=False)
    monkeypatch.delenv(xla_loops.ENVIRONMENT_VARIABLE, raising=False)
    monkeypatch.setattr(xla_loops, "_backends_started", lambda: False)


def test_it_sets_the_flag_before_jax_starts(fresh_process):
    assert compile_small_loops(2048) is True
    assert small_loop_bytes() == 2048


def test_a_users_own_setting_wins(fresh_process, monkeypatch):
    monkeypatch.setenv("XLA_FLAGS", f"--xla_backend_extra_options={OPTION}=0")
    assert compile_small_loops() is False
    assert os.environ["XLA_FLAGS"] == f"--xla_backend_extra_options={OPTION}=0"


@pytest.mark.parametrize("value", ["0", "false", "No", " off "])
def test_the_environment_turns_it_off(fresh_process, monkeypatch, value):
    monkeypatch.setenv(xla_loops.ENVIRONMENT_VARIABLE, value)
    assert compile_small_loops() is False
    assert "XLA_FLAGS" not in os.environ


def test_a_call_after_jax_started_says_it_has_no_effect(monkeypatch):
    monkeypatch.delenv("XLA_FLAGS", raising=False)
    monkeypatch.delenv(xla_loops.ENVIRONMENT_VARIABLE, raising=False)
    jnp.zeros(1).block_until_ready()  # JAX's backends exist from here on
    with pytest.warns(UserWarning, match="after JAX created its backends"):
        assert compile_small_loops() is False
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert compile_small_loops(warn=False) is False
    assert "XLA_FLAGS" not in os.environ


@pytest.mark.parametrize("bad", [-1, 1.5, "65536", True])
def test_a_bad_threshold_is_named(bad):
    with pytest.raises(ValueError, match="max_bytes must be a non-negative integer"):
        compile_small_loops(bad)


def test_every_command_sets_it_up_before_it_runs(monkeypatch):
    from rhel.cli import main as cli

    calls = []
    monkeypatch.setattr(cli, "compile_small_loops", lambda warn=True: calls.append(("loops", warn)))
    assert cli.main(["data", "list"]) == 0
    assert calls == [("loops", False)]
