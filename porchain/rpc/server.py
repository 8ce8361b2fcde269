"""The HTTP side of RPC: a small ASGI app served by hypercorn on trio (no hand-written HTTP).

Only `POST /` with a JSON body is answered; bodies over `MAX_BODY_BYTES` are refused.
"""

from __future__ import annotations

import logging
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

import trio
from hypercorn.config import Config
from hypercorn.trio import serve

from porchain.errors import PorchainError, leaf_exceptions
from porchain.rpc.consensus import ConsensusApi
from porchain.rpc.dispatch import Dispatcher
from porchain.rpc.methods import PorApi
from porchain.rpc.net import DevApi, NetApi

if TYPE_CHECKING:
    from porchain.node import Node

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 4 * 2**20

Scope = dict[str, Any]


class RPCApp:
    """ASGI application answering JSON-RPC 2.0 over HTTP POST."""

    def __init__(self, dispatcher: Dispatcher) -> None:
        self.dispatcher = dispatcher

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        if scope["method"] != "POST":
            await _respond(send, 405, b'{"error":"use POST with a JSON-RPC 2.0 body"}')
            return
        body = bytearray()
        while True:
            message = await receive()
            body += message.get("body", b"")
            if len(body) > MAX_BODY_BYTES:
                await _respond(send, 413, b'{"error":"request body too large"}')
                return
            if not message.get("more_body"):
                break
        answer = self.dispatcher.handle(bytes(body))
        await _respond(send, 200 if answer is not None else 204, answer or b"")


async def _lifespan(receive: Any, send: Any) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _respond(send: Any, status: int, body: bytes) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def rpc_apis(node: Node) -> list[object]:
    """Core namespaces, and those of installed packages (entry point group `porchain.rpc`:
    a class taking the node)."""
    apis: list[object] = [PorApi(node), ConsensusApi(node), NetApi(node)]
    if node.config.dev_rpc:
        apis.append(DevApi(node))
    for entry in sorted(entry_points(group="porchain.rpc"), key=lambda e: e.name):
        apis.append(entry.load()(node))
    return apis


async def serve_rpc(
    node: Node,
    host: str,
    port: int,
    *,
    task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve RPC for `node`; report the URL it listens on (port 0 picks a free port)."""
    config = Config()
    config.bind = [f"{host}:{port}"]
    config.accesslog = None
    config.errorlog = logging.getLogger("porchain.rpc.http")
    config.graceful_timeout = 1.0
    app = RPCApp(Dispatcher(rpc_apis(node)))
    async with trio.open_nursery() as nursery:
        try:
            binds = await nursery.start(serve, app, config)
        except* OSError as group:
            reason = "; ".join(str(e.strerror or e) for e in leaf_exceptions(group))
            raise PorchainError(
                f"cannot serve RPC on {host}:{port}: {reason} "
                "(another node running? choose another --rpc-port)"
            ) from None
        log.info("rpc listening url=%s", binds[0])
        task_status.started(binds[0])
