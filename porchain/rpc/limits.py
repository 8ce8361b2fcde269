"""What one RPC request may cost the node: every bound in one place (docs/rpc.md, "Limits").

Passed down as one object so tests can shrink any of them.
"""

from __future__ import annotations

from dataclasses import dataclass

MiB = 2**20


@dataclass(frozen=True)
class RPCLimits:
    max_body_bytes: int = 1 * MiB  # a request body; larger is HTTP 413 before it is read
    max_batch: int = 100  # requests in one batch
    max_response_bytes: int = 8 * MiB  # one answer, or a whole batch's answers together
    max_depth: int = 64  # nesting of arrays and objects in a body (a request needs 3 or 4)
    max_number_digits: int = 100  # digits of a JSON number (uint256 needs 78)
    inline_body_bytes: int = 64 * 1024  # bodies up to this are parsed on the event loop
    workers: int = 2  # requests served in worker threads at once; the others wait their turn
