"""A faster forward pass for live inspection on the CPU: the BERT classifier exported to ONNX and run by
ONNX Runtime, returning the attention probabilities exactly as transformers' eager attention computes
them (scores = q k^T / sqrt(d) + the padding mask, softmax over keys).

`FastPaths` builds one per checkpoint on a background thread the first time the checkpoint is
inspected (exporting MiniLM takes about a second), checks it against the plain PyTorch forward on a
padded probe batch (attention and logits within `TOLERANCE`), and only then serves it. The builder never
runs the live model: a hook held on the model thread meanwhile (an intervention, a knock-out, patching) would
act on the builder's forward too, and a caching hook would keep the builder's batch. The plain forward it
checks against runs on the model thread when the build starts, and an export that cannot load the checkpoint
in a child process traces a copy taken there. Until the fast path is ready,
for architectures it does not cover, on CUDA (where the PyTorch GPU path runs) or when anything goes
wrong, inspections take the plain path (`forward_with_attention`). A checkpoint's fast path goes when
the registry frees its model.

Covered: BertForSequenceClassification with absolute position embeddings and [CLS] pooling (the
demo checkpoints, MiniLM, BERT-base/large fine-tunes). Measured on the 2-core development machine,
one thread: ONNX Runtime 12 ms vs transformers' eager 20-24 ms on the 40-token pair (attention within
2e-6). The price is memory: the session holds its own copy of the weights (the export runs in a child
process, which takes its leftovers with it): bench/memory_models.py measured about +145 MB resident per
inspected MiniLM checkpoint (90 MB of weights).
"""

from __future__ import annotations

import copy
import gc
import logging
import os
import subprocess
import sys
import tempfile
import threading
import warnings
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from app.core.model.checkpoint import LoadedCheckpoint
from app.core.model.memory import release_freed_memory

log = logging.getLogger(__name__)
TOLERANCE = 1e-4
Forward = Callable[[dict[str, torch.Tensor]], tuple[torch.Tensor, torch.Tensor]]


class _Encoder(torch.nn.Module):
    """BertForSequenceClassification's eager forward, op for op, returning (logits, attention [B, L, H, T, T])."""

    def __init__(self, model: Any) -> None:
        super().__init__()
        self.model = model

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        bert = self.model.bert
        embeddings = bert.embeddings
        batch, length = input_ids.shape
        x = embeddings.word_embeddings(input_ids) + embeddings.token_type_embeddings(token_type_ids)
        x = embeddings.LayerNorm(x + embeddings.position_embeddings(embeddings.position_ids[:, :length]))
        mask = (1.0 - attention_mask[:, None, None, :].to(x.dtype)) * torch.finfo(x.dtype).min
        probabilities = []
        for layer in bert.encoder.layer:
            own = layer.attention.self
            heads, size = own.num_attention_heads, own.attention_head_size
            query = own.query(x).view(batch, length, heads, size).transpose(1, 2)
            key = own.key(x).view(batch, length, heads, size).transpose(1, 2)
            value = own.value(x).view(batch, length, heads, size).transpose(1, 2)
            weights = torch.softmax(torch.matmul(query, key.transpose(2, 3)) * own.scaling + mask, dim=-1)
            probabilities.append(weights)
            context = torch.matmul(weights, value).transpose(1, 2).reshape(batch, length, heads * size)
            out = layer.attention.output
            hidden = out.LayerNorm(out.dense(context) + x)
            x = layer.output.LayerNorm(
                layer.output.dense(layer.intermediate.intermediate_act_fn(layer.intermediate.dense(hidden))) + hidden
            )
        pooled = bert.pooler.activation(bert.pooler.dense(x[:, 0]))
        return self.model.classifier(pooled), torch.stack(probabilities, dim=1)


def supported(loaded: LoadedCheckpoint) -> str | None:
    """None when the fast path covers this checkpoint, else why not."""
    model = loaded.model
    if loaded.device.type != "cpu":
        return "not on the CPU (CUDA runs the PyTorch path)"
    if type(model).__name__ != "BertForSequenceClassification" or not hasattr(model, "bert"):
        return f"{type(model).__name__} is not BertForSequenceClassification"
    if getattr(model.config, "position_embedding_type", "absolute") != "absolute":
        return "relative position embeddings"
    if next(model.parameters()).dtype != torch.float32:
        return "weights are not float32"
    return None


