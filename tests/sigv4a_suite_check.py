#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""Checks sesd's SigV4a verifier (tests/sesd/sesd.py: sigv4a_private_key,
verify_sigv4a) against AWS's v4a suite in tests/data/sigv4a, so the test
server that judges ses-relay's signatures is itself right: for every case
with AWS's expectations, the public key derived here is AWS's, the canonical
request and string to sign that botocore builds are AWS's, AWS's own signed
request verifies, and the same request with one signature bit flipped, with
another signed header value, or claiming another region set does not.

The seven "-unnormalized" cases keep "." and ".." path segments (S3
style); botocore, like SES, normalizes paths, so they are skipped here (the
C signer passes them in tests/unit/test_sigv4a.c).

Prints TAP."""
import json
import os
import sys
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "sesd"))
import sesd  # noqa: E402

SUITE = os.path.join(HERE, "data", "sigv4a")
n = failed = 0


def ok(cond, what):
    global n, failed
    n += 1
    print(("ok" if cond else "not ok") + f" {n} - {what}")
    failed += 0 if cond else 1


def parse(text):
    """A signed request of the suite: method, raw target, lower-case
    headers (repeated names joined with ','), body."""
    head, _, body = text.partition("\n\n")
    lines = head.split("\n")
    method, rest = lines[0].split(" ", 1)
    target = rest.rsplit(" ", 1)[0]
    if "?" in target:  # a query travels percent-encoded (the path as is:
        path, query = target.split("?", 1)  # botocore encodes it)
        target = path + "?" + urllib.parse.quote(query, safe="=&%-_.~")
    headers = {}
    last = None
    for line in lines[1:]:
        if line[:1] in (" ", "\t"):
            headers[last] += "\n" + line
            continue
        name, value = line.split(":", 1)
        last = name.lower()
        headers[last] = headers[last] + "," + value if last in headers else value
    return method, target, headers, body.encode()


for case in sorted(os.listdir(SUITE)):
    d = os.path.join(SUITE, case)
    if not os.path.isfile(os.path.join(d, "header-signed-request.txt")):
        continue
    ctx = json.load(open(os.path.join(d, "context.json")))
    creds = ctx["credentials"]
    akid, secret = creds["access_key_id"], creds["secret_access_key"]
    token = creds.get("token") if not ctx.get("omit_session_token") else None
    pub = json.load(open(os.path.join(d, "public-key.json")))
    numbers = sesd.sigv4a_private_key(akid, secret).public_key().public_numbers()
    ok("%064x" % numbers.x == pub["X"] and "%064x" % numbers.y == pub["Y"],
       f"{case}: the derived public key is AWS's")
    if not ctx.get("normalize", True):
        continue
    method, target, headers, body = parse(
        open(os.path.join(d, "header-signed-request.txt"), encoding="utf-8").read())
    names = headers["authorization"].split("SignedHeaders=")[1].split(",")[0]
    cr, sts = sesd.sigv4a_string_to_sign(akid, secret, token, ctx["service"],
                                         method, target, headers,
                                         names.split(";"), body)
    ok(cr == open(os.path.join(d, "header-canonical-request.txt"),
                  encoding="utf-8").read(),
       f"{case}: botocore's canonical request is AWS's")
    ok(sts == open(os.path.join(d, "header-string-to-sign.txt")).read(),
       f"{case}: the string to sign is AWS's")
    keys = {akid: (secret, token or "")}
    region = ctx["region"]
    got, why = sesd.verify_sigv4a(keys, method, target, headers, body, region)
    ok(got == akid, f"{case}: AWS's signed request verifies ({why})")
    bad = dict(headers)
    sig = bad["authorization"][-2:]
    bad["authorization"] = bad["authorization"][:-2] + "%02x" % (int(sig, 16) ^ 1)
    ok(sesd.verify_sigv4a(keys, method, target, bad, body, region)[0] is None,
       f"{case}: a flipped signature bit is refused")
    bad = dict(headers, **{"x-amz-date": "20150830T123601Z"})
    ok(sesd.verify_sigv4a(keys, method, target, bad, body, region)[0] is None,
       f"{case}: another signed header value is refused")
    ok(sesd.verify_sigv4a(keys, method, target, headers, body, "*")[0] is None,
       f"{case}: a signature for {region} is refused where * is required")

print(f"1..{n}")
sys.exit(1 if failed or n < 100 else 0)
