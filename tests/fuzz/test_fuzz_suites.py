"""Generated suite and budget TOML: the built-in suites mutated (keys dropped, values of
the wrong type or out of bounds, unknown keys), and bytes that are not TOML or not UTF-8.
Each is planned with ``genbench run --suite FILE --dry-run``, which validates everything
a real run would before recording, and records nothing."""

from __future__ import annotations

import json
import math

import tomllib
from contract import check, genbench, recorded
from hypothesis import given, settings
from hypothesis import strategies as st

from harness import suites

QUICK = tomllib.loads(suites.builtin_path("quick").read_text())


def toml_value(value: object) -> str:
    """A value as TOML (tests only write what tomllib reads back the same)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # JSON's escapes are TOML's basic-string escapes
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(value)


def toml_text(suite: dict) -> str:
    """A suite as TOML: ``budgets`` and ``entry`` as tables where they are tables, else as
    the plain (wrong) values they are."""
    budgets = suite.get("budgets")
    budget_tables = isinstance(budgets, dict) and all(isinstance(t, dict) for t in budgets.values())
    entries = suite.get("entry")
    entry_tables = isinstance(entries, list) and all(isinstance(e, dict) for e in entries) and entries
    tables = {"budgets"} if budget_tables else set()
    tables |= {"entry"} if entry_tables else set()
    plain = {k: v for k, v in suite.items() if k not in tables}
    lines = [f"{json.dumps(k)} = {toml_value(v)}" for k, v in plain.items()]
    for name, table in (budgets.items() if budget_tables else ()):
        lines.append(f"[budgets.{json.dumps(name)}]")
        lines += [f"{json.dumps(k)} = {toml_value(v)}" for k, v in table.items()]
    for entry in entries if entry_tables else ():
        lines.append("[[entry]]")
        lines += [f"{json.dumps(k)} = {toml_value(v)}" for k, v in entry.items()]
    return "\n".join(lines) + "\n"


scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1), st.floats(allow_nan=True),
                    st.text(max_size=10), st.just(""), st.just("a/b"), st.just("../x"), st.just(10**12))
values = st.recursive(scalars.filter(lambda v: v is not None),
                      lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                                  max_size=3),
                      max_leaves=6)
KEYS = ["name", "budget", "seeds", "description", "entry", "budgets", "generator", "dataset", "dataset_options",
        "config", "samplers", "resolution", "channels", "split_seed", "width", "lr", "ddim_steps", "images",
        "n_samples", "wall_clock_s", "eval_every", "base", "early_stopping_patience"]


@st.composite
def mutated_suites(draw) -> tuple[dict, bool]:
    """The quick suite with a few mutations; whether the result is surely invalid."""
    suite = json.loads(json.dumps(QUICK))
    suite["entry"] = suite["entry"][:draw(st.integers(0, 3))]
    for _ in range(draw(st.integers(1, 3))):
        entries = [e for e in suite.get("entry", []) if isinstance(e, dict)] if isinstance(suite.get("entry"),
                                                                                            list) else []
        table = draw(st.sampled_from([suite, *entries]))
        kind = draw(st.sampled_from(["drop", "set", "unknown", "nested", "budget"]))
        key = draw(st.sampled_from(sorted(table) or ["name"]))
        if kind == "drop" and key in table:
            del table[key]
        elif kind == "set":
            table[key] = draw(values)
        elif kind == "unknown":
            table[draw(st.text(min_size=1, max_size=8).filter(lambda k: k not in suites.ENTRY_KEYS
                                                                and k not in suites.TOP_KEYS))] = 1
        elif kind == "nested" and entries:
            entry = draw(st.sampled_from(entries))
            options = entry.setdefault(draw(st.sampled_from(["dataset_options", "config"])), {})
            options[draw(st.sampled_from(KEYS))] = draw(values)
        elif kind == "budget":
            budget = {k: draw(values) for k in draw(st.lists(st.sampled_from(KEYS[17:]), max_size=4, unique=True))}
            suite["budgets"] = {"b": budget}
            suite["budget"] = "b"
    return suite, _surely_invalid(suite)


def _surely_invalid(suite: dict) -> bool:
    """Invalid whatever the values: a missing or unknown key, no entries."""
    entries = suite.get("entry")
    if "budget" not in suite or not isinstance(entries, list) or not entries or set(suite) - set(suites.TOP_KEYS):
        return True
    return any(not isinstance(e, dict) or {"generator", "dataset"} - set(e) or set(e) - set(suites.ENTRY_KEYS)
               for e in entries)


def test_mutated_suites(fuzz_settings, tmp_path_factory):
    @settings(parent=fuzz_settings)
    @given(mutated_suites())
    def one(case):
        suite, surely_bad = case
        root = tmp_path_factory.mktemp("suite")
        path = root / "suite.toml"
        path.write_text(toml_text(suite))
        before = recorded(root)
        outcome = genbench("run", "--suite", path, "--dry-run", "--out", root / "runs", cwd=root)
        check("suite TOML", outcome, names=(str(path),), before=before, after=recorded(root), bad=surely_bad)

    one()


def test_bytes_that_are_not_a_suite(fuzz_settings, tmp_path_factory):
    text = suites.builtin_path("quick").read_bytes()

    @settings(parent=fuzz_settings)
    @given(st.one_of(st.binary(max_size=200),
                     st.tuples(st.integers(0, len(text)), st.binary(min_size=1, max_size=8)).map(
                         lambda cut: text[:cut[0]] + cut[1] + text[cut[0]:]),
                     st.integers(0, len(text)).map(lambda n: text[:n])))
    def one(data):
        root = tmp_path_factory.mktemp("bytes")
        path = root / "suite.toml"
        path.write_bytes(data)
        before = recorded(root)
        outcome = genbench("run", "--suite", path, "--dry-run", "--out", root / "runs", cwd=root)
        check("suite bytes", outcome, names=(str(path),), before=before, after=recorded(root), bad=False)

    one()


def test_budget_files(fuzz_settings, tmp_path_factory):
    @settings(parent=fuzz_settings)
    @given(st.dictionaries(st.sampled_from(KEYS[17:]), values, max_size=6))
    def one(table):
        root = tmp_path_factory.mktemp("budget")
        path = root / "tiny.toml"
        path.write_text(toml_text(table))
        before = recorded(root)
        outcome = genbench("run", "-g", "gaussian", "--budget", path, "--dry-run", "--out", root / "runs", cwd=root)
        complete = {"images", "wall_clock_s", "eval_every", "n_samples"} <= set(table) or "base" in table
        check("budget TOML", outcome, names=(str(path),), before=before, after=recorded(root), bad=not complete)

    one()
