"""Typed training configurations: one JSON file per data set × model, every field checked and honoured.

A configuration is a frozen :class:`TrainConfig`. It is read from JSON (numbers as numbers, never strings;
no code is evaluated), every field can be overridden from the command line, and bad input — an unknown
field, a value of the wrong type, an out-of-range number — raises :class:`~rhel.errors.RHELError` naming
the field and the fix. The shipped configurations (``rhel/configs/<dataset>-<model>.json``) hold the
hyperparameters of the paper's published runs (RHEL-SPEC §6).
"""

from __future__ import annotations

import dataclasses
import json
import typing
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from rhel.errors import RHELError

#: The paper's five seeds (RHEL-SPEC §6).
PAPER_SEEDS: tuple[int, ...] = (2345, 3456, 4567, 5678, 6789)


def _field(default, help: str, **kw):
    return dataclasses.field(default=default, metadata={"help": help}, **kw)


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run (one run per seed)."""

    dataset: str = _field("ACSF1", "data set name, as accepted by rhel.data.load")
    model: Literal["linear", "nonlinear"] = _field("linear", "Hamiltonian recurrent unit of the HSSM")
    gradient: Literal["rhel", "bptt"] = _field("rhel", "gradient method: echo learning or backprop")
    seeds: tuple[int, ...] = _field(PAPER_SEEDS, "one run per seed (init, dropout, split, batch order)")
    steps: int = _field(100_000, "maximum number of optimiser steps")
    eval_every: int = _field(1000, "validate every N steps")
    patience: int = _field(10, "stop after N validations without a strict improvement")
    batch_size: int = _field(32, "training batch size (split across devices)")
    eval_batch_size: int = _field(64, "batch size of validation and test passes")
    lr: float = _field(1e-4, "Adam learning rate (constant)")
    blocks: int = _field(2, "number of HSSM blocks")
    hidden: int = _field(64, "hidden width H of each block")
    state_size: int = _field(16, "number of oscillators P of each HRU")
    dropout: float = _field(0.05, "dropout rate in each block")
    time_channel: bool = _field(False, "append a normalised time channel to the inputs")
    length: int | None = _field(None, "sequence length of the synthetic tasks recall and adding (null: their "
                                "default); a real data set keeps its stored length and refuses this setting")
    output_step: int | None = _field(None, "regression only: one output every N steps, which must be the data "
                                     "set's own target spacing (null: the data set's own)")
    epsilon: float = _field(0.1, "RHEL nudge strength ε")
    nudge: Literal["relative", "absolute"] = _field("relative", "RHEL nudge convention")
    split: Literal["paper", "official"] = _field("paper", "data split: seeded 70/15/15 or the official one")
    impute: bool = _field(False, "impute missing values instead of rejecting them")
    x64: bool = _field(False, "train in float64 (default float32)")
    checkpoint_every: int | None = _field(
        None, "also write the last checkpoint every N steps (null: at every validation)"
    )
    unit: dict[str, Any] = _field(None, "extra keyword arguments of the recurrent unit")

    def __post_init__(self):
        if self.unit is None:
            object.__setattr__(self, "unit", {})
        for f in dataclasses.fields(self):
            object.__setattr__(self, f.name, _coerce(f.name, getattr(self, f.name), _hints()[f.name]))
        _check_ranges(self)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (tuples become lists)."""
        d = dataclasses.asdict(self)
        d["seeds"] = list(self.seeds)
        return d

    def replace(self, **changes) -> "TrainConfig":
        """A copy with some fields changed (checked like the constructor)."""
        unknown = sorted(set(changes) - set(field_names()))
        if unknown:
            raise _unknown(unknown, "override")
        return dataclasses.replace(self, **changes)


def field_names() -> list[str]:
    return [f.name for f in dataclasses.fields(TrainConfig)]


def field_help(name: str) -> str:
    return {f.name: f.metadata["help"] for f in dataclasses.fields(TrainConfig)}[name]


def _hints() -> dict[str, Any]:
    return typing.get_type_hints(TrainConfig)


def field_type(name: str):
    """The declared type of a field (used to parse command-line overrides)."""
    return _hints()[name]


def _unknown(names, where) -> RHELError:
    return RHELError(
        f"unknown config field(s) {', '.join(map(repr, names))} in {where}; "
        f"valid fields are: {', '.join(field_names())}."
    )


def _type_name(tp) -> str:
    origin = typing.get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        return " or ".join(_type_name(a) for a in typing.get_args(tp))
    if origin is tuple:
        return f"a list of {_type_name(typing.get_args(tp)[0])}"
    if origin is dict:
        return "an object"
    return {int: "an integer", float: "a number", bool: "true/false", str: "a string",
            type(None): "null"}.get(tp, str(tp))


