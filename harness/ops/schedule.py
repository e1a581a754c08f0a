"""Diffusion noise schedules, precomputed once per device as the table the kernels read."""

from __future__ import annotations

import math

import torch

# Row order of the table; csrc/common.h (enum TableRow) uses the same.
TABLE_ROWS = (
    "sqrt_abar",
    "sqrt_one_minus_abar",
    "sqrt_recip_abar",
    "sqrt_recipm1_abar",
    "posterior_coef1",
    "posterior_coef2",
    "posterior_std",
    "abar",
)
KINDS = ("linear", "cosine", "scaled-linear")


def _betas(kind: str, T: int) -> torch.Tensor:
    if kind == "linear":
        # Ho et al. 2020 (1e-4 .. 0.02 at T=1000), rescaled so that other T keep the same
        # total noise (Nichol & Dhariwal 2021, section 3.2).
        scale = 1000.0 / T
        return torch.linspace(scale * 1e-4, scale * 0.02, T, dtype=torch.float64)
    if kind == "scaled-linear":
        # Rombach et al. 2022 (LDM): linear in sqrt(beta), 0.00085 .. 0.012.
        return torch.linspace(0.00085**0.5, 0.012**0.5, T, dtype=torch.float64) ** 2
    if kind == "cosine":
        # Nichol & Dhariwal 2021, eq. 17, s = 0.008, betas clipped at 0.999.
        s = 0.008
        steps = torch.arange(T + 1, dtype=torch.float64) / T
        f = torch.cos((steps + s) / (1 + s) * math.pi / 2) ** 2
        abar = f / f[0]
        return (1 - abar[1:] / abar[:-1]).clamp(max=0.999)
    raise ValueError(f"unknown noise schedule {kind!r}; expected one of {', '.join(KINDS)}")


class NoiseSchedule:
    """A diffusion noise schedule with T steps: ``linear``, ``cosine`` or ``scaled-linear``.

    The coefficient table (shape ``(8, T)``, float32) is computed once in float64 and
    cached per device, so the fused kernels gather per-sample coefficients on the device.

    >>> s = NoiseSchedule("linear", 1000)
    >>> s.table(torch.device("cpu")).shape
    torch.Size([8, 1000])
    """

    def __init__(self, kind: str = "linear", T: int = 1000) -> None:
        if not isinstance(T, int) or T < 2:
            raise ValueError(f"noise schedule needs T >= 2 steps, got {T!r}")
        self.kind, self.T = kind, T
        self.betas = _betas(kind, T)
        alphas = 1 - self.betas
        abar = torch.cumprod(alphas, 0)
        abar_prev = torch.cat([torch.ones(1, dtype=torch.float64), abar[:-1]])
        posterior_var = self.betas * (1 - abar_prev) / (1 - abar)
        rows = {
            "sqrt_abar": abar.sqrt(),
            "sqrt_one_minus_abar": (1 - abar).sqrt(),
            "sqrt_recip_abar": (1 / abar).sqrt(),
            "sqrt_recipm1_abar": (1 / abar - 1).sqrt(),
            "posterior_coef1": self.betas * abar_prev.sqrt() / (1 - abar),
            "posterior_coef2": (1 - abar_prev) * alphas.sqrt() / (1 - abar),
            "posterior_std": posterior_var.sqrt(),
            "abar": abar,
        }
        self._table64 = torch.stack([rows[name] for name in TABLE_ROWS])
        self._tables: dict[torch.device, torch.Tensor] = {}

    def table(self, device: torch.device | str) -> torch.Tensor:
        """The float32 coefficient table on ``device`` (built on first use, then cached)."""
        device = torch.device(device)
        if device.type == "cuda" and device.index is None:
            device = torch.device("cuda", torch.cuda.current_device())
        if device not in self._tables:
            self._tables[device] = self._table64.to(device=device, dtype=torch.float32)
        return self._tables[device]

    def row(self, name: str) -> torch.Tensor:
        """One row of the float64 table by name (e.g. ``"abar"``)."""
        return self._table64[TABLE_ROWS.index(name)]

    def __repr__(self) -> str:
        return f"NoiseSchedule({self.kind!r}, T={self.T})"
