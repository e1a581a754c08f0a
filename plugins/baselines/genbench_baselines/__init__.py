"""genbench's baseline rows: gaussian, noise and train-copy."""
