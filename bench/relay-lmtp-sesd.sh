#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# bench/relay-lmtp-sesd.sh - LMTP mode throughput behind real Postfix
#
# smtp-source injects N 4 KB messages over 20 SMTP sessions into a private
# Postfix whose default transport is lmtp:unix: to ses-relay (20 concurrent
# lmtp clients, Postfix's default), which sends each to sesd, the test SES
# server that checks every SigV4 signature with botocore. Reported: messages
# per second from first injection to empty queue, ses-relay's CPU time per
# message, the LMTP transmission delay Postfix logs (4th field of delays=),
# and the most LMTP connections ses-relay served at once.
#
#   sudo N=2000 sh bench/relay-lmtp-sesd.sh      (from a built tree)
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/integration/postfix.sh"
. "$top_srcdir/tests/integration/harness.sh"
. "$top_srcdir/tests/integration/relay-lib.sh"
pf_need_root
N=${N:-1000}
tmpdir_make
$PY -c 'import sys; sys.stdout.write("Subject: bench\n\n" + ("x" * 76 + "\n") * 52)' > "$T/msg.eml"
relay_sesd_start || exit 1
ses_conf "$T/ses.conf" "LogLevel warning"
relay_lmtp_start "$T/ses.conf" || exit 1
chmod 666 "$T/lmtp.sock"
pf_init "$T/pf"
pf_set "default_transport = lmtp:unix:$T/lmtp.sock" \
       "lmtp_destination_concurrency_limit = 20"
pf_start || exit 1
( peak=0; while kill -0 "$RELAY_PID" 2>/dev/null; do
      c=$(ss -x 2>/dev/null | grep -c "$T/lmtp.sock")
      [ "$c" -gt "$peak" ] && peak=$c && echo "$peak" > "$T/peak"
      sleep 0.2; done ) &
t0=$(date +%s.%N)
smtp-source -s 20 -m "$N" -F "$T/msg.eml" -f sender@bench.example \
    -t rcpt@example.net "127.0.0.1:$PF_PORT"
pf_wait_empty 600
t1=$(date +%s.%N)
sent=$(grep -c 'status=sent (250 2.0.0 Ok: queued as' "$PF_DIR/maillog")
cpu=$(awk '{print $14 + $15}' "/proc/$RELAY_PID/stat")
awk -v a="$t0" -v b="$t1" -v n="$sent" -v c="$cpu" 'BEGIN {
    printf "delivered %d in %.2f s: %.0f msg/s; ses-relay CPU %.2f s (%.2f ms/msg)\n",
        n, b - a, n / (b - a), c / 100, c * 10 / n }'
grep 'status=sent' "$PF_DIR/maillog" | sed -n 's/.*delays=\([^,]*\),.*/\1/p' |
    awk -F/ '{ s += $4; if ($4 > m) m = $4; n++ }
        END { printf "LMTP transmission delay: mean %.3f s, max %.2f s\n", s / n, m }'
echo "peak LMTP connections at ses-relay: $(cat "$T/peak" 2>/dev/null || echo ?)"
