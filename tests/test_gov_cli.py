"""`porchain gov` through click's CliRunner: proposal files (JSON and TOML) and their errors,
graph rendering (text, DOT, PNG) with no node, and every command against an in-process node
with the governance rules (the CLI runs in a worker thread while trio serves the RPC)."""

from __future__ import annotations

import json
import tomllib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import trio
from click.testing import CliRunner, Result

from governance import cli_vote, render
from governance.drafts import DraftError, load_draft, parse_weight
from governance.objects import INCINERATOR_POST
from porchain.chain import Chain
from porchain.cli.main import cli
from porchain.clock import SlotClock
from porchain.composition import default_rules
from porchain.crypto.keystore import Keystore
from porchain.node import Node, NodeConfig
from porchain.types.transactions import TxKind
from porchain.units import parse_amount
from tests.factories import KEYS, PRODUCER, new_chain
from tests.test_gov_rpc import gov_genesis

NAMES = {"alice": KEYS[1], "bob": KEYS[2], "carol": KEYS[3], "dave": KEYS[4]}
POST_A = "0x" + "a1" * 32
POST_B = "0x" + "b2" * 32


pytestmark = pytest.mark.usefixtures("quiet_cli_logging")


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A data directory whose keystore holds the members' keys (empty password)."""
    datadir = tmp_path / "home"
    keystore = Keystore(datadir / "keystore")
    for name, key in NAMES.items():
        keystore.create("", name=name, key=key, scrypt_n=2**12)
    return datadir


def run(home: Path, *args: str, rpc: str | None = None) -> Result:
    env = {"PORCHAIN_PASSWORD": "", "PORCHAIN_RPC": rpc or "http://127.0.0.1:9"}
    return CliRunner().invoke(cli, ["--datadir", str(home), "gov", *args], env=env)


def ok(result: Result) -> str:
    assert result.exit_code == 0, result.output
    return result.stdout


def squashed(text: str) -> str:
    """The text with every run of whitespace as one space: tables align with padding."""
    return " ".join(text.split())


def one_error_line(result: Result, code: int = 1) -> str:
    """The error, checked to be a single line on stderr with no traceback."""
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    if code == 1:
        assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert "Traceback" not in result.output
    return lines[-1]


# -- weights and proposal files ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "ppm"),
    [
        ("30%", 300_000),
        ("-30%", -300_000),
        ("0.3", 300_000),
        ("-0.2", -200_000),
        ("150000", 150_000),
        (300_000, 300_000),
        (0.25, 250_000),
        ("100%", 1_000_000),
        ("0.0001%", 1),
    ],
)
def test_weights(text: Any, ppm: int) -> None:
    assert parse_weight(text, "w") == ppm


@pytest.mark.parametrize("text", ["0", "0%", "101%", "-1.5", "abc", "0.00001%", "", True, None])
def test_bad_weights(text: Any) -> None:
    with pytest.raises(DraftError, match=r"^w: "):
        parse_weight(text, "w")


