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
