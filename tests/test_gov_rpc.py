"""The `gov_` RPC methods over real HTTP against an in-process node with the governance rules:
a comment voted in, a proposal citing it dry-run, sent, voted through both stages and
activated; every method's answer and its error cases."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import trio

from governance.forum import PostPayload, canonical_json
from governance.objects import COMMENT, INCINERATOR_POST, PROPOSAL, Author, Citation, Post
from porchain.chain import Chain
from porchain.clock import SlotClock
from porchain.composition import default_rules
from porchain.consensus.pool_codes import FOR
from porchain.consensus.pools import Vote
from porchain.crypto.keys import PrivateKey
from porchain.db import schema
from porchain.node import Node, NodeConfig
from porchain.rpc import errors
from porchain.types.transactions import Transaction, TxKind
from porchain.units import parse_amount
from tests.factories import KEYS, PRODUCER, extend, make_genesis, new_chain, sign_tx, transfer
from tests.test_rpc import Client

ALICE, BOB, CAROL, DAVE = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
MEMBERS = (ALICE, BOB, CAROL, DAVE)
GREP = parse_amount("100")
SUBSIDY = parse_amount("25")


def gov_genesis() -> Any:
    """One producer; the four members hold `$` and 100 gREP each (minimal preset)."""
    alloc: dict[Any, dict[str, str]] = {
        PRODUCER: {"balance": "1000", "rep_encumbered": "100"},
    }
    for member in MEMBERS:
        alloc[member] = {"balance": "1000", "grep": "100"}
    return make_genesis(alloc)


def post_tx(
    signer: PrivateKey,
    title: str,
    *,
    nonce: int,
    kind: int = COMMENT,
    body: str = "",
    cites: dict[bytes, int] | None = None,
    changes: dict[str, Any] | None = None,
    authors: list[Author] | None = None,
) -> Transaction:
    payload = PostPayload(
        kind=kind,
        authors=authors or [Author(signer.address, 1_000_000)],
        title=title.encode(),
        body=body.encode(),
        citations=[Citation(p, abs(w), int(w < 0)) for p, w in (cites or {}).items()],
        wsc_params=canonical_json(changes) if changes else b"",
    )
    return sign_tx(signer, TxKind.POST, payload.to_rlp(), nonce=nonce)


def vote_tx(signer: PrivateKey, pool_id: int, stake: int, *, nonce: int) -> Transaction:
    return sign_tx(signer, TxKind.VOTE, Vote(pool_id, FOR, stake).to_rlp(), nonce=nonce)


def hexid(post_id: bytes) -> str:
    return "0x" + post_id.hex()


class Members:
    """Nonces of the members, so a test reads as a story rather than as bookkeeping."""

    def __init__(self) -> None:
        self.nonces = {m.address: 0 for m in MEMBERS}

    def next(self, member: PrivateKey) -> int:
        nonce = self.nonces[member.address]
        self.nonces[member.address] += 1
        return nonce


def until(chain: Chain, number: int) -> None:
    while chain.head.number < number:
        extend(chain)


@pytest.fixture
async def served(nursery: trio.Nursery) -> AsyncIterator[tuple[Node, Client]]:
    chain = new_chain(gov_genesis(), rules=default_rules())
    state = chain.state()
    clock = SlotClock(state.chain.genesis_time_ms, state.params.slot_ms)
    node = Node(chain, clock, key=PRODUCER, config=NodeConfig(rpc_port=0, produce=False))
    await nursery.start(node.run)
    assert node.rpc_url is not None
    yield node, Client(node.rpc_url)


async def test_a_comment_then_a_proposal_through_every_stage(
    served: tuple[Node, Client],
) -> None:
    node, client = served
    chain, members = node.chain, Members()

    # bob's comment, voted in by carol and dave
    comment = post_tx(BOB, "Fees are too low", nonce=members.next(BOB), body="Raise them.")
    extend(chain, [comment])
    bob_post = await client.call("gov_getPost", hexid(comment.hash))
    assert bob_post["kind"] == "comment" and bob_post["title"] == "Fees are too low"
    assert bob_post["body"] == "Raise them." and bob_post["status"] == "pending"
    assert bob_post["authors"] == [
        {"address": bob_post["authors"][0]["address"], "weight_ppm": 1_000_000}
    ]
    assert bob_post["pool_status"] == "open" and bob_post["proposal"] is None
    assert bob_post["created_at"] == 1
    by_prefix = await client.call("gov_getPost", hexid(comment.hash)[:10])
    assert by_prefix == bob_post
    extend(
        chain,
        [
            vote_tx(CAROL, bob_post["pool_id"], parse_amount("25"), nonce=members.next(CAROL)),
            vote_tx(DAVE, bob_post["pool_id"], parse_amount("25"), nonce=members.next(DAVE)),
        ],
    )
    tally = await client.call("gov_tally", hexid(comment.hash))
    (pool,) = tally["pools"]
    assert pool["status"] == "open" and pool["projected"] == "accepted"
    assert pool["staked"] == str(parse_amount("50")) and pool["voters"] == 2
    assert pool["quorum_needed"] == str(parse_amount("40"))  # 10% of 400 gREP
    assert pool["quorum_reached"] and pool["for_ratio_ppm"] > 500_000
    until(chain, bob_post["pool_closes_at"] + 1)
    bob_post = await client.call("gov_getPost", hexid(comment.hash))
    assert bob_post["status"] == "accepted" and bob_post["value"] == str(parse_amount("0.5"))

    # alice dry-runs a proposal citing it 30%: nothing is admitted, the effects are shown
    changes = {"subsidy": SUBSIDY, "dev_budget_ppm": 150_000}
    proposal = post_tx(
        ALICE,
        "Raise the subsidy",
        nonce=members.next(ALICE),
        kind=PROPOSAL,
        body="25 $ a block.",
        cites={comment.hash: 300_000},
        changes=changes,
    )
    before = list(chain.db.iterate())
    dry = await client.call("gov_dryRun", "0x" + proposal.encoded.hex())
    assert list(chain.db.iterate()) == before and len(node.mempool) == 0
    assert dry["hash"] == hexid(proposal.hash) and dry["kind"] == "proposal"
    assert dry["fee"]["post"] == str(parse_amount("1"))
    assert int(dry["fee"]["total"]) == proposal.fee + parse_amount("1")
    assert dry["diff"] == {
        "dev_budget_ppm": [100_000, 150_000],
        "subsidy": [parse_amount("10"), SUBSIDY],
    }
    effects = dry["effects"]
    assert effects["author_share"] == str(parse_amount("0.5"))
    moves = {(m["post"], m["kind"]): int(m["amount"]) for m in effects["moves"]}
    assert moves == {
        (hexid(comment.hash), "donated"): parse_amount("0.15"),
        (hexid(comment.hash), "kept"): parse_amount("0.15"),
        (hexid(proposal.hash), "kept"): parse_amount("0.35"),
    }
    changes_by_account = {a["address"].lower(): int(a["change"]) for a in effects["accounts"]}
    assert changes_by_account == {
        hexid(ALICE.address): parse_amount("0.35"),
        hexid(BOB.address): parse_amount("0.15"),
    }
    assert {p["post"]: int(p["change"]) for p in effects["posts"]} == {
        hexid(proposal.hash): parse_amount("0.35"),
        hexid(comment.hash): parse_amount("0.15"),
    }

    # sent and included: a proposal in discussion
    extend(chain, [proposal])
    created = chain.head.number
    listed = await client.call("gov_listPosts")
    assert [p["id"] for p in listed] == [hexid(proposal.hash), hexid(comment.hash)]
    assert [p["id"] for p in await client.call("gov_listPosts", "comment")] == [hexid(comment.hash)]
    assert [p["id"] for p in await client.call("gov_listPosts", None, "discussion")] == [
        hexid(proposal.hash)
    ]
    accepted = await client.call("gov_listPosts", None, "accepted")
    assert [p["id"] for p in accepted] == [hexid(comment.hash)]
    by_bob = await client.call("gov_listPosts", None, None, hexid(BOB.address))
    assert [p["id"] for p in by_bob] == [hexid(comment.hash)]
    assert len(await client.call("gov_listPosts", None, None, None, 1)) == 1
    shown = await client.call("gov_getProposal", hexid(proposal.hash))
    assert shown["stage"] == "discussion" and shown["next"] == "the sentiment vote opens"
    assert shown["stage_ends"] == created + node.chain.state().params.gov_discussion_blocks
    assert shown["diff"] == dry["diff"] and shown["wsc_params"] == changes
    assert shown["pools"]["sentiment"] is None and shown["pools"]["post"]["status"] == "open"

    graph = await client.call("gov_citationGraph", hexid(proposal.hash))
    assert graph["root"] == hexid(proposal.hash) and graph["cited_by"] == []
    assert graph["edges"] == [
        {"from": hexid(proposal.hash), "to": hexid(comment.hash), "weight_ppm": 300_000}
    ]
    assert {n["id"]: n["depth"] for n in graph["nodes"]} == {
        hexid(proposal.hash): 0,
        hexid(comment.hash): 1,
    }
    back = await client.call("gov_citationGraph", hexid(comment.hash), 0)
    assert back["cited_by"] == [hexid(proposal.hash)]
    assert {n["id"]: n["depth"] for n in back["nodes"]}[hexid(proposal.hash)] == -1

    # sentiment vote, then binding vote, both FOR; then activation
    until(chain, shown["stage_ends"])
    shown = await client.call("gov_getProposal", hexid(proposal.hash))
    assert shown["stage"] == "sentiment" and shown["pools"]["sentiment"]["status"] == "open"
    voters = [BOB, CAROL, DAVE]
    stake = parse_amount("30")
    extend(
        chain, [vote_tx(v, shown["stage_pool_id"], stake, nonce=members.next(v)) for v in voters]
    )
    until(chain, shown["stage_ends"])
    shown = await client.call("gov_getProposal", hexid(proposal.hash))
    assert shown["stage"] == "binding" and shown["pools"]["sentiment"]["status"] == "accepted"
    binding = shown["pools"]["binding"]
    assert binding["quorum_ppm"] == 200_000 and not binding["quorum_reached"]
    extend(
        chain, [vote_tx(v, shown["stage_pool_id"], stake, nonce=members.next(v)) for v in voters]
    )
    until(chain, shown["stage_ends"])
    shown = await client.call("gov_getProposal", hexid(proposal.hash))
    assert shown["stage"] == "accepted" and shown["next"] == "the WSC change takes effect"
    activation = shown["activation_height"]
    assert activation == shown["stage_ends"]
    until(chain, activation)
    shown = await client.call("gov_getProposal", hexid(proposal.hash))
    assert shown["stage"] == "active" and shown["wsc_id"] == 1
    assert shown["activation_height"] == activation
    assert shown["diff_base_wsc_id"] == 0 and shown["diff"] == dry["diff"]
    assert chain.get_block_by_number(activation).header.wsc_id == 1
    assert chain.get_block_by_number(activation - 1).header.wsc_id == 0

    active = await client.call("gov_activeWsc")
    assert active["id"] == 1 and active["active"] and active["activated_at"] == activation
    assert active["post"] == hexid(proposal.hash) and active["post_title"] == "Raise the subsidy"
    assert active["author"].lower() == hexid(ALICE.address)
    assert active["params"]["subsidy"] == SUBSIDY
    history = await client.call("gov_wscHistory")
    assert [(w["id"], w["active"], w["post"]) for w in history] == [
        (0, False, None),
        (1, True, hexid(proposal.hash)),
    ]
    assert history[0]["params"]["subsidy"] == parse_amount("10")
    assert [p["id"] for p in await client.call("gov_listPosts", None, "active")] == [
        hexid(proposal.hash)
    ]
    tally = await client.call("gov_tally", hexid(proposal.hash))
    assert [p["kind"] for p in tally["pools"]] == ["post", "sentiment", "binding"]
    assert [p["status"] for p in tally["pools"][1:]] == ["accepted", "accepted"]


async def test_incinerator_citations_and_leaching_in_a_dry_run(
    served: tuple[Node, Client],
) -> None:
    node, client = served
    chain, members = node.chain, Members()
    target = post_tx(BOB, "Bad idea", nonce=members.next(BOB))
    extend(chain, [target])
    pool_id = (await client.call("gov_getPost", hexid(target.hash)))["pool_id"]
    extend(chain, [vote_tx(CAROL, pool_id, parse_amount("50"), nonce=members.next(CAROL))])
    until(chain, chain.state().pool(pool_id).closes_at + 1)
    critique = post_tx(
        ALICE,
        "Against it",
        nonce=members.next(ALICE),
        cites={target.hash: -500_000, INCINERATOR_POST: 100_000},
    )
    dry = await client.call("gov_dryRun", "0x" + critique.encoded.hex())
    moves = [(m["kind"], m["post"], int(m["amount"])) for m in dry["effects"]["moves"]]
    assert ("leached", hexid(target.hash), parse_amount("0.25")) in moves
    assert ("burned", hexid(INCINERATOR_POST), parse_amount("0.05")) in moves
    assert dry["effects"]["burned"] == str(parse_amount("0.05"))
    accounts = {a["address"].lower(): int(a["change"]) for a in dry["effects"]["accounts"]}
    assert accounts == {
        hexid(BOB.address): -parse_amount("0.25"),
        hexid(ALICE.address): parse_amount("0.7"),  # 0.5 - 0.05 burned + 0.25 leached
    }
    assert dry["diff"] == {} and dry["wsc_params"] is None
    extend(chain, [critique])
    graph = await client.call("gov_citationGraph", hexid(critique.hash))
    kinds = {n["id"]: n["kind"] for n in graph["nodes"]}
    assert kinds[hexid(INCINERATOR_POST)] == "incinerator"
    assert {e["weight_ppm"] for e in graph["edges"]} == {-500_000, 100_000}


async def test_dry_run_counts_pending_transactions(served: tuple[Node, Client]) -> None:
    node, client = served
    pending = transfer(ALICE, BOB.address, parse_amount("1"), nonce=0)
    await client.call("por_sendRawTransaction", "0x" + pending.encoded.hex())
    after_pending = post_tx(ALICE, "Next one", nonce=1)
    dry = await client.call("gov_dryRun", "0x" + after_pending.encoded.hex())
    assert dry["nonce"] == 1
    gap = post_tx(ALICE, "Too far", nonce=3)
    error = await client.error("gov_dryRun", "0x" + gap.encoded.hex())
    assert error["code"] == errors.TX_REJECTED and "nonce gap" in error["message"]
    assert len(node.mempool) == 1


async def test_errors_and_unknown_posts(served: tuple[Node, Client]) -> None:
    node, client = served
    comment = post_tx(BOB, "Only a comment", nonce=0)
    extend(node.chain, [comment])
    unknown = "0x" + "ab" * 32
    for method in ("gov_getPost", "gov_getProposal", "gov_tally", "gov_citationGraph"):
        assert await client.call(method, unknown) is None, method
        assert await client.call(method, "0xabababab") is None, method
        for bad in ("0x1234567", "abababab", "0xnothexxx", 42, "0x" + "ab" * 33):
            error = await client.error(method, bad)
            assert error["code"] == errors.INVALID_PARAMS, (method, bad, error)
    error = await client.error("gov_getProposal", hexid(comment.hash))
    assert error["code"] == errors.INVALID_PARAMS and "comment, not a proposal" in error["message"]
    for params in (["post"], [None, "soon"], [None, None, "0x12"], [None, None, None, 0]):
        error = await client.error("gov_listPosts", *params)
        assert error["code"] == errors.INVALID_PARAMS, (params, error)
    error = await client.error("gov_citationGraph", hexid(comment.hash), 99)
    assert error["code"] == errors.INVALID_PARAMS

    # two posts sharing an 8-digit prefix: the prefix is ambiguous, a longer one is not
    for last in (1, 2):
        fake = Post(id=b"\xab\xcd\xef\x01" + bytes(27) + bytes([last]), title=b"fake", pool_id=9)
        node.chain.db.put(schema.state_db_key(schema.post_state_key(fake.id)), fake.encode())
    error = await client.error("gov_getPost", "0xabcdef01")
    assert error["code"] == errors.INVALID_PARAMS and "ambiguous" in error["message"]
    assert await client.call("gov_citationGraph", "0xabcdef01" + "00" * 27 + "02") is not None

    # dry runs: only signed POSTs, and a POST the rules refuse says why
    transfer_tx = transfer(ALICE, BOB.address, 1, nonce=0)
    error = await client.error("gov_dryRun", "0x" + transfer_tx.encoded.hex())
    assert error["code"] == errors.INVALID_PARAMS and "POST" in error["message"]
    bad_citation = post_tx(ALICE, "Cites nothing", nonce=0, cites={b"\x77" * 32: 100_000})
    error = await client.error("gov_dryRun", "0x" + bad_citation.encoded.hex())
    assert error["code"] == errors.TX_REJECTED
    assert "cites a post that does not exist" in error["message"]
    bad_params = post_tx(ALICE, "Bad", nonce=0, kind=PROPOSAL, changes={"slot_ms": 50})
    error = await client.error("gov_dryRun", "0x" + bad_params.encoded.hex())
    assert error["code"] == errors.TX_REJECTED and "slot_ms" in error["message"]
    assert (await client.error("gov_dryRun", "0xdeadbeef"))["code"] == errors.TX_REJECTED
    assert (await client.error("gov_dryRun", "deadbeef"))["code"] == errors.INVALID_PARAMS
    assert len(node.mempool) == 0
