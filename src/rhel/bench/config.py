"""One benchmark configuration: what a single fresh worker process measures.

A :class:`Config` is plain data (no JAX arrays) so that the parent process can build the list of runs,
send each one to a worker as JSON and read the result back without running any JAX computation itself.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

from rhel.argcheck import is_integer, positive_integer
from rhel.errors import RHELError

#: Gradient methods of each suite. ``forward`` is the loss alone (no gradient).
HSSM_METHODS: tuple[str, ...] = ("forward", "bptt", "bptt_checkpoint", "rhel")
ENGINE_METHODS: tuple[str, ...] = (
    "forward",
    "bptt",
    "bptt_checkpoint",
    "rhel",
    "diffrax_sie",
    "diffrax_heun_backsolve",
)
METHODS: dict[str, tuple[str, ...]] = {"hssm": HSSM_METHODS, "engine": ENGINE_METHODS}
MODELS: tuple[str, ...] = ("linear", "nonlinear")

#: What each method is, for tables and plots.
METHOD_LABELS: dict[str, str] = {
    "forward": "forward only",
    "bptt": "BPTT (jax.grad through lax.scan)",
    "bptt_checkpoint": "BPTT, step under jax.checkpoint",
    "rhel": "RHEL (two echoes)",
    "diffrax_sie": "Diffrax SemiImplicitEuler, checkpointed adjoint",
    "diffrax_heun_backsolve": "Diffrax Heun, BacksolveAdjoint",
}


@dataclass(frozen=True)
class Config:
    """Everything one worker needs to build and time one training step.

    Attributes:
        suite: ``"hssm"`` (a Hamiltonian SSM training step) or ``"engine"`` (the generic engine on a
            driven system of coupled nonlinear oscillators, gradient w.r.t. all parameters).
        method: one of :data:`METHODS` ``[suite]``.
        model: ``"linear"`` or ``"nonlinear"`` HRU (HSSM suite; ignored by the engine suite).
        length: sequence length L.
        batch: sequences per step (HSSM suite; the engine suite runs one sequence).
        blocks: HSSM blocks.
        hidden: HSSM width H.
        state: HRU state size P (both suites).
        d_in: input channels (HSSM suite).
        classes: output classes (HSSM suite).
        repeats: timed steps after warm-up (the median is reported).
        warmup: untimed steps after compilation.
        epsilon: RHEL's ε.
        seed: PRNG seed for weights and data.
    """

    suite: str = "hssm"
    method: str = "rhel"
    model: str = "linear"
    length: int = 1000
    batch: int = 4
    blocks: int = 2
    hidden: int = 64
    state: int = 16
    d_in: int = 6
    classes: int = 5
    repeats: int = 5
    warmup: int = 1
    epsilon: float = 0.1
    seed: int = 0

    def __post_init__(self):
        if self.suite not in METHODS:
            raise RHELError(f"unknown suite {self.suite!r}; choose one of {sorted(METHODS)}.")
        if self.method not in METHODS[self.suite]:
            raise RHELError(
                f"method {self.method!r} is not available in the {self.suite} suite; "
                f"choose from {', '.join(METHODS[self.suite])}."
            )
        if self.model not in MODELS:
            raise RHELError(f"unknown model {self.model!r}; choose 'linear' or 'nonlinear'.")
        # NumPy integers are stored as ints: the configuration travels to its worker as JSON.
        for name in ("length", "batch", "blocks", "hidden", "state", "d_in", "classes", "repeats"):
            object.__setattr__(self, name, positive_integer(name, getattr(self, name)))
        if not (is_integer(self.warmup) and self.warmup >= 0):
            raise RHELError(f"warmup must be a non-negative integer, got {self.warmup!r}.")
        object.__setattr__(self, "warmup", int(self.warmup))

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "Config":
        try:
            fields = json.loads(text)
        except json.JSONDecodeError as e:
            raise RHELError(f"a benchmark configuration must be a JSON object: {e}") from e
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(fields) - known)
        if unknown:
            raise RHELError(f"unknown benchmark configuration fields {unknown}; known: {sorted(known)}.")
        return cls(**fields)
