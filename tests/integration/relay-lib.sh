# SPDX-License-Identifier: BSD-2-Clause
# tests/integration/relay-lib.sh - ses-relay through real Postfix against
# the sesd test server (sourced after lib.sh, postfix.sh and harness.sh)
#
#   relay_sesd_start           sesd (tests/sesd/lib.sh: sesd_fault,
#                              sesd_reset, ...) for ses_conf's Endpoint
#   sent_summary SUBJECT       what SES received for messages with SUBJECT:
#                              "calls=N dests=N unique=N sizes=50,10"
#                              (sizes largest first: parallel deliveries
#                              reach SES in any order)
#   sent_field SUBJECT EXPR    a Python expression over the first such send
#                              (e: the record sesd keeps) printed
#   relay_lmtp_start CONF      ses-relay -F -l unix:$T/lmtp.sock (RELAY_PID),
#                              or without -l when CONF sets RelaySocket
#   pf_with_relay MODE CONF    Postfix with the contrib/postfix transports,
#                              mail going to ses-relay in MODE pipe or lmtp
#                              (pf_start afterwards)
#   relay_transport_tests MODE the behaviour both transports must show

# sesd itself: tests/sesd/lib.sh (sesd_start, sesd_fault, sesd_reset, ...);
# ses_conf points Endpoint at SES_PORT.
. "$top_srcdir/tests/sesd/lib.sh"
relay_sesd_start() {
    sesd_start || return 1
    SES_PORT=$SESD_PORT
}

sent_summary() {
    sesd_sent | $PY -c '
import json, sys
subj = ("Subject: %s\r\n" % sys.argv[1])
es = [e for e in json.load(sys.stdin) if subj in e["raw"]]
d = [x for e in es for x in e["destinations"]]
print("calls=%d dests=%d unique=%d sizes=%s" % (len(es), len(d), len(set(d)),
      ",".join(str(n) for n in sorted((len(e["destinations"]) for e in es),
                                      reverse=True))))' "$1"
}

sent_field() {
    sesd_sent | $PY -c '
import json, sys
subj = ("Subject: %s\r\n" % sys.argv[1])
es = [e for e in json.load(sys.stdin) if subj in e["raw"]]
e = es[0] if es else {}
print(eval(sys.argv[2]))' "$1" "$2"
}

# Number of SES send requests sesd saw (faulted ones included).
sesd_send_requests() {
    sesd_requests | $PY -c '
import json, sys
print(len([r for r in json.load(sys.stdin) if r["route"] == "ses-send-v2"]))'
}

relay_lmtp_start() {
    if grep -q '^RelaySocket ' "$1"; then # the key instead of -l
        "$B/relay/ses-relay" -F -c "$1" >> "$T/relay.out" 2>&1 &
    else
        "$B/relay/ses-relay" -F -c "$1" -l "unix:$T/lmtp.sock" \
            >> "$T/relay.out" 2>&1 &
    fi
    RELAY_PID=$!
    add_cleanup "kill $RELAY_PID 2>/dev/null"
    wait_for 10 lmtp_alive || {
        diag "ses-relay did not start:"; sed 's/^/# /' "$T/relay.out"; return 1; }
}

# The socket answers a connection (as opposed to a stale file).
lmtp_alive() {
    $PY -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])' "$T/lmtp.sock"
}

# The shipped contrib/postfix snippets, pointed at this build and test:
# pipe mode takes mail from @sender.example by sender_dependent_default_
# transport_maps (anything else is refused by an error transport), LMTP
# mode takes everything by default_transport.
pf_with_relay() {
    pf_init "$T/postfix"
    sed -e "s|/usr/sbin/ses-relay|$B/relay/ses-relay|" \
        -e "s|/etc/ses-milter.conf|$2|" -e "s|user=ses-milter|user=nobody|" \
        "$top_srcdir/contrib/postfix/master.cf" | grep -v '^#' | grep . \
        >> "$PF_ETC/master.cf"
    grep -E '^(ses|seslmtp)_[a-z_]+ = ' "$top_srcdir/contrib/postfix/main.cf" |
        while read -r _l; do pf_set "$_l"; done
    if [ "$1" = pipe ]; then
        printf '@sender.example ses:\n' > "$PF_ETC/ses_senders"
        pf_set "sender_dependent_default_transport_maps = texthash:$PF_ETC/ses_senders" \
               "default_transport = error:5.7.1 only @sender.example uses SES here"
    else
        pf_set "default_transport = seslmtp:unix:$T/lmtp.sock"
    fi
}

