"""Reproducible load and scale benchmarks; results go to docs/benchmarks.md."""