def test_draft_json_refers_to_the_body_and_refuses_to_overwrite(home: Path, tmp_path: Path) -> None:
    body = tmp_path / "texts" / "raise.md"
    body.parent.mkdir()
    body.write_text("# Raise the subsidy\n\nBlocks are cheap.\n")
    out = tmp_path / "drafts" / "raise.json"
    args = [
        "draft",
        "--out",
        str(out),
        "--title",
        "Raise the subsidy",
        "--body-file",
        str(body),
        "--cite",
        f"{POST_A}:30%",
        "--cite",
        "0xb2b2b2b2:-0.2",
        "--cite",
        "incinerator:1000",
        "--set",
        "subsidy=25_000_000_000",
        "--set",
        "selection=cycle",
        "--author",
        "alice:70%",
        "--author",
        f"0x{KEYS[2].address.hex()}:300000",
    ]
    assert ok(run(home, *args)).strip() == f"wrote {out}"
    data = json.loads(out.read_text())
    assert data == {
        "kind": "proposal",
        "title": "Raise the subsidy",
        "body_file": "../texts/raise.md",
        "authors": [
            {"account": data["authors"][0]["account"], "weight": 700_000},
            {"account": data["authors"][1]["account"], "weight": 300_000},
        ],
        "citations": [
            {"post": POST_A, "weight": 300_000},
            {"post": "0xb2b2b2b2", "weight": -200_000},
            {"post": "0x" + INCINERATOR_POST.hex(), "weight": 1000},
        ],
        "wsc_params": {"subsidy": 25_000_000_000, "selection": "cycle"},
    }
    assert data["authors"][0]["account"].lower() == "0x" + KEYS[1].address.hex()
    loaded = load_draft(out)
    assert loaded.body == body.read_text() and loaded.citations[1] == ("0xb2b2b2b2", -200_000)

    error = one_error_line(run(home, *args))
    assert error == f"Error: {out} exists (use --force to overwrite)"
    ok(run(home, *args, "--force", "--title", "Changed"))
    assert json.loads(out.read_text())["title"] == "Changed"


def test_draft_toml_round_trips(home: Path, tmp_path: Path) -> None:
    (tmp_path / "c.md").write_text('A "quoted" comment\nwith two lines\n')
    out = tmp_path / "c.toml"
    result = run(
        home,
        "draft",
        "--out",
        str(out),
        "--title",
        'Say "no"',
        "--body-file",
        str(tmp_path / "c.md"),
        "--kind",
        "comment",
        "--cite",
        f"{POST_B}:-100%",
        "-o",
        "json",
    )
    shown = json.loads(ok(result))
    assert shown["path"] == str(out) and shown["kind"] == "comment"
    data = tomllib.loads(out.read_text())
    assert data == {
        "kind": "comment",
        "title": 'Say "no"',
        "body_file": "c.md",
        "citations": [{"post": POST_B, "weight": -1_000_000}],
    }
    loaded = load_draft(out)
    assert loaded.title == 'Say "no"' and loaded.body.endswith("two lines\n")

    proposal = tmp_path / "p.toml"
    result = run(
        home,
        "draft",
        "--out",
        str(proposal),
        "--title",
        "P",
        "--body-file",
        str(tmp_path / "c.md"),
        "--set",
        "dev_budget_ppm=150000",
    )
    ok(result)
    assert tomllib.loads(proposal.read_text())["wsc_params"] == {"dev_budget_ppm": 150_000}
    assert load_draft(proposal).wsc_params == {"dev_budget_ppm": 150_000}


DRAFT_ERRORS = [
    (["--cite", f"{POST_A}:150%"], "--cite 0x" + "a1" * 32 + ":150%: a weight is between"),
    (["--cite", "0x1234:30%"], "a post is a 0x id (or a prefix of at least 8 hex digits)"),
    (["--cite", POST_A], "expected X:WEIGHT"),
    (["--cite", f"{POST_A}:60%", "--cite", f"{POST_B}:-50%"], "110% in magnitude, over 100%"),
    (["--cite", f"{POST_A}:10%", "--cite", f"{POST_A}:20%"], "a post is cited twice"),
    (["--set", "colour=red"], "unknown WSC parameter(s): colour"),
    (["--set", "slot_ms=50"], "slot_ms cannot change after genesis"),
    (["--set", "subsidy"], "--set: expected KEY=VALUE"),
    (["--kind", "comment", "--set", "subsidy=1"], "only a proposal changes WSC parameters"),
    (["--author", "alice:50%"], "author shares sum to 50%, not 100%"),
    (["--author", "zoe:100%"], "'zoe' is neither an address nor a key"),
    (["--title", "x" * 201], "the title is over 200 bytes"),
    (["--title", "  "], "the title is empty"),
]


@pytest.mark.parametrize(("extra", "message"), DRAFT_ERRORS, ids=[m for _, m in DRAFT_ERRORS])
def test_draft_errors_are_one_line(
    home: Path, tmp_path: Path, extra: list[str], message: str
) -> None:
    (tmp_path / "b.md").write_text("body")
    out = tmp_path / "d.json"
    args = ["draft", "--out", str(out), "--title", "T", "--body-file", str(tmp_path / "b.md")]
    assert message in one_error_line(run(home, *args, *extra))
    assert not out.exists()


