"""An authority's signature added to a snapshot file (the entries are copied as they are)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from porchain.crypto.keys import PrivateKey, recover_address
from porchain.errors import InvalidSignature
from porchain.snapshot.format import MAX_SIGNATURES, SnapshotError, SnapshotPreamble, read_preamble


def signers(preamble: SnapshotPreamble) -> set[bytes]:
    digest = preamble.header.signing_hash()
    found = set()
    for signature in preamble.signatures:
        try:
            found.add(recover_address(digest, signature))
        except InvalidSignature:
            continue
    return found


def add_signature(path: Path, key: PrivateKey) -> bool:
    """Sign the snapshot at `path` with `key`, rewriting it through a temporary file; False
    when `key` had signed it already."""
    tmp = path.with_name(path.name + ".tmp")
    with path.open("rb") as source:
        preamble = read_preamble(source)
        if key.address in signers(preamble):
            return False
        if len(preamble.signatures) >= MAX_SIGNATURES:
            raise SnapshotError(f"the snapshot carries {MAX_SIGNATURES} signatures already")
        preamble.signatures.append(key.sign_hash(preamble.header.signing_hash()))
        with tmp.open("wb") as sink:
            sink.write(preamble.encode())
            shutil.copyfileobj(source, sink, 1 << 20)
            sink.flush()
            os.fsync(sink.fileno())
    tmp.replace(path)
    return True
