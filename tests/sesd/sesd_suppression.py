# SPDX-License-Identifier: BSD-2-Clause
"""sesd module: the SESv2 account-level suppression list.

    GET    /v2/email/suppression/addresses          ListSuppressedDestinations
           (PageSize 1..1000, default 1000; NextToken; Reasons)
    PUT    /v2/email/suppression/addresses          PutSuppressedDestination
           {"EmailAddress", "Reason": BOUNCE|COMPLAINT}
    GET    /v2/email/suppression/addresses/ADDR     GetSuppressedDestination
    DELETE /v2/email/suppression/addresses/ADDR     DeleteSuppressedDestination

All signed (SigV4, service ses). Entries live in server.state["suppression"]
keyed by the lower-cased address; LastUpdateTime is epoch seconds, as the
REST-JSON protocol writes timestamps. Addresses compare case-insensitively
as in SES.

Control (unsigned):
    POST /_suppression   JSON list of {"EmailAddress", "Reason",
                         "LastUpdateTime"}: replaces the list
    GET  /_suppression   the list, sorted by address
"""
import base64
import json
import time
import urllib.parse

from sesd import aws_error

BASE = r"/v2/email/suppression/addresses"


def _list(server):
    return server.state.setdefault("suppression", {})


def _ok(obj):
    return 200, {"Content-Type": "application/json"}, json.dumps(obj).encode()


def list_destinations(server, req):
    q = {k: v[0] for k, v in req.query.items()}
    try:
        size = int(q.get("PageSize", "1000"))
        start = int(base64.b64decode(q["NextToken"]).decode()) if "NextToken" in q else 0
    except (ValueError, KeyError):
        return aws_error(400, "BadRequestException", "bad PageSize or NextToken")
    if not 1 <= size <= 1000:
        return aws_error(400, "BadRequestException", "PageSize must be 1..1000")
    reasons = set(req.query.get("Reasons", []))
    with server.lock:
        items = sorted(_list(server).items())
    items = [v for _, v in items if not reasons or v["Reason"] in reasons]
    page = items[start:start + size]
    out = {"SuppressedDestinationSummaries": page}
    if start + size < len(items):
        out["NextToken"] = base64.b64encode(str(start + size).encode()).decode()
    return _ok(out)


def put_destination(server, req):
    try:
        body = req.json()
    except ValueError:
        return aws_error(400, "BadRequestException", "body is not JSON")
    addr, reason = body.get("EmailAddress"), body.get("Reason")
    if not isinstance(addr, str) or "@" not in addr or reason not in ("BOUNCE", "COMPLAINT"):
        return aws_error(400, "BadRequestException",
                         "EmailAddress and Reason (BOUNCE|COMPLAINT) are required")
    with server.lock:
        _list(server)[addr.lower()] = {"EmailAddress": addr, "Reason": reason,
                                       "LastUpdateTime": time.time()}
    return _ok({})


def _addr(req):
    return urllib.parse.unquote(req.path[len(BASE) + 1:]).lower()


def get_destination(server, req):
    with server.lock:
        v = _list(server).get(_addr(req))
    if v is None:
        return aws_error(404, "NotFoundException", "Email address not found")
    return _ok({"SuppressedDestination": v})


def delete_destination(server, req):
    with server.lock:
        v = _list(server).pop(_addr(req), None)
    if v is None:
        return aws_error(404, "NotFoundException", "Email address not found")
    return _ok({})


def control_set(server, req):
    entries = json.loads(req.body or b"[]")
    with server.lock:
        server.state["suppression"] = {e["EmailAddress"].lower(): e for e in entries}
    return _ok({})


def control_get(server, req):
    with server.lock:
        items = [v for _, v in sorted(_list(server).items())]
    return _ok(items)


ROUTES = [
    ("suppression-list", "GET", BASE, list_destinations, True),
    ("suppression-put", "PUT", BASE, put_destination, True),
    ("suppression-get", "GET", BASE + r"/[^/]+", get_destination, True),
    ("suppression-delete", "DELETE", BASE + r"/[^/]+", delete_destination, True),
    ("control-suppression-set", "POST", r"/_suppression", control_set, False),
    ("control-suppression-get", "GET", r"/_suppression", control_get, False),
]
