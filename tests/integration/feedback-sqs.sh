#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# ses-feedback -Q against sesd's SQS (signatures checked with botocore):
# long polls, a message deleted only once its effects are committed,
# duplicates ignored, bad or forged messages left for the dead-letter
# queue, a failing MTA or SQS fault retried, SIGTERM stops the loop.
# The DSN goes to a sendmail stand-in here (real Postfix: feedback.sh).
. "${top_srcdir:-.}/tests/lib.sh"
. "$top_srcdir/tests/sesd/lib.sh"
sesd_need
tmpdir_make
B=$top_builddir
PY=/usr/bin/python3
SIGN="$PY $top_srcdir/tests/integration/sns_sign.py"
FIX=$top_srcdir/tests/data/feedback
TOPIC=arn:aws:sns:us-east-1:123456789012:ses-feedback
CERT_URL=https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0123456789abcdef0123456789abcdef.pem
Q=/123456789012/ses-feedback

sesd_start; ok $? "sesd starts"
sesd_state '{"sqs_visibility": 1, "sqs_max_receive": 4, "sqs_max_wait": 1,
             "identities": {"sender.example": {"forwarding": true}}}'
mkdir -p "$T/dsn"
cat > "$T/sendmail" <<EOF
#!/bin/sh
[ -f "$T/mta-down" ] && exit 75
cat > "$T/dsn/\$(date +%s%N)"
EOF
chmod 755 "$T/sendmail"
sesd_relay_conf "$T/ses.conf" "DataDirectory $T/data" \
    "FeedbackQueueUrl $SESD_URL$Q" "SnsTopicArn $TOPIC" \
    "SnsCertCache $T/certs" "Sendmail $T/sendmail"
$SIGN keygen "$T/certs" "$CERT_URL"
$SIGN keygen "$T/mallory" "$CERT_URL"

send() { curl -sf -X POST --data-binary @"$1" "$SESD_URL/_sqs/send$Q" |
         $PY -c 'import json,sys; print(json.load(sys.stdin)["MessageId"])'; }
queue() { curl -sf "$SESD_URL/_sqs/queue$Q"; }
qpy() { queue | $PY -c "import json,sys; q=json.load(sys.stdin); print($1)"; }
suppressed() { "$B/relay/ses-suppress" -c "$T/ses.conf" check "$1" >/dev/null; }
dsns() { ls "$T/dsn" | wc -l; }

$SIGN bounce "$FIX/bounce-permanent.json" 0100-msg-1 alice@sender.example \
    bob@example.net fb-1 > "$T/bob.json"
$SIGN envelope "$T/certs/key.pem" "$TOPIC" "$CERT_URL" sns-1 "$T/bob.json" 2 \
    > "$T/bob-sns.json"
$SIGN envelope "$T/mallory/key.pem" "$TOPIC" "$CERT_URL" sns-2 "$T/bob.json" 2 \
    > "$T/forged.json"
printf '{"notificationType": "Bounce", "mail": ' > "$T/garbage.json"
A=$(send "$T/bob-sns.json")
C=$(send "$FIX/complaint.json")
G=$(send "$T/garbage.json")
F=$(send "$T/forged.json")
D=$(send "$T/bob-sns.json")  # SNS delivered it twice
ok 0 "five messages queued"

"$B/relay/ses-feedback" -c "$T/ses.conf" -Q -f > "$T/feedback.out" 2>&1 &
FB=$!
add_cleanup "kill $FB 2>/dev/null"
wait_for 30 sh -c "[ \"\$(curl -sf $SESD_URL/_sqs/queue$Q | $PY -c 'import json,sys; q=json.load(sys.stdin); print(len(q[\"messages\"]) + len(q[\"dlq\"]) == 2 and len(q[\"messages\"]) == 0)')\" = True ]"
ok $? "the queue drains: good messages deleted, bad ones redriven"
is "$(qpy "sorted(q['deleted']) == sorted(['$A', '$C', '$D'])")" True \
    "the bounce, the complaint and the duplicate are deleted"
is "$(qpy "sorted(m['MessageId'] for m in q['dlq']) == sorted(['$G', '$F'])")" True \
    "malformed and forged messages end in the dead-letter queue"
is "$(qpy "min(m['receive_count'] for m in q['dlq'])")" 4 \
    "... after being received sqs_max_receive times, never deleted"
suppressed bob@example.net; is $? 0 "the bounce suppressed bob@example.net"
suppressed erin@example.com; is $? 0 "the raw SES complaint suppressed erin@example.com"
is "$(dsns)" 1 "one DSN for the bounce, none for its duplicate"
log=$(cat "$T/relay.log")
like "$log" "sqs:$G: not applied \\(JSON error" "the malformed message is logged with its reason"
like "$log" "left in the queue for its dead-letter queue" "... and left for the dead-letter queue"
like "$log" "sns-2 from topic $TOPIC refused: signature does not match" "the forgery is logged"
reqs=$(sesd_requests)
is "$(printf '%s' "$reqs" | $PY -c '
import json,sys
r=[x for x in json.load(sys.stdin) if x["route"]=="sqs"]
print(all(x["akid"] and not x["error"] for x in r) and len(r) > 0)')" True \
    "every SQS call was SigV4-signed and verified (service sqs)"
