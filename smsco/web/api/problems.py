"""Errors of the API as RFC 9457 problem details (``application/problem+json``).

Every answer of ``/api/…`` that is not a success goes through
:func:`problem_response`: bad input, a missing key, an unknown URL, a wrong
method, too many requests, even an unexpected failure. Never an HTML page.
Texts are English: they are read by programs and by the engineers who write them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask import Response, current_app, json, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from ..compose.rules import Refusal

API_PREFIX = "/api/"
PROBLEM_JSON = "application/problem+json"
#: Where the kinds of problem are explained (the docs page's anchors).
TYPE_BASE = "/api-docs#problem-"


@dataclass
class FieldError:
    """One refused input: where it is (a JSON pointer or a parameter name) and why."""

    detail: str
    pointer: str | None = None  # into the JSON body: "/recipients/2"
    parameter: str | None = None  # a query parameter or header: "limit"
    value: Any = None

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"detail": self.detail}
        if self.pointer is not None:
            data["pointer"] = self.pointer
        if self.parameter is not None:
            data["parameter"] = self.parameter
        if self.value is not None:
            data["value"] = self.value
        return data


@dataclass
class ApiProblem(Exception):
    """An API answer that is a problem; raise it anywhere in an API request."""

    status: int
    title: str
    detail: str
    kind: str = "about:blank"  # a slug of TYPE_BASE, or about:blank for plain HTTP errors
    errors: list[FieldError] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.status} {self.title}: {self.detail}"


def is_api_request() -> bool:
    """True for requests under ``/api/`` (they never get HTML)."""
    return request.path.startswith(API_PREFIX)


def problem_response(problem: ApiProblem) -> Response:
    """The problem as ``application/problem+json`` with its status and headers."""
    body: dict[str, Any] = {
        "type": problem.kind if problem.kind == "about:blank" else TYPE_BASE + problem.kind,
        "title": problem.title,
        "status": problem.status,
        "detail": problem.detail,
        "instance": request.path,
    }
    if problem.errors:
        body["errors"] = [error.as_dict() for error in problem.errors]
    response = current_app.response_class(json.dumps(body), status=problem.status,
                                          mimetype=PROBLEM_JSON)
    response.headers.update(problem.headers)
    return response


#: Plain words for the HTTP errors Flask raises itself.
HTTP_DETAILS = {
    400: "The request could not be read.",
    401: "Send a valid API key: Authorization: Bearer <key>.",
    403: "This key may not do that.",
    404: "There is no such resource at this URL.",
    405: "This URL does not take that method.",
    413: "The request body is too large.",
    415: "Send the body as JSON (Content-Type: application/json).",
    429: "Too many requests with this key; wait and try again.",
    500: "Something went wrong on our side; nothing about your request was wrong. "
         "If it sent messages, their states tell the truth.",
}


def from_http_exception(error: HTTPException) -> ApiProblem:
    """A Werkzeug/Flask HTTP error (404, 405, 429, …) as a problem."""
    status = error.code or 500
    headers = {}
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        headers["Allow"] = ", ".join(sorted(error.valid_methods))
    detail = HTTP_DETAILS.get(status) or (error.description or error.name)
    return ApiProblem(status, error.name, detail, headers=headers)


def unexpected() -> ApiProblem:
    """The problem for an exception nobody expected (logged by Flask, never shown)."""
    return ApiProblem(500, "Internal Server Error", HTTP_DETAILS[500])


def validation_problem(errors: Sequence[FieldError], detail: str | None = None) -> ApiProblem:
    """422: the request was read, but some of its values are refused."""
    return ApiProblem(422, "Invalid request", detail or "Some values of the request are "
                      "refused; nothing was sent. See errors.", kind="validation",
                      errors=list(errors))


def refusal_errors(refusals: Iterable[Refusal]) -> list[FieldError]:
    """The refusals of ``compose.rules`` as field errors (``message`` is the API's ``text``)."""
    errors = []
    for refusal in refusals:
        name = "text" if refusal.field == "message" else refusal.field
        pointer = f"/{name}" + (f"/{refusal.index}" if refusal.index is not None else "")
        errors.append(FieldError(refusal.message, pointer=pointer, value=refusal.value))
    return errors


def pydantic_errors(raw_errors: Iterable[dict[str, Any]], location: str) -> list[FieldError]:
    """Pydantic's errors as field errors: pointers into the body, or parameter names."""
    errors = []
    for raw in raw_errors:
        path = [str(part) for part in raw.get("loc", ()) if part not in ("body",)]
        detail = raw.get("msg", "Invalid value")
        if location == "body":
            errors.append(FieldError(detail, pointer="/" + "/".join(path)))
        else:
            errors.append(FieldError(detail, parameter=path[0] if path else None))
    return errors
