"""What the HTTP services share (the node's RPC, a relay): hypercorn on trio serving a small
ASGI app, its lifespan, bounded request bodies, JSON answers."""

from __future__ import annotations

import logging
from typing import Any

import trio
from hypercorn.config import Config
from hypercorn.trio import serve

from porchain.errors import PorchainError, leaf_exceptions

HTTP = "http"  # the ASGI message prefix of an HTTP answer
Headers = list[tuple[bytes, bytes]]


async def lifespan(receive: Any, send: Any) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def read_body(headers: dict[bytes, bytes], receive: Any, limit: int) -> bytes | None:
    """The body, or None when it is over `limit` (by its Content-Length, or as read)."""
    declared = headers.get(b"content-length", b"0")
    if not declared.isdigit() or int(declared) > limit:
        return None
    body = bytearray()
    while True:
        message = await receive()
        body += message.get("body", b"")
        if len(body) > limit:
            return None
        if not message.get("more_body"):
            return bytes(body)


async def respond(
    send: Any, status: int, body: bytes, extra: Headers | None = None, protocol: str = HTTP
) -> None:
    """A JSON answer; to a WebSocket handshake (`protocol` "websocket.http"), the ASGI denial
    response."""
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    start = {
        "type": f"{protocol}.response.start",
        "status": status,
        "headers": headers + (extra or []),
    }
    await send(start)
    await send({"type": f"{protocol}.response.body", "body": body})


async def serve_app(
    app: Any,
    host: str,
    port: int,
    what: str,
    hint: str,
    *,
    task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve `app` on host:port; report the URL it listens on (port 0 picks a free port). A
    port that cannot be bound is a PorchainError naming `what` was to be served, and `hint`."""
    config = Config()
    config.bind = [f"{host}:{port}"]
    config.accesslog = None
    config.errorlog = logging.getLogger(f"porchain.{what.lower()}.http")
    config.graceful_timeout = 1.0
    async with trio.open_nursery() as nursery:
        try:
            binds = await nursery.start(serve, app, config)
        except* OSError as group:
            reason = "; ".join(str(e.strerror or e) for e in leaf_exceptions(group))
            raise PorchainError(
                f"cannot serve {what} on {host}:{port}: {reason} ({hint})"
            ) from None
        task_status.started(binds[0])
