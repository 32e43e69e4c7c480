"""Signed checkpoints of the chain's head, in the C2SP tlog-checkpoint and signed-note formats.

A checkpoint says "entry #size of this log has link hash H" and is signed with Ed25519
(https://c2sp.org/tlog-checkpoint, https://c2sp.org/signed-note):

    model-governance/audit                  <- origin (settings.AUDIT_LOG_ORIGIN)
    1234                                    <- size: the sequence number of the head
    q6x...=                                 <- base64 of the head's link hash (32 bytes)
    timestamp 2026-12-01T19:00:00+00:00     <- extension line: when it was signed

    — model-governance-audit AbCd...        <- key name, base64(key id || signature)

Anyone who can write the database can recompute every hash of a rewritten chain; nobody
without the signing key can sign a checkpoint for it. So a rewrite shows as a checkpoint
whose signed hash no longer matches the entry at its size. The key comes from the
environment (AUDIT_SIGNING_KEY, a signed-note private key `PRIVATE+KEY+name+id+data`); the
embedded mode generates a development key under VAR_DIR with a warning. Checkpoints signed
by an earlier key verify with AUDIT_VERIFY_KEYS (its `name+id+data` verifier keys).
"""

from __future__ import annotations

import base64
import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils import timezone

from governance.audit.chain import audit_sequence
from governance.audit.models import AuditChainHead, AuditCheckpoint

logger = logging.getLogger(__name__)
ED25519 = b"\x01"  # the signed-note signature type of Ed25519
DEV_KEY_FILE = "audit-signing.key"


@dataclass(frozen=True)
class VerifierKey:
    name: str
    key_id: bytes
    public: Ed25519PublicKey


def _key_id(name: str, public_raw: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + ED25519 + public_raw).digest()[:4]


