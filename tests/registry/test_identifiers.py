import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from equipment.registry.identifiers import (
    CREDIT_CODE_ALPHABET,
    IdentifierError,
    credit_code_check_char,
    make_credit_code,
    validate_credit_code,
    validate_cylinder_code,
    validate_device_code,
    validate_registration_code,
    validate_rescue_code,
    validate_use_certificate_no,
    variety_of,
)

THIS_YEAR = dt.date.today().year

# Published codes; their check characters were verified by hand computation
# with the GB 32100-2015 weights, independent of the module under test.
PUBLISHED_CREDIT_CODES = ["91350100M000100Y43", "91440300708461136T"]


def _reference_check(first17):
    """Independent re-implementation used as an oracle."""
    weights = [pow(3, i, 31) for i in range(17)]  # == the GB table
    total = sum(CREDIT_CODE_ALPHABET.index(c) * w for c, w in zip(first17, weights))
    return CREDIT_CODE_ALPHABET[-total % 31]


def _raises_with_zh(fn, value):
    with pytest.raises(IdentifierError) as exc:
        fn(value)
    assert str(exc.value) and exc.value.zh
    assert isinstance(exc.value, ValueError)
    return exc.value


# --- credit code ----------------------------------------------------------------

@pytest.mark.parametrize("code", PUBLISHED_CREDIT_CODES)
def test_published_credit_codes_validate(code):
    assert validate_credit_code(code) == code
    assert credit_code_check_char(code[:17]) == code[17]


def test_credit_code_normalises_case_and_whitespace():
    assert validate_credit_code("  91350100m000100y43\n") == "91350100M000100Y43"


def test_make_credit_code_roundtrip():
    code = make_credit_code("91110108MA01ABCDE")
    assert len(code) == 18
    assert validate_credit_code(code) == code
    assert code[17] == _reference_check(code[:17])


def test_check_value_31_maps_to_zero():
    # All-zero body: sum 0 -> 31 - 0 = 31 -> '0'.
    assert credit_code_check_char("0" * 17) == "0"
    assert validate_credit_code("0" * 18) == "0" * 18


@pytest.mark.parametrize("bad", [
    "91350100M000100Y44",   # wrong check char
    "91350100M000100Y4",    # 17 chars
    "91350100M000100Y433",  # 19 chars
    "91350100I000100Y43",   # I is not in the alphabet
    "91350100O000100Y43",   # O is not in the alphabet
    "91350100M000100YZ3",   # Z is not in the alphabet
    "9135 0100M000100Y43",  # inner whitespace
    "",
    "   ",
])
def test_bad_credit_codes(bad):
    _raises_with_zh(validate_credit_code, bad)


def test_wrong_check_char_message_names_expected():
    err = _raises_with_zh(validate_credit_code, "91350100M000100Y44")
    assert "3" in str(err) and "校验位" in err.zh


def test_non_string_rejected():
    for fn in (validate_credit_code, validate_device_code, validate_rescue_code):
        _raises_with_zh(fn, 12345)
        _raises_with_zh(fn, None)


body17 = st.text(alphabet=CREDIT_CODE_ALPHABET, min_size=17, max_size=17)


@given(body17)
def test_check_char_matches_reference(body):
    assert credit_code_check_char(body) == _reference_check(body)


@given(body17, st.integers(0, 17), st.sampled_from(CREDIT_CODE_ALPHABET))
def test_any_single_substitution_is_detected(body, pos, ch):
    code = make_credit_code(body)
    if code[pos] == ch:
        return
    with pytest.raises(IdentifierError):
        validate_credit_code(code[:pos] + ch + code[pos + 1:])


@given(body17, st.integers(0, 16))
def test_any_adjacent_transposition_is_detected(body, pos):
    code = make_credit_code(body)
    if code[pos] == code[pos + 1]:
        return
    swapped = code[:pos] + code[pos + 1] + code[pos] + code[pos + 2:]
    with pytest.raises(IdentifierError):
        validate_credit_code(swapped)


# --- device / registration codes --------------------------------------------------

def test_device_code_valid():
    assert validate_device_code(" 3110a1b2c201800123 ") == "3110A1B2C201800123"
    assert validate_device_code(f"31103512A{THIS_YEAR + 1}00001")


