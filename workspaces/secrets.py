"""Workspace secrets: the owner's key to a claimed workspace (README, "Workspace secrets").

A secret is `ldw_` + 43 URL-safe characters of 256 random bits + a 6-character checksum of them
(CRC32 in base 62, as GitHub's token format does), so a leaked secret is recognisable by a scanner
and a mistyped one is refused without a database read mattering. Only its SHA-256 is stored: the
secret has full entropy, so no slow hash is needed. Checks compare in constant time and do the same
work whatever was wrong.
"""

import hashlib
import hmac
import re
import secrets
import zlib

PREFIX = "ldw_"
_BODY_CHARS = 43  # secrets.token_urlsafe(32)
_CHECKSUM_CHARS = 6
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SHAPE = re.compile(rf"{PREFIX}[A-Za-z0-9_-]{{{_BODY_CHARS}}}[0-9A-Za-z]{{{_CHECKSUM_CHARS}}}")
# Compared against when the workspace has no secret, so that every check does the same work.
_NOTHING = hashlib.sha256(b"no secret").hexdigest()


def _checksum(body: str) -> str:
    value, digits = zlib.crc32(body.encode()), []
    for _ in range(_CHECKSUM_CHARS):
        value, digit = divmod(value, 62)
        digits.append(_BASE62[digit])
    return "".join(reversed(digits))


def secret_new() -> str:
    body = secrets.token_urlsafe(32)
    return f"{PREFIX}{body}{_checksum(body)}"


def secret_well_formed(secret: str) -> bool:
    if not _SHAPE.fullmatch(secret):
        return False
    body = secret[len(PREFIX) : -_CHECKSUM_CHARS]
    return hmac.compare_digest(secret[-_CHECKSUM_CHARS:], _checksum(body))


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(presented: str | None, stored_hash: str | None) -> bool:
    """Whether `presented` is the secret whose hash is stored, in constant time: a missing or
    malformed secret and a missing hash cost the same hash and comparison as a wrong one."""
    usable = presented is not None and secret_well_formed(presented)
    candidate = secret_hash(presented if usable else "no secret")
    matches = hmac.compare_digest(candidate, stored_hash or _NOTHING)
    return usable and stored_hash is not None and matches
