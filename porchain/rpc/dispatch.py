"""JSON-RPC 2.0 request handling: parsing, batches, routing by method name, error mapping, and
the bounds of `RPCLimits`.

Methods are plain synchronous functions. By default one runs in a worker thread against a
snapshot of the chain taken when its turn comes (at most `limits.workers` at once), so a slow
query never holds up the event loop that builds blocks, votes and reveals; `@on_loop` methods
run on the loop with the live node (see `porchain.rpc.view`). Answers are encoded where they
were computed, and one over `max_response_bytes` (or a batch whose answers together would be)
is refused with RESPONSE_TOO_LARGE; the rest of such a batch is not run.
"""

from __future__ import annotations

import inspect
import json
import logging
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import trio

from porchain.chain import Chain
from porchain.errors import (
    DecodeError,
    DiskWriteError,
    InvalidTransaction,
    MempoolFull,
    NonceTaken,
)
from porchain.rpc import errors
from porchain.rpc.errors import RPCError
from porchain.rpc.limits import RPCLimits
from porchain.rpc.view import ClockAt, Offload, ReadView, runs_on_loop

if TYPE_CHECKING:
    from porchain.node import Node

log = logging.getLogger(__name__)

METHOD_NAME = re.compile(r"^(por|gov|jud|net|dev|builder)_[a-z][A-Za-z0-9]*$")
JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
OPENING, CLOSING = np.frombuffer(b"[{", dtype=np.uint8), np.frombuffer(b"]}", dtype=np.uint8)

Answer = bytes | None  # an encoded response; None for a notification


@dataclass(frozen=True)
class Route:
    api: Callable[[Any], object]  # the API class: instantiated on a ReadView off the loop
    name: str
    live: Callable[..., Any]  # the method bound to the live node
    on_loop: bool
    signature: inspect.Signature  # of `live`: read once, it costs more than many methods do


