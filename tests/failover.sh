#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Regional failover, pipe and LMTP mode: two sesd play the primary region
# and the FailoverRegion. A message moves to the failover region on
# connection refused, repeated 503 and timeouts, with that region's ARN and
# the tenant; never on MessageRejected or throttling; a single 503 is
# retried in the primary. Each case counts what each region received (the
# "sent twice" figure). The host-wide breaker: once the primary failed,
# the next deliveries (other processes, the LMTP server) skip it, one
# probes it after FailoverProbeInterval, and traffic returns (failback).
# ses-suppress regions checks both regions' setup.
. "${top_srcdir:-.}/tests/lib.sh"
. "$top_srcdir/tests/sesd/lib.sh"
sesd_need
tmpdir_make
PY=$SESD_PY

sesd_start; ok $? "sesd A (primary region us-east-1) starts"
A_URL=$SESD_URL
sesd_start; ok $? "sesd B (failover region eu-west-1) starts"
B_URL=$SESD_URL
DEAD_URL=http://127.0.0.1:$(free_port) # nothing listens there

# on A|B COMMAND...: runs a sesd_* helper against that region's sesd
on() {
    if [ "$1" = A ]; then SESD_URL=$A_URL; else SESD_URL=$B_URL; fi
    shift
    "$@"
}
sent_in() { on "$1" sesd_py 'len(sent)'; }
sesd_send_count() { sesd_py 'len([r for r in req if r["route"] == "ses-send-v2"])'; }
reset_both() { on A sesd_reset; on B sesd_reset; }

# conf NAME PRIMARY_URL [LINES...]
conf() {
    _n=$1 _p=$2; shift 2
    mkdir -p "$T/d-$_n"
    sesd_relay_conf "$T/$_n.conf" "Endpoint $_p" "FailoverRegion eu-west-1" \
        "RegionEndpoint eu-west-1 $B_URL" "Timeout 2s" "RetryTime 4s" \
        "DataDirectory $T/d-$_n" "FailoverProbeInterval ${PROBE:-60s}" \
        "TenantName acme" \
        "FromArn arn:aws:ses:us-east-1:123456789012:identity/example.com arn:aws:ses:eu-west-1:123456789012:identity/example.com" \
        "$@"
}

# deliver MODE QID: one message (Subject QID) in pipe mode or over LMTP;
# RC is 0 (sent), 75 (deferred) or 69 (refused) in both modes, and DT the
# seconds it took.
LMTP_PID=
deliver() {
    printf 'From: sender@example.com\nTo: rcpt@example.net\nSubject: %s\n\nbody\n' "$2" > "$T/msg.eml"
    : > "$T/relay.log" # LogFile: only this delivery's lines
    _t0=$($PY -c 'import time; print(time.monotonic())')
    if [ "$1" = pipe ]; then
        relay -f sender@example.com -q "$2" -- rcpt@example.net < "$T/msg.eml"
        case "$RC" in 0|75) ;; *) RC=69 ;; esac # refused: 65, 67, 69...
    else
        OUT=$($PY - "$T/lmtp.sock" "$T/msg.eml" <<'EOF'
import smtplib, sys
c = smtplib.LMTP(sys.argv[1])
try:
    c.sendmail("sender@example.com", ["rcpt@example.net"], open(sys.argv[2], "rb").read())
    print("250")
except smtplib.SMTPRecipientsRefused as e:
    print(list(e.recipients.values())[0][0])
except smtplib.SMTPDataError as e:
    print(e.smtp_code)
c.quit()
EOF
)
        case "$OUT" in 250) RC=0 ;; 4*) RC=75 ;; *) RC=69 ;; esac
    fi
    DT=$($PY -c "import time; print('%.2f' % (time.monotonic() - $_t0))")
}

lmtp_start() {
    rm -f "$T/lmtp.sock"
    "$top_builddir/relay/ses-relay" -F -c "$RELAY_CONF" -l "unix:$T/lmtp.sock" \
        >> "$T/lmtp.out" 2>&1 &
    LMTP_PID=$!
    add_cleanup "kill $LMTP_PID 2>/dev/null"
    wait_for 10 $PY -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])' "$T/lmtp.sock"
}
lmtp_stop() { [ -n "$LMTP_PID" ] && kill "$LMTP_PID" 2>/dev/null; wait "$LMTP_PID" 2>/dev/null; LMTP_PID=; }

# use MODE CONF: the relay for the next deliveries
use() {
    RELAY_CONF=$T/$2.conf
    lmtp_stop
    [ "$1" = lmtp ] && lmtp_start
    return 0
}

