"""``import harness`` (the plugin API) stays pure PyTorch: it loads neither the fused ops
nor their compiled extension, and does not initialise CUDA, so a plugin or a tool can
import it cheaply, on any machine, and before forking workers."""

from __future__ import annotations

import json
import subprocess
import sys

# Run in a fresh interpreter: this test process has long imported everything.
PROBE = """
import json, sys
import torch
import harness
loaded = [m for m in sys.modules if m == "harness._C" or m == "harness.ops" or m.startswith("harness.ops.")]
print(json.dumps({"loaded": sorted(loaded), "cuda_initialized": torch.cuda.is_initialized()}))
"""


def test_import_harness_loads_no_ops_no_extension_and_no_cuda():
    proc = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    found = json.loads(proc.stdout.strip().splitlines()[-1])
    assert found == {"loaded": [], "cuda_initialized": False}


def test_the_command_line_loads_scipy_only_for_compare():
    """scipy (0.6 s to import here) is compare's significance test and the metrics'
    intervals, not every command's: nor is it loaded with the plugins."""
    probe = "import sys, harness.cli; from harness.plugins import Host; Host(); print('scipy' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "False"
