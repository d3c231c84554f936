"""``rhel data``: list, describe and prepare data sets.

    rhel data list                         name, kind, length, channels, classes, source, cached or not
    rhel data info NAME [--seed S ...]     the registry row and, when available, the split that load() makes
    rhel data prepare NAME [--source PATH] download or convert NAME into the cache

The cache is ``--cache-dir`` > ``$RHEL_DATA`` > ``$XDG_CACHE_HOME/rhel`` > ``~/.cache/rhel``.
"""

from __future__ import annotations

import argparse
import json


def register(subparsers) -> None:
    parser = subparsers.add_parser("data", help="list, describe and prepare data sets",
                                   description="List, describe and prepare data sets.")
    sub = parser.add_subparsers(dest="data_command", metavar="ACTION", required=True)

    def with_cache(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--cache-dir", default=None,
                       help="data cache (default: $RHEL_DATA, else $XDG_CACHE_HOME/rhel or ~/.cache/rhel)")
        p.set_defaults(func=run)
        return p

    with_cache(sub.add_parser("list", help="the known data sets and whether they are cached"))
    info = with_cache(sub.add_parser("info", help="describe one data set and the split load() draws"))
    info.add_argument("name")
    info.add_argument("--seed", type=int, default=0)
    info.add_argument("--split", choices=("paper", "official"), default="paper")
    info.add_argument("--time-channel", action="store_true")
    info.add_argument("--length", type=int, default=None, help="synthetic tasks: sequence length")
    info.add_argument("--size", type=int, default=None, help="synthetic tasks: number of sequences")
    info.add_argument("--impute", action="store_true", help="fill NaN/Inf by linear interpolation in time")
    info.add_argument("--json", action="store_true", help="print the info and meta as JSON")
    prep = with_cache(sub.add_parser("prepare", help="download or convert a data set into the cache"))
    prep.add_argument("name")
    prep.add_argument("--source", default=None,
                      help="local copy: the unzipped UEA folder (or .zip) / the PPG_FieldStudy folder")


def run(args: argparse.Namespace) -> int:
    from rhel import data

    cache = data.cache_dir(args.cache_dir)
    if args.data_command == "list":
        return _list(data, args.cache_dir)
    if args.data_command == "prepare":
        from rhel.cli.checks import output_folder

        output_folder("--cache-dir" if args.cache_dir else "the data cache", cache)
        spec = data.resolve(args.name)
        path = data.prepare(spec.name, source=args.source, cache_dir=args.cache_dir)
        print(f"{spec.name}: generated on the fly, nothing to prepare" if path is None
              else f"{spec.name}: ready in {path}")
        return 0
    spec = data.resolve(args.name)
    _synthetic_only(spec, args)
    row = {k: getattr(spec, k) for k in ("name", "kind", "task", "length", "channels", "num_classes", "source",
                                         "description")}
    if spec.kind != "synthetic" and not data.is_cached(spec, args.cache_dir):
        hint = f"`rhel data prepare {spec.name}` downloads or converts it into {cache}"
        if args.json:
            print(json.dumps({"spec": row, "cached": False, "cache": str(cache), "hint": hint}, indent=2))
            return 0
        shape = (f", length {spec.length}, {spec.channels} channels" if spec.length else "") + (
            f", {spec.num_classes} classes" if spec.num_classes else "")
        print(f"{spec.name}: {spec.kind} {spec.task}{shape}" + (f" ({spec.description})" if spec.description else ""))
        print(f"source: {spec.source}")
        print(f"not cached: {hint}")
        return 0
    splits = data.load(spec.name, seed=args.seed, split=args.split, time_channel=args.time_channel,
                       cache_dir=args.cache_dir, impute=args.impute, length=args.length, size=args.size)
    out = {"spec": row, "info": splits.info.__dict__, "meta": splits.meta,
           "shapes": {k: {"x": list(getattr(splits, k).x.shape), "y": list(getattr(splits, k).y.shape)}
                      for k in ("train", "val", "test")}}
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    i = splits.info
    print(f"{i.name}: {i.task}, length {i.length}, {i.channels} channels, "
          + (f"{i.num_classes} classes" if i.num_classes
             else f"output dim {i.output_dim}, one target every {i.output_step} steps"))
    print(f"source: {i.source}")
    for k, v in out["shapes"].items():
        print(f"  {k:5s} x {tuple(v['x'])}  y {tuple(v['y'])}")
    lengths = [getattr(splits, k).mask.sum(axis=1) for k in ("train", "val", "test") if len(getattr(splits, k))]
    shortest = min(int(v.min()) for v in lengths)
    if shortest < i.length:
        print(f"  variable length {shortest}-{i.length}: zero-padded at the end, mask False at the padding")
    skip = {"scaling", "layouts", "windows", "source", "indices"}  # long: shown by --json
    for k, v in splits.meta.items():
        if k not in skip:
            print(f"  {k}: {v}")
    hidden = [k for k in ("indices", "scaling", "layouts") if k in splits.meta]
    if hidden:
        print(f"  ({', '.join(hidden)}: see --json)")
    return 0


def _synthetic_only(spec, args: argparse.Namespace) -> None:
    """Refuse --length/--size for a data set that is not generated (load() would refuse them too)."""
    given = [flag for flag, value in (("--length", args.length), ("--size", args.size)) if value is not None]
    if given and spec.kind != "synthetic":
        from rhel.errors import DatasetError

        flags = " and ".join(given)
        raise DatasetError(
            f"{flags} {'apply' if len(given) > 1 else 'applies'} to the synthetic tasks (recall, adding) only; "
            f"{spec.name} has a fixed length and number of series. Drop {flags}."
        )


def _list(data, cache_dir) -> int:
    header = ("name", "kind", "length", "channels", "classes", "source", "cached")
    rows = []
    for s in data.available():
        status = "generated" if s.kind == "synthetic" else (
            "yes" if data.is_cached(s, cache_dir) else "no")
        rows.append((s.name, s.kind, str(s.length), str(s.channels), str(s.num_classes or "-"), s.source, status))
    widths = [max(len(r[j]) for r in rows + [header]) for j in range(len(header))]
    for r in [header] + rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    print(f"cache: {data.cache_dir(cache_dir)}   (any UCR/UEA archive name also works: rhel data prepare NAME)")
    return 0
