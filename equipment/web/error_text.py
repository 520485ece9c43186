"""Errors in the request's language, at the one place they become answers (core.errors calls `localise`).

Service code keeps raising with English texts ("No such incident") or "English / 中文" pairs; the catalogue
(web/error_texts.py, merged into i18n.TEXT) holds a key per text. A pair is split and the part in the
request's language kept; an English text is looked up in the catalogue (variable parts captured by the
entry's `{name}` placeholders). zh-CN unless the request asks for English (?lang=en, the lang cookie, or, on
the API, an Accept-Language that prefers en to zh)."""
from __future__ import annotations

import re
from functools import lru_cache

from flask import request
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

from equipment.web import error_texts, i18n

_CJK = re.compile(r"[\u3400-\u9fff\uff00-\uffef\u3000-\u303f]")
_PLACEHOLDER = re.compile(r"\{(\w+)(?:@([\w.]+))?\}")


def error_lang() -> str:
    """?lang / the lang cookie; else the API negotiates by Accept-Language, while the pages and their own
    scripts' requests stay in the page's language (zh-CN unless switched), whatever the browser's locale."""
    wanted = request.args.get("lang") or request.cookies.get("lang")
    if wanted:
        return "en" if wanted.startswith("en") else "zh"
    if request.path.startswith("/api/"):
        return header_lang(request.headers.get("Accept-Language"))
    return "zh"


def header_lang(accept_language: str | None) -> str:
    """zh unless the Accept-Language header prefers English to Chinese."""
    best = parse_accept_header(accept_language, LanguageAccept).best_match(["zh", "en"])
    return "en" if best == "en" else "zh"


def _pattern(template: str):
    regex, pos = [], 0
    for match in _PLACEHOLDER.finditer(template):
        regex += [re.escape(template[pos:match.start()]), f"(?P<{match[1]}>.+?)"]
        pos = match.end()
    regex.append(re.escape(template[pos:]))
    return re.compile("".join(regex), re.S)


@lru_cache(maxsize=1)
def _index():
    """(exact text -> entry, [(regex, entry)]): either form of an entry finds it (a few raises are Chinese)."""
    exact, patterns = {}, []
    for zh, en in {**error_texts.MESSAGES, **error_texts.DETAILS}.values():
        for form in (en, zh):
            if "{" in form:
                patterns.append((_pattern(form), (zh, en)))
            else:
                exact.setdefault(form, (zh, en))
    return exact, patterns


def _fill(template: str, values: dict) -> str:
    return _PLACEHOLDER.sub(lambda m: i18n.tr(m[2], values[m[1]]) if m[2] else values[m[1]], template)


def _lookup(text: str, lang: str) -> str | None:
    exact, patterns = _index()
    entry = exact.get(text)
    if entry:
        return entry[0] if lang == "zh" else entry[1]
    for regex, (zh, en) in patterns:
        match = regex.fullmatch(text)
        if match:
            return _fill(zh if lang == "zh" else en, match.groupdict())
    return None


def text_in(text: str, lang: str) -> str | None:
    """One error text in `lang`; None when the catalogue has no entry (the caller falls back)."""
    first, _, second = text.partition(" / ")
    if second and (_CJK.search(first) or _CJK.search(second)):
        zh, en = (second, first) if _CJK.search(second) else (first, second)
        return zh if lang == "zh" else (_lookup(en, "en") or en)
    found = _lookup(text, lang)
    if found is None and lang == "en" and not _CJK.search(text):
        return text
    return found


def _details(value, lang: str):
    if isinstance(value, str):
        return text_in(value, lang) or value
    if isinstance(value, dict):
        return {key: _details(item, lang) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_details(item, lang) for item in value]
    return value


def localise(status: int, message: str, details, *, lang: str | None = None) -> tuple[str, dict]:
    """The message and field texts in the request's language; a text the catalogue lacks falls back to
    the status's generic words (404 未找到...) so a Chinese page never shows English only."""
    lang = lang or error_lang()
    text = text_in(message or "", lang)
    if text is None:
        zh, en = i18n.TEXT.get(f"error.{status}", i18n.TEXT["error.400"])
        text = zh if lang == "zh" else (message or en)
    return text, _details(details or {}, lang)


def init_app(app) -> None:
    """core.errors renders every error through this (core cannot import web)."""
    app.extensions["error_text"] = localise
