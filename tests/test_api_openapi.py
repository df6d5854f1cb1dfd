"""The API keeps to its OpenAPI document: schemathesis tries every operation against the app.

Schemathesis reads ``/api/v1/openapi.json`` from the WSGI app itself (no
server), generates valid and invalid requests for every operation, and checks
each answer: no 5xx, documented status codes, media types, headers and
bodies; invalid input refused, valid input accepted; a request without the
key refused. The stateful test follows the document's links (a sent message
to its page and its cancel, a campaign to its actions).

The two custom formats get strategies of values that are valid by compose's
rules (``phone``: mobile numbers; ``sms-text``: the gateway's characters).
Schemathesis may reuse an ``Idempotency-Key`` with a different body, which
the API rightly answers 422; the ``before_call`` hook gives such a request a
fresh key instead of turning the check off.
"""

from __future__ import annotations

import json
import string
import uuid

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from smsco.web.api.schemas import MAX_MESSAGE_TEXT
from smsco.web.extensions import db
from smsco.web.models import User

# Georgian mobile numbers (599 12 34 56) written the ways compose accepts them.
_PREFIXES = ["599", "555", "577", "591", "593", "595", "597", "568", "571", "574", "514", "557"]
PHONES = st.builds(
    lambda prefix, rest, style: style.format(prefix=prefix, a=rest[:2], b=rest[2:4], c=rest[4:]),
    st.sampled_from(_PREFIXES), st.from_regex(r"\A[0-9]{6}\Z"),
    st.sampled_from(["{prefix}{a}{b}{c}", "{prefix} {a} {b} {c}", "+995{prefix}{a}{b}{c}",
                     "+995 {prefix} {a} {b} {c}", "0{prefix}{a}{b}{c}"]))
_GATEWAY_ALPHABET = string.ascii_letters + string.digits + ' ._"-'
_SOLID = st.sampled_from(string.ascii_letters + string.digits)
# Short texts mostly, and texts of exactly the longest length (the coverage phase asks for it).
SMS_TEXT = st.one_of(
    st.builds(str.__add__, _SOLID, st.text(_GATEWAY_ALPHABET, max_size=159)),
    st.builds(str.__add__, _SOLID, st.text(_GATEWAY_ALPHABET, min_size=MAX_MESSAGE_TEXT - 1,
                                            max_size=MAX_MESSAGE_TEXT - 1)))

schemathesis.openapi.format("phone", PHONES)
schemathesis.openapi.format("sms-text", SMS_TEXT)

_bodies_by_key: dict[str, str] = {}


@schemathesis.hook
def before_call(context, case, kwargs):
    """A reused Idempotency-Key with another body gets a fresh key (our rule answers 422)."""
    headers = case.headers or {}
    key = headers.get("Idempotency-Key")
    if key is None:
        return
    body = json.dumps(case.body, sort_keys=True, default=str) + case.path
    if _bodies_by_key.setdefault(key, body) != body:
        fresh = str(uuid.uuid4())
        _bodies_by_key[fresh] = body
        headers["Idempotency-Key"] = fresh
        case.headers = headers


@pytest.fixture
def admin_key(app, users):
    from smsco.web.api.keys import create_key

    with app.app_context():
        admin = db.session.get(User, users["admin"])
        return create_key("Schemathesis", admin, admin).secret


def load_schema(app, key):
    """The document read from the app, with the key as the Bearer scheme's credential (so
    the ignored-auth check knows the valid key and tries invalid ones itself)."""
    config = schemathesis.Config.from_dict({"auth": {"openapi": {"bearerAuth": {"bearer": key}}}})
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=config)


@pytest.fixture
def api_schema(app, admin_key):
    return load_schema(app, admin_key)


schema = schemathesis.pytest.from_fixture("api_schema")

FAST = settings(max_examples=12, deadline=None, derandomize=True,
                suppress_health_check=list(HealthCheck))


@pytest.mark.timeout(600)  # one test for all operations; the machine may be shared
@schema.parametrize()
@FAST
def test_every_operation_keeps_to_the_document(case):
    case.call_and_validate()


def test_the_document_is_openapi_3_1_and_public(web):
    reply = web.get("/api/v1/openapi.json")
    assert reply.status_code == 200
    doc = reply.get_json()
    assert doc["openapi"].startswith("3.1")
    assert doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    send = doc["paths"]["/api/v1/messages"]["post"]
    assert "application/problem+json" in send["responses"]["422"]["content"]
    assert any(p["name"] == "Idempotency-Key" for p in send["parameters"])
    assert send["responses"]["202"]["links"]["GetMessage"]["operationId"] == "getMessage"


@pytest.mark.timeout(300)
def test_stateful_sequences_follow_the_links(app, admin_key):
    machine = load_schema(app, admin_key).as_state_machine()
    machine.run(settings=settings(max_examples=15, stateful_step_count=5, deadline=None,
                                  derandomize=True, suppress_health_check=list(HealthCheck)))
