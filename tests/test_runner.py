"""The runner end to end under the smoke budget: run directories, the results store,
failure isolation (a generator that raises, a NaN loss), determinism, leaderboards,
and an interrupted run that resumes to the same weights."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from harness import Dataset, DatasetSpec, TensorSplit, budgets, hookimpl, suites
from harness.plugins import Host
from harness.records import ResultsStore, RunDir
from harness.records.processes import ProcessId
from harness.runner import SuiteRunner
from tests.helpers import GENBENCH, TinyPlugin, as_from_a_shell, run_suite, tiny_suite


def test_failures_are_isolated_and_recorded(tmp_path):
    suite = tiny_suite({}, {"fail_at": 3}, {"nan_at": 5})
    store, suite_run, outcomes = run_suite(tmp_path, suite)
    assert len(store.runs(suite_run=suite_run)) == 3
    assert [o.status for o in outcomes] == ["ok", "failed", "failed"]
    runs = {r.id: r for r in store.runs(suite_run=suite_run)}
    raised = runs[outcomes[1].run_id]
    assert raised.reason == "RuntimeError: planted failure"
    assert "planted failure" in (outcomes[1].run_dir / "error.txt").read_text()
    nan = runs[outcomes[2].run_id]
    assert nan.reason == "loss became nan at step 5" and nan.failed_step == 5
    assert nan.used["images_seen"] == 4 * 16
    ok = runs[outcomes[0].run_id]
    assert ok.used["images_seen"] == budgets.NAMED["smoke"].images
    assert ok.given["images"] == budgets.NAMED["smoke"].images


def test_a_plugin_dataset_built_from_tensors(tmp_path):
    """A third-party dataset through genbench_datasets, held as TensorSplits."""

    def build_stripes(seed: int = 0, resolution: int = 16) -> Dataset:
        g = torch.Generator().manual_seed(seed)
        phase = torch.rand(300, generator=g)
        cols = torch.arange(resolution) / resolution
        images = torch.sin(2 * torch.pi * (cols[None, :] * 3 + phase[:, None]))
        images = images[:, None, None, :].expand(-1, 1, resolution, -1).contiguous()
        split = lambda a, b: TensorSplit(images[a:b])  # noqa: E731
        return Dataset("stripes", resolution, 1, split(0, 200), split(200, 250), split(250, 300))

    class StripesPlugin:
        @hookimpl
        def genbench_datasets(self):
            return [DatasetSpec("stripes", build=build_stripes, defaults={"resolution": 16})]

    host = Host(plugins=[("tiny", TinyPlugin()), ("stripes", StripesPlugin())])
    suite = suites.Suite("t", budgets.NAMED["smoke"], [suites.Entry("tiny", "stripes")], (0,))
    store, _, (outcome,) = run_suite(tmp_path, suite, host)
    assert outcome.status == "ok", outcome.reason
    assert store.run(outcome.run_id).dataset == "stripes"
    assert host.owner("datasets", "stripes") == "stripes"


def test_run_directory_and_store_contents(tmp_path):
    store, _, (outcome,) = run_suite(tmp_path, tiny_suite({}))
    d = outcome.run_dir
    assert d.name.startswith(outcome.run_id) and d.name.endswith("-t-tiny-clocks")
    options = json.loads((d / "options.json").read_text())
    assert options["budget"]["name"] == "smoke" and options["config"]["batch_size"] == 16
    stats = [json.loads(line) for line in (d / "stats.jsonl").read_text().splitlines()]
    assert [s["images_seen"] for s in stats] == [256, 512, 512] and stats[-1]["final"]
    assert (d / "samples.png").is_file() and list((d / "checkpoints").glob("ckpt-*.pt"))
    metrics = {m.name: m for m in store.metrics(outcome.run_id)}
    assert metrics["ssim"].value is not None and metrics["ssim"].details["kind"] == "nearest-real"
    for name in ("train_images_per_s", "step_ms", "sample_images_per_s", "sample_batch_ms", "peak_mem_mb",
                 "params", "wall_s"):
        assert metrics[name].value > 0, name
    run = store.run(outcome.run_id)
    env = run.env
    assert env["ops_backend"] in ("cpu", "reference") and env["seeds"] == [0]
    assert env["versions"]["torch"] == torch.__version__
    assert len(store.evaluations(outcome.run_id)) == 2
    assert store.journal_mode == "wal"


def test_same_seed_same_numbers(tmp_path):
    metrics = []
    for i in range(2):
        store, _, (outcome,) = run_suite(tmp_path / str(i), tiny_suite({}))
        metrics.append({m.name: m.value for m in store.metrics(outcome.run_id)})
    assert metrics[0]["ssim"] == metrics[1]["ssim"]


def test_clock_smoke_run_through_the_cli(run_cli, tmp_path):
    code, out, err = run_cli("run", "--suite", "smoke", "--out", tmp_path, "--no-progress")
    assert code == 0, err
    assert "| clock | clocks | 0 |" in out and "ssim ↑" in out and "paired" in out
    # Domain FD (flagged: N = 64 < 2048), its FD∞ and KID; FID n/a with its reason.
    assert "fd-clocknet ↓" in out and "fd-clocknet-inf ↓" in out and "kid-clocknet ↓" in out and "†" in out
    assert "- † fd-clocknet from N = 64 < 2048 samples" in out
    assert "| n/a |" in out and "- fid, fid-inf, kid-inception n/a for clock, " in out
    assert "no FID Inception weights" in out
    for fmt in ("md", "csv", "json"):
        assert (tmp_path / f"leaderboard-smoke.{fmt}").is_file()
    board = json.loads((tmp_path / "leaderboard-smoke.json").read_text())
    assert {r["generator"] for r in board["rows"]} == {"clock", "dcgan", "upgan", "betavae", "vqvae", "ddpm", "ldm",
                                                       "gaussian", "noise", "train-copy"}
    assert all(r["status"] == "ok" for r in board["rows"])
    fd = [r["fd-clocknet"] for r in board["rows"]]
    assert fd == sorted(fd)  # ranked by the domain FD
    (row,) = [r for r in board["rows"] if r["generator"] == "clock"]
    assert 0 < row["ssim"] <= 1 and row["ssim_kind"] == "paired"
    headers = [c["header"] for c in board["columns"]]
    assert "train img/s ↑" in headers and "peak MiB ↓" in headers
    # A log (stderr is no terminal here) shows a line per entry as it starts and ends.
    starts = re.findall(r"^genbench: \[(\d+)/(\d+)\] (\S+) · clocks · seed 0: started$", err, flags=re.M)
    ends = re.findall(r"^genbench: \[(\d+)/(\d+)\] (.+?) · clocks · seed 0: ok · (.+)$", err, flags=re.M)
    n = len(starts)
    assert [int(k) for k, total, _ in starts] == list(range(1, n + 1)) and {int(t) for _, t, _ in starts} == {n}
    assert {"clock", "gaussian", "ddpm"} <= {who for _, _, who in starts}
    assert len(ends) == len(board["rows"])  # an entry's sampler variants end with it, a line each
    (clock_end,) = [rest for _, _, who, rest in ends if who == "clock"]
    assert re.fullmatch(r"512/512 img \(100%\) · \d+\.\d s · fd-clocknet [\d.,]+", clock_end), clock_end
    assert next(rest for _, _, who, rest in ends if who == "gaussian").startswith("no training · ")
    # The closing summary: where the results are, and what to do next.
    assert f"genbench: {len(ends)} of {len(ends)} run(s) ok" in err
    assert f"  report       {tmp_path / 'report-smoke.html'}" in err
    assert f"  database     {tmp_path / 'genbench.sqlite'}" in err
    assert "trained rows ahead of the gaussian baseline" in err
    assert f"genbench run --suite smoke --out {tmp_path} --seeds 3 --label smoke-seeds3" in err
    code, csv_out, _ = run_cli("leaderboard", "--out", tmp_path, "--format", "csv")
    assert code == 0 and csv_out.splitlines()[0].startswith(
        "generator,dataset,seed,setting,fd-clocknet ↓,fd-clocknet low,fd-clocknet high,fd-clocknet-inf ↓,"
        "fd-clocknet-inf low,fd-clocknet-inf high,kid-clocknet ↓,kid-clocknet low,kid-clocknet high,")
    # (N = 64 = N_real: KID has no std over subsets)
    code, _, _ = run_cli("clock", "11:10:30", "--out", tmp_path, "--png", tmp_path / "c.png")
    assert code == 0 and (tmp_path / "c.png").is_file()


def wait_for_checkpoint(run_root: Path, proc: subprocess.Popen, timeout: float = 120) -> Path:
    deadline = time.time() + timeout
    while time.time() < deadline:
        found = list(run_root.glob("*/checkpoints/ckpt-*.pt"))
        if found:
            return found[0]
        if proc.poll() is not None:
            raise AssertionError(f"run ended before a checkpoint: {proc.stderr.read()}")
        time.sleep(0.1)
    raise AssertionError("no checkpoint in time")


def test_killed_run_resumes_to_the_same_weights(tmp_path):
    budget = tmp_path / "resume.toml"
    budget.write_text("images = 4096\nwall_clock_s = 600\neval_every = 512\nn_samples = 32\n")
    killed = tmp_path / "killed"
    proc = subprocess.Popen([*GENBENCH, "run", "-g", "clock", "-b", str(budget), "--out", str(killed),
                             "--device", "cpu"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for_checkpoint(killed, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    run_dir = next(killed.glob("0*-adhoc-clock-clocks"))
    store = ResultsStore(killed / "genbench.sqlite")
    deadline = time.monotonic() + 60  # its worker gets SIGTERM as the supervisor dies, and records that
    while (row := store.runs()[0]).status == "running" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert row.status == "interrupted"  # resumable
    store.close()
    resumed = subprocess.run([*GENBENCH, "run", "--resume", row.id, "--out", str(killed)],
                             capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    assert (killed / "leaderboard-adhoc.md").is_file() and (killed / "report-adhoc.html").is_file()
    store = ResultsStore(killed / "genbench.sqlite")
    row = store.run(row.id)
    assert row.status == "ok" and row.used["images_seen"] == 4096
    stats = [json.loads(line) for line in (run_dir / "stats.jsonl").read_text().splitlines()]
    assert stats[-1]["images_seen"] == 4096

    straight = tmp_path / "straight"
    done = subprocess.run([*GENBENCH, "run", "-g", "clock", "-b", str(budget), "--out", str(straight),
                           "--device", "cpu"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr

    def final_weights(root: Path):
        ckpt = sorted(next(root.glob("0*-adhoc-clock-clocks")).glob("checkpoints/ckpt-*.pt"))[-1]
        return torch.load(ckpt, weights_only=True)["generator"]["net"]

    a, b = final_weights(killed), final_weights(straight)
    for key in a:
        assert torch.equal(a[key], b[key]), key


def test_resume_of_a_finished_run_is_refused(run_cli, tmp_path):
    code, _, _ = run_cli("run", "-g", "clock", "-b", "smoke", "--out", tmp_path, "--no-progress")
    run_id = ResultsStore(tmp_path / "genbench.sqlite").runs()[0].id
    code, _, err = run_cli("run", "--resume", run_id, "--out", tmp_path)
    assert code == 2 and "already finished" in err


@pytest.mark.skipif(sys.platform != "linux", reason="POSIX signals")
@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_interrupt_marks_the_run_and_exits_128_plus_the_signal(tmp_path, signum, code):
    budget = tmp_path / "long.toml"
    budget.write_text("images = 10000000\nwall_clock_s = 600\neval_every = 256\nn_samples = 32\n")
    proc = subprocess.Popen([*GENBENCH, "run", "-g", "clock", "-b", str(budget), "--out", str(tmp_path),
                             "--device", "cpu"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=as_from_a_shell)
    wait_for_checkpoint(tmp_path, proc)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == code and "resume" in err
    (row,) = ResultsStore(tmp_path / "genbench.sqlite").runs()
    assert row.status == "interrupted" and f"--resume {row.suite_run}" in row.reason


def test_a_resume_after_the_final_evaluation_logs_nothing_twice(tmp_path):
    store, _, (outcome,) = run_suite(tmp_path, tiny_suite({}))
    run = store.run(outcome.run_id)
    logged, evaluations = RunDir(run.run_dir).stats(), store.evaluations(run.id)
    # Killed after the final checkpoint, before its result was recorded, on a host that is gone.
    store.start_run(run.id, {}, ProcessId("a-host-that-is-gone", 1, None))
    assert store.run(run.id).status == "interrupted"
    host = Host(plugins=[("tiny", TinyPlugin())])
    _, (again,) = SuiteRunner(host, store, tmp_path, torch.device("cpu"), show_progress=False).resume(run.id)
    assert again.status == "ok" and store.run(run.id).status == "ok"
    assert RunDir(run.run_dir).stats() == logged and store.evaluations(run.id) == evaluations
