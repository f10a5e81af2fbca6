#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Benchmark 2: relay throughput through Postfix.
#
# The same 1,000 x 4 KB messages are injected with smtp-source into two
# private Postfix instances, one after the other in the same run:
#   smtp: Postfix relays over SMTP to smtp-sink (what relayhost-to-SES-SMTP
#         costs);
#   ses:  Postfix delivers through ses-relay's LMTP server to nginx answering
#         every send like SES does (the HTTP analog of smtp-sink).
# Reported: the drain time of each (first message injected to queue empty)
# and their ratio. Target: the ses path at least as fast as the smtp path.
. "$(dirname "$0")/lib.sh"
pf_need_root
N=${BENCH_RELAY_N:-1000}
SESSIONS=${BENCH_RELAY_SESSIONS:-20}
tmpdir_make
make_corpus "$T/msg.eml" 4096

drain() { # PORT -> seconds from injection start until the queue is empty
    _t0=$(date +%s.%N)
    smtp-source -s "$SESSIONS" -m "$N" -F "$T/msg.eml" \
        -f sender@bench.example -t rcpt@example.net "127.0.0.1:$1" || return 1
    pf_wait_empty 600 || return 1
    _t1=$(date +%s.%N)
    awk -v a="$_t0" -v b="$_t1" 'BEGIN { printf "%.2f", b - a }'
}

# --- smtp -> smtp-sink ---
SINK_PORT=$(free_port)
smtp-sink -u nobody "127.0.0.1:$SINK_PORT" 256 &
SINK=$!
add_cleanup "kill $SINK 2>/dev/null"
pf_init "$T/pf-smtp"
pf_set "relayhost = [127.0.0.1]:$SINK_PORT" "default_transport = smtp" \
       "smtp_destination_concurrency_limit = 20"
pf_start
t_smtp=$(drain "$PF_PORT")
sent_smtp=$(grep -c 'status=sent' "$PF_DIR/maillog")
pf_stop

# --- ses-relay LMTP -> nginx ---
nginx_start
SES_PORT=$NGINX_PORT
ses_conf "$T/ses.conf" "RetryTime 10s" "LogLevel warning"
"$top_builddir/relay/ses-relay" -c "$T/ses.conf" -F -l "unix:$T/lmtp.sock" \
    > "$T/relay.out" 2>&1 &
RELAY=$!
add_cleanup "kill $RELAY 2>/dev/null"
wait_for 10 test -S "$T/lmtp.sock" || { cat "$T/relay.out"; exit 1; }
chmod 666 "$T/lmtp.sock"
pf_init "$T/pf-ses"
pf_set "default_transport = lmtp:unix:$T/lmtp.sock" \
       "lmtp_destination_concurrency_limit = 20"
pf_start
t_ses=$(drain "$PF_PORT")
sent_ses=$(grep -c 'status=sent' "$PF_DIR/maillog")
pf_stop

result "relay.messages" "$N"
result "relay.smtp_to_smtp_sink.drain_seconds" "$t_smtp"
result "relay.smtp_to_smtp_sink.sent" "$sent_smtp"
result "relay.ses_relay_lmtp_to_nginx.drain_seconds" "$t_ses"
result "relay.ses_relay_lmtp_to_nginx.sent" "$sent_ses"
result "relay.ratio.smtp_time_over_ses_time" "$(ratio "$t_smtp" "$t_ses")x (target >= 1.00x)"
