"""Verifying the chain: every row recomputed, every signed checkpoint held against it.

One pass over the rows, oldest first, in constant memory (rows come from the store in
batches or from an export line by line). Without checkpoints it catches what a careless
writer leaves behind (an edited payload, a deleted or moved row, a head that disagrees);
with checkpoints signed by a trusted key it also catches a writer who recomputed every
hash and the head: the rewritten rows no longer reach the hash a checkpoint signed.
"""

from __future__ import annotations

import hashlib
import json
import time
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from seamline.audit._chain import GENESIS, link_hash, row_hash
from seamline.audit._checkpoint import Checkpoint
from seamline.audit._signing import PublicKey, load_public_key
from seamline.errors import ConfigError

PURGE_KIND = "audit_purge"  # payload {"older_than": t, ...}: rows before t were purged
ERASURE_KIND = "audit_erasure"  # payload {"rows": [seq, ...], ...}: those rows were erased


class Row(NamedTuple):
    seq: int
    event_id: str
    integration: str
    kind: str
    payload: str
    created_at: float
    prev_hash: str
    hash: str
    payload_hash: str | None
    payload_salt: str | None


@dataclass(frozen=True, slots=True)
class ChainProblem:
    seq: int
    what: str


@dataclass(frozen=True, slots=True)
class VerifyReport:
    rows: int
    problems: tuple[ChainProblem, ...]
    checkpoints: int = 0  # trusted checkpoints that the rows agree with
    signed_through: int = 0  # the last row a trusted, matching checkpoint covers
    purged: int = 0  # rows whose payload was dropped past retention (their hash kept)
    notes: tuple[str, ...] = field(default=())  # what the verdict rests on, in sentences

    @property
    def ok(self) -> bool:
        return not self.problems


def _stamp(at: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(at))


def _named(cp: Checkpoint) -> str:
    return f"checkpoint {cp.idx} (signed {_stamp(cp.at)} with key {cp.key_id})"


def trusted_checkpoints(documents: Iterable[tuple[str, str]], keys: Sequence[PublicKey],
                        ) -> tuple[list[Checkpoint], list[ChainProblem], list[str]]:
    """The checkpoints a verifier may rely on, and what is wrong with the others.

    A checkpoint counts when a key you trust signed it, or a key that a rotation checkpoint
    signed by a trusted key announced. Gaps in the indexes, two different documents with
    one index, and a checkpoint that goes back on an earlier one are problems."""
    problems: list[ChainProblem] = []
    notes: list[str] = []
    by_idx: dict[int, Checkpoint] = {}
    for name, text in documents:
        try:
            cp = Checkpoint.from_json(text)
        except ValueError as exc:
            problems.append(ChainProblem(0, f"the checkpoint document {name} is {exc}"))
            continue
        seen = by_idx.get(cp.idx)
        if seen is None:
            by_idx[cp.idx] = cp
        elif seen != cp:
            problems.append(ChainProblem(cp.seq, f"two different checkpoints claim index {cp.idx} "
                                         f"(rows {seen.seq} and {cp.seq}): one is forged or replayed"))
    trusted = {k.key_id: k for k in keys}
    accepted: list[Checkpoint] = []
    last: Checkpoint | None = None
    for idx in sorted(by_idx):
        cp = by_idx[idx]
        key = trusted.get(cp.key_id)
        if key is None:
            problems.append(ChainProblem(cp.seq, f"checkpoint {idx} is signed with key {cp.key_id}, "
                                         "which you do not trust and no rotation announced"))
            continue
        if not cp.verifies_with(key):
            problems.append(ChainProblem(cp.seq, f"checkpoint {idx}'s signature does not verify: "
                                         "it was altered or forged"))
            continue
        if last is not None:
            if idx != last.idx + 1:
                problems.append(ChainProblem(cp.seq, f"checkpoints {last.idx + 1}..{idx - 1} are "
                                             "missing from the sink (removed after they were published)"))
            elif cp.prev != last.digest:
                problems.append(ChainProblem(cp.seq, f"checkpoint {idx} does not link to checkpoint "
                                             f"{last.idx} before it"))
            if cp.seq < last.seq:
                problems.append(ChainProblem(cp.seq, f"{_named(cp)} says the chain ended at row "
                                             f"{cp.seq}, but {_named(last)} had seen row {last.seq}: "
                                             "rows were removed between them"))
        elif idx != 1:
            problems.append(ChainProblem(cp.seq, f"checkpoints 1..{idx - 1} are missing from the sink"))
        if cp.next_key:
            try:
                new = load_public_key(cp.next_key)
            except ConfigError:
                problems.append(ChainProblem(cp.seq, f"checkpoint {idx} announces a next key that "
                                             "is not an Ed25519 public key"))
            else:
                trusted[new.key_id] = new
                notes.append(f"The signing key was rotated at checkpoint {idx} (row {cp.seq}): "
                             f"{cp.key_id} → {new.key_id}, announced under the old key.")
        accepted.append(cp)
        last = cp
    return accepted, problems, notes