# rcpt_list N DOMAIN: r1@DOMAIN,...,rN@DOMAIN
rcpt_list() {
    _i=1; _l=""
    while [ "$_i" -le "$1" ]; do _l="$_l${_l:+,}r$_i@$2"; _i=$((_i + 1)); done
    echo "$_l"
}

# Postfix log lines of deliveries, for one recipient pattern and status.
pf_log_count() { pf_log | grep -E "$1" | grep -c "status=$2"; }

relay_transport_tests() {
    M=$1

    # Bcc: the destinations are the envelope, not the headers.
    pf_send alice@sender.example bob@example.net,carol@example.net \
        --header "Subject: bcc-$M" --header "To: bob@example.net" >/dev/null
    ok $? "$M: swaks submits a message with a Bcc recipient"
    pf_wait_empty 30; ok $? "$M: Postfix delivers it (queue empty)"
    is "$(sent_summary "bcc-$M")" "calls=1 dests=2 unique=2 sizes=2" \
        "$M: one SES call with both envelope recipients"
    is "$(sent_field "bcc-$M" '"carol@example.net" in e["destinations"]')" \
        True "$M: the Bcc recipient is among SES's destinations"
    is "$(sent_field "bcc-$M" '"carol" in e["raw"]')" False \
        "$M: the Bcc recipient appears in no header"
    qid=$(pf_log | grep 'to=<carol@example.net>' | grep 'status=sent' |
        sed -n 's/.*: \([0-9A-F]*\): to=.*/\1/p' | head -1)
    mid=$(grep "from=<alice@sender.example>, to=<bob@example.net>,<carol@example.net>" \
        "$T/ses.log" | sed -n 's/.*queued as \([^ )]*\).*/\1/p' | head -1)
    like "$(grep "$mid" "$T/ses.log")" "^.* $qid: from=<alice@sender.example>.*status=sent" \
        "$M: ses-relay's log line carries Postfix's queue id and the SES MessageId"
    is "$(sent_field "bcc-$M" 'e["tags"].get("mta-queue-id")')" "$qid" \
        "$M: the mta-queue-id tag names the Postfix queue id"
    # LMTP mode records it from a writer thread, within some 20 ms
    wait_for 10 sh -c "db_dump -p -h '$T/data' '$T/data/messages.db' 2>/dev/null | grep -q '$mid'"
    like "$(db_dump -p -h "$T/data" "$T/data/messages.db" 2>&1)" "$mid" \
        "$M: messages.db has the SES MessageId"
    like "$(db_dump -p -h "$T/data" "$T/data/messages.db" 2>&1 | grep -A1 "$mid")" "$qid" \
        "$M: ... mapped to the queue id"

    # 60 recipients: two SES calls, each recipient exactly once.
    pf_send alice@sender.example "$(rcpt_list 60 many.example)" \
        --header "Subject: sixty-$M" --header "To: list@example.org" >/dev/null
    ok $? "$M: swaks submits a message for 60 recipients"
    pf_wait_empty 60; ok $? "$M: Postfix delivers it"
    is "$(sent_summary "sixty-$M")" "calls=2 dests=60 unique=60 sizes=50,10" \
        "$M: two SES calls, 50 + 10 destinations, each recipient once"
    is "$(pf_log_count '@many\.example' sent)" 60 \
        "$M: Postfix logs 60 recipients as sent"

    # Permanent rejection: Postfix bounces, the DSN reaches the sender.
    sesd_fault '{"route": "ses-send-v2", "count": 1, "status": 400, "error": "BadRequestException", "message": "Illegal content."}'
    pf_send alice@sender.example dave@example.net --header "Subject: rejected-$M" >/dev/null
    ok $? "$M: swaks submits a message SES will reject"
    wait_for 30 sh -c "[ \$(find '$PF_DIR/mail/alice/new' -type f 2>/dev/null | wc -l) -ge 1 ]"
    ok $? "$M: a DSN lands in the sender's mailbox"
    pf_wait_empty 30
    like "$(pf_log | grep 'to=<dave@example.net>')" "dsn=5\\.7\\.1, status=bounced \\(.*BadRequestException: Illegal content" \
        "$M: Postfix bounces with 5.7.1 and SES's error"
    dsn=$(cat "$PF_DIR"/mail/alice/new/* 2>/dev/null)
    like "$dsn" "Status: 5\\.7\\.1" "$M: the DSN says 5.7.1"
    like "$dsn" "BadRequestException: Illegal content" "$M: the DSN carries SES's reason"
    like "$dsn" "Subject: rejected-$M" "$M: the DSN returns the original headers"
    is "$(sent_summary "rejected-$M")" "calls=0 dests=0 unique=0 sizes=" \
        "$M: SES recorded nothing for the rejected message"

    # SES down longer than RetryTime: Postfix defers, then delivers once.
    sesd_fault '{"route": "ses-send-v2", "count": -1, "status": 503, "error": "ServiceUnavailable", "message": "Service unavailable"}'
    pf_send alice@sender.example erin@example.net --header "Subject: outage-$M" >/dev/null
    ok $? "$M: swaks submits a message during an SES outage"
    wait_for 30 sh -c "grep 'to=<erin@example.net>' '$PF_DIR/maillog' | grep -q status=deferred"
    ok $? "$M: Postfix defers it once RetryTime is spent"
    like "$(pf_log | grep 'to=<erin@example.net>' | grep deferred | head -1)" "dsn=4\\.3\\.0, status=deferred \\(.*503" \
        "$M: the defer reason is SES's 503 with 4.3.0"
    is "$(pf_queue_count)" 1 "$M: the message stays in Postfix's queue"
    sesd_reset
    pf_flush
    pf_wait_empty 30; ok $? "$M: after SES recovers Postfix delivers it"
    is "$(sent_summary "outage-$M")" "calls=1 dests=1 unique=1 sizes=1" \
        "$M: SES received it exactly once"

    # A paused account (v1's real wording, under MessageRejected): every
    # message stays in Postfix's queue, SES is called once, one error line;
    # after the fix, ses-relay -R and postqueue -f deliver each once.
    sesd_reset
    sesd_fault '{"route": "ses-send-v2", "count": -1, "status": 400, "error": "MessageRejected", "message": "Sending paused for this account. For more information, please check the inbox of the email address associated with your AWS account."}'
    lines=$(grep -c "SES cannot send for the account" "$T/ses.log")
    for r in frank grace heidi; do
        pf_send alice@sender.example $r@example.net --header "Subject: paused-$M-$r" >/dev/null
    done
    wait_for 60 sh -c "[ \$(grep -E 'to=<(frank|grace|heidi)@example.net>' '$PF_DIR/maillog' | grep -c status=deferred) -ge 3 ]"
    ok $? "$M: paused account: Postfix defers all three messages"
    is "$(pf_log | grep -E 'to=<(frank|grace|heidi)@example.net>' | grep status=deferred | grep -vc 'dsn=4\.7\.0, status=deferred')" 0 \
        "$M: ... each time with 4.7.0"
    is "$(pf_queue_count)" 3 "$M: ... and they stay in Postfix's queue"
    is "$(sesd_py 'len([r for r in req if r["route"] == "ses-send-v2"])')" 1 \
        "$M: ... SES was called once, the breaker held the others"
    is "$(( $(grep -c "SES cannot send for the account" "$T/ses.log") - lines ))" 1 \
        "$M: ... one error line in ses-relay's log"
    sesd_reset
    "$B/relay/ses-relay" -c "$T/ses.conf" -R >/dev/null
    pf_flush
    pf_wait_empty 30; ok $? "$M: after the fix, ses-relay -R and postqueue -f deliver them"
    is "$(sesd_py 'len(sent)')" 3 "$M: ... each once"

    if grep -q "testSecretKey" "$T/ses.log" "$PF_DIR/maillog" "$T"/relay.out 2>/dev/null; then
        ok 1 "$M: no secret key in any log"; else ok 0 "$M: no secret key in any log"; fi
}
