"""One module per experiment; each defines ``EXPERIMENT`` and runs alone or through ``sandbox run``."""
