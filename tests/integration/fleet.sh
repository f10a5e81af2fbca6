#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Three mail hosts on one SES account, on one machine. Each runs in its own
# UTS namespace (unshare -u: host names mta1, mta2, mta3) with its own
# DataDirectory, private Postfix, ses-relay (LMTP) and ses-feedback -Q on
# its own SQS queue; one sesd is SES, SNS and SQS: the topic fans out to
# the three queues (contrib/cloudformation's wiring) and SES publishes a
# bounce for every recipient named bounce*, echoing ses-relay's tags.
#   - every host suppresses every bounced address, within 5 s;
#   - one DSN per bounce in the fleet, from the host that relayed it;
#   - a bounce whose record no host holds: the host its mta-host tag
#     names; a notification without tags: BounceDSNHost (mta1) only;
#   - against SES throttling above R recipients/s, nothing is deferred or
#     bounced (the hosts' rates adapt; throttled calls are retried).
. "${top_srcdir:-.}/tests/lib.sh"
. "$top_srcdir/tests/integration/postfix.sh"
. "$top_srcdir/tests/integration/harness.sh"
. "$top_srcdir/tests/integration/relay-lib.sh"
. "$top_srcdir/tests/integration/fleet-lib.sh"
pf_need_root
sesd_need
fleet_need
tmpdir_make
HOSTS="1 2 3"
TOPIC=arn:aws:sns:us-east-1:123456789012:ses-feedback
QPATH=/123456789012/fleet-mta

relay_sesd_start; ok $? "sesd starts (SES, SNS, SQS)"
sesd_state "{\"sqs_visibility\": 5, \"sqs_max_wait\": 1,
  \"sns_fanout\": {\"$TOPIC\": [\"${QPATH}1\", \"${QPATH}2\", \"${QPATH}3\"]},
  \"ses_bounce\": {\"pattern\": \"^bounce\", \"topic\": \"$TOPIC\"}}"

