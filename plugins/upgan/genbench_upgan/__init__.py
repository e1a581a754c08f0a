"""The upsampling GAN of seed 001 for genbench."""
