"""Printable QR label sheets (A4, pre-cut adhesive label stock) as PDF.

Each label carries the QR code of the equipment's public tag URL and text that
depends on the family: a lift's label names its 96333 rescue code and the
emergency hotline; a cylinder's or a vessel's never speaks of lift rescue. All
carry the code line, the category, the registration code and the address when
known, "扫码查看", and cut marks. The QR is drawn as vector squares rather than
an embedded bitmap so it prints crisp at any printer resolution.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Iterable, Sequence

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas

from .qr import qr_matrix

__all__ = ["Label", "label_sheet_pdf"]

# Built-in Adobe CID font: viewers supply the glyphs, so we ship no font file.
CJK_FONT = "STSong-Light"
LATIN_FONT = "Helvetica"
LATIN_BOLD = "Helvetica-Bold"

_PAD = 1.5 * mm  # inner padding, also keeps content off the die-cut edge
# Quiet zone (in modules) kept blank inside the QR square.  ISO/IEC 18004
# asks for 4; keeping it inside the square means the symbol scans whatever
# is printed next to it (text column, neighbouring labels).
_QUIET_MODULES = 4
_FIT_TOLERANCE = 0.01 * mm  # float slack: 3 x 70 mm must fit 210 mm


@dataclass(frozen=True)
class Label:
    url: str
    code_line: str
    category: str
    hotline: str = "96333"
    family: str | None = None  # elevator / gas_cylinder / pressure_vessel; None: no family-specific line
    registration_code: str | None = None
    address: str | None = None


# Family lines under the code and category: (text, size pt). The hotline line is only a lift's.
def _family_lines(label: Label) -> list[tuple[str, float]]:
    if label.family == "elevator":
        return [(f"电梯应急救援 {label.hotline}", 8)]
    if label.family == "gas_cylinder":
        return [("一瓶一码 · 超期禁止充装", 7)]
    if label.family == "pressure_vessel":
        return [("压力容器 · 定期检验", 7)]
    return []


def _register_fonts() -> None:
    # Registration is global and idempotent; done lazily so importing this
    # module has no side effects.
    if CJK_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))


def _check_layout(label_w_mm, label_h_mm, columns, rows, margin_left_mm,
                  margin_top_mm, start_offset) -> None:
    page_w, page_h = A4
    if columns < 1 or rows < 1:
        raise ValueError(f"columns and rows must be >= 1 (got {columns}x{rows})")
    if label_w_mm <= 0 or label_h_mm <= 0:
        raise ValueError("label width and height must be positive")
    if margin_left_mm < 0 or margin_top_mm < 0:
        raise ValueError("margins must not be negative")
    used_w = (margin_left_mm + columns * label_w_mm) * mm
    if used_w > page_w + _FIT_TOLERANCE:
        raise ValueError(
            f"{columns} columns x {label_w_mm} mm + {margin_left_mm} mm margin "
            f"= {used_w / mm:.1f} mm does not fit the A4 width of 210 mm"
        )
    used_h = (margin_top_mm + rows * label_h_mm) * mm
    if used_h > page_h + _FIT_TOLERANCE:
        raise ValueError(
            f"{rows} rows x {label_h_mm} mm + {margin_top_mm} mm margin "
            f"= {used_h / mm:.1f} mm does not fit the A4 height of 297 mm"
        )
    per_page = columns * rows
    if not 0 <= start_offset < per_page:
        raise ValueError(
            f"start_offset must be in 0..{per_page - 1} for a {columns}x{rows} sheet "
            f"(got {start_offset})"
        )


def _font_for(text: str, latin: str = LATIN_FONT) -> str:
    return latin if text.isascii() else CJK_FONT


def _fit_size(text: str, font: str, max_size: float, width: float) -> float:
    """Largest font size <= max_size at which text fits in width."""
    w = pdfmetrics.stringWidth(text, font, max_size)
    return max_size if w <= width else max(4.0, max_size * width / w)


def _draw_text(c: Canvas, text: str, x: float, y: float, width: float,
               size: float, latin: str = LATIN_FONT) -> None:
    font = _font_for(text, latin)
    c.setFont(font, _fit_size(text, font, size, width))
    c.drawString(x, y, text)


def _draw_qr(c: Canvas, data: str, x: float, y: float, side: float) -> None:
    """Vector QR in the square with lower-left corner (x, y)."""
    matrix = qr_matrix(data, border=_QUIET_MODULES)
    module = side / len(matrix)
    path = c.beginPath()
    for r, row in enumerate(matrix):
        top = y + side - r * module
        col = 0
        while col < len(row):
            if not row[col]:
                col += 1
                continue
            run = col
            while run < len(row) and row[run]:
                run += 1
            # One rect per horizontal run, all in a single filled path, so
            # renderers show no hairline seams between adjacent modules.
            path.rect(x + col * module, top - module, (run - col) * module, module)
            col = run
    c.drawPath(path, stroke=0, fill=1)


def _draw_cut_marks(c: Canvas, x: float, y: float, w: float, h: float) -> None:
    """A thin dashed frame just inside the label, so a sheet on plain paper can be cut by hand (kept inside
    so an unused neighbouring slot stays clean for a second pass through the printer)."""
    inset = 0.4 * mm
    c.saveState()
    c.setLineWidth(0.3)
    c.setStrokeGray(0.6)
    c.setDash(2, 2)
    c.rect(x + inset, y + inset, w - 2 * inset, h - 2 * inset, stroke=1, fill=0)
    c.restoreState()


def _draw_label(c: Canvas, label: Label, x: float, y: float, w: float, h: float) -> None:
    """Draw one label; (x, y) is its lower-left corner in points."""
    _draw_cut_marks(c, x, y, w, h)
    side = min(h - 2 * _PAD, w / 2)
    _draw_qr(c, label.url, x + _PAD, y + (h - side) / 2, side)
    tx = x + _PAD + side + _PAD
    tw = x + w - 2 * _PAD - tx
    lines = [(label.code_line, 9, LATIN_BOLD), (label.category, 9, LATIN_FONT)]
    if label.registration_code and label.registration_code != label.code_line:
        lines.append((f"注册代码 {label.registration_code}", 6, LATIN_FONT))
    if label.address:
        lines.append((label.address, 6, LATIN_FONT))
    lines += [(text, size, LATIN_FONT) for text, size in _family_lines(label)]
    lines.append(("扫码查看 · Scan to view", 6.5, LATIN_FONT))
    step = (h - 2 * _PAD - 1.5 * mm) / max(len(lines), 4)
    top = y + h - _PAD - 0.8 * mm
    for i, (text, size, font) in enumerate(lines):
        _draw_text(c, text, tx, top - (i + 0.8) * step, tw, size, font)


def label_sheet_pdf(
    labels: Iterable[Label],
    *,
    label_w_mm: float = 70,
    label_h_mm: float = 37,
    columns: int = 3,
    rows: int = 8,
    margin_left_mm: float = 0,
    margin_top_mm: float = 0,
    start_offset: int = 0,
) -> bytes:
    """PDF of A4 label sheets, filled left-to-right, top-to-bottom.

    ``start_offset`` skips that many slots on the first page so a partly used
    sheet can be fed through the printer again; later pages start at slot 0.
    """
    labels: Sequence[Label] = list(labels)
    if not labels:
        raise ValueError("no labels to print")
    _check_layout(label_w_mm, label_h_mm, columns, rows, margin_left_mm,
                  margin_top_mm, start_offset)
    _register_fonts()
    per_page = columns * rows
    w, h = label_w_mm * mm, label_h_mm * mm
    _, page_h = A4
    buf = io.BytesIO()
    c = Canvas(buf, pagesize=A4)
    c.setTitle("Equipment QR labels")
    for i, label in enumerate(labels, start=start_offset):
        if i and i % per_page == 0:
            c.showPage()
        slot = i % per_page
        col, row = slot % columns, slot // columns
        x = margin_left_mm * mm + col * w
        y = page_h - margin_top_mm * mm - (row + 1) * h
        _draw_label(c, label, x, y, w, h)
    c.showPage()
    c.save()
    return buf.getvalue()
