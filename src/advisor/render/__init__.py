"""Every output format, one module each; the engine returns data and these turn it into text or a file.

    safe      the neutralising of user text, one function per escaping rule (terminal, JSON, Markdown,
              CSV and XLSX cells, HTML, CSS, XML, Word, GitHub workflow commands)
    names     display names (English or Japanese), `localise` for JSON, the brief's labels
    rows      what several formats lay out alike: listing and table rows, short phrases
    documents the exercise documents' parts (EEGs, hot wash, role cards), laid out alike by
              markdown, html and docx
    text      terminal tables and reports: assessment, catalog, policy tests, explain, query, matrix
    markdown  assessment, catalog, brief and handout, matrix, the exercise documents
    html      brief and handout (self-contained, printable), the exercise documents
    csv       the matrix, the MSEL, rows of any table
    json      `to_json`, and the data of catalog listings, policy tests, explain and query
    docx      the brief and the exercise documents as Word files
    xlsx      the MSEL as an Excel workbook
    ci        JUnit XML, SARIF and GitHub annotations

The functions below choose a format's module for a command that offers several; each module is
imported only when its format is asked for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..brief import MatrixRow
    from ..catalog import Catalog
    from ..models import Assessment
    from ..rules import Rulebase
    from .names import Names


def render_assessment(a: Assessment, fmt: str, catalog: Catalog | None = None, lang: str = "en") -> str:
    """The assessment as `table`, `markdown` or `json`, names in `lang` where the catalog has them."""
    from .names import Names, localise

    as_of = "today" if a.since_2002 is not None else "2002"
    if fmt == "json":
        from .json import to_json

        return to_json(localise(a.to_data(), catalog, as_of) if lang == "ja" and catalog else a)
    names = Names(catalog, lang, as_of)
    if fmt == "markdown":
        from .markdown import assessment_markdown

        return assessment_markdown(a, names)
    if fmt == "table":
        from .text import assessment_table

        return assessment_table(a, names)
    raise KeyError(fmt)


def render_catalog(catalog: Catalog, what: str, fmt: str) -> str:
    """One `advisor catalog` listing as `table`, `markdown` or `json`."""
    if fmt == "json":
        from .json import catalog_data, to_json

        return to_json(catalog_data(catalog, what))
    if fmt == "markdown":
        from .markdown import catalog_markdown

        return catalog_markdown(catalog, what)
    from .text import catalog_table

    return catalog_table(catalog, what)


def render_matrix(rows: list[MatrixRow], catalog: Catalog, names: Names, fmt: str) -> str:
    """The role matrix as `table`, `markdown` or `csv`."""
    if fmt == "csv":
        from .csv import matrix_csv

        return matrix_csv(rows, catalog)
    if fmt == "markdown":
        from .markdown import matrix_markdown

        return matrix_markdown(rows, catalog, names)
    from .text import matrix_table

    return matrix_table(rows, catalog, names)


def render_brief(
    a: Assessment,
    rulebase: Rulebase,
    fmt: str,
    *,
    facilitator: bool = False,
    handout: bool = False,
    paper: str = "a4",
    lang: str = "en",
    as_of: str = "2002",
) -> str | bytes:
    """The exercise packet (`advisor brief`, POST /v1/brief) as `markdown`, `html` or `docx` (bytes):
    the participants' manual (the parties only), the facilitator's guide (the network of the
    answer too) or the handout."""
    from ..brief import packet, parties
    from .names import Names

    catalog = rulebase.catalog
    names = Names(catalog, lang, as_of)
    p = packet(a, catalog, names, lang, as_of)
    if fmt == "docx":  # the picture's parties in words
        from .docx import brief_docx, brief_handout_docx

        return brief_handout_docx(p) if handout else brief_docx(p, facilitator, parties(a, catalog, names, "markdown"))
    if handout:
        from .html import brief_handout_html
        from .markdown import brief_handout_markdown

        return brief_handout_html(p, paper) if fmt == "html" else brief_handout_markdown(p)
    from .html import brief_html
    from .markdown import brief_markdown

    if not facilitator:
        if fmt == "html":
            return brief_html(p, parties(a, catalog, names, fmt), False, lang, paper)
        return brief_markdown(p, parties(a, catalog, names, fmt) or "", False)
    from ..graph import network, to_mermaid, to_svg

    if fmt == "html":
        return brief_html(p, to_svg(network(a, names)), True, lang, paper)
    return brief_markdown(p, to_mermaid(network(a, names)), True)


def render_msel(a: Assessment, rulebase: Rulebase, fmt: str, lang: str = "en") -> str | bytes:
    """The master scenario events list (`advisor msel`, POST /v1/msel) as `markdown`, `csv` or `xlsx` (bytes)."""
    from ..exercise import Words, msel_rows
    from .names import Names

    catalog = rulebase.catalog
    rows = msel_rows(a, catalog, Names(catalog, lang), rulebase, lang)
    words = Words(catalog, lang)
    exercise, title = a.threat.get("exercise") or {}, a.threat.get("title") or a.threat["id"]
    if fmt == "xlsx":
        from .xlsx import msel_xlsx

        return msel_xlsx(rows, exercise, title, words)
    if fmt == "csv":
        from .csv import msel_csv

        return msel_csv(rows, words)
    from .markdown import msel_markdown

    return msel_markdown(rows, exercise, title, words)
