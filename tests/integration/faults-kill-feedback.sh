#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# kill -9 of ses-feedback -Q (against sesd's SQS) in the middle of work:
# an SQS message is deleted only after its effect is committed, so a kill
# between applying and deleting means a redelivery that is applied once;
# the DSN is committed to the outbox with the notification and injected
# after, so a kill before sendmail took it loses nothing and sends it
# once, and only a kill after sendmail's success (before the outbox
# update) sends it twice; a kill anywhere in a batch loses nothing; the
# Berkeley DB environment recovers each time. The DSN goes to a sendmail
# stand-in, which also does the killing at the exact steps.
. "${top_srcdir:-.}/tests/lib.sh"
. "$top_srcdir/tests/sesd/lib.sh"
sesd_need
tmpdir_make
B=$top_builddir
PY=/usr/bin/python3
SIGN="$PY $top_srcdir/tests/integration/sns_sign.py"
FIX=$top_srcdir/tests/data/feedback
Q=/123456789012/ses-feedback

sesd_start; ok $? "sesd starts"
sesd_state '{"sqs_visibility": 1, "sqs_max_receive": 50, "sqs_max_wait": 1}'
mkdir -p "$T/dsn"
# $T/mode: kill-before kills ses-feedback (the stand-in's parent) before
# the DSN is taken, kill-after once it is (sendmail's success)
cat > "$T/sendmail" <<EOS
#!/bin/sh
mode=\$(cat "$T/mode" 2>/dev/null)
if [ "\$mode" = kill-before ]; then : > "$T/mode"; kill -9 \$PPID; exit 75; fi
cat > "$T/dsn/\$(date +%s%N).\$\$"
if [ "\$mode" = kill-after ]; then : > "$T/mode"; kill -9 \$PPID; fi
exit 0
EOS
chmod 755 "$T/sendmail"
sesd_relay_conf "$T/ses.conf" "DataDirectory $T/data" \
    "FeedbackQueueUrl $SESD_URL$Q" "Sendmail $T/sendmail" "LogLevel debug"
i=1; while [ $i -le 100 ]; do echo "keep$i@example.org,manual"; i=$((i + 1)); done > "$T/supp.csv"
"$B/relay/ses-suppress" -c "$T/ses.conf" import "$T/supp.csv" >/dev/null
ok $? "100 suppressions imported"

send() { curl -sf -X POST --data-binary @"$1" "$SESD_URL/_sqs/send$Q" |
         $PY -c 'import json,sys; print(json.load(sys.stdin)["MessageId"])'; }