class Dispatcher:
    def __init__(self, node: Node, apis: list[type], *, limits: RPCLimits) -> None:
        self.node = node
        self.limits = limits
        self.workers = trio.CapacityLimiter(limits.workers)
        self.routes: dict[str, Route] = {}
        for api in apis:
            for name, method in inspect.getmembers(api(node), callable):
                if METHOD_NAME.match(name):
                    self.routes[name] = Route(
                        api, name, method, runs_on_loop(method), inspect.signature(method)
                    )

    async def handle(self, body: bytes) -> Answer:
        """Answer a request body; None when it held only notifications."""
        try:
            if len(body) > self.limits.inline_body_bytes:
                async with self.workers:
                    request = await trio.to_thread.run_sync(self.parse, body)
            else:
                request = self.parse(body)
        except RPCError as exc:
            return _dump(_error(None, exc.code, exc.message))
        if isinstance(request, list):
            return await self._handle_batch(request)
        return await self._answer(request)

    def parse(self, body: bytes) -> Any:
        """Strict JSON: no NaN or Infinity, numbers of at most `max_number_digits` digits,
        nesting at most `max_depth` deep (checked first: the parser recurses in C, as deep as
        the recursion limit lets it, which a library may have raised past the thread's stack)."""
        opening = body.count(b"[") + body.count(b"{")
        if opening > self.limits.max_depth and nesting_depth(body) > self.limits.max_depth:
            raise RPCError(
                errors.PARSE_ERROR,
                f"parse error: nested too deep (more than {self.limits.max_depth} levels)",
            )
        try:
            return json.loads(
                body,
                parse_constant=_refuse_constant,
                parse_int=self._parse_int,
                parse_float=self._parse_float,
            )
        except RecursionError:
            raise RPCError(errors.PARSE_ERROR, "parse error: nested too deep") from None
        except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError and ours
            raise RPCError(errors.PARSE_ERROR, f"parse error: {exc}") from None

    def _check_digits(self, text: str) -> None:
        if len(text) > self.limits.max_number_digits:
            raise ValueError(
                f"a number of {len(text)} characters (at most {self.limits.max_number_digits})"
            )

    def _parse_int(self, text: str) -> int:
        self._check_digits(text)
        return int(text)

    def _parse_float(self, text: str) -> float:
        self._check_digits(text)
        value = float(text)
        if not math.isfinite(value):
            raise ValueError(f"{text} is out of range")
        return value

    async def _handle_batch(self, batch: list[Any]) -> Answer:
        if not batch or len(batch) > self.limits.max_batch:
            return _dump(
                _error(
                    None,
                    errors.INVALID_REQUEST,
                    f"a batch holds 1 to {self.limits.max_batch} requests, got {len(batch)}",
                )
            )
        answers: list[bytes] = []
        size, full = 2, False  # the brackets
        for request in batch:
            if full:
                answer: Answer = self._too_large(request)
            else:
                answer = await self._answer(request)
            if answer is None:
                continue
            if not full and size + len(answer) + 1 > self.limits.max_response_bytes:
                full, answer = True, self._too_large(request)
            if answer is not None:
                answers.append(answer)
                size += len(answer) + 1
        return b"[" + b",".join(answers) + b"]" if answers else None

    def _too_large(self, request: Any) -> Answer:
        if not isinstance(request, dict) or "id" not in request:
            return None
        return _dump(_error(_valid_id(request.get("id")), *self._too_large_error()))

    def _too_large_error(self) -> tuple[int, str]:
        return (
            errors.RESPONSE_TOO_LARGE,
            f"response too large: the answer would pass {self.limits.max_response_bytes} "
            "bytes; ask for less (a lower limit, a smaller batch)",
        )

    async def _answer(self, request: Any) -> Answer:
        try:
            request_id, method, args, kwargs = self._check(request)
        except RPCError as exc:
            if exc.code != errors.INVALID_REQUEST and "id" not in request:
                return None  # a notification for a method we lack, or with bad params
            request_id = _valid_id(request.get("id")) if isinstance(request, dict) else None
            return _dump(_error(request_id, exc.code, exc.message, exc.data))
        notification = "id" not in request
        route = self.routes[method]
        if not route.on_loop:
            api = route.api

            def off_loop(chain: Chain, clock: ClockAt) -> Any:
                return getattr(api(ReadView(self.node, chain, clock)), method)(*args, **kwargs)

            return await self._in_worker(request_id, notification, method, off_loop)
        try:
            result = _guarded(method, lambda: route.live(*args, **kwargs))
        except RPCError as exc:
            return (
                None if notification else _dump(_error(request_id, exc.code, exc.message, exc.data))
            )
        if isinstance(result, Offload):
            finish = result.finish
            return await self._in_worker(
                request_id, notification, method, lambda chain, _: finish(chain)
            )
        return self._encode(request_id, notification, method, lambda: result)

    def _check(self, request: Any) -> tuple[Any, str, list[Any], dict[str, Any]]:
        """The id, method and arguments of a well-formed request for a method we serve."""
        if not isinstance(request, dict):
            raise RPCError(errors.INVALID_REQUEST, "a request is a JSON object")
        request_id = request.get("id")
        if _valid_id(request_id) is None and request_id is not None:
            raise RPCError(errors.INVALID_REQUEST, "id must be a string, number or null")
        method = request.get("method")
        params = request.get("params", [])
        if request.get("jsonrpc") != "2.0" or not isinstance(method, str):
            raise RPCError(errors.INVALID_REQUEST, 'need "jsonrpc": "2.0" and a method')
        if not isinstance(params, list | dict):
            raise RPCError(errors.INVALID_REQUEST, "params must be an array or object")
        route = self.routes.get(method)
        if route is None:
            raise RPCError(errors.METHOD_NOT_FOUND, f"method not found: {method[:64]}")
        args, kwargs = (params, {}) if isinstance(params, list) else ([], params)
        try:
            bound = route.signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise RPCError(errors.INVALID_PARAMS, f"invalid params for {method}: {exc}") from None
        return request_id, method, list(bound.args), dict(bound.kwargs)

    async def _in_worker(
        self,
        request_id: Any,
        notification: bool,
        method: str,
        work: Callable[[Chain, ClockAt], Any],
    ) -> Answer:
        """Run `work` in a worker thread on a snapshot of the chain and a reading of the clock
        taken now, on the loop."""
        async with self.workers:
            snapshot, clock = self.node.chain.db.snapshot(), ClockAt(self.node.clock)
            rules = self.node.chain.rules
            try:
                return await trio.to_thread.run_sync(
                    self._encode,
                    request_id,
                    notification,
                    method,
                    lambda: work(Chain(snapshot, rules), clock),
                )
            finally:
                snapshot.close()

    def _encode(
        self, request_id: Any, notification: bool, method: str, compute: Callable[[], Any]
    ) -> Answer:
        try:
            answer = {"jsonrpc": "2.0", "id": request_id, "result": _guarded(method, compute)}
        except RPCError as exc:
            answer = _error(request_id, exc.code, exc.message, exc.data)
        if notification:
            return None
        encoded = _dump(answer)
        if len(encoded) > self.limits.max_response_bytes:
            return _dump(_error(request_id, *self._too_large_error()))
        return encoded


def _guarded(method: str, compute: Callable[[], Any]) -> Any:
    """`compute()`, with what it raises turned into the RPCError a client should see."""
    try:
        return compute()
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
    except NonceTaken as exc:
        raise RPCError(errors.NONCE_TAKEN, f"transaction rejected: {exc}") from None
    except (InvalidTransaction, DecodeError) as exc:
        raise RPCError(errors.TX_REJECTED, f"transaction rejected: {exc}") from None
    except Exception:
        log.exception("internal error in %s", method)
        raise RPCError(errors.INTERNAL_ERROR, "internal error (see the node's log)") from None


def nesting_depth(body: bytes) -> int:
    """How deep the arrays and objects of a JSON text nest (strings skipped), in C-speed
    passes: a regular expression and numpy, whatever the size or depth of the body."""
    stripped = JSON_STRING.sub(b'""', body)
    raw = np.frombuffer(stripped, dtype=np.uint8)
    steps = np.isin(raw, OPENING).astype(np.int32) - np.isin(raw, CLOSING).astype(np.int32)
    return int(np.cumsum(steps).max(initial=0))


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _valid_id(request_id: Any) -> Any:
    """The id if it may be echoed (a string, number or null), else None."""
    if isinstance(request_id, str | int | type(None)) and not isinstance(request_id, bool):
        return request_id
    return None


def _error(request_id: Any, code: int, message: str, data: Any = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    return {"jsonrpc": "2.0", "id": request_id, "error": error}


def _dump(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), allow_nan=False).encode()