@pytest.mark.parametrize("bad", [
    "3110A1B2C20180012",     # 17
    "3110A1B2C2018001234",   # 19
    "X110A1B2C201800123",    # variety not digits
    "3110A1B2C2O1800123",    # letter O in year
    "3110A1B2C201800I23",    # letter in serial
    "3110A1B-C201800123",    # punctuation in maker
    "3110A1B2C194900123",    # year too early
    f"3110A1B2C{THIS_YEAR + 2}00123",  # year too late
    "3110A1B2C２０１８00123",  # full-width digits
])
def test_bad_device_codes(bad):
    _raises_with_zh(validate_device_code, bad)


def test_registration_code_valid():
    assert validate_registration_code("31103506002016053337") == "31103506002016053337"
    assert validate_registration_code(" 31103506002016123337\t") == "31103506002016123337"


@pytest.mark.parametrize("bad", [
    "31103506002016003337",   # month 00
    "31103506002016133337",   # month 13
    "31103506001949053337",   # year 1949
    f"3110350600{THIS_YEAR + 2}053337",
    "3110350600201605333",    # 19 digits
    "311035060020160533377",  # 21 digits
    "3110350600201605333A",   # letter
    "٣1103506002016053337",   # Arabic-Indic digit
])
def test_bad_registration_codes(bad):
    _raises_with_zh(validate_registration_code, bad)


def test_bad_month_message():
    err = _raises_with_zh(validate_registration_code, "31103506002016133337")
    assert "month" in str(err) and "月份" in err.zh


def test_variety_of():
    assert variety_of("31103506002016053337") == "3110"
    assert variety_of("3120A1B2C201800123") == "3120"
    _raises_with_zh(variety_of, "3110")
    _raises_with_zh(variety_of, "31103506002016133337")  # bad month


# --- use certificate, rescue, cylinder ------------------------------------------

@pytest.mark.parametrize("good, norm", [
    ("梯11闽E3622(16)", "梯11闽E3622(16)"),
    ("梯11闽e3622（16）", "梯11闽E3622（16）"),
    ("容17京A-00123", "容17京A-00123"),
    (" 瓶3闽A ", "瓶3闽A"),
])
def test_use_certificate_valid(good, norm):
    assert validate_use_certificate_no(good) == norm


@pytest.mark.parametrize("bad", [
    "11闽E3622(16)",      # must start with a CJK char
    "梯11",               # 3 chars
    "梯" + "1" * 32,      # 33 chars
    "梯11闽E 3622",       # inner space
    "梯11闽E3622/16",     # slash
    "E梯11闽",
])
def test_use_certificate_invalid(bad):
    _raises_with_zh(validate_use_certificate_no, bad)


def test_rescue_code():
    assert validate_rescue_code(" 12345 ") == "12345"
    assert validate_rescue_code("012345") == "012345"  # leading zero kept
    for bad in ("1234", "1234567", "12a45", "１２３４５"):
        _raises_with_zh(validate_rescue_code, bad)


def test_cylinder_code():
    assert validate_cylinder_code(" ab-12cd ") == "AB-12CD"
    assert validate_cylinder_code("A" * 32) == "A" * 32
    for bad in ("ABCDE", "A" * 33, "AB_123", "AB 123", "ABſ123"):
        _raises_with_zh(validate_cylinder_code, bad)


# --- property: never crash, normalisation is idempotent --------------------------

VALIDATORS = [
    validate_credit_code,
    validate_device_code,
    validate_registration_code,
    validate_use_certificate_no,
    validate_rescue_code,
    validate_cylinder_code,
    variety_of,
]

# Random text rarely hits a valid shape, so mix in near-valid candidates.
candidates = st.one_of(
    st.text(),
    st.text(alphabet="0123456789", min_size=4, max_size=21),
    st.from_regex(r"\s?[0-9]{4}[0-9A-Za-z]{5}(19|20)[0-9]{2}[0-9]{5}\s?", fullmatch=True),
    st.from_regex(r"[0-9]{4}[0-9]{6}(19|20)[0-9]{2}[01][0-9][0-9]{4}", fullmatch=True),
    st.from_regex(r"[梯容瓶][0-9A-Za-z()（）-]{3,31}", fullmatch=True),
    st.from_regex(r"[0-9A-Za-z-]{5,33}", fullmatch=True),
    body17.map(make_credit_code),
)


@settings(max_examples=300)
@given(st.sampled_from(VALIDATORS), candidates)
def test_accept_and_roundtrip_or_identifier_error(validator, s):
    try:
        out = validator(s)
    except IdentifierError as e:
        assert str(e) and e.zh
        return
    if validator is variety_of:
        assert out == s.strip()[:4] and out.isascii() and out.isdigit()
        return
    assert out == s.strip().upper()
    assert validator(out) == out  # normalisation is idempotent
