"""secp256k1 keys, recoverable low-s signatures, Ethereum-style addresses (PROTOCOL section 3)."""

from __future__ import annotations

from collections import OrderedDict

import coincurve

from porchain.crypto.hashing import keccak
from porchain.errors import DecodeError, InvalidSignature

SIGNATURE_SIZE = 65
ADDRESS_SIZE = 20
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_HALF_N = SECP256K1_N // 2
RECOVERED_ADDRESSES = 32768  # (hash, signature) -> address pairs kept (about 6 MB)


def public_key_to_address(public_key: coincurve.PublicKey) -> bytes:
    return keccak(public_key.format(compressed=False)[1:])[-ADDRESS_SIZE:]


class PrivateKey:
    """A signing key; signatures are 65 bytes r || s || recovery id, always low-s."""

    __slots__ = ("_key", "address")

    def __init__(self, secret: bytes) -> None:
        if len(secret) != 32:
            raise ValueError("a private key is 32 bytes")
        try:
            self._key = coincurve.PrivateKey(secret)
        except ValueError as exc:
            raise ValueError("private key out of the secp256k1 range") from exc
        self.address = public_key_to_address(self._key.public_key)

    @classmethod
    def generate(cls) -> PrivateKey:
        return cls(coincurve.PrivateKey().secret)

    @property
    def secret(self) -> bytes:
        return self._key.secret

    def sign_hash(self, message_hash: bytes) -> bytes:
        # libsecp256k1 signs with RFC 6979 nonces and normalises to low-s.
        signature = self._key.sign_recoverable(message_hash, hasher=None)
        remember_recovered(bytes(message_hash), signature, self.address)  # its signer is known
        return signature

    def __repr__(self) -> str:
        return f"<PrivateKey {to_checksum_address(self.address)}>"


def check_signature_form(signature: bytes) -> None:
    if len(signature) != SIGNATURE_SIZE:
        raise InvalidSignature(f"signature must be {SIGNATURE_SIZE} bytes, got {len(signature)}")
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:64], "big")
    if not 0 < r < SECP256K1_N:
        raise InvalidSignature("signature r out of range")
    if not 0 < s <= _HALF_N:
        raise InvalidSignature("signature s is not in the lower half of the curve order")
    if signature[64] > 1:
        raise InvalidSignature(f"signature recovery id must be 0 or 1, got {signature[64]}")


def recover_address(message_hash: bytes, signature: bytes) -> bytes:
    """The address whose key made `signature` over `message_hash`; raises InvalidSignature.

    Recovery is a pure function and the dearest step of checking a transaction or a header,
    which every node of an in-process network (and a node seeing a block again) repeats on the
    same pair: the last RECOVERED_ADDRESSES answers are kept (failures are not), and so are the
    signers of the signatures this process made."""
    pair = (bytes(message_hash), bytes(signature))
    address = _recovered.get(pair)
    if address is None:
        address = recover_address_uncached(*pair)
        remember_recovered(*pair, address)
    else:
        _recovered.move_to_end(pair)
    return address


_recovered: OrderedDict[tuple[bytes, bytes], bytes] = OrderedDict()


def remember_recovered(message_hash: bytes, signature: bytes, address: bytes) -> None:
    """Record that `signature` over `message_hash` recovers to `address` (a signature made
    here, or one recovered by `porchain.crypto.recovery`'s workers)."""
    _recovered[message_hash, signature] = address
    if len(_recovered) > RECOVERED_ADDRESSES:
        _recovered.popitem(last=False)


def is_recovered(message_hash: bytes, signature: bytes) -> bool:
    return (message_hash, signature) in _recovered


def recover_address_uncached(message_hash: bytes, signature: bytes) -> bytes:
    """`recover_address` without the cache: what one recovery costs (benchmarks)."""
    check_signature_form(signature)
    try:
        public_key = coincurve.PublicKey.from_signature_and_message(
            signature, message_hash, hasher=None
        )
    except Exception as exc:  # coincurve raises bare Exception on recovery failure
        raise InvalidSignature("signature does not recover to a public key") from exc
    return public_key_to_address(public_key)


def to_checksum_address(address: bytes) -> str:
    """EIP-55 mixed-case hex, so a mistyped address is caught by any Ethereum tool too."""
    hex_address = address.hex()
    digest = keccak(hex_address.encode()).hex()
    return "0x" + "".join(
        c.upper() if c.isalpha() and int(digest[i], 16) >= 8 else c
        for i, c in enumerate(hex_address)
    )


def parse_address(text: str) -> bytes:
    """Parse 0x-prefixed hex; a mixed-case address must carry a valid EIP-55 checksum."""
    body = text[2:] if text[:2] in ("0x", "0X") else text
    if len(body) != 2 * ADDRESS_SIZE:
        raise DecodeError(f"an address is {ADDRESS_SIZE} bytes of hex, got {text!r}")
    try:
        address = bytes.fromhex(body)
    except ValueError as exc:
        raise DecodeError(f"an address is hex, got {text!r}") from exc
    if body != body.lower() and body != body.upper() and to_checksum_address(address)[2:] != body:
        raise DecodeError(f"address {text} has a wrong EIP-55 checksum (mistyped?)")
    return address
