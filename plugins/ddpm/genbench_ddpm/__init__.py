"""genbench plugin: DDPM."""
