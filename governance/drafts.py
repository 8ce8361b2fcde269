"""Proposal files: what `porchain gov draft` writes and `dry-run` / `propose` read.

JSON or TOML (by the file's extension), with the keys

    kind = "proposal"                 # or "comment" (default: proposal)
    title = "Raise the subsidy"
    body_file = "raise.md"            # relative to this file; or body = "..." inline
    wsc_params = { subsidy = 25_000_000_000 }      # proposals only
    [[authors]]                       # optional: default, the sender alone
    account = "0x..."                 # an address or a key name
    weight = "70%"
    [[citations]]
    post = "0x..."                    # a post id (or a unique prefix), or "incinerator"
    weight = -200000                  # negative: against (leaches)

A weight is a percentage ("30%"), a fraction ("0.3", "-0.2") or an integer count of ppm
(300000). The file is checked completely when read, and every problem names the key it is in,
so a typo costs one error line instead of a rejected transaction.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from governance.forum import FIXED_PARAMETERS, MAX_AUTHORS, MAX_CITATIONS, MAX_TITLE_BYTES
from governance.objects import INCINERATOR_POST
from porchain.constants import PPM
from porchain.errors import PorchainError
from porchain.params import WSCParams

KINDS = ("comment", "proposal")
FILE_KEYS = {"kind", "title", "body", "body_file", "authors", "citations", "wsc_params"}
INCINERATOR_NAME = "incinerator"
PARAMETER_NAMES = frozenset(WSCParams.__dataclass_fields__)


class DraftError(PorchainError):
    """A proposal file or a command-line weight that cannot make a POST."""


def parse_weight(value: Any, what: str) -> int:
    """A signed weight in ppm from "30%", "-0.2", 0.3 or 300000; never 0, at most 1e6."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise DraftError(f"{what}: expected a weight such as 30%, 0.3 or 300000, got {value!r}")
    text = str(value).strip().replace("_", "")
    try:
        if text.endswith("%"):
            ppm = Decimal(text[:-1]) * PPM / 100
        elif isinstance(value, float) or any(c in text for c in ".eE"):
            ppm = Decimal(text) * PPM
        else:
            ppm = Decimal(int(text))
    except (InvalidOperation, ValueError):
        raise DraftError(f"{what}: {value!r} is not a weight (30%, 0.3 or 300000)") from None
    if ppm != ppm.to_integral_value():
        raise DraftError(f"{what}: {value!r} is finer than 1 ppm (0.0001%)")
    if ppm == 0 or abs(ppm) > PPM:
        raise DraftError(f"{what}: a weight is between -100% and 100% and not 0, got {value!r}")
    return int(ppm)


def parse_post_ref(text: Any, what: str) -> str:
    """A cited post as 0x-hex (a full id or a prefix of at least 8 digits), or the
    incinerator's post id for "incinerator"."""
    if text == INCINERATOR_NAME:
        return "0x" + INCINERATOR_POST.hex()
    digits = text[2:] if isinstance(text, str) and text.startswith("0x") else ""
    try:
        bytes.fromhex(digits + "0" * (len(digits) % 2))
    except ValueError:
        digits = ""
    if not 8 <= len(digits) <= 64:
        raise DraftError(
            f"{what}: a post is a 0x id (or a prefix of at least 8 hex digits) or "
            f'"incinerator", got {text!r}'
        )
    return "0x" + digits.lower()


def split_spec(spec: str, what: str) -> tuple[str, str]:
    """`ID:WEIGHT` / `ACCOUNT:SHARE`, split at the last colon."""
    head, sep, tail = spec.rpartition(":")
    if not sep or not head or not tail:
        raise DraftError(f"{what}: expected X:WEIGHT (e.g. 0x1234abcd:30%), got {spec!r}")
    return head, tail


def parse_setting(text: str) -> tuple[str, int | str]:
    """`key=value` for a WSC parameter: integers (with _ separators) or a word."""
    key, sep, raw = text.partition("=")
    key, raw = key.strip(), raw.strip()
    if not sep or not key or not raw:
        raise DraftError(f"--set: expected KEY=VALUE, got {text!r}")
    try:
        value: int | str = int(raw.replace("_", ""))
    except ValueError:
        value = raw
    return key, value


@dataclass
class Draft:
    title: str
    kind: str = "proposal"
    body: str = ""
    body_file: str | None = None  # as written in the file: relative to it
    authors: list[tuple[str, int]] = field(default_factory=list)  # (account, ppm)
    citations: list[tuple[str, int]] = field(default_factory=list)  # (0x post, signed ppm)
    wsc_params: dict[str, Any] = field(default_factory=dict)

    def check(self) -> None:
        """The rules a POST must meet that need no chain: kinds, sizes, weight sums."""
        if self.kind not in KINDS:
            raise DraftError(f"kind must be comment or proposal, got {self.kind!r}")
        if not self.title.strip():
            raise DraftError("the title is empty")
        if len(self.title.encode()) > MAX_TITLE_BYTES:
            raise DraftError(f"the title is over {MAX_TITLE_BYTES} bytes")
        if len(self.authors) > MAX_AUTHORS:
            raise DraftError(f"a post has at most {MAX_AUTHORS} authors")
        if self.authors:
            if any(w <= 0 for _, w in self.authors):
                raise DraftError("author shares must be positive")
            total = sum(w for _, w in self.authors)
            if total != PPM:
                raise DraftError(f"author shares sum to {total / 10_000:g}%, not 100%")
            if len({a for a, _ in self.authors}) != len(self.authors):
                raise DraftError("an author is listed twice")
        if len(self.citations) > MAX_CITATIONS:
            raise DraftError(f"a post cites at most {MAX_CITATIONS} posts")
        if len({p for p, _ in self.citations}) != len(self.citations):
            raise DraftError("a post is cited twice")
        magnitude = sum(abs(w) for _, w in self.citations)
        if magnitude > PPM:
            raise DraftError(
                f"citation weights sum to {magnitude / 10_000:g}% in magnitude, over 100%"
            )
        if self.wsc_params and self.kind != "proposal":
            raise DraftError("only a proposal changes WSC parameters (kind = proposal)")
        unknown = sorted(set(self.wsc_params) - PARAMETER_NAMES)
        if unknown:
            raise DraftError(f"unknown WSC parameter(s): {', '.join(unknown)}")
        fixed = sorted(set(self.wsc_params) & FIXED_PARAMETERS)
        if fixed:
            raise DraftError(f"{', '.join(fixed)} cannot change after genesis")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "title": self.title}
        if self.body_file is not None:
            out["body_file"] = self.body_file
        else:
            out["body"] = self.body
        if self.authors:
            out["authors"] = [{"account": a, "weight": w} for a, w in self.authors]
        if self.citations:
            out["citations"] = [{"post": p, "weight": w} for p, w in self.citations]
        if self.wsc_params:
            out["wsc_params"] = dict(self.wsc_params)
        return out


