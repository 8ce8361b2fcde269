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
from click.testing import CliRunner, Result
from eth_account import Account

from porchain.cli.main import cli
from porchain.crypto.keys import PrivateKey, to_checksum_address
from porchain.crypto.keystore import (
    KeyEntry,
    Keystore,
    check_key_file,
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
        (
            ("crypto", "kdfparams", "n"),
            2**40,
            r"n is 1099511627776, out of bounds: it must be from 2 to",
        ),
        (("crypto", "kdfparams", "dklen"), 16, "dklen is 16, out of bounds: it must be 32"),
        (
            ("crypto", "kdfparams", "r"),
            0,
            r"crypto\.kdfparams\.r is 0, out of bounds: it must be from 1",
        ),
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


def test_list_reports_every_skipped_file_and_ignores_hidden_ones(
    key: PrivateKey, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = Keystore(tmp_path)
    good = store.create(PASSWORD, name="good", scrypt_n=FAST_N, key=key)
    (tmp_path / "corrupt.json").write_text("{oops")
    (tmp_path / "notes.txt").write_text("not a key")
    (tmp_path / ".hidden").write_text("{oops")  # our own temporary files are hidden
    (tmp_path / "good.json~").write_text("{oops")  # an editor's backup
    (tmp_path / "subdir").mkdir()
    with caplog.at_level(logging.WARNING, logger="porchain.crypto.keystore"):
        assert store.list() == [good]
    assert "corrupt.json: not valid JSON" in caplog.text
    assert "notes.txt: not valid JSON" in caplog.text
    assert ".hidden" not in caplog.text and "~" not in caplog.text
    assert [(s.name, s.path) for s in store.scan().skipped] == [
        ("corrupt", tmp_path / "corrupt.json"),
        ("notes.txt", tmp_path / "notes.txt"),
    ]


# --- bounded KDF parameters ----------------------------------------------------------------

# geth's own test key (go-ethereum accounts/keystore/testdata/keystore, password "foobar"), under
# the name geth gave it: light scrypt parameters with p=16.
GETH_FILE_NAME = "UTC--2016-03-22T12-57-55.920751759Z--7ef5a6135f1fd6a02593eedc869c6d41d934aef8"
GETH_PASSWORD = "foobar"
GETH_KEYFILE = {
    "address": "7ef5a6135f1fd6a02593eedc869c6d41d934aef8",
    "crypto": {
        "cipher": "aes-128-ctr",
        "ciphertext": "1d0839166e7a15b9c1333fc865d69858b22df26815ccf601b28219b6192974e1",
        "cipherparams": {"iv": "8df6caa7ff1b00c4e871f002cb7921ed"},
        "kdf": "scrypt",
        "kdfparams": {
            "dklen": 32,
            "n": 8,
            "p": 16,
            "r": 8,
            "salt": "e5e6ef3f4ea695f496b643ebd3f75c0aa58ef4070e90c80c5d3fb0241bf1595c",
        },
        "mac": "6d16dfde774845e4585357f24bce530528bc69f4f84e1e22880d34fa45c273e5",
    },
    "id": "950077c7-71e3-4c44-a4a1-143919141ed4",
    "version": 3,
}
# The PBKDF2 test vector of the Web3 Secret Storage definition (also in geth's testdata).
PBKDF2_VECTOR = {
    "crypto": {
        "cipher": "aes-128-ctr",
        "cipherparams": {"iv": "6087dab2f9fdbbfaddc31a909735c1e6"},
        "ciphertext": "5318b4d5bcd28de64ee5559e671353e16f075ecae9f99c7a79a38af5f869aa46",
        "kdf": "pbkdf2",
        "kdfparams": {
            "c": 262144,
            "dklen": 32,
            "prf": "hmac-sha256",
            "salt": "ae3cd4e7013836a3df6bd7241b12db061dbe2c6785853cce422d148a624ce0bd",
        },
        "mac": "517ead924a9d0dc3124507e3393d175ce3ff7c1e96529c6c555ce9e51205e9b2",
    },
    "id": "3198bc9c-6672-5ab3-d995-4942343ae5b6",
    "version": 3,
}
PBKDF2_VECTOR_SECRET = "7a28b5ba57c53603b0b07b56bba752f7784bf506fa95edc395f5cf6c7514fe9d"


def _with_kdfparams(keyfile: dict, **params: object) -> dict:
    result = copy.deepcopy(keyfile)
    result["crypto"]["kdfparams"].update(params)
    return result


HOSTILE_SCRYPT = [
    ({"dklen": 2**40}, r"kdfparams\.dklen is 1099511627776, out of bounds: it must be 32"),
    ({"dklen": 64}, r"kdfparams\.dklen is 64, out of bounds: it must be 32"),
    ({"dklen": 2**200}, r"kdfparams\.dklen is a 201-bit number, out of bounds"),
    ({"n": 2**21}, r"kdfparams\.n is 2097152, out of bounds: it must be from 2 to 1048576"),
    ({"n": 2, "p": 2**30}, r"kdfparams\.p is 1073741824, out of bounds: it must be from 1 to 16"),
    ({"n": 2, "r": 2**24}, r"kdfparams\.r is 16777216, out of bounds: it must be from 1 to 16"),
    # each within its own bound, together 8 times geth's standard work
    ({"n": 2**20, "r": 16, "p": 1}, r"scrypt work n\*r\*p = 1048576\*16\*1 = 16777216 is over"),
    ({"n": 2**16, "r": 16, "p": 16}, r"scrypt work .* = 16777216 is over the bound 8388608"),
    ({"salt": "00" * 65}, r"kdfparams\.salt is 65 bytes, out of bounds: it must be from 8 to 64"),
    ({"salt": "00" * 4}, r"kdfparams\.salt is 4 bytes, out of bounds"),
]
HOSTILE_PBKDF2 = [
    ({"c": 10**9}, r"kdfparams\.c is 1000000000, out of bounds: it must be from 1 to 4000000"),
    ({"dklen": 2**30}, r"kdfparams\.dklen is 1073741824, out of bounds: it must be 32"),
]


@pytest.mark.parametrize(
    "kdf, params, message",
    [("scrypt", *case) for case in HOSTILE_SCRYPT] + [("pbkdf2", *case) for case in HOSTILE_PBKDF2],
)
def test_hostile_kdf_parameters_are_refused_before_any_kdf(
    keyfile: dict, tmp_path: Path, kdf: str, params: dict, message: str
) -> None:
    """Reading the file (no password, no KDF) already refuses it, so listing reports it and
    unlocking never starts the KDF."""
    base, password = (keyfile, PASSWORD) if kdf == "scrypt" else (PBKDF2_VECTOR, "testpassword")
    hostile = _with_kdfparams(base, **params)
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(hostile))
    with pytest.raises(KeystoreError, match=message):
        read_key_file(path)
    with pytest.raises(KeystoreError, match=message):
        check_key_file(hostile)
    with pytest.raises(KeystoreError, match=message):
        decrypt_key(hostile, password)


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("ciphertext", "00" * 33, r"crypto\.ciphertext must be 32 bytes, got 33"),
        ("ciphertext", "00" * 100_000, r"crypto\.ciphertext must be 32 bytes, got 100000"),
        ("mac", "00" * 31, r"crypto\.mac must be 32 bytes, got 31"),
        ("cipher", "x" * 10_000, r"unsupported cipher 'xxxxxxx.*\.\.\. \(only aes-128-ctr"),
    ],
)
def test_cipher_fields_have_exact_sizes(
    keyfile: dict, field: str, value: str, message: str
) -> None:
    with pytest.raises(KeystoreError, match=message):
        decrypt_key(_mutated(keyfile, ("crypto", field), value), PASSWORD)


