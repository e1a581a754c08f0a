"""The subcommands of ``genbench``, one module each. Every module has
``add_parser(subparsers)``, which owns its options, and ``run(args) -> int``, which
returns the exit code."""

from harness.commands import (
    check_plugin,
    clock,
    compare,
    db,
    describe,
    env,
    history,
    leaderboard,
    new_plugin,
    plugins,
    report,
    run,
    runs,
    weights,
)

# In the order ``genbench --help`` lists them.
COMMANDS = (run, runs, leaderboard, compare, history, report, plugins, describe, env, clock, weights,
            check_plugin, new_plugin, db)
