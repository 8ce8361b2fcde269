"""HTTP GET of a node's snapshots, on its RPC port: `/snapshots/<number>.porsnap`, or
`/snapshots/latest` (the highest). The file is streamed in chunks read off the event loop."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import trio

from porchain.asgi import Headers, respond
from porchain.snapshot.store import find

SNAPSHOTS_PATH = "/snapshots/"
CHUNK_BYTES = 1 << 20


def _not_found(message: str) -> bytes:
    return json.dumps({"error": message}).encode()


async def serve_snapshot(path: str, directory: Path | None, send: Any, extra: Headers) -> None:
    name = path[len(SNAPSHOTS_PATH) :]
    found = None if directory is None else find(directory, name)
    if found is None:
        await respond(send, 404, _not_found(f"no snapshot {name[:40]!r} here"), extra)
        return
    try:
        source = await trio.open_file(found, "rb")
    except OSError:  # replaced or removed since it was found
        await respond(send, 404, _not_found(f"no snapshot {name[:40]!r} here"), extra)
        return
    async with source:
        size = os.fstat(source.fileno()).st_size  # of the file opened, even if replaced since
        headers = [
            (b"content-type", b"application/octet-stream"),
            (b"content-length", str(size).encode()),
            (b"content-disposition", f'attachment; filename="{found.name}"'.encode()),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers + extra})
        left = size
        while left > 0:
            chunk = await source.read(min(CHUNK_BYTES, left))
            if not chunk:
                break  # a file shorter than it was: the client sees the length mismatch
            left -= len(chunk)
            await send({"type": "http.response.body", "body": chunk, "more_body": left > 0})
        if left > 0:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
