"""The CLI's JSON-RPC client: whatever a node (or something else on the port) does to the
connection ends in one RPCClientError the CLI can print, never a traceback."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from porchain.rpc.client import RPCClient, RPCClientError

ANSWERS = {
    "cut short": b"HTTP/1.1 200 OK\r\ncontent-length: 35\r\n\r\n{",
    "not HTTP": b"SSH-2.0-OpenSSH_9.6\r\n",
    "closed at once": b"",
    "not JSON": b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello",
    "not JSON-RPC": b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n[]",
}


@pytest.fixture(params=list(ANSWERS))
def bad_server(request: pytest.FixtureRequest) -> Iterator[str]:
    """A server on a loopback port that reads the request, sends one answer and hangs up."""
    listener = socket.create_server(("127.0.0.1", 0))
    answer = ANSWERS[request.param]

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(answer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        listener.close()
        thread.join(timeout=5)


def test_a_broken_answer_is_one_client_error(bad_server: str) -> None:
    with pytest.raises(RPCClientError, match=r"127\.0\.0\.1"):
        RPCClient(bad_server, timeout=5).call("por_blockNumber")
