# SPDX-License-Identifier: BSD-2-Clause
"""sesd module: Amazon SNS fan-out to SQS queues, and the bounces SES
publishes for what it accepted.

A fleet of mail hosts on one SES account has one SNS topic and one SQS
queue per host subscribed to it (contrib/cloudformation); every queue gets
every notification. Here a topic is a list of queue paths, and delivery is
raw (the SQS message body is the SES JSON, as with RawMessageDelivery).

State (POST /_control/state):
    sns_fanout  {"TOPIC_ARN": ["/ACCOUNT/QUEUE", ...]}
    ses_bounce  {"pattern": REGEX, "topic": TOPIC_ARN,
                 "format": "event" | "notification"}
                every accepted send with destinations matching REGEX
                (re.search, case-insensitive) publishes one permanent bounce
                for them to the topic: in the event-publishing format with
                the message's tags echoed (mta-host, mta-queue-id,
                ses:configuration-set), as a configuration set's event
                destination does, or ("notification") as an identity
                notification, which carries no tags. mail.source is the
                envelope sender written "Sender Name <address>", as in AWS's
                own example.

Control (unsigned):
    POST /_sns/publish/TOPIC_ARN   body = the message; {"MessageId",
                                   "queues": N}
    GET  /_sns/published           the messages published, in order, with
                                   the time and topic of each
"""
import datetime
import json
import re
import time
import urllib.parse
import uuid

import sesd_sqs


def _iso(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc) \
        .strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def publish(server, topic, body):
    """Delivers body to every queue subscribed to topic; the count."""
    mid = str(uuid.uuid4())
    with server.lock:
        queues = list(server.state.get("sns_fanout", {}).get(topic, []))
        server.state.setdefault("sns_published", []).append(
            {"time": time.time(), "topic": topic, "MessageId": mid,
             "body": body})
        for path in queues:
            sesd_sqs._queue(server, path)["messages"].append(
                {"MessageId": str(uuid.uuid4()), "Body": body, "receipts": [],
                 "receive_count": 0, "invisible_until": 0})
    return mid, len(queues)


def _subject(raw):
    m = re.search(rb"^Subject: ?(.*?)\r?$", raw, re.M | re.I)
    return m.group(1).decode("latin-1") if m else ""


def ses_accepted(server, entry, raw):
    """Called by sesd_ses for every accepted send."""
    with server.lock:
        sim = dict(server.state.get("ses_bounce") or {})
    if not sim.get("pattern") or not sim.get("topic"):
        return
    bounced = [d for d in entry["destinations"]
               if re.search(sim["pattern"], d, re.I)]
    if not bounced:
        return
    now = time.time()
    sender = entry.get("from") or ""
    mail = {"timestamp": _iso(now - 1),
            "source": "Sender Name <%s>" % sender if sender else "",
            "sourceArn": "arn:aws:ses:us-east-1:123456789012:identity/%s"
                         % sender.rpartition("@")[2],
            "sendingAccountId": "123456789012",
            "messageId": entry["message_id"],
            "destination": entry["destinations"],
            "headersTruncated": False,
            "headers": [{"name": "Subject", "value": _subject(raw)}],
            "commonHeaders": {"subject": _subject(raw)}}
    bounce = {"bounceType": "Permanent", "bounceSubType": "General",
              "bouncedRecipients": [
                  {"emailAddress": d, "action": "failed", "status": "5.1.1",
                   "diagnosticCode": "smtp; 550 5.1.1 user unknown"}
                  for d in bounced],
              "timestamp": _iso(now), "feedbackId": str(uuid.uuid4()),
              "reportingMTA": "dsn; sesd.example"}
    if sim.get("format") == "notification":
        note = {"notificationType": "Bounce", "bounce": bounce, "mail": mail}
    else:
        tags = {k: [v] for k, v in (entry.get("tags") or {}).items()}
        if entry.get("configuration_set"):
            tags["ses:configuration-set"] = [entry["configuration_set"]]
        mail["tags"] = tags
        note = {"eventType": "Bounce", "bounce": bounce, "mail": mail}
    publish(server, sim["topic"], json.dumps(note))


def control_publish(server, req):
    topic = urllib.parse.unquote(req.path[len("/_sns/publish/"):])
    mid, n = publish(server, topic, req.body.decode())
    return 200, {}, json.dumps({"MessageId": mid, "queues": n}).encode()


def control_published(server, req):
    with server.lock:
        out = list(server.state.get("sns_published", []))
    return 200, {}, json.dumps(out).encode()


ROUTES = [
    ("control-sns-publish", "POST", r"/_sns/publish/.+", control_publish,
     False),
    ("control-sns-published", "GET", r"/_sns/published", control_published,
     False),
]
