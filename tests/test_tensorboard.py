"""genbench run --tensorboard: the event files hold the losses, throughput, final metrics
and sample grids over the run, read back with TensorBoard's own reader; and logging does
not change what the run measures."""

from __future__ import annotations

import sys

import pytest

from harness.records import ResultsStore


def _events(run_dir):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(run_dir), size_guidance={"images": 0, "scalars": 0})
    acc.Reload()
    return acc


def _fd(out):
    store = ResultsStore(out / "genbench.sqlite")
    try:
        (run,) = store.runs()
        return {m.name: m.value for m in store.metrics(run.id)}["fd-clocknet"]
    finally:
        store.close()


def test_tensorboard_logs_scalars_and_grids_without_changing_results(run_cli, tmp_path):
    args = ["run", "-g", "clock", "-b", "smoke", "--device", "cpu", "--no-report"]
    code, _, _ = run_cli(*args, "--out", tmp_path / "a", "--tensorboard", tmp_path / "tb")
    assert code == 0
    (run_dir,) = (tmp_path / "tb").iterdir()
    assert run_dir.name.endswith("-clock-clocks-seed0")
    acc = _events(run_dir)
    scalars = set(acc.Tags()["scalars"])
    assert {"train/loss", "val/loss", "time/step_ms", "time/images_per_wall_s", "metrics/fd-clocknet",
            "metrics/train_images_per_s", "metrics/ssim"} <= scalars
    steps = [e.step for e in acc.Scalars("train/loss")]
    assert steps == sorted(steps) and steps[-1] == 512  # smoke: 512 images
    grids = acc.Images("samples")
    assert len(grids) == len(acc.Scalars("val/loss")) >= 2  # one per evaluation
    assert acc.Images("final samples")[0].width > 0
    fd_logged = acc.Scalars("metrics/fd-clocknet")[0].value

    code, _, _ = run_cli(*args, "--out", tmp_path / "b")
    assert code == 0
    assert _fd(tmp_path / "a") == _fd(tmp_path / "b") == pytest.approx(fd_logged, rel=1e-6)


def test_missing_tensorboard_is_a_clear_error_before_anything_is_recorded(run_cli, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)
    code, _, err = run_cli("run", "-g", "gaussian", "-b", "smoke", "--out", tmp_path, "--tensorboard", tmp_path / "tb")
    assert code == 2 and "needs the tensorboard package" in err
    assert not (tmp_path / "genbench.sqlite").exists()