def test_draft_usage_errors(home: Path, tmp_path: Path) -> None:
    result = run(home, "draft", "--out", str(tmp_path / "d.json"), "--body-file", "b.md")
    assert "Missing option '--title'" in one_error_line(result, code=2)
    result = run(
        home,
        "draft",
        "--out",
        str(tmp_path / "d.json"),
        "--title",
        "T",
        "--body-file",
        str(tmp_path / "missing.md"),
    )
    assert "--body-file: cannot read" in one_error_line(result)
    (tmp_path / "b.md").write_text("x")
    result = run(
        home,
        "draft",
        "--out",
        str(tmp_path / "d.yaml"),
        "--title",
        "T",
        "--body-file",
        str(tmp_path / "b.md"),
    )
    assert "ends in .json or .toml" in one_error_line(result)


FILE_ERRORS = [
    ('kind = "proposal"\n', "missing title"),
    ('title = "T"\ncolour = 1\n', "unknown key(s) colour"),
    ('title = "T"\nbody_file = "nowhere.md"\n', "body_file: cannot read"),
    ('title = "T"\nbody = "x"\nbody_file = "b.md"\n', "give body or body_file, not both"),
    ('title = "T"\n[[citations]]\npost = "0xa1a1a1a1"\nweight = "lots"\n', "citations[1]: weight"),
    ('title = "T"\n[[citations]]\npost = "0xa1a1a1a1"\n', "citations[1]: expected exactly"),
    ('title = "T"\n[[authors]]\naccount = "alice"\nweight = "40%"\n', "sum to 40%"),
    ('title = "T"\nkind = "essay"\n', "kind must be comment or proposal"),
    ('title = "T"\nwsc_params = 5\n', "wsc_params must be a table"),
    ("title = ", "not valid TOML"),
]


@pytest.mark.parametrize(("text", "message"), FILE_ERRORS, ids=[m for _, m in FILE_ERRORS])
def test_proposal_file_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "p.toml"
    path.write_text(text)
    with pytest.raises(DraftError, match=f"^{path}: .*") as caught:
        load_draft(path)
    assert message in str(caught.value)


def test_proposal_files_in_json_and_errors_through_the_cli(home: Path, tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"title": "T", "body": "inline", "citations": "none"}))
    error = one_error_line(run(home, "dry-run", str(path), "--from", "alice"))
    assert error == f"Error: {path}: citations must be a list of {{post, weight}} entries"
    error = one_error_line(run(home, "propose", str(tmp_path / "absent.json"), "--from", "bob"))
    assert error == f"Error: no proposal file at {tmp_path / 'absent.json'}"
    path.write_text("[1, 2]")
    assert "holds one object" in one_error_line(run(home, "propose", str(path), "--from", "bob"))


