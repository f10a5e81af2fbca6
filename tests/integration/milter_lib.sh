# SPDX-License-Identifier: BSD-2-Clause
# tests/integration/milter_lib.sh - helpers for the ses-milter integration
# tests (sourced after lib.sh, postfix.sh and harness.sh)
#
#   emu_email N FIELD      field of the Nth stored email (0-based):
#                          subject, to (comma-separated), or header:NAME
#   sesd_start             the fault-injecting SES server on SES_PORT
#   sesd_raw N             the raw message of the Nth SendEmail sesd received
#   milter_hup CONF        install CONF as the milter's config and SIGHUP it,
#                          waiting until the reload is logged
#   supp_add REASON ADDR.. put addresses on the suppression list
#   dkim_verify_as_ses FILE PUB KIND SELECTOR [tamper]
#                          dkimpy's verdict (valid, invalid) on the raw
#                          message in FILE after the changes Amazon SES
#                          makes: new Message-ID and Date, X-SES-* removed,
#                          its own headers added; the public key PUB (base64,
#                          KIND rsa or ed25519) given through dnsfunc, no
#                          DNS; "tamper" also changes the Subject

emu_email() {
    emu_store | $PY -c '
import json, sys
n, field = int(sys.argv[1]), sys.argv[2]
emails = json.load(sys.stdin)["emails"]
if n >= len(emails):
    print("NO-SUCH-EMAIL"); sys.exit(0)
e = emails[n]
if field == "subject":
    print(e.get("subject", ""))
elif field == "to":
    print(",".join(e["destination"]["to"]))
elif field.startswith("header:"):
    name = field[7:].lower()
    vals = [h["value"] for h in e.get("headers", []) if h["name"].lower() == name]
    print("|".join(vals) if vals else "ABSENT")' "$1" "$2"
}

# sesd is imported as the module "sesd", so the route modules' "from sesd
# import ..." share it (and its botocore clock patch) instead of loading
# a second copy.
sesd_start() {
    : "${SES_PORT:=$(free_port)}"
    $PY -c 'import sys; sys.path.insert(0, sys.argv[1]); sys.argv[1:2] = []
import sesd; sys.exit(sesd.main())' "$top_srcdir/tests/sesd" --port "$SES_PORT" \
        > "$T/sesd.log" 2>&1 &
    SESD_PID=$!
    add_cleanup "kill $SESD_PID 2>/dev/null"
    wait_for 20 curl -sf "http://127.0.0.1:$SES_PORT/_sent" || {
        diag "sesd did not start:"; sed 's/^/# /' "$T/sesd.log"; return 1; }
}

sesd_raw() {
    curl -sf "http://127.0.0.1:$SES_PORT/_sent" | $PY -c '
import json, sys
sent = json.load(sys.stdin)
n = int(sys.argv[1])
sys.stdout.write(sent[n]["raw"] if n < len(sent) else "")' "$1"
}

sesd_count() {
    curl -sf "http://127.0.0.1:$SES_PORT/_sent" | $PY -c 'import json,sys; print(len(json.load(sys.stdin)))'
}

milter_hup() {
    _before=$(grep -c "configuration reloaded" "$T/ses.log")
    cp "$1" "$T/ses.conf"
    kill -HUP "$MILTER_PID"
    wait_for 10 sh -c "[ \$(grep -c 'configuration reloaded' '$T/ses.log') -gt $_before ]"
}

supp_add() {
    "$B/tests/milter/supp-add" "$T/data" "$@" && chmod -R a+rwX "$T/data"
}

dkim_verify_as_ses() {
    $PY - "$@" <<'PYV'
import re, sys, dkim
raw, pub, kind, sel = sys.argv[1:5]
tamper = len(sys.argv) > 5 and sys.argv[5]
msg = open(raw, "rb").read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
head, body = msg.split(b"\r\n\r\n", 1)
fields = re.split(rb"\r\n(?![ \t])", head)
out = []
for f in fields:
    name = f.split(b":", 1)[0].strip().lower()
    if name.startswith(b"x-ses-"):
        continue                      # SES removes its control headers
    if name == b"message-id":
        f = b"Message-ID: <0100018c0a1b2c3d-ses-rewritten-000000@email.amazonses.com>"
    elif name == b"date":
        f = b"Date: Thu, 26 Nov 2026 09:30:00 +0000"
    elif name == b"subject" and tamper:
        f = b"Subject: changed in transit"
    out.append(f)
out += [b"Feedback-ID: 1.us-east-1.abc=:AmazonSES", b"X-SES-Outgoing: 2026.11.26-1.2.3.4"]
msg = b"\r\n".join(out) + b"\r\n\r\n" + body
rec = b"v=DKIM1; k=" + kind.encode() + b"; p=" + pub.encode()
def dns(name, timeout=5):
    return rec if name.decode().startswith(sel + "._domainkey.") else b""
print("valid" if dkim.verify(msg, dnsfunc=dns) else "invalid")
PYV
}
