#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""sns_sign - SES notifications and signed SNS envelopes for the tests.

Signs like Amazon SNS with a key of our own; its certificate goes into
ses-feedback's certificate cache under the name ses-feedback looks for
(sha256 of the SigningCertURL + ".pem"), so no network is needed.

    sns_sign.py keygen DIR CERT_URL
        DIR/key.pem, and the certificate as DIR/<sha256(url)>.pem
    sns_sign.py bounce FIXTURE MESSAGE_ID SOURCE RCPT FEEDBACK_ID [QUEUE_ID]
        a bounce notification from FIXTURE with those values
    sns_sign.py envelope KEY TOPIC CERT_URL SNS_MESSAGE_ID FILE [VERSION]
        a Notification envelope around FILE's content (VERSION 1 or 2)
    sns_sign.py subscription KEY TOPIC CERT_URL SNS_MESSAGE_ID SUBSCRIBE_URL
        a SubscriptionConfirmation
    SNS_TIMESTAMP_OFFSET=SECONDS in the environment moves the Timestamp
    (e.g. -1296000: published 15 days ago).
"""
import base64
import datetime
import hashlib
import json
import os
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID


def keygen(directory, url):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .sign(key, hashes.SHA256()))
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "key.pem"), "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    cache_name = hashlib.sha256(url.encode()).hexdigest() + ".pem"
    with open(os.path.join(directory, cache_name), "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))


def timestamp():
    """Now, or SNS_TIMESTAMP_OFFSET seconds from now (negative: the past),
    as SNS writes it."""
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(
        seconds=int(os.environ.get("SNS_TIMESTAMP_OFFSET", "0")))
    return t.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def sign(keyfile, version, fields, order):
    with open(keyfile, "rb") as f:
        key = serialization.load_pem_private_key(f.read(), None)
    text = "".join(f"{k}\n{fields[k]}\n" for k in order if k in fields)
    digest = hashes.SHA1() if version == "1" else hashes.SHA256()
    sig = key.sign(text.encode(), padding.PKCS1v15(), digest)
    return base64.b64encode(sig).decode()


def envelope(keyfile, topic, cert_url, msg_id, path, version="1"):
    with open(path) as f:
        message = f.read()
    fields = {"Type": "Notification", "MessageId": msg_id, "TopicArn": topic,
              "Message": message,
              "Timestamp": timestamp(),
              "SignatureVersion": version, "SigningCertURL": cert_url,
              "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe"}
    fields["Signature"] = sign(keyfile, version, fields,
                               ["Message", "MessageId", "Subject", "Timestamp",
                                "TopicArn", "Type"])
    return fields


def subscription(keyfile, topic, cert_url, msg_id, subscribe_url):
    fields = {"Type": "SubscriptionConfirmation", "MessageId": msg_id,
              "Token": "2336412f37fb687f5d51e6e2425c464de12884a8",
              "TopicArn": topic,
              "Message": f"You have chosen to subscribe to the topic {topic}.",
              "SubscribeURL": subscribe_url,
              "Timestamp": datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%S.000Z"),
              "SignatureVersion": "1", "SigningCertURL": cert_url}
    fields["Signature"] = sign(keyfile, "1", fields,
                               ["Message", "MessageId", "SubscribeURL",
                                "Timestamp", "Token", "TopicArn", "Type"])
    return fields


def bounce(fixture, message_id, source, rcpt, feedback_id, queue_id=None):
    with open(fixture) as f:
        n = json.load(f)
    n["mail"]["messageId"] = message_id
    n["mail"]["source"] = source
    n["mail"]["destination"] = [rcpt]
    n["bounce"]["bouncedRecipients"][0]["emailAddress"] = rcpt
    n["bounce"]["feedbackId"] = feedback_id
    if queue_id:
        n["mail"]["tags"] = {"mta-queue-id": [queue_id]}
    return n


def main(argv):
    cmd = argv[1]
    if cmd == "keygen":
        keygen(argv[2], argv[3])
        return 0
    if cmd == "bounce":
        out = bounce(*argv[2:])
    elif cmd == "envelope":
        out = envelope(*argv[2:])
    elif cmd == "subscription":
        out = subscription(*argv[2:])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    json.dump(out, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
