#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# kill -9 in the middle of work, then restart: ses-milter and ses-relay -l
# share one Berkeley DB environment behind a real Postfix. Nothing is lost
# (Postfix keeps what it accepted and retries; what the milter could not
# answer is refused with 4xx, never 5xx, so clients retry), nothing is
# bounced, and the environment recovers: the store opens, data intact.
#   swaks -> Postfix smtpd -> ses-milter -> queue -> lmtp -> ses-relay -> sesd
. "${top_srcdir:-.}/tests/lib.sh"
. "$top_srcdir/tests/integration/postfix.sh"
. "$top_srcdir/tests/integration/harness.sh"
. "$top_srcdir/tests/integration/relay-lib.sh"
pf_need_root
sesd_need
tmpdir_make

relay_sesd_start; ok $? "sesd starts"
ses_conf "$T/ses.conf" "Timeout 5s" "RetryTime 4s"
# data every process must find intact after each kill
i=1; while [ $i -le 200 ]; do echo "keep$i@example.org,bounce"; i=$((i + 1)); done > "$T/supp.csv"
"$B/relay/ses-suppress" -c "$T/ses.conf" import "$T/supp.csv" >/dev/null
ok $? "200 suppressions imported"
supp_count() { "$B/relay/ses-suppress" -c "$T/ses.conf" list 2>&1 | grep -c '^keep'; }
relay_lmtp_start "$T/ses.conf"; ok $? "ses-relay -l starts"
milter_start "$T/ses.conf"; ok $? "ses-milter starts"
pf_with_relay lmtp "$T/ses.conf"
pf_set "smtpd_milters = unix:$T/milter.sock" "milter_default_action = tempfail"
pf_start; ok $? "Postfix starts with ses-milter and the lmtp transport"

# send_batch PREFIX N: N messages in parallel, each swaks's outcome in
# $T/out/PREFIX-I (exit code first)
mkdir -p "$T/out"
send_one() {
    _o=$(pf_send alice@sender.example "$1@example.net" --header "Subject: $1" 2>&1)
    printf '%s\n%s\n' "$?" "$_o" > "$T/out/$1"
}
send_batch() {
    _i=1; _pids=""
    while [ $_i -le "$2" ]; do
        send_one "$1-$_i" & _pids="$_pids $!"
        _i=$((_i + 1))
        sleep 0.05
    done
    for _p in $_pids; do wait "$_p"; done
}
# Messages of PREFIX Postfix did not take (swaks exit != 0): their names.
refused() { for f in "$T"/out/"$1"-*; do [ "$(head -1 "$f")" = 0 ] || basename "$f"; done; }
ses_calls() { sent_summary "$1" | sed 's/calls=\([0-9]*\).*/\1/'; }
# count_lost PREFIX N: messages of PREFIX not at SES; the duplicates SES
# got go to $T/dups
count_lost() {
    _l=0; _d=0; _i=1
    while [ $_i -le "$2" ]; do
        _c=$(ses_calls "$1-$_i")
        [ "$_c" -ge 1 ] || _l=$((_l + 1))
        [ "$_c" -gt 1 ] && _d=$((_d + _c - 1))
        _i=$((_i + 1))
    done
    echo $_d > "$T/dups"
    echo $_l
}