figures=""
for mode in pipe lmtp; do
    # connection refused in the primary: straight to eu-west-1
    reset_both
    conf $mode-refused "$DEAD_URL"; use $mode $mode-refused
    deliver $mode "$mode-REFUSED"
    is "$RC" 0 "$mode: primary refuses connections: the message is sent"
    is "$(sent_in B)" 1 "$mode: ... through the failover region"
    is "$(on B sesd_py 'sent[0]["params"]["FromEmailAddressIdentityArn"]')" \
       arn:aws:ses:eu-west-1:123456789012:identity/example.com \
       "$mode: ... with the failover region's FromArn"
    is "$(on B sesd_py 'sent[0]["params"]["TenantName"]')" acme \
       "$mode: ... and the tenant in the request"
    figures="$figures $mode:refused=${DT}s/dup=0"

    # repeated 503: two tries in the primary, then eu-west-1, sent once
    reset_both
    conf $mode-503 "$A_URL"; use $mode $mode-503
    on A sesd_fault '{"route": "ses-send-v2", "count": -1, "status": 503, "error": "ServiceUnavailable", "message": "unavailable"}'
    deliver $mode "$mode-503"
    is "$RC" 0 "$mode: repeated 503 in the primary: the message is sent"
    is "$(on A sesd_send_count) $(sent_in A) $(sent_in B)" "2 0 1" \
       "$mode: ... after two 503s in the primary, once, through the failover region"
    like "$(grep failing "$T/relay.log")" \
       "SES us-east-1 is failing \\(SES 503 ServiceUnavailable.*failing over to eu-west-1" \
       "$mode: the failover is logged with its reason"
    figures="$figures $mode:503=${DT}s/dup=0"

    # the breaker: the next delivery skips the failing primary at once
    deliver $mode "$mode-SKIP"
    is "$RC $(on A sesd_send_count) $(sent_in B)" "0 2 2" \
       "$mode: the next delivery skips the failing primary (host-wide breaker)"
    figures="$figures $mode:breaker-open=${DT}s/dup=0"
    # failback: with FailoverProbeInterval 1s, the primary fails, recovers,
    # and the first delivery after the interval probes it: traffic is back
    reset_both
    PROBE=1s; conf $mode-failback "$A_URL"; PROBE=; use $mode $mode-failback
    on A sesd_fault '{"route": "ses-send-v2", "count": -1, "status": 503, "error": "ServiceUnavailable", "message": "unavailable"}'
    deliver $mode "$mode-FAIL"
    is "$RC $(sent_in A) $(sent_in B)" "0 0 1" "$mode: the primary fails: sent through the failover region"
    on A sesd_reset
    t_rec=$($PY -c 'import time; print(time.monotonic())')
    sleep 1.2
    deliver $mode "$mode-PROBE"
    is "$RC $(sent_in A) $(sent_in B)" "0 1 1" \
       "$mode: after FailoverProbeInterval a delivery probes the primary: sent there"
    like "$(cat "$T/relay.log")" "SES us-east-1 answers again after [0-9]+ s: mail goes there again" \
       "$mode: the failback is logged"
    deliver $mode "$mode-BACK"
    is "$(sent_in A) $(sent_in B)" "2 1" "$mode: the next delivery goes to the primary again"
    FB=$($PY -c "import time; print('%.1f' % (time.monotonic() - $t_rec))")
    figures="$figures $mode:failback-within=${FB}s"

    # one 503 only: retried in the primary, nothing goes to eu-west-1
    reset_both
    conf $mode-one503 "$A_URL"; use $mode $mode-one503
    on A sesd_fault '{"route": "ses-send-v2", "count": 1, "status": 503, "error": "ServiceUnavailable", "message": "unavailable"}'
    deliver $mode "$mode-one503"
    is "$RC $(sent_in A) $(sent_in B)" "0 1 0" \
       "$mode: a single 503 is retried in the primary, no failover"

    # timeout, the primary never acting: one timeout, then eu-west-1
    reset_both
    conf $mode-timeout "$A_URL"; use $mode $mode-timeout
    on A sesd_fault '{"route": "ses-send-v2", "count": -1, "delay": 3, "status": 503, "error": "ServiceUnavailable", "message": "late"}'
    deliver $mode "$mode-TIMEOUT"
    is "$RC $(sent_in A) $(sent_in B)" "0 0 1" \
       "$mode: a timeout in the primary: sent once, through the failover region"
    figures="$figures $mode:timeout=${DT}s/dup=0"

    # timeout after the primary took the message (ambiguous): a second copy
    reset_both
    conf $mode-ambig "$A_URL"; use $mode $mode-ambig
    on A sesd_state '{"fault_mix": {"seed": 1, "routes": ["ses-send-v2"], "slow": 1.0, "slow_delay": 3}}'
    deliver $mode "$mode-AMBIG"
    is "$RC $(sent_in A) $(sent_in B)" "0 1 1" \
       "$mode: a timeout after the primary took the message: the failover region sends a second copy"
    like "$(grep failing "$T/relay.log")" \
       "may have been accepted there, so the message may be delivered twice" \
       "$mode: ... and the log says it may be delivered twice"
    figures="$figures $mode:ambiguous-timeout=${DT}s/dup=1"

    # MessageRejected: refused in the primary, never tried elsewhere
    reset_both
    conf $mode-reject "$A_URL"; use $mode $mode-reject
    on A sesd_fault '{"route": "ses-send-v2", "count": -1, "status": 400, "error": "MessageRejected", "message": "Illegal content."}'
    deliver $mode "$mode-REJECT"
    is "$RC $(sent_in B) $(on B sesd_send_count)" "69 0 0" \
       "$mode: MessageRejected bounces and never reaches the failover region"

    # throttling: waits in the primary, never fails over
    reset_both
    conf $mode-throttle "$A_URL"; use $mode $mode-throttle
    on A sesd_fault '{"route": "ses-send-v2", "count": -1, "status": 429, "error": "TooManyRequestsException", "message": "Maximum sending rate exceeded."}'
    deliver $mode "$mode-THROTTLE"
    is "$RC $(on B sesd_send_count)" "75 0" \
       "$mode: throttling defers in the primary and never reaches the failover region"
