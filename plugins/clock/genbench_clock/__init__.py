"""genbench-clock: the CNN clock generator (seed 000) as a genbench plugin."""
