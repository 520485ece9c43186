"""Webhooks chosen by users cannot reach into the platform's network; https deployments get HSTS;
request bodies are bounded."""
import pytest

from equipment.core.actor import SYSTEM
from equipment.core.errors import Invalid


@pytest.fixture()
def strict(app, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE", False)  # the production default


@pytest.mark.parametrize("address", ["http://127.0.0.1:8080/hook", "http://localhost/hook", "http://10.1.2.3/x",
                                     "http://192.168.0.10/x", "http://169.254.169.254/latest/meta-data/",
                                     "http://[::1]/x", "http://100.64.0.1/x", "http://0.0.0.0/x",
                                     "ftp://example.com/x", "http:///nohost", "http://no-such-host.invalid/x"])
def test_webhook_contact_to_internal_or_bad_address_is_refused(app, db, f, strict, address):
    from equipment.inspections import reminders
    from equipment.inspections.models import ReminderContact
    org = f.org("inspection_agency")
    with pytest.raises(Invalid) as err:
        reminders.add_contact(actor=SYSTEM, org_id=org.id, channel="webhook", address=address)
    assert "address" in err.value.details
    assert db.session.query(ReminderContact).filter_by(org_id=org.id).count() == 0


def test_public_webhook_address_is_accepted(app, db, f, strict):
    from equipment.inspections import reminders
    org = f.org("inspection_agency")
    contact = reminders.add_contact(actor=SYSTEM, org_id=org.id, channel="webhook", address="http://93.184.215.14/hook")
    assert contact.id


def test_delivery_checks_again_and_does_not_follow_redirects(app, db, strict, monkeypatch):
    """A name that resolved outside when saved may resolve inside later (DNS rebinding): checked per send."""
    from equipment.core import outbound
    from equipment.inspections import reminders
    posted = []
    monkeypatch.setattr(reminders.requests, "post", lambda *a, **k: posted.append((a, k)))
    with pytest.raises(outbound.UnsafeDestination):
        reminders._send_webhook("http://127.0.0.1:9/hook", {"payload": {}})
    assert posted == []

    class Redirect:
        status_code, is_redirect = 302, True

        def raise_for_status(self):
            pass
    monkeypatch.setattr(reminders.requests, "post", lambda *a, **k: posted.append(k) or Redirect())
    with pytest.raises(outbound.UnsafeDestination):
        reminders._send_webhook("http://93.184.215.14/hook", {"payload": {}})
    assert posted == [{"json": {}, "timeout": 10, "allow_redirects": False}]


def test_https_deployment_sends_hsts_on_pages_and_public_lookups(app, client, f, monkeypatch):
    from equipment.registry.tags import active_tag
    tag = active_tag(f.elevator().id).tag
    for secure in (False, True):
        monkeypatch.setitem(app.config, "SESSION_COOKIE_SECURE", secure)
        for path in ("/login", f"/api/v1/public/{tag}", f"/q/{tag}"):
            resp = client.get(path)
            assert resp.status_code == 200, path
            assert ("Strict-Transport-Security" in resp.headers) is secure, (path, secure)


def test_secure_cookies_follow_the_public_base_url_override_too(monkeypatch):
    from equipment.config import load_config
    monkeypatch.delenv("EQUIPMENT_PUBLIC_BASE_URL", raising=False)
    assert load_config({"PUBLIC_BASE_URL": "https://tags.example.cn"})["SESSION_COOKIE_SECURE"] is True
    assert load_config({"PUBLIC_BASE_URL": "http://127.0.0.1:5000"})["SESSION_COOKIE_SECURE"] is False
    assert load_config({"PUBLIC_BASE_URL": "https://x.cn", "SESSION_COOKIE_SECURE": False})["SESSION_COOKIE_SECURE"] is False


def test_oversized_body_is_413_in_the_envelope_and_writes_nothing(app, client, f, monkeypatch):
    from equipment.registry.models import Organization
    h = f.token(client, f.user("admin"))
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1024)
    before = f.db.session.query(Organization).count()
    resp = client.post("/api/v1/organizations", headers=h,
                       json={"kind": "user_unit", "name": "大" * 2000, "code": "91350100MA2XXXXX0X"})
    assert resp.status_code == 413 and resp.get_json()["error"]["code"] == "request_entity_too_large"
    assert f.db.session.query(Organization).count() == before


def test_metrics_are_for_nearby_scrapers_or_token_holders(app, client, monkeypatch):
    assert client.get("/metrics").status_code == 200  # loopback
    public = {"REMOTE_ADDR": "8.8.8.8"}  # (203.0.113.0/24 and the like are documentation ranges: not global)
    assert client.get("/metrics", environ_base=public).status_code == 404
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.0.3.4"}).status_code == 200
    monkeypatch.setitem(app.config, "METRICS_TOKEN", "scrape-secret-1234")
    assert client.get("/metrics").status_code == 404  # with a token set, the token is what counts
    assert client.get("/metrics", environ_base=public, headers={"Authorization": "Bearer wrong"}).status_code == 404
    ok = client.get("/metrics", environ_base=public, headers={"Authorization": "Bearer scrape-secret-1234"})
    assert ok.status_code == 200 and b"equipment_http_requests" in ok.data
