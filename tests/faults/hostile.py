"""A hostile plugin, installed as a real distribution (an entry point on PYTHONPATH): one
generator whose ``do`` config key picks what it does wrong."""

from __future__ import annotations

import textwrap
from pathlib import Path

from tests.helpers import fake_distribution

SOURCE = textwrap.dedent('''
    import ctypes, os, time
    import torch
    from harness import Generator, hookimpl

    class Hostile(Generator):
        name = "hostile"
        default_config = {"do": "nothing", "batch_size": 16}

        def __init__(self, dataset, device, config):
            super().__init__(dataset, device, config)
            self.net = torch.nn.Linear(1, 1)

        def train_step(self, batch):
            do = self.config["do"]
            if do == "hang_in_train_step":
                time.sleep(3600)
            if do == "system_exit":
                raise SystemExit(0)
            if do == "os_exit":
                os._exit(3)
            if do == "segfault":
                ctypes.string_at(0)
            return {"loss": float(self.net.weight.abs().sum())}

        def sample(self, n, rng, condition=None):
            do, d = self.config["do"], self.dataset
            if do == "hang_in_sample":
                time.sleep(3600)
            x = rng.rand(d.channels, d.resolution, d.resolution) * 2 - 1
            if do == "wrong_shape":
                return x[:, :, : d.resolution // 2, : d.resolution // 2]
            if do == "too_few":
                return x[: n // 2]
            if do == "times_100":
                return x * 100
            if do == "nan":
                x[0, 0, 0, 0] = float("nan")
            if do == "not_a_tensor":
                return x.tolist()
            return x

        def state_dict(self):
            return {"net": self.net.state_dict()}

        def load_state_dict(self, state):
            self.net.load_state_dict(state["net"])

    @hookimpl
    def genbench_generators():
        return [Hostile]
''')

# What each misbehaviour must be recorded as: a fragment of the run's reason.
CASES = {
    "hang_in_train_step": "exceeded the wall clock by more than 10 s (hung in train_step?)",
    "hang_in_sample": "exceeded the wall clock by more than 10 s (hung in sample or a metric?)",
    "system_exit": "a plugin raised SystemExit(0)",
    "os_exit": "the worker process exited with code 3 while training",
    "segfault": "the worker process was killed by SIGSEGV while training",
    "wrong_shape": "hostile.sample() returned images of shape (1, 16, 16), expected (1, 32, 32)",
    "too_few": "hostile.sample() returned 8 images (shape (8, 1, 32, 32)), expected 16",
    "times_100": "outside [-1, 1]; images must lie in [-1, 1]",
    "nan": "hostile.sample() returned 1 non-finite values (NaN or inf)",
    "not_a_tensor": "hostile.sample() returned list, expected a tensor",
}
# Fast to fail, so the hung cases are caught in seconds: the supervisor allows the
# budget's wall clock plus GENBENCH_GRACE_S.
BUDGET = "images = 64\nwall_clock_s = 2\neval_every = 64\nn_samples = 16\n"


def install(root: Path) -> Path:
    """The plugin's distribution under ``root`` (put it on PYTHONPATH)."""
    return fake_distribution(root, "genbench-hostile", "genbench_hostile", SOURCE, entry="hostile")


def suite(path: Path, cases: list[str]) -> Path:
    """A suite of one entry per case, then one that behaves."""
    entries = "".join(f'[[entry]]\ngenerator = "hostile"\ndataset = "clocks"\nconfig = {{ do = "{c}" }}\n\n'
                      for c in [*cases, "nothing"])
    path.write_text(f'name = "hostile"\nbudget = "tiny"\n\n[budgets.tiny]\n{BUDGET}\n{entries}')
    return path
