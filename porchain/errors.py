"""The exception hierarchy: one family per layer, each message something a user can act on."""


class PorchainError(Exception):
    """Base of every error porchain raises on purpose."""


class DecodeError(PorchainError):
    """Bytes that are not a well-formed encoding of the expected object."""


class InvalidSignature(PorchainError):
    """A signature that is malformed, high-s, or does not recover to a key."""


class InvalidTransaction(PorchainError):
    """A transaction that must not enter a block or the mempool."""


class InvalidBlock(PorchainError):
    """A block that must not be imported; the chain is left untouched."""


class InvalidGenesis(PorchainError):
    """A genesis file that cannot start a chain."""


class InvalidParameters(PorchainError):
    """A WSC parameter set with unknown keys, out-of-range or inconsistent values."""


class KeystoreError(PorchainError):
    """A key file that cannot be read, decrypted or written."""


class DatabaseError(PorchainError):
    """A data directory that cannot be opened, or whose contents are inconsistent."""


class DiskWriteError(DatabaseError):
    """A write the database could not make (a full or failing disk); nothing of it was stored."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"the node cannot write to its disk: {reason}")
        self.reason = reason


class FutureBlock(InvalidBlock):
    """A block whose slot has not started by our clock (clock skew, not necessarily malice)."""


class PeerMisbehaved(PorchainError):
    """A peer sent something no honest peer sends: garbage, an oversized frame, an invalid block."""


class MempoolFull(InvalidTransaction):
    """The mempool is full and the transaction pays too little to evict another."""


class NonceTaken(InvalidTransaction):
    """A transaction sent not to replace one has the nonce of a pending one (of the node's own
    duties, say, sent between the client's reading of the next nonce and its sending)."""


class BlockAlreadyKnown(InvalidBlock):
    """The block is already stored, on the canonical chain or a side branch."""


class UnknownParent(InvalidBlock):
    """The block's parent is not stored; a syncing node fetches the ancestors first."""


class ConflictsWithFinalized(InvalidBlock):
    """The block's branch forks at or below our finalized block. A peer still on a stale fork
    sends such blocks honestly until it learns of the finalized chain: refuse, do not punish."""


class SideBlocksFull(InvalidBlock):
    """A valid-looking side block refused because the side blocks kept are at a bound: not
    the sender's fault (it may be an honest fork); it can be stored once finality prunes."""


def leaf_exceptions(exc: BaseException) -> list[BaseException]:
    """The exceptions inside (possibly nested) exception groups, or `exc` itself."""
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in leaf_exceptions(inner)]
    return [exc]
