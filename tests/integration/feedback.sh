#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# The feedback loop through real Postfix: a message goes out through
# Postfix + ses-milter + ses-relay to the SES emulator; SES "bounces" it
# (a signed SNS notification POSTed to ses-feedback -H); the sender gets a
# DSN in their mailbox from Postfix's own queue and the address is
# suppressed. Duplicates, forgeries and foreign topics change nothing.
#
# ses-feedback runs as root here so that sendmail may use the private
# instance's config directory (MAIL_CONFIG); a non-root sendmail would need
# that directory in alternate_config_directories of /etc/postfix/main.cf.
. "${top_srcdir:-.}/tests/lib.sh"
. "$top_srcdir/tests/integration/postfix.sh"
. "$top_srcdir/tests/integration/harness.sh"
pf_need_root
emu_need
tmpdir_make

SIGN="$PY $top_srcdir/tests/integration/sns_sign.py"
TOPIC=arn:aws:sns:us-east-1:123456789012:ses-feedback
CERT_URL=https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0123456789abcdef0123456789abcdef.pem
FIX=$top_srcdir/tests/data/feedback

emu_start; ok $? "SES emulator starts"
ses_conf "$T/ses.conf" "SnsTopicArn $TOPIC" "SnsCertCache $T/certs" \
    "ReportingMTA mta.test.example" "Sendmail /usr/sbin/sendmail"
milter_start "$T/ses.conf"; ok $? "ses-milter starts"
pf_with_ses "$T/ses.conf"
pf_start; ok $? "private Postfix instance starts"
$SIGN keygen "$T/certs" "$CERT_URL"; ok $? "test SNS signing key and cached certificate"
$SIGN keygen "$T/mallory" "$CERT_URL"; ok $? "a second key, for forgeries"

# 1. Out through Postfix and ses-relay.
pf_send alice@sender.example bob@example.net \
    --header "Subject: figures for Bob" --body "Hello Bob" >/dev/null
ok $? "swaks submits a message for bob@example.net"
pf_wait_empty 30; ok $? "Postfix hands it to ses-relay"
emu_wait_count 1 10; ok $? "the message reaches SES"
line=$(grep "ses-relay.*to=<bob@example.net>,.*status=sent" "$T/ses.log" | tail -1)
QID=$(printf '%s' "$line" | sed -n 's/.*ses-relay[^:]*: \([0-9A-Za-z]*\): from=.*/\1/p')
MID=$(printf '%s' "$line" | sed -n 's/.*status=sent (2\.0\.0 queued as \([^) ]*\)).*/\1/p')
like "$MID" "." "ses-relay logged the SES MessageId ($MID)"

# 2. SES bounces it: ses-feedback -H gets the signed SNS notification.
FB_PORT=$(free_port)
MAIL_CONFIG=$PF_ETC "$B/relay/ses-feedback" -c "$T/ses.conf" -f \
    -H "inet:$FB_PORT@127.0.0.1" > "$T/feedback.out" 2>&1 &
FB_PID=$!
add_cleanup "kill $FB_PID 2>/dev/null"
wait_for 10 $PY -c "import socket; socket.create_connection(('127.0.0.1', $FB_PORT), 1)"
ok $? "ses-feedback -H listens"

post() {  # post FILE -> HTTP status code
    curl -s -o "$T/post.out" -w '%{http_code}' -H 'Content-Type: text/plain' \
        -H "x-amz-sns-message-type: ${2:-Notification}" \
        --data-binary @"$1" "http://127.0.0.1:$FB_PORT/"
}

$SIGN bounce "$FIX/bounce-permanent.json" "$MID" alice@sender.example \
    bob@example.net fb-0001 "$QID" > "$T/bounce.json"
$SIGN envelope "$T/certs/key.pem" "$TOPIC" "$CERT_URL" sns-0001 \
    "$T/bounce.json" 1 > "$T/sns-bounce.json"
