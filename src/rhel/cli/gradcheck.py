"""``rhel gradcheck``: RHEL against BPTT on a whole HSSM (the paper's Fig. 4, with numbers).

Builds a model, takes one batch (the first ``--batch`` training sequences of ``--dataset``, of
``--length`` steps for the synthetic tasks, or synthetic sequences of ``--length`` steps), computes the
whole-model gradient by RHEL and by BPTT with the same dropout masks, and prints, per block and parameter,
the cosine similarity, the norm ratio ‖g_RHEL‖/‖g_BPTT‖ and the relative error ‖g_RHEL − g_BPTT‖/‖g_BPTT‖
(encoder = block −1, head = block N).
"""

from __future__ import annotations

import argparse
import json

from rhel.atomic import atomic_write_text

#: Synthetic sequence length without --dataset (SCP1's).
DEFAULT_LENGTH = 896


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "gradcheck",
        help="compare RHEL and BPTT gradients of a whole model, per block and parameter",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--model", choices=("linear", "nonlinear"), default="linear", help="HRU type")
    p.add_argument("--blocks", type=int, default=6, help="number of blocks (default 6)")
    p.add_argument("--hidden", type=int, default=64, help="hidden width H (default 64)")
    p.add_argument("--state", type=int, default=256, help="state size P (default 256)")
    p.add_argument("--dataset", default=None,
                   help="a data set known to rhel.data (e.g. BasicMotions, JapaneseVowels, recall); "
                        "default: synthetic data")
    p.add_argument("--time-channel", action="store_true", help="append the time channel (with --dataset)")
    p.add_argument("--length", type=int, default=None,
                   help=f"sequence length: of the synthetic data (default {DEFAULT_LENGTH}, SCP1) or of a "
                   "synthetic --dataset (recall, adding; default: theirs); a real data set keeps its own and "
                   "refuses this flag")
    p.add_argument("--channels", type=int, default=6, help="synthetic input channels (default 6, SCP1)")
    p.add_argument("--classes", type=int, default=2, help="synthetic classes (default 2, SCP1)")
    p.add_argument("--batch", type=int, default=1, help="sequences in the batch (default 1)")
    p.add_argument("--seed", type=int, default=0, help="seed of the model, the data and dropout (0 to 2**32 - 1)")
    p.add_argument("--epsilon", type=float, default=0.1, help="RHEL nudge strength (default 0.1)")
    p.add_argument("--dropout", type=float, default=0.05, help="dropout rate (default 0.05)")
    p.add_argument("--x64", action="store_true", help="compute in float64 (as the paper's figure)")
    p.add_argument("--json", metavar="PATH", help='write {"records": [...]} to PATH')
    p.add_argument("--plot", metavar="PATH", help="write a bar chart of cosine and norm ratio (.png, .pdf or "
                   ".svg: the suffix names the format)")
    p.set_defaults(func=run)


def _check_args(args) -> None:
    """Check every flag before any work (one-line errors naming the flag)."""
    from rhel.argcheck import integer_at_least, positive_integer, positive_real
    from rhel.cli.checks import report_outputs, require_seed

    for name in ("blocks", "hidden", "state", "length", "channels", "batch"):
        if getattr(args, name) is not None:
            positive_integer(f"--{name}", getattr(args, name))
    integer_at_least("--classes", args.classes, 2)
    require_seed("--seed", args.seed)
    positive_real("--epsilon", args.epsilon)
    report_outputs(args, json_example="gradcheck.json")


def _batch(args):
    """``(x, y, mask, task, d_out, output_step)`` as numpy arrays / ints."""
    import numpy as np

    if args.dataset is None:
        length = args.length if args.length is not None else DEFAULT_LENGTH
        rng = np.random.default_rng(args.seed)
        x = rng.standard_normal((args.batch, length, args.channels)).astype(np.float32)
        y = rng.integers(0, args.classes, args.batch)
        mask = np.ones((args.batch, length), bool)
        return x, y, mask, "classification", args.classes, None
    from rhel.data import load
    from rhel.errors import RHELError

    # --length reaches the data layer, which applies it to the synthetic tasks and refuses it for real sets
    splits = load(args.dataset, seed=args.seed, time_channel=args.time_channel, length=args.length)
    train, info = splits.train, splits.info
    if len(train.x) < args.batch:
        raise RHELError(f"--batch {args.batch}: {info.name} has only {len(train.x)} training sequences.")
    n = args.batch
    return train.x[:n], train.y[:n], train.mask[:n], info.task, info.output_dim, info.output_step


def _plot(records, path: str, title: str) -> None:
    """Write the bar chart of cosine and norm ratio per parameter to ``path`` (format from its suffix)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from rhel.figure import save_figure

    labels = [f"{r['block']}:{r['param']}" for r in records]
    fig, axes = plt.subplots(2, 1, figsize=(max(8, 0.18 * len(records)), 7), sharex=True)
    for ax, key, ref in ((axes[0], "cosine", 1.0), (axes[1], "norm_ratio", 1.0)):
        ax.bar(range(len(records)), [r[key] for r in records], color="tab:blue")
        ax.axhline(ref, color="k", lw=0.8, ls="--")
        ax.set_ylabel(key.replace("_", " "))
    axes[0].set_title(title)
    axes[1].set_xticks(range(len(records)), labels, rotation=90, fontsize=6)
    axes[1].set_xlabel("block:parameter (block -1 = encoder, last = head)")
    fig.tight_layout()
    save_figure(fig, path, dpi=100)


def run(args) -> int:
    _check_args(args)
    import jax

    previous = jax.config.jax_enable_x64
    if args.x64:
        jax.config.update("jax_enable_x64", True)
    try:
        return _run(args)
    finally:
        jax.config.update("jax_enable_x64", previous)


def _run(args) -> int:
    import jax
    import jax.numpy as jnp

    from rhel.model import compare_gradients, make_hssm

    x, y, mask, task, d_out, output_step = _batch(args)
    dtype = jnp.float64 if args.x64 else jnp.float32
    key_model, key_dropout = jax.random.split(jax.random.key(args.seed))
    model, state = make_hssm(
        args.model, d_in=x.shape[2], d_out=d_out, task=task, hidden=args.hidden, state_size=args.state,
        blocks=args.blocks, output_step=output_step, dropout=args.dropout, key=key_model, dtype=dtype,
    )
    y = jnp.asarray(y) if task == "classification" else jnp.asarray(y, dtype)
    records = compare_gradients(model, state, jnp.asarray(x, dtype), y, jnp.asarray(mask, bool),
                                key=key_dropout, epsilon=args.epsilon)

    print(f"{'block':>5}  {'parameter':<28} {'cosine':>12} {'norm ratio':>12} {'rel error':>10}")
    for r in records:
        print(f"{r['block']:>5}  {r['param']:<28} {r['cosine']:>12.9f} {r['norm_ratio']:>12.9f} "
              f"{r['rel_error']:>10.2e}")
    worst = max(records, key=lambda r: r["rel_error"])
    print(f"min cosine {min(r['cosine'] for r in records):.9f}; max rel error {worst['rel_error']:.2e} "
          f"(block {worst['block']}, {worst['param']}); {len(records)} parameters, "
          f"{'float64' if args.x64 else 'float32'}, epsilon {args.epsilon}")
    if args.json:
        atomic_write_text(args.json, json.dumps({"records": records}, indent=1))
    if args.plot:
        title = (f"RHEL vs BPTT, {args.model} HSSM, {args.blocks} blocks, eps={args.epsilon}, "
                 f"{'float64' if args.x64 else 'float32'}")
        _plot(records, args.plot, title)
    return 0
