"""A JSON-RPC client for trio programs (a builder): calls over a shared httpx client, so that
a trio deadline cancels a call in flight. (The CLI's client, porchain.rpc.client, stays on the
standard library: a CLI command imports no HTTP library.)"""

from __future__ import annotations

import itertools
from typing import Any

import httpx

from porchain.rpc.client import RPCClientError, result_of


class AsyncRPCClient:
    def __init__(self, url: str, http: httpx.AsyncClient) -> None:
        self.url, self.http = url, http
        self._ids = itertools.count(1)

    async def call(self, method: str, *params: Any) -> Any:
        body = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": list(params)}
        try:
            response = await self.http.post(self.url, json=body)
        except httpx.HTTPError as exc:
            reason = str(exc) or type(exc).__name__
            raise RPCClientError(f"cannot reach a node at {self.url} ({reason})") from None
        try:
            answer = response.json()
        except ValueError:
            status = response.status_code
            raise RPCClientError(f"{self.url} answered HTTP {status}, not JSON") from None
        return result_of(answer, self.url)
