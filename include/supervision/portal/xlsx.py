"""The monthly report as an .xlsx workbook: the same tables as the printable page, one sheet each.

Text cells that a spreadsheet would take for a formula (starting with = + - @, or a tab / carriage return before
one) are written with a leading apostrophe, so a record id like ``=HYPERLINK(...)`` stays text (CSV/formula
injection, OWASP)."""

from __future__ import annotations

import io

from openpyxl import Workbook
from openpyxl.styles import Font

DANGEROUS = ("=", "+", "-", "@", "\t", "\r")
PERCENT_FORMAT = "0.0%"


class Percent(float):
    """A ratio: a number in the workbook shown as a percentage (and as "33.3%" on the page)."""


def neutralise(value):
    if isinstance(value, str) and value.startswith(DANGEROUS):
        return "'" + value
    return value


def workbook(title: str, tables: list[tuple[str, list[str], list[list]]]) -> bytes:
    """tables: (sheet name, header, rows); the header and every row cell go through :func:`neutralise`."""
    wb = Workbook()
    wb.remove(wb.active)
    for name, header, rows in tables:
        ws = wb.create_sheet(name[:31])
        ws.append([neutralise(title)])
        ws["A1"].font = Font(bold=True)
        ws.append([neutralise(h) for h in header])
        for cell in ws[2]:
            cell.font = Font(bold=True)
        for row in rows:
            ws.append([neutralise(v) for v in row])
            for cell, v in zip(ws[ws.max_row], row, strict=False):
                if isinstance(v, Percent):
                    cell.number_format = PERCENT_FORMAT
        for i, h in enumerate(header, 1):
            ws.column_dimensions[ws.cell(2, i).column_letter].width = max(10, min(48, len(str(h)) * 2 + 4))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
