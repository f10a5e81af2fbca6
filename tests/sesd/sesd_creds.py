# SPDX-License-Identifier: BSD-2-Clause
"""sesd module: the credential sources - EC2 instance metadata (IMDSv2),
the ECS/EKS container credentials endpoint, and STS
AssumeRoleWithWebIdentity.

Every credential set handed out is new (ASIA... key, secret, session token)
and is added to the keys sesd accepts, so an SES request signed with it
verifies, session token included. What was issued is listed in the state
under "issued": [{"source": "imds"|"container"|"sts", "akid": ...,
"secret": ..., "token": ...}] (secrets included so that tests can check
that no log line carries them).

State knobs (POST /_control/state):
    creds_ttl          seconds until the Expiration handed out (3600)
    imds_role          role name IMDS reports ("sesd-role"); "" = no role
    container_token    Authorization value the container endpoint demands
                       (unset: any, including none)
    sts_token          WebIdentityToken STS demands (unset: any non-empty)
    sts_role_arn       RoleArn STS demands (unset: any arn:)

Routes (unsigned, like the real endpoints): imds-token, imds-role,
imds-creds, container-creds (GET /container/...), sts (POST / with
Action=AssumeRoleWithWebIdentity); signed: sts-assume (POST / with
Action=AssumeRole, SigV4 for service sts with a key sesd knows, issued ones
included; state sts_assume_role_arn and sts_external_id, when set, must
match). SES v1 keeps the other POST /. Faults apply to them by name.
GET /_issued lists the credentials handed out, GET /_assumed the AssumeRole
calls (signer, role, session, external_id, duration).
"""
import base64
import datetime
import json
import os
import re
import urllib.parse

from sesd import aws_error, state_list


def _issue(server, source):
    n = server.next_id()
    akid = "ASIA%s%010d" % (source.upper()[:4].ljust(4, "X"), n)
    secret = base64.b64encode(os.urandom(30)).decode()
    token = "IQoJ" + base64.b64encode(os.urandom(300)).decode()
    ttl = int(server.state.get("creds_ttl", 3600))
    expires = datetime.datetime.now(datetime.timezone.utc) + \
        datetime.timedelta(seconds=ttl)
    with server.lock:
        server.keys[akid] = (secret, token)
        # secrets included: the tests grep every log for them
        server.state.setdefault("issued", []).append(
            {"source": source, "akid": akid, "ttl": ttl, "secret": secret,
             "token": token})
    return akid, secret, token, expires.strftime("%Y-%m-%dT%H:%M:%SZ")


def _json_creds(server, source):
    akid, secret, token, exp = _issue(server, source)
    doc = {"Code": "Success", "Type": "AWS-HMAC", "AccessKeyId": akid,
           "SecretAccessKey": secret, "Token": token, "Expiration": exp,
           "LastUpdated": datetime.datetime.now(datetime.timezone.utc)
           .strftime("%Y-%m-%dT%H:%M:%SZ")}
    return 200, {}, json.dumps(doc).encode()


# ---- IMDSv2 ----

def imds_token(server, req):
    ttl = req.headers.get("x-aws-ec2-metadata-token-ttl-seconds", "")
    if not ttl.isdigit() or not 1 <= int(ttl) <= 21600:
        return 400, {"Content-Type": "text/plain"}, b"Bad Request"
    token = base64.urlsafe_b64encode(os.urandom(40)).decode()
    with server.lock:
        server.state.setdefault("imds_tokens", []).append(token)
    return 200, {"Content-Type": "text/plain"}, token.encode()


def _imds_authorized(server, req):
    token = req.headers.get("x-aws-ec2-metadata-token")
    with server.lock:
        return token in server.state.get("imds_tokens", [])


def imds_role(server, req):
    if not _imds_authorized(server, req):
        return 401, {"Content-Type": "text/plain"}, b"Unauthorized"
    role = server.state.get("imds_role", "sesd-role")
    if not role:
        return 404, {"Content-Type": "text/plain"}, b"Not Found"
    return 200, {"Content-Type": "text/plain"}, role.encode()


def imds_creds(server, req):
    if not _imds_authorized(server, req):
        return 401, {"Content-Type": "text/plain"}, b"Unauthorized"
    role = req.path.rsplit("/", 1)[1]
    if role != server.state.get("imds_role", "sesd-role"):
        return 404, {"Content-Type": "text/plain"}, b"Not Found"
    return _json_creds(server, "imds")


# ---- container credentials ----

def container_creds(server, req):
    want = server.state.get("container_token")
    if want is not None and req.headers.get("authorization") != want:
        return 401, {}, json.dumps({"message": "bad token"}).encode()
    with server.lock:
        server.state.setdefault("container_paths", []).append(req.path)
    return _json_creds(server, "container")


# ---- STS AssumeRoleWithWebIdentity ----

def _is_sts(headers, body):
    return b"Action=AssumeRoleWithWebIdentity" in body


