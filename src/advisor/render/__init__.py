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
    docx      the exercise documents as Word files
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
