"""CSRF on every state-changing route, a token in every rendered POST form, nothing inline.

The rest of the suite posts forms with CSRF off; these tests keep it on. For
each POST route a valid form is sent twice: without its token it must be
refused (400) with the database and the upload folder untouched; with its
token the same form must change something, which proves the refusal was the
token's doing. A route added without a case here fails the coverage test.
"""

from __future__ import annotations

import io
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest

from smsco import Client
from smsco.web.extensions import db
from smsco.web.models import (
    Contact,
    ContactGroup,
    Message,
    MessageTemplate,
    OptOut,
    Role,
    ScheduleMode,
    State,
    User,
    utcnow,
)

from .conftest import GATEWAY_PASSWORD, GATEWAY_USER, OPERATOR_PASSWORD
from .test_security_headers import INLINE


@dataclass
class World:
    """One of everything a form can act on."""

    users: dict[str, int]
    held: int  # a message held here until later: edit, cancel
    failed: int  # resend
    sent: int  # accepted by the gateway: check status
    running: int  # a campaign with queued and failed messages: pause, cancel, resend failed
    paused: int  # resume
    contact: int
    group: int
    template: int
    upload_token: str
    upload_dir: Path
    api_key: int = 0  # revoke, webhook URL, new secret
    delivery: int = 0  # a webhook delivery to resend


@pytest.fixture
def world(app, users, gateway, tmp_path) -> World:
    from smsco.web.bulk import campaigns
    from smsco.web.bulk.campaigns import CampaignRecipient, CampaignSpec

    app.config["SMSCO_UPLOAD_DIR"] = str(tmp_path / "uploads")
    app.config["SMSCO_QUIET_RULE"] = None
    with Client(GATEWAY_USER, GATEWAY_PASSWORD, base_url=gateway.url) as client:
        mes_id = client.send("995599000003", "Accepted earlier").message_id
    with app.app_context():
        admin = db.session.get(User, users["admin"])
        disabled = User(username="dato", role=Role.OPERATOR, active=False)
        disabled.set_password(OPERATOR_PASSWORD)
        held = Message(recipient="995599000001", body="Held", state=State.QUEUED,
                       schedule_mode=ScheduleMode.HELD, send_at=utcnow() + timedelta(hours=2),
                       created_by_id=admin.id)
        failed = Message(recipient="995599000002", body="Failed", state=State.FAILED,
                         error_code=2904, created_by_id=admin.id)
        sent = Message(recipient="995599000003", body="Accepted earlier", state=State.SENT,
                       mes_id=str(mes_id), sent_at=utcnow(), created_by_id=admin.id)
        group = ContactGroup(name="Clients")
        contact = Contact(phone="995599000004", fields={"name": "Nino"}, groups=[group])
        template = MessageTemplate(name="Greeting", body="Hello")
        db.session.add_all([disabled, held, failed, sent, group, contact, template,
                            OptOut(phone="995599000005")])
        db.session.commit()
        people = [CampaignRecipient(f"99559910000{i}", {}) for i in range(3)]
        running = campaigns.create_campaign(CampaignSpec(name="Running", body="Hi"), people,
                                            admin, "running-key")
        db.session.execute(db.update(Message).where(
            Message.campaign_id == running.id, Message.recipient == people[0].phone)
            .values(state=State.FAILED, error_code=2904))
        paused = campaigns.create_campaign(CampaignSpec(name="Paused", body="Hi"), people[:1],
                                           admin, "paused-key")
        campaigns.pause_campaign(paused, admin)
        db.session.commit()
        world = World(users={**users, "dato": disabled.id}, held=held.id, failed=failed.id,
                      sent=sent.id, running=running.id, paused=paused.id, contact=contact.id,
                      group=group.id, template=template.id,
                      upload_token=secrets.token_urlsafe(24), upload_dir=tmp_path / "uploads")
    with app.app_context():
        from smsco.web.api.keys import create_key
        from smsco.web.models import ApiKey, WebhookDelivery

        admin = db.session.get(User, users["admin"])
        key = create_key("Booking system", admin, admin, None, "http://127.0.0.1:9/hook")
        key_id = db.session.scalar(db.select(ApiKey.id).where(ApiKey.name == "Booking system"))
        delivery = WebhookDelivery(event_id="evt-1", event_type="message.sent", api_key_id=key_id,
                                   payload="{}", state="failed")
        db.session.add(delivery)
        db.session.commit()
        world.api_key, world.delivery = key_id, delivery.id
        del key
    world.upload_dir.mkdir(parents=True, exist_ok=True)
    (world.upload_dir / f"{world.upload_token}.csv").write_text("Phone\n599445448\n")
    app.config["WTF_CSRF_ENABLED"] = True
    return world


