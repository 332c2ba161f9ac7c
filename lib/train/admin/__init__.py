"""Training administration: settings, paths, statistics, logging, distributed helpers."""
