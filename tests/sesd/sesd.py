#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""sesd - a small fault-injecting AWS test server for ses-milter's tests.

It answers like Amazon SES (and, through plug-in modules, like the other AWS
endpoints the package talks to), checks the SigV4 signature of every AWS
request with botocore (Debian python3-botocore) exactly as AWS would, records
what it received, and on command answers with faults: any HTTP status and
AWS error, slow answers, or reset connections.

    sesd.py --port PORT [--portfile F] [--key AKID:SECRET[:TOKEN]]...
            [--pidfile F] [--sigv4a]

--sigv4a plays a multi-region (global) endpoint: every signed request must
carry a SigV4a signature (AWS4-ECDSA-P256-SHA256) whose signed
X-Amz-Region-Set is "*"; SigV4 signatures are refused. The verifier
(verify_sigv4a) is independent of the C signer: botocore builds the
canonical request, the key is derived here (sigv4a_private_key, the NIST
SP 800-108 KDF of the AWS SDKs) and python3-cryptography checks the ECDSA
signature. tests/sigv4a-sesd.sh checks it against AWS's v4a suite.

--port 0 picks a free port and writes it to --portfile once listening, so
tests never race for a port.

Control endpoints (no signature):
    GET  /_control/requests         JSON list of received AWS requests
    POST /_control/reset            forget requests and faults
    POST /_control/fault            queue a fault, JSON:
         {"route": "ses-send-v2", "count": 3,
          "status": 429, "error": "TooManyRequestsException",
          "message": "Maximum sending rate exceeded.",
          "delay": 2.5, "reset": false, "reset_early": false,
          "protocol": "json", "skip": 0, "rcpt": "a@b", "body": "..."}
         route "*" matches every AWS request; count -1 means until reset;
         skip N lets the first N matching requests through untouched;
         "rcpt" applies it only to SES sends with that destination (a
         recipient SES refuses: the same call without it succeeds).
         The error answer is the protocol's shape with "status", "error"
         and "message" exactly as given (escaped for XML); "body" instead
         answers that text as it is (text/plain), e.g. an answer with no
         parseable error, as some SES front ends give.
         "reset" closes the connection (RST) after reading the request,
         "reset_early" before reading its body (whatever the route); "protocol" picks the error
         format: "json" (x-amzn-ErrorType header, REST-JSON), "json-type"
         (__type in the body, JSON 1.0 like SQS) or "xml" (query
         ErrorResponse); the default follows the route (-v1 routes: xml).
    POST /_control/state            merge JSON into the shared state that
                                    route modules read (e.g. rate limits)

Seeded random faults: the state key "fault_mix" makes every request of its
routes draw one outcome from a random.Random(seed), so a run is repeatable:
    {"fault_mix": {"seed": 7, "routes": ["ses-send-v2", "ses-send-v1"],
                   "throttle": 0.1, "500": 0.1, "503": 0.1, "reset": 0.1,
                   "slow": 0.05, "slow_delay": 4, "drop": 0.05}}
    throttle  SES's throttling answer (v2 429 TooManyRequestsException, v1
              400 Throttling "Maximum sending rate exceeded.")
    500, 503  InternalFailure / ServiceUnavailable
    reset     connection reset after the request was read; nothing recorded
    slow      the request is handled (SES records it) but the answer waits
              slow_delay seconds - longer than the client's Timeout
    drop      accepted then dropped: handled (recorded), then the connection
              is reset instead of answering
The rest of the probability passes untouched. Each request's record gets
"mix": KIND (or "ok"), and the handlers' own records of what they accepted
(e.g. GET /_sent) get "mix": "slow" or "drop" when the client may never have
seen the answer. GET /_control/mix returns the counts per kind.
Queued faults (/_control/fault) take precedence over the mix.

Built-in AWS route (signed): any method on /_echo/... answers JSON with what
arrived (method, path, query, body, content-type, x-amz-target, akid), for
tests of the generic signed-call module.

