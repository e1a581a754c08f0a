"""Ray, imported only for ``--executor ray``: whether it is installed, the connection to
a cluster (or a Ray instance started here), and Ray's failures as one-line reasons."""

from __future__ import annotations

import importlib.util
import logging
import os
import signal
import socket
import threading
from typing import Any

from harness.errors import UsageError, one_line, shorten

INSTALL = "pip install 'genbench[ray]'"
# Settings a worker reads from its environment; a Ray worker has the raylet's, not ours.
PASSED_ON = "GENBENCH_"
NOT_PASSED_ON = ("GENBENCH_DB",)  # the store's location travels in each job, and may hold a password
PROBE_S = 10.0  # for a cluster's port to answer: Ray itself retries for many minutes


def check_installed() -> None:
    if importlib.util.find_spec("ray") is None:
        raise UsageError(f"--executor ray needs Ray, which is not installed: {INSTALL}")


def connect(address: str | None) -> Any:
    """The ``ray`` module, connected: to the cluster at ``address`` (``auto``: the one
    this machine belongs to), or to a Ray instance started here (None). A cluster that
    cannot be reached is a UsageError."""
    check_installed()
    if address is not None:
        check_reachable(address)
    import ray

    env = {k: v for k, v in os.environ.items() if k.startswith(PASSED_ON) and k not in NOT_PASSED_ON}
    main = threading.current_thread() is threading.main_thread()
    # ray.init makes SIGTERM end the process; genbench's handler records what runs as interrupted.
    handler = signal.getsignal(signal.SIGTERM) if main else None
    try:
        ray.init(address=address, runtime_env={"env_vars": env} if env else None, logging_level=logging.WARNING,
                 include_dashboard=False if address is None else None)
    except (ConnectionError, RuntimeError, ValueError, TimeoutError) as exc:
        where = f"the Ray cluster at {address}" if address else "a Ray instance on this machine"
        raise UsageError(f"--executor ray: cannot connect to {where}: {shorten(one_line(str(exc)), 300)}") from exc
    finally:
        if handler is not None:
            signal.signal(signal.SIGTERM, handler)
    return ray


def check_reachable(address: str) -> None:
    """A ``HOST:PORT`` that nothing answers at is a UsageError now, not after Ray's
    minutes of retries (``auto`` and ``ray://`` addresses are Ray's to resolve)."""
    host, _, port = address.rpartition(":")
    if "://" in address or not host or not port.isdigit():
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=PROBE_S).close()
    except OSError as exc:
        raise UsageError(f"--ray-address {address}: no Ray cluster answers there "
                         f"({exc.strerror or type(exc).__name__}); start one with `ray start --head`, or give its "
                         "address as HOST:PORT (the head's --port, 6379 by default)") from None


def cluster(ray: Any) -> str:
    """The cluster in a few words: nodes, CPUs, GPUs."""
    total = ray.cluster_resources()
    nodes = sum(1 for node in ray.nodes() if node.get("Alive"))
    return f"{nodes} node(s), {total.get('CPU', 0):g} CPU(s), {total.get('GPU', 0):g} GPU(s)"


def hosts(ray: Any) -> set[str]:
    """The addresses of the cluster's live nodes (several nodes of one machine are one)."""
    return {node.get("NodeManagerAddress") for node in ray.nodes() if node.get("Alive")}


def reason(exc: BaseException) -> str:
    """Why a task failed for good, in one line: what the task raised, or Ray's own
    account (a worker or a node that died, retries exhausted)."""
    cause = getattr(exc, "cause", None)  # a RayTaskError: what the task itself raised
    if isinstance(cause, BaseException):
        text = f"{type(cause).__name__}: {cause}"
    else:
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        text = f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
    return shorten(one_line(text), 400)
