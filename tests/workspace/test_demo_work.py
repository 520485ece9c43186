"""The demo city gives every demo role work on its home page (the issue: "the demo inspector has no units")."""
from sqlalchemy import select

from tests.workspace.test_crawl import SCAN_ELSEWHERE, _login, crawl


def test_every_demo_role_has_work(client, db):
    from equipment import demo
    from equipment.auth.models import User
    assert demo.seed(elevators=25, cylinders=3)
    users = {u.username: u.id for u in db.session.scalars(select(User))}
    for name in ("inspector", "owner", "crew1", "dispatcher", "regulator"):
        _login(client, users[name])
        html = client.get("/units").get_data(as_text=True)
        assert html.count("<tr data-unit=") > 0, name
    _login(client, users["inspector"])
    home = client.get("/").get_data(as_text=True)
    assert "到期提醒" in home and 'data-work="/obligations?kind=inspection&amp;status=overdue"' in home
    assert client.get("/units").get_data(as_text=True).count("<tr data-unit=") == 25  # every lift, by agency
    results = crawl(client, data_words={"inspector"})  # the demo's login name, shown as who is signed in
    assert all(status == 200 for status, _ in results.values()), results
    raw = {p: w for p, (_, w) in results.items() if w and not p.startswith(tuple(SCAN_ELSEWHERE))}
    assert not raw, raw
