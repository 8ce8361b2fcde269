"""The devnet's errors: the CLI prints each as one line and exits non-zero."""

from __future__ import annotations

from porchain.errors import PorchainError


class DevnetError(PorchainError):
    """A devnet that cannot be created, started, stopped or queried as asked."""


class ManifestError(DevnetError):
    """A manifest that is not valid TOML or does not describe a network we can run."""
