import io
import re
import xml.etree.ElementTree as ET

import pypdfium2
import pytest
import zxingcpp
from PIL import Image, ImageDraw

from equipment.registry.labels import Label, label_sheet_pdf
from equipment.registry.qr import (
    is_well_formed_tag,
    new_tag,
    qr_png,
    qr_svg,
    tag_url,
)

BASE = "https://equipment.example.gov.cn/"
DPI = 200
MM_PX = DPI / 25.4


def _decode(img):
    return [r.text for r in zxingcpp.read_barcodes(img, formats=zxingcpp.BarcodeFormat.QRCode)]


# --- tags -----------------------------------------------------------------------

def test_new_tag_shape_and_uniqueness():
    tags = {new_tag() for _ in range(2000)}
    assert len(tags) == 2000
    assert all(len(t) == 22 and is_well_formed_tag(t) for t in tags)


@pytest.mark.parametrize("bad", [
    "", "short", "A" * 21, "A" * 23, "A" * 21 + "B",  # last char must be A/Q/g/w
    "AAAAAAAAAA/AAAAAAAAAAA", "AAAAAAAAAA AAAAAAAAAAA", "AAAAAAAAAA=AAAAAAAAAAA",
    "A" * 21 + "A\n", None, 123,
])
def test_malformed_tags(bad):
    assert not is_well_formed_tag(bad)


def test_tag_url():
    tag = new_tag()
    assert tag_url("https://x.cn", tag) == f"https://x.cn/q/{tag}"
    assert tag_url("https://x.cn/app//", tag) == f"https://x.cn/app/q/{tag}"
    with pytest.raises(ValueError):
        tag_url("https://x.cn", "../../etc/passwd")


# --- PNG / SVG round trips ---------------------------------------------------------

def test_png_roundtrip_real_decode():
    url = tag_url(BASE, new_tag())
    png = qr_png(url)
    assert png.startswith(b"\x89PNG")
    img = Image.open(io.BytesIO(png))
    assert _decode(img) == [url]


def test_png_box_size_and_border():
    url = tag_url(BASE, new_tag())
    small = Image.open(io.BytesIO(qr_png(url, box_size=4, border=4)))
    big = Image.open(io.BytesIO(qr_png(url, box_size=8, border=4)))
    assert big.size[0] == 2 * small.size[0]
    assert _decode(small.convert("L")) == [url]


def _rasterise_svg(svg: bytes, scale: int = 8) -> Image.Image:
    """Tiny rasteriser for qrcode's path output ("M x,y H x1 V y1 H x0 z" squares)."""
    root = ET.fromstring(svg)
    ns = {"svg": "http://www.w3.org/2000/svg"}
    paths = root.findall(".//svg:path", ns) or root.findall(".//path")
    assert len(paths) == 1
    d = paths[0].get("d")
    _, _, vw, vh = (float(v) for v in root.get("viewBox").split())
    img = Image.new("L", (int(vw * scale), int(vh * scale)), 255)
    draw = ImageDraw.Draw(img)
    num = r"(-?[\d.]+)"
    squares = re.findall(rf"M{num},{num}H{num}V{num}H{num}z", d)
    assert squares, d[:200]
    for x0, y0, x1, y1, _ in squares:
        x0, y0, x1, y1 = (round(float(v) * scale) for v in (x0, y0, x1, y1))
        draw.rectangle([x0, y0, x1 - 1, y1 - 1], fill=0)
    return img


def test_svg_roundtrip_real_decode():
    url = tag_url(BASE, new_tag())
    svg = qr_svg(url)
    assert isinstance(svg, bytes)
    assert _decode(_rasterise_svg(svg)) == [url]


# --- label sheets ---------------------------------------------------------------

def _labels(n):
    return [
        Label(
            url=tag_url(BASE, new_tag()),
            code_line=f"3110350600201605{i:04d}",
            category="曳引驱动乘客电梯" if i % 2 else "工业气瓶",
        )
        for i in range(n)
    ]


def _render(pdf: bytes):
    doc = pypdfium2.PdfDocument(pdf)
    return [page.render(scale=DPI / 72).to_pil().convert("L") for page in doc]


