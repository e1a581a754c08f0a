"""DCGAN for genbench, and the GAN base class the upsampling GAN builds on."""
