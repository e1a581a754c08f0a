"""The Fashion-MNIST upsampling GAN for genbench."""
