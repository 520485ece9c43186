"""Every link on every page answers 200 for every role, and no rendered zh-CN page shows a raw key or an
English-only label (Flask test client over the whole site as each role)."""
from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest

from tests.workspace.world import ROLES, build

SKIP_PREFIXES = ("/static/", "/logout", "/api/v1/docs-assets/")
MAX_PAGES = 120
SNAKE = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b")
ENGLISH = re.compile(r"\b[A-Za-z]{3,}\b")
# Words that are right in a Chinese page: acronyms, product names, the language switch, units of measure.
ALLOWED_WORDS = {"API", "SHA", "CSV", "Excel", "English", "PDF", "MQTT", "LPG", "ZD", "FZTJ", "LT"}
# Pages whose words are translated under other parts of the issue; they are still crawled (must answer 200)
# and their raw words are printed, but they do not fail this scan. Remove an entry when its page is done.
SCAN_ELSEWHERE = {
    "/api/v1/docs": "Swagger UI: the API's own reference, English by design",
}


class _Page(HTMLParser):
    """Visible text (minus code/script/style) and the links a user can follow."""

    def __init__(self):
        super().__init__()
        self.links, self.text, self._skip = [], [], 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("script", "style", "code"):
            self._skip += 1
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        for key in ("placeholder", "aria-label", "title", "alt"):
            if attrs.get(key):
                self.text.append(attrs[key])
        if tag == "input" and attrs.get("type") in ("submit", "button") and attrs.get("value"):
            self.text.append(attrs["value"])

    def handle_endtag(self, tag):
        if tag in ("script", "style", "code") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip and data.strip():
            self.text.append(data.strip())


def _login(client, user_id: int) -> None:
    from equipment.extensions import db
    from tests.factories import Factory
    Factory(db).session(client, user_id)


def _follow(href: str, base: str) -> str | None:
    url = urlsplit(urljoin("http://localhost" + base, href))
    if url.netloc != "localhost" or url.path.startswith(SKIP_PREFIXES) or "lang=" in url.query:
        return None
    return url.path + (f"?{url.query}" if url.query else "")


def untranslated(texts: list[str], data_words=frozenset()) -> list[str]:
    """`data_words`: words that are data, not labels (the signed-in user's login name)."""
    out = []
    for text in texts:
        out += [w for w in SNAKE.findall(text) if w not in data_words]
        out += [w for w in ENGLISH.findall(text) if w not in ALLOWED_WORDS and w not in data_words]
    return out


def crawl(client, start: str = "/", data_words=frozenset()) -> dict[str, tuple[int, list[str]]]:
    seen, queue, results = {start}, [start], {}
    while queue and len(results) < MAX_PAGES:
        path = queue.pop(0)
        resp = client.get(path, headers={"Accept": "text/html"})
        bad = []
        if resp.mimetype == "text/html":
            page = _Page()
            page.feed(resp.get_data(as_text=True))
            bad = untranslated(page.text, data_words)
            for href in page.links:
                target = _follow(href, path)
                if target and target not in seen:
                    seen.add(target)
                    queue.append(target)
        results[path] = (resp.status_code, bad)
    return results


@pytest.fixture()
def world(f):
    return build(f)


@pytest.mark.parametrize("role", ROLES)
def test_every_link_answers_200_and_speaks_chinese(client, world, role):
    _login(client, world["users"][role].id)
    results = crawl(client)
    broken = {p: s for p, (s, _) in results.items() if s != 200}
    assert not broken, broken
    raw = {p: words for p, (_, words) in results.items() if words}
    elsewhere = {p: w for p, w in raw.items() if p.startswith(tuple(SCAN_ELSEWHERE))}
    if elsewhere:
        print("untranslated on pages of other parts:", elsewhere)
    assert not {p: w for p, w in raw.items() if p not in elsewhere}, raw
    assert f"/units/{world['unit']}" in results, sorted(results)  # the dossier is reachable from home
    assert any(p.startswith(f"/units/{world['unit']}?tab=") for p in results)
    assert len(results) >= 10, sorted(results)


def test_anonymous_home_links_answer(client, world):
    results = crawl(client)
    assert all(s == 200 for s, _ in results.values()), results
    assert not any(w for _, w in results.values())


def test_the_scan_finds_raw_keys():
    """The scan itself must be able to fail: the issue's examples are all reported."""
    found = set(untranslated(["状态 machine_room", "Unknown unit", "Gas", "rated_load_kg", "no_crew · system"]))
    assert {"machine_room", "Unknown", "unit", "Gas", "rated_load_kg", "no_crew", "system"} <= found
    assert untranslated(["额定载重量(kg)", "SHA-256", "FZTJ-2025-00001", "English", "crew12"]) == []
