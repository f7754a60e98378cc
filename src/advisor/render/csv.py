"""CSV: the role matrix, the master scenario events list, and rows of any table (`to_csv`)."""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING, Any

from .names import exercise_words
from .rows import matrix_rows
from .safe import cell_text

if TYPE_CHECKING:
    from ..brief import MatrixRow
    from ..catalog import Catalog
    from ..exercise import MselRow, Words


def to_csv(rows: list[list[Any]]) -> str:
    """Rows as CSV no spreadsheet runs: no cell starts a formula, a line break in a cell is quoted."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([[cell_text(c) for c in row] for row in rows])
    return buf.getvalue()


def matrix_csv(rows: list[MatrixRow], catalog: Catalog) -> str:
    """The role matrix as CSV: L lead, C coordinate, S support, P participate, and each row's flag."""
    headers, body = matrix_rows(rows, catalog)
    return to_csv([headers, *body])


def msel_csv(rows: list[MselRow], words: Words | None = None) -> str:
    """The MSEL as CSV for spreadsheets: a BOM (so Excel reads UTF-8), CRLF rows, quoted line breaks."""
    from ..exercise import msel_columns

    words = exercise_words(words)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(msel_columns(words))
    writer.writerows([[cell_text(c) for c in r.cells()] for r in rows])
    return "\ufeff" + buf.getvalue()
