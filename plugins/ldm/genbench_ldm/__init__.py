"""genbench plugin: latent diffusion."""