@pytest.mark.parametrize(
    "n, r, p",
    [(2**18, 8, 1), (2**12, 8, 6), (2**18, 1, 8), (8, 8, 16)],
    ids=["geth-standard", "geth-light", "secret-storage-vector", "geth-testdata"],
)
def test_parameters_geth_and_eth_account_write_are_within_bounds(
    keyfile: dict, n: int, r: int, p: int
) -> None:
    assert check_key_file(_with_kdfparams(keyfile, n=n, r=r, p=p)).ciphertext == bytes.fromhex(
        keyfile["crypto"]["ciphertext"]
    )


def test_pbkdf2_test_vector_still_decrypts() -> None:
    assert decrypt_key(PBKDF2_VECTOR, "testpassword").secret.hex() == PBKDF2_VECTOR_SECRET


def test_huge_file_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "huge.json"
    path.write_text('{"version": 3, "pad": "' + "x" * 70_000 + '"}')
    with pytest.raises(KeystoreError, match=r"too big for a key file: 70\d{3} bytes"):
        read_key_file(path)


def test_fifo_in_keystore_is_skipped_without_blocking(key: PrivateKey, tmp_path: Path) -> None:
    store = Keystore(tmp_path)
    good = store.create(PASSWORD, name="good", scrypt_n=FAST_N, key=key)
    os.mkfifo(tmp_path / "pipe")
    scan = store.scan()
    assert scan.entries == [good]
    assert [(s.name, s.reason) for s in scan.skipped] == [
        ("pipe", "cannot read key file: not a regular file")
    ]


# --- geth names, names with spaces, skipped files -------------------------------------------


def test_geth_named_file_is_listed_found_and_unlocked(tmp_path: Path) -> None:
    path = tmp_path / GETH_FILE_NAME
    path.write_text(json.dumps(GETH_KEYFILE))
    store = Keystore(tmp_path)
    address = bytes.fromhex(GETH_KEYFILE["address"])
    entry = KeyEntry(name=GETH_FILE_NAME, address=address, path=path)
    assert store.list() == [entry]
    assert store.find(GETH_FILE_NAME) == entry
    assert store.find(to_checksum_address(address)) == entry
    assert store.unlock(to_checksum_address(address), GETH_PASSWORD).address == address
    assert store.unlock(GETH_FILE_NAME, GETH_PASSWORD).address == address


