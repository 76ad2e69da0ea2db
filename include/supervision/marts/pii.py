"""Personal data (PII) in the supervisor-facing marts: keyed pseudonyms, never clear values.

The contract marks personal fields (``Field.pii``): ``True`` = always personal, ``"person"`` = personal when the
party is a natural person. In ``marts.fact_*`` every such field becomes ``<field>_pseudonym``: the first 128
bits (32 hex characters) of HMAC-SHA256(key, value as UTF-8). A "person" field also keeps a ``<field>`` column
that holds the clear value only for organizations (a USCC or an agency's name is not personal data) and NULL
for persons. The clear values stay in ``core`` (and ``ops.quarantine``), which only the pipeline can read.

The same key gives the same pseudonym, so supervisors can count repeat complainants or parties across records
and counties without learning who they are; without the key a pseudonym cannot be reversed or recomputed from a
guessed ID number. The HMAC is computed by PostgreSQL's built-in ``sha256()`` (no extension needed) from the
key's inner and outer pads, which the refresh passes as query parameters: the key itself never reaches the
database, the repository or the logs.

Key, in this order: env ``SUPERVISION_PII_KEY``; env ``AIRFLOW_VAR_SUPERVISION_PII_KEY`` (an Airflow Variable
set through the environment or a secrets backend); the file named by ``SUPERVISION_PII_KEY_FILE``; for the
embedded development warehouse only, ``<data dir>/secrets/pii_key``, generated on first use (mode 0600).
A configured (production) warehouse without a key is an error: never a default key.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from psycopg import sql

from supervision.contract import RecordType

KEY_ENV = "SUPERVISION_PII_KEY"
AIRFLOW_VAR_ENV = "AIRFLOW_VAR_SUPERVISION_PII_KEY"
KEY_FILE_ENV = "SUPERVISION_PII_KEY_FILE"
MIN_KEY_BYTES = 16
PSEUDONYM_HEX = 32  # 128 bits
_BLOCK = 64  # SHA-256 block size


class PiiKeyError(RuntimeError):
    pass


@dataclass(frozen=True)
class PiiKey:
    key: bytes
    source: str

    def __repr__(self) -> str:  # never print the key
        return f"PiiKey(source={self.source!r}, fingerprint={self.fingerprint!r})"

    @property
    def pads(self) -> tuple[bytes, bytes]:
        """(K xor ipad, K xor opad) as RFC 2104 defines them."""
        k = hashlib.sha256(self.key).digest() if len(self.key) > _BLOCK else self.key
        k = k.ljust(_BLOCK, b"\0")
        return bytes(b ^ 0x36 for b in k), bytes(b ^ 0x5C for b in k)

    @property
    def params(self) -> dict[str, bytes]:
        ipad, opad = self.pads
        return {"pii_ipad": ipad, "pii_opad": opad}

    @property
    def fingerprint(self) -> str:
        """Identifies the key (to notice a rotation) without revealing it."""
        return hmac.new(self.key, b"supervision pii key fingerprint", hashlib.sha256).hexdigest()[:16]

    def pseudonym(self, value: str | None) -> str | None:
        """The Python twin of :func:`hmac_sql` (tests and ad-hoc look-ups by the pipeline team)."""
        if value is None:
            return None
        return hmac.new(self.key, value.encode("utf-8"), hashlib.sha256).hexdigest()[:PSEUDONYM_HEX]


def _check(raw: bytes, source: str) -> PiiKey:
    raw = raw.strip()
    if len(raw) < MIN_KEY_BYTES:
        raise PiiKeyError(f"the PII key from {source} is shorter than {MIN_KEY_BYTES} bytes; "
                          "generate one with: python -c 'import secrets; print(secrets.token_hex(32))'")
    return PiiKey(raw, source)


def load_key(*, embedded: bool | None = None) -> PiiKey:
    """The pseudonymization key (see the module docstring; the look-up is :func:`supervision.resources.pii_key_material`)."""
    from supervision import resources

    return _check(*resources.pii_key_material(embedded=embedded))


def hmac_sql(value: sql.Composable) -> sql.Composed:
    """SQL: the pseudonym of ``value`` (text), using the ``%(pii_ipad)s`` / ``%(pii_opad)s`` query parameters."""
    return sql.SQL(
        "left(encode(sha256(%(pii_opad)s::bytea || sha256(%(pii_ipad)s::bytea || convert_to({}, 'UTF8'))), "
        "'hex'), {})").format(value, sql.Literal(PSEUDONYM_HEX))


def person_flag_field(rt: RecordType, field_name: str) -> str:
    """The enum field that says whether a ``pii="person"`` field belongs to a person (party_id -> party_type)."""
    f = rt.field(field_name)
    if f.kind_field:
        return f.kind_field
    candidate = f.name.rsplit("_", 1)[0] + "_type"
    try:
        rt.field(candidate)
    except KeyError:
        raise ValueError(f"{rt.name}.{f.name} is personal 'when a person' but no {candidate} says who") from None
    return candidate
