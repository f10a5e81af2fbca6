#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# The host-wide breakers, through ses-relay processes sharing one
# DataDirectory against sesd: a paused account stops every later delivery
# without a call (4.7.0 at once, SES's reason), with one error line per
# interval, a metric and ses-relay -b; a probe after each interval, a
# longer interval while it fails, resumption when SES accepts again; and
# scopes that stop only themselves (an identity, a configuration set, a
# recipient - whole in pipe mode, alone in LMTP mode).
. "${top_srcdir:-.}/tests/lib.sh"
. "$top_srcdir/tests/sesd/lib.sh"
sesd_need
tmpdir_make
RELAY=$top_builddir/relay/ses-relay
sesd_start; ok $? "sesd starts"

PAUSED='Sending paused for this account. For more information, please check the inbox of the email address associated with your AWS account.'
paused() {
    sesd_fault "{\"route\": \"ses-send-v1\", \"count\": -1, \"status\": 400,
                 \"error\": \"MessageRejected\", \"message\": \"$PAUSED\"}"
}
calls() { sesd_py 'len([r for r in req if r["route"].startswith("ses-send")])'; }
errors() { grep -c ' error: ' "$T/relay.log"; }
msg() { # FROM SUBJECT [SET]
    printf 'From: %s\nTo: x@example.net\nSubject: %s\n' "$1" "$2"
    [ -n "${3:-}" ] && printf 'X-SES-CONFIGURATION-SET: %s\n' "$3"
    printf '\nbody\n'
}
send() { # FROM SUBJECT [SET] -- RCPT...: OUT, RC
    _f=$1 _s=$2 _c=; shift 2
    [ "$1" != -- ] && { _c=$1; shift; }
    shift
    OUT=$(msg "$_f" "$_s" "$_c" | "$RELAY" -c "$RELAY_CONF" -f "$_f" -- "$@" 2>&1)
    RC=$?
}

# ---- a paused account: one call, then every delivery held ----
sesd_relay_conf "$T/long.conf" "ApiVersion v1" "RetryTime 0" "BreakerInterval 10m"
: > "$T/relay.log"
paused
send a@example.com first -- x@example.net
is "$RC" 75 "paused account: the first delivery is deferred (exit 75)"
like "$OUT" "^4\\.7\\.0 SES 400 MessageRejected: Sending paused" "... with SES's answer, 4.7.0"
held=0
for i in 1 2 3 4 5; do
    send "s$i@example.org" "held $i" -- "r$i@example.net"
    [ "$RC" = 75 ] && echo "$OUT" | grep -q '^4\.7\.0 not sent: SES stopped the account in us-east-1 (SES 400 MessageRejected: Sending paused' &&
        held=$((held + 1))
done
is "$held" 5 "five more deliveries (other senders, recipients): deferred at once, 4.7.0 with SES's reason"
is "$(calls)" 1 "... without calling SES again"
is "$(errors)" 1 "one error line for the operator, not one per delivery"
like "$(grep ' error: ' "$T/relay.log")" "SES cannot send for the account in us-east-1 \\(SES 400 MessageRejected: Sending paused.*for 600 s \\(interval 1\\).*an operator must act" \
     "... naming the scope, SES's answer and the interval"
out=$("$top_builddir/relay/ses-metrics" -c "$RELAY_CONF" 2>&1)
like "$out" '^sesmilter_breaker_open\{region="us-east-1",scope="account",name="",status="account-paused"\} 1$' \
     "the metric names the open breaker"
like "$out" '^sesmilter_breakers_open 1$' "... and counts it (alert on > 0)"
like "$("$RELAY" -c "$RELAY_CONF" -b)" "^us-east-1 account -: open, holding for [0-9]+ s more \\(interval 1, 600 s\\), since .*: SES 400 MessageRejected" \
     "ses-relay -b lists it"
is "$("$RELAY" -c "$RELAY_CONF" -R)" "1 breaker(s) closed" "ses-relay -R closes it"
sesd_reset
send a@example.com after-reset -- x@example.net
is "$RC" 0 "after -R and with SES accepting again, mail goes at once"
like "$("$top_builddir/relay/ses-metrics" -c "$RELAY_CONF")" '^sesmilter_breakers_open 0$' "the metric says 0"

# ---- probes: the interval grows while SES says the same, then resumes ----
sesd_relay_conf "$T/short.conf" "ApiVersion v1" "RetryTime 0" \
    "BreakerInterval 1s" "BreakerMaxInterval 2s"
: > "$T/relay.log"
sesd_reset
paused
send a@example.com trip -- x@example.net
is "$(calls)" 1 "short intervals: the first delivery trips it"
# deliver until the interval is over and one delivery probes
n=0; sent=0
while [ "$(calls)" -lt 3 ] && [ $n -lt 600 ]; do
    send a@example.com "probe $n" -- x@example.net
    [ "$RC" = 0 ] && sent=$((sent + 1))
    n=$((n + 1)); sleep 0.05
