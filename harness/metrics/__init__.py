"""Quality metrics: the functions plugin authors and tests call, and the built-in
metric plugins built on them (registered in harness.builtins)."""

from harness.metrics.frechet import frechet_distance, kid, statistics
from harness.metrics.ssim import nearest_real_ssim, ssim, ssim_per_image

__all__ = ["frechet_distance", "kid", "nearest_real_ssim", "ssim", "ssim_per_image", "statistics"]
