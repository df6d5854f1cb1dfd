"""Every page on a phone and to axe-core, in real Chromium, in the three languages.

With data on every page (long transliterated texts, long numbers and names, a
campaign, contacts, an audit log, a failed message), each page must fit 390 px
and 360 px without sideways scrolling, pass axe-core without a serious or
critical violation, and keep the main navigation on one line at 1366 px. The
keyboard tests check the skip link, the menu without a mouse or JavaScript and
the contrast of focus rings.
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from axe_playwright_python.base import AXE_FILE_PATH
from playwright.sync_api import expect
from werkzeug.datastructures import FileStorage

from smsco.web.admin.settings import OPTOUT_FOOTER, set_setting
from smsco.web.contacts.importing import save_upload
from smsco.web.extensions import db
from smsco.web.models import (
    AuditEntry,
    BalanceSnapshot,
    Campaign,
    Contact,
    ContactGroup,
    GatewayAlert,
    Message,
    MessageEvent,
    MessageTemplate,
    OptOut,
    Role,
    ScheduleMode,
    State,
    User,
    utcnow,
)

from .conftest import ADMIN_PASSWORD, OPERATOR_PASSWORD

pytestmark = pytest.mark.browser

LANGUAGES = ("ka", "en", "ru")
PHONE_WIDTHS = (390, 360)
DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
OPERATOR = "olga.tsereteli-abashidze_batumi-office"

LONG_TEXT = ("gamarjoba chemo dzvirfaso megobaro - gilotsavt dabadebis dghes da gisurvebt "
             "bednierebas. tkveni shekveta nomeri 4815162342 mzad aris. "
             "mobrdzandit_chven_magaziashi_rustavelis_gamziri_tsamettertmeti ")
UNBROKEN = "sakartvelosrespublikisparlamentisshenobashimdebareobsmtavarisakonferenciodarbazi"


# -- data ------------------------------------------------------------------------


@pytest.fixture
def seeded(app, tmp_path):
    """Two users and something on every page; returns the ids the pages need."""
    # The demo badge and a paused-sending banner crowd the header as much as it gets.
    app.config.update(SMSCO_UPLOAD_DIR=str(tmp_path / "uploads"), SMSCO_DEMO=True)
    with app.app_context():
        admin, operator = add_users()
        ids = add_messages(admin, operator)
        ids.update(add_contacts(admin), template=add_templates(admin), user=operator.id)
        for action in ("login", "send", "resend", "user.disable"):
            db.session.add(AuditEntry(user_id=operator.id, action=action,
                                      message_id=ids["message"][1],
                                      detail=f"{action}: {UNBROKEN} to 99559912345678901234"))
        db.session.commit()
        ids["upload"] = upload_file(tmp_path / "people.csv")
    return ids


def add_users() -> tuple[User, User]:
    """The administrator, an operator with a long name, a balance, an alert, a footer."""
    admin = User(username="admin", role=Role.ADMIN)
    admin.set_password(ADMIN_PASSWORD)
    operator = User(username=OPERATOR, role=Role.OPERATOR, last_login_at=utcnow())
    operator.set_password(OPERATOR_PASSWORD)
    db.session.add_all([admin, operator, BalanceSnapshot(balance=Decimal("1234.56")),
                        GatewayAlert(kind="credit", detail="2906")])
    db.session.flush()
    set_setting(OPTOUT_FOOTER, "STOP 91234", admin)
    return admin, operator


def add_message(state: str, by: User, body: str = LONG_TEXT, **fields) -> Message:
    fields = {"recipient": "995599123456", "sender": "LONGSENDER1", **fields}
    message = Message(state=state, body=body, created_by_id=by.id, **fields)
    db.session.add(message)
    db.session.flush()
    return message


def add_messages(admin: User, operator: User) -> dict:
    """Messages in every state, a failed one with its timeline, a held one, a campaign."""
    sent = add_message(State.SENT, operator, mes_id="12345678901234567890", credits=15,
                       sent_at=utcnow(), gateway_status=2)
    failed = add_message(State.FAILED, operator, UNBROKEN * 2, error_code=2904,
                         error_text="SMS sending failed: the number 9955991234567890123456789")
    held = add_message(State.QUEUED, admin, schedule_mode=ScheduleMode.HELD,
                       send_at=utcnow() + timedelta(days=1))
    for state in (State.DELIVERED, State.UNKNOWN, State.CANCELED, State.SKIPPED):
        add_message(state, operator, recipient="99559912345678901234")
    db.session.add_all([
        MessageEvent(message_id=failed.id, state=State.QUEUED, detail="Created"),
        MessageEvent(message_id=failed.id, state=State.FAILED, detail=failed.error_text),
        MessageEvent(message_id=sent.id, state=State.SENT, gateway_status=2,
                     detail="Accepted as " + sent.mes_id),
    ])
    campaign = Campaign(name=("Autumn sale for the Batumi branches " + UNBROKEN)[:120],
                        body=LONG_TEXT + "{name}", sender="LONGSENDER1", paused=True,
                        idempotency_key="layout-test", recipient_count=4, invalid_count=2,
                        duplicate_count=1, created_by_id=operator.id)
    db.session.add(campaign)
    db.session.flush()
    for state in (State.PAUSED, State.DELIVERED, State.FAILED, State.SENT):
        add_message(state, operator, campaign_id=campaign.id)
    return {"message": [sent.id, failed.id], "held": held.id, "campaign": campaign.id}


def add_contacts(admin: User) -> dict:
    """Groups with long names, a contact with long fields, an opted-out number."""
    groups = [ContactGroup(name="Loyal customers of the Tbilisi, Batumi and Kutaisi shops"),
              ContactGroup(name=UNBROKEN[:60]), ContactGroup(name="Staff")]
    contact = Contact(phone="995599123456", groups=groups[:2], fields={
        "name": "Tamar Javakhishvili-Tsereteli-Abashidze-Dadiani", "city": "Ozurgeti",
        "address": UNBROKEN, "note": "prefers messages after 18:00, never on Sundays please"})
    db.session.add_all([*groups, contact, Contact(phone="995555000001", fields={}),
                        OptOut(phone="995577112233", reason="Asked by phone: " + UNBROKEN,
                               created_by_id=admin.id)])
    db.session.flush()
    return {"contact": contact.id}


def add_templates(admin: User) -> int:
    template = MessageTemplate(name="Birthday greeting with a discount code", body=LONG_TEXT)
    db.session.add_all([template, MessageTemplate(name="Mine", body=UNBROKEN, owner_id=admin.id)])
    db.session.flush()
    return template.id


def upload_file(path) -> str:
    """A contacts file waiting for its column mapping; returns its token."""
    path.write_text("Phone,Name,Favourite_shop_location_and_branch_name,Note\n"
                    f"599 12 34 56,Tamar,{UNBROKEN},{LONG_TEXT}\n0555000001,Nino,Tbilisi,\n",
                    encoding="utf-8")
    with path.open("rb") as stream:
        return save_upload(FileStorage(stream, filename=path.name))


def html_pages(app, ids: dict) -> list[str]:
    """Every page: each GET route without parameters that answers HTML, then pages by id."""
    web = app.test_client()
    with app.app_context():
        admin_id = db.session.scalar(db.select(User.id).filter_by(username="admin"))
        with web.session_transaction() as session:
            session["_user_id"] = str(admin_id)
        rules = [rule.rule for rule in app.url_map.iter_rules()
                 if "GET" in rule.methods and not rule.arguments]
        pages = [path for path in sorted(rules)
                 if (reply := web.get(path)).status_code == 200 and reply.mimetype == "text/html"]
    return [
        *pages, *(f"/messages/{message_id}" for message_id in ids["message"]),
        f"/messages/{ids['held']}/edit", f"/campaigns/{ids['campaign']}",
        f"/contacts/{ids['contact']}/edit", f"/templates/{ids['template']}/edit",
        f"/admin/users/{ids['user']}/password", f"/contacts/import/{ids['upload']}",
        "/no-such-page",
    ]


# -- checks ----------------------------------------------------------------------

SERIOUS = ("serious", "critical")

NAV_LINES = """() => {
  const tops = [...document.querySelectorAll('nav[aria-label="Main"] a')]
    .map((link) => Math.round(link.getBoundingClientRect().top));
  return new Set(tops).size;
}"""


def log_in(page, base_url: str, username: str, password: str) -> None:
    """Log in by the fields' ids, so it works whatever the language."""
    page.goto(base_url + "/login")
    page.locator("#username").fill(username)
    page.locator("#password").fill(password)
    page.locator("#password").press("Enter")  # the language switch has submit buttons too
    page.wait_for_url(base_url + "/")


