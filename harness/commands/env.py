"""``genbench env``: versions, devices, ops backends and where the FID weights are looked up."""

from __future__ import annotations

import argparse
import json

from harness.commands.common import EXIT_OK, add_command, add_json


def add_parser(sub: argparse._SubParsersAction) -> None:
    add_json(add_command(sub, "env", "versions, devices, ops backends, FID weight lookup"))


def run(args: argparse.Namespace) -> int:
    from harness import env
    from harness.metrics import inception

    info = env.collect()
    info["fid_weights"] = [vars(place) for place in inception.locations()]
    if args.json:
        print(json.dumps(info, indent=2, default=str))
        return EXIT_OK
    for k, v in info["versions"].items():
        print(f"{k:12s} {v}")
    print(f"{'device':12s} {info['device_name']}; CUDA available: {info['cuda_available']}")
    print(f"{'ops':12s} built: {', '.join(info['ops_built'])}; GENBENCH_OPS={info['ops_setting']}; "
          f"CPU tensors use: {info['ops_backend']}")
    if info["ops_load_error"]:
        print(f"{'':12s} extension not loaded: {info['ops_load_error']}")
    print(f"{'git':12s} {info['git_commit'] or '(not a git checkout)'}")
    print("FID weights looked up in order:")
    print("\n".join(inception.describe_locations()))
    return EXIT_OK
