"""JSON-RPC error codes and the exception methods raise to answer with one."""

from __future__ import annotations

from typing import Any

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
TX_REJECTED = -32000
MEMPOOL_FULL = -32001
STATE_UNAVAILABLE = -32002
RESPONSE_TOO_LARGE = -32003  # as geth: the answer (or a batch's answers) over the size cap
ORIGIN_NOT_ALLOWED = -32004  # a browser page from an origin not in --rpc-cors
STORAGE_FAULT = -32005  # the node cannot write to its disk: nothing of the request was stored
NONCE_TAKEN = -32006  # sent with replace=false, and a pending transaction has the nonce
NOT_WRITTEN = -32007  # a snapshot: another is being written, or the node holds MAX_STORED


class RPCError(Exception):
    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data


class InvalidParams(RPCError):
    def __init__(self, message: str) -> None:
        super().__init__(INVALID_PARAMS, f"invalid params: {message}")
