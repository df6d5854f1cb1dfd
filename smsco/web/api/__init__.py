"""The JSON API (``/api/v1``) and delivery webhooks, so other systems send through the dashboard.

``keys`` — API keys (hashed, owned by a user, expiring, revocable) and the
Bearer check; ``problems`` — every error as RFC 9457 problem details;
``schemas`` — the request and answer models the OpenAPI document is made of;
``services`` — sending, campaigns, listing and idempotency over the outbox's
own services; ``routes`` — the endpoints; ``openapi`` — the document at
``/api/v1/openapi.json``; ``webhooks`` — events to deliveries, signed POSTs
with retries (a scheduler job); ``pages`` — key management, the docs page and
the delivery log in the dashboard.
"""