def sideways(page) -> int:
    """How many pixels wider the page is than the window (0 when it fits)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def with_axe(context) -> None:
    """axe-core (as axe-playwright-python ships it) in every page the context opens.

    Loaded once per navigation by the browser, which is faster than injecting it
    before each run.
    """
    context.add_init_script(path=str(AXE_FILE_PATH))


def serious_violations(page) -> list[str]:
    results = page.evaluate("axe.run({resultTypes: ['violations']})")["violations"]
    return [f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}"
            for v in results if v["impact"] in SERIOUS]


def check_page(page, base_url: str, path: str, desktop_axe: bool = False) -> list[str]:
    """The problems of one page: sideways scroll at each phone width, axe, the desktop nav.

    axe runs on the phone layout; at 1366 px only when asked (the header, which is the
    only part laid out differently there, is the same on every page).
    """
    page.set_viewport_size(PHONE)
    page.goto(base_url + path)
    problems = [f"{path} {problem}" for problem in check_page_in_place(page)]
    page.set_viewport_size(DESKTOP)
    if (extra := sideways(page)) > 0:
        problems.append(f"{path} at 1366 px scrolls sideways by {extra} px")
    if (lines := page.evaluate(NAV_LINES)) > 1:
        problems.append(f"{path} at 1366 px: the navigation takes {lines} lines")
    if desktop_axe:
        problems += [f"{path} at 1366 px: {v}" for v in serious_violations(page)]
    return problems


def check_page_in_place(page) -> list[str]:
    """Sideways scroll at 390 and 360 px, then axe at 360 px."""
    problems = []
    for width in PHONE_WIDTHS:
        page.set_viewport_size({"width": width, "height": PHONE["height"]})
        if (extra := sideways(page)) > 0:
            problems.append(f"at {width} px scrolls sideways by {extra} px")
    return problems + [f"at 360 px: {v}" for v in serious_violations(page)]


@pytest.mark.timeout(120)
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_page_fits_a_phone_and_passes_axe(language, app, live_server, seeded, browser):
    pages = html_pages(app, seeded)
    assert {"/", "/history", "/bulk", "/admin/audit", "/contacts"} <= set(pages)
    context = browser.new_context(viewport=PHONE, timezone_id="Asia/Tbilisi")
    with_axe(context)
    context.add_cookies([{"name": "lang", "value": language, "url": live_server.url}])
    page = context.new_page()
    problems = check_page(page, live_server.url, "/login", desktop_axe=True)
    log_in(page, live_server.url, "admin", ADMIN_PASSWORD)
    for path in pages:
        problems += check_page(page, live_server.url, path, desktop_axe=path == "/")
    problems += check_bulk_preview(page, live_server.url)
    context.close()
    assert not problems, "\n".join(problems)


def check_bulk_preview(page, base_url: str) -> list[str]:
    """The bulk page with a preview (a POST): groups ticked, pasted numbers, a long text."""
    page.set_viewport_size(PHONE)
    page.goto(base_url + "/bulk")
    page.locator("#name").fill("Autumn sale " + UNBROKEN)
    page.locator("input[name=groups]").first.check()
    page.locator("#pasted").fill("599 12 34 56\n99559912345678901234\n12345")
    page.locator("#message").fill(LONG_TEXT + UNBROKEN)
    page.locator("button[value=preview]").click()
    expect(page.locator(".bulk-preview")).to_be_visible()
    return [f"bulk preview: {problem}" for problem in check_page_in_place(page)]


def test_first_run_page_fits_a_phone_and_passes_axe(live_server, page):
    with_axe(page.context)
    problems = []
    for language in LANGUAGES:
        page.context.add_cookies([{"name": "lang", "value": language, "url": live_server.url}])
        page.set_viewport_size(PHONE)
        page.goto(live_server.url + "/setup")
        problems += [f"/setup in {language} {problem}" for problem in check_page_in_place(page)]
    assert not problems, "\n".join(problems)


# -- the header on a phone, the keyboard, focus rings ------------------------------------


def test_phone_header_is_short_and_its_menu_opens(live_server, seeded, page):
    page.set_viewport_size(PHONE)
    log_in(page, live_server.url, OPERATOR, OPERATOR_PASSWORD)
    header = page.locator("header").bounding_box()
    # Brand, balance, Menu and the language switch: at most a seventh of the screen
    # (it took a third before the phone layout).
    assert header["height"] <= PHONE["height"] / 7
    expect(page.locator(".header-balance")).to_be_visible()
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="History")).to_be_hidden()
    page.locator("summary").first.click()
    expect(nav.get_by_role("link", name="History")).to_be_visible()
    nav.get_by_role("link", name="History").click()
    expect(page).to_have_url(re.compile(r"/history$"))


def test_skip_link_comes_first_and_moves_focus_to_main(live_server, seeded, page):
    log_in(page, live_server.url, "admin", ADMIN_PASSWORD)
    page.keyboard.press("Tab")
    skip = page.locator(":focus")
    expect(skip).to_have_attribute("href", "#main")
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    assert page.evaluate("document.activeElement.tagName") == "MAIN"


def test_phone_menu_works_by_keyboard_without_javascript(browser, live_server, seeded):
    context = browser.new_context(viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    log_in(page, live_server.url, "admin", ADMIN_PASSWORD)
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Contacts")).to_be_hidden()
    for _ in range(10):  # the skip link, the brand, then the menu button
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.tagName") == "SUMMARY":
            break
    page.keyboard.press("Enter")
    expect(nav.get_by_role("link", name="Contacts")).to_be_visible()
    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_have_text("Compose")
    context.close()


FOCUS_RINGS = """() => {
  const rgb = (text) => (text.match(/[\\d.]+/g) || []).map(Number);
  const luminance = ([r, g, b]) => {
    const lin = (c) => (c /= 255) <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
  };
  const contrast = (a, b) => {
    const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
    return (hi + 0.05) / (lo + 0.05);
  };
  const backdrop = (node, inside) => {  // the first opaque background under the ring
    for (let el = inside ? node : node.parentElement; el; el = el.parentElement) {
      const color = rgb(getComputedStyle(el).backgroundColor);
      if (color.length === 3 || color[3] === 1) return color.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const element = document.activeElement;
  if (element === document.body || element.dataset.ringSeen) return null;
  element.dataset.ringSeen = "yes";
  const style = getComputedStyle(element);
  return {
    name: (element.textContent || element.name || element.tagName).trim().slice(0, 30),
    width: style.outlineStyle === 'none' ? 0 : parseFloat(style.outlineWidth),
    contrast: contrast(rgb(style.outlineColor).slice(0, 3),
                       backdrop(element, parseFloat(style.outlineOffset) < 0)),
  };
}"""


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_every_focus_ring_is_visible_against_its_background(viewport, live_server, seeded,
                                                            page):
    page.set_viewport_size(viewport)
    log_in(page, live_server.url, "admin", ADMIN_PASSWORD)
    weak = []
    for path in ("/", "/bulk", f"/campaigns/{seeded['campaign']}"):
        page.goto(live_server.url + path)
        if viewport is PHONE:
            page.locator("summary").first.click()  # the menu's links and Log out too
        rings = 0
        for _ in range(120):
            page.keyboard.press("Tab")
            ring = page.evaluate(FOCUS_RINGS)
            if ring is None:
                break
            rings += 1
            if ring["width"] < 2 or ring["contrast"] < 3:
                weak.append(f"{path}: {ring}")
        assert rings > 10
    assert weak == []
