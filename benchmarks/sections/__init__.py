"""Benchmark sections: one module per section of build/bench/results.json (see benchmarks/run.py)."""
