"""The API pages: keys (secret shown once), the docs page, the webhook log; who sees what."""

from __future__ import annotations

import re

from smsco.web.extensions import db
from smsco.web.models import ApiKey, AuditEntry


def make_key(client, **fields):
    data = {"name": "Booking system", "expires_on": "", "webhook_url": ""}
    data.update(fields)
    return client.post("/api-keys", data=data)


def secret_in(page: str) -> str:
    return re.search(r'value="(smsco_[A-Za-z0-9_-]+)"', page).group(1)


def test_a_new_key_is_shown_once_stored_hashed_and_works(app, logged_in, users):
    reply = make_key(logged_in)
    assert reply.status_code == 200 and reply.headers["Cache-Control"] == "no-store"
    page = reply.get_data(as_text=True)
    secret = secret_in(page)
    assert "only time it is shown" in page
    listing = logged_in.get("/api-keys").get_data(as_text=True)
    assert secret not in listing and secret[:12] in listing
    with app.app_context():
        key = db.session.scalar(db.select(ApiKey))
        assert secret not in (key.secret_hash, key.prefix) and key.owner_id == users["admin"]
        assert db.session.scalar(db.select(AuditEntry).where(AuditEntry.action == "api_key_add"))
    api = app.test_client()
    assert api.get("/api/v1/balance", headers={"Authorization": f"Bearer {secret}"}
                   ).status_code == 200


def test_administrators_make_keys_for_operators_and_revoke_them(app, logged_in, users):
    secret = secret_in(make_key(logged_in, owner=str(users["olga"])).get_data(as_text=True))
    with app.app_context():
        key = db.session.scalar(db.select(ApiKey))
        assert key.owner_id == users["olga"]
    logged_in.post(f"/api-keys/{key.id}/revoke")
    reply = app.test_client().get("/api/v1/balance",
                                  headers={"Authorization": f"Bearer {secret}"})
    assert reply.status_code == 401
    assert "Revoked" in logged_in.get("/api-keys").get_data(as_text=True)


def test_operators_see_and_manage_only_their_own_keys(app, web, logged_in, users):
    make_key(logged_in, name="Admin key")
    with web.session_transaction() as session:
        session["_user_id"] = str(users["olga"])
    page = web.get("/api-keys").get_data(as_text=True)
    assert "Admin key" not in page and 'name="owner"' not in page
    make_key(web, name="Olga key", owner=str(users["admin"]))  # the owner field is ignored
    with app.app_context():
        admin_key, olga_key = db.session.scalars(db.select(ApiKey).order_by(ApiKey.id)).all()
        assert olga_key.owner_id == users["olga"]
    assert web.post(f"/api-keys/{admin_key.id}/revoke").status_code == 404


def test_expiry_and_webhook_url_are_checked(app, logged_in):
    page = make_key(logged_in, expires_on="2001-01-01").get_data(as_text=True)
    assert "must be in the future" in page
    page = make_key(logged_in, webhook_url="ftp://example.ge/x").get_data(as_text=True)
    assert "http://" in page and 'class="field-error"' in page
    page = make_key(logged_in, webhook_url="http://10.0.0.5:8080/smsco").get_data(as_text=True)
    assert "whsec_" in page  # private addresses are allowed; the signing secret is shown
    with app.app_context():
        key = db.session.scalar(db.select(ApiKey))
        assert key.webhook_url == "http://10.0.0.5:8080/smsco"
    logged_in.post(f"/api-keys/{key.id}/webhook", data={"webhook_url": "javascript:alert(1)"})
    logged_in.post(f"/api-keys/{key.id}/webhook-secret")
    with app.app_context():
        changed = db.session.get(ApiKey, key.id)
        assert changed.webhook_url == "http://10.0.0.5:8080/smsco"
        assert changed.webhook_secret != key.webhook_secret
    logged_in.post(f"/api-keys/{key.id}/webhook", data={"webhook_url": ""})
    with app.app_context():
        assert db.session.get(ApiKey, key.id).webhook_url is None


def test_the_docs_page_shows_curl_python_and_the_signature_recipe(logged_in):
    page = logged_in.get("/api-docs").get_data(as_text=True)
    for text in ("curl -sS http://localhost/api/v1/messages", "Idempotency-Key",
                 "import requests", "hmac.new", "application/problem+json",
                 'id="problem-validation"', 'id="problem-idempotency-key-reused"',
                 "/api/v1/openapi.json"):
        assert text in page


def test_the_pages_need_a_login_and_appear_in_the_menu(web, users, logged_in):
    assert "/api-keys" in logged_in.get("/").get_data(as_text=True)
    anonymous = web.application.test_client()
    assert anonymous.get("/api-keys").status_code == 302
    assert anonymous.get("/webhooks").status_code == 302


def test_the_delivery_log_is_empty_at_first(logged_in):
    page = logged_in.get("/webhooks?state=failed&before=abc").get_data(as_text=True)
    assert "No deliveries yet" in page
    assert logged_in.get("/webhooks?before=99999999999999").status_code == 200