qpy() { curl -sf "$SESD_URL/_sqs/queue$Q" | $PY -c "import json,sys; q=json.load(sys.stdin); print($1)"; }
suppressed() { "$B/relay/ses-suppress" -c "$T/ses.conf" check "$1" >/dev/null; }
supp_count() { "$B/relay/ses-suppress" -c "$T/ses.conf" list 2>/dev/null | wc -l; }
dsns() { ls "$T/dsn" | wc -l; }
dsns_for() { grep -l "Final-Recipient: rfc822; $1\$" "$T"/dsn/* 2>/dev/null | wc -l; }
queue_empty() { [ "$(qpy "len(q['messages']) + len(q['dlq'])")" = 0 ]; }
fb_start() {
    "$B/relay/ses-feedback" -c "$T/ses.conf" -Q -f >> "$T/feedback.out" 2>&1 &
    FB=$!
    add_cleanup "kill $FB 2>/dev/null"
}
bounce() { # bounce N: a bounce notification for bN@example.net
    $SIGN bounce "$FIX/bounce-permanent.json" "0100-msg-$1" alice@sender.example \
        "b$1@example.net" "fb-$1" > "$T/b$1.json"
    send "$T/b$1.json"
}

# ---- killed between commit and delete ----
sesd_state '{"sqs_delete_hang": true}'
A=$(bounce 1)
fb_start
wait_for 30 sh -c "[ \"\$(curl -sf $SESD_URL/_sqs/queue$Q | $PY -c 'import json,sys; print(json.load(sys.stdin).get(\"delete_hung\", 0))')\" -ge 1 ]"
ok $? "ses-feedback applied the bounce and is deleting it"
suppressed b1@example.net; is $? 0 "the suppression is committed before the delete"
is "$(dsns)" 1 "the DSN went out before the delete"
kill -9 $FB; ok $? "kill -9 ses-feedback before the delete completes"
sesd_state '{"sqs_delete_hang": false}'
is "$(qpy "'$A' in q['deleted']")" False "the message was not deleted"
fb_start
wait_for 30 sh -c "curl -sf $SESD_URL/_sqs/queue$Q | grep -q '\"deleted\": \\[.*$A'"
ok $? "after a restart the redelivered message is deleted"
is "$(qpy "len(q['messages'])")" 0 "the queue is empty"
is "$(dsns)" 1 "the redelivery was recognised: still one DSN (applied once)"
like "$(cat "$T/relay.log")" "message 0100-msg-1 already applied; duplicate ignored" "the redelivery is logged as a duplicate"
kill $FB; wait $FB 2>/dev/null

# ---- kill -9 after the commit, before sendmail took the DSN ----
echo kill-before > "$T/mode"
bounce 50 >/dev/null
fb_start
wait_for 30 sh -c "! kill -0 $FB 2>/dev/null"
ok $? "ses-feedback is killed as sendmail starts"
suppressed b50@example.net; is $? 0 "the bounce was committed before the DSN"
is "$(dsns_for b50@example.net)" 0 "no DSN went out"
fb_start
wait_for 30 sh -c "[ \$(grep -l 'b50@example.net' $T/dsn/* 2>/dev/null | wc -l) -ge 1 ]"
wait_for 30 queue_empty
is "$(dsns_for b50@example.net)" 1 "after a restart the outbox sends it: one DSN"
kill $FB; wait $FB 2>/dev/null

# ---- kill -9 after sendmail took the DSN, before the outbox update ----
echo kill-after > "$T/mode"
bounce 51 >/dev/null
fb_start
wait_for 30 sh -c "! kill -0 $FB 2>/dev/null"
ok $? "ses-feedback is killed right after sendmail's success"
is "$(dsns_for b51@example.net)" 1 "the DSN went out"
fb_start
wait_for 30 queue_empty
wait_for 30 sh -c "[ \$(grep -l 'b51@example.net' $T/dsn/* 2>/dev/null | wc -l) -ge 2 ]"
is "$(dsns_for b51@example.net)" 2 \
    "a kill in the window after sendmail's success repeats the DSN once (no MTA injects idempotently)"
kill $FB; wait $FB 2>/dev/null

# ---- kill -9 anywhere in a batch, twice ----
before=$(supp_count)
i=2; while [ $i -le 41 ]; do bounce $i >/dev/null; i=$((i + 1)); done
ok 0 "40 more bounces queued"
fb_start
wait_for 30 sh -c "[ \$(ls $T/dsn | wc -l) -ge 8 ]"
kill -9 $FB; ok $? "kill -9 ses-feedback after a few DSNs"
fb_start
wait_for 30 sh -c "[ \$(ls $T/dsn | wc -l) -ge 20 ]"
kill -9 $FB; ok $? "kill -9 it again"
fb_start
wait_for 60 sh -c "[ \"\$(curl -sf $SESD_URL/_sqs/queue$Q | $PY -c 'import json,sys; q=json.load(sys.stdin); print(len(q[\"messages\"]) + len(q[\"dlq\"]))')\" = 0 ]"
ok $? "after the restarts the queue drains"
missing=0; i=2
while [ $i -le 41 ]; do suppressed "b$i@example.net" || missing=$((missing + 1)); i=$((i + 1)); done
is "$missing" 0 "all 40 bounced addresses are suppressed"
is "$(supp_count)" "$((before + 40))" "the store holds the old entries and the 40 new ones"
n=$(dsns); n=$((n - 1 - 3)) # bounce 1, bounce 50 once, bounce 51 twice
diag "feedback kill -9: 40 bounces in the batch, $n DSNs ($((n - 40)) duplicates: a kill after sendmail's success)"
[ "$n" -ge 40 ] && [ "$n" -le 42 ]
ok $? "every bounce got its DSN, at most one extra per kill"
w=$(sed -n 's/.*outbox: DSN for SES message .* removed \([0-9]*\) us after sendmail returned.*/\1/p' "$T/relay.log" | sort -n)
diag "outbox update after sendmail's success: $(echo "$w" | wc -l) DSNs, median $(echo "$w" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}') us, max $(echo "$w" | tail -1) us"
is "$(qpy "len(q['dlq'])")" 0 "nothing went to the dead-letter queue"
db_verify -h "$T/data" "$T/data/suppression.db" >/dev/null 2>&1
ok $? "db_verify: suppression.db is sound"
kill $FB
if grep -q "testSecretKey" "$T/relay.log" "$T/feedback.out"; then
    ok 1 "no secret in any log"; else ok 0 "no secret in any log"; fi
tap_done
