"""Quality metrics: the functions plugin authors and tests call, and the built-in
metric plugins built on them (registered in harness.builtins)."""

from harness.metrics.ssim import nearest_real_ssim, ssim, ssim_per_image

__all__ = ["nearest_real_ssim", "ssim", "ssim_per_image"]
