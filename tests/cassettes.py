"""vcrpy set up so that a recorded cassette holds no secret and no buyer data.

vcrpy filters nothing by default (shared/reference/reliability.md §3 "Test cassettes"),
and header and query filters alone once leaked a token a server echoed in its body
(shared/DESIGN.md pitfalls). So ``recorder`` filters:

- headers (``Authorization`` and the other ``SECRET_HEADERS``) and query parameters (every
  name in ``connectors._http.redaction.SENSITIVE_KEYS``: ``sign``, ``access_token``, ...);
- request and response bodies: JSON keys that name a secret or buyer data are replaced,
  and any secret value this process has handed a connector is replaced wherever it sits;
- requests to any host but the sandboxes named (Prefect's own API calls are never recorded);
- vcrpy's own log: it logs every recorded request and response body at INFO *before*
  the filters run, so its loggers are held at WARNING.

``leaks`` is the check CI runs over every cassette and fixture (S-5): secret-looking
values, Authorization headers, Indonesian phone numbers and e-mail addresses outside
``example.com``.

Example::

    with recorder(tmp_path, hosts=[server.url]).use_cassette("shopee-sync.yaml"):
        engine.run(SyncRequest("toko-s"))
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import vcr

from connectors._http.redaction import REDACTED, SENSITIVE_KEYS, known_secrets, redact_text

SECRET_HEADERS = ("authorization", "x-api-key", "cookie", "set-cookie", "x-tts-access-token", "proxy-authorization")
PII_KEYS = frozenset(
    {"phone", "email", "first_name", "last_name", "address_1", "address_2", "full_address", "buyer_username", "buyer_user_name", "username",
     "customer_ip_address", "customer_user_agent", "dropshipper", "dropshipper_phone", "recipient_name"}
)
PHONE = re.compile(r"(?<![\dA-Za-z])(\+62|62|0)8\d{7,11}(?!\d)")  # a standalone number: an airway bill such as SPXIDR0803... is none
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@(?!example\.(?:com|org|net)\b)[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
AUTH_HEADER = re.compile(r"(?i)\b(Basic|Bearer)\s+[A-Za-z0-9+/=._-]{8,}")
SECRET_PARAM = re.compile(r"(?i)\b(" + "|".join(sorted(SENSITIVE_KEYS)) + r")[\"']?\s*[=:]\s*[\"']?(?!REDACTED)[A-Za-z0-9+/=._-]{8,}")


def scrub_json(value: Any, *, in_address: bool = False) -> Any:
    """Secrets and buyer fields replaced, recursively; ``name`` only inside an address."""
    if isinstance(value, dict):
        address = in_address or "phone" in value
        return {
            k: REDACTED if (k.lower() in SENSITIVE_KEYS or k in PII_KEYS or (address and k == "name")) and v not in ("", None) else scrub_json(v, in_address=address)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [scrub_json(v, in_address=in_address) for v in value]
    if isinstance(value, str):
        return _scrub_values(value)
    return value


_JSON_PAIR = re.compile(r'"(' + "|".join(sorted(PII_KEYS | SENSITIVE_KEYS | {"name"})) + r')"(\s*:\s*)"(?:[^"\\]|\\.)*"?')


def scrub_text(text: str) -> str:
    """For text that is not JSON (a truncated body): key-value pairs by pattern, then values."""
    return _scrub_values(_JSON_PAIR.sub(lambda m: f'"{m.group(1)}"{m.group(2)}"{REDACTED}"', text))


def _scrub_values(text: str) -> str:
    """Known secrets, phone numbers and e-mail addresses, wherever they sit."""
    return EMAIL.sub(REDACTED, PHONE.sub(REDACTED, redact_text(text, known_secrets())))


def scrub_body(body: bytes | str | None) -> bytes | str | None:
    if not body:
        return body
    raw = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        cleaned = json.dumps(scrub_json(json.loads(raw)), separators=(",", ":"))
    except ValueError:
        cleaned = scrub_text(raw)
    return cleaned.encode() if isinstance(body, bytes) else cleaned


def recorder(directory: Path, hosts: Iterable[str], *, record_mode: str = "all") -> vcr.VCR:
    """A VCR that records only the named sandboxes (base URLs or host:port), scrubbed."""
    allowed = {urlsplit(h).netloc or h for h in hosts}
    logging.getLogger("vcr").setLevel(logging.WARNING)

    def before_request(request: Any) -> Any:
        if urlsplit(request.uri).netloc not in allowed:
            return None  # not a channel: Prefect's API, the database, ...
        request.body = scrub_body(request.body)
        return request

    def before_response(response: dict[str, Any]) -> dict[str, Any]:
        body = response.get("body") or {}
        body["string"] = scrub_body(body.get("string"))
        response["body"] = body
        response["headers"] = {k: v for k, v in (response.get("headers") or {}).items() if k.lower() not in SECRET_HEADERS}
        return response

    return vcr.VCR(
        cassette_library_dir=str(directory),
        record_mode=record_mode,
        decode_compressed_response=True,
        filter_headers=[(h, REDACTED) for h in SECRET_HEADERS],
        filter_query_parameters=[(k, REDACTED) for k in sorted(SENSITIVE_KEYS)],
        filter_post_data_parameters=[(k, REDACTED) for k in sorted(SENSITIVE_KEYS)],
        before_record_request=before_request,
        before_record_response=before_response,
        match_on=("method", "path"),
    )


def leaks(text: str) -> list[str]:
    """What in ``text`` looks like a secret or buyer data (empty: clean)."""
    found = []
    for pattern in (AUTH_HEADER, SECRET_PARAM, PHONE, EMAIL):
        found += [m.group(0)[:40] for m in pattern.finditer(text)]
    found += [s[:6] + "..." for s in known_secrets() if s in text]
    return found
