"""Validators for the identifiers used on special equipment (DOMAIN.md section 2).

Pure functions, no Flask/DB imports, so they can be shared by forms, the API,
importers and the demo/bench generators.  Every validator returns the
normalised string (surrounding whitespace stripped, letters upper-cased where
the format is case-insensitive) or raises :class:`IdentifierError`.

Character classes are spelled out as ASCII ranges on purpose: ``\\d`` and
``str.isdigit`` accept other scripts' digits (e.g. Arabic-Indic), and
``str.upper`` / ``re.IGNORECASE`` fold some non-ASCII letters onto ASCII ones
(``'ſ'.upper() == 'S'``), which would let look-alike input through.  We
therefore check the raw characters first and upper-case afterwards.
"""

from __future__ import annotations

import datetime as _dt
import re

__all__ = [
    "IdentifierError",
    "CREDIT_CODE_ALPHABET",
    "CREDIT_CODE_WEIGHTS",
    "credit_code_check_char",
    "make_credit_code",
    "validate_credit_code",
    "validate_device_code",
    "validate_registration_code",
    "validate_use_certificate_no",
    "validate_rescue_code",
    "validate_cylinder_code",
    "variety_of",
]


class IdentifierError(ValueError):
    """Invalid identifier; ``str()`` is English, ``.zh`` is the zh-CN message."""

    def __init__(self, message: str, zh: str):
        super().__init__(message)
        self.zh = zh


# GB 32100-2015: 31 symbols (no I, O, S, V, Z); a symbol's value is its index.
CREDIT_CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
# Weights are 3**i mod 31; all non-zero mod the prime 31, so any single
# substitution or adjacent transposition changes the check value.
CREDIT_CODE_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_CREDIT_VALUE = {ch: i for i, ch in enumerate(CREDIT_CODE_ALPHABET)}

_CREDIT17_RE = re.compile(r"[0-9A-HJ-NPQRTUWXYa-hj-npqrtuwxy]{17}")
_DEVICE_RE = re.compile(r"([0-9]{4})([0-9A-Za-z]{5})([0-9]{4})([0-9]{5})")
_REGISTRATION_RE = re.compile(r"([0-9]{4})([0-9]{6})([0-9]{4})([0-9]{2})([0-9]{4})")
_RESCUE_RE = re.compile(r"[0-9]{5,6}")
_CYLINDER_RE = re.compile(r"[A-Za-z0-9-]{6,32}")
# CJK Unified Ideographs + Extension A; full-width parentheses are U+FF08/FF09.
_CJK = "\u3400-\u4dbf\u4e00-\u9fff"
_USE_CERT_RE = re.compile(rf"[{_CJK}][{_CJK}A-Za-z0-9()\uff08\uff09-]{{3,31}}")

_MIN_YEAR = 1950


def _clean(s: object, what: str, what_zh: str) -> str:
    """Common entry step: reject non-strings and strip surrounding whitespace."""
    if not isinstance(s, str):
        raise IdentifierError(f"{what} must be a string", f"{what_zh}必须是字符串")
    s = s.strip()
    if not s:
        raise IdentifierError(f"{what} is empty", f"{what_zh}不能为空")
    return s


def _check_year(year: int, what: str, what_zh: str) -> None:
    # Current year + 1 so that equipment made/registered around New Year
    # (or pre-registered) is not rejected by a server in an earlier time zone.
    max_year = _dt.date.today().year + 1
    if not _MIN_YEAR <= year <= max_year:
        raise IdentifierError(
            f"{what}: year {year} is outside {_MIN_YEAR}..{max_year}",
            f"{what_zh}中的年份 {year} 不在 {_MIN_YEAR}..{max_year} 范围内",
        )


# --- unified social credit code (统一社会信用代码) ---------------------------

def credit_code_check_char(first17: str) -> str:
    """Check character for the first 17 characters of a credit code."""
    if not isinstance(first17, str) or not _CREDIT17_RE.fullmatch(first17):
        raise IdentifierError(
            "credit code body must be 17 characters from 0-9 and "
            "A-H J-N P Q R T U W X Y",
            "统一社会信用代码前17位必须由数字和 A-H J-N P Q R T U W X Y 组成",
        )
    total = sum(_CREDIT_VALUE[ch] * w for ch, w in zip(first17.upper(), CREDIT_CODE_WEIGHTS))
    return CREDIT_CODE_ALPHABET[(31 - total % 31) % 31]


