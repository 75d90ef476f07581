"""Body-size limits against the real server: a client that sends its whole oversized body before it
reads the answer (Python's urllib does) gets the 413 and its message, not a connection reset."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from app.devserver import ServerProcess

# Every limit of the server below; 3x it is more than the loopback socket buffers hold, so a server
# that answered without reading on would reset the connection under the client.
LIMIT = 1024 * 1024


@pytest.fixture(scope="module")
def small_limits_server(tiny_models_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    env = {
        "HEADSCOPE_MODELS_DIR": str(tiny_models_dir),
        "HEADSCOPE_DATA_DIR": str(tmp_path_factory.mktemp("limits-data")),
        "HEADSCOPE_DEVICE": "cpu",
        "HEADSCOPE_MAX_INSPECT_BODY_BYTES": str(LIMIT),
        "HEADSCOPE_MAX_BODY_BYTES": str(LIMIT),
        "HEADSCOPE_MAX_IMPORT_BYTES": str(LIMIT),
    }
    with ServerProcess(env) as running:
        yield running.url


def post(url: str, body: bytes, chunked: bool = False) -> tuple[int, dict]:
    headers = {"Content-Type": "application/json"}
    data: bytes | object = body
    if chunked:  # no Content-Length: the server can only count what arrives
        data = iter([body[i : i + 16384] for i in range(0, len(body), 16384)])
        headers["Transfer-Encoding"] = "chunked"
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")  # type: ignore[arg-type]
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def oversized(size: int) -> bytes:
    return json.dumps({"text": "a" * size}).encode()


@pytest.mark.parametrize(
    "path, setting",
    [
        ("/api/inspect", "HEADSCOPE_MAX_INSPECT_BODY_BYTES"),
        ("/api/findings", "HEADSCOPE_MAX_BODY_BYTES"),
        ("/api/findings/import", "HEADSCOPE_MAX_IMPORT_BYTES"),
    ],
)
@pytest.mark.parametrize("chunked", [False, True])
def test_a_client_sending_all_of_an_oversized_body_gets_the_413(small_limits_server, path, setting, chunked):
    status, body = post(small_limits_server + path, oversized(3 * LIMIT), chunked)
    assert status == 413
    assert body["detail"] == f"request body is over the limit of {LIMIT} bytes (1.0 MiB, {setting})"


def test_a_body_far_over_the_limit_is_cut_off_without_hanging(small_limits_server):
    # Beyond 4x the limit the server stops reading and closes; the client may see the 413 or a reset.
    try:
        status, _ = post(small_limits_server + "/api/inspect", oversized(12 * LIMIT))
    except (urllib.error.URLError, ConnectionError):
        return
    assert status == 413


def test_a_body_within_the_limit_still_works(small_limits_server):
    status, body = post(small_limits_server + "/api/inspect", json.dumps({"text": "x"}).encode())
    assert status in (200, 422), body  # reached the route: the tiny model may refuse the input
