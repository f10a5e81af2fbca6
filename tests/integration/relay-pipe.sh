#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# ses-relay in pipe mode: through real Postfix (pipe(8)) against sesd, and
# invoked directly for what one exit status must say about split deliveries.
. "${top_srcdir:-.}/tests/lib.sh"
. "$top_srcdir/tests/integration/postfix.sh"
. "$top_srcdir/tests/integration/harness.sh"
. "$top_srcdir/tests/integration/relay-lib.sh"
pf_need_root
tmpdir_make

relay_sesd_start; ok $? "sesd starts"
ses_conf "$T/ses.conf"
pf_with_relay pipe "$T/ses.conf"
pf_start; ok $? "private Postfix instance with the pipe transport starts"

relay_transport_tests pipe

# ---- direct invocations: one exit status for several SES calls ----
run_relay() { "$B/relay/ses-relay" -c "$T/ses.conf" "$@"; }
msg() { printf 'From: alice@sender.example\nSubject: %s\n\nbody\n' "$1"; }

sesd_reset
out=$(msg direct-ok | run_relay -f "" -q 1A2B3C4D5E -- $(rcpt_list 60 d.example | tr , ' ')); rc=$?
is "$rc" 0 "60 recipients in one invocation: exit 0"
is "$(sent_summary direct-ok)" "calls=2 dests=60 unique=60 sizes=50,10" \
    "... two SES calls, each recipient once"
is "$(sent_field direct-ok 'e["from"]')" None "the null sender is sent without a FromEmailAddress"

sesd_fault '{"route": "ses-send-v2", "count": 1, "status": 400, "error": "BadRequestException", "message": "Illegal content."}'
out=$(msg direct-perm | run_relay -f alice@sender.example -- $(rcpt_list 60 d.example | tr , ' ')); rc=$?
is "$rc" 69 "first batch rejected for good, second accepted: exit 69 (bounce)"
like "$out" "^5\\.7\\.1 SES 400 BadRequestException: Illegal content\\.; 10 of 60 recipients were accepted by SES \\(.+\\) and received the message$" \
    "... the diagnostic says which part SES accepted, so the DSN tells the truth"
is "$(sent_summary direct-perm)" "calls=1 dests=10 unique=10 sizes=10" \
    "... SES has the second batch only"

sesd_reset
sesd_fault '{"route": "ses-send-v2", "skip": 1, "count": -1, "status": 503, "error": "ServiceUnavailable", "message": "down"}'
out=$(msg direct-temp | run_relay -f alice@sender.example -q 2B3C4D5E6F -- $(rcpt_list 120 d.example | tr , ' ')); rc=$?
is "$rc" 75 "first batch accepted, second deferred: exit 75 (Postfix retries)"
like "$out" "^4\\.3\\.0 SES 503 ServiceUnavailable: down; 50 of 120 recipients were already accepted by SES" \
    "... the diagnostic warns of the duplicates a retry makes"
like "$(grep 2B3C4D5E6F "$T/ses.log")" "2B3C4D5E6F: deferring a delivery SES accepted for 50 of 120 recipients" \
    "... and so does a log line"
like "$(grep 2B3C4D5E6F "$T/ses.log")" "sent=50 deferred=70 bounced=0" \
    "... one log line counts every outcome"
is "$(sent_summary direct-temp)" "calls=1 dests=50 unique=50 sizes=50" \
    "... SES has the first batch"
is "$(sesd_requests | $PY -c '
import json, sys
print(sorted(set(r["json"]["Destination"]["ToAddresses"][0] for r in json.load(sys.stdin) if r["route"] == "ses-send-v2")))')" \
    "['r1@d.example', 'r51@d.example']" \
    "... the third batch was never sent after the second was deferred"

sesd_reset
out=$(msg direct-utf8 | run_relay -f alice@sender.example -- "j$(printf '\303\266')rg@example.net" "bob@b$(printf '\303\274')cher.example"); rc=$?
is "$rc" 65 "a non-ASCII local part bounces (EX_DATAERR)"
like "$out" "^5\\.6\\.7 <j..rg@example.net>: non-ASCII local part not supported by Amazon SES; 1 of 2 recipients were accepted" \
    "... with 5.6.7, naming the address"
is "$(sent_field direct-utf8 'e["destinations"]')" "['bob@xn--bcher-kva.example']" \
    "a non-ASCII domain goes to SES as its A-label"

out=$(msg direct-sender | run_relay -f "j$(printf '\303\266')rg@sender.example" -- bob@example.net); rc=$?
is "$rc" 65 "a non-ASCII sender local part bounces"
like "$out" "^5\\.6\\.7 sender <j..rg@sender.example>: non-ASCII local part" "... with 5.6.7"

printf 'Region us-east-1\nEndpoint http://127.0.0.1:%s\nCredentialsFile %s\nDataDirectory %s\nLogFile %s\nRetryTime 0\n' \
    "$SES_PORT" "$T/aws-credentials" "$T/nodata/deep" "$T/ses.log" > "$T/nostore.conf"
mkdir -p "$T/nodata"; chmod 500 "$T/nodata"
out=$(msg direct-nostore | su -s /bin/sh nobody -c "$B/relay/ses-relay -c $T/nostore.conf -f alice@sender.example -q 3C4D5E6F7A -- bob@example.net"); rc=$?
is "$rc" 0 "a message map that cannot be written does not defer an accepted message"
like "$(grep 3C4D5E6F7A "$T/ses.log")" "cannot open the message map" "... it is logged loudly"

tap_done
