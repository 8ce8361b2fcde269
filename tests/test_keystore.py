"""Keystore v3 files: round trips, interoperability with eth-account, errors, file safety."""

from __future__ import annotations

import copy
import json
import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account import Account

from porchain.crypto.keys import PrivateKey, to_checksum_address
from porchain.crypto.keystore import (
    KeyEntry,
    Keystore,
    decrypt_key,
    encrypt_key,
    read_key_file,
    write_key_file,
)
from porchain.errors import KeystoreError

FAST_N = 2**10
PASSWORD = "correct horse battery staple"
SECRET = bytes.fromhex("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")


@pytest.fixture(scope="module")
def key() -> PrivateKey:
    return PrivateKey(SECRET)


@pytest.fixture(scope="module")
def keyfile(key: PrivateKey) -> dict:
    return encrypt_key(key, PASSWORD, scrypt_n=FAST_N)


@pytest.fixture(params=[0o000, 0o277], ids=["umask-000", "umask-277"])
def any_umask(request: pytest.FixtureRequest) -> Iterator[None]:
    """Run under a permissive umask and under one that would strip the owner's write bit."""
    previous = os.umask(request.param)
    try:
        yield
    finally:
        os.umask(previous)


def file_mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- encrypt / decrypt ---------------------------------------------------------------------


def test_round_trip(key: PrivateKey, keyfile: dict) -> None:
    assert decrypt_key(keyfile, PASSWORD).secret == key.secret


def test_written_format_matches_v3(key: PrivateKey, keyfile: dict) -> None:
    assert keyfile["version"] == 3
    assert keyfile["address"] == key.address.hex()
    crypto = keyfile["crypto"]
    assert crypto["cipher"] == "aes-128-ctr"
    assert crypto["kdf"] == "scrypt"
    assert crypto["kdfparams"]["n"] == FAST_N
    assert {k: crypto["kdfparams"][k] for k in ("dklen", "r", "p")} == {"dklen": 32, "r": 8, "p": 1}
    assert len(bytes.fromhex(crypto["cipherparams"]["iv"])) == 16
    assert len(bytes.fromhex(crypto["ciphertext"])) == 32
    assert bytes.fromhex(crypto["ciphertext"]) != key.secret


def test_fresh_salt_iv_and_id_each_time(key: PrivateKey, keyfile: dict) -> None:
    other = encrypt_key(key, PASSWORD, scrypt_n=FAST_N)
    assert other["id"] != keyfile["id"]
    assert other["crypto"]["kdfparams"]["salt"] != keyfile["crypto"]["kdfparams"]["salt"]
    assert other["crypto"]["cipherparams"]["iv"] != keyfile["crypto"]["cipherparams"]["iv"]


def test_porchain_file_opens_with_eth_account(key: PrivateKey, tmp_path: Path) -> None:
    path = tmp_path / "k.json"
    write_key_file(path, encrypt_key(key, PASSWORD, scrypt_n=FAST_N))
    assert bytes(Account.decrypt(json.loads(path.read_text()), PASSWORD)) == key.secret


def test_unicode_password_interoperates(key: PrivateKey) -> None:
    password = "pässwörd ключ 🔑"
    assert bytes(Account.decrypt(encrypt_key(key, password, scrypt_n=FAST_N), password)) == SECRET
    theirs = Account.encrypt(SECRET, password, kdf="scrypt", iterations=FAST_N)
    assert decrypt_key(theirs, password).address == key.address


@pytest.mark.parametrize("kdf, iterations", [("scrypt", FAST_N), ("pbkdf2", 1000)])
def test_eth_account_file_opens_with_porchain(
    key: PrivateKey, tmp_path: Path, kdf: str, iterations: int
) -> None:
    theirs = Account.encrypt(SECRET, PASSWORD, kdf=kdf, iterations=iterations)
    assert theirs["crypto"]["kdf"] == kdf
    path = tmp_path / "theirs.json"
    path.write_text(json.dumps(theirs))
    opened = decrypt_key(read_key_file(path), PASSWORD)
    assert opened.address == key.address
    assert opened.secret == SECRET


def test_capitalised_crypto_key_accepted(key: PrivateKey, keyfile: dict) -> None:
    mangled = dict(keyfile)
    mangled["Crypto"] = mangled.pop("crypto")
    assert decrypt_key(mangled, PASSWORD).address == key.address


def test_file_without_address_field_decrypts(key: PrivateKey, keyfile: dict) -> None:
    anonymous = {k: v for k, v in keyfile.items() if k != "address"}
    assert decrypt_key(anonymous, PASSWORD).address == key.address


def test_wrong_password(keyfile: dict) -> None:
    with pytest.raises(KeystoreError, match=r"wrong password \(MAC mismatch\)"):
        decrypt_key(keyfile, "not the password")


def test_tampered_ciphertext_is_detected(keyfile: dict) -> None:
    tampered = copy.deepcopy(keyfile)
    ciphertext = tampered["crypto"]["ciphertext"]
    tampered["crypto"]["ciphertext"] = ("0" if ciphertext[0] != "0" else "1") + ciphertext[1:]
    with pytest.raises(KeystoreError, match="MAC mismatch"):
        decrypt_key(tampered, PASSWORD)


