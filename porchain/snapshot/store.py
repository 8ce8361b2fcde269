"""A node's snapshot directory: the files it made or bootstrapped from, which it serves.

Files are named `<block number>.porsnap`; `latest` is the highest. A file is published by an
atomic rename, so a reader (a download in progress) never sees half of one.
"""

from __future__ import annotations

import re
from pathlib import Path

from porchain.snapshot.format import SnapshotError, SnapshotHeader, read_preamble

SUFFIX = ".porsnap"
NAME = re.compile(r"^(?:[0-9]{1,19}\.porsnap|latest)$")
MAX_LISTED = 64
MAX_STORED = 8  # snapshots a node writes on request (por_createSnapshot) before it refuses


def snapshot_path(directory: Path, number: int) -> Path:
    return directory / f"{number}{SUFFIX}"


def stored_numbers(directory: Path) -> list[int]:
    """The block numbers of the snapshots in `directory`, highest first."""
    try:
        names = [p.name for p in directory.iterdir()]
    except OSError:
        return []
    numbers = [int(n[: -len(SUFFIX)]) for n in names if NAME.match(n) and n != "latest"]
    return sorted(numbers, reverse=True)


def find(directory: Path, name: str) -> Path | None:
    """The file served as `name` (`<number>.porsnap` or `latest`), if there is one."""
    if not NAME.match(name):
        return None
    if name == "latest":
        numbers = stored_numbers(directory)
        return snapshot_path(directory, numbers[0]) if numbers else None
    path = directory / name
    return path if path.is_file() else None


def describe(path: Path) -> tuple[SnapshotHeader, int]:
    """A stored snapshot's header and its signature count."""
    try:
        with path.open("rb") as source:
            preamble = read_preamble(source)
    except OSError as exc:
        raise SnapshotError(f"cannot read the snapshot {path}: {exc.strerror}") from None
    return preamble.header, len(preamble.signatures)