def test_name_with_spaces_is_listed_and_unlocked(key: PrivateKey, tmp_path: Path) -> None:
    path = tmp_path / "my old key.json"
    path.write_text(json.dumps(encrypt_key(key, PASSWORD, scrypt_n=FAST_N)))
    store = Keystore(tmp_path)
    assert store.list() == [KeyEntry(name="my old key", address=key.address, path=path)]
    assert store.unlock("my old key", PASSWORD).secret == key.secret


def test_unlock_checks_the_address_field_against_the_key(key: PrivateKey, tmp_path: Path) -> None:
    """A file listed under one address must not unlock another key."""
    other = PrivateKey.generate()
    lying = dict(encrypt_key(key, PASSWORD, scrypt_n=FAST_N), address=other.address.hex())
    (tmp_path / GETH_FILE_NAME).write_text(json.dumps(lying))
    store = Keystore(tmp_path)
    assert [e.address for e in store.list()] == [other.address]
    with pytest.raises(KeystoreError, match="edited or is corrupt"):
        store.unlock(to_checksum_address(other.address), PASSWORD)


def test_finding_a_skipped_file_says_why(keyfile: dict, tmp_path: Path) -> None:
    (tmp_path / "hostile.json").write_text(json.dumps(_with_kdfparams(keyfile, dklen=2**40)))
    store = Keystore(tmp_path)
    with pytest.raises(KeystoreError, match=r"hostile\.json is skipped: .*dklen is 1099511627776"):
        store.unlock("hostile", PASSWORD)
    with pytest.raises(KeystoreError, match=r"\(1 files skipped: see porchain keys list\)"):
        store.find("0x" + "00" * 20)


def test_an_address_in_two_files_is_ambiguous(
    key: PrivateKey, keyfile: dict, tmp_path: Path
) -> None:
    (tmp_path / "a.json").write_text(json.dumps(keyfile))
    (tmp_path / "b").write_text(json.dumps(keyfile))
    store = Keystore(tmp_path)
    with pytest.raises(KeystoreError, match=r"matches several key files"):
        store.find(to_checksum_address(key.address))
    assert store.find("b").path == tmp_path / "b"


def test_create_refuses_a_name_a_geth_style_file_already_has(
    key: PrivateKey, keyfile: dict, tmp_path: Path
) -> None:
    (tmp_path / "k").write_text(json.dumps(keyfile))
    with pytest.raises(KeystoreError, match="a key named 'k' already exists"):
        Keystore(tmp_path).create(PASSWORD, name="k", scrypt_n=FAST_N)
    assert not (tmp_path / "k.json").exists()


# --- the CLI -------------------------------------------------------------------------------


def _keys_cli(datadir: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--datadir", str(datadir), "keys", *args])


@pytest.fixture
def mixed_datadir(key: PrivateKey, keyfile: dict, tmp_path: Path) -> Path:
    """A keystore with one porchain key, geth's key under its geth name, and a hostile file."""
    keystore = tmp_path / "keystore"
    keystore.mkdir()
    (keystore / "mine.json").write_text(json.dumps(keyfile))
    (keystore / GETH_FILE_NAME).write_text(json.dumps(GETH_KEYFILE))
    (keystore / "evil key.json").write_text(json.dumps(_with_kdfparams(keyfile, p=10**6)))
    return tmp_path


def test_cli_keys_list_warns_about_skipped_files(key: PrivateKey, mixed_datadir: Path) -> None:
    result = _keys_cli(mixed_datadir, "list")
    assert result.exit_code == 0, result.output
    geth_address = to_checksum_address(bytes.fromhex(GETH_KEYFILE["address"]))
    assert result.stdout.splitlines()[1:] == [
        f"{GETH_FILE_NAME}  {geth_address}",
        f"{'mine':<{len(GETH_FILE_NAME)}}  {to_checksum_address(key.address)}",
    ]
    assert "evil key" not in result.stdout
    assert (
        f"warning: skipped {mixed_datadir / 'keystore' / 'evil key.json'}: key file "
        "crypto.kdfparams.p is 1000000, out of bounds: it must be from 1 to 16"
    ) in result.stderr


def test_cli_keys_list_json_has_a_skipped_list(key: PrivateKey, mixed_datadir: Path) -> None:
    result = _keys_cli(mixed_datadir, "list", "-o", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [k["name"] for k in data["keys"]] == [GETH_FILE_NAME, "mine"]
    assert data["keys"][1]["address"] == to_checksum_address(key.address)
    assert data["skipped"] == [
        {
            "name": "evil key",
            "path": str(mixed_datadir / "keystore" / "evil key.json"),
            "reason": "key file crypto.kdfparams.p is 1000000, out of bounds: "
            "it must be from 1 to 16",
        }
    ]


def test_cli_keys_show_a_skipped_file_fails_with_the_reason(mixed_datadir: Path) -> None:
    result = _keys_cli(mixed_datadir, "show", "evil key")
    assert result.exit_code == 1
    assert "evil key.json is skipped: key file crypto.kdfparams.p is 1000000" in result.stderr
    shown = _keys_cli(mixed_datadir, "show", GETH_FILE_NAME, "-o", "json")
    assert json.loads(shown.stdout)["address"] == to_checksum_address(
        bytes.fromhex(GETH_KEYFILE["address"])
    )
