# SPDX-License-Identifier: BSD-2-Clause
"""sesd module: the SESv2 account setup calls ses-suppress regions makes.

    GET /v2/email/account                      GetAccount
    GET /v2/email/identities/NAME              GetEmailIdentity
    GET /v2/email/configuration-sets/NAME      GetConfigurationSet

State knobs (POST /_control/state):
    account             the GetAccount answer (default: sending enabled,
                        production access, HEALTHY, 50000 per 24 h at 14/s)
    identities          {"NAME": {"verified": bool, "dkim": "SUCCESS",
                        "forwarding": bool}}: the identities this region
                        has (forwarding: FeedbackForwardingStatus, default
                        true as in SES); others are 404 NotFoundException
    configuration_sets  names of the configuration sets this region has
"""
import json
import urllib.parse

from sesd import aws_error

DEFAULT_ACCOUNT = {"SendingEnabled": True, "ProductionAccessEnabled": True,
                   "EnforcementStatus": "HEALTHY",
                   "SendQuota": {"Max24HourSend": 50000.0, "MaxSendRate": 14.0,
                                 "SentLast24Hours": 0.0}}


def get_account(server, req):
    with server.lock:
        return 200, {}, json.dumps(server.state.get("account",
                                                    DEFAULT_ACCOUNT)).encode()


def _not_found(what, name):
    return aws_error(404, "NotFoundException", f"{what} {name} does not exist.")


def get_identity(server, req):
    name = urllib.parse.unquote(req.path.rsplit("/", 1)[1])
    with server.lock:
        ident = server.state.get("identities", {}).get(name)
    if ident is None:
        return _not_found("Email identity", name)
    return 200, {}, json.dumps({
        "IdentityType": "DOMAIN" if "@" not in name else "EMAIL_ADDRESS",
        "VerifiedForSendingStatus": bool(ident.get("verified", True)),
        "FeedbackForwardingStatus": bool(ident.get("forwarding", True)),
        "DkimAttributes": {"SigningEnabled": True,
                           "Status": ident.get("dkim", "SUCCESS")}}).encode()


def get_configuration_set(server, req):
    name = urllib.parse.unquote(req.path.rsplit("/", 1)[1])
    with server.lock:
        sets = server.state.get("configuration_sets", [])
    if name not in sets:
        return _not_found("Configuration set", name)
    return 200, {}, json.dumps({"ConfigurationSetName": name}).encode()


ROUTES = [
    ("ses-get-account", "GET", r"/v2/email/account", get_account, True),
    ("ses-get-identity", "GET", r"/v2/email/identities/[^/]+", get_identity, True),
    ("ses-get-configuration-set", "GET", r"/v2/email/configuration-sets/[^/]+",
     get_configuration_set, True),
]
