"""A node's P2P identity: a key of its own (not a producer key), kept in its data directory."""

from __future__ import annotations

import os
from pathlib import Path

from porchain.crypto.keys import PrivateKey
from porchain.errors import PorchainError

NODE_KEY_FILE = "nodekey"


def load_node_key(path: Path) -> PrivateKey:
    """The key in `path` (hex), created on first use with mode 0600."""
    if path.exists():
        try:
            return PrivateKey(bytes.fromhex(path.read_text().strip()))
        except ValueError as exc:
            raise PorchainError(
                f"node key file {path} is corrupt ({exc}); delete it to get a new node identity"
            ) from None
    key = PrivateKey.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(key.secret.hex())
    return key