def _public_raw(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(Encoding.Raw, PublicFormat.Raw)


def signing_key_generate(name: str) -> str:
    """A new signed-note private key string for AUDIT_SIGNING_KEY."""
    private = Ed25519PrivateKey.generate()
    seed = private.private_bytes_raw()
    key_id = _key_id(name, _public_raw(private.public_key()))
    return f"PRIVATE+KEY+{name}+{key_id.hex()}+{base64.b64encode(ED25519 + seed).decode()}"


@lru_cache(maxsize=4)
def _parse_private(text: str) -> tuple[str, Ed25519PrivateKey]:
    parts = text.strip().split("+", 4)
    if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
        raise ImproperlyConfigured("AUDIT_SIGNING_KEY is not a PRIVATE+KEY+name+id+data key.")
    name, data = parts[2], base64.b64decode(parts[4])
    if data[:1] != ED25519 or len(data) != 33:
        raise ImproperlyConfigured("AUDIT_SIGNING_KEY is not an Ed25519 key.")
    private = Ed25519PrivateKey.from_private_bytes(data[1:])
    if _key_id(name, _public_raw(private.public_key())).hex() != parts[3]:
        raise ImproperlyConfigured("AUDIT_SIGNING_KEY's key id does not match its key.")
    return name, private


def verifier_key_text(name: str, public: Ed25519PublicKey) -> str:
    raw = _public_raw(public)
    return f"{name}+{_key_id(name, raw).hex()}+{base64.b64encode(ED25519 + raw).decode()}"


def _parse_verifier(text: str) -> VerifierKey:
    name, key_id, data = text.strip().split("+", 2)
    raw = base64.b64decode(data)
    if raw[:1] != ED25519 or len(raw) != 33 or _key_id(name, raw[1:]).hex() != key_id:
        raise ImproperlyConfigured(f"AUDIT_VERIFY_KEYS: {text!r} is not an Ed25519 verifier key.")
    return VerifierKey(name, bytes.fromhex(key_id), Ed25519PublicKey.from_public_bytes(raw[1:]))


def signing_key() -> tuple[str, Ed25519PrivateKey]:
    """The key checkpoints are signed with: from the environment, or a development key."""
    if settings.AUDIT_SIGNING_KEY:
        return _parse_private(settings.AUDIT_SIGNING_KEY)
    if settings.PRODUCTION:
        raise ImproperlyConfigured("Set AUDIT_SIGNING_KEY to sign audit checkpoints.")
    path = settings.VAR_DIR / DEV_KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(signing_key_generate("model-governance-dev") + "\n")
        path.chmod(0o600)
        logger.warning(
            "Signing audit checkpoints with a development key generated at %s; set "
            "AUDIT_SIGNING_KEY in production.",
            path,
        )
    return _parse_private(path.read_text())


def trusted_keys() -> list[VerifierKey]:
    keys = [_parse_verifier(text) for text in settings.AUDIT_VERIFY_KEYS]
    if settings.AUDIT_SIGNING_KEY or not settings.PRODUCTION:
        name, private = signing_key()
        raw = _public_raw(private.public_key())
        keys.append(VerifierKey(name, _key_id(name, raw), private.public_key()))
    return keys


def checkpoint_body(size: int, root_hash: str, signed_at: datetime) -> str:
    root = base64.b64encode(bytes.fromhex(root_hash)).decode()
    return f"{settings.AUDIT_LOG_ORIGIN}\n{size}\n{root}\ntimestamp {signed_at.isoformat()}\n"


@transaction.atomic
def audit_checkpoint_create() -> AuditCheckpoint | None:
    """Sequence what is pending, then sign the head; None while the chain is empty."""
    audit_sequence()
    head = AuditChainHead.objects.filter(pk=1).first()
    if head is None or head.last_sequence == 0:
        return None
    name, private = signing_key()
    signed_at = timezone.now().replace(microsecond=0)
    body = checkpoint_body(head.last_sequence, head.last_hash, signed_at)
    key_id = _key_id(name, _public_raw(private.public_key()))
    signature = base64.b64encode(key_id + private.sign(body.encode())).decode()
    return AuditCheckpoint.objects.create(
        size=head.last_sequence,
        root_hash=head.last_hash,
        signed_at=signed_at,
        key_name=name,
        note=f"{body}\n\u2014 {name} {signature}\n",
    )


@dataclass(frozen=True)
class CheckedCheckpoint:
    checkpoint: AuditCheckpoint
    size: int
    root_hash: str
    problem: str  # "" when a trusted key signed exactly this size and hash


def checkpoint_check(checkpoint: AuditCheckpoint, keys: list[VerifierKey]) -> CheckedCheckpoint:
    """What the checkpoint's signed note says, and whether a trusted key signed it.

    The size and hash are read from the signed note, never from the row's other columns.
    """
    text, _, signatures = checkpoint.note.partition("\n\n")
    body = text + "\n"
    lines = text.split("\n")
    try:
        size, root_hash = int(lines[1]), base64.b64decode(lines[2], validate=True).hex()
    except (IndexError, ValueError):
        return CheckedCheckpoint(checkpoint, 0, "", f"checkpoint {checkpoint.pk}: unreadable note")
    if lines[0] != settings.AUDIT_LOG_ORIGIN:
        return CheckedCheckpoint(
            checkpoint, size, root_hash, f"checkpoint {checkpoint.pk}: another log's origin"
        )
    for line in signatures.splitlines():
        _, name, encoded = [*line.split(" "), "", "", ""][:3]
        try:
            blob = base64.b64decode(encoded, validate=True)
        except ValueError:
            continue
        for key in keys:
            if key.name == name and key.key_id == blob[:4]:
                try:
                    key.public.verify(blob[4:], body.encode())
                except InvalidSignature:
                    continue
                return CheckedCheckpoint(checkpoint, size, root_hash, "")
    return CheckedCheckpoint(
        checkpoint, size, root_hash, f"checkpoint {checkpoint.pk}: no valid trusted signature"
    )