def test_address_mismatch_raises(keyfile: dict) -> None:
    edited = dict(keyfile, address=PrivateKey.generate().address.hex())
    with pytest.raises(KeystoreError, match="edited or is corrupt"):
        decrypt_key(edited, PASSWORD)


DELETE = object()


def _mutated(keyfile: dict, path: tuple[str, ...], value: object) -> dict:
    """A deep copy with the field at `path` set to `value`, or deleted when value is DELETE."""
    result = copy.deepcopy(keyfile)
    section = result
    for part in path[:-1]:
        section = section[part]
    if value is DELETE:
        del section[path[-1]]
    else:
        section[path[-1]] = value
    return result


@pytest.mark.parametrize(
    "path, value, message",
    [
        (("crypto",), DELETE, "missing crypto"),
        (("crypto",), "abc", "crypto is not an object"),
        (("version",), 4, "unsupported key file version 4"),
        (("version",), DELETE, "unsupported key file version None"),
        (("crypto", "kdfparams", "salt"), DELETE, r"missing crypto\.kdfparams\.salt"),
        (("crypto", "kdfparams", "n"), DELETE, r"missing crypto\.kdfparams\.n"),
        (("crypto", "kdfparams", "n"), "1024", r"crypto\.kdfparams\.n is not a int"),
        (("crypto", "kdfparams", "n"), 1000, "power of two"),
        (("crypto", "kdfparams", "n"), 2**40, "unreasonably high"),
        (("crypto", "kdfparams", "dklen"), 16, "dklen must be at least 32"),
        (("crypto", "kdfparams", "r"), 0, r"crypto\.kdfparams\.r must be positive"),
        (("crypto", "kdfparams"), DELETE, r"missing crypto\.kdfparams"),
        (("crypto", "kdf"), "argon2id", "unsupported kdf 'argon2id'"),
        (("crypto", "kdf"), DELETE, r"missing crypto\.kdf"),
        (("crypto", "cipher"), "aes-128-cbc", "unsupported cipher 'aes-128-cbc'"),
        (("crypto", "cipherparams"), DELETE, r"missing crypto\.cipherparams"),
        (("crypto", "cipherparams", "iv"), "00" * 8, "iv must be 16 bytes"),
        (("crypto", "cipherparams", "iv"), "zz" * 16, r"crypto\.cipherparams\.iv is not hex"),
        (("crypto", "ciphertext"), DELETE, r"missing crypto\.ciphertext"),
        (("crypto", "ciphertext"), 1234, r"crypto\.ciphertext is not a str"),
        (("crypto", "mac"), DELETE, r"missing crypto\.mac"),
        (("crypto", "mac"), None, r"crypto\.mac is not a str"),
        (("address",), "0x1234", "malformed key file: an address is 20 bytes"),
        (("address",), 42, "address is not a string"),
    ],
)
def test_malformed_key_file_raises_keystore_error(
    keyfile: dict, path: tuple[str, ...], value: object, message: str
) -> None:
    with pytest.raises(KeystoreError, match=message):
        decrypt_key(_mutated(keyfile, path, value), PASSWORD)


def test_unsupported_pbkdf2_prf() -> None:
    theirs = Account.encrypt(SECRET, PASSWORD, kdf="pbkdf2", iterations=1000)
    theirs["crypto"]["kdfparams"]["prf"] = "hmac-sha512"
    with pytest.raises(KeystoreError, match="unsupported pbkdf2 prf 'hmac-sha512'"):
        decrypt_key(theirs, PASSWORD)


@pytest.mark.parametrize("document", [None, [], "text", 3])
def test_non_object_raises_keystore_error(document: object) -> None:
    with pytest.raises(KeystoreError, match="malformed key file"):
        decrypt_key(document, PASSWORD)  # type: ignore[arg-type]


def test_bad_scrypt_n_on_encrypt(key: PrivateKey) -> None:
    with pytest.raises(KeystoreError, match="power of two"):
        encrypt_key(key, PASSWORD, scrypt_n=1000)


# --- files ---------------------------------------------------------------------------------


def test_write_then_read_file(keyfile: dict, tmp_path: Path) -> None:
    path = tmp_path / "k.json"
    write_key_file(path, keyfile)
    assert read_key_file(path) == keyfile
    assert [p.name for p in tmp_path.iterdir()] == ["k.json"]  # no temp file left behind


def test_written_file_is_owner_only_despite_umask(
    keyfile: dict, tmp_path: Path, any_umask: None
) -> None:
    path = tmp_path / "k.json"
    write_key_file(path, keyfile)
    assert file_mode(path) == 0o600


def test_write_refuses_to_overwrite(keyfile: dict, tmp_path: Path) -> None:
    path = tmp_path / "k.json"
    path.write_text("precious")
    with pytest.raises(KeystoreError, match="refusing to overwrite"):
        write_key_file(path, keyfile)
    assert path.read_text() == "precious"


def test_write_into_missing_directory_raises(keyfile: dict, tmp_path: Path) -> None:
    with pytest.raises(KeystoreError, match="cannot write key file"):
        write_key_file(tmp_path / "absent" / "k.json", keyfile)


