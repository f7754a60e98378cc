"""The source document, as far as checking quotes needs it: a fingerprint of its words.

The rule base quotes the document (a rule with basis `document` carries a short verbatim
`quote`). To check a quote without shipping the document, advisor keeps a fingerprint of
it: a hash of every run of four consecutive words (`rules/catalog/document.yaml`). A quote
is verbatim when every run of four of its words is in the fingerprint. Words are compared
in lower case, without punctuation, so that typographic quotes and dashes do not matter.
`scripts/fingerprint-document.py` makes the fingerprint from the document's text.
"""

from __future__ import annotations

import functools
import hashlib
import re
from pathlib import Path

SHINGLE = 4
DIGITS = 12
DOCUMENT_ENV = "ADVISOR_DOCUMENT"


def words(text: str) -> list[str]:
    """The words of a text as the fingerprint compares them."""
    return re.findall(r"[a-z0-9]+", text.lower().replace("’", "'").replace("'", ""))


def _hash(run: list[str]) -> str:
    return hashlib.sha256(" ".join(run).encode()).hexdigest()[:DIGITS]


def fingerprint(text: str) -> list[str]:
    """The sorted hashes of every run of SHINGLE consecutive words of a text."""
    w = words(text)
    return sorted({_hash(w[i : i + SHINGLE]) for i in range(len(w) - SHINGLE + 1)})


@functools.lru_cache(maxsize=4)
def load_fingerprint(path: str) -> frozenset[str] | None:
    """The fingerprint stored in a catalog's document.yaml, or None when there is none."""
    import yaml

    p = Path(path)
    if not p.is_file():
        return None
    from .source import MAX_RULE_FILE_BYTES, read_text

    data = yaml.safe_load(read_text(p, limit=MAX_RULE_FILE_BYTES)) or {}
    return frozenset(str(data.get("fingerprint", "")).split())


def is_verbatim(quote: str, shingles: frozenset[str]) -> bool:
    """Whether every run of SHINGLE words of the quote occurs in the fingerprinted text."""
    w = words(quote)
    if len(w) < SHINGLE:
        return False
    return all(_hash(w[i : i + SHINGLE]) in shingles for i in range(len(w) - SHINGLE + 1))
