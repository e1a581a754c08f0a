"""The ``genbench`` command line: a dispatcher over ``harness.commands``.

Exit codes: 0 success, 1 a run or check failed, 2 bad input (a one-line error naming
the problem), 130 / 143 / 129 interrupted by SIGINT / SIGTERM / SIGHUP (what was
recorded is kept and the run resumes), 141 the reader of the output went away."""

from __future__ import annotations

import os
import signal
import sys
import warnings
from collections.abc import Sequence

from harness import __version__, disabled_plugins
from harness.commands import COMMANDS
from harness.commands.common import EXIT_FAILED, EXIT_USAGE, ArgumentParser, Formatter, add_plugin_option

EXIT_BROKEN_PIPE = 128 + signal.SIGPIPE


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, handled as SIGINT is: runs are marked interrupted, resumable."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def parser() -> ArgumentParser:
    p = ArgumentParser(prog="genbench", description="Benchmark harness for image generative models.",
                       formatter_class=Formatter)
    p.add_argument("--version", action="version", version=f"genbench {__version__}")
    add_plugin_option(p, "disabled_plugins_first")
    sub = p.add_subparsers(dest="command", required=True, parser_class=ArgumentParser)
    for command in COMMANDS:
        before = set(sub.choices)
        command.add_parser(sub)
        for name in set(sub.choices) - before:
            sub.choices[name].set_defaults(handler=command.run)
    return p


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated(signum)


def main(argv: Sequence[str] | None = None) -> int:
    from harness.errors import OutputFailed, UsageError, one_line_warnings
    from harness.plugins import PluginLoadError

    one_line_warnings()
    args = parser().parse_args(argv)
    names = args.disabled_plugins_first + args.disabled_plugins
    for name in disabled_plugins.unknown(names):
        # A warning, not an error: one command line works with or without that plugin.
        warnings.warn(f"-p no:{name}: no installed plugin is called {name!r}", stacklevel=1)
    # Restored at the end, for a caller that runs genbench in its own process.
    previous = {signum: signal.signal(signum, _raise_terminated) for signum in (signal.SIGTERM, signal.SIGHUP)}
    try:
        with disabled_plugins.disabled(names):
            return args.handler(args)
    except UsageError as exc:
        print(f"genbench: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OutputFailed as exc:
        print(f"genbench: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except PluginLoadError as exc:
        print(f"genbench: error: {exc} (GENBENCH_PLUGINS_STRICT is set)", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt as exc:
        print("genbench: interrupted; what was recorded is kept (resume with genbench run --resume RUN)",
              file=sys.stderr)
        return 128 + (exc.signum if isinstance(exc, Terminated) else signal.SIGINT)
    except BrokenPipeError:
        # The reader (`genbench plugins | head`) is gone: end quietly, and keep Python's
        # own flush at exit from failing on the same pipe.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


if __name__ == "__main__":
    sys.exit(main())
