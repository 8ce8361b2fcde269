"""Quiet, structured logs: one line per event, `key=value` fields, level set by `-v`."""

from __future__ import annotations

import logging
import sys

FORMAT = "%(asctime)s.%(msecs)03d %(levelname)-5s %(name)s: %(message)s"
DATE_FORMAT = "%Y-%m-%dT%H:%M:%S"


def configure_logging(verbosity: int = 0, *, stream: object = None) -> None:
    """0: warnings only for porchain's libraries, info for the node; 1: info; 2+: debug."""
    level = logging.DEBUG if verbosity >= 2 else logging.INFO if verbosity == 1 else logging.WARNING
    handler = logging.StreamHandler(stream or sys.stderr)  # type: ignore[arg-type]
    handler.setFormatter(logging.Formatter(FORMAT, DATE_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    if verbosity == 0:
        # a running node reports its own progress at info; everything else stays quiet
        logging.getLogger("porchain.node").setLevel(logging.INFO)
        logging.getLogger("porchain.rpc.server").setLevel(logging.INFO)
        logging.getLogger("porchain.net.service").setLevel(logging.INFO)
    logging.getLogger("hypercorn").setLevel(max(level, logging.WARNING))
