"""Personal data: masking of emails/phones in free text, keyed pseudonyms, the key file."""
from __future__ import annotations

import hashlib
import hmac
import os
import stat

import pandas as pd
import pytest

from insight.data.pii import load_key, mask_series, mask_text, pseudonymise
from insight.paths import Project


@pytest.mark.parametrize("text, expected", [
    ("Call me on +44 20 7946 0958 please", "Call me on [phone] please"),
    ("(555) 123-4567", "[phone]"),
    ("ring 138 0013 8000 now", "ring [phone] now"),
    ("手机 13800138000 联系", "手机 [phone] 联系"),
    ("tel:+86 138-0013-8000", "tel:[phone]"),
    ("call 020 7946 0958 or 07700 900123", "call [phone] or [phone]"),
    ("555.123.4567", "[phone]"),
    ("+33 1 23 45 67 89", "[phone]"),
    ("+49 (0)30 1234567", "[phone]"),
    ("ph: 555-123-4567.", "ph: [phone]."),
    ("mail john.doe@example.co.uk today", "mail [email] today"),
    ("a.b+tag@sub.example.com, c_d@example.org", "[email], [email]"),
])
def test_mask_text_masks_emails_and_phones(text, expected):
    assert mask_text(text) == expected


@pytest.mark.parametrize("text", [
    "In 2023 we paid 12,000.50 USD", "years 2022 2023 2024", "date 2024-01-31 ok", "from 2023-01-01 to 2024-12-31",
    "order 1234567890123", "price 1234.56", "ticket #123456", "version 3.2.1", "ids 12345 67890",
    "1.234.567,89 EUR", "ORD-2024-000123", "budget 150 000 000 EUR", "1.234.567.890 units", "revenue 1000000 and 250000", "NPS 9 of 10, 3 seats", "31/01/2024",
])
def test_mask_text_leaves_plain_numbers(text):
    assert mask_text(text) == text


def test_mask_series_counts_and_keeps_missing():
    s = pd.Series(["a@b.com and +44 20 7946 0958", None, "nothing in 2024", "(555) 123-4567"])
    out, n_email, n_phone = mask_series(s)
    assert out.tolist()[0] == "[email] and [phone]"
    assert pd.isna(out.iloc[1])
    assert out.iloc[2] == "nothing in 2024"
    assert (n_email, n_phone) == (1, 2)


def test_pseudonymise_is_keyed_hmac_stable_and_key_dependent():
    s = pd.Series(["ann@example.com", "bo@example.com", None, "ann@example.com"])
    a = pseudonymise(s, b"key-one")
    # reference: HMAC-SHA256(key, value) computed directly with the standard library
    ref = "anon-" + hmac.new(b"key-one", b"ann@example.com", hashlib.sha256).hexdigest()[:16]
    assert a.iloc[0] == ref and a.iloc[3] == ref          # stable for a key, equal values equal
    assert a.iloc[1] != ref and pd.isna(a.iloc[2])        # other values differ; missing stays missing
    assert a.str.fullmatch(r"anon-[0-9a-f]{16}").sum() == 3
    b = pseudonymise(s, b"key-two")
    assert (a.dropna() != b.dropna()).all()                # another key, other pseudonyms
    assert pseudonymise(s, b"key-one").equals(a)


def test_two_customers_never_share_a_pseudonym_where_40_bits_did():
    """A pseudonym stands for its value in joins, so two values must not share one. With 10 hex digits
    (40 bits) ids of a 3M-customer base shared one: under this key C0158726 and C2586504 both begin
    da6b6be085 (found by hashing C0000000 .. C2999999, among which the birthday bound n^2 / 2^41 expects a
    few such pairs).
    The 16 digits (64 bits) of a pseudonym tell them apart."""
    key = b"collision-test-key"
    full = [hmac.new(key, t.encode(), hashlib.sha256).hexdigest() for t in ("C0158726", "C2586504")]
    assert full[0][:10] == full[1][:10] == "da6b6be085"            # the collision of 40 bits
    got = pseudonymise(pd.Series(["C0158726", "C2586504"]), key)
    assert got.tolist() == ["anon-da6b6be08546d051", "anon-da6b6be0859600eb"]
    assert got.nunique() == 2


@pytest.mark.parametrize("key", [b"key-one", b"k" * 64, b"a key longer than SHA-256's block of sixty-four bytes, hashed first", "clé"])
def test_pseudonyms_are_the_standard_librarys_hmac(key):
    """The HMAC is computed by its definition (RFC 2104) from the padded key's two SHA-256 states,
    hashed once: every pseudonym equals the standard library's HMAC-SHA256, for keys shorter than,
    as long as and longer than SHA-256's block, and for any text, so a customer id pseudonymised in
    one table and in another stays the same pseudonym."""
    values = [f" C{i:06d}\t" for i in range(5000)] + \
        ["Åse Ünal", "", " ", "日本語のテキスト", "\x1cid\u3000", "e" * 300, 42, 3.5, None]
    s = pd.Series(values, dtype=object)
    raw = key.encode("utf-8") if isinstance(key, str) else key
    ref = ["anon-" + hmac.new(raw, str(v).strip().encode("utf-8"), hashlib.sha256).hexdigest()[:16] for v in values[:-1]]
    got = pseudonymise(s, key)
    assert got.iloc[:-1].tolist() == ref and pd.isna(got.iloc[-1])


def test_key_file_created_once_owner_only(tmp_path, monkeypatch):
    monkeypatch.delenv("INSIGHT_PII_KEY", raising=False)
    project = Project(tmp_path)
    k1 = load_key(project)
    path = tmp_path / ".insight-key"
    assert path.exists() and len(k1) >= 32
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert load_key(project) == k1
    monkeypatch.setenv("INSIGHT_PII_KEY", "from-env")
    assert load_key(project) == b"from-env"


def test_mask_series_prefilters_skip_no_email_or_phone():
    """mask_series runs the email pattern only on texts with an "@" and the phone pattern only on texts
    with 8 digits at most two characters apart: the tightest phone ("+12 (34) 5678": 8 digits, gaps
    " (" and ") "), non-ASCII digits and spaces, a phone after a newline, a token already in the text."""
    texts = ["+12 (34) 5678", "+12 (34) 567", "mail a.b@c.co or +44 (0)20 7946 0958", "x@y.cn, 2 rue", "no digits",
             "year 2024, order 12345678", "call \u0660\u0662\u0660 \u0667\u0669\u0664\u0666 \u0660\u0669\u0665\u0668",
             "call \uff10\uff12\uff10 \uff17\uff19\uff14\uff16 \uff10\uff19\uff15\uff18 now", "+1 (555)\u00a0123 4567",
             "ids 12-34-56-78", None, "tel:138 0013 8000\nbye", "[phone] kept, 555-987-6543"]
    out, n_email, n_phone = mask_series(pd.Series(texts * 2, dtype="str"))
    expected = ["[phone]", "+12 (34) 567", "mail [email] or [phone]", "[email], 2 rue", "no digits",
                "year 2024, order 12345678", "call [phone]", "call [phone] now", "[phone]", "ids 12-34-56-78", None,
                "tel:[phone]\nbye", "[phone] kept, [phone]"]
    assert [None if pd.isna(v) else v for v in out] == expected * 2
    assert [mask_text(t) for t in texts] == expected           # the same as one text at a time
    assert (n_email, n_phone) == (4, 14) and str(out.dtype) == "str"
