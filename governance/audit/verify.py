"""Verifying the chain: streamed, from a trusted checkpoint or from the first entry.

Each entry's content is hashed again and linked to the previous entry's stored hash, so one
changed entry is named alone; a gap (deleted entries), an entry chained after an earlier one
than its predecessor (inserted entries), or a link bound to another position (reordered
entries) names the first entry concerned. A chain rewritten consistently from some entry on
passes those checks; a signed checkpoint then no longer matches, and the first entry after
the last checkpoint that still matches is named (the rewrite began there or later).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from governance.audit.chain import audit_sequence
from governance.audit.checkpoints import CheckedCheckpoint, checkpoint_check, trusted_keys
from governance.audit.hashing import GENESIS_HASH, entry_hash, link_hash
from governance.audit.models import AuditChainHead, AuditCheckpoint, AuditEvent, AuditVerification

RECENT_LINKS = 4096  # hashes remembered to recognise an entry chained past inserted ones
MAX_PROBLEMS = 50
FIELDS = (
    "sequence",
    "occurred_at",
    "actor_username",
    "origin",
    "action",
    "object_type",
    "object_id",
    "data",
    "entry_hash",
    "previous_hash",
    "hash",
)


@dataclass
class ChainCheck:
    from_sequence: int = 0  # the last entry vouched for before the walk (0: genesis)
    to_sequence: int = 0
    checked: int = 0
    bad: list[int] = field(default_factory=list)  # sequences named, in chain order
    problems: list[str] = field(default_factory=list)
    checkpoints: int = 0  # trusted checkpoints found to match

    @property
    def ok(self) -> bool:
        return not self.bad and not self.problems

    @property
    def first_bad(self) -> int | None:
        return min(self.bad) if self.bad else None

    def name(self, sequence: int, problem: str) -> None:
        if sequence not in self.bad:
            self.bad.append(sequence)
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(f"#{sequence}: {problem}")

    def note(self, problem: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(problem)


def _checkpoints() -> tuple[list[CheckedCheckpoint], list[str]]:
    keys = trusted_keys()
    checked = [checkpoint_check(c, keys) for c in AuditCheckpoint.objects.order_by("size", "id")]
    return [c for c in checked if not c.problem], [c.problem for c in checked if c.problem]


def _stored_hash(sequence: int) -> str | None:
    return AuditEvent.objects.filter(sequence=sequence).values_list("hash", flat=True).first()


def chain_walk(*, full: bool = False) -> ChainCheck:
    """Check the chain; from the latest matching checkpoint unless `full`."""
    audit_sequence()
    # Checkpoints before the head: each was signed at or below the head read next, so one
    # beyond it means entries were cut off; entries sequenced after that read are not ours.
    trusted, forged = _checkpoints()
    head = AuditChainHead.objects.filter(pk=1).first()
    end = max([head.last_sequence if head is not None else 0, *(c.size for c in trusted)])
    check = ChainCheck()
    for problem in forged:
        check.note(problem)
    start, previous = 0, GENESIS_HASH
    if not full and trusted:
        latest = trusted[-1]
        if _stored_hash(latest.size) == latest.root_hash:
            start, previous = latest.size, latest.root_hash
            check.checkpoints += 1
        # else: the latest checkpoint no longer matches; walk from the first entry to say where
    check.from_sequence = start
    expected = {c.size: c.root_hash for c in trusted if c.size > start}
    vouched = start  # the last entry a matching checkpoint vouches for
    rewrites: list[tuple[int, int]] = []  # (first entry not vouched for, mismatching checkpoint)
    recent: OrderedDict[str, int] = OrderedDict({previous: start})
    sequence = start
    rows = (
        AuditEvent.objects.filter(sequence__gt=start, sequence__lte=end)
        .order_by("sequence")
        .values_list(*FIELDS)
        .iterator(chunk_size=2000)
    )
    for row in rows:
        seq, occurred_at, actor, origin, action, object_type, object_id, data = row[:8]
        stored_entry, stored_previous, stored_hash = row[8:]
        check.checked += 1
        if seq != sequence + 1:
            check.name(sequence + 1, f"missing (the next entry is #{seq})")
        content = entry_hash(
            occurred_at=occurred_at,
            actor=actor,
            origin=origin,
            action=action,
            object_type=object_type,
            object_id=object_id,
            data=data,
        )
        if content != stored_entry:
            check.name(seq, "content changed since it was appended")
        elif stored_previous != previous and stored_previous in recent:
            first = recent[stored_previous] + 1
            if first < seq:
                check.name(first, f"inserted: #{seq} was chained right after #{first - 1}")
            else:
                check.name(seq, "linked to an entry other than its predecessor")
        elif stored_previous != previous and stored_hash == link_hash(
            stored_previous, seq, content
        ):  # this entry is as it was chained: its predecessor's hash was rewritten
            check.name(seq - 1, f"its hash was rewritten (#{seq} links to the original)")
        elif stored_previous != previous or stored_hash != link_hash(previous, seq, content):
            check.name(seq, "not linked to its predecessor at this position")
        if seq in expected:
            if expected.pop(seq) == stored_hash:
                check.checkpoints += 1
                vouched = seq
            else:
                rewrites.append((vouched + 1, seq))
        previous, sequence = stored_hash, seq
        recent[stored_hash] = seq
        if len(recent) > RECENT_LINKS:
            recent.popitem(last=False)
    check.to_sequence = sequence
    for first, at in rewrites:  # unless a local break in that range explains the mismatch
        if not any(first <= bad <= at for bad in check.bad):
            check.name(
                first,
                f"the chain was rewritten after a checkpoint: entry #{at} no longer has the hash "
                f"a signed checkpoint holds for it (rewritten from #{first} to #{at} or later)",
            )
    for size in expected:  # trusted checkpoints beyond the end: entries were cut off
        check.name(sequence + 1, f"missing: a signed checkpoint covers the chain up to #{size}")
        break
    if end > sequence:
        check.name(sequence + 1, f"missing: the chain was sequenced up to #{end}")
    elif (
        head is not None
        and end == head.last_sequence == sequence > start
        and head.last_hash != previous
    ):
        check.name(sequence, "its hash is not the one the sequencer chained")
    check.bad.sort()
    return check


def deletions_on_record(limit: int = 200) -> list[str]:
    """The latest retention deletions and consent erasures on the chain: what, and when."""
    recorded = AuditEvent.objects.filter(action__in=["retention.deleted", "consent.erased"])
    lines = []
    for event in reversed(recorded.order_by("-id")[:limit]):
        data = event.data
        if event.object_type == "reference_data":
            what = f"deleted the file of reference data set {event.object_id}"
            what += f" (sha256 {data.get('sha256')}, uploaded {data.get('uploaded_at')})"
        elif event.action == "retention.deleted":
            what = f"deleted {data.get('rows')} row(s) of {event.object_id}"
            what += f" older than {data.get('before')}"
        else:
            what = f"erased the personal fields of {data.get('records')} record(s)"
        place = f"#{event.sequence}" if event.sequence else "(unsequenced)"
        lines.append(f"{place} {event.occurred_at:%Y-%m-%d %H:%M:%S} {what}")
    total = recorded.count()
    if total > limit:
        lines.insert(0, f"(the latest {limit} of {total})")
    return lines


def audit_chain_verify() -> list[int]:
    """Sequences of the entries found bad, from the first entry on; [] if intact."""
    return chain_walk(full=True).bad


def audit_verification_run(*, verification_id: int) -> AuditVerification:
    """Run the verification a report row was created for, and store what it found."""
    report = AuditVerification.objects.get(pk=verification_id)
    check = chain_walk(full=report.full)
    with transaction.atomic():
        report.finished_at = timezone.now()
        report.from_sequence = check.from_sequence
        report.to_sequence = check.to_sequence
        report.checked = check.checked
        report.ok = check.ok
        report.first_bad = check.first_bad
        summary = "\n".join(check.problems) or (
            f"{check.checked} entr{'y' if check.checked == 1 else 'ies'} after "
            f"#{check.from_sequence} verified; {check.checkpoints} signed checkpoint(s) match."
        )
        deletions = deletions_on_record()
        if deletions:
            summary += "\n\nDeleted or erased on record:\n" + "\n".join(deletions)
        report.detail = summary
        report.save()
    return report
