"""The ray executor on a real Ray cluster on this machine: a head and a second node
(``ray start --address``), one CPU each, stopped afterwards by the processes this test
started. A smoke suite through Ray into PostgreSQL gives the local run's leaderboard; a
worker killed mid-training is retried and resumes from its checkpoint without a
duplicate row; a hung entry is cancelled and recorded failed; Ctrl-C stops the entry's
task and leaves it resumable. Marked ``ray`` (``pytest -m ray``): minutes, not seconds.

Both runs of the comparison use one CPU thread (``OMP_NUM_THREADS=1``, what Ray gives a
task of one CPU), so that their numbers can be equal to the last bit."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from harness.records import ResultsStore
from tests.helpers import GENBENCH, as_from_a_shell, fake_distribution, free_port, genbench, leaderboard_rows

pytestmark = [pytest.mark.ray, pytest.mark.skipif(sys.platform != "linux", reason="a local Ray cluster, /proc")]
RAY = Path(sys.executable).with_name("ray")
THREADS = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
# The cluster's authentication does not depend on a token in ~/.ray that another Ray left.
AUTH = {"RAY_AUTH_MODE": "disabled"}

HANG = '''
"""A generator whose training step never returns."""
import time

from harness import Generator, hookimpl


class Hang(Generator):
    name = "hang"
    default_config = {"batch_size": 16}

    def train_step(self, batch):
        time.sleep(3600)
        return {}

    def sample(self, n, rng, condition=None):
        return rng.rand(self.dataset.channels, self.dataset.resolution, self.dataset.resolution) * 2 - 1

    def state_dict(self):
        return {}

    def load_state_dict(self, state):
        pass


@hookimpl
def genbench_generators():
    return [Hang]
'''

SUITE = """\
name = "raysmoke"
budget = "smoke"
{entries}
"""
ENTRY = """
[[entry]]
generator = "{g}"
dataset = "clocks"
dataset_options = {{ resolution = 32, channels = 1 }}
"""
GENERATORS = ("clock", "dcgan", "betavae", "gaussian", "noise", "train-copy")


def processes() -> dict[int, tuple[int, str]]:
    """Every process: pid -> (parent pid, command line)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            found[int(entry.name)] = (parent, cmdline)
    return found


class RayCluster:
    """A head and a second node on this machine, each with one CPU and ports of its own
    (another Ray on this machine is left alone: it is stopped by the processes that name
    its temp folder or its port, and their children)."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.temp = Path(tempfile.mkdtemp(prefix="gbray-", dir="/tmp"))  # short: Ray's socket paths
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"

    def _start(self, *args: str) -> None:
        ports = ["--node-manager-port", "--object-manager-port", "--dashboard-agent-listen-port",
                 "--dashboard-agent-grpc-port", "--runtime-env-agent-port", "--metrics-export-port"]
        command = [str(RAY), "start", "--num-cpus", "1", "--object-store-memory", "100000000",
                   "--disable-usage-stats", "--node-ip-address", "127.0.0.1", *args,
                   *[str(part) for flag in ports for part in (flag, free_port())]]
        done = subprocess.run(command, env=self.env, capture_output=True, text=True, timeout=180)
        assert done.returncode == 0, done.stdout + done.stderr

    def start(self, nodes: int = 2) -> None:
        """The head, then ``nodes - 1`` more nodes joined to it."""
        self._start("--head", "--port", str(self.port), "--temp-dir", str(self.temp), "--include-dashboard=false",
                    "--dashboard-port", str(free_port()), "--ray-client-server-port", str(free_port()))
        for _ in range(nodes - 1):
            self._start("--address", self.address)

    def stop(self) -> None:
        table = processes()
        ours = {pid for pid, (_, cmd) in table.items()
                if str(self.temp) in cmd or f":{self.port} " in f"{cmd} " or f":{self.port}," in cmd}
        while children := {pid for pid, (parent, _) in table.items() if parent in ours and pid not in ours}:
            ours |= children
        started = {pid: table[pid][1] for pid in ours}
        for signum in (signal.SIGTERM, signal.SIGKILL):
            # Only a process still there under its command line: never a later one that took its pid.
            now = processes()
            for pid in [pid for pid, cmd in started.items() if pid in now and now[pid][1] == cmd and _alive(pid)]:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signum)
            deadline = time.monotonic() + 10
            while any(_alive(pid) for pid in started) and time.monotonic() < deadline:
                time.sleep(0.2)
        shutil.rmtree(self.temp, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.fixture(scope="module")
def plugins_dir(tmp_path_factory) -> Path:
    return fake_distribution(tmp_path_factory.mktemp("dist"), "genbench-hang", "genbench_hang", HANG, "hang")


@pytest.fixture(scope="module")
def run_env(plugins_dir) -> dict[str, str]:
    """The environment of the cluster and of the genbench under test."""
    path = os.pathsep.join(filter(None, [str(plugins_dir), os.environ.get("PYTHONPATH")]))
    return {**os.environ, **THREADS, **AUTH, "PYTHONPATH": path}


@pytest.fixture(scope="module")
def cluster(run_env):
    ray = RayCluster(run_env)
    try:
        ray.start()
        yield ray
    finally:
        ray.stop()


def quality(store: ResultsStore) -> dict[str, dict[str, float | None]]:
    """Each run's metrics by generator, timing left out."""
    return {run.generator: {m.name: m.value for m in store.metrics(run.id) if m.kind != "timing"}
            for run in store.runs()}