done
is "$(calls)" 3 "after each interval one delivery probes SES ($n deliveries)"
is "$sent" 0 "... and no delivery is reported sent while SES refuses"
is "$(errors)" 3 "one error line per interval: each SES refusal, never a held delivery"
like "$(grep ' error: ' "$T/relay.log" | sed -n 2p)" "for 2 s \\(interval 2\\)" "the interval doubles"
like "$(grep ' error: ' "$T/relay.log" | sed -n 3p)" "for 2 s \\(interval 3\\)" "... up to BreakerMaxInterval"
sesd_reset
n=0
while [ $n -lt 600 ]; do
    send a@example.com "resume $n" -- x@example.net
    [ "$RC" = 0 ] && break
    [ "$RC" = 75 ] || break
    n=$((n + 1)); sleep 0.05
done
is "$RC" 0 "SES accepts again: the next probe is sent"
is "$(calls)" 1 "... as the only call: held deliveries never reached SES"
like "$(cat "$T/relay.log")" "ses-relay\\[[0-9]+\\]: SES accepts mail for the account in us-east-1 again, .*postqueue -f" \
     "the resumption is logged, with how to get Postfix's queue moving"
send a@example.com after -- x@example.net
is "$RC" 0 "... and the breaker is closed"

# ---- scopes stop only themselves ----
sesd_relay_conf "$T/scope.conf" "ApiVersion v1" "RetryTime 0" "BreakerInterval 10m"
"$RELAY" -c "$RELAY_CONF" -R >/dev/null
sesd_reset
sesd_fault '{"route": "ses-send-v1", "count": 1, "status": 400, "error": "MessageRejected",
             "message": "Email address is not verified. The following identities failed the check in region US-EAST-1: Alice <Alice@Example.com>"}'
send alice@example.com unverified -- x@example.net
like "$OUT" "^4\\.7\\.1 " "an unverified identity: 4.7.1"
send bob@example.com other-sender -- x@example.net
is "$RC" 0 "another sender's mail still goes"
send alice@example.com again -- y@example.net
like "$RC $OUT" "^75 4\\.7\\.1 not sent: SES stopped identity alice@example.com in us-east-1" \
     "the unverified sender's next message is held without a call"
sesd_reset
sesd_fault '{"route": "ses-send-v1", "count": 1, "status": 400,
             "error": "ConfigurationSetDoesNotExist", "message": "Configuration set <tx> does not exist."}'
send bob@example.com set-tx tx -- x@example.net
like "$OUT" "^4\\.3\\.5 " "a missing configuration set: 4.3.5"
send bob@example.com set-other other -- x@example.net
is "$RC" 0 "mail with another configuration set goes"
send bob@example.com set-tx-again tx -- x@example.net
like "$RC $OUT" "^75 4\\.3\\.5 not sent: SES stopped configuration set \"tx\"" "mail for set tx waits"
sesd_reset
sesd_fault '{"route": "ses-send-v1", "count": 1, "status": 400, "error": "MessageRejected",
             "message": "Email address is not verified. The following identities failed the check in region US-EAST-1: dave@example.net"}'
send bob@example.com sandbox -- dave@example.net
like "$OUT" "^4\\.7\\.1 " "sandbox: an unverified recipient, 4.7.1"
before=$(calls)
send bob@example.com two-rcpts -- carol@example.net dave@example.net
like "$RC $OUT" "^75 4\\.7\\.1 not sent: recipient <dave@example.net> of this delivery is held" \
     "pipe mode: the held recipient holds the whole delivery (Postfix retries all of it)"
is "$(calls)" "$before" "... without a call"
send bob@example.com carol-alone -- carol@example.net
is "$RC" 0 "... while mail to the other recipient alone goes"
"$RELAY" -F -c "$RELAY_CONF" -l "unix:$T/lmtp.sock" > "$T/lmtp.out" 2>&1 &
RELAY_PID=$!
add_cleanup "kill $RELAY_PID 2>/dev/null"
wait_for 10 $SESD_PY -c 'import socket,sys; socket.socket(socket.AF_UNIX).connect(sys.argv[1])' "$T/lmtp.sock"
replies=$($SESD_PY -c '
import sys; sys.path.insert(0, sys.argv[1])
from ses_answers import lmtp
print(" | ".join(lmtp(sys.argv[2], ["carol@example.net", "dave@example.net"], "lmtp")))' \
    "$top_srcdir/tests" "$T/lmtp.sock")
like "$replies" "^250 .* \\| 451 4\\.7\\.1 not sent: SES stopped identity dave@example.net" \
     "LMTP: the other recipient is sent, the held one waits"
kill $RELAY_PID; wait $RELAY_PID 2>/dev/null

# ---- off ----
sesd_relay_conf "$T/off.conf" "ApiVersion v1" "RetryTime 0" "BreakerInterval 0"
"$RELAY" -c "$RELAY_CONF" -R >/dev/null
sesd_reset
paused
: > "$T/relay.log"
send a@example.com off1 -- x@example.net
send a@example.com off2 -- x@example.net
is "$(calls) $(errors)" "2 2" "BreakerInterval 0: every delivery calls SES and logs its own error"
tap_done