def _slot_box(slot, columns=3, w_mm=70, h_mm=37):
    col, row = slot % columns, slot // columns
    # Shrink by 1 px so anti-aliased edges of a neighbour never count.
    return (
        round(col * w_mm * MM_PX) + 1,
        round(row * h_mm * MM_PX) + 1,
        round((col + 1) * w_mm * MM_PX) - 1,
        round((row + 1) * h_mm * MM_PX) - 1,
    )


def _is_blank(img):
    return img.getextrema()[0] >= 250


@pytest.fixture(scope="module")
def sheet():
    labels = _labels(30)
    pages = _render(label_sheet_pdf(labels, start_offset=5))
    return labels, pages


def test_sheet_decodes_all_labels(sheet):
    labels, pages = sheet
    assert len(pages) == 2
    per_page = [_decode(p) for p in pages]
    assert [len(d) for d in per_page] == [19, 11]
    decoded = per_page[0] + per_page[1]
    assert len(set(decoded)) == 30
    assert set(decoded) == {lab.url for lab in labels}


def test_sheet_slot_order_and_blank_slots(sheet):
    labels, pages = sheet
    page1, page2 = pages
    for slot in range(24):
        crop1 = page1.crop(_slot_box(slot))
        if slot < 5:
            assert _is_blank(crop1), f"slot {slot} of page 1 should be unused"
        else:
            assert _decode(crop1) == [labels[slot - 5].url]
        crop2 = page2.crop(_slot_box(slot))
        if slot < 11:
            assert _decode(crop2) == [labels[19 + slot].url]
        else:
            assert _is_blank(crop2), f"slot {slot} of page 2 should be unused"


def test_sheet_without_offset_and_custom_grid():
    labels = _labels(4)
    pages = _render(label_sheet_pdf(labels, label_w_mm=100, label_h_mm=50,
                                    columns=2, rows=5, margin_left_mm=5,
                                    margin_top_mm=10))
    assert len(pages) == 1
    assert set(_decode(pages[0])) == {lab.url for lab in labels}


def test_exactly_one_full_page():
    pages = _render(label_sheet_pdf(_labels(24)))
    assert len(pages) == 1


@pytest.mark.parametrize("kwargs, fragment", [
    ({"columns": 4}, "width"),
    ({"label_w_mm": 71}, "width"),
    ({"margin_left_mm": 1}, "width"),
    ({"rows": 9}, "height"),
    ({"margin_top_mm": 2}, "height"),
    ({"start_offset": 24}, "start_offset"),
    ({"start_offset": -1}, "start_offset"),
    ({"columns": 0}, "columns"),
])
def test_layout_validation(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        label_sheet_pdf(_labels(1), **kwargs)


def test_empty_label_list_rejected():
    with pytest.raises(ValueError, match="no labels"):
        label_sheet_pdf([])


def _pdf_text(pdf: bytes) -> str:
    doc = pypdfium2.PdfDocument(pdf)
    return "".join(page.get_textpage().get_text_range() for page in doc)


def test_labels_speak_of_their_family():
    url = tag_url(BASE, new_tag())
    lift = _pdf_text(label_sheet_pdf([Label(url=url, code_line="救援码 35012", category="电梯", family="elevator",
                                            registration_code="31103506002016053337", address="福州市鼓楼区测试路1号")]))
    assert "电梯应急救援 96333" in lift and "31103506002016053337" in lift and "福州市鼓楼区测试路1号" in lift
    assert "扫码查看" in lift
    for family in ("gas_cylinder", "pressure_vessel"):
        text = _pdf_text(label_sheet_pdf([Label(url=url, code_line="CYL00000001", category="气瓶", family=family)]))
        assert "电梯" not in text and "96333" not in text and "扫码查看" in text
    page = _render(label_sheet_pdf([Label(url=url, code_line="CYL00000001", category="气瓶", family="gas_cylinder")]))[0]
    assert _decode(page.crop(_slot_box(0))) == [url]
    assert _is_blank(page.crop(_slot_box(1)))  # cut marks stay inside their own label
