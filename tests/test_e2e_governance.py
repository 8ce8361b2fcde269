"""End to end: a proposal's whole life on a real four-node devnet, driven by `porchain gov`.

Bob posts a comment and members vote it in; alice drafts a proposal that raises the subsidy
and the dev budget and cites bob's comment (30%), dry-runs it, proposes it; members vote it
through the sentiment and binding stages; it becomes WSC #1 at its activation height. From
there the headers carry the new WSC id, the `$` supply grows by the new subsidy per block, and
the WSC royalty flows to alice and (through the citation) to bob: neither produces blocks, so
REP can only come to them that way. Every wait polls with a generous deadline; the devnet is
stopped, passed or failed.

Robust on a loaded machine by construction: a pool's window is counted in blocks, and nothing
slow happens inside one. Every vote is a `gov vote --await-pool` process started, and seen
waiting (its key unlocked), before the post it votes on is even sent; it votes as soon as its
pool opens, so a vote lands a few blocks into a window of 30 to 50 however long processes take
to start. Load only slows the slots, and a slower chain waits longer for the votes. No voter
votes in two pools that open close together, so no two of its votes race for a nonce.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from porchain.rpc.client import RPCClient
from porchain.units import parse_amount
from tests.procs import DEADLINE_SECONDS, Processes, processes, wait_for
from tests.test_e2e_devnet import cli_env, devnet, devnet_cmd, kill_leftovers

pytestmark = pytest.mark.slow

STAGE_SECONDS = 240.0  # generous deadlines, for the chain to reach a stage and for a vote
VOTE_SECONDS = 600.0  # process to start, wait for its pool, and see its vote included
NEW_SUBSIDY = parse_amount("25")
MANIFEST = """
preset = "minimal"
[wsc]
slot_ms = 300
gov_post_duration = 30
gov_discussion_blocks = 6
gov_sentiment_blocks = 50
gov_binding_blocks = 50
activation_delay = 3
""" + "".join(f'[[node]]\nname = "node{i}"\n' for i in range(1, 5))


@pytest.fixture
def started() -> Iterator[Processes]:
    """The vote processes a test starts: killed and reaped when it ends, passed or failed."""
    with processes() as procs:
        yield procs


@pytest.fixture
def devnet_root(tmp_path: Path) -> Iterator[Path]:
    root = tmp_path / "devnet"
    try:
        yield root
    finally:
        subprocess.run(devnet_cmd(root, "down"), capture_output=True, timeout=120, check=False)
        kill_leftovers(root)


class AwaitedVote:
    """A `gov vote --await-pool` process: its stderr goes to a file, read while it runs."""

    def __init__(self, proc: subprocess.Popen[str], err: Path) -> None:
        self.proc, self.err = proc, err

    def waiting(self) -> bool:
        """True once it has unlocked its key and waits for the pool; fail if it died first."""
        if self.proc.poll() is not None:
            raise AssertionError(f"vote exited early:\n{self.err.read_text()}")
        return "waiting for the" in self.err.read_text()

    def result(self) -> tuple[dict[str, Any], str]:
        """Its JSON result (block_number: where the vote landed) and its stderr note."""
        out, _ = self.proc.communicate(timeout=VOTE_SECONDS)
        note = self.err.read_text()
        assert self.proc.returncode == 0, f"vote failed:\n{note}"
        return json.loads(out), note


class Members:
    """The dev accounts, using `porchain gov` through the devnet's accounts data directory."""

    def __init__(self, datadir: str, rpc: RPCClient, logs: Path, started: Processes) -> None:
        self.datadir = datadir
        self.rpc = rpc
        self.logs = logs
        self.started = started

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "porchain", "--datadir", self.datadir, "gov", *args]

    def gov(self, *args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            self.command(*args),
            env=cli_env(),
            capture_output=True,
            text=True,
            timeout=DEADLINE_SECONDS,
        )
        if done.returncode != 0:
            raise AssertionError(f"porchain gov {' '.join(args)} failed:\n{done.stderr}")
        return done

    def gov_json(self, *args: str) -> Any:
        return json.loads(self.gov(*args, "-o", "json").stdout)

    def await_votes(self, post: str, kind: str, voters: list[str], stake: str) -> list[AwaitedVote]:
        """Start each voter's FOR vote in the post's `kind` pool, to be sent the moment it
        opens (and waited for until included)."""
        votes = []
        for voter in voters:
            err = self.logs / f"vote-{post[:10]}-{kind}-{voter}.err"
            args = ("vote", post, "for", "--stake", stake, "--from", voter, "--await-pool", kind)
            with err.open("w") as stderr:
                proc = subprocess.Popen(
                    self.command(*args, "--wait", "--timeout", str(VOTE_SECONDS), "-o", "json"),
                    env=cli_env(),
                    stdout=subprocess.PIPE,
                    stderr=stderr,
                    text=True,
                )
            self.started.add(proc)
            votes.append(AwaitedVote(proc, err))
        return votes

    def send_when_waiting(self, votes: list[AwaitedVote], *propose: str) -> str:
        """Once every vote waits, `gov propose` the post they vote on; its id."""
        wait_for(lambda: all(v.waiting() for v in votes), "the voters, ready", VOTE_SECONDS)
        return self.gov_json("propose", *propose, "--wait")["post_id"]

    def landed(self, votes: list[AwaitedVote], pool: str) -> list[str]:
        """Wait for the votes; check each landed inside its pool's window; their notes."""
        results = [vote.result() for vote in votes]
        pool_id, opened, closes = pool_window(self.rpc, pool)
        for result, note in results:
            assert f"on pool #{pool_id} " in note, note
            block = result["block_number"]
            assert opened <= block <= closes, (
                f"vote in block #{block}, pool open {opened}..{closes}"
            )
            print(f"vote on {pool} landed {block - opened + 1} blocks into {closes - opened + 1}")
        return [note for _, note in results]

    def post(self, post_id: str) -> dict[str, Any]:
        return self.gov_json("show", post_id)

    def wait_for_stage(self, post_id: str, stage: str) -> dict[str, Any]:
        """Poll over RPC, then show the post with `gov show`."""
        wait_for(
            lambda: self.rpc.call("gov_getPost", post_id)["proposal"]["stage"] == stage,
            f"the proposal's stage {stage}",
            timeout=STAGE_SECONDS,
        )
        return self.post(post_id)

    def rep(self, address: str) -> int:
        return int(self.rpc.call("por_getAccount", address)["rep"])