done
lmtp_stop

# ses-suppress regions: is every region mail may go to set up?
reset_both
conf check "$A_URL" "ConfigurationSet tx"
on A sesd_state '{"identities": {"example.com": {"verified": true, "dkim": "SUCCESS"}}, "configuration_sets": ["tx"]}'
on B sesd_state '{"identities": {"example.com": {"verified": true, "dkim": "PENDING"}}}'
out=$("$top_builddir/relay/ses-suppress" -c "$T/check.conf" regions 2>&1); rc=$?
is "$rc" 1 "regions: exit 1 while the failover region is not ready"
like "$out" "us-east-1 +account +ok: sending enabled, production access, enforcement HEALTHY, quota 50000 per 24 h at 14/s" \
    "regions: GetAccount of the primary region is shown"
like "$out" "us-east-1 +identity +example.com ok: verified for sending, DKIM SUCCESS" \
    "regions: the ARNs' identity is checked with GetEmailIdentity"
like "$out" "eu-west-1 +identity +example.com NOT READY: verified for sending, DKIM PENDING" \
    "regions: ... in the failover region too, where DKIM is pending"
like "$out" "eu-west-1 +configuration-set +tx NOT READY: MISSING in this region" \
    "regions: a configuration set missing in the failover region is named"
is "$(on B sesd_py 'sorted({r["route"] for r in req})')" \
   "['ses-get-account', 'ses-get-configuration-set', 'ses-get-identity']" \
   "regions: the failover region was asked with signed GetAccount, GetEmailIdentity, GetConfigurationSet"
on B sesd_state '{"identities": {"example.com": {"verified": true, "dkim": "SUCCESS"}, "other.example": {"verified": false, "dkim": "FAILED"}}, "configuration_sets": ["tx"]}'
"$top_builddir/relay/ses-suppress" -c "$T/check.conf" regions >/dev/null 2>&1
is "$?" 0 "regions: exit 0 once every region is ready"
out=$("$top_builddir/relay/ses-suppress" -c "$T/check.conf" regions -r eu-west-1 other.example 2>&1); rc=$?
like "$out" "eu-west-1 +identity +other.example NOT READY: NOT verified, DKIM FAILED" \
    "regions: identities given on the command line are checked instead"
conf deadcheck "$DEAD_URL"
out=$("$top_builddir/relay/ses-suppress" -c "$T/deadcheck.conf" regions 2>&1); rc=$?
is "$rc" 75 "regions: exit 75 when a region cannot be asked"
like "$out" "us-east-1 +region +could not ask: SES: .*connect" "regions: ... saying why"

# a region without its ARN is found by ses-milter -n, before any mail
sesd_relay_conf "$T/noarn.conf" "FailoverRegion eu-west-1" \
    "FromArn arn:aws:ses:us-east-1:123456789012:identity/example.com"
out=$("$top_builddir/milter/ses-milter" -n -c "$T/noarn.conf" 2>&1); rc=$?
is "$rc" 78 "ses-milter -n: FromArn without an ARN for the FailoverRegion is a configuration error"
like "$out" "noarn.conf: FromArn has no ARN for eu-west-1" "naming the key and the region"

diag "figures (delivery time / copies beyond one):$figures"
if grep -q "testSecretKey" "$T/relay.log" "$T/lmtp.out" 2>/dev/null; then
    ok 1 "no secret key in any log"; else ok 0 "no secret key in any log"; fi
tap_done