class _Purges:
    """Rows whose payload is gone, and the purge and erasure records that must explain them.

    Kept as two arrays (16 bytes a purged row): a record explains only rows before it."""

    def __init__(self) -> None:
        self.seqs = array("q")
        self.created = array("d")
        self.cutoffs: list[tuple[int, float]] = []  # (record seq, older_than)
        self.erased: dict[int, int] = {}  # erased row -> the erasure record's seq

    @property
    def count(self) -> int:
        return len(self.seqs)

    def row(self, seq: int, created_at: float) -> None:
        self.seqs.append(seq)
        self.created.append(created_at)

    def record(self, seq: int, kind: str, payload: str) -> None:
        try:
            data = json.loads(payload)
            if kind == PURGE_KIND:
                self.cutoffs.append((seq, float(data["older_than"])))
            else:
                for row in data["rows"]:
                    self.erased.setdefault(int(row), seq)
        except (ValueError, KeyError, TypeError):
            return

    def problems(self) -> list[ChainProblem]:
        # The newest cutoff recorded after each row: walk both from the end.
        later_cutoff = float("-inf")
        records = sorted(self.cutoffs)
        unexplained: list[int] = []
        for i in range(len(self.seqs) - 1, -1, -1):
            seq = self.seqs[i]
            while records and records[-1][0] > seq:
                later_cutoff = max(later_cutoff, records.pop()[1])
            by = self.erased.get(seq)
            if not (self.created[i] < later_cutoff or (by is not None and by > seq)):
                unexplained.append(seq)
        out = []
        for first, last in _runs(sorted(unexplained)):
            out.append(ChainProblem(first, f"the payloads of rows {first}..{last} were removed, and "
                                    "no retention purge or erasure recorded after them covers them"))
        return out


def _runs(seqs: list[int]) -> Iterator[tuple[int, int]]:
    """Consecutive numbers as (first, last) runs."""
    i = 0
    while i < len(seqs):
        j = i
        while j + 1 < len(seqs) and seqs[j + 1] == seqs[j] + 1:
            j += 1
        yield seqs[i], seqs[j]
        i = j + 1


def _rewritten(seq: int, good: int, cp: Checkpoint, signed: str, found: str, what: str) -> ChainProblem:
    return ChainProblem(seq, (
        f"row {seq} contradicts {what + ' ' if what else ''}{_named(cp)}: it signed hash "
        f"{signed[:16]}…, the store has {found[:16]}…; rows {good + 1}..{seq} were rewritten "
        f"with recomputed hashes (the first bad row is among them; rows up to {good} agree "
        "with the checkpoints)"))


