"""``rhel bench``: time and peak memory of one training step, forward only vs BPTT vs RHEL.

Every configuration (suite, model, method, length) runs in a fresh Python process (see
:mod:`rhel.bench`), after compilation and warm-up, and reports the median of ``--repeats`` steps and the
process's peak RSS. The methods of each model and length are then timed once more together in one
process, interleaved round by round; the time ratios use those times, so that a machine whose speed
drifts over minutes (a shared host) does not decide them. Where that timing fails, they use the separate
processes' times (the ratio tables say which), and the run counts it as a failure (exit code 1, as for a
failed configuration). ``--suite hssm`` benchmarks the Hamiltonian SSMs; ``--suite engine`` benchmarks the
generic engine (``rhel.simulate`` on coupled nonlinear oscillators) against BPTT, BPTT with
``jax.checkpoint`` and two Diffrax adjoints.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys

from rhel.cli.checks import MAX_SEED

#: The benchmark's standard number of timed steps (the median of at least this many); fewer is measured
#: with a warning, recorded in the ``--json`` report.
STANDARD_REPEATS = 5

EPILOG = """examples:
  rhel bench --json bench.json --plot bench.png            # both HSSMs, EigenWorms shape, L = 1k..50k
  rhel bench --shape scp1                                  # SCP1 shape (batch 32, 6 blocks, P=256), L = 896
  rhel bench --suite engine --state 256                    # generic engine vs BPTT/checkpoint/Diffrax
