"""Keyed pseudonyms: RFC 2104 pads, where the key comes from, and that it never leaks."""

from __future__ import annotations

import hashlib
import hmac
import os
import stat

import pytest

from supervision.marts import pii
from supervision.marts.pii import PiiKey, PiiKeyError


def test_pads_give_the_standard_hmac():
    for key in (b"k" * 16, b"a much longer key than the sha-256 block size of sixty-four bytes, hashed first" * 2):
        k = PiiKey(key, "test")
        ipad, opad = k.pads
        value = b"411002198001010019"
        inner = hashlib.sha256(ipad + value).digest()
        assert hashlib.sha256(opad + inner).hexdigest() == hmac.new(key, value, hashlib.sha256).hexdigest()
        assert k.pseudonym("411002198001010019") == hmac.new(key, value, hashlib.sha256).hexdigest()[:32]


def test_pseudonyms_depend_on_the_key():
    a, b = PiiKey(b"a" * 32, "a"), PiiKey(b"b" * 32, "b")
    assert a.pseudonym("张三") != b.pseudonym("张三")
    assert a.pseudonym(None) is None
    assert a.fingerprint != b.fingerprint and len(a.fingerprint) == 16


def test_key_never_printed():
    k = PiiKey(b"super-secret-key-material-123456", "env")
    assert "super-secret" not in repr(k) and "super-secret" not in str(k)


@pytest.fixture
def no_key_env(monkeypatch, tmp_path):
    for env in (pii.KEY_ENV, pii.AIRFLOW_VAR_ENV, pii.KEY_FILE_ENV):
        monkeypatch.delenv(env, raising=False)
    monkeypatch.setenv("SUPERVISION_DATA_DIR", str(tmp_path / "data"))
    return tmp_path


def test_key_from_env_then_airflow_variable_then_file(no_key_env, monkeypatch):
    f = no_key_env / "key"
    f.write_text("from-a-file-0123456789\n")
    monkeypatch.setenv(pii.KEY_FILE_ENV, str(f))
    assert pii.load_key(embedded=False).key == b"from-a-file-0123456789"
    monkeypatch.setenv(pii.AIRFLOW_VAR_ENV, "from-airflow-variable-0123")
    assert pii.load_key(embedded=False).source == f"env {pii.AIRFLOW_VAR_ENV}"
    monkeypatch.setenv(pii.KEY_ENV, "from-the-environment-0123")
    assert pii.load_key(embedded=False).key == b"from-the-environment-0123"


def test_short_key_refused(no_key_env, monkeypatch):
    monkeypatch.setenv(pii.KEY_ENV, "short")
    with pytest.raises(PiiKeyError, match="shorter than 16 bytes"):
        pii.load_key(embedded=False)


def test_configured_warehouse_without_key_is_an_error(no_key_env):
    with pytest.raises(PiiKeyError, match="never use a default key"):
        pii.load_key(embedded=False)


def test_embedded_warehouse_gets_a_private_generated_key(no_key_env):
    k1 = pii.load_key(embedded=True)
    path = no_key_env / "data" / "secrets" / "pii_key"
    assert path.exists() and stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert pii.load_key(embedded=True).key == k1.key  # stable across runs
    assert len(k1.key) == 64


def test_person_flag_field_from_the_contract():
    from supervision.contract import RECORD_TYPES

    rt = RECORD_TYPES["enforcement_cases"]
    assert pii.person_flag_field(rt, "party_id") == "party_type"
    assert pii.person_flag_field(rt, "party_name") == "party_type"
