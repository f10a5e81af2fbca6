#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""Cross-check ses-milter's SigV4 against botocore on the same requests.

Usage: sigv4_botocore.py PATH-TO-sigv4-sign
Prints TAP: one test per request. botocore is Debian's python3-botocore;
its SigV4Auth signs each request at a fixed time, our helper signs the same
request, and the two Authorization headers must be identical.
"""
import datetime
import json
import random
import subprocess
import sys
import urllib.parse

import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

AK = "AKIDEXAMPLE"
SK = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
TOKEN = ("IQoJb3JpZ2luX2VjEHoaCXVzLWVhc3QtMSJGMEQCIFNpZ25hdHVyZVRlc3RUb2tlbk"
         "==/+Session")


class FixedClock(datetime.datetime):
    fixed = datetime.datetime(2015, 8, 30, 12, 36, 0)

    @classmethod
    def utcnow(cls):
        return cls.fixed


botocore.auth.datetime.datetime = FixedClock


def botocore_sign(case):
    scheme = "https"
    url = f"{scheme}://{case['host']}{case['path']}"
    if case.get("query"):
        url += "?" + case["query"]
    req = AWSRequest(method=case["method"], url=url,
                     data=case["body"].encode())
    for name, value in case["headers"]:
        req.headers[name] = value  # HTTPMessage: appends, keeps repeats
    req.headers["Host"] = case["host"]
    creds = Credentials(case["access"], case["secret"],
                        case["token"] or None)
    FixedClock.fixed = datetime.datetime.utcfromtimestamp(case["time"])
    botocore.auth.SigV4Auth(creds, case["service"],
                            case["region"]).add_auth(req)
    return req.headers["Authorization"]


def cases():
    base = dict(method="POST", host="email.us-east-1.amazonaws.com",
                path="/v2/email/outbound-emails", query="",
                headers=[["Content-Type", "application/json"]],
                body='{"Content":{"Raw":{"Data":"SGVsbG8="}}}',
                access=AK, secret=SK, token="", region="us-east-1",
                service="ses", time=1440938160)
    yield "SES v2 send", base
    yield "SES v2 send with session token", dict(base, token=TOKEN)
    yield "empty body", dict(base, body="")
    yield "GET with empty body", dict(base, method="GET", body="",
                                     headers=[])
    yield "SES v1 form", dict(
        base, path="/", headers=[["Content-Type",
                                  "application/x-www-form-urlencoded"]],
        body="Action=SendRawEmail&Version=2010-12-01&"
             "RawMessage.Data=SGVsbG8%3D")
    yield "query string, sorted and repeated keys", dict(
        base, method="GET", body="", path="/v2/email/suppression/addresses",
        query="PageSize=100&NextToken=abc%2Bdef%3D&Reasons=BOUNCE&"
              "Reasons=COMPLAINT")
    yield "query with encoded space and tilde", dict(
        base, method="GET", body="", query="a=b%20c&z=~y&m=")
    yield "unusual header whitespace", dict(
        base, headers=[["Content-Type", "application/json"],
                       ["X-Custom", "  lots   of\tspace  here  "]])
    yield "header names in mixed case", dict(
        base, headers=[["cOnTeNt-TyPe", "application/json"],
                       ["X-Amz-Target", "AmazonSQS.ReceiveMessage"]])
    yield "SQS JSON protocol", dict(
        base, host="sqs.eu-west-1.amazonaws.com", path="/",
        region="eu-west-1", service="sqs",
        headers=[["Content-Type", "application/x-amz-json-1.0"],
                 ["X-Amz-Target", "AmazonSQS.ReceiveMessage"]],
        body='{"QueueUrl":"https://sqs.eu-west-1.amazonaws.com/1/q",'
             '"WaitTimeSeconds":20}')
    yield "STS service", dict(base, host="sts.amazonaws.com", path="/",
                              service="sts", body="Action=GetCallerIdentity")
    yield "host with port", dict(base, host="127.0.0.1:8443")
    yield "path needing encoding", dict(
        base, method="DELETE", body="",
        path="/v2/email/suppression/addresses/a%2Bb%40example.com")
    yield "dot segments in the path", dict(base, path="/v2/./email/../email/x")
    yield "different date and region", dict(base, region="ap-southeast-2",
                                            time=1767225599)
    yield "query with session token", dict(
        base, method="GET", body="", token=TOKEN,
        query="Action=ListIdentities&MaxItems=10&NextToken=x%2Fy%2Bz%3D")
    yield "query key without value and empty value", dict(
        base, method="GET", body="", query="flag&empty=&z=1")
    yield "query with reserved and non-ASCII bytes", dict(
        base, method="GET", body="",
        query="a=%21%2A%27%28%29&b=%E2%82%AC&c=-_.~&d=%20")
    yield "query sorted by key then value", dict(
        base, method="GET", body="", query="b=2&a=3&a=1&A=0&a=2")
    yield "header value with tabs and runs of spaces", dict(
        base, headers=[["Content-Type", "application/json"],
                       ["X-Amz-Meta-Note", "\t a \t  b   c\t"]])
    yield "empty header value", dict(
        base, headers=[["Content-Type", "application/json"],
                       ["X-Empty", ""]])
    yield "many headers", dict(
        base, headers=[["Content-Type", "application/json"]] +
        [[f"X-Amz-Meta-H{i}", f"v{i}  {i}"] for i in range(12)])
    yield "PUT with a JSON body (SESv2 suppression)", dict(
        base, method="PUT", path="/v2/email/suppression/addresses",
        body='{"EmailAddress":"a@example.com","Reason":"BOUNCE"}')
    yield "DELETE with empty body and token", dict(
        base, method="DELETE", body="", token=TOKEN,
        path="/v2/email/suppression/addresses/a%2Bb%40example.com")
    yield "PUT with empty body (IMDS style)", dict(
        base, method="PUT", body="", headers=[])
    yield "path with encoded space, unicode, tilde and plus", dict(
        base, method="GET", body="", path="/a%20b/caf%C3%A9/~x/+y/=z")
    yield "path with trailing slash", dict(base, path="/v2/email/")
    yield "long session token", dict(base, token=TOKEN * 20)
    yield "SQS SendMessage with token", dict(
        base, host="sqs.us-west-2.amazonaws.com", path="/",
        region="us-west-2", service="sqs", token=TOKEN,
        headers=[["Content-Type", "application/x-amz-json-1.0"],
                 ["X-Amz-Target", "AmazonSQS.DeleteMessage"]],
        body='{"QueueUrl":"q","ReceiptHandle":"AQEB+/=="}')
    yield "STS regional form body", dict(
        base, host="sts.eu-west-1.amazonaws.com", path="/",
        region="eu-west-1", service="sts",
        headers=[["Content-Type",
                  "application/x-www-form-urlencoded; charset=utf-8"]],
        body="Action=GetCallerIdentity&Version=2011-06-15")
    yield "leap day", dict(base, time=1709208000)  # 2024-02-29T12:00:00Z
    yield "far future", dict(base, time=4102444799)  # 2099-12-31T23:59:59Z
    yield "China region", dict(base, host="email.cn-north-1.amazonaws.com.cn",
                               region="cn-north-1")
    rnd = random.Random(2)
    qchars = "abcXYZ019-_.~ !*'()/+=&?#%\u00e9\u20ac"
    for i in range(40):
        n = rnd.randint(0, 6)
        query = "&".join(
            urllib.parse.quote("".join(rnd.choice(qchars) for _ in range(
                rnd.randint(1, 8))), safe="-_.~") + "=" +
            urllib.parse.quote("".join(rnd.choice(qchars) for _ in range(
                rnd.randint(0, 12))), safe="-_.~") for _ in range(n))
        hdrs = [["Content-Type", rnd.choice(["application/json",
                                             "application/x-amz-json-1.0",
                                             "text/plain; charset=utf-8"])]]
        for k in range(rnd.randint(0, 4)):
            val = "".join(rnd.choice("ab1 \t,;=") for _ in range(
                rnd.randint(0, 20)))
            hdrs.append([f"X-Amz-Meta-R{k}", val])
        method = rnd.choice(["GET", "POST", "PUT", "DELETE"])
        body = "" if method in ("GET", "DELETE") else "".join(
            rnd.choice("ab{}\":,\u00e9") for _ in range(rnd.randint(0, 200)))
        yield f"random request {i}", dict(
            base, method=method, query=query, headers=hdrs, body=body,
            service=rnd.choice(["ses", "sqs", "sts", "email"]),
            region=rnd.choice(["us-east-1", "eu-west-1", "ap-south-1"]),
            token=TOKEN if rnd.random() < 0.5 else "",
            time=1440938160 + rnd.randint(0, 10**9))
    rnd = random.Random(1)
    for i in range(25):
        body = "".join(rnd.choice("abc{}\":, \n\t\u00e9") for _ in
                       range(rnd.randint(0, 300)))
        yield f"random body {i}", dict(base, body=body,
                                       time=1440938160 + rnd.randint(0, 10**8),
                                       token=TOKEN if i % 2 else "")


def main():
    helper = sys.argv[1]
    all_cases = list(cases())
    print(f"1..{len(all_cases)}")
    lines = "".join(json.dumps(c) + "\n" for _, c in all_cases)
    out = subprocess.run([helper], input=lines.encode(), capture_output=True,
                         check=True).stdout.decode().splitlines()
    failed = 0
    for i, ((name, case), ours) in enumerate(zip(all_cases, out), 1):
        theirs = botocore_sign(case)
        if ours == theirs:
            print(f"ok {i} - sigv4 matches botocore: {name}")
        else:
            failed += 1
            print(f"not ok {i} - sigv4 matches botocore: {name}")
            print(f"#   ours:     {ours}")
            print(f"#   botocore: {theirs}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
