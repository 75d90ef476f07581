"""Where inputs come from: the benchmark readers (readers/), the demo data (demo.py), named job
sources and their fingerprints (sources.py), dataset examples prepared per input format (prepared.py)
and the benchmarks' own metrics (benchmark_metrics.py)."""
