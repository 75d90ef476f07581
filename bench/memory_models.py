"""Memory: the server's resident memory with 1 and with 3 checkpoints loaded, and what HEADSCOPE_MAX_LOADED_MODELS
does when more are used than it allows (the least recently used one is freed).

Three server processes (`headscope serve`, cache off), each asked to inspect one pair on N checkpoints in
turn; after each inspection the server's current RSS (VmRSS) and peak RSS (VmHWM, from /proc) are read:

Each inspected checkpoint also gets its live fast path (an ONNX Runtime session with its own copy of the
weights), which the figures include; HEADSCOPE_FAST_PATH=off leaves it out.

1. one checkpoint, HEADSCOPE_MAX_LOADED_MODELS=3;
2. three checkpoints, HEADSCOPE_MAX_LOADED_MODELS=3;
3. four checkpoints in a loop twice, HEADSCOPE_MAX_LOADED_MODELS=3: /api/models shows at most three
   loaded, and the RSS stays near case 2's instead of growing by a checkpoint per new model.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import httpx
from common import MODELS_DIR, require_checkpoint, server_env, wait_for_fast_path

from app.devserver import ServerProcess

TEXT = "The pasta was great but the waiter was rude."


def memory_mib(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of a process in MiB."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return tuple(int(fields[name].split()[0]) / 1024 for name in ("VmRSS", "VmHWM"))  # type: ignore[return-value]


PLAIN = "--plain" in sys.argv[1:]  # HEADSCOPE_FAST_PATH=off


def inspect_each(models: list[str], passes: int = 1, limit: int = 3) -> list[tuple[str, float, float, int]]:
    env = {
        **server_env(),
        "HEADSCOPE_INSPECT_CACHE_SIZE": "0",
        "HEADSCOPE_MAX_LOADED_MODELS": str(limit),
        "HEADSCOPE_PRELOAD": models[0],
        "HEADSCOPE_FAST_PATH": "off" if PLAIN else "onnx",
    }
    rows = []
    with ServerProcess(env) as server:
        pid = server.process.pid
        rows.append(("(started, first checkpoint preloaded)", *memory_mib(pid), 1))
        with httpx.Client(base_url=server.url, timeout=300) as client:
            infos = {m["id"]: m for m in client.get("/api/models").json()["models"]}
            for _ in range(passes):
                for model in models:
                    body = {
                        "model": model,
                        "text": TEXT + (" <e1>x</e1> <e2>y</e2>" if infos[model]["task"] == "re" else ""),
                    }
                    if infos[model]["task"] == "absa":
                        body["aspect"] = "service"
                    response = client.post("/api/inspect", json=body)
                    assert response.status_code == 200, response.text
                    if not PLAIN:
                        wait_for_fast_path(server.url, model)  # its ONNX Runtime session counts too
                    loaded = sum(m["loaded"] for m in client.get("/api/models").json()["models"])
                    rows.append((model, *memory_mib(pid), loaded))
    return rows


def main() -> None:
    require_checkpoint()
    models = sorted(p.name for p in MODELS_DIR.iterdir() if (p / "headscope.json").exists())
    if len(models) < 4:
        raise SystemExit(f"needs 4 checkpoints in {MODELS_DIR} (run `make prepare`), found {models}")
    print(
        f"load average (1, 5, 15 min): {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
        f"checkpoints: {', '.join(models)}"
    )
    cases = {
        "1 checkpoint used (max 3)": inspect_each(models[:1]),
        "3 checkpoints used (max 3)": inspect_each(models[:3]),
        "4 checkpoints used twice over (max 3)": inspect_each(models[:4], passes=2),
    }
    for name, rows in cases.items():
        print(name)
        for model, rss, peak, loaded in rows:
            print(f"  after {model:<40} RSS {rss:7.0f} MiB  peak {peak:7.0f} MiB  loaded {loaded}")
    one, three, four = (rows[-1] for rows in cases.values())
    print(
        f"RESULT peak_rss_1_model_mib={one[2]:.0f} peak_rss_3_models_mib={three[2]:.0f} "
        f"rss_cycling_4_with_max_3_mib={four[1]:.0f} "
        f"loaded_at_most={max(r[3] for r in cases['4 checkpoints used twice over (max 3)'])}"
    )


if __name__ == "__main__":
    main()