# -- reading -----------------------------------------------------------------------------------


def load_draft(path: Path) -> Draft:
    path = Path(path)
    data = _read_data(path)

    def fail(message: str) -> DraftError:
        return DraftError(f"{path}: {message}")

    unknown = sorted(set(data) - FILE_KEYS)
    if unknown:
        raise fail(
            f"unknown key(s) {', '.join(unknown)} (expected: {', '.join(sorted(FILE_KEYS))})"
        )
    title = data.get("title")
    if not isinstance(title, str) or not title.strip():
        raise fail("missing title (a non-empty string)")
    if "body" in data and "body_file" in data:
        raise fail("give body or body_file, not both")
    body, body_file = data.get("body", ""), data.get("body_file")
    if not isinstance(body, str):
        raise fail("body must be a string")
    if body_file is not None:
        if not isinstance(body_file, str) or not body_file:
            raise fail("body_file must be a path (relative to this file)")
        body = read_body(path.parent / body_file, f"{path}: body_file")
    wsc_params = data.get("wsc_params", {})
    if not isinstance(wsc_params, dict):
        raise fail("wsc_params must be a table of parameter = value")
    draft = Draft(
        title=title,
        kind=data.get("kind", "proposal"),
        body=body,
        body_file=body_file,
        authors=_entries(data.get("authors", []), "authors", "account", fail),
        citations=[
            (parse_post_ref(p, f"{path}: citations"), w)
            for p, w in _entries(data.get("citations", []), "citations", "post", fail)
        ],
        wsc_params=dict(wsc_params),
    )
    try:
        draft.check()
    except DraftError as exc:
        raise fail(str(exc)) from None
    return draft


def _read_data(path: Path) -> dict[str, Any]:
    if path.suffix not in (".json", ".toml"):
        raise DraftError(f"{path}: a proposal file ends in .json or .toml")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DraftError(f"no proposal file at {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DraftError(f"cannot read {path}: {exc}") from None
    try:
        data = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise DraftError(f"{path}: not valid {path.suffix[1:].upper()}: {exc}") from None
    if not isinstance(data, dict):
        raise DraftError(f"{path}: a proposal file holds one object (table) of keys")
    return data


def _entries(raw: Any, name: str, key: str, fail: Any) -> list[tuple[str, int]]:
    if not isinstance(raw, list):
        raise fail(f"{name} must be a list of {{{key}, weight}} entries")
    out = []
    for i, entry in enumerate(raw, 1):
        where = f"{name}[{i}]"
        if not isinstance(entry, dict) or set(entry) != {key, "weight"}:
            raise fail(f"{where}: expected exactly the keys {key} and weight")
        if not isinstance(entry[key], str) or not entry[key]:
            raise fail(f"{where}: {key} must be a string")
        try:
            out.append((entry[key], parse_weight(entry["weight"], "weight")))
        except DraftError as exc:
            raise fail(f"{where}: {exc}") from None
    return out


def read_body(path: Path, what: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise DraftError(f"{what}: cannot read {path}: {reason}") from None


# -- writing -----------------------------------------------------------------------------------


def render_draft(draft: Draft, suffix: str) -> str:
    data = draft.to_dict()
    if suffix == ".json":
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    return to_toml(data)


def to_toml(data: dict[str, Any]) -> str:
    """The draft as TOML: plain keys, then the parameter table, then the arrays of tables.
    Strings are JSON-quoted, which is a valid TOML basic string."""
    lines = [f"{k} = {_toml_value(v)}" for k, v in data.items() if not isinstance(v, dict | list)]
    if "wsc_params" in data:
        lines += ["", "[wsc_params]"]
        lines += [f"{k} = {_toml_value(v)}" for k, v in data["wsc_params"].items()]
    for name in ("authors", "citations"):
        for entry in data.get(name, []):
            lines += ["", f"[[{name}]]"]
            lines += [f"{k} = {_toml_value(v)}" for k, v in entry.items()]
    return "\n".join(lines) + "\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return json.dumps(str(value), ensure_ascii=False)


def write_draft(path: Path, draft: Draft, *, force: bool) -> None:
    path = Path(path)
    if path.suffix not in (".json", ".toml"):
        raise DraftError(f"{path}: a proposal file ends in .json or .toml")
    if path.exists() and not force:
        raise DraftError(f"{path} exists (use --force to overwrite)")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(render_draft(draft, path.suffix), encoding="utf-8")
    tmp.replace(path)