def verify_rows(rows: Iterable[Row], head: tuple[int, str] | None,
                checkpoints: Sequence[Checkpoint] = (), *, signed: bool = False) -> VerifyReport:
    """Recompute the chain from ``rows`` (in seq order) against the head and checkpoints.

    ``signed``: the caller gave trusted keys (so no checkpoints at all is worth saying)."""
    problems: list[ChainProblem] = []
    expect: dict[int, Checkpoint] = {}
    marked: dict[int, tuple[str, Checkpoint]] = {}  # seq -> (hash prefix, the checkpoint)
    for cp in checkpoints:
        other = expect.get(cp.seq)
        if other is not None and other.hash != cp.hash:
            problems.append(ChainProblem(cp.seq, f"{_named(other)} and {_named(cp)} sign different "
                                         f"hashes for row {cp.seq}"))
        expect.setdefault(cp.seq, cp)
        for seq, prefix in cp.marks:
            marked.setdefault(seq, (prefix, cp))
    contradicted: set[int] = set()  # checkpoints already named (once each is enough)
    good_seq = 0  # the last row a signed hash (mark or checkpoint) agreed with
    purges = _Purges()
    prev_hash, prev_seq, count = GENESIS, 0, 0
    good_cp: Checkpoint | None = None  # the last checkpoint the rows agreed with
    matched = 0
    sha256 = hashlib.sha256
    for r in rows:
        count += 1
        seq = r.seq
        if seq != prev_seq + 1:
            problems.append(ChainProblem(
                seq, f"row {seq} follows row {prev_seq}: rows {prev_seq + 1}..{seq - 1} were deleted"
                if seq > prev_seq + 1 else f"row {seq} is out of order"))
        if r.prev_hash != prev_hash:
            problems.append(ChainProblem(seq, f"row {seq} does not link to the row before it "
                                         "(a row was deleted, inserted or reordered)"))
        if r.payload_hash is None:
            expected = row_hash(r.prev_hash, seq, r.event_id, r.integration, r.kind,
                                r.created_at, r.payload)
            content_ok = True
        else:
            expected = link_hash(r.prev_hash, seq, r.event_id, r.integration, r.kind,
                                 r.created_at, r.payload_hash)
            salt = r.payload_salt or ""
            if r.payload == "" and salt == "":
                purges.row(seq, r.created_at)
                content_ok = True
            else:
                try:
                    content_ok = sha256(bytes.fromhex(salt) + r.payload.encode()).hexdigest() == r.payload_hash
                except ValueError:
                    content_ok = False
        if expected != r.hash or not content_ok:
            problems.append(ChainProblem(seq, f"row {seq} ({r.kind} of event {r.event_id}) was "
                                         "edited: its content no longer matches its hash"))
        if r.kind == PURGE_KIND or r.kind == ERASURE_KIND:
            purges.record(seq, r.kind, r.payload)
        mark = marked.get(seq)
        if mark is not None:
            if r.hash.startswith(mark[0]):
                good_seq = seq
            elif mark[1].idx not in contradicted:
                contradicted.add(mark[1].idx)
                problems.append(_rewritten(seq, good_seq, mark[1], mark[0], r.hash, "a mark of"))
        signed_here = expect.get(seq)
        if signed_here is not None:
            if signed_here.hash == r.hash:
                good_cp, matched, good_seq = signed_here, matched + 1, seq
            elif signed_here.idx not in contradicted:
                contradicted.add(signed_here.idx)
                problems.append(_rewritten(seq, good_seq, signed_here, signed_here.hash, r.hash, ""))
        prev_hash, prev_seq = r.hash, seq
    last_row = prev_seq
    for seq, cp in sorted(expect.items()):
        if seq > last_row:
            problems.append(ChainProblem(last_row + 1, (
                f"rows {last_row + 1}..{seq} are gone: {_named(cp)} recorded the chain up to row "
                f"{seq}, the store ends at row {last_row} (truncated after the checkpoint)")))
            break
    if head is not None:
        head_seq, head_hash = head
        if head_seq != prev_seq or head_hash != prev_hash:
            problems.append(ChainProblem(
                head_seq, f"the chain head says row {head_seq} is last but the log ends at row "
                f"{prev_seq}: rows at the end were deleted or the head was edited"))
    problems += purges.problems()
    notes: list[str] = []
    signed_through = good_cp.seq if good_cp else 0
    if checkpoints:
        if last_row > signed_through and not any(p.seq > signed_through for p in problems):
            notes.append(f"Rows {signed_through + 1}..{last_row} are not covered by a signed "
                         "checkpoint yet: they verify as a chain, but a database writer could "
                         "have rewritten or removed them.")
        newest = max(checkpoints, key=lambda c: c.idx)
        notes.append(f"The newest checkpoint is {newest.idx}, signed {_stamp(newest.at)} at row {newest.seq}.")
    elif signed:
        notes.append("No trusted checkpoint was found: only edits that break the chain are caught, "
                     "not a rewrite that recomputed every hash.")
    else:
        notes.append("Unsigned verification (no public key, no checkpoints): this catches edits "
                     "that break the chain, not a database writer who recomputed every hash and "
                     "the head. Pass --public-key and --checkpoints to rule that out.")
    if purges.count:
        notes.append(f"{purges.count} row(s) had their payload purged (retention) or erased (a "
                     "person's request); their hashes still verify.")
    return VerifyReport(rows=count, problems=tuple(problems), checkpoints=matched,
                        signed_through=signed_through, purged=purges.count, notes=tuple(notes))


def rows_of_export(lines: Iterator[str]) -> tuple[tuple[int, str] | None, Iterator[Row]]:
    """Read an export (``seamline audit export``): its header's head, then its rows."""
    first = next(lines, "")
    try:
        header = json.loads(first)
        if header.get("format") != EXPORT_FORMAT:
            raise ValueError
        head = (int(header["head"]["seq"]), str(header["head"]["hash"]))
    except (ValueError, KeyError, TypeError, AttributeError):
        raise ConfigError("This is not a Seamline audit export (its first line is not the "
                          f"{EXPORT_FORMAT} header).") from None

    def rows() -> Iterator[Row]:
        for n, line in enumerate(lines, start=2):
            if not line.strip():
                continue
            try:
                (seq, event_id, integration, kind, created_at, payload, payload_hash, salt, prev,
                 h) = json.loads(line)
                yield Row(int(seq), event_id, integration, kind, payload, float(created_at), prev, h,
                          payload_hash, salt)
            except (ValueError, TypeError):
                raise ConfigError(f"Line {n} of the export is not an audit row.") from None
    return head, rows()


EXPORT_FORMAT = "seamline-audit-export/1"