Modules: every sesd_*.py file next to this one that defines ROUTES, a list of
(name, method, path-regex, handler, needs_sigv4[, match]). A handler gets
(server, request) and returns (status, headers-dict, body-bytes). Routes
named control-* are test plumbing: never recorded, never faulted. The
optional match(headers, body) lets two routes share a method and path (e.g.
STS and SES v1 both POST /): the first route whose match returns true wins.
Modules load in file-name order.

Every answer goes out in one write with TCP_NODELAY set, so no reply waits
for a delayed ACK.
"""
import argparse
import datetime
import glob
import importlib.util
import json
import os
import random
import re
import socket
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape as xml_escape

import hashlib
import hmac

import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

if __name__ == "__main__":
    # Route modules "from sesd import ...": give them this module, not a
    # second copy with its own clock patch.
    sys.modules["sesd"] = sys.modules["__main__"]

MAX_BODY = 128 * 1024 * 1024  # a 40 MB message is 54 MB in base64


class Request:
    """What a route handler sees."""

    def __init__(self, method, path, query, headers, body, akid):
        self.method = method
        self.path = path
        self.query = query          # dict of lists
        self.headers = headers      # dict, lower-case names
        self.body = body            # bytes
        self.akid = akid            # access key id that signed it, or None
        self.rec = None             # its entry in the request log
        self.mix = None             # "slow"/"drop": the answer may be lost

    def json(self):
        return json.loads(self.body or b"{}")

    def form(self):
        return {k: v[0] for k, v in urllib.parse.parse_qs(
            self.body.decode(), keep_blank_values=True).items()}


class _Clock(datetime.datetime):
    """botocore reads the time from datetime.utcnow(): pin it per check;
    unpinned, it is the real time."""
    pinned = threading.local()

    @classmethod
    def utcnow(cls):
        value = getattr(cls.pinned, "value", None)
        if value is not None:
            return value
        return cls.now(datetime.timezone.utc).replace(tzinfo=None)


botocore.auth.datetime.datetime = _Clock
_sign_lock = threading.Lock()


def verify_sigv4(keys, method, raw_path, headers, body):
    """Returns (akid, None) when the signature is right, else (None, why)."""
    auth = headers.get("authorization", "")
    m = re.match(r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/"
                 r"([^/]+)/aws4_request, SignedHeaders=([^,]+), "
                 r"Signature=([0-9a-f]{64})$", auth)
    if not m:
        return None, ("IncompleteSignature", "Authorization header is not "
                      "AWS4-HMAC-SHA256 with Credential, SignedHeaders, "
                      "Signature")
    akid, date, region, service, signed, signature = m.groups()
    if akid not in keys:
        return None, ("UnrecognizedClientException",
                      "The security token included in the request is invalid.")
    secret, token = keys[akid]
    amz_date = headers.get("x-amz-date", "")
    if not amz_date.startswith(date):
        return None, ("IncompleteSignature", "date in scope and X-Amz-Date differ")
    if token and headers.get("x-amz-security-token") != token:
        return None, ("UnrecognizedClientException", "session token missing or wrong")
    names = signed.split(";")
    for required in ("host", "x-amz-date"):
        if required not in names:
            return None, ("IncompleteSignature", f"{required} is not signed")
    req = AWSRequest(method=method, url="http://" + headers.get("host", "") + raw_path,
                     data=body)
    for n in names:
        if n not in headers:
            return None, ("IncompleteSignature", f"signed header {n} missing")
        req.headers[n] = headers[n]
    with _sign_lock:
        _Clock.pinned.value = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ")
        try:
            botocore.auth.SigV4Auth(Credentials(akid, secret, token or None),
                                    service, region).add_auth(req)
        finally:
            _Clock.pinned.value = None
    theirs = req.headers["Authorization"].rsplit("Signature=", 1)[1]
    if theirs != signature:
        return None, ("SignatureDoesNotMatch", "The request signature we "
                      "calculated does not match the signature you provided.")
    return akid, None


P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
SIGV4A = "AWS4-ECDSA-P256-SHA256"


def sigv4a_private_key(akid, secret):
    """The SigV4a P-256 key of a key pair, as the AWS SDKs derive it: NIST
    SP 800-108 counter-mode KDF, HMAC-SHA256 keyed with "AWS4A" + secret
    over 1 || algorithm || 0 || akid || counter || 256; the first value
    <= n-2, plus one."""
    key = b"AWS4A" + secret.encode()
    for counter in range(1, 255):
        fixed = (b"\x00\x00\x00\x01" + SIGV4A.encode() + b"\x00" + akid.encode()
                 + bytes([counter]) + b"\x00\x00\x01\x00")
        k = int.from_bytes(hmac.new(key, fixed, hashlib.sha256).digest(), "big")
        if k <= P256_N - 2:
            return ec.derive_private_key(k + 1, ec.SECP256R1())
    raise ValueError("no SigV4a key for these credentials")


def sigv4a_string_to_sign(akid, secret, token, service, method, raw_path,
                          headers, names, body):
    """botocore's canonical request over the signed headers `names`, and
    the SigV4a string to sign."""
    req = AWSRequest(method=method, url="http://" + headers.get("host", "") + raw_path,
                     data=body)
    for n in names:
        req.headers[n] = headers[n]
    auth = botocore.auth.SigV4Auth(Credentials(akid, secret, token or None),
                                   service, "unused")
    canonical = auth.canonical_request(req)
    amz_date = headers["x-amz-date"]
    return canonical, "\n".join([
        SIGV4A, amz_date, f"{amz_date[:8]}/{service}/aws4_request",
        hashlib.sha256(canonical.encode()).hexdigest()])


def verify_sigv4a(keys, method, raw_path, headers, body, region_set="*"):
    """Returns (akid, None) when the SigV4a signature is right and signs
    X-Amz-Region-Set `region_set`, else (None, why)."""
    m = re.match(SIGV4A + r" Credential=([^/]+)/(\d{8})/([^/]+)/aws4_request, "
                 r"SignedHeaders=([^,]+), Signature=([0-9a-f]{16,200})$",
                 headers.get("authorization", ""))
    if not m:
        return None, ("IncompleteSignature", "Authorization header is not "
                      f"{SIGV4A} with Credential (no region), SignedHeaders, "
                      "Signature")
    akid, date, service, signed, signature = m.groups()
    if akid not in keys:
        return None, ("UnrecognizedClientException",
                      "The security token included in the request is invalid.")
    secret, token = keys[akid]
    if not headers.get("x-amz-date", "").startswith(date):
        return None, ("IncompleteSignature", "date in scope and X-Amz-Date differ")
    if token and headers.get("x-amz-security-token") != token:
        return None, ("UnrecognizedClientException", "session token missing or wrong")
    names = signed.split(";")
    for required in ("host", "x-amz-date", "x-amz-region-set"):
        if required not in names:
            return None, ("IncompleteSignature", f"{required} is not signed")
    for n in names:
        if n not in headers:
            return None, ("IncompleteSignature", f"signed header {n} missing")
    if headers["x-amz-region-set"] != region_set:
        return None, ("InvalidSignatureException",
                      f"X-Amz-Region-Set is not {region_set}")
    _, sts = sigv4a_string_to_sign(akid, secret, token, service, method,
                                   raw_path, headers, names, body)
    try:
        sigv4a_private_key(akid, secret).public_key().verify(
            bytes.fromhex(signature), sts.encode(), ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError):
        return None, ("SignatureDoesNotMatch", "The request signature we "
                      "calculated does not match the signature you provided.")
    return akid, None


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # benchmarks open many connections at once

    def __init__(self, addr, keys, sigv4a=False):
        super().__init__(addr, Handler)
        self.keys = keys
        self.sigv4a = sigv4a
        self.lock = threading.Lock()
        self.requests = []
        self.faults = []
        self.state = {}
        self.routes = []
        self.counter = 0
        self.mix_rng = None
        self.mix_seed = None
        self.mix_counts = {}
        here = os.path.dirname(os.path.abspath(__file__))
        for path in sorted(glob.glob(os.path.join(here, "sesd_*.py"))):
            spec = importlib.util.spec_from_file_location(
                os.path.basename(path)[:-3], path)
            mod = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(mod)
            for route in getattr(mod, "ROUTES", []):
                self.add_route(*route)
        for method in ("GET", "POST", "PUT", "DELETE"):
            self.add_route("echo", method, r"/_echo(/.*)?", echo, True)

    def add_route(self, name, method, pattern, handler, signed, match=None):
        self.routes.append((name, method, re.compile(pattern + "$"), handler,
                            signed, match))

    def next_id(self):
        with self.lock:
            self.counter += 1
            return self.counter

    def take_fault(self, route, body=b""):
        with self.lock:
            for f in self.faults:
                if f.get("reset_early"):
                    continue
                if f.get("rcpt") and f["rcpt"] not in destinations(body):
                    continue
                if f.get("route", "*") in ("*", route) and f.get("count", 1) != 0:
                    if f.get("skip", 0) > 0:
                        f["skip"] -= 1
                        continue
                    if f.get("count", 1) > 0:
                        f["count"] = f.get("count", 1) - 1
                    return dict(f)
        return None

    def draw_mix(self, route):
        """The fault_mix outcome for one request of `route`: a kind or None."""
        with self.lock:
            mix = self.state.get("fault_mix")
            if not mix or route not in mix.get("routes", ["ses-send-v2"]):
                return None
            if self.mix_rng is None or self.mix_seed != mix.get("seed", 0):
                self.mix_seed = mix.get("seed", 0)
                self.mix_rng = random.Random(self.mix_seed)
                self.mix_counts = {}
            x = self.mix_rng.random()
            kind = "ok"
            for k in ("throttle", "500", "503", "reset", "slow", "drop"):
                p = float(mix.get(k, 0))
                if x < p:
                    kind = k
                    break
                x -= p
            self.mix_counts[kind] = self.mix_counts.get(kind, 0) + 1
            return kind

    def peek_fault(self, kind):
        """Takes a fault of `kind` that applies before routing (any route);
        returns its route name or None."""
        with self.lock:
            for f in self.faults:
                if f.get(kind) and f.get("count", 1) != 0:
                    if f.get("count", 1) > 0:
                        f["count"] = f.get("count", 1) - 1
                    return f.get("route", "*")
        return None


def echo(server, req):
    out = {"method": req.method, "path": req.path, "query": req.query,
           "body": req.body.decode("latin-1"), "akid": req.akid,
           "content-type": req.headers.get("content-type"),
           "x-amz-target": req.headers.get("x-amz-target")}
    return 200, {}, json.dumps(out).encode()


def destinations(body):
    """The destinations of an SES send: v2 JSON or v1 form; [] otherwise."""
    try:
        j = json.loads(body)
        d = j.get("Destination", {}) if isinstance(j, dict) else {}
        return [a for k in ("ToAddresses", "CcAddresses", "BccAddresses")
                for a in d.get(k, [])]
    except (ValueError, UnicodeDecodeError):
        pass
    form = urllib.parse.parse_qs(body.decode("latin-1"), keep_blank_values=True)
    return [v[0] for k, v in form.items() if k.startswith("Destinations.member.")]


def aws_error(status, code, message, protocol="json"):
    if protocol == "json-type":
        body = json.dumps({"__type": f"com.amazonaws.test#{code}",
                           "message": message}).encode()
        return status, {"Content-Type": "application/x-amz-json-1.0"}, body
    if protocol == "xml":
        body = (f'<ErrorResponse xmlns="http://ses.amazonaws.com/doc/2010-12-01/">'
                f'<Error><Type>{"Sender" if status < 500 else "Receiver"}</Type>'
                f'<Code>{xml_escape(code)}</Code>'
                f'<Message>{xml_escape(message)}</Message></Error>'
                f'<RequestId>{os.urandom(8).hex()}</RequestId></ErrorResponse>')
        return status, {"Content-Type": "text/xml"}, body.encode()
    body = json.dumps({"message": message}).encode()
    return status, {"Content-Type": "application/json",
                    "x-amzn-ErrorType": f"{code}:http://internal.amazon.com/"}, body


def state_list(key):
    """A control route's handler: the state list KEY as JSON."""
    def handler(server, req):
        with server.lock:
            return 200, {}, json.dumps(server.state.get(key, [])).encode()
    return handler


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "sesd"

    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, fmt, *args):
        pass

    def reply(self, status, headers, body):
        head = [f"HTTP/1.1 {status} {self.responses.get(status, ('',))[0]}"]
        headers = dict(headers)
        headers.setdefault("Content-Type", "application/json")
        headers["Content-Length"] = str(len(body))
        headers["x-amzn-RequestId"] = os.urandom(8).hex()
        for k, v in headers.items():
            head.append(f"{k}: {v}")
        self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)

    def reset(self):
        """Closes the connection with a TCP RST."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                   b"\x01\x00\x00\x00\x00\x00\x00\x00")
        self.connection.close()
        self.close_connection = True

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        parsed = urllib.parse.urlsplit(self.path)
        if length > MAX_BODY:
            self.reply(413, {}, b'{"message":"too large"}')
            self.close_connection = True
            return
        if not parsed.path.startswith("/_control/"):
            early = self.server.peek_fault("reset_early")
            if early:
                with self.server.lock:
                    self.server.requests.append(
                        {"route": early, "method": self.command,
                         "path": parsed.path, "fault": "reset_early",
                         "time": time.time(), "size": length})
                return self.reset()
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        if parsed.path.startswith("/_control/"):
            return self.control(parsed.path, body)
        for name, method, pattern, handler, signed, match in self.server.routes:
            if method != self.command or not pattern.match(parsed.path):
                continue
            if match and not match(headers, body):
                continue
            akid = None
            if signed:
                verify = verify_sigv4a if self.server.sigv4a else verify_sigv4
                akid, why = verify(self.server.keys, self.command, self.path,
                                   headers, body)
                if why:
                    self.record(name, parsed, headers, body, None, why[0])
                    proto = "xml" if name.endswith("-v1") else "json"
                    return self.reply(*aws_error(403, why[0], why[1], proto))
            req = Request(self.command, parsed.path,
                          urllib.parse.parse_qs(parsed.query), headers, body, akid)
            if name.startswith("control-"):  # test plumbing, not AWS
                return self.reply(*handler(self.server, req))
            fault = self.server.take_fault(name, body)
            rec = self.record(name, parsed, headers, body, akid, None)
            req.rec = rec  # handlers may annotate their request's record
            if not fault:
                kind = self.server.draw_mix(name)
                if kind:
                    rec["mix"] = kind
                    if kind != "ok":
                        return self.mixed_fault(kind, name, handler, req)
            if fault:
                if fault.get("delay"):
                    time.sleep(float(fault["delay"]))
                if fault.get("reset"):
                    rec["fault"] = "reset"
                    return self.reset()
                if fault.get("status") and "body" in fault:
                    rec["fault"] = fault["status"]
                    return self.reply(int(fault["status"]),
                                      {"Content-Type": "text/plain"},
                                      fault["body"].encode())
                if fault.get("status"):
                    rec["fault"] = fault.get("error") or fault["status"]
                    proto = fault.get("protocol") or (
                        "xml" if name.endswith("-v1") else "json")
                    return self.reply(*aws_error(int(fault["status"]),
                                                 fault.get("error", "InternalFailure"),
                                                 fault.get("message", "injected fault"),
                                                 proto))
            status, hdrs, out = handler(self.server, req)
            rec["status"] = status
            return self.reply(status, hdrs, out)
        self.reply(404, {}, b'{"message":"no such route"}')

    def mixed_fault(self, kind, name, handler, req):
        """Answers one request with the fault_mix outcome `kind`."""
        if kind == "reset":
            return self.reset()
        if kind in ("slow", "drop"):
            req.mix = kind  # handlers mark what they record as ambiguous
            status, hdrs, out = handler(self.server, req)
            req.rec["status"] = status
            if kind == "drop":
                return self.reset()
            with self.server.lock:
                delay = float(self.server.state["fault_mix"].get("slow_delay", 5))
            time.sleep(delay)
            try:
                return self.reply(status, hdrs, out)
            except OSError:  # the client gave up long ago
                self.close_connection = True
                return None
        v1 = name.endswith("-v1")
        if kind == "throttle":
            if v1:
                return self.reply(*aws_error(400, "Throttling",
                                             "Maximum sending rate exceeded.", "xml"))
            return self.reply(*aws_error(429, "TooManyRequestsException",
                                         "Maximum sending rate exceeded."))
        code = "InternalFailure" if kind == "500" else "ServiceUnavailable"
        return self.reply(*aws_error(int(kind), code, "injected " + kind,
                                     "xml" if v1 else "json"))

    def record(self, name, parsed, headers, body, akid, error):
        rec = {"route": name, "method": self.command, "path": parsed.path,
               "query": parsed.query, "headers": headers, "akid": akid,
               "error": error, "time": time.time(), "size": len(body),
               "conn": self.client_address[1]}
        ctype = headers.get("content-type", "")
        if len(body) <= 1024 * 1024:
            if "json" in ctype:
                try:
                    rec["json"] = json.loads(body)
                except ValueError:
                    rec["json"] = None
            elif "form" in ctype:
                rec["form"] = {k: v[0] for k, v in urllib.parse.parse_qs(
                    body.decode(errors="replace"), keep_blank_values=True).items()}
        with self.server.lock:
            self.server.requests.append(rec)
        return rec

    def control(self, path, body):
        srv = self.server
        if path == "/_control/requests":
            with srv.lock:
                out = json.dumps(srv.requests).encode()
            return self.reply(200, {}, out)
        if path == "/_control/reset":
            with srv.lock:
                srv.requests.clear()
                srv.faults.clear()
                srv.state.clear()
                srv.mix_rng = None
            return self.reply(200, {}, b"{}")
        if path == "/_control/mix":
            with srv.lock:
                out = json.dumps(srv.mix_counts).encode()
            return self.reply(200, {}, out)
        if path == "/_control/fault":
            with srv.lock:
                srv.faults.append(json.loads(body))
            return self.reply(200, {}, b"{}")
        if path == "/_control/state":
            with srv.lock:
                srv.state.update(json.loads(body))
            return self.reply(200, {}, b"{}")
        return self.reply(404, {}, b"{}")

    do_GET = do_POST = do_PUT = do_DELETE = handle_any


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--host", default="127.0.0.1",
                    help="address to listen on (tests in a private network "
                         "namespace play 169.254.169.254 or 169.254.170.2)")
    ap.add_argument("--key", action="append", default=[],
                    help="AKID:SECRET[:TOKEN] accepted for signing")
    ap.add_argument("--sigv4a", action="store_true",
                    help="play a global endpoint: accept only SigV4a "
                         "signatures over region set *")
    ap.add_argument("--pidfile")
    ap.add_argument("--portfile")
    a = ap.parse_args()
    keys = {}
    for k in a.key or ["AKIDEXAMPLETESTKEY01:testSecretKey/Never+Logged/0123456789abcdef"]:
        parts = k.split(":", 2)
        keys[parts[0]] = (parts[1], parts[2] if len(parts) > 2 else "")
    srv = Server((a.host, a.port), keys, a.sigv4a)
    port = srv.server_address[1]
    if a.pidfile:
        with open(a.pidfile, "w") as f:
            f.write(str(os.getpid()))
    if a.portfile:
        with open(a.portfile + ".tmp", "w") as f:
            f.write(f"{port}\n")
        os.rename(a.portfile + ".tmp", a.portfile)
    print(f"sesd listening on {a.host}:{port}", flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
