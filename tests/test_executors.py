"""Executors (``genbench_executors``): the local executor with ``--jobs 2`` gives what one
job at a time gives and stops cleanly on a signal, each slot's workers get their own
environment (the GPU pinning), a third-party executor from the docs runs a suite, one
that loses an entry has it recorded as failed in its name, and bad flags and resources
are exit code 2."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

from harness import budgets, hookimpl, suites
from harness.api import Executor, ExecutorContext, ExecutorSettings, ExecutorSpec, Job
from harness.errors import UsageError
from harness.executors.gpus import default_jobs, visible_devices
from harness.executors.local import LocalExecutor
from harness.plans import plan_suite
from harness.plugins import Host
from harness.records import ResultsStore
from harness.runner import SuiteRunner
from tests.helpers import GENBENCH, TinyPlugin, as_from_a_shell, fake_distribution, genbench, leaderboard_rows

DOC = Path(__file__).resolve().parent.parent / "docs" / "plugin-authors.md"


# -- the local executor, --jobs 2 ------------------------------------------------------

def test_jobs_2_gives_the_leaderboard_of_one_job_at_a_time(tmp_path):
    args = ["run", "-g", "clock", "-g", "gaussian", "-g", "noise", "-b", "smoke", "--device", "cpu", "--no-report"]
    started = time.monotonic()
    two = genbench(*args, "--jobs", "2", "--out", tmp_path / "two", timeout=600)
    two_s = time.monotonic() - started
    assert two.returncode == 0, two.stderr
    one = genbench(*args, "--out", tmp_path / "one", timeout=600)
    assert one.returncode == 0, one.stderr
    assert leaderboard_rows(tmp_path / "two", "adhoc") == leaderboard_rows(tmp_path / "one", "adhoc")
    # Every entry's lines, each entry started before it ended; all recorded, the suite run finished.
    for k, name in enumerate(["clock", "gaussian", "noise"], 1):
        lines = [line for line in two.stderr.splitlines() if line.startswith(f"genbench: [{k}/3] {name} ")]
        assert [line.split(": ", 2)[2].split(" ")[0] for line in lines] == ["started", "ok"], two.stderr
    store = ResultsStore(tmp_path / "two" / "genbench.sqlite")
    (suite_run,) = store.suite_runs()
    assert suite_run.finished is not None and [r.status for r in store.runs(suite_run=suite_run.id)] == ["ok"] * 3
    print(f"--jobs 2: {two_s:.1f} s")


def wait_until_running_with_checkpoints(out: Path, proc: subprocess.Popen, count: int) -> ResultsStore:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"genbench ended early: {proc.stderr.read()}")
        if (out / "genbench.sqlite").exists():
            store = ResultsStore(out / "genbench.sqlite")
            running = [r for r in store.runs() if r.status == "running"]
            if len(running) == count and all(list((r.run_dir / "checkpoints").glob("ckpt-*.pt")) for r in running):
                return store
            store.close()
        time.sleep(0.2)
    raise AssertionError("the entries did not both reach a checkpoint in time")


@pytest.mark.skipif(sys.platform != "linux", reason="POSIX signals")
@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_stops_every_running_entry_as_interrupted(tmp_path, signum, code):
    """Only genbench gets the signal (not its workers, as a terminal's Ctrl-C would):
    it stops both running workers, each records its run interrupted, and genbench exits
    128 + the signal."""
    budget = tmp_path / "long.toml"
    budget.write_text("images = 10000000\nwall_clock_s = 600\neval_every = 128\nn_samples = 32\n")
    proc = subprocess.Popen([*GENBENCH, "run", "-g", "clock", "-g", "dcgan", "-g", "gaussian", "-b",
                             str(budget), "--out", str(tmp_path), "--device", "cpu", "--jobs", "2"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=as_from_a_shell)
    store = wait_until_running_with_checkpoints(tmp_path, proc, 2)
    pids = [r.process.pid for r in store.runs() if r.status == "running"]
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == code and "resume" in err, err
    runs = {r.generator: r for r in store.runs()}
    assert [runs["clock"].status, runs["dcgan"].status] == ["interrupted", "interrupted"]
    assert all(f"--resume {r.suite_run}" in r.reason for r in (runs["clock"], runs["dcgan"]))
    # Entry 3 (gaussian) waited for a free slot: still pending, resumable.
    assert runs["gaussian"].status == "pending"
    for pid in pids:  # no worker is left behind
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


# -- each slot's environment (the GPU pinning) -----------------------------------------

def test_pinning_gives_each_slot_its_own_gpu():
    assert visible_devices(4, "cuda", 4, None) == ["0", "1", "2", "3"]
    assert visible_devices(3, "cuda", 2, None) == ["0", "1", "0"]  # more slots than GPUs: shared in turn
    assert visible_devices(2, "cuda", 2, "3,5") == ["3", "5"]  # the GPUs this process was given
    assert visible_devices(2, "cuda", 1, "3,5") == ["3", "3"]  # torch sees only the first
    assert visible_devices(1, "cuda", 4, None) == [None]  # one slot: every GPU, as ever
    assert visible_devices(2, "cpu", 4, None) == [None, None]
    assert visible_devices(2, "cuda:1", 4, None) == [None, None]  # the device names its GPU itself
    assert visible_devices(2, "cuda", 0, None) == [None, None]
    assert [default_jobs("cuda", 4), default_jobs("cuda", 1), default_jobs("cuda", 0), default_jobs("cpu", 8)] == \
        [4, 1, 1, 1]


PROBE = '''
"""A generator that reports a variable of its worker's environment as a metric."""
import os

from harness import Generator, hookimpl


class Probe(Generator):
    name = "probe"
    trains = False

    def train_step(self, batch):
        return {}

    def sample(self, n, rng, condition=None):
        return rng.rand(self.dataset.channels, self.dataset.resolution, self.dataset.resolution) * 2 - 1

    def state_dict(self):
        return {}

    def load_state_dict(self, state):
        pass

    def extra_metrics(self):
        return {"slot": float(os.environ["GENBENCH_TEST_SLOT"])}


@hookimpl
def genbench_generators():
    return [Probe]
'''


def test_each_slot_spawns_its_workers_with_its_environment(tmp_path, monkeypatch):
    """What CUDA_VISIBLE_DEVICES rides on: two slots, two variables, seen by the
    workers of the entries each slot ran (entries of one suite run at once)."""
    root = fake_distribution(tmp_path / "dist", "genbench-probe", "genbench_probe", PROBE, "probe")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")])))
    monkeypatch.syspath_prepend(str(root))
    host = Host()
    suite = suites.Suite("t", budgets.NAMED["smoke"], [suites.Entry("probe", "clocks")], (0, 1))
    store = ResultsStore(tmp_path / "genbench.sqlite")
    executor = LocalExecutor([{"GENBENCH_TEST_SLOT": "1"}, {"GENBENCH_TEST_SLOT": "2"}])
    runner = SuiteRunner(host, store, tmp_path, torch.device("cpu"), False, isolation="process", executor=executor)
    _, outcomes = runner.run_suite(suite, plan_suite(host, suite))
    assert [o.status for o in outcomes] == ["ok", "ok"], [o.reason for o in outcomes]
    assert sorted(o.metrics["slot"] for o in outcomes) == [1.0, 2.0]
    assert "GENBENCH_TEST_SLOT" not in os.environ  # set for each spawn only


# -- executors from plugins ------------------------------------------------------------

def doc_example() -> str:
    """The executor plugin in docs/plugin-authors.md."""
    return re.search(r"<!-- executor example: genbench_pool.py -->\n```python\n(.*?)```", DOC.read_text(),
                     flags=re.S)[1]


def test_the_docs_executor_runs_a_suite(tmp_path):
    root = fake_distribution(tmp_path / "dist", "genbench-pool", "genbench_pool", doc_example(), "pool")
    listed = genbench("plugins", pythonpath=root)
    assert listed.returncode == 0 and "executors: pool" in listed.stdout and "executors: local, ray" in listed.stdout
    done = genbench("run", "-g", "gaussian", "-g", "noise", "-b", "smoke", "--executor", "pool", "--jobs", "2",
                    "--device", "cpu", "--out", tmp_path / "out", "--no-report", pythonpath=root, timeout=600)
    assert done.returncode == 0, done.stderr
    store = ResultsStore(tmp_path / "out" / "genbench.sqlite")
    assert [r.status for r in store.runs()] == ["ok", "ok"]
    assert "## adhoc" in done.stdout and (tmp_path / "out" / "leaderboard-adhoc.md").is_file()
    refused = genbench("run", "-g", "gaussian", "-b", "smoke", "--executor", "pool", "--ray-address", "auto",
                       "--out", tmp_path / "refused", pythonpath=root)
    assert refused.returncode == 2 and "takes no address" in refused.stderr
    assert not (tmp_path / "refused" / "genbench.sqlite").exists()


class Forgetful(Executor):
    """Executes the first job only, and keeps the jobs it was given."""

    def __init__(self) -> None:
        self.given: list[Job] = []

    def run(self, jobs: list[Job], context: ExecutorContext) -> None:
        self.given = jobs
        context.started(jobs[0])
        context.execute_here(jobs[0])
        context.ended(jobs[0])


class ForgetfulPlugin:
    def __init__(self) -> None:
        self.made: list[Forgetful] = []

    def make(self, settings: ExecutorSettings) -> Forgetful:
        if settings.jobs is not None:
            raise UsageError("the forgetful executor takes no --jobs")
        self.made.append(Forgetful())
        return self.made[-1]

    @hookimpl
    def genbench_executors(self):
        return [ExecutorSpec("forgetful", "runs the first entry only", self.make)]


class Breaking(Forgetful):
    """Executes the first job, then raises: a plugin's executor with a bug."""

    def run(self, jobs: list[Job], context: ExecutorContext) -> None:
        super().run(jobs, context)
        raise RuntimeError("lost its connection\nto the scheduler")


def test_an_executor_that_raises_has_its_entries_recorded_failed_with_what_it_raised(tmp_path):
    entries = [suites.Entry("tiny", "clocks"), suites.Entry("tiny", "clocks")]
    suite = suites.Suite("t", budgets.NAMED["smoke"], entries, (0,))
    host = Host(plugins=[("tiny", TinyPlugin())])
    store = ResultsStore(tmp_path / "genbench.sqlite")
    runner = SuiteRunner(host, store, tmp_path, torch.device("cpu"), False, executor=Breaking(),
                         executor_name="breaking")
    suite_run, outcomes = runner.run_suite(suite, plan_suite(host, suite))
    assert [o.status for o in outcomes] == ["ok", "failed"]
    assert outcomes[1].reason == ("the breaking executor lost entry 2/2: it raised RuntimeError: lost its connection "
                                  "to the scheduler")
    assert store.suite_run(suite_run).finished is not None


def test_an_entry_an_executor_loses_is_recorded_failed_in_its_name(tmp_path):
    plugin = ForgetfulPlugin()
    host = Host(plugins=[("tiny", TinyPlugin()), ("forgetful", plugin)])
    assert host.owner("executors", "forgetful") == "forgetful" and {"local", "ray"} <= set(host.executors)
    with pytest.raises(UsageError, match="no --jobs"):
        host.executor("forgetful").factory(ExecutorSettings(jobs=2))
    executor = host.executor("forgetful").factory(ExecutorSettings())
    entries = [suites.Entry("tiny", "clocks", resources={"num_cpus": 2}), suites.Entry("tiny", "clocks")]
    suite = suites.Suite("t", budgets.NAMED["smoke"], entries, (0,))
    store = ResultsStore(tmp_path / "genbench.sqlite")
    runner = SuiteRunner(host, store, tmp_path, torch.device("cpu"), False, executor=executor,
                         executor_name="forgetful")
    suite_run, outcomes = runner.run_suite(suite, plan_suite(host, suite))
    assert [o.status for o in outcomes] == ["ok", "failed"]
    assert outcomes[1].reason == "the forgetful executor lost entry 2/2: it never started"
    assert store.suite_run(suite_run).finished is not None  # its last entry ended, if not well
    first, second = executor.given
    assert (first.k, first.n, second.k) == (1, 2, 2) and first.device == "cpu"
    assert dict(first.resources) == {"num_cpus": 2} and dict(second.resources) == {}
    assert store.run(first.entry.run_id).options["resources"] == {"num_cpus": 2}
    assert "resources" not in store.run(second.entry.run_id).options
    assert first.wall_clock_s == budgets.NAMED["smoke"].wall_clock_s and first.db not in repr(first)


# -- bad input -------------------------------------------------------------------------

@pytest.mark.parametrize(("flags", "says"), [
    (["--executor", "slurm"], "unknown executor 'slurm'; available: local, ray"),
    (["--jobs", "2", "--isolation", "none"], "--isolation none runs entries in this process, one at a time"),
    (["--ray-address", "auto"], "--ray-address is for --executor ray"),
    (["--executor", "ray", "--jobs", "2"], "--jobs is for the local executor"),
    (["--executor", "ray", "--isolation", "none"], "with --executor ray each runs in a Ray worker process"),
])
def test_bad_executor_flags_are_exit_2_before_anything_is_recorded(run_cli, tmp_path, flags, says):
    code, _, err = run_cli("run", "-g", "gaussian", "-b", "smoke", "--out", tmp_path, *flags)
    assert code == 2 and says in err, err
    assert not (tmp_path / "genbench.sqlite").exists()


@pytest.mark.parametrize(("table", "says"), [
    ("{ gpus = 1 }", "unknown resource(s) 'gpus'; expected some of num_cpus, num_gpus, memory"),
    ("{ num_cpus = -1 }", "resource 'num_cpus' must be from 0 to 4,096, got -1"),
    ("{ num_gpus = 1.5 }", "resource 'num_gpus' above 1 must be a whole number, got 1.5"),
    ("{ num_gpus = \"one\" }", "resource 'num_gpus' must be a number of GPUs, got 'one'"),
    ("{ num_cpus = true }", "resource 'num_cpus' must be a number of CPU cores, got True"),
    ("{ memory = 1.5 }", "resource 'memory' must be a whole number of bytes of memory, got 1.5"),
    ("4", "key 'resources' must be dict, got 4"),
])
def test_bad_resources_name_the_file_line_and_entry(run_cli, tmp_path, table, says):
    path = tmp_path / "suite.toml"
    path.write_text(textwrap.dedent(f"""\
        budget = "smoke"

        [[entry]]
        generator = "gaussian"
        dataset = "clocks"

        [[entry]]
        generator = "noise"
        dataset = "clocks"
        resources = {table}
        """))
    code, _, err = run_cli("run", "--suite", path, "--out", tmp_path)
    assert code == 2 and says in err, err
    assert f"{path}, line 10" in err and ("[[entry]] #2" in err or "'resources'" in err), err
    assert not (tmp_path / "genbench.sqlite").exists()


def test_jobs_out_of_bounds_is_exit_2(tmp_path):
    done = genbench("run", "-g", "gaussian", "-b", "smoke", "--out", tmp_path, "--jobs", "0")
    assert done.returncode == 2 and "--jobs" in done.stderr and "must be from 1 to 1,024, got 0" in done.stderr


def test_resources_within_bounds_are_kept():
    assert suites.Entry("g", "d").resources == {}
    from harness.executors.resources import check, task_resources

    assert check({"num_gpus": 0.5, "num_cpus": 4, "memory": 2**30}, "x") == {"num_gpus": 0.5, "num_cpus": 4,
                                                                             "memory": 2**30}
    assert task_resources({}, "cuda") == {"num_gpus": 1} and task_resources({}, "cpu") == {"num_cpus": 1}
    assert task_resources({"num_cpus": 4}, "cuda:0") == {"num_gpus": 1, "num_cpus": 4}


def test_without_ray_the_error_says_how_to_install_it(run_cli, tmp_path, monkeypatch):
    from types import SimpleNamespace

    from harness.executors import ray_connect

    monkeypatch.setattr(ray_connect, "importlib", SimpleNamespace(util=SimpleNamespace(find_spec=lambda name: None)))
    code, _, err = run_cli("run", "-g", "gaussian", "-b", "smoke", "--out", tmp_path, "--executor", "ray")
    assert code == 2 and "--executor ray needs Ray, which is not installed: pip install 'genbench[ray]'" in err
    assert not (tmp_path / "genbench.sqlite").exists()


def test_nothing_imports_ray_unless_it_is_the_executor():
    probe = ("import sys, torch, harness.cli, harness.runner, harness.executors.builtin; from harness.plugins import "
             "Host; h = Host(); h.executor('local').factory(harness.api.ExecutorSettings()); "
             "print('ray' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", "import harness.api; " + probe], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "False"


def test_a_ray_address_nothing_answers_at_is_exit_2_at_once(run_cli, tmp_path):
    import socket

    with socket.socket() as s:  # a port nothing listens on once it is closed
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    started = time.monotonic()
    code, _, err = run_cli("run", "-g", "gaussian", "-b", "smoke", "--out", tmp_path, "--executor", "ray",
                           "--ray-address", f"127.0.0.1:{port}")
    assert code == 2 and f"--ray-address 127.0.0.1:{port}: no Ray cluster answers there" in err, err
    assert time.monotonic() - started < 60 and not (tmp_path / "genbench.sqlite").exists()


def test_ray_on_several_hosts_refuses_an_sqlite_store(monkeypatch):
    """SQLite on a network filesystem is not consistent between hosts: refused before
    anything is recorded; several nodes of one machine may share the file."""
    from harness.executors import ray_connect
    from harness.executors.ray_executor import RayExecutor

    class FakeRay:
        def __init__(self, *hosts):
            self.hosts, self.shut = hosts, False

        def nodes(self):
            return [{"Alive": True, "NodeManagerAddress": h} for h in self.hosts]

        def shutdown(self):
            self.shut = True

    two_hosts, one_host = FakeRay("10.0.0.1", "10.0.0.2"), FakeRay("10.0.0.1", "10.0.0.1")
    monkeypatch.setattr(ray_connect, "connect", lambda address: two_hosts)
    with pytest.raises(UsageError, match="cluster of 2 hosts needs a store they all write to"):
        RayExecutor("auto", "/shared/runs/genbench.sqlite").prepare()
    assert two_hosts.shut
    RayExecutor("auto", "postgresql://bench@db/g").prepare()  # a server: fine
    monkeypatch.setattr(ray_connect, "connect", lambda address: one_host)
    RayExecutor("auto", "/shared/runs/genbench.sqlite").prepare()  # one machine: fine
