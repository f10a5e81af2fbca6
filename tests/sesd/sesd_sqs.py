# SPDX-License-Identifier: BSD-2-Clause
"""sesd module: Amazon SQS, JSON 1.0 protocol, enough for ses-feedback -Q.

Requests (SigV4, service sqs) are POSTed to the queue URL's own path
(/ACCOUNT/NAME), as AWS accepts and some SDKs do, with X-Amz-Target
AmazonSQS.ReceiveMessage or AmazonSQS.DeleteMessage and the QueueUrl in the
JSON body. Queues are created on first use. Semantics that matter for an
at-least-once consumer are kept: a received message is invisible for the
visibility timeout and comes back unless deleted with a receipt handle;
after sqs_max_receive receives it moves to the queue's dead-letter list.

Knobs (POST /_control/state): sqs_visibility (seconds, default 30),
sqs_max_receive (default 3), sqs_max_wait (cap on WaitTimeSeconds, default
20), sqs_delete_hang (true: DeleteMessage calls wait while it stays true,
then fail with 500 without deleting - a consumer killed in the meantime
is one killed between applying a message and deleting it; the queue
listing's "delete_hung" counts such calls).

Control (unsigned):
    POST /_sqs/send/ACCOUNT/NAME     body = the message body; {"MessageId"}
    GET  /_sqs/queue/ACCOUNT/NAME    {"messages": [...], "deleted": [ids],
                                      "dlq": [...]} (bodies included)
"""
import base64
import hashlib
import json
import os
import time
import uuid

from sesd import aws_error

QUEUE_PATH = r"/\d{12}/[A-Za-z0-9_-]{1,80}"


def _queues(server):
    return server.state.setdefault("sqs", {})


def _queue(server, path):
    return _queues(server).setdefault(path, {"messages": [], "deleted": [],
                                             "dlq": []})


def _err(status, code, message):
    return aws_error(status, code, message, "json-type")


def _receive(server, path, body):
    try:
        want = int(body.get("MaxNumberOfMessages", 1))
        wait = float(body.get("WaitTimeSeconds", 0))
    except (TypeError, ValueError):
        return _err(400, "InvalidParameterValue", "bad number")
    if not 1 <= want <= 10 or not 0 <= wait <= 20:
        return _err(400, "InvalidParameterValue",
                    "MaxNumberOfMessages 1..10, WaitTimeSeconds 0..20")
    with server.lock:
        cap = float(server.state.get("sqs_max_wait", 20))
    deadline = time.time() + min(wait, cap)
    while True:
        out = []
        with server.lock:
            q = _queue(server, path)
            vis = float(server.state.get("sqs_visibility", 30))
            max_receive = int(server.state.get("sqs_max_receive", 3))
            now = time.time()
            for m in list(q["messages"]):
                if m["invisible_until"] > now:
                    continue
                if m["receive_count"] >= max_receive:
                    q["messages"].remove(m)
                    q["dlq"].append(m)
                    continue
                if len(out) == want:
                    break
                m["receive_count"] += 1
                m["invisible_until"] = now + vis
                handle = base64.b64encode(os.urandom(24)).decode()
                m["receipts"].append(handle)
                out.append({"MessageId": m["MessageId"], "ReceiptHandle": handle,
                            "MD5OfBody": hashlib.md5(m["Body"].encode()).hexdigest(),
                            "Body": m["Body"],
                            "Attributes": {"ApproximateReceiveCount":
                                           str(m["receive_count"])}})
        if out or time.time() >= deadline:
            return 200, {"Content-Type": "application/x-amz-json-1.0"}, \
                json.dumps({"Messages": out} if out else {}).encode()
        time.sleep(0.05)


def _delete(server, path, body):
    handle = body.get("ReceiptHandle")
    if not isinstance(handle, str) or not handle:
        return _err(400, "MissingParameter", "ReceiptHandle is required")
    if server.state.get("sqs_delete_hang"):
        with server.lock:
            q = _queue(server, path)
            q["delete_hung"] = q.get("delete_hung", 0) + 1
        while server.state.get("sqs_delete_hang"):
            time.sleep(0.05)
        return _err(500, "InternalError", "injected: delete not done")
    with server.lock:
        q = _queue(server, path)
        for m in q["messages"]:
            if handle in m["receipts"]:
                q["messages"].remove(m)
                q["deleted"].append(m["MessageId"])
                return 200, {"Content-Type": "application/x-amz-json-1.0"}, b"{}"
    return _err(400, "ReceiptHandleIsInvalid",
                "The input receipt handle is invalid.")


def sqs(server, req):
    try:
        body = req.json()
    except ValueError:
        return _err(400, "InvalidParameterValue", "body is not JSON")
    url = body.get("QueueUrl", "")
    if not isinstance(url, str) or not url.endswith(req.path):
        return _err(400, "QueueDoesNotExist",
                    "The specified queue does not exist.")
    if req.headers.get("content-type") != "application/x-amz-json-1.0":
        return _err(400, "InvalidParameterValue", "wrong Content-Type")
    action = req.headers.get("x-amz-target", "")
    if action == "AmazonSQS.ReceiveMessage":
        return _receive(server, req.path, body)
    if action == "AmazonSQS.DeleteMessage":
        return _delete(server, req.path, body)
    return _err(400, "InvalidAction", f"unsupported action {action}")


def control_send(server, req):
    path = req.path[len("/_sqs/send"):]
    mid = str(uuid.uuid4())
    with server.lock:
        _queue(server, path)["messages"].append(
            {"MessageId": mid, "Body": req.body.decode(), "receipts": [],
             "receive_count": 0, "invisible_until": 0})
    return 200, {}, json.dumps({"MessageId": mid}).encode()


def control_queue(server, req):
    path = req.path[len("/_sqs/queue"):]
    with server.lock:
        q = _queue(server, path)
        out = {k: [dict(m, receipts=len(m["receipts"])) if isinstance(m, dict)
                   else m for m in v] if isinstance(v, list) else v
               for k, v in q.items()}
    return 200, {}, json.dumps(out).encode()


ROUTES = [
    ("sqs", "POST", QUEUE_PATH, sqs, True,
     lambda headers, body: headers.get("x-amz-target", "").startswith("AmazonSQS.")),
    ("control-sqs-send", "POST", r"/_sqs/send" + QUEUE_PATH, control_send, False),
    ("control-sqs-queue", "GET", r"/_sqs/queue" + QUEUE_PATH, control_queue, False),
]
