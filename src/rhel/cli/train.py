"""``rhel train``: train an HSSM on a data set with RHEL or BPTT, one run per seed.

Every field of :class:`rhel.training.config.TrainConfig` is a flag (``--batch-size``, ``--lr``, ...;
``--seed`` for ``seeds``), so a shipped or ``--config`` file can be overridden field by field. Runs go to
``OUT/<dataset>/<model>/<gradient>/seed<S>/``; an existing run folder is an error unless ``--resume``.
"""

from __future__ import annotations

import argparse
import json
import sys
import typing

from rhel.errors import RHELError

#: Flags whose name differs from the config field.
FLAG_NAMES = {"seeds": "--seed"}
#: Fields placed first in --help, with their short descriptions.
MAIN_FIELDS = ("dataset", "model", "gradient", "seeds", "steps", "eval_every", "patience", "x64")


def _optional(parse, what):
    def f(text: str):
        if text.lower() in ("none", "null"):
            return None
        return parse(text)

    f.__name__ = what
    return f


def _json_object(text: str):
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise argparse.ArgumentTypeError(f"not valid JSON ({e.msg})") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("must be a JSON object, e.g. '{\"dt\": 0.001}'")
    return value


def add_config_flags(parser: argparse.ArgumentParser, *, only: typing.Iterable[str] | None = None) -> None:
    """Add one flag per config field (default: not given, so the config file's value is kept)."""
    from rhel.training import config as C

    names = list(only) if only is not None else (
        list(MAIN_FIELDS) + [n for n in C.field_names() if n not in MAIN_FIELDS])
    for name in names:
        tp, help_ = C.field_type(name), C.field_help(name)
        flag = FLAG_NAMES.get(name, "--" + name.replace("_", "-"))
        kw: dict = dict(dest=name, default=None, help=help_)
        origin, args = typing.get_origin(tp), typing.get_args(tp)
        if tp is bool:  # --flag / --no-flag, so a config file's true can be overridden too
            kw["action"] = argparse.BooleanOptionalAction
        elif origin is typing.Literal:
            kw["choices"] = list(args)
        elif origin is tuple:
            kw.update(type=int, nargs="+", metavar="S")
        elif origin is dict:
            kw.update(type=_json_object, metavar="JSON")
        elif type(None) in args:
            inner = next(a for a in args if a is not type(None))
            kw.update(type=_optional(inner, inner.__name__), metavar=inner.__name__.upper() + "|none")
        else:
            kw.update(type=tp, metavar=tp.__name__.upper() if tp is not str else "NAME")
        parser.add_argument(flag, **kw)


def config_overrides(args: argparse.Namespace, names: typing.Iterable[str] | None = None) -> dict:
    """The config fields given on the command line."""
    from rhel.training import config as C

    return {n: getattr(args, n) for n in (names or C.field_names())
            if getattr(args, n, None) is not None}


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "train",
        help="train an HSSM with RHEL or BPTT (Adam, early stopping, checkpoints, resume)",
        description="Train an HSSM on a data set with RHEL or BPTT, one run per seed. Every config field is "
        "a flag; runs go to OUT/<dataset>/<model>/<gradient>/seed<S>/ and an existing run folder is an error "
        "unless --resume (never a prompt).",
    )
    p.add_argument("--config", metavar="PATH", help="a JSON config (default: the shipped one of "
                   "<dataset>-<model>, if any; see rhel/configs/)")
    p.add_argument("--out", default="runs", metavar="DIR", help="output root folder (default: runs)")
    p.add_argument("--resume", action="store_true", help="continue unfinished runs in --out; finished ones "
                   "are kept as they are")
    p.add_argument("--print-config", action="store_true", help="print the resolved config and exit")
    p.add_argument("--bar", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bar (default: only on a terminal; plain log lines otherwise)")
    dist = p.add_argument_group("several hosts (jax.distributed)")
    dist.add_argument("--coordinator", metavar="HOST:PORT", help="address of process 0")
    dist.add_argument("--num-processes", type=int, metavar="N")
    dist.add_argument("--process-id", type=int, metavar="I")
    add_config_flags(p.add_argument_group("config fields (override the config file)"))
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rhel.cli.checks import output_folder
    from rhel.training import config as C

    config = C.resolve(config_path=args.config, overrides=config_overrides(args))
    if args.print_config:
        print(json.dumps(config.to_dict(), indent=2))
        return 0
    output_folder("--out", args.out)
    from rhel.training.parallel import initialize_distributed

    initialize_distributed(args.coordinator, args.num_processes, args.process_id)
    from rhel.training.trainer import train

    results = train(config, args.out, resume=args.resume, bar=args.bar)
    print(summary(results), file=sys.stdout)
    return 0


def summary(results: list[dict]) -> str:
    """One line per seed and the mean, as plain text."""
    if not results:
        raise RHELError("no run was trained; give at least one --seed.")
    r0 = results[0]
    lines = [f"{r0['dataset']} {r0['model']} {r0['gradient']}: test {r0['metric']} at the best validation step"]
    for r in results:
        lines.append(f"  seed {r['seed']}: {r['test_metric']:.4f} (best step {r['best_step']}, "
                     f"{r['steps_done']} steps, {r['wall_time_s']:.1f} s)")
    vals = [r["test_metric"] for r in results]
    if len(vals) > 1:
        import statistics

        lines.append(f"  mean ± std: {statistics.mean(vals):.4f} ± {statistics.stdev(vals):.4f}")
    return "\n".join(lines)
