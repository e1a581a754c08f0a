"""bench/interleaved.py: implementations timed in turns, and their samples handed to
pytest-benchmark through the one internal call it uses (a pytest-benchmark upgrade
that drops it fails here, not silently in `make bench`)."""

from __future__ import annotations

from bench.interleaved import WARMUP, CaseCache, Impl, measure, report


def test_every_round_times_each_implementation_once_starting_from_a_rotated_one():
    calls: list[str] = []
    impls = {name: Impl(lambda name=name: calls.append(name)) for name in ("a", "b", "c")}
    measured = measure(impls, "cpu", min_rounds=4, max_time=0.0)
    timed = calls[WARMUP * 3:]
    rounds = [timed[i:i + 3] for i in range(0, len(timed), 3)]
    assert len(rounds) == 4 and all(sorted(r) == ["a", "b", "c"] for r in rounds)
    assert [r[0] for r in rounds] == ["a", "b", "c", "a"]
    assert {k: len(v) for k, v in measured.samples.items()} == {"a": 4, "b": 4, "c": 4}
    assert measured.repeats == 1


def test_one_measurement_per_case_shared_by_its_implementations():
    made: list[str] = []

    def case(key):
        def build():
            made.append(key)
            return measure({"x": Impl(lambda: None)}, "cpu", min_rounds=1, max_time=0.0)
        return build

    cache = CaseCache()
    first = cache.get("k1", case("k1"))
    assert cache.get("k1", case("k1")) is first
    cache.get("k2", case("k2"))
    assert made == ["k1", "k2"]


def test_samples_reach_pytest_benchmark_as_rounds(benchmark):
    benchmark.group = "interleaved self-test"
    report(benchmark, [0.3, 0.1, 0.2], {"impl": "fused", "repeats": 1})
    assert benchmark.stats.stats.rounds == 3
    assert benchmark.stats.stats.median == 0.2
    assert benchmark.extra_info["impl"] == "fused"
