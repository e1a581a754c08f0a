"""VQ-VAE with a PixelCNN prior for genbench."""
