"""Excel (XLSX): the master scenario events list, every cell text."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

from . import documents
from .names import exercise_words
from .safe import cell_text

if TYPE_CHECKING:
    from ..exercise import MselRow, Words

WIDTHS = (7, 14, 10, 32, 48, 14, 22, 22, 36, 70, 12, 16, 36)


def msel_xlsx(rows: list[MselRow], exercise: dict[str, Any], title: str, words: Words | None = None) -> bytes:
    """The MSEL as an Excel workbook: every cell text (no formulas), the header bold and frozen."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    from ..exercise import msel_columns

    words = exercise_words(words)
    wb = Workbook()
    ws = wb.active
    ws.title = "MSEL"
    ws.append(msel_columns(words))
    for r in rows:
        ws.append([cell_text(c) for c in r.cells()])
    wrap = Alignment(wrap_text=True, vertical="top")
    for row in ws.iter_rows():
        for cell in row:
            cell.data_type = "s"  # openpyxl reads a string starting with '=' as a formula; this is text
            cell.alignment = wrap
    for cell in ws[1]:
        cell.font = Font(bold=True)
    ws.freeze_panes = "A2"
    for i, width in enumerate(WIDTHS, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.auto_filter.ref = ws.dimensions
    marking = cell_text(documents.marking(exercise))
    ws.oddHeader.center.text = marking.replace("&", "&&")
    ws.oddFooter.center.text = marking.replace("&", "&&")
    wb.properties.title = cell_text(f"MSEL: {(exercise or {}).get('name') or title}")[:250]
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
