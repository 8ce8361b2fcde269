"""The HTTP side of RPC: a small ASGI app served by hypercorn on trio (no hand-written HTTP).

Only `POST /` with a JSON body is answered (and, with `--rpc-cors`, the browsers' preflight
`OPTIONS`; and `GET /snapshots/...`, the node's state snapshots: porchain.snapshot.serve); a
body over the limit is refused before it is read. Every refusal carries a JSON-RPC error object,
so a client always learns why.
"""

from __future__ import annotations

import json
import logging
import re
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any

import trio

from porchain.asgi import Headers, lifespan, read_body, respond, serve_app
from porchain.rpc import errors
from porchain.rpc.builder import BuilderApi
from porchain.rpc.consensus import ConsensusApi
from porchain.rpc.dispatch import Dispatcher
from porchain.rpc.limits import RPCLimits
from porchain.rpc.methods import PorApi
from porchain.rpc.net import DevApi, NetApi
from porchain.rpc.snapshot import SnapshotApi
from porchain.snapshot.serve import SNAPSHOTS_PATH, serve_snapshot

if TYPE_CHECKING:
    from porchain.node import Node

log = logging.getLogger(__name__)

ORIGIN = re.compile(r"^[a-z][a-z0-9+.-]*://[^/\s,]+$")
PREFLIGHT_MAX_AGE = "600"
WS = "websocket.http"  # the ASGI message prefix of an answer to a WebSocket handshake

Scope = dict[str, Any]


def parse_cors(text: str) -> tuple[str, ...]:
    """`--rpc-cors`: a comma-separated list of origins (`https://host:port`), or `*`."""
    origins = tuple(o.strip().lower().rstrip("/") for o in text.split(",") if o.strip())
    if not origins:
        raise ValueError("give a comma-separated list of origins, or *")
    for origin in origins:
        if origin != "*" and not ORIGIN.match(origin):
            raise ValueError(f"{origin!r} is not an origin (scheme://host[:port], or *)")
    return origins


class RPCApp:
    """ASGI application answering JSON-RPC 2.0 over HTTP POST."""

    def __init__(
        self,
        dispatcher: Dispatcher,
        *,
        cors: tuple[str, ...] = (),
        limits: RPCLimits,
        snapshot_dir: Path | None = None,
    ) -> None:
        self.dispatcher = dispatcher
        self.snapshot_dir = snapshot_dir
        self.cors = cors
        self.limits = limits
        self.allow = b"POST, OPTIONS" if cors else b"POST"

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
            return
        if scope["type"] == "websocket":  # answered, or hypercorn sends an empty HTTP 500
            message = "no WebSocket here: use POST with a JSON-RPC 2.0 body"
            await _refuse(send, 405, errors.INVALID_REQUEST, message, [(b"allow", self.allow)], WS)
            return
        if scope["type"] != "http":
            return
        headers = {name.lower(): value for name, value in scope["headers"]}
        extra: Headers = []
        origin = headers.get(b"origin")
        if origin is not None:
            if not self._allowed(origin):
                message = (
                    f"origin {origin.decode(errors='replace')[:100]} is not allowed "
                    "(start the node with --rpc-cors ORIGINS)"
                )
                await _refuse(send, 403, errors.ORIGIN_NOT_ALLOWED, message)
                return
            allowed = b"*" if "*" in self.cors else origin
            extra = [(b"access-control-allow-origin", allowed), (b"vary", b"origin")]
        if scope["method"] == "OPTIONS" and origin is not None:
            extra += [
                (b"access-control-allow-methods", b"POST, OPTIONS"),
                (b"access-control-allow-headers", b"content-type"),
                (b"access-control-max-age", PREFLIGHT_MAX_AGE.encode()),
            ]
            await respond(send, 204, b"", extra)
            return
        if scope["method"] == "GET" and scope["path"].startswith(SNAPSHOTS_PATH):
            await serve_snapshot(scope["path"], self.snapshot_dir, send, extra)
            return
        if scope["method"] != "POST":
            extra.append((b"allow", self.allow))
            message = "use POST with a JSON-RPC 2.0 body"
            await _refuse(send, 405, errors.INVALID_REQUEST, message, extra)
            return
        body = await read_body(headers, receive, self.limits.max_body_bytes)
        if body is None:
            message = f"request body over {self.limits.max_body_bytes} bytes"
            await _refuse(send, 413, errors.INVALID_REQUEST, message, extra)
            return
        try:
            answer = await self.dispatcher.handle(body)
        except Exception:  # a bug: still a JSON-RPC answer, never an empty HTTP 500
            log.exception("internal error answering an RPC request")
            answer = _error_body(errors.INTERNAL_ERROR, "internal error (see the node's log)")
        await respond(send, 200 if answer is not None else 204, answer or b"", extra)

    def _allowed(self, origin: bytes) -> bool:
        text = origin.decode("latin-1").lower()
        return "*" in self.cors or text in self.cors


def _error_body(code: int, message: str) -> bytes:
    error = {"jsonrpc": "2.0", "id": None, "error": {"code": code, "message": message}}
    return json.dumps(error, separators=(",", ":")).encode()


async def _refuse(
    send: Any,
    status: int,
    code: int,
    message: str,
    extra: Headers | None = None,
    protocol: str = "http",
) -> None:
    await respond(send, status, _error_body(code, message), extra, protocol)


def rpc_apis(node: Node) -> list[type]:
    """Core namespaces, and those of installed packages (entry point group `porchain.rpc`: a
    class taking the node, or the `ReadView` standing in for it off the event loop)."""
    apis: list[type] = [PorApi, ConsensusApi, NetApi, SnapshotApi]
    if node.config.dev_rpc:
        apis.append(DevApi)
    if node.config.builder_api:
        apis.append(BuilderApi)
    for entry in sorted(entry_points(group="porchain.rpc"), key=lambda e: e.name):
        apis.append(entry.load())
    return apis


def rpc_app(node: Node) -> RPCApp:
    """The node's RPC as an ASGI app (served by `serve_rpc`; in-process in simulations)."""
    limits = node.config.rpc_limits
    dispatcher = Dispatcher(node, rpc_apis(node), limits=limits)
    return RPCApp(
        dispatcher, cors=node.config.rpc_cors, limits=limits, snapshot_dir=node.config.snapshot_dir
    )


async def serve_rpc(
    node: Node,
    host: str,
    port: int,
    *,
    task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve RPC for `node`; report the URL it listens on (port 0 picks a free port)."""
    app = rpc_app(node)
    hint = "another node running? choose another --rpc-port"
    async with trio.open_nursery() as nursery:
        url = await nursery.start(serve_app, app, host, port, "RPC", hint)
        log.info("rpc listening url=%s", url)
        task_status.started(url)
