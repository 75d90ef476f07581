"""`headscope analyze --ray [ADDRESS]`: the analysis's statistics pass on a Ray cluster.

`RayShards` is a shard runner for `analyze(..., shards=...)` (app.core.passes.sharding): it splits the
pairs into one contiguous shard of whole batches per worker slot — one per GPU when the cluster has
GPUs, else one per CPU slot — runs `shard_pass` as one Ray task per shard (each worker loads the
checkpoint and its pretrained base once per process and streams its shard through the attention
pass batch by batch), and hands the shards' probes back to `analyze`, which merges them in data
order and finishes as after one pass. Only the pairs (not the data file) and the per-head
accumulators travel; the model never does.

Where the workers find the checkpoint: at the same path as here (`CheckpointInfo.path`, or its
`source`), so on a real cluster the models folder is on a shared file system or copied to the same
path on every node, and every node has headscope with the Ray extra installed
(`pip install headscope[ray]`). ADDRESS is what `ray.init(address=...)` takes: `auto` (the cluster
this machine belongs to, e.g. after `ray start --address HEAD:6379`), `ray://HEAD:10001` (Ray
Client), or `local` (a Ray instance started here for this run, with this machine's CPUs and GPUs).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from app.core.passes.sharding import ShardRunner

LOCAL = "local"


def require_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise RuntimeError("--ray needs the Ray extra: pip install 'headscope[ray]'") from None
    return ray


def _run_remote(work: Callable[..., Any], task: Any, device: str, half: bool | str) -> Any:
    """The Ray task: one shard's work in a worker process (shard_pass for analyses)."""
    import torch

    if device != "cuda":
        torch.set_num_threads(1)  # one CPU slot per task
    return work(task, device=device, half=half)


class RayShards(ShardRunner):
    """Shard runner on Ray. address: None or "local" starts a local instance (unless Ray is already
    initialised); anything else is passed to `ray.init(address=...)`. device: "auto" uses the GPU Ray
    gives each task (num_gpus=1) when the cluster has GPUs, else the CPU; half: float16 (True / "float16") or
    bfloat16 ("bfloat16") weights on CUDA.
    workers: shards to cut (default: the cluster's GPUs, else its CPU slots)."""

    def __init__(
        self,
        address: str | None = None,
        device: str = "auto",
        half: bool | str = False,
        workers: int | None = None,
        init: dict[str, Any] | None = None,
    ) -> None:
        self.address, self.device, self.half, self.max_workers = address, device, half, workers
        self.init = init or {}
        self.workers: list[str] = []  # who ran each shard (host:pid:device), in data order

    def connect(self) -> Any:
        ray = require_ray()
        if not ray.is_initialized():
            address = None if self.address in (None, "", LOCAL) else self.address
            ray.init(
                address=address, include_dashboard=False, log_to_driver=False, configure_logging=False, **self.init
            )
        return ray

    def slots(self, ray: Any) -> tuple[int, dict[str, float]]:
        """(shards, the Ray resources each shard's task asks for)."""
        resources = ray.cluster_resources()
        gpus, cpus = int(resources.get("GPU", 0)), max(1, int(resources.get("CPU", 1)))
        if gpus and self.device != "cpu":
            return self.max_workers or gpus, {"num_gpus": 1, "num_cpus": 1}
        return self.max_workers or cpus, {"num_cpus": 1}

    def count(self) -> int:
        return self.slots(self.connect())[0]

    def map(
        self,
        work: Callable[..., Any],
        tasks: Sequence[Any],
        sizes: Sequence[int],
        progress: Callable[[int, int, str], None],
        phase: str,
    ) -> list[Any]:
        """work(task, device=, half=) as one Ray task per task; results in the tasks' order, progress as
        each finishes (by sizes); `workers` says who ran each."""
        ray = self.connect()
        _, resources = self.slots(ray)
        device = "cuda" if "num_gpus" in resources else "cpu" if self.device == "auto" else self.device
        remote = ray.remote(_run_remote).options(**resources, max_retries=1)
        pending = {remote.remote(work, task, device, self.half): k for k, task in enumerate(tasks)}
        results: list[Any] = [None] * len(tasks)
        done = 0
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                k = pending.pop(ref)
                results[k] = ray.get(ref)
                done += sizes[k]
                progress(done, sum(sizes), phase)
        ran = [result.worker for result in results if hasattr(result, "worker")]
        self.workers = ran or self.workers
        return results
