"""The repository stands on its own: no tracked file points outside it, and every link of the docs resolves."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT

# Spelled in pieces so that this file does not match itself.
OUTSIDE = ("../" + "shared/", "/work/" + "shared")
# Design documents that lived beside the clone; their content is in docs/ now.
OUTSIDE_DOCUMENTS = re.compile(r"\b(" + "|".join(["CONTRACT", "STYLE", "DURABLE_RULES", "RULE_AUDIT"]) + r")\.md\b")

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,}).*?^ {0,3}\1[ \t]*$", re.M | re.S)
CODE_SPAN = re.compile(r"(`+).+?\1", re.S)
INLINE_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_LINK = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.M)
HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+(.+?)[ \t#]*$", re.M)


def tracked_text_files() -> list[tuple[str, str]]:
    """(path, text) of every file git tracks here, binary files left out."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    top = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=ROOT, capture_output=True, text=True)
    if top.returncode != 0 or Path(top.stdout.strip()).resolve() != ROOT.resolve():
        pytest.skip("not a git checkout of the project (an unpacked sdist, say)")
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    out = []
    for name in filter(None, listed.decode("utf-8", "surrogateescape").split("\0")):
        path = ROOT / name
        if not path.is_file() or path.is_symlink():
            continue  # deleted in the work tree, or a link
        data = path.read_bytes()
        if b"\0" in data[:8192]:
            continue  # binary
        out.append((name, data.decode("utf-8", "replace")))
    return out


def test_no_tracked_file_points_outside_the_repository():
    hits = [
        f"{name}:{text.count(chr(10), 0, m.start()) + 1}: {m.group(0)}"
        for name, text in tracked_text_files()
        for m in re.finditer("|".join(map(re.escape, OUTSIDE)), text)
    ]
    assert hits == [], "paths outside the repository:\n" + "\n".join(hits)


@pytest.mark.slow
def test_no_tracked_file_cites_the_old_design_documents():
    """The contract, the house style and the engine notes are docs/contract.md, design.md and durable-rules.md."""
    hits = [
        f"{name}:{text.count(chr(10), 0, m.start()) + 1}: {m.group(0)}"
        for name, text in tracked_text_files()
        for m in OUTSIDE_DOCUMENTS.finditer(text)
    ]
    assert hits == [], "design documents outside the repository:\n" + "\n".join(hits)


def _prose(text: str) -> str:
    """The text without code blocks and code spans, line numbers kept."""
    text = FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), text)
    return CODE_SPAN.sub(lambda m: "\n" * m.group(0).count("\n"), text)


def _links(path: Path) -> list[tuple[int, str]]:
    prose = _prose(path.read_text(encoding="utf-8"))
    found = [*INLINE_LINK.finditer(prose), *REFERENCE_LINK.finditer(prose)]
    return sorted((prose.count("\n", 0, m.start()) + 1, m.group(1)) for m in found)


def _relative(target: str) -> bool:
    return not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target) and not target.startswith(("#", "//"))


def test_docs_have_links():
    assert sum(_relative(t) for path in DOCS for _, t in _links(path)) >= 10


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_every_relative_link_points_to_a_file_that_exists(path):
    broken = []
    for line, target in _links(path):
        if not _relative(target):
            continue
        file = target.split("#", 1)[0].split("?", 1)[0]
        resolved = (path.parent / file).resolve()
        if not resolved.exists():
            broken.append(f"{path.name}:{line}: {target}")
        elif not resolved.is_relative_to(ROOT.resolve()):
            broken.append(f"{path.name}:{line}: {target} (outside the repository)")
    assert broken == [], "broken links:\n" + "\n".join(broken)


def _anchors(path: Path) -> set[str]:
    """The anchors GitHub makes of a Markdown file's headings."""
    seen: dict[str, int] = {}
    out = set()
    text = FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), path.read_text(encoding="utf-8"))
    for m in HEADING.finditer(text):
        title = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", m.group(1))  # a link's text only
        slug = re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        out.add(slug if n == 0 else f"{slug}-{n}")
    return out


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_every_link_to_a_heading_finds_it(path):
    broken = []
    for line, target in _links(path):
        if not _relative(target) and not target.startswith("#"):
            continue
        file, _, anchor = target.partition("#")
        resolved = (path.parent / file).resolve() if file else path
        if anchor and resolved.suffix == ".md" and resolved.is_file() and anchor not in _anchors(resolved):
            broken.append(f"{path.name}:{line}: {target}")
    assert broken == [], "links to headings that do not exist:\n" + "\n".join(broken)