# ---- kill -9 ses-relay while deliveries wait on SES ----
sesd_fault '{"route": "ses-send-v2", "count": 15, "delay": 0.5}'
n0=$(sesd_send_requests)
send_batch relay 20 &
SB=$!
wait_for 60 sh -c "[ \$(curl -sf $SESD_URL/_control/requests | $PY -c 'import json,sys; print(len([r for r in json.load(sys.stdin) if r[\"route\"] == \"ses-send-v2\"]))') -ge $((n0 + 5)) ]"
ok $? "relay: deliveries are under way"
kill -9 "$RELAY_PID"; ok $? "relay: kill -9 ses-relay -l"
wait $SB
relay_lmtp_start "$T/ses.conf"; ok $? "relay: a new ses-relay starts on the stale socket"
pf_flush
pf_wait_empty 120; ok $? "relay: Postfix delivers everything after the restart"
is "$(refused relay)" "" "relay: Postfix accepted all 20 (the relay is behind the queue)"
is "$(count_lost relay 20)" 0 "relay: all 20 reached SES"
diag "relay kill -9: 20 messages, duplicates at SES: $(cat "$T/dups") (answers lost with the process)"
is "$(pf_log | grep 'to=<relay-' | grep -c status=bounced)" 0 "relay: none bounced"
is "$(supp_count)" 200 "relay: the store opens after the kill, 200 suppressions intact"
mid=$(grep 'to=<relay-20@example.net>' "$T/ses.log" | sed -n 's/.*queued as \([^ )]*\).*/\1/p' | tail -1)
like "$(db_dump -p -h "$T/data" "$T/data/messages.db" 2>&1)" "${mid:-NO-MESSAGE-ID}" \
    "relay: messages.db records deliveries made after the kill"

# ---- kill -9 ses-milter while clients are in SMTP sessions ----
send_batch milter 30 &
SB=$!
wait_for 60 sh -c "grep -l '^0\$' $T/out/milter-* 2>/dev/null | wc -l | grep -qv '^0\$'"
ok $? "milter: the first messages are accepted"
kill -9 "$MILTER_PID"; ok $? "milter: kill -9 ses-milter"
wait $SB
r=$(refused milter)
nr=$(printf '%s' "$r" | grep -c .)
diag "milter kill -9: 30 sessions, $nr refused while the milter was down"
hard=0
for f in $r; do grep -Eq '<\*\* 5[0-9][0-9]' "$T/out/$f" && hard=$((hard + 1)); done
soft=0
for f in $r; do grep -Eq '<\*\* 4[0-9][0-9] 4\.' "$T/out/$f" && soft=$((soft + 1)); done
is "$hard" 0 "milter: no client got a 5xx while the milter was gone"
is "$soft" "$nr" "milter: each refused client got a 4.x.x answer (try again later)"
milter_start "$T/ses.conf"; ok $? "milter: ses-milter restarts"
for f in $r; do send_one "$f"; done
is "$(refused milter)" "" "milter: the refused clients' retries are accepted"
pf_wait_empty 120; ok $? "milter: Postfix delivers everything"
is "$(count_lost milter 30)" 0 "milter: all 30 reached SES"
diag "milter kill -9: duplicates at SES: $(cat "$T/dups")"
is "$(pf_log | grep 'to=<milter-' | grep -c status=bounced)" 0 "milter: none bounced"
is "$(supp_count)" 200 "milter: the store opens after the kill, 200 suppressions intact"
out=$(pf_send alice@sender.example keep7@example.org --header "Subject: supp" 2>&1)
like "$out" "550 5\\.1\\.1" "milter: the restarted milter still refuses a suppressed recipient"

# ---- both at once, while the other keeps its environment open ----
kill -9 "$MILTER_PID" "$RELAY_PID"; ok $? "kill -9 both"
milter_start "$T/ses.conf"; ok $? "ses-milter restarts"
relay_lmtp_start "$T/ses.conf"; ok $? "ses-relay restarts"
send_batch both 5
is "$(refused both)" "" "both: new mail is accepted"
pf_wait_empty 60; ok $? "both: and delivered"
is "$(count_lost both 5)" 0 "both: all 5 reached SES"
is "$(supp_count)" 200 "both: 200 suppressions intact"
db_verify -h "$T/data" "$T/data/suppression.db" >/dev/null 2>&1
ok $? "db_verify: suppression.db is sound"
if grep -q "testSecretKey" "$T/ses.log" "$PF_DIR/maillog" "$T/relay.out" "$T/milter.out" 2>/dev/null; then
    ok 1 "no secret key in any log"; else ok 0 "no secret key in any log"; fi
tap_done