def csv_file(text: str = "Phone\n599445448\n555123456\n", name: str = "people.csv"):
    return (io.BytesIO(text.encode()), name)


@dataclass
class Post:
    """A valid request to a POST route, missing only its CSRF token."""

    url: str
    data: dict | None = None
    json: dict | None = None
    anonymous: bool = False

    def send(self, web, token: str | None):
        if self.json is not None:
            headers = {"X-CSRFToken": token} if token else {}
            return web.post(self.url, json=self.json, headers=headers)
        data = dict(self.data or {})
        if token:
            data["csrf_token"] = token
        return web.post(self.url, data=data, content_type="multipart/form-data")


# Destructive actions ask first (ui/confirm.py); "Yes" on that page posts this.
CONFIRMED = {"confirmed": "1"}

CASES = {
    "auth.setup": lambda w: Post("/setup", {"username": "boss", "password": "long-enough-pw",
                                            "confirm": "long-enough-pw"}, anonymous=True),
    "auth.login": lambda w: Post("/login", {"username": "olga", "password": OPERATOR_PASSWORD},
                                 anonymous=True),
    "auth.logout": lambda w: Post("/logout", {}),
    "auth.set_language": lambda w: Post("/language", {"language": "ka", "next": "/"}),
    "main.check_balance": lambda w: Post("/balance/check", {}),
    "admin.users": lambda w: Post("/admin/users", {"username": "mallory",
                                                   "password": "long-enough-pw",
                                                   "role": "admin"}),
    "admin.disable": lambda w: Post(f"/admin/users/{w.users['olga']}/disable", CONFIRMED),
    "admin.enable": lambda w: Post(f"/admin/users/{w.users['dato']}/enable", {}),
    "admin.change_role": lambda w: Post(f"/admin/users/{w.users['olga']}/role",
                                        {"role": "admin"}),
    "admin.reset_password": lambda w: Post(f"/admin/users/{w.users['olga']}/password",
                                           {"password": "brand-new-password",
                                            "confirm": "brand-new-password"}),
    "compose.compose": lambda w: Post("/compose", {"recipients": "599445448",
                                                   "message": "Hello", "schedule_mode": "held"}),
    "compose.edit": lambda w: Post(f"/messages/{w.held}/edit", {
        "recipients": "599000001", "message": "Changed", "schedule_mode": "held",
        "send_at": (utcnow() + timedelta(hours=6)).strftime("%Y-%m-%dT%H:%M")}),
    "history.cancel": lambda w: Post(f"/messages/{w.held}/cancel", CONFIRMED),
    "history.resend": lambda w: Post(f"/messages/{w.failed}/resend", {}),
    "history.check_status": lambda w: Post(f"/messages/{w.sent}/check", {}),
    "bulk.bulk": lambda w: Post("/bulk", {"name": "Sale", "message": "Hi", "pasted": "599445448",
                                          "key": "bulk-key", "action": "send"}),
    "bulk.pause": lambda w: Post(f"/campaigns/{w.running}/pause", {}),
    "bulk.resume": lambda w: Post(f"/campaigns/{w.paused}/resume", {}),
    "bulk.cancel": lambda w: Post(f"/campaigns/{w.running}/cancel", CONFIRMED),
    "bulk.resend_failed": lambda w: Post(f"/campaigns/{w.running}/resend-failed", {}),
    "contacts.new_contact": lambda w: Post("/contacts/new", {"phone": "599445448"}),
    "contacts.edit_contact": lambda w: Post(f"/contacts/{w.contact}/edit",
                                            {"phone": "599000004", "name": "Changed"}),
    "contacts.delete_contact": lambda w: Post(f"/contacts/{w.contact}/delete", CONFIRMED),
    "contacts.groups": lambda w: Post("/contacts/groups", {"name": "Friends"}),
    "contacts.delete_group": lambda w: Post(f"/contacts/groups/{w.group}/delete", CONFIRMED),
    "contacts.import_upload": lambda w: Post("/contacts/import", {"file": csv_file()}),
    "contacts.import_map": lambda w: Post(f"/contacts/import/{w.upload_token}",
                                          {"column-0": "__phone__"}),
    "contacts.opt_outs": lambda w: Post("/contacts/opt-outs", {"phone": "599445448"}),
    "contacts.import_opt_outs": lambda w: Post("/contacts/opt-outs/import",
                                               {"import-file": csv_file()}),
    "contacts.remove_opt_out": lambda w: Post("/contacts/opt-outs/remove",
                                              {"phone": "995599000005", **CONFIRMED}),
    "templates.add": lambda w: Post("/templates/new", {"name": "New", "message": "Hi"}),
    "templates.edit": lambda w: Post(f"/templates/{w.template}/edit",
                                     {"name": "Greeting", "message": "Changed"}),
    "templates.delete": lambda w: Post(f"/templates/{w.template}/delete", CONFIRMED),
    "api_pages.key_list": lambda w: Post("/api-keys", {"name": "Shop", "owner": w.users["admin"]}),
    "api_pages.revoke": lambda w: Post(f"/api-keys/{w.api_key}/revoke", {}),
    "api_pages.webhook": lambda w: Post(f"/api-keys/{w.api_key}/webhook",
                                        {"webhook_url": "http://127.0.0.1:9/other"}),
    "api_pages.rotate_secret": lambda w: Post(f"/api-keys/{w.api_key}/webhook-secret", {}),
    "api_pages.resend": lambda w: Post(f"/webhooks/{w.delivery}/resend", {}),
    "templates.settings": lambda w: Post("/templates/settings", {"footer": "STOP 91234"}),
    "text.analyze_text": lambda w: Post("/text/analyze", json={"text": "Hello"}),
}
# Routes whose accepted request changes nothing here: setup is gone once accounts exist
# (tests/test_auth.py posts it with its token), and analysing text only reads.
CHANGE_NOTHING = {"auth.setup", "text.analyze_text"}
# The JSON API takes no cookies, only a Bearer key: it is CSRF-exempt by design.
API_ENDPOINTS_PREFIX = "api."


