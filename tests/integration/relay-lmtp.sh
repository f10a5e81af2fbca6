#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# ses-relay in LMTP mode behind real Postfix (lmtp(8)) against sesd:
# the shared transport behaviour, per-recipient outcomes, the socket's
# permissions, SIGHUP, SIGTERM in the middle of a transaction, kill -9.
. "${top_srcdir:-.}/tests/lib.sh"
. "$top_srcdir/tests/integration/postfix.sh"
. "$top_srcdir/tests/integration/harness.sh"
. "$top_srcdir/tests/integration/relay-lib.sh"
pf_need_root
tmpdir_make

relay_sesd_start; ok $? "sesd starts"
ses_conf "$T/ses.conf" "RelaySocketOwner root:postfix" "SocketMode 0660"
relay_lmtp_start "$T/ses.conf"; ok $? "ses-relay -l unix:PATH starts"
is "$(stat -c '%a %U:%G' "$T/lmtp.sock")" "660 root:postfix" \
    "the socket gets SocketMode and RelaySocketOwner (Postfix can connect, others cannot)"

pf_with_relay lmtp "$T/ses.conf"
# a second lmtp transport that hands up to 100 recipients to one
# transaction, so ses-relay splits them itself
pf_service "lmtpbig unix - - n - - lmtp"
printf 'big.example lmtpbig:unix:%s\n' "$T/lmtp.sock" > "$PF_ETC/transport"
pf_set "lmtpbig_destination_recipient_limit = 100" \
       "transport_maps = texthash:$PF_ETC/transport"
pf_start; ok $? "private Postfix instance with the lmtp transport starts"

relay_transport_tests lmtp

mid=$(sed -n 's/.*to=<bob@example.net>,<carol@example.net>.*queued as \([^ )]*\).*/\1/p' "$T/ses.log" | head -1)
like "$(pf_log | grep 'to=<carol@example.net>')" "status=sent \\(250 2\\.0\\.0 Ok: queued as $mid\\)" \
    "Postfix's own log line carries the SES MessageId"

# ---- one transaction, 60 recipients, two SES calls that disagree ----
sesd_fault '{"route": "ses-send-v2", "count": 1, "status": 400, "error": "BadRequestException", "message": "Illegal content."}'
pf_send alice@sender.example "$(rcpt_list 60 big.example)" \
    --header "Subject: split-lmtp" --header "To: list@example.org" >/dev/null
ok $? "swaks submits 60 recipients for one LMTP transaction"
pf_wait_empty 60; ok $? "Postfix is done with them"
is "$(pf_log | grep -c '@big\.example>.*dsn=5\.7\.1, status=bounced')" 50 \
    "the 50 recipients of the rejected SES call bounce"
is "$(pf_log | grep -c '@big\.example>.*status=sent (250 2\.0\.0 Ok: queued as')" 10 \
    "the 10 recipients of the accepted call are delivered"
is "$(sent_summary split-lmtp)" "calls=1 dests=10 unique=10 sizes=10" \
    "SES has exactly the accepted ten"

# ---- non-ASCII addresses, straight over LMTP ----
out=$(swaks --protocol LMTP --socket "$T/lmtp.sock" --from alice@sender.example \
    --to "j$(printf '\303\266')rg@example.net,bob@b$(printf '\303\274')cher.example" \
    --header "Subject: utf8-lmtp" 2>&1)
like "$out" "553 5\\.6\\.7 <j..rg@example.net>: non-ASCII local part" \
    "a non-ASCII local part gets 553 5.6.7 after DATA"
is "$(sent_field utf8-lmtp 'e["destinations"]')" "['bob@xn--bcher-kva.example']" \
    "a non-ASCII domain goes to SES as its A-label"

# ---- SIGHUP: new transactions see the new configuration ----
echo "ConfigurationSet reloaded-set" >> "$T/ses.conf"
kill -HUP "$RELAY_PID"
wait_for 10 grep -q "configuration reloaded" "$T/ses.log"; ok $? "SIGHUP reloads"
pf_send alice@sender.example frank@example.net --header "Subject: hup-lmtp" >/dev/null
pf_wait_empty 30
is "$(sent_field hup-lmtp 'e["configuration_set"]')" reloaded-set \
    "a message after SIGHUP goes out with the new ConfigurationSet"
