# SPDX-License-Identifier: BSD-2-Clause
"""sesd module: Amazon SES sending, API v2 SendEmail and v1 SendRawEmail.

Requests are checked against botocore's own models of the two operations
(unknown or mistyped parameters are refused as SES would refuse them), the
raw message must be valid base64, and SES's limits hold: 1-50 destinations
per call, 10 MB (v1) or 40 MB (v2) of base64.

State knobs (POST /_control/state):
    throttle_rate    N: a token bucket of N recipients per second (capacity
                     N, like SES's maximum send rate); calls above it are
                     refused as SES refuses them - v2 429
                     TooManyRequestsException, v1 400 Throttling, "Maximum
                     sending rate exceeded." 0 or unset: no limit.
    bad_addresses    list of addresses refused as "Illegal address"
    max_encoded_v2   base64 bytes v2 accepts (41943040, SES's 40 MB); 0
                     lifts the limit (for memory measurements with larger
                     messages)
    max_encoded_v1   likewise for v1 (10485760)
    refuse_duplicates  true: a message repeating one of the fields real SES
                     refuses twice (DKIM-Signature, Delivered-To, the RFC
                     5322 single fields, Content-Type, MIME-Version,
                     List-Unsubscribe) is refused as SES words it: v1
                     InvalidParameterValue, v2 BadRequestException,
                     "Duplicate header 'NAME'."

What was sent: GET /_sent, a list of {"api", "destinations", "from",
"configuration_set", "tags", "params" (the other request parameters),
"size", "sha256", up to 2 MB "raw" (latin-1) and, for sends accepted under
a fault_mix "slow" or "drop" outcome, "mix"}. Throttled calls are in
the request log with "fault": "throttled".
"""
import base64
import hashlib
import json
import os
import re
import threading
import time

import botocore.session
from botocore.validate import ParamValidator

import sesd_sns
from sesd import aws_error, state_list

_models = botocore.session.get_session()
_V2 = _models.get_service_model("sesv2").operation_model("SendEmail").input_shape
_V1 = _models.get_service_model("ses").operation_model("SendRawEmail").input_shape
_bucket_lock = threading.Lock()


def _message_id(server):
    return "%016x-%08x-sesd-%06d" % (int.from_bytes(os.urandom(8), "big"),
                                      int.from_bytes(os.urandom(4), "big"),
                                      server.next_id())


def _throttled(server, cost):
    """Token bucket of state["throttle_rate"] recipients per second."""
    rate = float(server.state.get("throttle_rate") or 0)
    if rate <= 0:
        return False
    now = time.monotonic()
    with _bucket_lock:
        b = server.state.setdefault("_bucket", {"tokens": rate, "t": now})
        b["tokens"] = min(rate, b["tokens"] + (now - b["t"]) * rate)
        b["t"] = now
        if b["tokens"] < cost - 1e-9:
            return True
        b["tokens"] -= cost
        return False


def _check(server, api, params, dests, encoded_len):
    """Common SES checks; an error answer or None."""
    proto = "xml" if api == "v1" else "json"
    bad_param = "InvalidParameterValue" if api == "v1" else "BadRequestException"
    report = ParamValidator().validate(params, _V1 if api == "v1" else _V2)
    if report.has_errors():
        code = "ValidationError" if api == "v1" else "BadRequestException"
        return aws_error(400, code, report.generate_report().replace("\n", " "),
                         proto)
    if not dests or len(dests) > 50:
        return aws_error(400, bad_param,
                         "1 to 50 destinations are allowed per call", proto)
    bad = set(server.state.get("bad_addresses", []))
    for d in dests:
        if d in bad or "@" not in d or " " in d:
            return aws_error(400, bad_param, "Illegal address", proto)
    limit = int(server.state.get(f"max_encoded_{api}",
                                 10485760 if api == "v1" else 41943040))
    if limit and encoded_len > limit:
        return aws_error(400, bad_param,
                         f"Message length is more than {limit} bytes long: "
                         f"'{encoded_len}'.", proto)
    if _throttled(server, len(dests)):
        return "throttled"
    return None


UNIQUE_FIELDS = {"dkim-signature", "delivered-to", "from", "sender",
                 "reply-to", "to", "cc", "bcc", "subject", "date",
                 "message-id", "in-reply-to", "references", "content-type",
                 "mime-version", "list-unsubscribe"}


def _duplicate(server, api, raw):
    """SES's answer to a message repeating a field it wants once, or None."""
    if not server.state.get("refuse_duplicates"):
        return None
    head = raw.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0]
    seen = set()
    for line in head.split(b"\n"):
        if not line or line[:1] in (b" ", b"\t") or b":" not in line:
            continue
        name = line.split(b":", 1)[0].strip().decode("latin-1")
        if name.lower() in UNIQUE_FIELDS:
            if name.lower() in seen:
                return aws_error(400, "InvalidParameterValue" if api == "v1"
                                 else "BadRequestException",
                                 f"Duplicate header '{name}'.",
                                 "xml" if api == "v1" else "json")
            seen.add(name.lower())
    return None


