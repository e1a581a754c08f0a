"""The build chain: which kernels were compiled, and the CPU-only build."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from harness import ops

ROOT = Path(__file__).resolve().parent.parent


def test_extension_is_loaded_with_cpu_kernels():
    assert ops.LOAD_ERROR is None, ops.LOAD_ERROR
    assert ops.BUILD_INFO["cpu"] and "cpu" in ops.built_backends()


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="no nvcc: the CUDA sources are not compiled here")
def test_cuda_sources_were_compiled_when_nvcc_exists():
    assert ops.BUILD_INFO["cuda"], "nvcc and a CUDA torch are present, so the CUDA kernels must be built"
    assert ops.BUILD_INFO["cuda_architectures"] == "80,90"


@pytest.mark.slow
def test_genbench_cuda_off_builds_cpu_only(tmp_path):
    env = {**os.environ, "GENBENCH_CUDA": "OFF"}
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-build-isolation", "--no-deps", "-q",
                    "-w", str(tmp_path), str(ROOT), "--config-settings", f"build-dir={tmp_path / 'build'}"],
                   check=True, env=env)
    (wheel,) = tmp_path.glob("genbench-*.whl")
    with zipfile.ZipFile(wheel) as z:
        (so,) = [n for n in z.namelist() if n.startswith("harness/_C")]
        z.extract(so, tmp_path)
    needed = subprocess.run(["readelf", "-d", str(tmp_path / so)], capture_output=True, text=True).stdout
    assert "libc10.so" in needed and "libtorch_cpu.so" in needed
    assert "cudart" not in needed and "libc10_cuda" not in needed
