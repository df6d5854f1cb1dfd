"""The message field in real Chromium: marked characters, transliteration, and a counter
that shows exactly what smsco.text computes."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from smsco import text

from .browser import first_run, wait_until
from .test_browser_flow import sent_texts

pytestmark = pytest.mark.browser

GEORGIAN = "გამარჯობა, როგორ ხარ?"


def field(page):
    return page.locator("[data-message-field]")


def wait_ready(page):
    expect(field(page)).to_have_attribute("data-state", "ready")


def test_georgian_is_marked_transliterated_on_request_and_sent_in_latin(server, gateway, page):
    first_run(page, server)
    page.goto(server.url + "/compose")
    page.get_by_label("Recipients").fill("599 44 54 48")
    page.get_by_label("Message", exact=True).fill(GEORGIAN)
    wait_ready(page)
    marked = page.locator("#message-marked")
    expect(marked).to_be_visible()
    expect(marked.locator("[data-marked-text] mark").first).to_be_visible()
    marks = "".join(marked.locator("[data-marked-text] mark").all_text_contents())
    assert marks == "".join(ch for _, ch in text.invalid_characters(GEORGIAN))
    expect(page.locator("[data-chars]")).to_have_text(str(len(GEORGIAN)))
    expect(page.locator("[data-parts]")).to_have_text(str(text.segments(GEORGIAN)))
    expect(page.locator("[data-cost]")).to_have_text(f"₾{text.cost(GEORGIAN) / 100:.2f}")
    expect(page.locator("#message-counter")).to_contain_text("for 1 recipient")
    expect(page.locator("#message-counter")).to_contain_text("the gateway refuses")

    latin = text.transliterate(GEORGIAN, capitalize="sentences")
    page.get_by_role("button", name="Transliterate").click()
    proposal = page.get_by_role("region", name="Proposed Latin text")
    expect(proposal).to_contain_text(latin)
    expect(page.get_by_label("Message", exact=True)).to_have_value(GEORGIAN)  # not yet
    page.get_by_role("button", name="Use this text").click()
    expect(proposal).to_be_hidden()
    expect(page.get_by_label("Message", exact=True)).to_have_value(latin)
    wait_ready(page)
    expect(marked).to_be_hidden()
    page.get_by_role("button", name="Send").click()
    expect(page).to_have_url(re.compile(r"/messages/\d+"))
    assert wait_until(lambda: sent_texts(gateway)) == [latin]


def test_keep_mine_leaves_the_text_and_it_can_still_be_edited(server, page):
    first_run(page, server)
    page.goto(server.url + "/compose")
    message = page.get_by_label("Message", exact=True)
    message.fill("ხაჭაპური")
    page.get_by_label("Style").select_option("informal")
    page.get_by_role("button", name="Transliterate").click()
    proposal = page.get_by_role("region", name="Proposed Latin text")
    expect(proposal).to_contain_text(
        text.transliterate("ხაჭაპური", "informal", capitalize="sentences"))
    page.get_by_role("button", name="Keep mine").click()
    expect(proposal).to_be_hidden()
    expect(message).to_have_value("ხაჭაპური")


COUNTER_CASES = [
    "Hello",
    "a" * 160,
    "a" * 161,
    "a" * 306,
    "a" * 307,
    "ა" * 161,
    "😀" * 100,  # 100 code points, 200 UTF-16 units: the count must be 100
    "Привет, мир",
    "tab\there\nand a line",
]


def test_counter_shows_what_the_library_computes(server, page):
    first_run(page, server)
    page.goto(server.url + "/compose")
    page.get_by_label("Recipients").fill("599 44 54 48, 555 12 34 56")
    message = page.get_by_label("Message", exact=True)
    warning = page.locator("[data-counter-warning]")
    for body in COUNTER_CASES:
        message.fill(body)
        wait_ready(page)
        parts = text.segments(body)
        expect(page.locator("[data-chars]")).to_have_text(str(len(body)))
        expect(page.locator("[data-parts]")).to_have_text(str(parts))
        expect(page.locator("[data-cost]")).to_have_attribute("data-cost",
                                                              str(text.cost(body, 2)))
        expect(page.locator("[data-cost]")).to_have_text(f"₾{text.cost(body, 2) / 100:.2f}")
        expect(page.locator("#message-counter")).to_contain_text("for 2 recipients")
        if parts > 1:
            capacity = 160 if parts == 2 else 153 * (parts - 1)
            over = len(body) - capacity
            previous = "one SMS" if parts == 2 else f"{parts - 1} parts"
            unit = "character" if over == 1 else "characters"
            expect(warning).to_contain_text(f"{parts} parts — {over} {unit} over {previous}")
        marks = "".join(page.locator("[data-marked-text] mark").all_text_contents())
        bad = text.invalid_characters(body)
        assert bool(marks) == bool(bad), body


def test_template_choice_fills_the_message_and_footer_is_counted(server, app, page):
    from smsco.web.admin.settings import set_optout_footer
    from smsco.web.extensions import db
    from smsco.web.models import MessageTemplate

    first_run(page, server)
    with app.app_context():
        db.session.add(MessageTemplate(name="Greeting", body="Hi {name}, welcome"))
        db.session.add(MessageTemplate(name="Plain", body="a" * 150))
        db.session.commit()
        set_optout_footer("STOP 91234")
    page.goto(server.url + "/compose")
    page.get_by_label("Template").select_option(label="Greeting (shared)")
    expect(page.get_by_label("Message", exact=True)).to_have_value("Hi {name}, welcome")
    expect(page.get_by_text("only filled in on the bulk page")).to_be_visible()
    page.get_by_label("Template").select_option(label="Plain (shared)")
    wait_ready(page)
    expect(page.locator("[data-parts]")).to_have_text("1")
    page.get_by_label("Marketing message (adds the opt-out footer)").check()
    wait_ready(page)
    full = "a" * 150 + " STOP 91234"
    expect(page.locator("[data-chars]")).to_have_text(str(len(full)))
    expect(page.locator("[data-parts]")).to_have_text(str(text.segments(full)))
    expect(page.locator("#message-counter")).to_contain_text("incl. footer")