"""


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "bench",
        help="time and peak memory of a training step: forward only, BPTT, RHEL",
        description=__doc__.split("\n\n")[0].split(": ", 1)[1],
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--suite", choices=("hssm", "engine"), default="hssm",
                   help="hssm: the Hamiltonian SSMs (default); engine: rhel.simulate vs the digital peers")
    p.add_argument("--model", choices=("linear", "nonlinear", "both"), default="both",
                   help="which HSSM (hssm suite; default both)")
    p.add_argument("--methods", default=None,
                   help="comma-separated; hssm: forward,bptt,bptt_checkpoint,rhel (default forward,bptt,rhel); "
                        "engine: forward,bptt,bptt_checkpoint,rhel,diffrax_sie,diffrax_heun_backsolve (default all)")
    p.add_argument("--shape", choices=("eigenworms", "scp1"), default="eigenworms",
                   help="model shape preset (hssm suite): eigenworms = batch 4, 2 blocks, H=64, P=16; "
                        "scp1 = batch 32, 6 blocks, H=64, P=256")
    p.add_argument("--lengths", default=None,
                   help="comma-separated sequence lengths (default: 1000,...,50000 for eigenworms, 896 for "
                        "scp1, 20000 for the engine suite)")
    p.add_argument("--batch", type=int, help="sequences per step (overrides --shape)")
    p.add_argument("--blocks", type=int, help="HSSM blocks (overrides --shape)")
    p.add_argument("--hidden", type=int, help="HSSM width H (overrides --shape)")
    p.add_argument("--state", type=int, help="state size P (overrides --shape; engine suite default 32)")
    p.add_argument("--repeats", type=int, default=STANDARD_REPEATS,
                   help=f"timed steps after warm-up (median reported; default {STANDARD_REPEATS}, the benchmark's "
                        "standard: fewer is allowed for a quick look, with a warning)")
    p.add_argument("--warmup", type=int, default=1, help="untimed steps after compilation (default 1)")
    p.add_argument("--no-interleave", dest="interleave", action="store_false",
                   help="skip the extra process per model and length that times its methods interleaved, "
                        "round by round (used for the time ratios: the machine's drift cancels)")
    p.add_argument("--epsilon", type=float, default=0.1, help="RHEL's nudge strength (default 0.1)")
    p.add_argument("--seed", type=int, default=0, help=f"seed of the weights and data, 0 to {MAX_SEED} (default 0)")
    p.add_argument("--timeout", type=float, default=3600.0, help="seconds per configuration (default 3600)")
    p.add_argument("--json", metavar="PATH", help="write every result, the ratios and the machine to PATH "
                   "(rewritten after each configuration, so an interrupted run keeps what it measured; "
                   '"complete" says whether all were)')
    p.add_argument("--plot", metavar="PATH", help="write a log-log plot of time and memory against L "
                   "(.png, .pdf or .svg: the suffix names the format)")
    p.set_defaults(func=run)


def _check_args(args) -> None:
    """Check the numbers and output paths before any measurement (one-line errors naming the flag), so that
    a run is never lost to a bad value at its end."""
    from rhel.argcheck import positive_integer, positive_real
    from rhel.cli.checks import report_outputs, require_non_negative, require_seed

    for name in ("repeats", "batch", "blocks", "hidden", "state"):
        if getattr(args, name) is not None:
            positive_integer(f"--{name}", getattr(args, name))
    require_non_negative("--warmup", args.warmup)
    positive_real("--timeout", args.timeout)
    positive_real("--epsilon", args.epsilon)
    require_seed("--seed", args.seed)
    report_outputs(args, json_example="bench.json")


def _check_lengths(lengths) -> None:
    """Refuse a length < 1, naming --lengths (``1,000`` reads as the lengths 1 and 0)."""
    from rhel.errors import RHELError

    for length in lengths:
        if length < 1:
            raise RHELError(f"--lengths must be positive integers, got {length}; commas separate the lengths, so "
                            "write 1000, not 1,000.")


def _configs(args):
    from rhel.bench.plan import DEFAULT_LENGTHS, DEFAULT_METHODS, SHAPES, parse_list, plan

    _check_args(args)
    shape = dict(SHAPES[args.shape])
    if args.suite == "engine":
        shape["state"] = 32
    for name in ("batch", "blocks", "hidden", "state"):
        if getattr(args, name) is not None:
            shape[name] = getattr(args, name)
    default_lengths = DEFAULT_LENGTHS["engine" if args.suite == "engine" else args.shape]
    lengths = (
        parse_list(args.lengths, name="lengths", cast=int) if args.lengths is not None else default_lengths
    )
    _check_lengths(lengths)
    methods = (
        parse_list(args.methods, name="methods") if args.methods is not None else DEFAULT_METHODS[args.suite]
    )
    models = ("linear", "nonlinear") if args.model == "both" else (args.model,)
    return plan(
        args.suite,
        models=models,
        methods=methods,
        lengths=lengths,
        repeats=args.repeats,
        warmup=args.warmup,
        epsilon=args.epsilon,
        seed=args.seed,
        **shape,
    )


def _command(args) -> str:
    """The command that was parsed, as one line: ``rhel bench`` and every option whose value differs from
    its default (``main([...])`` from Python records its own options this way too, not ``sys.argv``)."""
    parser = argparse.ArgumentParser(prog="rhel")
    register(parser.add_subparsers(dest="command"))
    defaults = vars(parser.parse_args(["bench"]))
    words = ["rhel", "bench"]
    for dest, default in defaults.items():
        value = getattr(args, dest, default)
        if dest in ("command", "func") or value == default:
            continue
        if dest == "interleave":
            words.append("--no-interleave")
        else:
            words += [f"--{dest.replace('_', '-')}", shlex.quote(str(value))]
    return " ".join(words)


def _warnings(args) -> list[str]:
    """What makes this run fall short of the benchmark's standard (printed before measuring, kept in
    ``--json``)."""
    if args.repeats < STANDARD_REPEATS:
        return [f"--repeats {args.repeats} is below the benchmark's standard of {STANDARD_REPEATS} (the median "
                f"of at least {STANDARD_REPEATS} timed steps); its times are a quick look, not a measurement."]
    return []


def _report(command: str, machine: dict, results: list, planned: int, *, complete: bool,
            warnings: list[str]) -> dict:
    """The ``--json`` content: the command, the machine, the warnings, the results so far and their ratios;
    ``complete`` says whether all ``planned`` configurations were measured."""
    from rhel.bench.report import ratios

    return {"command": command, "machine": machine, "warnings": warnings, "complete": complete,
            "planned": planned, "measured": len(results), "results": results, "ratios": ratios(results)}


def run(args) -> int:
    from rhel.atomic import atomic_write_text
    from rhel.bench.report import format_ratios, format_summary, format_table, label, ratios
    from rhel.bench.runner import machine_info, run_all

    configs = _configs(args)
    command = _command(args)
    warnings = _warnings(args)
    for warning in warnings:
        print(f"rhel bench: warning: {warning}", file=sys.stderr, flush=True)
    machine = machine_info()
    print(f"rhel bench: {len(configs)} configurations, each in a fresh process, on {machine['cpu']} "
          f"({machine['cpus']} CPUs), load average {machine['load_average']}", flush=True)
    measured: list = []  # the results so far, in order; the interleaved times are added to them in place

    def save(results: list, complete: bool = False) -> None:
        """Rewrite --json (atomically) with ``results``, the configurations measured so far."""
        if args.json:
            report = _report(command, machine, results, len(configs), complete=complete, warnings=warnings)
            atomic_write_text(args.json, json.dumps(report, indent=2) + "\n")

    def progress(r):
        measured.append(r)
        save(measured)
        c = r["config"]
        what = f"  {label(c):34s} L={c['length']:<6d}"
        if "error" in r:
            print(f"{what} failed: {r['error'].splitlines()[0]}", flush=True)
        else:
            warning = "" if r["finite"] else "  (the step produced non-finite values)"
            buffers = "" if r.get("buffers_mb") is None else f"  {r['buffers_mb']:8.1f} MB of XLA buffers"
            print(f"{what} {r['time_s']:9.4f} s  {r['peak_rss_mb']:7.0f} MB peak RSS{buffers}{warning}",
                  flush=True)

    def interleaved(group):
        save(measured)
        c = group[0]["config"]
        head = f"  {label(c).split('/')[0] + ' interleaved':34s} L={c['length']:<6d}"
        if "interleaved_error" in group[0]:
            print(f"{head} failed: {group[0]['interleaved_error'].splitlines()[0]}", flush=True)
        else:
            times = ", ".join(f"{r['config']['method']} {r['interleaved_time_s']:.4f} s" for r in group)
            print(f"{head} {times}", flush=True)

    try:
        results = run_all(configs, timeout=args.timeout, on_result=progress, interleave=args.interleave,
                          on_group=interleaved)
    except KeyboardInterrupt:
        if args.json and measured:
            print(f"rhel bench: {len(measured)} of {len(configs)} configurations measured before the "
                  f"interrupt are in {args.json} (\"complete\": false)", file=sys.stderr)
        raise
    rows = ratios(results)
    print()
    print(format_table(results))
    if rows:
        print()
        print(format_ratios(rows))
        print()
        print(format_summary(results))
    machine["load_average_end"] = machine_info()["load_average"]
    save(results, complete=True)
    if args.plot:
        from rhel.bench.plot import plot_results

        plot_results(results, args.plot, title=f"{command}  —  {machine['cpu']}, {machine['cpus']} CPUs")
    failed = sum("error" in r for r in results)
    if failed:
        print(f"rhel bench: {failed} of {len(results)} configurations failed (see above)", file=sys.stderr)
    groups = _interleaved_groups(results)
    interleaved_failed = sum(groups.values())
    if interleaved_failed:
        print(f"rhel bench: the interleaved timing of {interleaved_failed} of {len(groups)} model-and-length "
              "groups failed (see above); their time ratios use the separate processes' times",
              file=sys.stderr)
    return 1 if failed or interleaved_failed else 0


def _interleaved_groups(results: list) -> dict:
    """Whether each model and length whose methods were timed interleaved failed that timing."""
    groups: dict = {}
    for r in results:
        if "interleaved_error" in r or "interleaved_time_s" in r:
            key = tuple(sorted((k, v) for k, v in r["config"].items() if k != "method"))
            groups[key] = groups.get(key, False) or "interleaved_error" in r
    return groups