def _record(server, api, dests, raw, sender, cset, tags, params, mix=None):
    """Records an accepted send and returns its MessageId; SES's bounces
    for it follow (sesd_sns.ses_accepted)."""
    entry = {"api": api, "destinations": dests, "from": sender,
             "configuration_set": cset, "tags": tags, "params": params,
             "size": len(raw), "sha256": hashlib.sha256(raw).hexdigest(),
             "message_id": _message_id(server)}
    if mix:
        entry["mix"] = mix  # fault_mix: the client may not see the answer
    if len(raw) <= 2 * 1024 * 1024:
        entry["raw"] = raw.decode("latin-1")
    with server.lock:
        server.state.setdefault("sent", []).append(entry)
    sesd_sns.ses_accepted(server, entry, raw)
    return entry["message_id"]


def _throttle_answer(server, req, api):
    with server.lock:
        req.rec["fault"] = "throttled"
    if api == "v1":
        return aws_error(400, "Throttling", "Maximum sending rate exceeded.",
                         "xml")
    return aws_error(429, "TooManyRequestsException",
                     "Maximum sending rate exceeded.")


def send_v2(server, req):
    try:
        body = req.json()
        encoded = body["Content"]["Raw"]["Data"]
        data = base64.b64decode(encoded, validate=True)
    except (ValueError, KeyError, TypeError):
        return aws_error(400, "BadRequestException",
                         "Raw content is missing or not base64")
    dests = body.get("Destination", {}).get("ToAddresses", [])
    # TenantName (2025) is newer than some botocore models: checked here
    tenant = body.pop("TenantName", None) if "TenantName" not in _V2.members else None
    if tenant is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", str(tenant)):
        return aws_error(400, "BadRequestException", "Invalid TenantName")
    err = _check(server, "v2", body, dests, len(encoded)) or \
        _duplicate(server, "v2", data)
    if tenant is not None:
        body["TenantName"] = tenant
    if err == "throttled":
        return _throttle_answer(server, req, "v2")
    if err:
        return err
    params = {k: v for k, v in body.items()
              if k not in ("Content", "Destination", "EmailTags",
                           "FromEmailAddress", "ConfigurationSetName")}
    mid = _record(server, "v2", dests, data, body.get("FromEmailAddress"),
                  body.get("ConfigurationSetName"),
                  {t["Name"]: t["Value"] for t in body.get("EmailTags", [])},
                  params, req.mix)
    return 200, {}, json.dumps({"MessageId": mid}).encode()


def _v1_params(form):
    """The flattened query form back into SendRawEmail parameters; unknown
    keys are kept so the model check refuses them."""
    params, dests, tags = {}, {}, {}
    for k, v in form.items():
        parts = k.split(".")
        if k in ("Action", "Version"):
            continue
        if len(parts) == 3 and parts[:2] == ["Destinations", "member"]:
            dests[int(parts[2])] = v
        elif len(parts) == 4 and parts[:2] == ["Tags", "member"]:
            tags.setdefault(int(parts[2]), {})[parts[3]] = v
        elif k == "RawMessage.Data":
            params["RawMessage"] = {"Data": v}
        else:
            params[k] = v
    if sorted(dests) != list(range(1, len(dests) + 1)):
        raise ValueError("Destinations.member.N must count from 1")
    if sorted(tags) != list(range(1, len(tags) + 1)):
        raise ValueError("Tags.member.N must count from 1")
    if dests:
        params["Destinations"] = [dests[i] for i in sorted(dests)]
    if tags:
        params["Tags"] = [tags[i] for i in sorted(tags)]
    return params


def send_v1(server, req):
    form = req.form()
    if form.get("Action") != "SendRawEmail":
        return aws_error(400, "InvalidAction", "only SendRawEmail here", "xml")
    if form.get("Version") != "2010-12-01":
        return aws_error(400, "InvalidParameterValue", "Version must be "
                         "2010-12-01", "xml")
    try:
        params = _v1_params(form)
        encoded = form["RawMessage.Data"]
        data = base64.b64decode(encoded, validate=True)
    except (ValueError, KeyError):
        return aws_error(400, "InvalidParameterValue",
                         "RawMessage.Data is not base64 or a list is "
                         "malformed", "xml")
    dests = params.get("Destinations", [])
    err = _check(server, "v1", params, dests, len(encoded)) or \
        _duplicate(server, "v1", data)
    if err == "throttled":
        return _throttle_answer(server, req, "v1")
    if err:
        return err
    tags = {t.get("Name"): t.get("Value") for t in params.get("Tags", [])}
    rest = {k: v for k, v in params.items()
            if k not in ("RawMessage", "Destinations", "Tags", "Source",
                         "ConfigurationSetName")}
    mid = _record(server, "v1", dests, data, params.get("Source"),
                  params.get("ConfigurationSetName"), tags, rest, req.mix)
    body = ('<SendRawEmailResponse xmlns="http://ses.amazonaws.com/doc/2010-12-01/">'
            f'<SendRawEmailResult><MessageId>{mid}</MessageId></SendRawEmailResult>'
            f'<ResponseMetadata><RequestId>{os.urandom(8).hex()}</RequestId>'
            '</ResponseMetadata></SendRawEmailResponse>')
    return 200, {"Content-Type": "text/xml"}, body.encode()


ROUTES = [
    ("ses-send-v2", "POST", r"/v2/email/outbound-emails", send_v2, True),
    ("ses-send-v1", "POST", r"/", send_v1, True),
    ("control-sent", "GET", r"/_sent", state_list("sent"), False),
]
