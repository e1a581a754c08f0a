"""Built-in datasets (registered through harness.builtins like any plugin's)."""