is "$(post "$T/sns-bounce.json")" 200 "ses-feedback accepts the signed bounce notification"
pf_wait_empty 30
wait_for 20 sh -c "[ \$(find '$PF_DIR/mail/alice/new' -type f 2>/dev/null | wc -l) -ge 1 ]"
is "$(pf_mailbox_count alice)" 1 "the DSN reaches alice's mailbox through Postfix"
dsn=$(cat "$PF_DIR"/mail/alice/new/* 2>/dev/null)
like "$dsn" "Content-Type: multipart/report; report-type=delivery-status" "the DSN is a multipart/report"
like "$dsn" "Final-Recipient: rfc822; bob@example.net" "the DSN names the bounced recipient"
like "$dsn" "Status: 5\\.1\\.1" "the DSN carries SES's status"
like "$dsn" "Diagnostic-Code: smtp; 550 5\\.1\\.1" "the DSN carries SES's diagnostic code"
like "$dsn" "X-Postfix-Queue-ID: $QID" "the DSN names the original queue id"
like "$dsn" "Return-Path: <>" "the DSN has the null sender"
like "$(pf_log)" "from=<>, size=.*nrcpt=1" "Postfix queued the DSN with the null sender"
out=$("$B/relay/ses-suppress" -c "$T/ses.conf" check bob@example.net); rc=$?
is "$rc" 0 "bob@example.net is suppressed"
like "$out" "suppressed \\(bounce, source feedback" "... as a bounce from feedback"
like "$(cat "$T/ses.log")" "$QID: to=<bob@example.net>, relay=ses, ses_id=$MID, status=bounced \\(Permanent/General" \
    "ses-feedback logs the bounce with the original queue id"

# 3. The same notification again (SNS retries) changes nothing.
is "$(post "$T/sns-bounce.json")" 200 "a duplicate is acknowledged"
# ...and the same SES feedback under another SNS message id (fan-out) too
$SIGN envelope "$T/certs/key.pem" "$TOPIC" "$CERT_URL" sns-0002 \
    "$T/bounce.json" 2 > "$T/sns-bounce2.json"
is "$(post "$T/sns-bounce2.json")" 200 "the same feedback via another SNS message is acknowledged"
pf_wait_empty 30; sleep 1; pf_wait_empty 10
is "$(pf_mailbox_count alice)" 1 "duplicates send no second DSN"
out=$("$B/relay/ses-suppress" -c "$T/ses.conf" list)
is "$(printf '%s\n' "$out" | grep -c example.net)" 1 "duplicates add no entry"
like "$out" "bob@example.net .* 1\$" "duplicates do not count twice"

# 4. Forged, foreign and unsigned messages change nothing.
$SIGN bounce "$FIX/bounce-permanent.json" "$MID" alice@sender.example \
    carol@example.net fb-0003 > "$T/carol.json"
$SIGN envelope "$T/mallory/key.pem" "$TOPIC" "$CERT_URL" sns-0003 \
    "$T/carol.json" 1 > "$T/forged.json"
is "$(post "$T/forged.json")" 403 "a forged SNS signature is refused (403)"
$SIGN envelope "$T/certs/key.pem" arn:aws:sns:us-east-1:999999999999:other \
    "$CERT_URL" sns-0004 "$T/carol.json" 1 > "$T/foreign.json"
is "$(post "$T/foreign.json")" 403 "a topic not in SnsTopicArn is refused"
is "$(post "$T/carol.json")" 403 "bare SES JSON over HTTP is refused"
printf '{"Type": "Notification", "TopicArn": ' > "$T/garbage.json"
is "$(post "$T/garbage.json")" 400 "malformed JSON is refused (400)"
$SIGN subscription "$T/certs/key.pem" arn:aws:sns:us-east-1:999999999999:other \
    "$CERT_URL" sns-0005 "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&Token=x" \
    > "$T/subscribe.json"
is "$(post "$T/subscribe.json" SubscriptionConfirmation)" 403 "a subscription to a foreign topic is not confirmed"
"$B/relay/ses-suppress" -c "$T/ses.conf" check carol@example.net >/dev/null
is $? 1 "carol@example.net is not suppressed"
pf_wait_empty 10
is "$(pf_mailbox_count alice)" 1 "no DSN for refused messages"
like "$(cat "$T/ses.log")" "sns-0003 from topic $TOPIC refused: signature does not match" \
    "the forgery is logged with its reason"

# 5. -F: one file, SNS envelope or bare SES JSON; exit codes.
$SIGN bounce "$FIX/bounce-permanent.json" "$MID" alice@sender.example \
    dave@example.net fb-0006 "$QID" > "$T/dave.json"
MAIL_CONFIG=$PF_ETC "$B/relay/ses-feedback" -c "$T/ses.conf" -F "$T/dave.json"
is $? 0 "ses-feedback -F applies bare SES JSON"
"$B/relay/ses-feedback" -c "$T/ses.conf" -F "$T/forged.json"
is $? 77 "ses-feedback -F exits 77 for a forged envelope"
"$B/relay/ses-feedback" -c "$T/ses.conf" -F "$T/garbage.json"
is $? 65 "ses-feedback -F exits 65 for malformed input"
pf_wait_empty 30
wait_for 20 sh -c "[ \$(find '$PF_DIR/mail/alice/new' -type f | wc -l) -ge 2 ]"
is "$(pf_mailbox_count alice)" 2 "the -F bounce produced a DSN too"
"$B/relay/ses-suppress" -c "$T/ses.conf" check dave@example.net >/dev/null
is $? 0 "dave@example.net is suppressed"

# 6. The loop closes: ses-milter refuses the suppressed address at RCPT
# TO (once the milter's suppression check is in the tree).
if grep -q store_suppression_get "$top_srcdir"/milter/*.c 2>/dev/null; then
    out=$(pf_send alice@sender.example bob@example.net \
              --header "Subject: again" --body "x" 2>&1)
    like "$out" "550 5\\.1\\.1 .*suppression list" \
        "ses-milter refuses the suppressed bob@example.net at RCPT TO"
else
    skip "ses-milter refuses bob@example.net at RCPT TO" \
        "this tree's ses-milter has no suppression check yet (branch milter)"
fi

kill $FB_PID 2>/dev/null
wait $FB_PID 2>/dev/null
like "$(cat "$T/ses.log")" "ses-feedback.*stopped" "ses-feedback -H stops cleanly on SIGTERM"
if grep -q "testSecretKey" "$T/ses.log" "$T/feedback.out" 2>/dev/null; then
    ok 1 "no secret in any log"; else ok 0 "no secret in any log"; fi

tap_done
