"""beta-VAE for genbench."""
