"""How ``genbench run``'s flags reshape a suite: which suite (a named one, or an ad hoc
one built from ``-g``), which of its entries, and the budget, dataset and seeds that
replace the suite's own."""

from __future__ import annotations

from dataclasses import dataclass, replace

from harness import budgets, suites
from harness.errors import UsageError
from harness.plugins import Host
from harness.suites import Suite

DEFAULT_SUITE = "quick"
DEFAULT_DATASET = "clocks"


@dataclass(frozen=True)
class Overrides:
    """What the command line asked for; None (or empty) leaves the suite's own."""

    suite: str | None = None
    generators: tuple[str, ...] = ()
    dataset: str | None = None
    budget: str | None = None
    seeds: tuple[int, ...] = ()
    seed_count: int | None = None
    rank_by: str | None = None


def select(host: Host, o: Overrides) -> Suite:
    """The suite to run. ``-g`` alone builds an ad hoc suite (its budget's seeds);
    with ``--suite`` it picks that suite's entries."""
    if o.suite or not o.generators:
        suite = suites.load(o.suite or DEFAULT_SUITE)
        if o.generators:
            named = {e.generator for e in suite.entries}
            # -g plugin:name picks the suite's entries for name, from that plugin.
            picks = {g if g in named else host.split_name(g)[1]: g for g in o.generators}
            missing = [g for name, g in picks.items() if name not in named]
            if missing:
                host.generator(missing[0])  # unknown anywhere: say so with the list of names
                raise UsageError(f"suite {suite.name!r} has no entry for generator(s) {', '.join(missing)}")
            suite.entries = [replace(e, generator=picks[e.generator]) for e in suite.entries if e.generator in picks]
    else:
        budget = budgets.resolve(o.budget or DEFAULT_SUITE)
        entries = [suites.Entry(g, o.dataset or DEFAULT_DATASET) for g in o.generators]
        suite = suites.Suite("adhoc", budget, entries, budget.seeds)
    if o.budget:
        suite.budget = budgets.resolve(o.budget)
        if not o.suite or o.generators:
            suite.seeds = suite.budget.seeds
    if o.dataset:
        # Another dataset: the entry's dataset options were for its own dataset.
        suite.entries = [replace(e, dataset=o.dataset, dataset_options={}) if e.dataset != o.dataset else e
                         for e in suite.entries]
    if o.seed_count is not None:
        if o.seed_count < 1:
            raise UsageError(f"--seeds must be >= 1, got {o.seed_count}")
        suite.seeds = tuple(range(o.seed_count))
    if o.seeds:
        twice = sorted({s for s in o.seeds if o.seeds.count(s) > 1})
        if twice:  # the same seed twice is the same run twice, not more statistics
            raise UsageError(f"--seed {twice[0]} is given twice")
        suite.seeds = o.seeds
    if o.seeds or o.seed_count:
        suite.entries = [replace(e, seeds=None) for e in suite.entries]
    if o.rank_by:
        suite.rank_by = o.rank_by
    return suite
