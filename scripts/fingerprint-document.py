#!/usr/bin/env python3
"""Write rules/catalog/document.yaml: the fingerprint advisor checks quotes against.

    python scripts/fingerprint-document.py PATH-TO-THE-DOCUMENT.txt
    ADVISOR_DOCUMENT=PATH-TO-THE-DOCUMENT.txt python scripts/fingerprint-document.py

The document is the JFIR Policy Council's 22nd Policy Recommendations (December 2002),
published by the Japan Forum on International Relations (http://www.jfir.or.jp/); this
repository does not carry its text. Give a plain-text copy as the argument, or name it in
ADVISOR_DOCUMENT as the tests do. The fingerprint holds hashes of every run of four
consecutive words of the document, not its text (see src/advisor/document.py). Run it again
only if the document changes.
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from advisor.document import DOCUMENT_ENV, SHINGLE, fingerprint, words  # noqa: E402

source = sys.argv[1] if len(sys.argv) > 1 else os.environ.get(DOCUMENT_ENV, "")
if not source or not Path(source).is_file():
    sys.exit(
        f"usage: python scripts/fingerprint-document.py PATH-TO-THE-DOCUMENT.txt (or set {DOCUMENT_ENV}); "
        + (f"no such file: {source}" if source else "no document given")
    )
text = Path(source).read_text(encoding="utf-8")
hashes = fingerprint(text)
lines = [" ".join(hashes[i : i + 8]) for i in range(0, len(hashes), 8)]
out = Path(__file__).resolve().parents[1] / "rules" / "catalog" / "document.yaml"
out.write_text(
    "# The source document's fingerprint: a hash of every run of "
    f"{SHINGLE} consecutive words (src/advisor/document.py),\n"
    "# so that quotes can be checked without shipping the text. Made by scripts/fingerprint-document.py.\n"
    'title: "Building a System of Security and Cooperation in East Asia"\n'
    'author: "The Policy Council of the Japan Forum on International Relations (22nd Policy Recommendations)"\n'
    'date: "December 2002"\n'
    f"words: {len(words(text))}\n"
    "fingerprint: >-\n" + "".join(f"  {line}\n" for line in lines),
    encoding="utf-8",
)
print(f"{out}: {len(hashes)} runs of {SHINGLE} words")
