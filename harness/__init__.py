"""genbench host."""
