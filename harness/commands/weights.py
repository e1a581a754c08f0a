"""``genbench weights status|fetch``: the FID Inception weights, where they are, or fetch them."""

from __future__ import annotations

import argparse
import json
import sys

from harness.commands.common import EXIT_FAILED, EXIT_OK, ArgumentParser, add_command, add_json, file_path


def add_parser(sub: argparse._SubParsersAction) -> None:
    w = add_command(sub, "weights", "the FID Inception weights: where they are, or fetch them")
    wsub = w.add_subparsers(dest="weights_command", required=True, parser_class=ArgumentParser)
    add_json(add_command(wsub, "status", "what is found where, and whether it verifies (exit 1: none usable)"))
    wf = add_command(wsub, "fetch", "download the weights and verify their SHA-256 (needs a network)")
    wf.add_argument("--url", type=_url, default=None, help="where to download from (default: pytorch-fid's release)")
    wf.add_argument("--dest", type=file_path, default=None, help="file to write (default: the torch hub cache)")


def _url(text: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(text)
    if parts.scheme not in ("http", "https", "file") or not (parts.netloc or parts.path):
        raise argparse.ArgumentTypeError(f"expected an http://, https:// or file:// URL, got {text!r}")
    return text


def run(args: argparse.Namespace) -> int:
    return _fetch(args) if args.weights_command == "fetch" else _status(args)


def _fetch(args: argparse.Namespace) -> int:
    from harness.errors import UsageError
    from harness.metrics import inception

    url = args.url or inception.WEIGHTS_URL
    try:
        path = inception.fetch(url, args.dest)
    except inception.WeightsError as exc:
        print(f"genbench: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot download {url}: {exc}") from exc
    print(f"{path}: FID Inception weights, SHA-256 {inception.WEIGHTS_SHA256} verified")
    return EXIT_OK


def _status(args: argparse.Namespace) -> int:
    from harness.metrics import inception

    places = [vars(place) for place in inception.locations()]
    try:
        used, problem = str(inception.weights_lookup()), None
    except (inception.WeightsError, OSError) as exc:
        used, problem = None, str(exc)
    if args.json:
        print(json.dumps({"locations": places, "using": used, "unavailable": problem,
                          "sha256": inception.WEIGHTS_SHA256}, indent=2, default=str))
    else:
        print(f"FID Inception weights ({inception.WEIGHTS_FILE}, SHA-256 {inception.WEIGHTS_SHA256[:16]}…), "
              "looked up in order:")
        print("\n".join(inception.describe_locations()))
        print(f"using {used} (verified)" if used else f"FID unavailable: {problem}")
    return EXIT_OK if used else EXIT_FAILED
