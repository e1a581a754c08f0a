"""Executors: where a suite's entries run. A plugin offers one through
``genbench_executors``, as an :class:`~harness.api.ExecutorSpec`; ``genbench run --executor NAME``
builds it from the command line's :class:`~harness.api.ExecutorSettings` and hands it the suite's
unfinished entries, each a serializable :class:`~harness.api.Job`.

The contract: :meth:`~harness.api.Executor.run` gets every job of the suite run that is left to do
and returns when it has done what it can. Every job should end recorded: a job run by
:func:`~harness.api.execute_in_process` or :func:`~harness.api.execute_in_worker` records its own runs, whatever
happens inside it. After ``run`` returns (or raises), the runner reads the records, and
any job still unfinished (never started, interrupted, or left running by a process that
is gone) is recorded as failed, with a reason naming the executor ("the ray executor lost
entry 3/10: ...", ending in what ``run`` raised where it raised). An executor that is stopped (Ctrl-C, SIGTERM) lets the
``KeyboardInterrupt`` out after its jobs are stopped; their runs stay resumable.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class Entry:
    """A suite entry as executed: a run that trains, and the runs that evaluate its
    trained model under other samplers."""

    #: The run that trains.
    run_id: str
    #: The runs of its sampler variants, evaluated on the trained model.
    variants: tuple[str, ...] = ()


@dataclass
class RunOutcome:
    """How one run of an entry ended, as the process that ran it saw it (the records
    say the same; the runner reads them)."""

    run_id: str
    run_dir: Path
    #: ``ok`` or ``failed`` (``interrupted`` where the run was stopped).
    status: str
    reason: str | None = None
    metrics: dict[str, float | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Job:
    """One unfinished suite entry, as an executor is given it: plain values only, so it
    pickles to another process or another machine."""

    #: Where the results store is: an SQLite file's path or a ``postgresql://`` URL. Pass
    #: it on as it is and never print it: a URL may hold a password.
    db: str = field(repr=False)
    #: The folder the run folders are under (``--out``); every node must see it.
    out: str
    #: The device the entry runs on (``cpu``, ``cuda``, ``cuda:N``).
    device: str
    #: The entry's runs.
    entry: Entry
    #: Its number in the suite run, ``k`` of ``n``.
    k: int
    n: int
    #: What the suite entry asks for (its ``resources`` table: ``num_cpus``,
    #: ``num_gpus``, ``memory``); empty when it asks for nothing.
    resources: Mapping[str, float] = field(default_factory=dict)
    #: The budget's wall clock (seconds): what a phase of the entry may take.
    wall_clock_s: float = 0.0
    #: A progress bar on stderr while it trains (False where many entries run at once).
    show_progress: bool | None = False
    #: Where to log for TensorBoard (``--tensorboard``), or None.
    tensorboard: str | None = None

    @property
    def run_ids(self) -> tuple[str, ...]:
        """The entry's runs: the one that trains, then its sampler variants."""
        return (self.entry.run_id, *self.entry.variants)


@dataclass(frozen=True)
class ExecutorSettings:
    """What ``genbench run`` was told about executing (an executor refuses, with a
    :class:`harness.errors.UsageError`, a setting it does not take)."""

    #: ``--jobs``: how many entries at once (None: the executor's default).
    jobs: int | None = None
    #: ``--ray-address``, or another executor's cluster address (None: none given).
    address: str | None = None
    #: ``--isolation``: ``process`` or ``none`` (None: not given).
    isolation: str | None = None
    #: The device every entry runs on.
    device: str = "cpu"
    #: Where the results store is, as it may be shown: an SQLite file's path, or a
    #: ``postgresql://`` URL without its password (None: not known).
    store: str | None = None


class ExecutorContext(Protocol):
    """What the runner gives :meth:`Executor.run`. Call it from the thread that called
    ``run``."""

    def started(self, job: Job) -> None:
        """Says that ``job`` started (its ``[k/n] ... started`` line)."""

    def ended(self, job: Job) -> None:
        """Says how ``job`` ended, from the records (its ``[k/n] ... ok`` lines)."""

    def note(self, job: Job, text: str) -> None:
        """A line about ``job`` in the same form (``[k/n] ... : text``)."""

    def execute_here(self, job: Job) -> list[RunOutcome]:
        """Executes ``job`` as a local suite does, one entry at a time: in a worker
        process of its own, or with ``--isolation none`` in this process, with this
        process's plugins and store."""


class Executor(ABC):
    """Runs jobs somewhere. Made by an :class:`ExecutorSpec`'s factory for one
    ``genbench run``."""

    def prepare(self) -> None:  # noqa: B027 (optional, empty by default)
        """Called before the suite is recorded: connect to a cluster, check what can be
        checked. A :class:`harness.errors.UsageError` here stops ``genbench run`` with
        exit code 2 and nothing recorded."""

    @abstractmethod
    def run(self, jobs: list[Job], context: ExecutorContext) -> None:
        """Executes ``jobs`` (the suite run's unfinished entries, in order) and returns
        when each has ended or been given up; the runner records those that did not
        end as failed. Let a ``KeyboardInterrupt`` out once the jobs are stopped."""


@dataclass(frozen=True)
class ExecutorSpec:
    """An executor a plugin provides through ``genbench_executors``."""

    #: ``--executor NAME``.
    name: str
    #: One line: where it runs entries.
    description: str
    #: Builds the executor from the command line's settings; raises
    #: :class:`harness.errors.UsageError` for a setting it does not take.
    factory: Callable[[ExecutorSettings], Executor]


def execute_in_process(job: Job) -> list[RunOutcome]:
    """Executes ``job`` in this process, with the installed plugins and the store at
    ``job.db``; returns how its runs ended (they are recorded as well). What a plugin
    raises becomes the run's recorded failure; ``KeyboardInterrupt`` records the run
    interrupted and is raised again. This is what a remote task calls (a Ray task, a
    SLURM job); when its process dies, the run reads as interrupted, and executing the
    job again resumes it from its last checkpoint."""
    import torch

    from harness.execution import EntryExecutor
    from harness.plugins import Host
    from harness.records import ResultsStore

    store = ResultsStore(job.db)
    try:
        executor = EntryExecutor(Host(quiet=True), store, Path(job.out), torch.device(job.device), job.show_progress,
                                 None if job.tensorboard is None else Path(job.tensorboard))
        return executor.run(job.entry)
    finally:
        store.close()


def execute_in_worker(job: Job, environment: Mapping[str, str] | None = None) -> list[RunOutcome]:
    """Executes ``job`` in a fresh worker process on this machine, watched as a local
    suite watches its workers: a phase that overruns the budget's wall clock (plus
    ``GENBENCH_GRACE_S``) is stopped and the run recorded failed, and a worker that dies
    has its runs recorded failed with how it died. ``environment``: variables set for
    the worker (``CUDA_VISIBLE_DEVICES``). A ``KeyboardInterrupt`` in the calling
    thread stops the worker, which records its run interrupted, and is raised again."""
    from harness.records import ResultsStore
    from harness.supervisor import Supervisor
    from harness.worker import WorkerSpec

    store = ResultsStore(job.db)
    try:
        spec = WorkerSpec(job.db, job.out, job.device, job.show_progress, job.tensorboard)
        return Supervisor(spec, environment=environment).run(job.entry, store)
    finally:
        store.close()
