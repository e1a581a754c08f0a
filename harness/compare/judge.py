"""Baseline against candidate, key by key: the ratio, the significance, and a mark.

Marks (pytest-benchmark / asv style):
    ``+`` worse    ``-`` better    ``!`` newly failing    ``x`` not comparable
    (blank) no change called
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

from harness.compare.policy import Policy
from harness.compare.sources import SETUP_FIELDS, STATUS, Key, Observations, Side
from harness.compare.stats import Sample, p_value, ratio, smallest_p
from harness.errors import UsageError

WORSE, BETTER, FAILING, INCOMPARABLE, SAME = "+", "-", "!", "x", ""
EXIT_OK, EXIT_REGRESSION = 0, 1


@dataclass
class Row:
    key: Key
    direction: str
    base: Sample | None
    cand: Sample | None
    ratio: float | None
    p: float | None
    mark: str
    note: str = ""

    @property
    def metric(self) -> str:
        return self.key[2]


@dataclass
class Comparison:
    base: Side
    cand: Side
    policy: Policy
    rows: list[Row]

    def regressions(self, fail_on: list[str] | None = None) -> list[Row]:
        """Rows that fail CI: worse or newly failing, among the metrics ``fail_on`` names
        (shell-style patterns; all when None)."""
        bad = [r for r in self.rows if r.mark in (WORSE, FAILING)]
        if fail_on:
            bad = [r for r in bad if any(fnmatch.fnmatchcase(r.metric, p) for p in fail_on)]
        return bad

    def exit_code(self, fail_on: list[str] | None = None) -> int:
        if fail_on:
            known = {r.metric for r in self.rows}
            unknown = [p for p in fail_on if not any(fnmatch.fnmatchcase(m, p) for m in known)]
            if unknown:
                raise UsageError(f"--fail-on {', '.join(unknown)}: no such metric in both sets; "
                                 f"they have: {', '.join(sorted(known))}")
        return EXIT_REGRESSION if self.regressions(fail_on) else EXIT_OK


def _setup_difference(base: Observations, cand: Observations) -> str | None:
    """What differs between the two sides' setups (or within one side), if anything."""
    setups = base.setups | cand.setups
    if len(setups) <= 1:
        return None
    values = {f: sorted({dict(s)[f] for s in setups if f in dict(s)}) for f in SETUP_FIELDS}
    # A field only some setups have (the device of a capped run) is named where it differs.
    differing = {f: v for f, v in values.items() if len(v) > 1}
    if not differing:
        return None
    return "not comparable: different " + "; ".join(f"{f} ({' vs '.join(v)})" for f, v in differing.items())


def _judge(key: Key, base: Observations, cand: Observations, policy: Policy) -> Row:
    b, c = base.sample(), cand.sample()
    if cand.failures and not base.failures:
        return Row(key, base.direction, b, c, None, None, FAILING, "newly failing: " + cand.failures[0])
    difference = _setup_difference(base, cand)
    if difference:
        return Row(key, base.direction, b, c, None, None, INCOMPARABLE, difference)
    if c is None:
        note = "failing on both sides: " + (cand.failures or base.failures or ["no values"])[0]
        return Row(key, base.direction, b, c, None, None, SAME, note)
    if b is None:
        return Row(key, base.direction, b, c, None, None, BETTER, "no longer failing: " + base.failures[0])
    r = ratio(b.median, c.median)
    p = p_value(b, c, policy.test)
    factor = policy.factor_for(key[2])
    up, down = r > factor, r < 1 / factor
    worse = up if base.direction == "min" else down
    better = down if base.direction == "min" else up
    notes = []
    if p is None:
        notes.append("single seed: significance not judged, factor alone")
        significant = True
    else:
        significant = p < policy.alpha
        floor = smallest_p(b.n, c.n, policy.test)
        if floor >= policy.alpha:
            notes.append(f"{b.n} vs {c.n} observations: this test cannot reach p < {policy.alpha:g}")
    if policy.ignores(key[2]):
        notes.append("ignored by the policy")
        mark = SAME
    elif (worse or better) and significant:
        mark = WORSE if worse else BETTER
    else:
        mark = SAME
        if (worse or better) and p is not None:
            notes.append("beyond the factor but not significant")
    return Row(key, base.direction, b, c, r, p, mark, "; ".join(notes))


def compare(base: Side, cand: Side, policy: Policy) -> Comparison:
    """Every key whose subject and context appear on both sides, sorted."""
    groups = {k[:2] for k in base.observations} & {k[:2] for k in cand.observations}
    if not groups:
        raise UsageError(f"nothing to compare: {base.description} and {cand.description} "
                         "share no generator and dataset (or benchmark)")
    keys = sorted(k for k in base.observations.keys() | cand.observations.keys() if k[:2] in groups)
    rows = []
    for key in keys:
        if key[2] == STATUS and any(k[:2] == key[:2] and k[2] != STATUS for k in keys):
            continue  # a side on which every run failed: its metrics' rows carry that
        b, c = base.observations.get(key), cand.observations.get(key)
        if b is None or c is None:
            present = b or c
            assert present is not None
            missing = base if b is None else cand
            failures = _group_failures(missing, key)
            if not failures:
                rows.append(Row(key, present.direction, present.sample() if b else None,
                                present.sample() if c else None, None, None, INCOMPARABLE,
                                "not comparable: recorded on one side only"))
                continue
            b = b or Observations(present.direction, failures=failures)
            c = c or Observations(present.direction, failures=failures)
        rows.append(_judge(key, b, c, policy))
    return Comparison(base, cand, policy, rows)


def _group_failures(side: Side, key: Key) -> list[str]:
    placeholder = side.observations.get((*key[:2], STATUS))
    return list(placeholder.failures) if placeholder else []
