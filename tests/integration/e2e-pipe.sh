#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# End to end through real Postfix: swaks -> Postfix smtpd -> ses-milter ->
# queue -> pipe(8) -> ses-relay -> the aws-ses-v2-local emulator.
. "${top_srcdir:-.}/tests/lib.sh"
. "$top_srcdir/tests/integration/postfix.sh"
. "$top_srcdir/tests/integration/harness.sh"
pf_need_root
emu_need
tmpdir_make

emu_start; ok $? "SES emulator starts"
ses_conf "$T/ses.conf" "ConfigurationSet e2e-transactional"
milter_start "$T/ses.conf"; ok $? "ses-milter starts"
pf_with_ses "$T/ses.conf"
pf_start; ok $? "private Postfix instance starts"

pf_send alice@sender.example bob@example.net \
    --header "Subject: walking skeleton" --body "Hello through SES" >/dev/null
ok $? "swaks submits a message to Postfix"
pf_wait_empty 30; ok $? "Postfix delivers the message (queue empty)"
emu_wait_count 1 10; ok $? "the message arrives at the SES emulator"

store=$(emu_store)
hdr=$(printf '%s' "$store" | $PY -c '
import json,sys
e=json.load(sys.stdin)["emails"][0]
print(e["subject"]); print(",".join(e["destination"]["to"]))
print(dict((h["name"].lower(), h["value"]) for h in e.get("headers", [])).get("x-ses-configuration-set", "MISSING"))')
is "$(echo "$hdr" | sed -n 1p)" "walking skeleton" "the subject arrives intact"
is "$(echo "$hdr" | sed -n 2p)" "bob@example.net" "the recipient arrives"
is "$(echo "$hdr" | sed -n 3p)" "e2e-transactional" "ses-milter's X-SES-CONFIGURATION-SET arrives at SES"

log=$(pf_log)
like "$log" "to=<bob@example.net>, relay=ses, .*status=sent" "Postfix logs the delivery through the ses transport as sent"
like "$(cat "$T/ses.log")" "[0-9A-F]+: from=<alice@sender.example>, to=<bob@example.net>, nrcpt=1, relay=ses, .*status=sent \\(2\\.0\\.0 queued as ses-" "ses-relay logs the SES MessageId with the queue id"
if grep -q "testSecretKey" "$T/ses.log" "$PF_DIR/maillog" "$T/milter.out" 2>/dev/null; then
    ok 1 "no secret key in any log"; else ok 0 "no secret key in any log"; fi

tap_done
