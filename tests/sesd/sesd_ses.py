"""sesd module: Amazon SES sending, API v2 SendEmail and v1 SendRawEmail."""
import base64
import json
import os

from sesd import aws_error  # noqa: F401  (shared error format)


def _message_id(server):
    return "%016x-%08x-sesd-%06d" % (int.from_bytes(os.urandom(8), "big"),
                                      int.from_bytes(os.urandom(4), "big"),
                                      server.next_id())


def send_v2(server, req):
    try:
        body = req.json()
        data = base64.b64decode(body["Content"]["Raw"]["Data"], validate=True)
    except (ValueError, KeyError, TypeError):
        return aws_error(400, "BadRequestException", "Raw content is missing or not base64")
    dests = body.get("Destination", {}).get("ToAddresses", [])
    if not dests or len(dests) > 50:
        return aws_error(400, "BadRequestException",
                         "1 to 50 destinations are allowed per call")
    with server.lock:
        server.state.setdefault("sent", []).append(
            {"api": "v2", "destinations": dests, "raw": data.decode("latin-1"),
             "from": body.get("FromEmailAddress"),
             "configuration_set": body.get("ConfigurationSetName"),
             "tags": {t["Name"]: t["Value"] for t in body.get("EmailTags", [])}})
    return 200, {}, json.dumps({"MessageId": _message_id(server)}).encode()


def send_v1(server, req):
    form = req.form()
    if form.get("Action") != "SendRawEmail":
        return aws_error(400, "InvalidAction", "only SendRawEmail here", "xml")
    try:
        data = base64.b64decode(form["RawMessage.Data"], validate=True)
    except (ValueError, KeyError):
        return aws_error(400, "InvalidParameterValue", "RawMessage.Data is not base64", "xml")
    dests = [v for k, v in sorted(form.items(), key=lambda kv: kv[0])
             if k.startswith("Destinations.member.")]
    tags = {}
    i = 1
    while f"Tags.member.{i}.Name" in form:
        tags[form[f"Tags.member.{i}.Name"]] = form.get(f"Tags.member.{i}.Value")
        i += 1
    with server.lock:
        server.state.setdefault("sent", []).append(
            {"api": "v1", "destinations": dests, "raw": data.decode("latin-1"),
             "from": form.get("Source"),
             "configuration_set": form.get("ConfigurationSetName"), "tags": tags})
    mid = _message_id(server)
    body = ('<SendRawEmailResponse xmlns="http://ses.amazonaws.com/doc/2010-12-01/">'
            f'<SendRawEmailResult><MessageId>{mid}</MessageId></SendRawEmailResult>'
            f'<ResponseMetadata><RequestId>{os.urandom(8).hex()}</RequestId>'
            '</ResponseMetadata></SendRawEmailResponse>')
    return 200, {"Content-Type": "text/xml"}, body.encode()


def sent(server, req):
    with server.lock:
        return 200, {}, json.dumps(server.state.get("sent", [])).encode()


ROUTES = [
    ("ses-send-v2", "POST", r"/v2/email/outbound-emails", send_v2, True),
    ("ses-send-v1", "POST", r"/", send_v1, True),
    ("control-sent", "GET", r"/_sent", sent, False),
]
