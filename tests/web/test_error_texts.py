"""Error messages come from the one message catalogue: Chinese by default, English on request, same code/shape."""
from __future__ import annotations

import ast
import pathlib
import re

import pytest
from flask import Flask

from equipment.web import error_text

ROOT = pathlib.Path(__file__).resolve().parents[2] / "equipment"
ERRORS = {"Invalid", "NotFound", "Forbidden", "InvalidState", "Conflict", "BadRequest", "Gone", "RateLimited",
          "Unauthorized"}
CJK = re.compile(r"[\u4e00-\u9fff]")
STATUS_VALUES = {"cleared", "revoked"}  # details that name a stored status value, not words


def _literal(node) -> str | None:
    """A raise's text as written, each f-string part filled with a sample value."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else "x1" for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _literal(node.left), _literal(node.right)
        return left + right if left is not None and right is not None else None
    return None


def _raised_texts():
    """(where, text, is_detail) for every literal message and detail text raised in equipment/."""
    for path in sorted(ROOT.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and (node.func.id in ERRORS or node.func.id == "get_or_404")):
                continue
            where = f"{path.relative_to(ROOT.parent)}:{node.lineno}"
            at = 2 if node.func.id == "get_or_404" else 0  # get_or_404(model, ident, message)
            message = _literal(node.args[at]) if len(node.args) > at else None
            if message is not None:
                yield where, message, False
            for kw in node.keywords:
                if kw.arg == "details" and isinstance(kw.value, ast.Dict):
                    for value in kw.value.values:
                        for item in getattr(value, "elts", []):
                            text = _literal(item)
                            if text is not None and text not in STATUS_VALUES:
                                yield where, text, True


def test_every_raised_text_has_chinese_and_english():
    texts = list(_raised_texts())
    assert len(texts) > 150  # the scan sees the raises (a broken walk would pass vacuously)
    app = Flask(__name__)
    missing = []
    with app.test_request_context("/"):
        for where, text, _ in texts:
            zh, en = error_text.text_in(text, "zh"), error_text.text_in(text, "en")
            if not zh or not CJK.search(zh) or not en or CJK.search(en):
                missing.append(f"{where}: {text!r} -> zh {zh!r} / en {en!r}")
    assert not missing, "texts without a catalogue entry (web/error_texts.py):\n" + "\n".join(missing)


def test_variable_parts_and_field_texts():
    app = Flask(__name__)
    with app.test_request_context("/"):
        assert error_text.text_in("This unit already has 3 active terminals (at most 3); revoke one first",
                                  "zh") == "此设备已有 3 个启用的终端（最多 3 个），请先注销一个"
        assert error_text.text_in("Already offered to 张三; confirm to reassign / 已派给张三，确认后改派",
                                  "en") == "Already offered to 张三; confirm to reassign"
        message, details = error_text.localise(422, "Invalid input", {
            "name": ["Missing data for required field."], "n": {"0": ["Must be greater than or equal to 1."]}},
            lang="zh")
        assert message == "输入有误，未保存"
        assert details == {"name": ["必填"], "n": {"0": ["须大于等于 1"]}}
        # a text no entry covers: the status's generic Chinese words, the English as raised
        assert error_text.localise(404, "Something new", {}, lang="zh")[0] == "未找到"
        assert error_text.localise(404, "Something new", {}, lang="en")[0] == "Something new"


@pytest.mark.parametrize("headers, query, expected", [
    ({}, "", "zh"), ({"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"}, "", "zh"),
    ({"Accept-Language": "en-US,en;q=0.9"}, "", "en"), ({}, "?lang=en", "en"),
    ({"Accept-Language": "en-US"}, "?lang=zh", "zh"),
])
def test_the_api_answers_in_the_requests_language(client, f, headers, query, expected):
    admin = f.token(client, f.user("admin"))
    missing = client.get(f"/api/v1/incidents/987654{query}", headers={**admin, **headers})
    bad = client.post(f"/api/v1/users{query}", headers={**admin, **headers}, json={"username": "x" * 3})
    assert missing.status_code == 404 and bad.status_code == 422
    assert missing.get_json()["error"]["code"] == "not_found" and bad.get_json()["error"]["code"] == "validation_error"
    if expected == "zh":
        assert missing.get_json()["error"]["message"] == "未找到该救援事件"
        assert bad.get_json()["error"]["message"] == "输入有误，未保存"
        assert bad.get_json()["error"]["details"]["password"] == ["必填"]
    else:
        assert missing.get_json()["error"]["message"] == "No such incident"
        assert bad.get_json()["error"]["message"] == "Invalid input"
        assert bad.get_json()["error"]["details"]["password"] == ["Missing data for required field."]


def test_pages_and_the_public_fast_path_in_chinese(client, f):
    f.session(client, f.user("admin").id)
    # a page follows the page's language (zh-CN unless switched), not the browser's locale
    page = client.get("/units/987654", headers={"Accept": "text/html", "Accept-Language": "en-US"})
    assert page.status_code == 404 and "未找到" in page.get_data(as_text=True)
    assert "No such" not in page.get_data(as_text=True)
    script = client.get(f"/units/{f.elevator().id}?tab=nope",
                        headers={"Accept": "application/json", "Accept-Language": "en"})
    assert script.status_code == 422 and script.get_json()["error"]["message"] == "查询参数有误"
    tag = client.get("/api/v1/public/NOSUCHTAG0000000")
    assert tag.status_code == 404 and tag.get_json()["error"]["message"] == "未找到该标签"
    english = client.get("/api/v1/public/NOSUCHTAG0000000", headers={"Accept-Language": "en"})
    assert english.get_json()["error"]["message"] == "Unknown tag"
    # last: ?lang=en leaves the lang cookie on this client
    assert client.get("/units/987654?lang=en", headers={"Accept": "application/json"}).get_json()[
        "error"]["message"] == "No such equipment"
