"""The CLI's JSON-RPC client: whatever a node (or something else on the port) does to the
connection ends in one RPCClientError the CLI can print, never a traceback."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from porchain.cli.main import cli
from porchain.rpc.client import RPCClient, RPCClientError, node_url

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


@pytest.mark.parametrize(
    ("given", "url"),
    [
        ("127.0.0.1:8646", "http://127.0.0.1:8646"),
        ("localhost:8645/", "http://localhost:8645/"),
        ("http://127.0.0.1:8645", "http://127.0.0.1:8645"),
        ("https://node.example", "https://node.example"),
        (" 127.0.0.1:8646 ", "http://127.0.0.1:8646"),
    ],
)
def test_a_node_url_may_omit_its_scheme(given: str, url: str) -> None:
    assert node_url(given) == url


@pytest.mark.parametrize("given", ["ftp://127.0.0.1:8645", "127.0.0.1:port", "", "http://"])
def test_what_is_not_a_node_url_is_refused_clearly(given: str) -> None:
    with pytest.raises(ValueError, match=r"is not a node's RPC URL: give http://HOST:PORT"):
        node_url(given)
    result = CliRunner().invoke(cli, ["chain", "head", "--rpc", given])
    assert result.exit_code == 2
    assert "Invalid value for '--rpc'" in result.stderr and "http://HOST:PORT" in result.stderr


def test_the_cli_reaches_a_node_given_as_host_and_port(bad_server: str) -> None:
    """Issue 17, friction 6: `--rpc 127.0.0.1:8646` failed with `unknown url type`; now the
    request reaches the port (here a server that answers garbage, so the error is its)."""
    result = CliRunner().invoke(cli, ["chain", "head", "--rpc", bad_server.removeprefix("http://")])
    assert result.exit_code == 1
    assert "unknown url type" not in result.output
    assert bad_server in result.stderr
