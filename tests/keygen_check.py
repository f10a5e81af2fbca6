#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""keygen_check.py OUTPUT KEYFILE ALGORITHM [SIGNED-MESSAGE]

Reads ses-keygen's printed records, then signs a message with dkimpy using
the private key file - or takes SIGNED-MESSAGE, signed by someone else
(libopendkim) - and verifies the signature against the printed DKIM TXT
record (served by a DNS function, no network). Prints one line per
finding; exits 0 when the signature verifies.
"""
import re
import sys

import dkim
from cryptography.hazmat.primitives import serialization

out_path, key_path, alg = sys.argv[1:4]
text = open(out_path).read()
m = re.search(r'^(\S+)\._domainkey\.(\S+)\. IN TXT \( (.*) \)$', text, re.M)
if not m:
    print("no DKIM TXT record in the output")
    sys.exit(1)
selector, domain, quoted = m.group(1), m.group(2), m.group(3)
strings = re.findall(r'"((?:[^"\\]|\\.)*)"', quoted)
if any(len(s) > 255 for s in strings):
    print("a TXT string is longer than 255 bytes")
    sys.exit(1)
record = "".join(strings).encode()

pem = open(key_path, "rb").read()
if alg == "ed25519":
    import base64
    k = serialization.load_pem_private_key(pem, password=None)
    privkey = base64.b64encode(k.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
        serialization.NoEncryption()))
    sigalg = b"ed25519-sha256"
else:
    privkey = pem
    sigalg = b"rsa-sha256"

if len(sys.argv) > 4:
    signed = open(sys.argv[4], "rb").read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
else:
    signed = None
msg = (b"From: Alice <alice@" + domain.encode() + b">\r\n"
       b"To: bob@example.net\r\nSubject: keygen test\r\n\r\nHello.\r\n")
sig = b"" if signed else dkim.sign(msg, selector.encode(), domain.encode(), privkey,
                include_headers=[b"from", b"to", b"subject"],
                signature_algorithm=sigalg)
want = (selector + "._domainkey." + domain + ".").encode()


def dnsfunc(name, timeout=5):
    return record if name in (want, want.rstrip(b".")) else None


if dkim.verify(signed or sig + msg, dnsfunc=dnsfunc):
    print("signature verifies against the printed record")
    sys.exit(0)
print("signature does NOT verify against the printed record")
sys.exit(1)
