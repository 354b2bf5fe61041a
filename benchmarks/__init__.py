"""Benchmarks: numbers printed, never timed tests. Run `python -m benchmarks.run`."""