def snapshot(app, world: World) -> tuple[dict[str, list[str]], list[str]]:
    """Every row of every table, and the files waiting in the upload folder."""
    with app.app_context():
        tables = {table.name: sorted(repr(tuple(row))
                                     for row in db.session.execute(table.select()))
                  for table in db.metadata.sorted_tables}
    return tables, sorted(path.name for path in world.upload_dir.iterdir())


def client_for(app, world: World, post: Post):
    """A test client, logged in as the administrator unless the route is for visitors."""
    web = app.test_client()
    if not post.anonymous:
        from .conftest import session_login

        session_login(web, world.users["admin"])
    return web


def token_of(web, anonymous: bool) -> str:
    """The CSRF token the pages give this client."""
    html = web.get("/login" if anonymous else "/").get_data(as_text=True)
    return re.search(r'name="csrf[-_]token"[^>]*(?:content|value)="([^"]+)"', html).group(1)


def test_every_post_route_has_a_case(app):
    posts = {rule.endpoint for rule in app.url_map.iter_rules() if "POST" in rule.methods
             and not rule.endpoint.startswith(API_ENDPOINTS_PREFIX)}
    assert posts == set(CASES)


def test_the_api_without_a_key_is_refused_even_with_a_session(app, world):
    """CSRF-exempt only because it ignores cookies: a logged-in browser session is no key."""
    web = client_for(app, world, Post("/api/v1/messages"))
    reply = web.post("/api/v1/messages", json={"recipients": ["599445448"], "text": "Hi"})
    assert reply.status_code == 401


@pytest.mark.parametrize("endpoint", sorted(CASES))
def test_a_post_without_its_token_is_refused_and_changes_nothing(app, world, endpoint):
    post = CASES[endpoint](world)
    web = client_for(app, world, post)
    before = snapshot(app, world)
    response = post.send(web, token=None)
    assert response.status_code == 400
    assert "The form may have expired" in response.get_data(as_text=True)
    assert snapshot(app, world) == before
    # The same request with its token goes through: the token was the only thing missing.
    response = CASES[endpoint](world).send(web, token=token_of(web, post.anonymous))
    assert response.status_code in ((404,) if endpoint == "auth.setup" else (200, 302))
    if endpoint not in CHANGE_NOTHING:
        assert snapshot(app, world) != before


