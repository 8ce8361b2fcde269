"""The bounded tables behind the peer slots (issue 10, finding 6): the ban list and the
address book stay within their bounds, age and prune."""

from __future__ import annotations

from porchain.net.addressbook import MAX_DIAL_FAILURES, AddressBook
from porchain.net.peertable import BanList, outbound_slots


def test_expired_bans_are_pruned_and_the_oldest_go_beyond_the_cap() -> None:
    bans = BanList(capacity=3)
    for i in range(3):
        bans.ban(bytes([i]), until=600.0 + i, now=float(i))
    assert bans.is_banned(b"\x00", now=100.0)
    bans.ban(b"\x03", until=700.0, now=100.0)  # over the cap: the oldest ban is forgotten
    assert list(bans) == [b"\x01", b"\x02", b"\x03"]
    assert not bans.is_banned(b"\x01", now=601.0)  # expired, and pruned
    assert list(bans) == [b"\x02", b"\x03"]
    bans.ban(b"\x04", until=1400.0, now=800.0)
    assert list(bans) == [b"\x04"]


def test_the_address_book_evicts_the_oldest_unverified_address_never_a_bootnode() -> None:
    book = AddressBook(["boot:1"], capacity=4)
    book.learn("a:1")
    book.verified("v:1", b"\x01" * 20)
    book.learn("b:1")
    assert book.learn("c:1")  # full: "a:1", the oldest unverified, goes
    assert list(book) == ["boot:1", "v:1", "b:1", "c:1"]
    book.learn("d:1")
    book.learn("e:1")
    assert set(book) == {"boot:1", "v:1", "d:1", "e:1"}
    book.verified("w:1", b"\x02" * 20)
    book.verified("x:1", b"\x03" * 20)
    assert not book.learn("f:1")  # only verified ones left: a stranger's address waits
    book.verified("y:1", b"\x04" * 20)  # a verified one displaces the oldest verified
    assert list(book) == ["boot:1", "w:1", "x:1", "y:1"]
    assert book.shareable(excluding=b"\x04" * 20) == ["x:1", "w:1"]


def test_an_unverified_address_that_keeps_failing_is_dropped_a_known_one_kept() -> None:
    book = AddressBook(["boot:1"])
    book.learn("stranger:1")
    book.verified("known:1", b"\x01" * 20)
    for n in range(MAX_DIAL_FAILURES):
        for address in ("boot:1", "stranger:1", "known:1"):
            book.failed(address, retry_at=3.0 * (n + 1))
    assert list(book) == ["boot:1", "known:1"]
    assert [a for a, _ in book.due(now=9.0)] == ["boot:1", "known:1"]
    assert book.due(now=8.0) == []


def test_outbound_slots_are_half_of_max_peers_up_to_eight() -> None:
    assert [outbound_slots(n) for n in (1, 2, 3, 16, 50)] == [1, 1, 2, 8, 8]
