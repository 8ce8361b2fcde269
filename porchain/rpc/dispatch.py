"""JSON-RPC 2.0 request handling: parsing, batches, routing by method name, error mapping.

Methods are plain synchronous functions: they read the head state or admit a transaction, which
never waits on I/O, so a request sees one consistent state.
"""

from __future__ import annotations

import inspect
import json
import logging
import re
from collections.abc import Callable, Iterable
from typing import Any

from porchain.errors import DecodeError, DiskWriteError, InvalidTransaction, MempoolFull
from porchain.rpc import errors
from porchain.rpc.errors import RPCError

log = logging.getLogger(__name__)

METHOD_NAME = re.compile(r"^(por|gov|jud|net|dev)_[a-z][A-Za-z0-9]*$")
MAX_BATCH = 100

Response = dict[str, Any]


class Dispatcher:
    def __init__(self, apis: Iterable[object]) -> None:
        self.methods: dict[str, Callable[..., Any]] = {}
        for api in apis:
            for name, method in inspect.getmembers(api, callable):
                if METHOD_NAME.match(name):
                    self.methods[name] = method

    def handle(self, body: bytes) -> bytes | None:
        """Answer a request body; None when it held only notifications."""
        try:
            request = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            return _dump(_error(None, errors.PARSE_ERROR, f"parse error: {exc}"))
        if isinstance(request, list):
            if not request or len(request) > MAX_BATCH:
                return _dump(
                    _error(None, errors.INVALID_REQUEST, f"a batch holds 1 to {MAX_BATCH} requests")
                )
            answers = [a for a in map(self._handle_one, request) if a is not None]
            return _dump(answers) if answers else None
        answer = self._handle_one(request)
        return None if answer is None else _dump(answer)

    def _handle_one(self, request: Any) -> Response | None:
        if not isinstance(request, dict):
            return _error(None, errors.INVALID_REQUEST, "a request is a JSON object")
        request_id = request.get("id")
        if not isinstance(request_id, str | int | type(None)) or isinstance(request_id, bool):
            return _error(None, errors.INVALID_REQUEST, "id must be a string, number or null")
        method = request.get("method")
        params = request.get("params", [])
        if request.get("jsonrpc") != "2.0" or not isinstance(method, str):
            return _error(request_id, errors.INVALID_REQUEST, 'need "jsonrpc": "2.0" and a method')
        if not isinstance(params, list | dict):
            return _error(request_id, errors.INVALID_REQUEST, "params must be an array or object")
        try:
            result = self.call(method, params)
        except RPCError as exc:
            answer = _error(request_id, exc.code, exc.message, exc.data)
        else:
            answer = {"jsonrpc": "2.0", "id": request_id, "result": result}
        return answer if "id" in request else None

    def call(self, method: str, params: list[Any] | dict[str, Any]) -> Any:
        function = self.methods.get(method)
        if function is None:
            raise RPCError(errors.METHOD_NOT_FOUND, f"method not found: {method}")
        args, kwargs = (params, {}) if isinstance(params, list) else ([], params)
        try:
            bound = inspect.signature(function).bind(*args, **kwargs)
        except TypeError as exc:
            raise RPCError(errors.INVALID_PARAMS, f"invalid params for {method}: {exc}") from None
        try:
            return function(*bound.args, **bound.kwargs)
        except RPCError:
            raise
        except DiskWriteError as exc:  # the OS reason only: LevelDB's message names our files
            log.error("%s (in %s)", exc, method)
            reason = exc.reason.rsplit(": ", 1)[-1]
            raise RPCError(
                errors.STORAGE_FAULT,
                f"the node cannot write to its disk ({reason}); the request was not carried out",
            ) from None
        except MempoolFull as exc:
            raise RPCError(errors.MEMPOOL_FULL, str(exc)) from None
        except (InvalidTransaction, DecodeError) as exc:
            raise RPCError(errors.TX_REJECTED, f"transaction rejected: {exc}") from None
        except Exception:
            log.exception("internal error in %s", method)
            raise RPCError(errors.INTERNAL_ERROR, "internal error (see the node's log)") from None


def _error(request_id: Any, code: int, message: str, data: Any = None) -> Response:
    error: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    return {"jsonrpc": "2.0", "id": request_id, "error": error}


def _dump(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()