suppressed_on() { "$B/relay/ses-suppress" -c "$(conf "$1")" check "$2" >/dev/null 2>&1; }
# DSNs that reached alice@sender.example on host I
dsns_on() { find "$T/h$1/pf/mail/alice/new" -type f 2>/dev/null | wc -l; }
dsns_about() { grep -l "Final-Recipient: rfc822; $2" "$T/h$1"/pf/mail/alice/new/* 2>/dev/null | wc -l; }
fleet_dsns() { echo $(($(dsns_on 1) + $(dsns_on 2) + $(dsns_on 3))); }
send_via() { # send_via I SUBJECT RCPT...
    _h=$1 _s=$2; shift 2
    swaks --silent 2 --server 127.0.0.1 --port "$(port "$_h")" \
        --from alice@sender.example --to "$(echo "$@" | tr ' ' ,)" \
        --header "Subject: $_s" --body "fleet test"
}

for i in $HOSTS; do
    host_up "$i" "FeedbackQueueUrl $SESD_URL${QPATH}$i" "SnsTopicArn $TOPIC" \
        "BounceDSNHost mta1" "MaxSendRate ${FLEET_RATE:-20}" && feedback_up "$i"
    ok $? "host mta$i up: own name, DataDirectory, Postfix, ses-relay, ses-feedback"
done
is "$(nsenter -t "$NS2" -u hostname) $(hostname)" "mta2 $(hostname)" \
    "each host has its own name; the machine keeps its own"

# ---- fan-out: every host suppresses, one DSN from the relaying host ----
for i in $HOSTS; do send_via "$i" "fleet $i" "bounce$i@example.net" "ok$i@example.net"; done
ok $? "a message with a bounced and a delivered recipient sent through each host"
wait_for 30 sh -c "[ \$(curl -sf $SESD_URL/_sns/published | $PY -c 'import json,sys; print(len(json.load(sys.stdin)))') -ge 3 ]"
ok $? "SES published the three bounces to the topic"
# seconds from each bounce's publication to its suppression on the last host
worst=$($PY - "$SESD_URL" "$B/relay/ses-suppress" "$T" <<'PY'
import json, subprocess, sys, time, urllib.request
url, prog, t = sys.argv[1:4]
pub = {}
for p in json.load(urllib.request.urlopen(url + "/_sns/published")):
    for r in json.loads(p["body"])["bounce"]["bouncedRecipients"]:
        pub[r["emailAddress"]] = p["time"]
worst, deadline = 0.0, time.time() + 30
if len(pub) < 3:
    print("never")
    sys.exit(0)
for addr, t0 in pub.items():
    for h in (1, 2, 3):
        while subprocess.call([prog, "-c", "%s/h%d/ses.conf" % (t, h), "check", addr],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL):
            if time.time() > deadline:
                print("never")
                sys.exit(0)
            time.sleep(0.05)
        worst = max(worst, time.time() - t0)
print("%.2f" % worst)
PY
)
diag "fleet-wide suppression: the last host suppressed a bounce ${worst} s after SES published it"
[ "$worst" != never ] && $PY -c "import sys; sys.exit(0 if float('$worst') <= 5 else 1)"
ok $? "every host suppresses every bounced address within 5 s"
n=0
for i in $HOSTS; do for a in $HOSTS; do suppressed_on "$i" "bounce$a@example.net" && n=$((n + 1)); done; done
is "$n" 9 "3 bounced addresses x 3 hosts: all suppressed"
suppressed_on 2 ok1@example.net; is $? 1 "the delivered recipient is suppressed nowhere"
wait_for 30 sh -c "[ \$(find $T/h1/pf/mail/alice/new $T/h2/pf/mail/alice/new $T/h3/pf/mail/alice/new -type f 2>/dev/null | wc -l) -ge 3 ]"
sleep 2 # a duplicate, if any, would arrive by now
for i in $HOSTS; do
    is "$(dsns_about "$i" "bounce$i@example.net") $(dsns_on "$i")" "1 1" \
        "mta$i: one DSN, for the bounce of the message it relayed"
done
is "$(fleet_dsns)" 3 "3 bounces, 3 DSNs in the fleet"
like "$(cat "$T"/h2/pf/mail/alice/new/*)" "Reporting-MTA: dns; mta2" "mta2's DSN names mta2"
like "$(cat "$T/h3/ses.log")" "no DSN from this host for SES message .*: host mta1 relayed it" \
    "the other hosts say who writes the DSN"

# ---- a record no host holds: the tag names the host ----
note() { # note FORMAT MESSAGE_ID RCPT [MTA_HOST]
    $PY - "$@" <<'PY'
import json, sys, uuid
fmt, mid, rcpt = sys.argv[1:4]
mail = {"timestamp": "2026-01-01T00:00:00.000Z", "messageId": mid,
        "source": "Sender Name <alice@sender.example>",
        "destination": [rcpt], "headers": [], "commonHeaders": {}}
bounce = {"bounceType": "Permanent", "bounceSubType": "General",
          "bouncedRecipients": [{"emailAddress": rcpt, "status": "5.1.1",
                                 "action": "failed"}],
          "timestamp": "2026-01-01T00:00:05.000Z", "feedbackId": str(uuid.uuid4())}
if fmt == "event":
    mail["tags"] = {"mta-host": [sys.argv[4]]}
    print(json.dumps({"eventType": "Bounce", "bounce": bounce, "mail": mail}))
else:
    print(json.dumps({"notificationType": "Bounce", "bounce": bounce, "mail": mail}))
PY
}
publish() { curl -sf -X POST --data-binary "$1" "$SESD_URL/_sns/publish/$TOPIC" >/dev/null; }
publish "$(note event 0100-expired-1 rebuilt@example.net mta3)"
wait_for 20 sh -c "[ \$(grep -l 'rebuilt@example.net' $T/h3/pf/mail/alice/new/* 2>/dev/null | wc -l) -ge 1 ]"
sleep 2
is "$(dsns_about 1 rebuilt@example.net)$(dsns_about 2 rebuilt@example.net)$(dsns_about 3 rebuilt@example.net)" 001 \
    "a bounce no host has a record for: the DSN from the host its mta-host tag names, to the address in mail.source"

# ---- no tags (identity notifications): BounceDSNHost only ----
publish "$(note notification 0100-untagged-1 untagged@example.net)"
wait_for 20 sh -c "[ \$(grep -l 'untagged@example.net' $T/h1/pf/mail/alice/new/* 2>/dev/null | wc -l) -ge 1 ]"
sesd_state "{\"ses_bounce\": {\"pattern\": \"^bounce\", \"topic\": \"$TOPIC\", \"format\": \"notification\"}}"
send_via 2 "fleet untagged" bounce-untagged@example.net
wait_for 30 sh -c "[ \$(grep -l 'bounce-untagged@example.net' $T/h1/pf/mail/alice/new/* 2>/dev/null | wc -l) -ge 1 ]"
sleep 2
is "$(dsns_about 1 untagged@example.net)$(dsns_about 2 untagged@example.net)$(dsns_about 3 untagged@example.net)" 100 \
    "a notification without tags and no record: one DSN, from BounceDSNHost mta1"
is "$(dsns_about 1 bounce-untagged@example.net)$(dsns_about 2 bounce-untagged@example.net)$(dsns_about 3 bounce-untagged@example.net)" 100 \
    "without tags even the host holding the record (mta2) leaves it to mta1: one DSN"
for i in $HOSTS; do suppressed_on "$i" bounce-untagged@example.net || break; done
ok $? "... and every host suppresses it"
sesd_state "{\"ses_bounce\": {\"pattern\": \"^bounce\", \"topic\": \"$TOPIC\"}}"
is "$(fleet_dsns)" 6 "6 bounces, 6 DSNs in the fleet"

# ---- one account rate: SES throttles above R; nothing deferred ----
R=${FLEET_RATE:-20}
M=${FLEET_MESSAGES:-40}
sesd_state "{\"throttle_rate\": $R}"
pids=""
for i in $HOSTS; do
    printf 'From: alice@sender.example\nTo: r@example.net\nSubject: rate\n\nx\n' > "$T/h$i/msg.eml"
    smtp-source -s 10 -m "$M" -F "$T/h$i/msg.eml" -f alice@sender.example \
        -t "rate$i@example.net" "127.0.0.1:$(port "$i")" &
    pids="$pids $!"
done
wait $pids
for i in $HOSTS; do PF_DIR=$T/h$i/pf; pf_wait_empty 120 || break; done
ok $? "every host's queue drains"
sent=$(sesd_sent | $PY -c 'import json,sys; print(sum(1 for e in json.load(sys.stdin) if e["destinations"][0].startswith("rate")))')
is "$sent" $((3 * M)) "SES accepted all $((3 * M)) messages from the three hosts"
deferred=$(cat "$T"/h*/pf/maillog | grep 'to=<rate' | grep -c 'status=deferred')
bounced=$(cat "$T"/h*/pf/maillog | grep 'to=<rate' | grep -c 'status=bounced')
is "$deferred $bounced" "0 0" "against SES throttling above $R/s nothing was deferred or bounced"
throttled=$(sesd_requests | $PY -c 'import json,sys; print(sum(1 for r in json.load(sys.stdin) if r["route"]=="ses-send-v2" and r.get("status") in (400, 429)))')
diag "rate phase: $((3 * M)) messages at $R/s: $throttled throttled SES calls, retried within RetryTime"

if grep -q "testSecretKey" "$T"/h*/ses.log "$T"/h*/relay.out "$T"/h*/feedback.out; then
    ok 1 "no secret in any log"; else ok 0 "no secret in any log"; fi
tap_done