def test_read_missing_file(tmp_path: Path) -> None:
    with pytest.raises(KeystoreError, match="no key file at"):
        read_key_file(tmp_path / "absent.json")


def test_read_directory_is_unreadable(tmp_path: Path) -> None:
    with pytest.raises(KeystoreError, match="cannot read key file"):
        read_key_file(tmp_path)


@pytest.mark.parametrize(
    "content, message",
    [
        ("{not json", "not valid JSON"),
        ("", "not valid JSON"),
        ("[1, 2]", "not a version 3 key file"),
        ('{"version": 4, "crypto": {}}', "not a version 3 key file"),
        ('{"version": 3}', "missing crypto"),
    ],
)
def test_read_corrupt_file(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(KeystoreError, match=message):
        read_key_file(path)


def test_read_binary_garbage(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(KeystoreError, match="cannot read key file"):
        read_key_file(path)


# --- Keystore directory --------------------------------------------------------------------


def test_create_list_find_unlock(key: PrivateKey, tmp_path: Path, any_umask: None) -> None:
    directory = tmp_path / "nested" / "keys"
    store = Keystore(directory)
    assert store.list() == []

    entry = store.create(PASSWORD, name="validator", scrypt_n=FAST_N, key=key)
    assert entry == KeyEntry(
        name="validator", address=key.address, path=directory / "validator.json"
    )
    assert file_mode(directory) == 0o700
    assert file_mode(entry.path) == 0o600

    other = store.create(PASSWORD, scrypt_n=FAST_N)
    assert other.name == f"key-{other.address.hex()[:8]}"

    assert store.list() == sorted([entry, other], key=lambda e: e.name)
    assert store.find("validator") == entry
    assert store.find("0x" + key.address.hex()) == entry
    assert store.find(to_checksum_address(key.address)) == entry
    assert store.find("0x" + key.address.hex().upper()) == entry
    assert store.unlock("validator", PASSWORD).secret == key.secret
    assert store.unlock(to_checksum_address(other.address), PASSWORD).address == other.address


def test_unlock_wrong_password(key: PrivateKey, tmp_path: Path) -> None:
    store = Keystore(tmp_path)
    store.create(PASSWORD, name="k", scrypt_n=FAST_N, key=key)
    with pytest.raises(KeystoreError, match="wrong password"):
        store.unlock("k", "guess")


def test_find_absent(key: PrivateKey, tmp_path: Path) -> None:
    store = Keystore(tmp_path)
    store.create(PASSWORD, name="k", scrypt_n=FAST_N, key=key)
    for query in ("nobody", "0x" + "00" * 20, "../k", "k.json"):
        with pytest.raises(KeystoreError, match="no key named or with address"):
            store.find(query)


def test_find_rejects_bad_checksum(key: PrivateKey, tmp_path: Path) -> None:
    store = Keystore(tmp_path)
    store.create(PASSWORD, name="k", scrypt_n=FAST_N, key=key)
    checksummed = to_checksum_address(key.address)
    flipped = checksummed[:2] + checksummed[2:].swapcase()
    assert flipped.lower() != flipped and flipped.upper() != flipped
    with pytest.raises(KeystoreError, match="checksum"):
        store.find(flipped)


def test_duplicate_name_refused(key: PrivateKey, tmp_path: Path) -> None:
    store = Keystore(tmp_path)
    first = store.create(PASSWORD, name="k", scrypt_n=FAST_N, key=key)
    before = first.path.read_bytes()
    with pytest.raises(KeystoreError, match="a key named 'k' already exists"):
        store.create(PASSWORD, name="k", scrypt_n=FAST_N)
    assert first.path.read_bytes() == before
    assert store.list() == [first]


def test_duplicate_address_refused(key: PrivateKey, tmp_path: Path) -> None:
    store = Keystore(tmp_path)
    store.create(PASSWORD, name="first", scrypt_n=FAST_N, key=key)
    with pytest.raises(KeystoreError, match=r"already in .* as 'first'"):
        store.create(PASSWORD, name="second", scrypt_n=FAST_N, key=key)
    assert [e.name for e in store.list()] == ["first"]


@pytest.mark.parametrize("name", ["", "a/b", "../escape", "has space", "x" * 65, "ключ"])
def test_bad_name_refused(tmp_path: Path, name: str) -> None:
    store = Keystore(tmp_path / "keys")
    with pytest.raises(KeystoreError, match="invalid key name"):
        store.create(PASSWORD, name=name, scrypt_n=FAST_N)
    assert not (tmp_path / "keys").exists()


def test_list_skips_and_logs_unparseable_files(
    key: PrivateKey, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = Keystore(tmp_path)
    good = store.create(PASSWORD, name="good", scrypt_n=FAST_N, key=key)
    (tmp_path / "corrupt.json").write_text("{oops")
    (tmp_path / "notes.txt").write_text("not a key")
    with caplog.at_level(logging.WARNING, logger="porchain.crypto.keystore"):
        assert store.list() == [good]
    assert "corrupt.json" in caplog.text
    assert "notes.txt" not in caplog.text