def pool_window(rpc: RPCClient, pool: str) -> tuple[int, int, int]:
    """A pool named `post-id:kind`: its id and the first and last block a vote can land in."""
    post_id, kind = pool.split(":")
    tally = rpc.call("gov_tally", post_id)
    found = next(p for p in tally["pools"] if p["kind"] == kind)
    return found["pool_id"], found["opened_at"] + 1, found["closes_at"]


def height_and_supply(url: str) -> tuple[int, int]:
    """The head and the `$` supply, from one JSON-RPC batch: the node answers a batch in one
    go, from one head state, so the two agree."""
    body = json.dumps(
        [
            {"jsonrpc": "2.0", "id": 1, "method": "por_blockNumber", "params": []},
            {"jsonrpc": "2.0", "id": 2, "method": "por_getSupply", "params": []},
        ]
    ).encode()
    request = urllib.request.Request(url, data=body, headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        answers = {a["id"]: a["result"] for a in json.loads(response.read())}
    return answers[1], int(answers[2]["dollars"])


def test_a_proposal_is_voted_in_and_changes_the_chain(
    devnet_root: Path, tmp_path: Path, started: Processes
) -> None:
    manifest = tmp_path / "gov.toml"
    manifest.write_text(MANIFEST)
    up = json.loads(
        devnet(devnet_root, "up", "--manifest", str(manifest), "--detach", "-o", "json").stdout
    )
    url = up["nodes"][0]["rpc"]
    rpc = RPCClient(url)
    members = Members(up["accounts_datadir"], rpc, tmp_path, started)
    address = {a["name"]: a["address"] for a in up["accounts"]}
    wait_for(lambda: rpc.call("por_blockNumber") >= 3, "the first blocks")

    # bob posts a comment; carol and dave, waiting for it, vote it in (by an id prefix)
    (tmp_path / "fees.md").write_text("Producers earn too little: raise the subsidy.\n")
    members.gov(
        "draft",
        "--out",
        str(tmp_path / "fees.json"),
        "--kind",
        "comment",
        "--title",
        "Fees are too low",
        "--body-file",
        str(tmp_path / "fees.md"),
    )
    fees = (str(tmp_path / "fees.json"), "--from", "bob")
    comment = members.gov_json("dry-run", *fees)["hash"]  # the id it will have
    votes = members.await_votes(comment[:12], "post", ["carol", "dave"], "25")
    assert members.send_when_waiting(votes, *fees) == comment
    notes = members.landed(votes, f"{comment}:post")
    assert all("the post's value pool" in note for note in notes)
    accepted = wait_for(
        lambda: (p := members.post(comment))["status"] == "accepted" and p,
        "bob's comment accepted",
        timeout=STAGE_SECONDS,
    )
    assert int(accepted["value"]) == parse_amount("0.5")  # half the post fee, minted as gREP

    # alice drafts a proposal citing it, dry-runs it, proposes it
    (tmp_path / "raise.md").write_text("Raise the subsidy to 25 $ and the dev budget to 15%.\n")
    draft = tmp_path / "raise.toml"
    members.gov(
        "draft",
        "--out",
        str(draft),
        "--title",
        "Raise the subsidy",
        "--body-file",
        str(tmp_path / "raise.md"),
        "--cite",
        f"{comment[:10]}:30%",
        "--set",
        "subsidy=25_000_000_000",
        "--set",
        "dev_budget_ppm=150000",
    )
    dry = members.gov_json("dry-run", str(draft), "--from", "alice")
    assert dry["diff"] == {
        "dev_budget_ppm": [100_000, 150_000],
        "subsidy": [parse_amount("10"), NEW_SUBSIDY],
    }
    assert dry["fee"]["post"] == str(parse_amount("1"))
    moves = {(m["post"], m["kind"]): int(m["amount"]) for m in dry["effects"]["moves"]}
    assert moves[(comment, "donated")] == parse_amount("0.15")
    assert "nothing was sent" in members.gov("dry-run", str(draft), "--from", "alice").stdout
    assert members.rep(address["alice"]) == members.rep(address["bob"]) == 0
    # every vote on it waits before it is sent: alice on its own pool, then bob, carol and
    # dave FOR in the sentiment vote and in the binding vote
    proposal = dry["hash"]
    votes = {"post": members.await_votes(proposal, "post", ["alice"], "45")}
    for stage in ("sentiment", "binding"):
        votes[stage] = members.await_votes(proposal[:10], stage, ["bob", "carol", "dave"], "30")
    every_vote = [vote for stage_votes in votes.values() for vote in stage_votes]
    sent = members.send_when_waiting(every_vote, str(draft), "--from", "alice")
    assert sent == proposal
    shown = members.post(proposal)
    assert shown["proposal"]["wsc_params"] == {"dev_budget_ppm": 150_000, "subsidy": NEW_SUBSIDY}
    members.landed(votes["post"], f"{proposal}:post")
    for stage in ("sentiment", "binding"):
        notes = members.landed(votes[stage], f"{proposal}:{stage}")
        assert all(f"({stage} vote)" in note for note in notes), notes
    active = members.wait_for_stage(proposal, "active")  # "accepted" lasts activation_delay
    activation = active["proposal"]["activation_height"]
    assert active["proposal"]["wsc_id"] == 1 and active["status"] == "accepted"
    tally = members.gov_json("tally", proposal)
    assert [(p["kind"], p["status"]) for p in tally["pools"]] == [
        ("post", "accepted"),
        ("sentiment", "accepted"),
        ("binding", "accepted"),
    ]

    # from its activation height, blocks are built under WSC #1 with the new subsidy
    assert rpc.call("por_getBlockByNumber", activation)["wsc_id"] == 1
    assert rpc.call("por_getBlockByNumber", activation - 1)["wsc_id"] == 0
    params = rpc.call("por_getParams")
    assert params["wsc_id"] == 1 and params["params"]["subsidy"] == NEW_SUBSIDY
    wsc = members.gov_json("wsc")
    assert wsc["id"] == 1 and wsc["post"] == proposal and wsc["activated_at"] == activation
    assert [w["id"] for w in members.gov_json("wsc", "--history")] == [0, 1]
    first_height, first_supply = height_and_supply(url)
    wait_for(lambda: rpc.call("por_blockNumber") >= first_height + 3, "three more blocks")
    height, supply = height_and_supply(url)
    assert supply - first_supply == NEW_SUBSIDY * (height - first_height)

    # the royalty flows down the proposal's citation: alice keeps 70%, bob gets 30%
    first = members.rep(address["alice"]), members.rep(address["bob"])
    assert first[0] > 0 and first[1] > 0
    later = wait_for(
        lambda: (
            (r := (members.rep(address["alice"]), members.rep(address["bob"])))[0] > first[0]
            and r[1] > first[1]
            and r
        ),
        "alice's and bob's REP growing",
    )
    assert 2.2 < later[0] / later[1] < 2.45  # 70 / 30, give or take rounding

    devnet(devnet_root, "down")
