"""``genbench clock HH:MM:SS``: a time drawn by a trained clock generator, with the
ground truth beside it."""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.commands.common import EXIT_OK, add_command, add_store_options, existing_store, output_file
from harness.limits import non_empty


def add_parser(sub: argparse._SubParsersAction) -> None:
    ck = add_command(sub, "clock", "draw a clock with a trained clock generator")
    ck.add_argument("time", help="HH:MM:SS, e.g. 11:10:30")
    ck.add_argument("--png", "-o", type=output_file(".png"), default=Path("clock.png"), help="PNG to write")
    ck.add_argument("--run", type=non_empty, default=None, help="run id (default: the latest finished clocks run)")
    add_store_options(ck)


def run(args: argparse.Namespace) -> int:
    import torch

    from harness import images, trained
    from harness.datasets import clocks
    from harness.errors import UsageError
    from harness.plugins import Host
    from harness.rng import SampleRNG

    h, m, s = clocks.parse_time(args.time)
    host = Host()
    store = existing_store(args)
    if args.run:
        record = store.run(args.run)
        if record is None:
            raise UsageError(f"no run {args.run!r} in {store.where}")
    else:
        candidates = [r for r in reversed(store.runs()) if r.status == "ok" and r.dataset == "clocks"
                      and r.generator in host.generators and host.generators[r.generator].conditional]
        if not candidates:
            raise UsageError(f"no finished run of a conditional generator on clocks in {store.where}")
        record = candidates[0]
    gen, dataset = trained.load(host, record, torch.device("cpu"))
    seconds = torch.tensor([(h % 12) * 3600 + m * 60 + s])
    with torch.no_grad():
        drawn = gen.sample(1, SampleRNG(0, 0, 1), clocks.time_features(seconds)).float()
    truth = clocks.render(seconds, dataset.resolution, dataset.channels)
    try:
        images.save_png(images.grid(torch.cat([drawn, truth]), nrow=2), args.png, upscale=4)
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot write {args.png}: {exc}") from exc
    print(f"{args.png}: {args.time} drawn by {record.generator} (run {record.id}), ground truth on the right")
    return EXIT_OK
