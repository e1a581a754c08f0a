"""Trains the domain extractors' networks and writes their weights to
harness/metrics/weights/, printing each file's SHA-256 for domain_nets.py.

    python -m harness.metrics.train_domain_nets            # both, about 7 minutes on 2 cores
    python -m harness.metrics.train_domain_nets clocknet

Deterministic: fixed seeds, deterministic algorithms and a fixed thread count, so the
same machine and torch version reproduce the same bytes. The nets are trained on the
same pipeline the metrics use (8-bit quantization, then ``domain_nets.preprocess``),
on every variant of their data (clocks at 32 and 64, gray and RGB; digits at 8, 16 and
32), with noise added to half of the batches so that imperfect samples still map to
meaningful features.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F

from harness.atomic import atomic_path
from harness.datasets import clocks, digits
from harness.metrics.domain_nets import WEIGHTS_DIR, DomainNet, hour_class, preprocess
from harness.metrics.features import quantize
from harness.metrics.inception import sha256_of

SEED = 20261126
THREADS = 2


def _pipeline(images: torch.Tensor, g: torch.Generator, noisy: bool) -> torch.Tensor:
    """Augment ([-1, 1]), quantize to 8 bits as the metrics do, then the nets' input."""
    if noisy:
        sigma = torch.rand(images.shape[0], 1, 1, 1, generator=g) * 0.15
        images = images + sigma * torch.randn(images.shape, generator=g)
    return preprocess(quantize(images).float() / 255)


def _clock_batch(split, n: int, g: torch.Generator, step: int) -> tuple[torch.Tensor, torch.Tensor]:
    seconds = split.seconds[torch.randint(len(split), (n,), generator=g)]
    resolution, channels = ((32, 1), (32, 3), (64, 1), (64, 3))[step % 4]
    images = clocks.render(seconds, resolution, channels)
    return _pipeline(images, g, noisy=step % 2 == 1), clocks.time_features(seconds)


def _digit_batch(images_by_res: dict[int, torch.Tensor], labels: torch.Tensor, n: int,
                 g: torch.Generator, step: int) -> tuple[torch.Tensor, torch.Tensor]:
    idx = torch.randint(labels.shape[0], (n,), generator=g)
    images = images_by_res[(8, 16, 32)[step % 3]][idx]
    images = digits.resize(images, 32)
    # Shifts of up to 2 pixels, so the net reads the digit rather than its position.
    dx, dy = (int(v) for v in torch.randint(-2, 3, (2,), generator=g))
    images = torch.roll(F.pad(images, (2, 2, 2, 2), value=-1), (dy, dx), dims=(2, 3))[..., 2:-2, 2:-2]
    return _pipeline(images, g, noisy=step % 2 == 1), labels[idx]


def _train(net: DomainNet, steps: int, batch: Callable[[int], tuple], loss_fn, lr: float) -> None:
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * s / steps)))
    for step in range(steps):
        x, y = batch(step)
        _, out = net(x)
        loss = loss_fn(out, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if step % 200 == 0 or step == steps - 1:
            print(f"  step {step:5d}  loss {loss.item():.4f}", flush=True)


def train_clocknet(steps: int) -> DomainNet:
    data = clocks.build(seed=0)
    g = torch.Generator().manual_seed(SEED)
    net = DomainNet(6)
    _train(net, steps, lambda s: _clock_batch(data.train, 128, g, s), F.mse_loss, 2e-3)
    net.eval()
    with torch.no_grad():
        seconds = data.val.seconds
        truth = hour_class(clocks.time_features(seconds))
        for res, ch in ((32, 1), (64, 3)):
            x = preprocess(quantize(clocks.render(seconds, res, ch)).float() / 255)
            _, out = net(x)
            err = (out - clocks.time_features(seconds)).pow(2).mean().item()
            acc = (hour_class(out) == truth).float().mean().item()
            print(f"  validation {res}x{res}x{ch}: mse {err:.4f}, hour accuracy {acc:.3f}")
    return net


def train_digitnet(steps: int) -> DomainNet:
    data = digits.build(seed=0, resolution=8)
    g = torch.Generator().manual_seed(SEED)
    train = data.train.images
    by_res = {r: digits.resize(train, r) for r in (8, 16, 32)}
    net = DomainNet(10)
    _train(net, steps, lambda s: _digit_batch(by_res, data.train.labels, 128, g, s), F.cross_entropy, 2e-3)
    net.eval()
    with torch.no_grad():
        for res in (8, 16, 32):
            x = preprocess(quantize(digits.resize(data.val.images, res)).float() / 255)
            _, logits = net(x)
            acc = (logits.argmax(1) == data.val.labels).float().mean().item()
            print(f"  validation {res}x{res}: accuracy {acc:.3f}")
    return net


NETS = {"clocknet": (train_clocknet, 1500), "digitnet": (train_digitnet, 1500)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("nets", nargs="*", default=list(NETS), help="which nets to train")
    p.add_argument("--out", type=Path, default=WEIGHTS_DIR, help="directory for the weights")
    p.add_argument("--steps", type=int, default=None, help="optimizer steps (default: each net's own)")
    args = p.parse_args(argv)
    unknown = sorted(set(args.nets) - set(NETS))
    if unknown:
        print(f"train_domain_nets: unknown net(s) {', '.join(unknown)}; choose from {', '.join(NETS)}",
              file=sys.stderr)
        return 2
    torch.set_num_threads(THREADS)
    torch.use_deterministic_algorithms(True)
    args.out.mkdir(parents=True, exist_ok=True)
    for name in args.nets:
        train, steps = NETS[name]
        torch.manual_seed(SEED)
        print(f"{name}: training {args.steps or steps} steps", flush=True)
        net = train(args.steps or steps)
        path = args.out / f"{name}.pt"
        with atomic_path(path) as tmp:
            torch.save(net.state_dict(), tmp)
        print(f"{name}: wrote {path}, SHA-256 {sha256_of(path)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