is "$(printf '%s' "$reqs" | $PY -c '
import json,sys
r=[x["json"] for x in json.load(sys.stdin) if x["route"]=="sqs" and x["headers"].get("x-amz-target")=="AmazonSQS.ReceiveMessage"]
print(r[0]["WaitTimeSeconds"], r[0]["MaxNumberOfMessages"], r[0]["QueueUrl"].endswith("'$Q'"))')" "20 10 True" \
    "ReceiveMessage long-polls 20 s for up to 10 messages"

# An MTA that cannot take the DSN: the notification is applied and
# deleted all the same, the DSN waits in the outbox; SIGUSR1 (the MTA is
# back) sends it, once.
touch "$T/mta-down"
$SIGN bounce "$FIX/bounce-permanent.json" 0100-msg-3 alice@sender.example \
    carol@example.net fb-3 > "$T/carol.json"
CA=$(send "$T/carol.json")
wait_for 20 sh -c "curl -sf $SESD_URL/_sqs/queue$Q | grep -q '\"deleted\": \\[.*$CA'"
ok $? "while the MTA is down, the bounce is applied and deleted from the queue"
suppressed carol@example.net; is $? 0 "... carol@example.net is suppressed"
is "$(dsns)" 1 "... and her DSN waits"
like "$(cat "$T/relay.log")" "DSN for SES message 0100-msg-3 not sent, will retry in 60 s" \
    "... which the log says"
rm -f "$T/mta-down"
kill -USR1 $FB
wait_for 30 sh -c "[ \$(ls $T/dsn | wc -l) -ge 2 ]"
is "$(dsns)" 2 "SIGUSR1 once the MTA is back: her DSN is sent, once"
is "$(grep -c 'SES identity sender.example has email feedback forwarding on' "$T/relay.log")" 1 \
    "SES's own feedback forwarding on the sending identity is warned about, once"

# SQS answering 500 twice: retried, nothing lost.
sesd_fault '{"route": "sqs", "count": 2, "status": 500, "error": "InternalError", "message": "try again", "protocol": "json-type"}'
$SIGN bounce "$FIX/bounce-permanent.json" 0100-msg-4 alice@sender.example \
    dave@example.net fb-4 > "$T/dave.json"
DA=$(send "$T/dave.json")
wait_for 30 sh -c "curl -sf $SESD_URL/_sqs/queue$Q | grep -q '\"deleted\": \\[.*$DA'"
ok $? "after SQS server errors the next message is still applied and deleted"

# SIGHUP: a broken file keeps the running configuration; a good one
# applies to the next notification (here: no more DSNs).
cp "$T/ses.conf" "$T/ses.conf.good"
echo "BogusKey 1" >> "$T/ses.conf"
kill -HUP $FB
wait_for 30 grep -q "reload: .*BogusKey.*keeping the running configuration" "$T/relay.log"
ok $? "SIGHUP with a broken file keeps the running configuration"
kill -0 $FB; ok $? "... and ses-feedback keeps running"
cp "$T/ses.conf.good" "$T/ses.conf"
echo "BounceDSN no" >> "$T/ses.conf"
kill -HUP $FB
wait_for 30 grep -q "configuration reloaded from $T/ses.conf" "$T/relay.log"
ok $? "SIGHUP reloads the configuration"
$SIGN bounce "$FIX/bounce-permanent.json" 0100-msg-5 alice@sender.example \
    erik@example.net fb-5 > "$T/erik.json"
EA=$(send "$T/erik.json")
wait_for 30 sh -c "curl -sf $SESD_URL/_sqs/queue$Q | grep -q '\"deleted\": \\[.*$EA'"
suppressed erik@example.net; is $? 0 "after the reload bounces are still applied"
is "$(dsns)" 3 "... but with BounceDSN no, without a DSN"

# SQS is read late legitimately (a queue keeps a message up to 14 days):
# an SNS message published 13 days ago is applied - the HTTP endpoint's
# Timestamp window is not for SQS, which only the queue policy's senders
# reach
$SIGN bounce "$FIX/bounce-permanent.json" 0100-msg-late alice@sender.example \
    late@example.net fb-late > "$T/late.json"
SNS_TIMESTAMP_OFFSET=-1123200 $SIGN envelope "$T/certs/key.pem" "$TOPIC" "$CERT_URL" \
    sns-late "$T/late.json" 2 > "$T/late-sns.json"
LA=$(send "$T/late-sns.json")
wait_for 30 sh -c "curl -sf $SESD_URL/_sqs/queue$Q | grep -q '\"deleted\": \\[.*$LA'"
ok $? "an SNS message published 13 days ago, read late from SQS, is applied and deleted"
suppressed late@example.net; is $? 0 "... late@example.net is suppressed"

kill $FB
wait_for 10 sh -c "! kill -0 $FB 2>/dev/null"
ok $? "SIGTERM stops ses-feedback -Q"
like "$(cat "$T/relay.log")" "ses-feedback.*stopped" "it says so"
if grep -q "testSecretKey" "$T/relay.log" "$T/feedback.out"; then
    ok 1 "no secret in any log"; else ok 0 "no secret in any log"; fi
tap_done
