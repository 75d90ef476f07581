"""Running a checkpoint over inputs: one live inspection (inspection.py), the one dataset pass that
analyses, robustness suites and reports share (attention_pass.py), and the shard runners that split
such a pass over processes (sharding.py) or a Ray cluster (ray_shards.py). The causal passes over one
input work through the hook points: an intervened inspection (intervention.py), the knock-out map
(knockout.py) and activation patching between a clean and a corrupted input (patching.py)."""
