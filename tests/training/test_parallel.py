"""Data parallelism: on 2 (forced host) devices, the same losses and gradients as on 1 device.

The device count of the CPU backend is fixed when JAX initialises, so the check runs in a child process
with ``XLA_FLAGS=--xla_force_host_platform_device_count=2`` set before ``jax`` is imported.
"""

import json
import os
import subprocess
import sys
import textwrap

import pytest

from rhel.training.parallel import initialize_distributed
from rhel.errors import RHELError

SCRIPT = textwrap.dedent(
    """
    import io, json, sys
    import jax, jax.numpy as jnp, numpy as np
    assert len(jax.devices()) == 2, jax.devices()
    from rhel.data import take
    from rhel.training.config import TrainConfig
    from rhel.training.parallel import DataParallel
    from rhel.training.results import read_metrics
    from rhel.training.trainer import _adam, _fresh_state, gradient_method, load_splits, make_train_step, train_run

    cfg = TrainConfig(dataset="JapaneseVowels", model="linear", gradient="rhel", seeds=(7,), steps=6,
                      eval_every=3, batch_size=32, eval_batch_size=64, lr=3e-3, blocks=1, hidden=16,
                      state_size=8)
    splits = load_splits(cfg, 7)
    state = _fresh_state(cfg, 7, splits, _adam(cfg.lr), jnp.float32)
    x, y, m = take(splits.train, np.arange(32))
    step = make_train_step(_adam(cfg.lr), gradient_method(cfg))  # the step train_run uses (cached)
    out = {}
    for name, dp in (("one", DataParallel(jax.devices()[:1])), ("two", DataParallel())):
        xb, yb, mb = dp.batch(x, y, m)
        new, loss, metric, finite = step(dp.replicate(state), xb, yb, mb, jnp.asarray(0, jnp.int32))
        # after one Adam step from zero moments, mu = (1 - b1) * gradient = 0.1 * gradient
        g = [np.asarray(l, np.float64).ravel() / 0.1 for l in jax.tree_util.tree_leaves(new.opt_state[0].mu)]
        res = train_run(cfg, 7, sys.argv[1] + "/" + name, parallel=dp, stream=io.StringIO())
        rows = read_metrics(sys.argv[1] + "/" + name + "/JapaneseVowels/linear/rhel/seed7/metrics.csv")
        out[name] = dict(shards=len(xb.sharding.device_set), loss=float(loss), grad=np.concatenate(g).tolist(),
                         devices=res["devices"], test=res["test_metric"], best_val=res["best_val_metric"],
                         train_loss=[r["train_loss"] for r in rows], val_loss=[r["val_loss"] for r in rows])
    print(json.dumps(out))
    """
)


def test_two_devices_match_one(tmp_path):
    import numpy as np

    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=2", "JAX_PLATFORMS": "cpu"}
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path)], capture_output=True,
                          text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    one, two = out["one"], out["two"]
    assert (one["shards"], two["shards"], one["devices"], two["devices"]) == (1, 2, 1, 2)
    assert two["loss"] == pytest.approx(one["loss"], rel=1e-5)
    g1, g2 = np.array(one["grad"]), np.array(two["grad"])
    assert np.linalg.norm(g1) > 0
    assert np.linalg.norm(g2 - g1) <= 1e-4 * np.linalg.norm(g1)
    assert len(one["train_loss"]) == 2
    np.testing.assert_allclose(two["train_loss"], one["train_loss"], rtol=1e-4)
    np.testing.assert_allclose(two["val_loss"], one["val_loss"], rtol=1e-4)
    # whole runs: summation order may differ across devices, so at most one sample may flip
    assert two["best_val"] == pytest.approx(one["best_val"], abs=1.01 / 96)
    assert two["test"] == pytest.approx(one["test"], abs=1.01 / 96)


def test_distributed_flags_are_checked():
    initialize_distributed(None, None, None)  # single host: nothing to do
    with pytest.raises(RHELError, match="--coordinator"):
        initialize_distributed(None, 2, 0)
    with pytest.raises(RHELError, match="--num-processes"):
        initialize_distributed("localhost:1234", None, None)
    # checked before JAX sees them (JAX would raise a traceback, or wait for processes that never come)
    for n, i in ((2, 5), (0, 0), (2, -1)):
        with pytest.raises(RHELError, match=rf"--num-processes {n} --process-id {i}: need N ≥ 1 and 0 ≤ I < N"):
            initialize_distributed("localhost:1234", n, i)
    for address in ("localhost", "localhost:port", ":1234"):
        with pytest.raises(RHELError, match="expected HOST:PORT"):
            initialize_distributed(address, 2, 0)


MULTIHOST = textwrap.dedent(
    """
    import io, json, sys
    import jax
    port, pid, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    from rhel.training.parallel import initialize_distributed
    initialize_distributed(f"localhost:{port}", 2, pid)
    assert (jax.process_count(), len(jax.devices()), len(jax.local_devices())) == (2, 2, 1)
    from rhel.training.config import TrainConfig
    from rhel.training.trainer import train_run
    cfg = TrainConfig(**json.loads(sys.argv[4]))
    res = train_run(cfg, 7, out, stream=io.StringIO())
    print(json.dumps({k: res[k] for k in ("test_loss", "test_metric", "best_val_metric", "devices", "processes")}))
    """
)


def test_two_processes_through_jax_distributed_match_one_device(tmp_path):
    """Two hosts (here: two processes with one CPU device each) train and evaluate like one device."""
    import io
    import socket

    from rhel.training.config import TrainConfig
    from rhel.training.parallel import DataParallel
    from rhel.training.trainer import train_run

    import jax

    cfg = TrainConfig(dataset="JapaneseVowels", model="linear", gradient="bptt", seeds=(7,), steps=2,
                      eval_every=2, batch_size=32, eval_batch_size=96, lr=3e-3, blocks=1, hidden=16,
                      state_size=8)
    with socket.socket() as s:
        s.bind(("localhost", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    env.pop("XLA_FLAGS", None)
    procs = [subprocess.Popen([sys.executable, "-c", MULTIHOST, str(port), str(pid), str(tmp_path / "two"),
                               json.dumps(cfg.to_dict())], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=env) for pid in (0, 1)]
    outs = []
    try:
        for p in procs:
            out, err = p.communicate(timeout=300)
            assert p.returncode == 0, err[-3000:]
            outs.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    one = train_run(cfg, 7, tmp_path / "one", parallel=DataParallel(jax.devices()[:1]), stream=io.StringIO())
    for two in outs:
        assert (two["devices"], two["processes"]) == (2, 2)
        assert two["test_loss"] == pytest.approx(one["test_loss"], rel=1e-4)
        assert two["test_metric"] == pytest.approx(one["test_metric"], abs=1.01 / 96)
    assert (tmp_path / "two" / "JapaneseVowels" / "linear" / "bptt" / "seed7" / "results.json").exists()
