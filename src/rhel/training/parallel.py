"""Data parallelism with JAX sharding: one batch split across all devices, parameters replicated.

The parameters, optimiser and batch-norm state are replicated over a 1-D device mesh (axis ``"data"``);
each batch is split along its first axis. The training step is an ordinary ``jit``-compiled function:
XLA's SPMD partitioner inserts the cross-device reductions (the batch mean of the loss, the batch-norm
statistics, the gradient all-reduce), so the result is that of one device on the whole batch, up to the
order of floating-point summation. Several hosts join through :func:`jax.distributed.initialize`; each
process then feeds its own slice of the global batch.
"""

from __future__ import annotations

import numpy as np

from rhel.errors import RHELError


def initialize_distributed(coordinator: str | None, num_processes: int | None, process_id: int | None):
    """Join a multi-host run (no-op unless a coordinator address is given)."""
    if coordinator is None:
        if num_processes not in (None, 1) or process_id not in (None, 0):
            raise RHELError(
                "--num-processes/--process-id need --coordinator HOST:PORT (the address of process 0)."
            )
        return
    if num_processes is None or process_id is None:
        raise RHELError("--coordinator needs --num-processes N and --process-id I (0 ≤ I < N) on every host.")
    if num_processes < 1 or not 0 <= process_id < num_processes:
        raise RHELError(
            f"--num-processes {num_processes} --process-id {process_id}: need N ≥ 1 and 0 ≤ I < N "
            "(process 0 runs at the --coordinator address)."
        )
    host, _, port = coordinator.rpartition(":")
    if not host or not port.isdigit():
        raise RHELError(f"--coordinator {coordinator!r}: expected HOST:PORT, e.g. 10.0.0.1:12355.")
    import jax

    jax.distributed.initialize(coordinator_address=coordinator, num_processes=num_processes,
                               process_id=process_id)


class DataParallel:
    """Place pytrees on a mesh of all devices (global: every process's local devices).

    Args:
        devices: the devices to use (default: ``jax.devices()``).
    """

    def __init__(self, devices=None):
        import jax
        from jax.sharding import Mesh, NamedSharding, PartitionSpec

        self.devices = list(devices if devices is not None else jax.devices())
        self.mesh = Mesh(np.array(self.devices), ("data",))
        self.replicated = NamedSharding(self.mesh, PartitionSpec())
        self.split = NamedSharding(self.mesh, PartitionSpec("data"))
        self.num_processes = jax.process_count()
        self.process_index = jax.process_index()

    @property
    def size(self) -> int:
        return len(self.devices)

    def replicate(self, tree):
        """Copy every array leaf of ``tree`` to all devices."""
        import equinox as eqx
        import jax

        arrays, static = eqx.partition(tree, eqx.is_array)
        arrays = jax.device_put(arrays, self.replicated)
        return eqx.combine(arrays, static)

    def batch(self, *arrays: np.ndarray):
        """Split host arrays (same global batch on every process) along axis 0 across the devices.

        A batch whose size is not a multiple of the device count (the last batch of an epoch) is
        replicated instead: same result, without the parallel speed-up for that one batch.
        """
        import jax

        n = len(arrays[0])
        if self.size == 1 or n % self.size:
            if self.num_processes > 1:
                return tuple(self._global(a, self.replicated, slice(None)) for a in arrays)
            return tuple(jax.device_put(a, self.replicated) for a in arrays)
        if self.num_processes > 1:
            per = n // self.num_processes
            local = slice(self.process_index * per, (self.process_index + 1) * per)
            return tuple(self._global(a, self.split, local) for a in arrays)
        return tuple(jax.device_put(a, self.split) for a in arrays)

    @staticmethod
    def _global(a, sharding, local):
        import jax

        return jax.make_array_from_process_local_data(sharding, a[local], a.shape)