echo "BogusKey 1" >> "$T/ses.conf"
kill -HUP "$RELAY_PID"
wait_for 10 grep -q "reload failed, keeping the running configuration" "$T/ses.log"
ok $? "a broken file on SIGHUP is refused and logged"
pf_send alice@sender.example grace@example.net --header "Subject: hup2-lmtp" >/dev/null
pf_wait_empty 30; ok $? "... and mail still flows"
is "$(sent_field hup2-lmtp 'e["configuration_set"]')" reloaded-set \
    "... with the configuration that was running"
sed -i '/^BogusKey/d' "$T/ses.conf"

# ---- SIGTERM while SES is answering: the transaction finishes ----
sesd_fault '{"route": "ses-send-v2", "count": 1, "delay": 3}'
n0=$(sesd_send_requests)
pf_send alice@sender.example henry@example.net --header "Subject: term-lmtp" >/dev/null
wait_for 20 sh -c "[ \$(curl -sf $SESD_URL/_control/requests | $PY -c 'import json,sys; print(len([r for r in json.load(sys.stdin) if r[\"route\"] == \"ses-send-v2\"]))') -gt $n0 ]"
ok $? "a delivery is in flight at SES"
kill -TERM "$RELAY_PID"
wait_for 2 sh -c "! test -e '$T/lmtp.sock'"; ok $? "SIGTERM removes the socket at once (new clients fail fast)"
kill -0 "$RELAY_PID" 2>/dev/null; ok $? "... while the transaction in flight goes on"
wait_for 15 sh -c "! kill -0 $RELAY_PID 2>/dev/null"; ok $? "ses-relay exits after it"
wait "$RELAY_PID" 2>/dev/null; is "$?" 0 "... with status 0"
like "$(pf_log | grep 'to=<henry@example.net>' | head -1)" "status=sent \\(250 2\\.0\\.0 Ok: queued as " \
    "Postfix got the answer for the message in flight: sent"
is "$(sent_summary term-lmtp)" "calls=1 dests=1 unique=1 sizes=1" "SES has it once"

# ---- kill -9 in the middle of a run: nothing is lost ----
relay_lmtp_start "$T/ses.conf"; ok $? "ses-relay starts again"
sesd_fault '{"route": "ses-send-v2", "count": 12, "delay": 0.4}'
n0=$(sesd_send_requests)
i=1; senders=""
while [ $i -le 20 ]; do
    pf_send alice@sender.example "k$i@example.net" --header "Subject: kill-$i" >/dev/null &
    senders="$senders $!"
    i=$((i + 1))
done
wait_for 30 sh -c "[ \$(curl -sf $SESD_URL/_control/requests | $PY -c 'import json,sys; print(len([r for r in json.load(sys.stdin) if r[\"route\"] == \"ses-send-v2\"]))') -ge $((n0 + 4)) ]"
ok $? "deliveries are under way"
kill -9 "$RELAY_PID"; ok $? "kill -9 ses-relay"
for p in $senders; do wait "$p"; done
test -S "$T/lmtp.sock"; ok $? "the dead process left its socket behind"
sleep 1
{ cat "$T/ses.conf"; echo "RelaySocket unix:$T/lmtp.sock"; } > "$T/ses-key.conf"
relay_lmtp_start "$T/ses-key.conf"
ok $? "a new ses-relay (RelaySocket, no -l) replaces the stale socket"
pf_flush
pf_wait_empty 120; ok $? "Postfix delivers everything after the restart"
lost=0; dup=0; i=1
while [ $i -le 20 ]; do
    c=$(sent_summary "kill-$i" | sed 's/calls=\([0-9]*\).*/\1/')
    [ "$c" -ge 1 ] || lost=$((lost + 1))
    [ "$c" -gt 1 ] && dup=$((dup + c - 1))
    i=$((i + 1))
done
is "$lost" 0 "every one of the 20 messages reached SES (none lost)"
diag "duplicates after kill -9: $dup (a kill between SES's answer and the LMTP reply makes Postfix resend)"
is "$(pf_log | grep -c 'to=<k[0-9]*@example.net>.*status=sent (250 2.0.0 Ok: queued as')" 20 \
    "Postfix logs each of the 20 as sent once"

if grep -q "testSecretKey" "$T/ses.log" "$PF_DIR/maillog" "$T/relay.out" 2>/dev/null; then
    ok 1 "no secret key in any log"; else ok 0 "no secret key in any log"; fi

tap_done