def test_a_token_from_another_session_is_refused(app, world):
    post = CASES["compose.compose"](world)
    stranger = client_for(app, world, post)
    web = client_for(app, world, post)
    response = post.send(web, token=token_of(stranger, anonymous=False) + "x")
    assert response.status_code == 400


# -- every rendered POST form carries its token ----------------------------------------


class Forms(HTMLParser):
    """The POST forms of a page, each with the names and values of its hidden inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, object]] = []
        self._open: dict[str, object] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and (attrs.get("method") or "get").lower() == "post":
            self._open = {"action": attrs.get("action"), "hidden": {}}
            self.forms.append(self._open)
        elif tag == "form":
            self._open = None
        elif tag == "input" and self._open is not None and attrs.get("type") == "hidden":
            self._open["hidden"][attrs.get("name")] = attrs.get("value")

    def handle_endtag(self, tag):
        if tag == "form":
            self._open = None


def post_forms(html: str) -> list[dict[str, object]]:
    parser = Forms()
    parser.feed(html)
    return parser.forms


def pages(world: World) -> list[str]:
    """Every page a logged-in administrator can open, with something on it to act on."""
    return [
        "/", "/compose", f"/messages/{world.held}/edit", "/history", f"/messages/{world.held}",
        f"/messages/{world.failed}", f"/messages/{world.sent}", f"/messages/{world.held}/live",
        f"/messages/{world.sent}/live", "/bulk", "/campaigns", f"/campaigns/{world.running}",
        f"/campaigns/{world.paused}", "/contacts", "/contacts/new",
        f"/contacts/{world.contact}/edit", "/contacts/groups", "/contacts/import",
        f"/contacts/import/{world.upload_token}", "/contacts/import/done?added=1",
        "/contacts/opt-outs", "/templates/", "/templates/new",
        f"/templates/{world.template}/edit", "/templates/settings", "/admin/users",
        f"/admin/users/{world.users['olga']}/password", "/admin/audit", "/reports",
        "/api-keys", "/api-docs", "/webhooks",
        "/no-such-page",
    ]


# Pages that are not HTML for people: data for scripts, downloads, static files.
NOT_PAGES = {"history.updates", "history.export_csv", "history.export_xlsx",
             "bulk.campaign_progress", "bulk.campaign_csv", "bulk.campaign_xlsx",
             "contacts.export_contacts", "contacts.export_contacts_xlsx",
             "contacts.export_opt_outs", "contacts.invalid_rows", "admin.audit_csv",
             "reports.export", "static"}


def test_the_page_list_covers_every_page(app, world):
    adapter = app.url_map.bind("localhost")
    opened = {adapter.match(url.split("?")[0], method="GET")[0]
              for url in pages(world) if url != "/no-such-page"}
    gets = {rule.endpoint for rule in app.url_map.iter_rules() if "GET" in rule.methods
            and not rule.endpoint.startswith(API_ENDPOINTS_PREFIX)}
    assert gets - NOT_PAGES - {"auth.login", "auth.setup"} == opened


def test_every_post_form_on_every_page_carries_a_token(app, world):
    web = client_for(app, world, Post("/"))
    seen = 0
    for url in pages(world):
        response = web.get(url)
        assert response.status_code in (200, 404), url
        html = response.get_data(as_text=True)
        for form in post_forms(html):
            assert form["hidden"].get("csrf_token"), f"{url}: form to {form['action']}"
            seen += 1
        assert not INLINE.search(html), f"{url}: inline code {INLINE.search(html).group(0)}"
    assert seen >= 30  # the header's logout form on each page, and the page's own


def test_the_login_and_setup_forms_carry_a_token(app):
    app.config["WTF_CSRF_ENABLED"] = True
    web = app.test_client()
    for url in ("/setup", "/login"):
        if url == "/login":
            with app.app_context():
                admin = User(username="admin", role=Role.ADMIN)
                admin.set_password("admin-password-1")
                db.session.add(admin)
                db.session.commit()
        forms = [form for form in post_forms(web.get(url).get_data(as_text=True))
                 if form["action"] != "/language"]  # the language switch has its own
        assert len(forms) == 1 and forms[0]["hidden"].get("csrf_token"), url
