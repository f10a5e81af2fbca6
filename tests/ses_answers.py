#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""Replays real SES error answers (tests/data/ses-errors/*.tsv) through
sesd and ses-relay, in pipe mode or against one running LMTP server, and
checks what Postfix would see.

    ses_answers.py --mode pipe|lmtp --api v1|v2 --sesd URL --relay PROG
                   --conf FILE [--socket PATH] DATA.tsv...

Each v1, v2 or both row (for the API asked) becomes one sesd fault on the
SES send route - the row's HTTP status (a trailing '?' dropped), code and
message exactly, in the API's shape (v1 query XML, v2 REST-JSON); a row
whose code is "(none ...)" answers its message as a bare body - and one
delivery. Before each, `ses-relay -R` closes the breakers the previous
answer may have opened.

Outcomes (the row's first word; README.md of the data explains them):
    retry, defer       pipe: exit 75 and a 4.x.x diagnostic; LMTP: 4xx
    bounce             pipe: a permanent exit and 5.x.x; LMTP: 5xx
    bounce-recipient   as bounce for the refused address; in LMTP mode a
                       second recipient of the same transaction is still
                       sent (250)
    debatable, uncertain, historical (in the outcome): only never "sent".
Prints one line per answer: "0 description" or "1 description<TAB>why".
"""
import argparse
import json
import os
import socket
import subprocess
import sys
import urllib.request

PERMANENT_EXITS = {64, 65, 66, 67, 68, 69, 70, 72, 73, 76, 77}  # pipe(8)
SENDER = "sender@example.com"
GOOD = "good@example.net"
BAD = "rcpt@example.net"
MESSAGE = ("From: Sender <sender@example.com>\r\nTo: rcpt@example.net\r\n"
           "Subject: %s\r\n\r\nbody\r\n")


def rows(paths, api):
    for path in paths:
        with open(path, encoding="utf-8") as f:
            head = f.readline().rstrip("\n").split("\t")
            for n, line in enumerate(f, 2):
                r = dict(zip(head, line.rstrip("\n").split("\t")))
                if r["api"] in (api, "both"):
                    r["where"] = "%s:%d" % (os.path.basename(path), n)
                    yield r


def fault(r, api):
    """The sesd fault that answers like the row."""
    status = int(r["http_status"].rstrip("?"))
    code, msg = r["code"].rstrip("?"), r["message"]
    if msg.startswith("(") and "'" in msg:  # documented wording only
        msg = msg.split("'")[1]
    msg = msg.replace("\\n", "\n")
    f = {"route": "ses-send-" + api, "count": -1, "status": status}
    if code.startswith("("):  # no parseable error document
        f["body"] = msg
    else:
        f.update({"error": code, "message": msg})
    return f


def post(url, path, obj):
    req = urllib.request.Request(url + path, data=json.dumps(obj).encode(),
                                 method="POST")
    urllib.request.urlopen(req).read()


def lmtp(sock_path, rcpts, subject):
    """One LMTP transaction; the reply codes for rcpts, in order."""
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(120)
    s.connect(sock_path)
    f = s.makefile("rwb")

    def reply():
        while True:
            line = f.readline().decode()
            if not line:
                raise EOFError("connection closed")
            if line[3:4] != "-":
                return line.strip()

    def cmd(c):
        f.write(c.encode() + b"\r\n")
        f.flush()
        return reply()

    reply()
    cmd("LHLO test.example")
    cmd("MAIL FROM:<%s>" % SENDER)
    for r in rcpts:
        cmd("RCPT TO:<%s>" % r)
    cmd("DATA")
    f.write((MESSAGE % subject).encode() + b".\r\n")
    f.flush()
    out = [reply() for _ in rcpts]
    cmd("QUIT")
    s.close()
    return out


def judge(outcome, cls, bad_reply, good_reply=None):
    """'' when right, else why. cls: '2', '4' or '5' for the refused
    address's answer."""
    if any(w in outcome for w in ("debatable", "uncertain", "historical")):
        return "" if cls != "2" else "reported as sent"
    first = outcome.split(";")[0].strip()
    want = {"retry": "4", "defer": "4", "bounce": "5",
            "bounce-recipient": "5"}.get(first)
    if want is None:
        return "unknown outcome %r" % outcome
    if cls != want:
        return "got %s, want %sxx (%s)" % (bad_reply, want, first)
    if first == "bounce-recipient" and good_reply is not None and \
            not good_reply.startswith("250"):
        return "the other recipient got %s, want 250" % good_reply
    return ""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", choices=("pipe", "lmtp"), required=True)
    ap.add_argument("--api", choices=("v1", "v2"), required=True)
    ap.add_argument("--sesd", required=True)
    ap.add_argument("--relay", required=True)
    ap.add_argument("--conf", required=True)
    ap.add_argument("--socket")
    ap.add_argument("data", nargs="+")
    a = ap.parse_args()
    for n, r in enumerate(rows(a.data, a.api)):
        post(a.sesd, "/_control/reset", {})
        subprocess.run([a.relay, "-c", a.conf, "-R"], check=True,
                       stdout=subprocess.DEVNULL)
        f = fault(r, a.api)
        recipient_only = r["outcome"].startswith("bounce-recipient")
        if recipient_only:
            f["rcpt"] = BAD
        post(a.sesd, "/_control/fault", f)
        what = "%s %s %s: %s %s \"%.50s\" -> %s" % (
            a.mode, a.api, r["where"], r["http_status"], r["code"],
            r["message"], r["outcome"].split(";")[0])
        subject = "answer-%d" % n
        if a.mode == "pipe":
            p = subprocess.run(
                [a.relay, "-c", a.conf, "-f", SENDER, "-q", "Q%d" % n,
                 "--", BAD], input=(MESSAGE % subject).encode(),
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            diag = p.stdout.decode(errors="replace").strip()
            cls = "2" if p.returncode == 0 else \
                "4" if p.returncode == 75 else \
                "5" if p.returncode in PERMANENT_EXITS else "?"
            if cls in "45" and not diag.startswith(cls + "."):
                why = "exit %d with diagnostic %r" % (p.returncode, diag)
            else:
                why = judge(r["outcome"], cls,
                            "exit %d (%s)" % (p.returncode, diag))
        else:
            rcpts = [GOOD, BAD] if recipient_only else [BAD]
            try:
                replies = lmtp(a.socket, rcpts, subject)
                bad = replies[-1]
                why = judge(r["outcome"], bad[:1], bad,
                            replies[0] if recipient_only else None)
            except (OSError, EOFError) as e:
                why = "LMTP: %s" % e
        print("%d %s%s" % (1 if why else 0, what.replace("\n", " "),
                           "\t" + why if why else ""))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