class OnnxForward:
    """The exported classifier in an ONNX Runtime session; called like `forward_with_attention`."""

    def __init__(self, loaded: LoadedCheckpoint, threads: int, model: Any | None = None) -> None:
        """model: a copy of the checkpoint's model to export in this process when no child process can load the
        checkpoint; without one, a failed export in a child process fails the build (the plain path stays)."""
        import onnxruntime

        with tempfile.TemporaryDirectory(prefix="headscope-onnx-") as folder:
            exported = Path(folder) / "model.onnx"
            # In a child process when the checkpoint has a folder: tracing and serialising leave about as much
            # heap behind as the weights, which the server would keep; here only the session's copy stays.
            if not _export_in_child(loaded, exported):
                if model is None:  # never trace the live model here: a hook held meanwhile would act on it
                    raise RuntimeError("the export in a child process failed (the server log says why)")
                export(loaded, exported, model)
            self.session = self._session(onnxruntime, str(exported), threads)

    @staticmethod
    def _session(onnxruntime: Any, model: str, threads: int) -> Any:
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = max(1, threads)
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")  # busy machines: no spinning
        options.enable_cpu_mem_arena = False  # an arena would keep the largest batch's activations for good
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        return onnxruntime.InferenceSession(model, options, providers=["CPUExecutionProvider"])

    def __call__(self, inputs: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        ids = inputs["input_ids"]
        types = inputs.get("token_type_ids")
        feed = {
            "input_ids": ids.numpy(),
            "attention_mask": inputs["attention_mask"].numpy(),
            "token_type_ids": types.numpy() if types is not None else np.zeros_like(ids.numpy()),
        }
        logits, attention = self.session.run(None, feed)
        return torch.from_numpy(logits), torch.from_numpy(attention)


def export(loaded: LoadedCheckpoint, path: Path, model: Any | None = None) -> None:
    """Write the checkpoint's classifier (or `model`, a copy of it) as ONNX (opset 17; dynamic batch and tokens)
    with the attention as output."""
    example = _probe_inputs(loaded)
    names = ["input_ids", "attention_mask", "token_type_ids"]
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notes
        torch.onnx.export(
            _Encoder(loaded.model if model is None else model).eval(),
            tuple(example[n] for n in names),
            str(path),
            input_names=names,
            output_names=["logits", "attention"],
            opset_version=17,
            dynamic_axes={
                **{n: {0: "batch", 1: "tokens"} for n in names},
                "logits": {0: "batch"},
                "attention": {0: "batch", 3: "tokens", 4: "tokens"},
            },
            dynamo=False,
        )


def exports_in_child(loaded: LoadedCheckpoint) -> bool:
    """Whether a child process can load the checkpoint from its folder to export it."""
    return (Path(loaded.info.path) / "headscope.json").is_file()


def _export_in_child(loaded: LoadedCheckpoint, path: Path) -> bool:
    """Export from a child process that loads the checkpoint from its folder; False when it cannot."""
    folder = loaded.info.path
    if not exports_in_child(loaded):
        return False
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    try:
        done = subprocess.run(
            [sys.executable, "-m", "app.core.model.onnx_fastpath", str(folder), str(path)],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.info("fast path export in a child process failed (%s); exporting here", exc)
        return False
    if done.returncode != 0 or not path.is_file():
        log.info("fast path export in a child process failed; exporting here: %s", done.stderr[-500:])
        return False
    return True


def _probe_inputs(loaded: LoadedCheckpoint) -> dict[str, torch.Tensor]:
    """A padded batch of two pairs of different lengths (the export's example and the check's input)."""
    tokenizer = loaded.tokenizer
    encoded = tokenizer(
        ["The pasta was great but the waiter was rude.", "Fine."],
        ["what do you think of the service of it ?", "food"],
        padding=True,
        return_tensors="pt",
    )
    if "token_type_ids" not in encoded:
        encoded["token_type_ids"] = torch.zeros_like(encoded["input_ids"])
    return {name: encoded[name] for name in ("input_ids", "attention_mask", "token_type_ids")}


@dataclass
class BuildStart:
    """What a build takes from the model thread: the probe batch, the plain forward's logits and attention on
    it, and the model to export in this process (a copy, hook-free) when no child process can load it."""

    inputs: dict[str, torch.Tensor]
    expected: tuple[torch.Tensor, torch.Tensor]
    model: Any | None

    @classmethod
    def taken(cls, loaded: LoadedCheckpoint) -> BuildStart:
        """Run on the thread that owns the model, where no hook is held between its tasks."""
        from app.core.model.attention import forward_with_attention

        inputs = _probe_inputs(loaded)
        expected = forward_with_attention(loaded.model, inputs)
        return cls(inputs, expected, None if exports_in_child(loaded) else copy.deepcopy(loaded.model))


def check(fast: Forward, start: BuildStart) -> float:
    """The largest difference between the fast and the plain forward's attention and logits on the probe batch."""
    inputs, (logits, attention) = start.inputs, start.expected
    fast_logits, fast_attention = fast(inputs)
    valid = inputs["attention_mask"].bool()
    rows = valid[:, None, None, :, None] & valid[:, None, None, None, :]  # padded query rows are junk in both
    return max(
        float((attention - fast_attention).abs().masked_fill(~rows, 0).max()), float((logits - fast_logits).abs().max())
    )


class FastPaths:
    """Per loaded checkpoint: its fast forward once built and checked, else None (the plain path)."""

    def __init__(self, enabled: bool = True, threads: int | None = None) -> None:
        self.enabled, self.threads = enabled, threads
        self._ready: weakref.WeakKeyDictionary[Any, Forward] = weakref.WeakKeyDictionary()  # model -> forward
        self._building: weakref.WeakSet[Any] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._builders: list[threading.Thread] = []
        self.status: dict[str, str] = {}  # checkpoint id -> "onnx" | "building" | why it is not used

    def forward(self, loaded: LoadedCheckpoint) -> Forward | None:
        """The checkpoint's fast forward when ready; else None, and its building starts (in the background).
        Called on the thread that runs the model (the batcher's model thread), between its tasks: the build
        starts with a plain forward there (`BuildStart`)."""
        if not self.enabled:
            return None
        ready = self._ready.get(loaded.model)
        if ready is not None:
            return ready
        with self._lock:
            if (
                loaded.model in self._building
                or loaded.info.id in self.status
                and self.status[loaded.info.id] != "onnx"
            ):
                return None
            reason = supported(loaded)
            if reason is not None:
                self.status[loaded.info.id] = f"plain path: {reason}"
                return None
            self._building.add(loaded.model)
            self.status[loaded.info.id] = "building"
        try:
            start = BuildStart.taken(loaded)
        except Exception as exc:  # the plain path stays, as for a failed build
            self._failed(loaded, exc)
            return None
        builder = threading.Thread(target=self._build, args=(loaded, start), name="fastpath", daemon=True)
        self._builders = [thread for thread in self._builders if thread.is_alive()] + [builder]
        builder.start()
        return None

    def close(self, timeout: float = 120.0) -> None:
        """Wait for builds under way: a daemon thread still in a forward pass when the interpreter exits is
        killed inside torch, which aborts the process when a library (Ray) installed a terminate handler."""
        for builder in list(self._builders):
            builder.join(timeout)

    def wait(self, loaded: LoadedCheckpoint, timeout: float = 120.0) -> Forward | None:
        """Build (if needed) and wait for the fast forward (tests, benchmarks)."""
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.forward(loaded)
            if found is not None or self.status.get(loaded.info.id, "building") != "building":
                return found
            time.sleep(0.05)
        return None

    def _failed(self, loaded: LoadedCheckpoint, exc: Exception) -> None:
        log.warning("fast path for %s not used: %s", loaded.info.id, exc)
        self.status[loaded.info.id] = f"plain path: {type(exc).__name__}: {exc}"
        self._building.discard(loaded.model)

    def _build(self, loaded: LoadedCheckpoint, start: BuildStart) -> None:
        try:
            fast = OnnxForward(loaded, self.threads or torch.get_num_threads(), start.model)
            difference = check(fast, start)
            if difference > TOLERANCE:
                raise ValueError(f"differs from the plain forward by {difference:.2e} (> {TOLERANCE:g})")
        except Exception as exc:  # anything at all: the plain path stays
            self._failed(loaded, exc)
            return
        finally:
            self._building.discard(loaded.model)
            start.model = None
            gc.collect()
            release_freed_memory()  # what the export left behind
        self._ready[loaded.model] = fast
        self.status[loaded.info.id] = "onnx"
        log.info(
            "fast path (ONNX Runtime) for %s ready; largest difference from eager %.1e", loaded.info.id, difference
        )


if (
    __name__ == "__main__"
):  # python -m app.core.model.onnx_fastpath CHECKPOINT_FOLDER OUT.onnx (what `_export_in_child` runs)
    from app.core.model.checkpoint import load_checkpoint, quiet_transformers, read_checkpoint_info

    quiet_transformers()
    torch.set_num_threads(1)
    export(load_checkpoint(read_checkpoint_info(Path(sys.argv[1])), torch.device("cpu")), Path(sys.argv[2]))