def make_credit_code(first17: str) -> str:
    """Append the check character (used by demo/bench data generators)."""
    body = _clean(first17, "credit code body", "统一社会信用代码前17位")
    return body.upper() + credit_code_check_char(body)


def validate_credit_code(s: object) -> str:
    """GB 32100-2015 unified social credit code, 18 chars incl. check char."""
    s = _clean(s, "credit code", "统一社会信用代码")
    if len(s) != 18:
        raise IdentifierError(
            f"credit code must be 18 characters, got {len(s)}",
            f"统一社会信用代码应为18位，实际为{len(s)}位",
        )
    expected = credit_code_check_char(s[:17])  # raises on bad characters
    if s[17].upper() != expected:
        raise IdentifierError(
            f"credit code check character is wrong (expected {expected})",
            f"统一社会信用代码校验位错误（应为 {expected}）",
        )
    return s.upper()


# --- equipment codes ----------------------------------------------------------

def validate_device_code(s: object) -> str:
    """设备代码: variety 4 + maker 5 (area 2 + licence 3) + year 4 + serial 5."""
    s = _clean(s, "device code", "设备代码")
    m = _DEVICE_RE.fullmatch(s)
    if not m:
        raise IdentifierError(
            "device code must be 18 characters: 4-digit variety, 5-character "
            "maker code, 4-digit year, 5-digit serial",
            "设备代码应为18位：4位品种代码+5位制造单位代码+4位年份+5位流水号",
        )
    _check_year(int(m.group(3)), "device code", "设备代码")
    return s.upper()


def validate_registration_code(s: object) -> str:
    """注册代码: 20 digits, variety 4 + area 6 + YYYYMM + serial 4."""
    s = _clean(s, "registration code", "注册代码")
    m = _REGISTRATION_RE.fullmatch(s)
    if not m:
        raise IdentifierError(
            "registration code must be 20 digits: 4 variety, 6 area, "
            "6 year-month (YYYYMM), 4 serial",
            "注册代码应为20位数字：4位品种+6位区域+6位年月(YYYYMM)+4位流水号",
        )
    _check_year(int(m.group(3)), "registration code", "注册代码")
    month = int(m.group(4))
    if not 1 <= month <= 12:
        raise IdentifierError(
            f"registration code: month {month:02d} is not 01..12",
            f"注册代码中的月份 {month:02d} 无效（应为01..12）",
        )
    return s


def validate_use_certificate_no(s: object) -> str:
    """使用登记证编号, validated loosely: formats vary between provinces/years."""
    s = _clean(s, "use certificate number", "使用登记证编号")
    if not _USE_CERT_RE.fullmatch(s):
        raise IdentifierError(
            "use certificate number must be 4-32 characters, start with a "
            "Chinese character, and contain only Chinese characters, letters, "
            "digits, parentheses and '-'",
            "使用登记证编号应为4至32个字符，以汉字开头，只能包含汉字、字母、数字、括号和“-”",
        )
    return s.upper()


def validate_rescue_code(s: object) -> str:
    """96333 emergency rescue code shown on the car plate: 5 or 6 digits."""
    s = _clean(s, "rescue code", "应急救援识别码")
    if not _RESCUE_RE.fullmatch(s):
        raise IdentifierError(
            "rescue code must be 5 or 6 digits",
            "应急救援识别码应为5位或6位数字",
        )
    return s


def validate_cylinder_code(s: object) -> str:
    """Cylinder identity code ("一瓶一码"): 6-32 of A-Z, 0-9 and '-'."""
    s = _clean(s, "cylinder code", "气瓶编码")
    if not _CYLINDER_RE.fullmatch(s):
        raise IdentifierError(
            "cylinder code must be 6-32 characters of letters, digits and '-'",
            "气瓶编码应为6至32位字母、数字或“-”",
        )
    return s.upper()


def variety_of(code: object) -> str:
    """Equipment variety (first 4 digits) of a device or registration code."""
    s = _clean(code, "equipment code", "设备代码/注册代码")
    if len(s) == 20:
        return validate_registration_code(s)[:4]
    if len(s) == 18:
        return validate_device_code(s)[:4]
    raise IdentifierError(
        "expected an 18-character device code or a 20-digit registration code",
        "应为18位设备代码或20位注册代码",
    )
