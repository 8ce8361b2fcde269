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
        # a running node reports its own progress, and an attacking node its decisions, at
        # info; everything else stays quiet
        for name in (
            "porchain.node",
            "porchain.rpc.server",
            "porchain.net.service",
            "porchain.snapshot",  # a bootstrap from a snapshot
            "porchain.behaviours",
            "judicial",  # the built-in plugins' duties: a juror's ballots, evidence sent
            "governance",
        ):
            logging.getLogger(name).setLevel(logging.INFO)
    logging.getLogger("hypercorn").setLevel(max(level, logging.WARNING))
    for quiet in ("httpx", "httpcore"):  # a line per request to relays and builders' nodes
        logging.getLogger(quiet).setLevel(max(level, logging.WARNING))
