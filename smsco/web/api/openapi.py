"""The OpenAPI 3.1 document at ``/api/v1/openapi.json``, generated from the code.

Spectree builds the paths, parameters and schemas from the endpoints and
their Pydantic models. This module adds what a decorator cannot say: the
Bearer scheme, problem details as ``application/problem+json``, the
``Idempotency-Key`` header, the rate-limit headers, links from a created
message or campaign to its own endpoints (for stateful clients and testers),
and this installation's agreed sender IDs.
"""

from __future__ import annotations

import copy
from typing import Any

from flask import current_app

from .problems import PROBLEM_JSON
from .routes import IDEMPOTENCY_KEY, spec

DESCRIPTION = """Send SMS through this dashboard from other systems, with the same history,
opt-outs, quiet hours and at-most-once sending as the dashboard's own pages.

Authenticate with an API key made on the dashboard's *API keys* page:
`Authorization: Bearer <key>`. Errors are RFC 9457 problem details. The guide,
with curl and Python examples and the webhook signature recipe, is the
dashboard's *API docs* page (`/api-docs`)."""

RATE_HEADERS = {
    "RateLimit-Limit": "Requests allowed per window for this key.",
    "RateLimit-Remaining": "Requests left in the current window.",
    "RateLimit-Reset": "Seconds until the window resets.",
}

LINKS = {
    "sendMessages": {
        "202": {"GetMessage": ("getMessage", {"message_id": "$response.body#/messages/0/id"}),
                "CancelMessage": ("cancelMessage",
                                  {"message_id": "$response.body#/messages/0/id"})},
    },
    "createCampaign": {
        "202": {name: (operation, {"campaign_id": "$response.body#/id"}) for name, operation in (
            ("GetCampaign", "getCampaign"), ("PauseCampaign", "pauseCampaign"),
            ("ResumeCampaign", "resumeCampaign"), ("CancelCampaign", "cancelCampaign"))},
    },
}


def document() -> dict[str, Any]:
    """The document for this installation (a copy: spectree caches its own)."""
    doc = copy.deepcopy(spec.spec)
    doc["info"]["description"] = DESCRIPTION
    doc["components"]["securitySchemes"] = {
        "bearerAuth": {"type": "http", "scheme": "bearer",
                       "description": "An API key from the dashboard's API keys page."}}
    doc["security"] = [{"bearerAuth": []}]
    for operation in _operations(doc):
        _describe_responses(operation)
        if operation["operationId"] in ("sendMessages", "createCampaign"):
            operation.setdefault("parameters", []).append(_idempotency_parameter())
        for status, links in LINKS.get(operation["operationId"], {}).items():
            operation["responses"][status]["links"] = {
                name: {"operationId": target, "parameters": parameters}
                for name, (target, parameters) in links.items()}
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "path":
                parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}
            elif parameter["in"] == "query":
                parameter["schema"] = _not_null(parameter["schema"])
    _agreed_senders(doc)
    return doc


def _not_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A query parameter is absent or a string: Pydantic's ``X | None`` becomes ``X``."""
    options = [option for option in schema.get("anyOf", []) if option.get("type") != "null"]
    if len(options) == 1:
        kept = {key: value for key, value in schema.items() if key not in ("anyOf", "default")}
        return {**kept, **options[0]}
    return schema


def _operations(doc: dict[str, Any]):
    for path_item in doc["paths"].values():
        yield from path_item.values()


def _describe_responses(operation: dict[str, Any]) -> None:
    """Problem details get their media type; every answer documents the rate-limit headers."""
    for status, response in operation["responses"].items():
        content = response.get("content", {})
        schema = content.get("application/json", {}).get("schema", {})
        if schema.get("$ref", "").endswith("/Problem"):
            response["content"] = {PROBLEM_JSON: {"schema": schema}}
        headers = {name: {"description": text, "schema": {"type": "integer", "minimum": 0}}
                   for name, text in RATE_HEADERS.items()}
        if status == "429":
            headers["Retry-After"] = {"description": "Seconds to wait before trying again.",
                                      "required": True,
                                      "schema": {"type": "integer", "minimum": 0}}
        if status == "401":
            headers["WWW-Authenticate"] = {"description": "The Bearer scheme.",
                                           "schema": {"type": "string"}}
        response["headers"] = headers


def _idempotency_parameter() -> dict[str, Any]:
    return {
        "name": "Idempotency-Key", "in": "header", "required": False,
        "description": "Any unique string (a UUID). A retry with the same key and body gets the "
                       "first answer (header Idempotent-Replayed: true) and sends nothing new; "
                       "the same key with another body is refused (422). Kept 24 hours.",
        "schema": {"type": "string", "minLength": 1, "maxLength": 255,
                   "pattern": f"^{IDEMPOTENCY_KEY.pattern}$"},
    }


def _agreed_senders(doc: dict[str, Any]) -> None:
    """With ``SMSCO_SENDERS`` set, the sender field lists them (others are refused)."""
    agreed = current_app.config.get("SMSCO_SENDERS") or []
    if not agreed:
        return
    for name in ("MessageCreate", "CampaignCreate"):
        sender = doc["components"]["schemas"][name]["properties"]["sender"]
        sender["anyOf"] = [{"type": "string", "enum": list(agreed)}, {"type": "null"}]
