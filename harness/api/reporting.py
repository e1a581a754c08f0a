"""What leaves a run: the leaderboard formats plugins offer, and the run an observer
hook is told about."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar, TypedDict

if TYPE_CHECKING:  # the leaderboard module reads the records: plugins need not import it
    from harness.leaderboard import Leaderboard


class RunInfo(TypedDict):
    """The ``run`` the observer hooks (``genbench_run_started``, ``genbench_run_finished``)
    receive: a plain dict with these keys."""

    #: The run's id, as ``genbench runs`` and the results database show it.
    id: str
    #: The run's folder (``options.json``, ``stats.jsonl``, checkpoints), as a string.
    run_dir: str
    #: What the run's ``options.json`` holds: ``suite``, ``suite_run``, ``run_id``,
    #: ``generator``, ``generator_class``, ``config``, ``dataset``, ``dataset_options``,
    #: ``budget``, ``seed``, ``device``, ``samplers`` and ``rank_by`` (and ``trained_in``
    #: for a sampler variant: the run whose trained model it samples).
    options: dict[str, Any]


class Reporter(ABC):
    """An output format for leaderboards, offered through ``genbench_reporters``.

    ``genbench leaderboard --format NAME`` (and ``genbench run``) hand it the
    leaderboard to show; it returns the whole text, which is printed or written to a
    file.
    """

    #: Format name for ``--format`` and the file extension, e.g. ``"md"``.
    name: ClassVar[str]

    @abstractmethod
    def render(self, table: Leaderboard) -> str:
        """Render a :class:`harness.leaderboard.Leaderboard` to text.

        ``table`` is ranked already: show its :attr:`~harness.leaderboard.Leaderboard.rows`
        in order, a column per :attr:`~harness.leaderboard.Leaderboard.columns` entry
        under its ``header``, each cell as :meth:`~harness.leaderboard.Leaderboard.cell`
        writes it, then the :attr:`~harness.leaderboard.Leaderboard.footnotes`.
        """
