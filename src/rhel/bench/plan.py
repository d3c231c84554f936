"""Which configurations a ``rhel bench`` run measures: shape presets and the run order."""

from __future__ import annotations

from typing import Any, Sequence

from rhel.bench.config import METHODS, MODELS, Config
from rhel.errors import RHELError

#: Named model shapes (the paper's hyperparameters for these data sets) and their default lengths.
SHAPES: dict[str, dict[str, Any]] = {
    "eigenworms": dict(batch=4, blocks=2, hidden=64, state=16, d_in=6, classes=5),
    "scp1": dict(batch=32, blocks=6, hidden=64, state=256, d_in=7, classes=2),
}
DEFAULT_LENGTHS: dict[str, tuple[int, ...]] = {
    "eigenworms": (1000, 2000, 4000, 8000, 18000, 50000),
    "scp1": (896,),
    "engine": (20000,),
}
DEFAULT_METHODS: dict[str, tuple[str, ...]] = {
    "hssm": ("forward", "bptt", "rhel"),
    "engine": METHODS["engine"],
}


def parse_list(text: str, *, name: str, cast=str) -> list:
    """Split a comma-separated option value; raise an RHELError naming the option on bad items."""
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise RHELError(f"--{name} is empty; give a comma-separated list, e.g. --{name} 1000,4000.")
    try:
        return [cast(t) for t in items]
    except ValueError as e:
        raise RHELError(f"--{name}: cannot read {text!r} as a comma-separated list of {cast.__name__}.") from e


def _refuse_duplicates(flag: str, values: Sequence) -> None:
    seen = set()
    for value in values:
        if value in seen:
            raise RHELError(f"{flag} lists {value} twice; give each value once.")
        seen.add(value)


def plan(
    suite: str,
    *,
    models: Sequence[str],
    methods: Sequence[str],
    lengths: Sequence[int],
    **fields: Any,
) -> list[Config]:
    """All configurations of a run, length by length so that slow drifts of the machine hit all methods.

    ``fields`` are the other :class:`~rhel.bench.config.Config` fields (shape, repeats, ε, ...). The
    engine suite has no model, so ``models`` is ignored there. A method or length given twice is refused
    (it would be measured twice, and one model and length's interleaved timing needs each method once).
    """
    _refuse_duplicates("--methods", methods)
    _refuse_duplicates("--lengths", lengths)
    for m in methods:
        if m not in METHODS[suite]:
            raise RHELError(
                f"--methods: {m!r} is not a method of the {suite} suite; choose from "
                f"{', '.join(METHODS[suite])}."
            )
    for m in models:
        if m not in MODELS:
            raise RHELError(f"--model: unknown model {m!r}; choose linear, nonlinear or both.")
    models = list(models) if suite == "hssm" else ["linear"]
    return [
        Config(suite=suite, method=method, model=model, length=length, **fields)
        for length in lengths
        for model in models
        for method in methods
    ]
