"""genbench-clock: the CNN clock generator as a genbench plugin."""
