"""A small synchronous JSON-RPC client for the CLI and tools (stdlib HTTP, no event loop)."""

from __future__ import annotations

import http.client
import itertools
import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from porchain.errors import PorchainError


class RPCClientError(PorchainError):
    """The node could not be reached or answered something that is not JSON-RPC."""


class RemoteError(PorchainError):
    """The node answered the call with a JSON-RPC error."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def node_url(text: str) -> str:
    """A node's RPC URL as a user may give it: `host:port` means `http://host:port`."""
    url = text.strip()
    if "://" not in url:
        url = f"http://{url}"
    try:
        parsed = urllib.parse.urlsplit(url)
        parsed.port  # noqa: B018 -- a port that is not a number raises here
    except ValueError:
        parsed = None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ValueError(
            f"{text!r} is not a node's RPC URL: give http://HOST:PORT or HOST:PORT "
            "(e.g. http://127.0.0.1:8645)"
        )
    return url


class RPCClient:
    def __init__(self, url: str, *, timeout: float = 10.0) -> None:
        self.url = url
        self.timeout = timeout
        self._ids = itertools.count(1)

    def call(self, method: str, *params: Any) -> Any:
        body = json.dumps(
            {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": list(params)}
        ).encode()
        request = urllib.request.Request(
            self.url, data=body, headers={"content-type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                answer = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            raise RPCClientError(
                f"node at {self.url} answered HTTP {exc.code}{_refusal(exc)}"
            ) from None
        except OSError as exc:  # refused, reset, timed out (URLError is an OSError)
            reason = getattr(exc, "reason", exc)
            raise RPCClientError(
                f"cannot reach a node at {self.url} ({reason}); is it running? (--rpc URL)"
            ) from None
        except http.client.HTTPException as exc:  # cut short, or not HTTP at all
            raise RPCClientError(
                f"{self.url} broke off its answer ({type(exc).__name__}); is it a porchain node?"
            ) from None
        except json.JSONDecodeError:
            raise RPCClientError(f"{self.url} did not answer JSON") from None
        return result_of(answer, self.url)


def result_of(answer: Any, url: str) -> Any:
    """The result of a JSON-RPC answer; RemoteError for an error answer."""
    if not isinstance(answer, dict) or ("result" not in answer and "error" not in answer):
        raise RPCClientError(f"{url} did not answer JSON-RPC 2.0")
    if "error" in answer:
        error = answer["error"]
        raise RemoteError(error.get("code", 0), error.get("message", "unknown error"))
    return answer["result"]


def _refusal(exc: urllib.error.HTTPError) -> str:
    """The reason a porchain node gives with an HTTP refusal (a JSON-RPC error object)."""
    try:
        message = json.loads(exc.read())["error"]["message"]
    except (OSError, ValueError, KeyError, TypeError, http.client.HTTPException):
        return ""
    return f": {message}" if isinstance(message, str) else ""
