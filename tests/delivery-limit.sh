#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# One delivery keeps to DeliveryTimeLimit, however many batches it has:
# an LMTP transaction whose SES calls are slow answers every recipient,
# sends what fits and defers the rest (4.4.1), and no SES request starts
# unless its Timeout ends before the limit - so Postfix's
# lmtp_data_done_timeout never runs out first. ses-relay -n checks the
# settings against each other and against Postfix's default.
. "${top_srcdir:-.}/tests/lib.sh"
. "$top_srcdir/tests/sesd/lib.sh"
sesd_need
tmpdir_make
RELAY=$top_builddir/relay/ses-relay
sesd_start; ok $? "sesd starts"

sesd_relay_conf "$T/relay.conf" "RecipientsPerCall 1" "DeliveryTimeLimit 4s" \
    "Timeout 1s" "RetryTime 0" "ConnectTimeout 1s"
"$RELAY" -c "$RELAY_CONF" -n
ok $? "ses-relay -n: Timeout 1s fits DeliveryTimeLimit 4s"
"$RELAY" -F -c "$RELAY_CONF" -l "unix:$T/lmtp.sock" > "$T/lmtp.out" 2>&1 &
RELAY_PID=$!
add_cleanup "kill $RELAY_PID 2>/dev/null"
wait_for 10 $SESD_PY -c 'import socket,sys; socket.socket(socket.AF_UNIX).connect(sys.argv[1])' "$T/lmtp.sock"
ok $? "ses-relay -l starts"

# every SES call takes 0.5 s; twelve recipients, one per call, need 6 s
sesd_fault '{"route": "ses-send-v2", "count": -1, "delay": 0.5}'
$SESD_PY -c '
import sys; sys.path.insert(0, sys.argv[1])
from ses_answers import lmtp
for r in lmtp(sys.argv[2], ["r%d@example.net" % i for i in range(12)], "slow"):
    print(r)' "$top_srcdir/tests" "$T/lmtp.sock" > "$T/replies"
is "$(wc -l < "$T/replies")" 12 "every recipient gets a reply"
sent=$(grep -c '^250 ' "$T/replies")
late=$(grep -c '^451 4\.4\.1 .*no time left' "$T/replies")
ok $([ "$sent" -ge 1 ] && [ $((sent + late)) = 12 ] && [ "$late" -ge 1 ] && echo 0 || echo 1) \
   "what fits is sent ($sent), the rest deferred 4.4.1 ($late)"
is "$(sesd_py 'len([r for r in req if r["route"] == "ses-send-v2"])')" "$sent" \
   "... and the deferred recipients were never sent"
span=$(sesd_py 'round(max(r["time"] for r in req) - min(r["time"] for r in req), 2)')
ok $($SESD_PY -c "import sys; sys.exit(0 if $span <= 3.2 else 1)"; echo $?) \
   "no request started after DeliveryTimeLimit - Timeout (requests span $span s)"
kill $RELAY_PID; wait $RELAY_PID 2>/dev/null

sesd_relay_conf "$T/bad.conf" "DeliveryTimeLimit 30s" "Timeout 30s"
out=$("$RELAY" -c "$RELAY_CONF" -n 2>&1); rc=$?
is "$rc" 78 "ses-relay -n: a Timeout that does not fit the limit is an error (78)"
like "$out" "Timeout \\(30 s\\) must be shorter than DeliveryTimeLimit \\(30 s\\)" "... saying why"
sesd_relay_conf "$T/long.conf" "DeliveryTimeLimit 11m"
out=$("$RELAY" -c "$RELAY_CONF" -n 2>&1); rc=$?
is "$rc" 0 "a limit over Postfix's lmtp_data_done_timeout is allowed"
like "$out" "warning: DeliveryTimeLimit \\(660 s\\) is not under Postfix's default lmtp_data_done_timeout \\(600 s\\)" \
     "... with a warning"
tap_done