def _coerce(name: str, value: Any, tp) -> Any:
    """Check ``value`` against the field type; convert only losslessly (int → float, list → tuple)."""
    bad = RHELError(
        f"config field {name!r} = {value!r} has the wrong type: it must be {_type_name(tp)} "
        f"({field_help(name)}); write it as a JSON value of that type."
    )
    origin = typing.get_origin(tp)
    if origin is Literal:
        if value not in typing.get_args(tp):
            raise bad
        return value
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        for a in args:
            if a is type(None):
                continue
            try:
                return _coerce(name, value, a)
            except RHELError:
                pass
        raise bad
    if origin is tuple:
        if isinstance(value, (int,)) and not isinstance(value, bool):
            value = [value]
        if not isinstance(value, (list, tuple)) or not value:
            raise bad
        return tuple(_coerce(name, v, typing.get_args(tp)[0]) for v in value)
    if origin is dict:
        if not isinstance(value, dict):
            raise bad
        return dict(value)
    if tp is bool:
        if not isinstance(value, bool):
            raise bad
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad
        return float(value)
    if tp is str:
        if not isinstance(value, str) or not value:
            raise bad
        return value
    raise bad  # pragma: no cover - every declared type is handled above


def _check_ranges(c: TrainConfig) -> None:
    positive = ["steps", "eval_every", "patience", "batch_size", "eval_batch_size", "blocks", "hidden",
                "state_size"]
    for name in positive:
        if getattr(c, name) <= 0:
            raise RHELError(f"config field {name!r} = {getattr(c, name)} must be > 0 ({field_help(name)}).")
    for name in ("length", "output_step", "checkpoint_every"):
        v = getattr(c, name)
        if v is not None and v <= 0:
            raise RHELError(f"config field {name!r} = {v} must be > 0 or null ({field_help(name)}).")
    if not (c.lr > 0 and c.lr < float("inf")):
        raise RHELError(f"config field 'lr' = {c.lr} must be a finite number > 0 (typical: 1e-5 to 1e-3).")
    if not 0 <= c.dropout < 1:
        raise RHELError(f"config field 'dropout' = {c.dropout} must be in [0, 1).")
    if not (c.epsilon > 0 and c.epsilon < float("inf")):
        raise RHELError(f"config field 'epsilon' = {c.epsilon} must be a finite number > 0 (the paper: 0.1).")
    bad = [s for s in c.seeds if not 0 <= s < 2**32]
    if bad:
        raise RHELError(f"config field 'seeds' holds {bad}: seeds must be integers in [0, 2**32) (larger ones "
                        "would wrap around in JAX's 32-bit PRNG key and repeat another seed's run).")
    if len(set(c.seeds)) != len(c.seeds):
        raise RHELError(f"config field 'seeds' = {list(c.seeds)} repeats a seed; list each seed once.")


def from_dict(d: dict[str, Any], *, where: str = "config") -> TrainConfig:
    """Build a config from a dict, rejecting unknown fields by name."""
    if not isinstance(d, dict):
        raise RHELError(f"{where} must be a JSON object of config fields, got {type(d).__name__}.")
    unknown = sorted(set(d) - set(field_names()))
    if unknown:
        raise _unknown(unknown, where)
    return TrainConfig(**d)


def load_config(path: str | Path) -> TrainConfig:
    """Read a JSON configuration file."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as e:
        raise RHELError(f"cannot read config {str(path)!r} ({e.strerror}); check the --config path.") from None
    try:
        d = json.loads(text)
    except json.JSONDecodeError as e:
        raise RHELError(f"config {str(path)!r} is not valid JSON (line {e.lineno}: {e.msg}).") from None
    return from_dict(d, where=f"config {str(path)!r}")


def shipped_configs() -> list[str]:
    """Names (``<dataset>-<model>``) of the configurations shipped with the package."""
    files = resources.files("rhel") / "configs"
    return sorted(p.name[: -len(".json")] for p in files.iterdir() if p.name.endswith(".json"))


def shipped_config(dataset: str, model: str) -> TrainConfig | None:
    """The shipped configuration of ``dataset`` × ``model``, or None if there is none."""
    name = f"{dataset}-{model}"
    lower = {n.lower(): n for n in shipped_configs()}
    if name.lower() not in lower:
        return None
    ref = resources.files("rhel") / "configs" / f"{lower[name.lower()]}.json"
    d = json.loads(ref.read_text())
    return from_dict(d, where=f"shipped config {lower[name.lower()]}.json")


def resolve(
    *, config_path: str | Path | None = None, overrides: dict[str, Any] | None = None
) -> TrainConfig:
    """The configuration of a run: file (or the shipped one for the data set and model) + overrides.

    Precedence: command-line overrides > the ``--config`` file > the shipped config of
    ``(dataset, model)`` > the defaults of :class:`TrainConfig`.
    """
    overrides = dict(overrides or {})
    if config_path is not None:
        base = load_config(config_path)
    else:
        dataset = overrides.get("dataset", TrainConfig.dataset)
        model = overrides.get("model", TrainConfig.model)
        base = shipped_config(dataset, model) or TrainConfig(dataset=dataset, model=model)
    return base.replace(**overrides)