def test_a_smoke_suite_through_ray_into_postgresql_equals_the_local_run(cluster, run_env, tmp_path, postgres_url):
    suite = tmp_path / "raysmoke.toml"
    suite.write_text(SUITE.format(entries="".join(ENTRY.format(g=g) for g in GENERATORS)))
    local = genbench("run", "--suite", suite, "--out", tmp_path / "local", "--device", "cpu", env=run_env,
                     timeout=900)
    assert local.returncode == 0, local.stderr
    ray = genbench("run", "--suite", suite, "--out", tmp_path / "ray", "--device", "cpu", "--db", postgres_url,
                   "--executor", "ray", "--ray-address", cluster.address, env=run_env, timeout=900)
    assert ray.returncode == 0, ray.stderr
    assert "ray: 6 entries on 2 node(s), 2 CPU(s)" in ray.stderr
    for k, name in enumerate(GENERATORS, 1):  # the entry lines of a local suite, each entry's in order
        lines = [line for line in ray.stderr.splitlines() if line.startswith(f"genbench: [{k}/6] {name} ")]
        assert [line.split(": ", 2)[2].split(" ")[0] for line in lines] == ["started", "ok"], ray.stderr
    assert leaderboard_rows(tmp_path / "ray", "raysmoke") == leaderboard_rows(tmp_path / "local", "raysmoke")
    here, there = ResultsStore(tmp_path / "local" / "genbench.sqlite"), ResultsStore(postgres_url)
    assert quality(there) == quality(here) and len(quality(there)) == 6
    (suite_run,) = there.suite_runs()
    assert suite_run.finished is not None and {r.status for r in there.runs()} == {"ok"}
    # The printed leaderboard is the local one: the same table, but for its title and timing columns.
    assert ray.stdout.count("\n| ") == local.stdout.count("\n| ")


def wait_for(condition, proc: subprocess.Popen, what: str, timeout: float = 300):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"genbench ended before {what}: {proc.stderr.read()}")
        found = condition()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"no {what} in {timeout} s")


def training_with_a_checkpoint(db: Path):
    """The running run, once it has a checkpoint and its evaluation."""
    if not db.exists():
        return None
    store = ResultsStore(db)
    try:
        run = next((r for r in store.runs() if r.status == "running"), None)
        if run is None or not list((run.run_dir / "checkpoints").glob("ckpt-*.pt")) or not store.evaluations(run.id):
            return None
        return run
    finally:
        store.close()


def start_long_clock(tmp_path: Path, cluster: RayCluster, env: dict[str, str],
                     images: int = 4096) -> tuple[subprocess.Popen, Path]:
    budget = tmp_path / "long.toml"
    budget.write_text(f"images = {images}\nwall_clock_s = 600\neval_every = 512\nn_samples = 32\n")
    out = tmp_path / "out"
    proc = subprocess.Popen([*GENBENCH, "run", "-g", "clock", "-b", str(budget), "--out", str(out), "--device", "cpu",
                             "--executor", "ray", "--ray-address", cluster.address],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            preexec_fn=as_from_a_shell)
    return proc, out


