"""Personal data: pseudonymise identifying columns, mask emails and phone numbers in free text.

- `pseudonymise(series, key)`: keyed hash (HMAC-SHA256) of each value -> "anon-" + 16 hex chars.
  The same value and key always give the same pseudonym (joins across tables keep working); a
  different key gives unrelated pseudonyms; without the key the value cannot be recovered by
  hashing guesses. Missing values stay missing. Hashing runs once per distinct value
  (pd.factorize), not once per row.
- `mask_text(s)` / `mask_series(series)`: emails -> "[email]", phone numbers -> "[phone]".
  Plain numbers (years, amounts, ids, dates) are left alone: a phone number needs 9 to 15 digits
  and either a leading "+", a parenthesised area code, separators between digit groups that are
  not all years, or the shape of a Chinese mobile number (1[3-9] + 9 digits).
- `load_key(project)`: the key from the environment variable INSIGHT_PII_KEY, else from the
  untracked file `<project root>/.insight-key` (created on first use with mode 0600).
"""
from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from insight.paths import Project

KEY_ENV = "INSIGHT_PII_KEY"
KEY_FILE = ".insight-key"
PREFIX = "anon-"
# hex digits of a pseudonym: 64 bits. A pseudonym stands for its value in joins (a customer id or an
# email that links tables), so two values must not share one: among n distinct values the chance that
# any two do is about n^2 / 2^(bits+1) (the birthday bound): with the 40 bits of 10 digits 10 % at
# 500,000 customers and near certainty at 5M; with 64 bits 7e-9 at 500,000 and 7e-5 at 50M.
DIGITS = 16
EMAIL_TOKEN = "[email]"
PHONE_TOKEN = "[phone]"

EMAIL_RE = re.compile(r"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                      r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}")
# a phone-number candidate: optional +country code, optional (area code), digit groups joined by
# single separators (space, hyphen, dot, slash); validated by _phone_ok before it is masked
PHONE_RE = re.compile(
    r"(?<![\w+@/.-])"
    r"(?:\+\s?\d{1,3}[\s.-]?)?"          # +44, +1-, +86
    r"(?:\(\d{1,5}\)[\s.-]?)?"            # (555) or (0)20
    r"\d{1,11}(?:[\s./-]\d{1,8}){0,5}"    # 20 7946 0958 / 123-4567 / 138 0013 8000 / 13800138000
    r"(?![\w@-]|[.,]\d)"
)
_DATE_LIKE = re.compile(r"^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}$|^\d{1,2}[-/.]\d{1,2}[-/.]\d{4}$")
_CN_MOBILE = re.compile(r"^1[3-9]\d{9}$")


def _phone_ok(m: str) -> bool:
    digits = sum(ch.isdigit() for ch in m)
    s = m.strip()
    if s.startswith("+"):
        return 8 <= digits <= 15
    if digits < 9 or digits > 15:
        return False
    if "(" in s:
        return True
    groups = re.split(r"[\s./-]+", s)
    if len(groups) == 1:
        return bool(_CN_MOBILE.match(s))          # one unbroken run: only a Chinese mobile shape
    if len(groups[0]) > 5 and not s.startswith("("):
        return False                             # "12345678 9012": a long number, then another
    if len(groups[0]) <= 3 and all(len(g) == 3 for g in groups[1:]) and len(set(re.findall(r"[\s./-]", s))) == 1:
        return False                             # "150 000 000", "1.234.567.890": thousands, an amount
    if _DATE_LIKE.match(s):
        return False
    if all(len(g) == 4 and g[:2] in ("19", "20") for g in groups):
        return False                             # "2022 2023 2024": years, not a phone
    if len(groups) == 2 and len(groups[0]) > 4 and len(groups[1]) > 4 and not s.startswith("0"):
        return False                             # "12345 67890": two plain numbers
    return True


def _phone_sub(m: re.Match) -> str:
    return PHONE_TOKEN if _phone_ok(m.group(0)) else m.group(0)


def mask_text(s):
    """Mask emails and phone numbers in one text; non-text values are returned unchanged."""
    if not isinstance(s, str):
        return s
    s = EMAIL_RE.sub(EMAIL_TOKEN, s)
    return PHONE_RE.sub(_phone_sub, s)


# a phone number holds at least 8 digits (_phone_ok), at most two other characters apart in PHONE_RE
# ("+44 (0)20": a separator and a parenthesis): a text without such a stretch cannot hold one
_PHONE_DIGITS = r"\d(?:\D{0,2}\d){7}"