def sts(server, req):
    form = req.form()
    if "authorization" in req.headers:
        return aws_error(400, "InvalidAction",
                         "AssumeRoleWithWebIdentity is not signed", "xml")
    token = form.get("WebIdentityToken", "")
    want = server.state.get("sts_token")
    if not token or (want is not None and token != want):
        return aws_error(400, "InvalidIdentityToken",
                         "Couldn't retrieve verification key from your "
                         "identity provider", "xml")
    arn = form.get("RoleArn", "")
    want_arn = server.state.get("sts_role_arn")
    if not arn.startswith("arn:") or (want_arn and arn != want_arn):
        return aws_error(403, "AccessDenied",
                         "Not authorized to perform sts:AssumeRoleWithWebIdentity",
                         "xml")
    with server.lock:
        server.state.setdefault("sts_sessions", []).append(
            form.get("RoleSessionName"))
    akid, secret, token_out, exp = _issue(server, "sts")
    body = (
        '<AssumeRoleWithWebIdentityResponse '
        'xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
        '<AssumeRoleWithWebIdentityResult>'
        '<SubjectFromWebIdentityToken>system:serviceaccount:mail:relay'
        '</SubjectFromWebIdentityToken>'
        f'<AssumedRoleUser><Arn>{arn}/{form.get("RoleSessionName")}</Arn>'
        '<AssumedRoleId>AROAEXAMPLE:x</AssumedRoleId></AssumedRoleUser>'
        f'<Credentials><SessionToken>{token_out}</SessionToken>'
        f'<SecretAccessKey>{secret}</SecretAccessKey>'
        f'<Expiration>{exp}</Expiration>'
        f'<AccessKeyId>{akid}</AccessKeyId></Credentials>'
        '<Audience>sts.amazonaws.com</Audience>'
        '</AssumeRoleWithWebIdentityResult>'
        f'<ResponseMetadata><RequestId>{os.urandom(8).hex()}</RequestId>'
        '</ResponseMetadata></AssumeRoleWithWebIdentityResponse>')
    return 200, {"Content-Type": "text/xml"}, body.encode()


# ---- STS AssumeRole (signed with the source credentials) ----

def _is_assume(headers, body):
    return re.match(rb"Action=AssumeRole(&|$)", body) is not None


def sts_assume(server, req):
    form = req.form()
    scope = re.search(r"Credential=[^/]+/\d{8}/([^/]+)/([^/]+)/",
                      req.headers.get("authorization", ""))
    if not scope or scope.group(2) != "sts":
        return aws_error(400, "IncompleteSignature",
                         "AssumeRole must be signed for the sts service", "xml")
    arn = form.get("RoleArn", "")
    want_arn = server.state.get("sts_assume_role_arn")
    if not arn.startswith("arn:") or (want_arn and arn != want_arn):
        return aws_error(403, "AccessDenied",
                         f"User: {req.akid} is not authorized to perform: "
                         f"sts:AssumeRole on resource: {arn}", "xml")
    want_ext = server.state.get("sts_external_id")
    if want_ext is not None and form.get("ExternalId") != want_ext:
        return aws_error(403, "AccessDenied", "ExternalId does not match",
                         "xml")
    with server.lock:
        server.state.setdefault("assumed", []).append(
            {"signer": req.akid, "role": arn,
             "session": form.get("RoleSessionName"),
             "external_id": form.get("ExternalId"),
             "duration": form.get("DurationSeconds")})
    akid, secret, token_out, exp = _issue(server, "assume")
    body = (
        '<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
        '<AssumeRoleResult>'
        f'<AssumedRoleUser><Arn>{arn}/{form.get("RoleSessionName")}</Arn>'
        '<AssumedRoleId>AROAEXAMPLE:x</AssumedRoleId></AssumedRoleUser>'
        f'<Credentials><AccessKeyId>{akid}</AccessKeyId>'
        f'<SecretAccessKey>{secret}</SecretAccessKey>'
        f'<SessionToken>{token_out}</SessionToken>'
        f'<Expiration>{exp}</Expiration></Credentials>'
        '</AssumeRoleResult>'
        f'<ResponseMetadata><RequestId>{os.urandom(8).hex()}</RequestId>'
        '</ResponseMetadata></AssumeRoleResponse>')
    return 200, {"Content-Type": "text/xml"}, body.encode()


ROUTES = [
    ("imds-token", "PUT", r"/latest/api/token", imds_token, False),
    ("imds-role", "GET", r"/latest/meta-data/iam/security-credentials/",
     imds_role, False),
    ("imds-creds", "GET", r"/latest/meta-data/iam/security-credentials/[^/]+",
     imds_creds, False),
    ("container-creds", "GET", r"/container/.*", container_creds, False),
    ("control-issued", "GET", r"/_issued", state_list("issued"), False),
    ("sts", "POST", r"/", sts, False, _is_sts),
    ("sts-assume", "POST", r"/", sts_assume, True, _is_assume),
    ("control-assumed", "GET", r"/_assumed", state_list("assumed"),
     False),
]