def test_a_killed_worker_is_retried_and_resumes_from_its_checkpoint(cluster, run_env, tmp_path):
    proc, out = start_long_clock(tmp_path, cluster, run_env)
    run = wait_for(lambda: training_with_a_checkpoint(out / "genbench.sqlite"), proc, "a checkpoint")
    killed = run.process.pid
    os.kill(killed, signal.SIGKILL)  # the Ray worker process itself: Ray retries its task
    store = ResultsStore(out / "genbench.sqlite")
    latest = int(max((run.run_dir / "checkpoints").glob("ckpt-*.pt")).stem.split("-")[1])
    before = [e for e in store.evaluations(run.id) if e.images_seen <= latest]
    _, err = proc.communicate(timeout=900)
    assert proc.returncode == 0, err
    assert "restarted (pid" in err  # and, unless the retry started within one poll, "its worker process is gone"
    (row,) = store.runs()  # one row, however many processes ran it
    assert row.status == "ok" and row.used["images_seen"] == 4096 and row.process.pid != killed
    assert row.attempts == 2  # started by the first task's process, then by its retry
    evaluations = [e.images_seen for e in store.evaluations(run.id)]
    assert evaluations == list(range(512, 4097, 512))  # each once
    # Resumed, not started over: what was evaluated up to its checkpoint was not evaluated again.
    assert [e for e in store.evaluations(run.id) if e.images_seen <= latest] == before
    logged = [json.loads(line)["images_seen"] for line in (row.run_dir / "stats.jsonl").read_text().splitlines()]
    assert logged[:-1] == evaluations and logged[-1] == 4096  # the final evaluation's line closes it


def test_a_hung_entry_is_cancelled_and_the_suite_goes_on(cluster, run_env, tmp_path):
    budget = tmp_path / "short.toml"
    budget.write_text("images = 512\nwall_clock_s = 3\neval_every = 256\nn_samples = 32\n")
    started = time.monotonic()
    done = genbench("run", "-g", "hang", "-g", "gaussian", "-b", budget, "--out", tmp_path, "--device", "cpu",
                    "--executor", "ray", "--ray-address", cluster.address,
                    env={**run_env, "GENBENCH_GRACE_S": "1"}, timeout=300)
    took = time.monotonic() - started
    assert done.returncode == 1, done.stderr
    runs = {r.generator: r for r in ResultsStore(tmp_path / "genbench.sqlite").runs()}
    assert runs["gaussian"].status == "ok"
    hang = runs["hang"]
    assert hang.status == "failed" and hang.reason.startswith("the ray executor cancelled entry 1/2: it ran "), \
        hang.reason
    assert "past its allowance of 12 s (the budget's wall clock plus 1 s per phase; hung?)" in hang.reason
    assert took < 120, took


def test_ctrl_c_stops_the_tasks_and_leaves_the_entry_to_resume(cluster, run_env, tmp_path):
    # Long enough that the run is still training when the stop reaches it (with 4,096
    # images, a loaded CI machine once finished the run first).
    proc, out = start_long_clock(tmp_path, cluster, run_env, images=32768)
    wait_for(lambda: training_with_a_checkpoint(out / "genbench.sqlite"), proc, "a checkpoint")
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    # The task stopped itself (no ray.cancel, whose race with the reply can abort the driver).
    assert "genbench: ray: 1 of 1 task(s) stopped as asked, 0 forced" in err, err
    assert not list(out.glob(".genbench-stop-*"))  # or a --resume would stop at once
    store = ResultsStore(out / "genbench.sqlite")
    (row,) = store.runs()
    assert row.status == "interrupted" and f"--resume {row.suite_run}" in row.reason
    resumed = genbench("run", "--resume", row.suite_run, "--out", out, "--executor", "ray", "--ray-address",
                       cluster.address, env=run_env, timeout=900)
    assert resumed.returncode == 0, resumed.stderr
    (row,) = store.runs()
    assert row.status == "ok" and row.used["images_seen"] == 32768
    assert [e.images_seen for e in store.evaluations(row.id)] == list(range(512, 32769, 512))