def mask_series(series: "pd.Series") -> tuple["pd.Series", int, int]:
    """Masked copy of a text column, with the number of emails and phone numbers masked.
    Works on the distinct texts (pd.factorize), so repeated texts are masked once; the email pattern
    runs only on texts with an "@" and the phone pattern only on texts with a stretch of digits that
    can be a phone number (_PHONE_DIGITS), found by Arrow's scans (pandas' own str.contains, which
    keeps Python's meaning of \\d on non-ASCII text); the other texts could not change."""
    import numpy as np
    import pandas as pd

    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    u = pd.Series(uniques, dtype="str") if len(uniques) else pd.Series([], dtype="str")
    n_before = u.str.count(re.escape(PHONE_TOKEN)).fillna(0).to_numpy()
    emails = np.zeros(len(u), dtype=np.int64)
    at = u.str.contains("@", regex=False, na=False).to_numpy(dtype=bool)
    if at.any():
        emails[at] = u[at].str.count(EMAIL_RE.pattern).fillna(0).to_numpy()
        u = u.copy()
        u.loc[at] = u.loc[at].str.replace(EMAIL_RE, EMAIL_TOKEN, regex=True)
    # only texts holding two digits in a row can hold a phone number: the callback runs on those alone
    cand = u.str.contains(r"\d{2}", regex=True, na=False).to_numpy(dtype=bool, copy=True)
    if cand.any():
        cand[cand] = u[cand].str.contains(_PHONE_DIGITS, regex=True, na=False).to_numpy(dtype=bool)
    if cand.any():
        u = u.copy()
        u.loc[cand] = u.loc[cand].str.replace(PHONE_RE, _phone_sub, regex=True)
    phones = u.str.count(re.escape(PHONE_TOKEN)).fillna(0).to_numpy() - n_before
    valid = codes >= 0
    n_email = int(emails[codes[valid]].sum()) if len(uniques) else 0
    n_phone = int(phones[codes[valid]].sum()) if len(uniques) else 0
    # one take over the distinct masked texts (code -1, a missing value, stays missing)
    out = u.array.take(codes, allow_fill=True)
    return pd.Series(out, index=series.index, name=series.name, dtype="str"), n_email, n_phone


def pseudonymise(series: "pd.Series", key: bytes) -> "pd.Series":
    """Keyed hash of every non-missing value: "anon-" + the first DIGITS (16) hex characters of
    HMAC-SHA256(key, value as text, stripped). Stable for a key; differs across keys."""
    import pandas as pd

    if isinstance(key, str):
        key = key.encode("utf-8")
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    texts = [str(u).strip() for u in uniques.tolist()]   # the same objects as iterating the Index, boxed faster
    hashed = pd.array(_pseudonyms(texts, key), dtype="str")
    # one take over the distinct hashes (code -1, a missing value, stays missing)
    return pd.Series(hashed.take(codes, allow_fill=True), index=series.index, name=series.name)


def _pseudonyms(texts: list[str], key: bytes) -> list[str]:
    """PREFIX + the first DIGITS hex characters of HMAC-SHA256(key, text) for each text, by the
    definition of HMAC (RFC 2104): H((K ^ opad) || H((K ^ ipad) || message)), K the key padded with
    zeros to SHA-256's 64-byte block (hashed first when longer). The two padded keys are hashed once
    and each value continues a copy of those states: 1.4 s for 1,000,000 values here, where
    hmac.digest, which starts from the key for every value, takes 3.3 s and the same construction in
    DuckDB's SQL 2.8 s (measured here). Equal to hmac.digest (tests/test_data_pii.py)."""
    block = (hashlib.sha256(key).digest() if len(key) > 64 else key).ljust(64, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in block)).copy
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in block)).copy
    out = []
    for t in texts:
        h = inner()
        h.update(t.encode("utf-8"))
        o = outer()
        o.update(h.digest())
        out.append(PREFIX + o.hexdigest()[:DIGITS])
    return out


def key_path(project: "Project") -> Path:
    return project.root / KEY_FILE


def load_key(project: "Project") -> bytes:
    """The pseudonymisation key: $INSIGHT_PII_KEY, else <project root>/.insight-key (created on
    first use, readable by the owner only; it is git-ignored and must never be committed)."""
    env = os.environ.get(KEY_ENV)
    if env:
        return env.encode("utf-8")
    path = key_path(project)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        token = secrets.token_hex(32)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it meanwhile
            pass
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(token + "\n")
    if path.stat().st_mode & 0o077:   # readable by others (copied, unpacked from an archive): owner only again
        try:
            os.chmod(path, 0o600)
        except OSError:
            pass
    key = path.read_text(encoding="utf-8").strip()
    if not key:
        raise ValueError(f"the pseudonymisation key file {path} is empty; delete it to create a new key "
                         f"(pseudonyms will change) or set {KEY_ENV}")
    return key.encode("utf-8")


def key_id(key: bytes) -> str:
    """A public identifier of the key (not the key): changes when the key changes."""
    return hmac.new(key, b"insight-key-id", hashlib.sha256).hexdigest()[:12]