def test_the_documented_proposal_file_parses(tmp_path: Path) -> None:
    guide = (Path(__file__).resolve().parent.parent / "docs" / "governance.md").read_text()
    example = guide.split("## Proposal files", 1)[1].split("```toml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "raise.toml").write_text(example)
    (tmp_path / "raise.md").write_text("body\n")
    loaded = load_draft(tmp_path / "raise.toml")
    assert loaded.authors == [
        ("alice", 700_000),
        ("0xB28D6dce48EA3590a2EA93592cda101A53Bc30b0", 300_000),
    ]
    assert loaded.citations == [("0x5e1f0c3a", 300_000), ("0x77aa01bc", -200_000)]
    assert loaded.wsc_params == {"subsidy": 25_000_000_000, "dev_budget_ppm": 150_000}


# -- graph rendering, no node --------------------------------------------------------------------

ROOT, CITED, DEEPER, CITER = ("0x" + c * 64 for c in "1234")
INC = "0x" + INCINERATOR_POST.hex()


def sample_graph() -> dict[str, Any]:
    def node(post_id: str, title: str, depth: int, kind: str = "comment") -> dict[str, Any]:
        proposal = kind == "proposal"  # passed and active; its value pool had no quorum
        return {
            "id": post_id,
            "title": title,
            "kind": kind,
            "value": "1500000000",
            "status": "no_quorum" if proposal else "accepted",
            "stage": "active" if proposal else None,
            "depth": depth,
        }

    return {
        "root": ROOT,
        "depth": 3,
        "nodes": [
            node(ROOT, "Raise the subsidy", 0, "proposal"),
            node(CITED, "Fees are low", 1),
            {
                "id": INC,
                "title": "(the incinerator)",
                "kind": "incinerator",
                "value": None,
                "status": None,
                "depth": 1,
            },
            node(DEEPER, "Old idea", 2),
            node(CITER, "Agreed", -1),
        ],
        "edges": [
            {"from": ROOT, "to": CITED, "weight_ppm": 300_000},
            {"from": ROOT, "to": INC, "weight_ppm": 50_000},
            {"from": CITED, "to": DEEPER, "weight_ppm": -200_000},
            {"from": CITER, "to": ROOT, "weight_ppm": 1_000_000},
        ],
        "cited_by": [CITER],
    }


def test_graph_as_a_text_tree() -> None:
    assert render.tree_lines(sample_graph()) == [
        "0x11111111 'Raise the subsidy' [proposal, active, 1.5 gREP]",  # its stage
        "├─ +30% 0x22222222 'Fees are low' [comment, accepted, 1.5 gREP]",
        "│  └─ -20% 0x33333333 'Old idea' [comment, accepted, 1.5 gREP]",
        "└─ +5% (the incinerator)",
        "cited by:",
        "   +100% 0x44444444 'Agreed' [comment, accepted, 1.5 gREP]",
    ]


def test_graph_as_dot() -> None:
    dot = render.to_dot(sample_graph())
    assert dot.startswith("digraph citations {\n") and dot.endswith("}\n")
    assert (
        f'"{ROOT}" [label="0x11111111\\nRaise the subsidy\\nproposal, active, 1.5 gREP", '
        "penwidth=2];" in dot
    )
    assert f'"{CITED}" -> "{DEEPER}" [label="-20%", color="{render.AGAINST_COLOUR}"' in dot
    assert f'"{CITER}" -> "{ROOT}" [label="+100%", color="{render.FOR_COLOUR}"' in dot
    assert dot.count(" -> ") == 4 and dot.count("[label=") == 9


def test_graph_as_png(tmp_path: Path) -> None:
    path = tmp_path / "graph.png"
    render.write_png(sample_graph(), path)
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5_000


# -- against a node ------------------------------------------------------------------------------


@pytest.fixture
async def node(nursery: trio.Nursery) -> AsyncIterator[Node]:
    chain: Chain = new_chain(gov_genesis(), rules=default_rules())
    state = chain.state()
    clock = SlotClock(state.chain.genesis_time_ms, state.params.slot_ms)
    served = Node(chain, clock, key=PRODUCER, config=NodeConfig(rpc_port=0, produce=False))
    await nursery.start(served.run)
    yield served


def produce(node: Node, blocks: int = 1) -> None:
    """Blocks from the node's mempool (the only producer: every slot is ours)."""
    for _ in range(blocks):
        assert node.produce_block(node.chain.head.slot + 1) is not None


def produce_until(node: Node, number: int) -> None:
    while node.chain.head.number < number:
        produce(node)


async def gov(home: Path, node: Node, *args: str) -> Result:
    return await trio.to_thread.run_sync(lambda: run(home, *args, rpc=node.rpc_url))


async def gov_json(home: Path, node: Node, *args: str) -> Any:
    return json.loads(ok(await gov(home, node, *args, "-o", "json")))


async def test_every_command_against_a_node(home: Path, node: Node, tmp_path: Path) -> None:
    # bob comments; carol and dave vote it in by prefix
    sent = await gov_json(
        home,
        node,
        "cite",
        "incinerator:1%",
        "--title",
        "Fees",
        "--body",
        "Too low.",
        "--from",
        "bob",
    )
    comment = sent["post_id"]
    assert sent["kind"] == "comment" and sent["status"] == "pending"
    produce(node)
    for voter in ("carol", "dave"):
        result = await gov(
            home, node, "vote", comment[:12], "for", "--stake", "25", "--from", voter
        )
        assert "voted for with 25 gREP on pool #" in result.stderr and "value pool" in result.stderr
        assert "status  pending" in ok(result)
    produce(node)
    tally = await gov_json(home, node, "tally", comment)
    assert tally["pools"][0]["staked"] == str(parse_amount("50"))
    text = ok(await gov(home, node, "tally", comment[:10]))
    row = next(line for line in text.splitlines() if line.startswith("#"))
    assert row.split()[:3] == ["#1", "post", "open→accepted"] and "50/40" in row
    produce_until(node, tally["pools"][0]["closes_at"] + 1)
    error = one_error_line(
        await gov(home, node, "vote", comment, "for", "--stake", "1", "--from", "alice")
    )
    assert "no open pool to vote on" in error and "is accepted" in error

    # alice drafts a proposal citing it, dry-runs it (nothing sent), proposes it
    (tmp_path / "body.md").write_text("Blocks should pay more.\n")
    draft = tmp_path / "raise.toml"
    ok(
        await gov(
            home,
            node,
            "draft",
            "--out",
            str(draft),
            "--title",
            "Raise the subsidy",
            "--body-file",
            str(tmp_path / "body.md"),
            "--cite",
            f"{comment[:10]}:30%",
            "--set",
            "subsidy=25_000_000_000",
            "--set",
            "dev_budget_ppm=150000",
        )
    )
    dry_text = squashed(ok(await gov(home, node, "dry-run", str(draft), "--from", "alice")))
    assert "valid yes: a proposal" in dry_text and "1 $ post fee" in dry_text
    assert "subsidy 10000000000 25000000000" in dry_text
    assert "donated 0.15 gREP" in dry_text and "nothing was sent" in dry_text
    dry = await gov_json(home, node, "dry-run", str(draft), "--from", "alice")
    assert dry["diff"]["dev_budget_ppm"] == [100_000, 150_000]
    assert not [tx for tx in node.mempool.transactions() if tx.kind == TxKind.POST]  # sent none
    proposed = await gov_json(home, node, "propose", str(draft), "--from", "alice")
    proposal = proposed["post_id"]
    assert proposal == dry["hash"]
    # issue 17, friction 5: the fee it reports is the one dry-run showed, post fee included
    assert (
        proposed["post_fee"] == dry["fee"]["post"] and proposed["fee"] == dry["fee"]["transaction"]
    )
    assert proposed["total_fee"] == dry["fee"]["total"]
    produce(node)

    listed = await gov_json(home, node, "list")
    assert [p["id"] for p in listed] == [proposal, comment]
    assert [p["id"] for p in await gov_json(home, node, "list", "--status", "discussion")] == [
        proposal
    ]
    assert [p["id"] for p in await gov_json(home, node, "list", "--author", "bob")] == [comment]
    assert [p["id"] for p in await gov_json(home, node, "list", "--kind", "comment")] == [comment]
    list_text = squashed(ok(await gov(home, node, "list")))
    assert "proposal discussion" in list_text and "Raise the subsidy" in list_text
    show_text = ok(await gov(home, node, "show", proposal[:10]))
    assert show_text.rstrip().endswith("\n\nBlocks should pay more.")
    show_text = squashed(show_text)
    assert "stage discussion" in show_text and "set subsidy 25000000000" in show_text
    assert "status" not in show_text and "value pool #" in show_text  # the stage is its state
    assert (await gov_json(home, node, "show", proposal))["body"] == "Blocks should pay more.\n"

    # the stages, voted with the default pool
    shown = await gov_json(home, node, "show", proposal)
    produce_until(node, shown["proposal"]["stage_ends"])
    for stage in ("sentiment", "binding"):
        for voter in ("bob", "carol", "dave"):
            result = await gov(
                home, node, "vote", proposal, "for", "--stake", "30", "--from", voter
            )
            assert f"({stage} vote)" in result.stderr, result.output
        produce(node)
        shown = await gov_json(home, node, "show", proposal)
        assert shown["proposal"]["stage"] == stage
        produce_until(node, shown["proposal"]["stage_ends"])
    shown = await gov_json(home, node, "show", proposal)
    assert shown["proposal"]["stage"] == "accepted"
    produce_until(node, shown["proposal"]["activation_height"])

    wsc = await gov_json(home, node, "wsc")
    assert wsc["id"] == 1 and wsc["post"] == proposal
    assert wsc["params"]["subsidy"] == parse_amount("25")
    assert f"post {proposal} 'Raise the subsidy'" in squashed(ok(await gov(home, node, "wsc")))
    history_text = squashed(ok(await gov(home, node, "wsc", "--history")))
    assert "dev_budget_ppm=150000, subsidy=25000000000" in history_text
    assert [w["id"] for w in await gov_json(home, node, "wsc", "--history")] == [0, 1]

    # the graph, as text, DOT and PNG
    dot, png = tmp_path / "g.dot", tmp_path / "g.png"
    result = await gov(home, node, "graph", proposal, "--dot", str(dot), "--png", str(png))
    tree = ok(result).splitlines()
    assert tree[0].startswith(f"{proposal[:10]} 'Raise the subsidy' [proposal")
    assert tree[1].startswith(f"└─ +30% {comment[:10]} 'Fees'")
    assert tree[2].startswith("   └─ +1% (the incinerator)")
    assert f"wrote {dot}" in result.stderr and f"wrote {png}" in result.stderr
    assert dot.read_text().count(" -> ") == 2 and png.read_bytes()[:4] == b"\x89PNG"
    assert len((await gov_json(home, node, "graph", comment, "--depth", "0"))["cited_by"]) == 1


async def test_query_errors_are_one_line(home: Path, node: Node) -> None:
    unknown = "0x" + "cd" * 32
    for command in ("show", "tally", "graph"):
        assert (
            one_error_line(await gov(home, node, command, unknown)) == f"Error: no post {unknown}"
        )
        error = one_error_line(await gov(home, node, command, "0x123"))
        assert "invalid params: post id: a post id is 64 hex digits" in error
    error = one_error_line(
        await gov(home, node, "vote", unknown, "for", "--stake", "1", "--from", "bob")
    )
    assert error == f"Error: no post {unknown}"
    result = await gov(home, node, "vote", unknown, "maybe", "--stake", "1", "--from", "bob")
    assert result.exit_code == 2
    sent = await gov_json(home, node, "cite", "incinerator:1%", "--title", "x", "--from", "bob")
    produce(node)
    error = one_error_line(
        await gov(home, node, "vote", sent["post_id"], "for", "--stake", "500", "--from", "carol")
    )
    assert "cannot stake 500 gREP" in error and "has 100 available" in error
    pool = (await gov_json(home, node, "show", sent["post_id"]))["pool_id"]
    vote = ["vote", sent["post_id"], "against", "--stake", "1", "--from", "carol", "--pool"]
    error = one_error_line(await gov(home, node, *vote, "999"))
    assert error == (
        f"Error: pool #999 is not a pool of post {sent['post_id'][:10]} "
        f"(its pools: #{pool} (the post's value pool))"
    )
    result = await gov(home, node, *vote, str(pool))
    assert f"voted against with 1 gREP on pool #{pool} (the post's value pool)" in result.stderr
    assert ok(result) and len(node.mempool.pending_from(NAMES["carol"].address)) == 1
    bad = Path(home) / "bad.json"
    bad.write_text(json.dumps({"title": "T", "citations": [{"post": unknown, "weight": 1}]}))
    error = one_error_line(await gov(home, node, "dry-run", str(bad), "--from", "alice"))
    assert "transaction rejected: cites a post that does not exist" in error
    jurors_paid_too_much = {
        "kind": "proposal",
        "title": "T",
        "wsc_params": {"juror_reward": 10**12},
    }
    bad.write_text(json.dumps(jurors_paid_too_much))
    error = one_error_line(await gov(home, node, "dry-run", str(bad), "--from", "alice"))
    assert "invalid WSC parameters: flag_stake" in error and "jury_size * juror_reward" in error
    prefix = one_error_line(
        await gov(home, node, "cite", "0xcdcdcdcd:5%", "--title", "x", "--from", "bob")
    )
    assert prefix == "Error: no post 0xcdcdcdcd"


# -- voting as soon as a pool opens ---------------------------------------------------------------


async def test_vote_awaits_the_pool_it_names(
    home: Path, node: Node, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--await-pool` votes in a pool that is not open yet: the post's own pool once the post
    is in a block, the sentiment vote once discussion ends. Blocks are produced only after the
    CLI has seen the pool closed, so each vote really waited."""
    waited = trio.Event()
    token = trio.lowlevel.current_trio_token()
    seen_closed = cli_vote.awaited_pool

    def awaited_pool(post: Any, kind: str, head: int) -> Any:
        found = seen_closed(post, kind, head)
        if found is None:
            trio.from_thread.run_sync(waited.set, trio_token=token)
        return found

    monkeypatch.setattr(cli_vote, "awaited_pool", awaited_pool)

    async def vote_when(kind: str, voter: str, proposal: str, open_it: Any) -> Result:
        """Run the vote in a thread; once it waits, `open_it()`; its result when it is sent."""
        nonlocal waited
        waited = trio.Event()
        args = ("vote", proposal, "for", "--stake", "20", "--from", voter, "--await-pool", kind)
        async with trio.open_nursery() as nursery:
            results: list[Result] = []
            nursery.start_soon(lambda: append_result(results, gov(home, node, *args)))
            with trio.fail_after(30):
                await waited.wait()
            open_it()
        return results[0]

    (tmp_path / "body.md").write_text("More.\n")
    draft = tmp_path / "p.toml"
    ok(
        await gov(
            home, node, "draft", "--out", str(draft), "--title", "Raise", "--body-file",
            str(tmp_path / "body.md"), "--set", "subsidy=25_000_000_000",
        )
    )  # fmt: skip
    proposal = (await gov_json(home, node, "propose", str(draft), "--from", "alice"))["post_id"]
    own = await vote_when("post", "carol", proposal, lambda: produce(node))  # post in a block
    assert "waiting for the post pool of post" in own.stderr
    assert "(the post's value pool)" in own.stderr
    shown = await gov_json(home, node, "show", proposal)
    sentiment = await vote_when(
        "sentiment", "bob", proposal, lambda: produce_until(node, shown["proposal"]["stage_ends"])
    )
    assert "(sentiment vote)" in sentiment.stderr
    produce(node)
    tally = await gov_json(home, node, "tally", proposal)
    assert [(p["kind"], p["voters"]) for p in tally["pools"]] == [("post", 1), ("sentiment", 1)]

    comment = await gov_json(home, node, "cite", "incinerator:1%", "--title", "c", "--from", "bob")
    produce(node)
    error = one_error_line(
        await gov(home, node, "vote", comment["post_id"], "for", "--stake", "1", "--from",
                  "dave", "--await-pool", "binding")
    )  # fmt: skip
    assert error == f"Error: post {comment['post_id'][:10]} is a comment: it has no binding vote"
    twice = await gov(
        home, node, "vote", proposal, "for", "--stake", "1", "--from", "dave", "--pool", "1",
        "--await-pool", "post",
    )  # fmt: skip
    assert twice.exit_code == 2 and "--pool and --await-pool" in twice.stderr


async def append_result(results: list[Result], pending: Any) -> None:
    results.append(await pending)
