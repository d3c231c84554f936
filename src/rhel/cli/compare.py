"""``rhel compare``: the README's main job — RHEL and BPTT side by side on a real offline data set."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from rhel.cli.train import add_config_flags, config_overrides

#: Config fields that ``rhel compare`` exposes as flags.
COMPARE_FIELDS = ("dataset", "model", "steps", "eval_every", "patience", "batch_size", "eval_batch_size", "lr",
                  "blocks", "hidden", "state_size", "dropout", "epsilon", "nudge", "length", "time_channel",
                  "x64", "unit")
DEFAULT_DATASET = "ACSF1"


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "compare",
        help="train the linear HSSM with RHEL and with BPTT on ACSF1 and print them side by side",
        description="Train one HSSM twice, with RHEL and with BPTT (same seed, same split, same config), each "
        "in its own process, and print side by side: test accuracy, time per step, peak memory and the "
        "gradient agreement at initialisation. With no arguments: ACSF1 (shipped with aeon; 200 series of "
        "1,460 steps, 10 classes) and the linear HSSM of the shipped config ACSF1-linear.json, sized to "
        "finish in a few minutes on 2 CPU cores. Never prompts; a training that exceeds --timeout is stopped, "
        "and the same command with --resume continues an interrupted comparison.",
    )
    p.add_argument("--config", metavar="PATH", help="a JSON config (default: the shipped ACSF1-linear.json, "
                   "whose budget and model size also apply to any --dataset/--model given without --config)")
    p.add_argument("--seed", type=int, default=None, help="the seed of both runs (default: the config's first)")
    p.add_argument("--out", metavar="DIR", help="where the two runs go (default: a new temporary folder, kept)")
    p.add_argument("--resume", action="store_true", help="continue an interrupted comparison in --out: a "
                   "finished run is kept as it is, an unfinished or missing one is trained")
    p.add_argument("--timeout", type=float, default=1800.0, metavar="SECONDS",
                   help="stop the comparison after this long (default: 1800)")
    p.add_argument("--print-config", action="store_true", help="print the resolved config and exit")
    p.add_argument("--no-gradient-check", dest="gradient_check", action="store_false",
                   help="skip the float64 gradient comparison at initialisation")
    add_config_flags(p.add_argument_group("config fields (override the config)"), only=COMPARE_FIELDS)
    p.set_defaults(func=run)


def _check_args(args: argparse.Namespace) -> None:
    """Check the flags that are not config fields before any work (one-line errors naming the flag)."""
    from rhel.argcheck import positive_real
    from rhel.cli.checks import output_folder, require_non_negative
    from rhel.errors import RHELError

    positive_real("--timeout", args.timeout)
    if args.seed is not None:
        require_non_negative("--seed", args.seed)
    if args.resume and args.out is None:
        raise RHELError("--resume continues the comparison in --out DIR; give the --out folder of the "
                        "interrupted comparison.")
    if args.out is not None:
        output_folder("--out", args.out)


def _resume_hint(config, seed: int, out: Path) -> None:
    """After a comparison stopped early: say how to continue the runs it left in ``out``, if any."""
    from rhel.training.compare import started_runs

    if out.is_dir() and started_runs(config, seed, out):
        print(f"rhel compare: the runs so far are kept in {out}; add `--out {out} --resume` to the same "
              "command to continue them.", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    from rhel.training import config as C
    from rhel.training.compare import check_fresh, compare

    _check_args(args)
    overrides = config_overrides(args, COMPARE_FIELDS)
    if args.config is None:  # the compare budget of ACSF1-linear.json, whatever the data set and model
        config = C.shipped_config(DEFAULT_DATASET, "linear").replace(**overrides)
    else:
        config = C.resolve(config_path=args.config, overrides=overrides)
    if args.print_config:
        print(json.dumps(config.to_dict(), indent=2))
        return 0
    seed = args.seed if args.seed is not None else config.seeds[0]
    if args.out is not None and not args.resume:
        check_fresh(config, seed, Path(args.out))  # refused before anything runs (compare checks it too)
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="rhel-compare-"))
    print(f"rhel compare: {config.dataset}, {config.model} HSSM, seed {seed}, {config.steps} steps; "
          f"runs in {out}", file=sys.stderr, flush=True)
    try:
        summary = compare(config, seed, out, timeout=args.timeout, stream=sys.stderr,
                          gradients=args.gradient_check, resume=args.resume)
    except BaseException:
        if args.out is None and not any(out.iterdir()):  # a failure before anything was written
            out.rmdir()  # leaves no empty folder behind
        else:
            _resume_hint(config, seed, out)
        raise
    print(summary["table"])
    print(f"\n(total {summary['total_s']:.0f} s; runs and compare.json in {out})")
    return 0
