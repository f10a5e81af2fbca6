#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Benchmark 5: rate pacing. With MaxSendRate 50, ses-relay (LMTP mode behind
# a private Postfix) sends BENCH_RATE_N (500) one-recipient messages to sesd,
# the SES test server, told to throttle above 50 recipients per second the
# way SES does (a token bucket of 50). Reported: the rate SES saw over the
# run (accepted sends from first to last, per second), the number of
# throttling answers (target 0), and whether all messages arrived.
# Target: 50 +- 5 per second, no throttling.
. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/integration/relay-lib.sh"
pf_need_root
N=${BENCH_RATE_N:-500}
RATE=${BENCH_RATE:-50}
tmpdir_make
make_corpus "$T/msg.eml" 4096
relay_sesd_start || exit 1
sesd_state "{\"throttle_rate\": $RATE}"
ses_conf "$T/ses.conf" "LogLevel warning" "MaxSendRate $RATE" "RetryTime 30s"
relay_lmtp_start "$T/ses.conf" || exit 1
chmod 666 "$T/lmtp.sock"
pf_init "$T/pf"
pf_set "default_transport = lmtp:unix:$T/lmtp.sock" \
       "lmtp_destination_concurrency_limit = 20"
pf_start || exit 1
smtp-source -s 20 -m "$N" -F "$T/msg.eml" -f sender@bench.example \
    -t rcpt@example.net "127.0.0.1:$PF_PORT" || exit 1
pf_wait_empty 600
sesd_requests > "$T/requests.json"
$PY - "$T/requests.json" "$N" "$RATE" <<'PY' > "$T/rate.out"
import json, sys
reqs = [r for r in json.load(open(sys.argv[1])) if r["route"] == "ses-send-v2"]
ok = sorted(r["time"] for r in reqs if r.get("status") == 200)
throttled = sum(1 for r in reqs if r.get("status") in (400, 429))
rate = (len(ok) - 1) / (ok[-1] - ok[0]) if len(ok) > 1 else 0.0
# the steadiest and the busiest second, once the bucket's first burst is over
per_sec = {}
for t in ok:
    per_sec[int(t - ok[0])] = per_sec.get(int(t - ok[0]), 0) + 1
inner = [per_sec[s] for s in sorted(per_sec)[1:-1]] or [0]
print("accepted", len(ok))
print("throttled", throttled)
print("rate %.1f" % rate)
print("busiest_second", max(inner))
PY
accepted=$(awk '$1=="accepted"{print $2}' "$T/rate.out")
throttled=$(awk '$1=="throttled"{print $2}' "$T/rate.out")
rate=$(awk '$1=="rate"{print $2}' "$T/rate.out")
busiest=$(awk '$1=="busiest_second"{print $2}' "$T/rate.out")
bounced=$(grep -c 'status=bounced' "$PF_DIR/maillog")
result "rate.messages" "$N"
result "rate.max_send_rate" "$RATE"
result "rate.accepted_by_ses" "$accepted"
result "rate.bounced_by_postfix" "$bounced"
result "rate.throttling_answers" "$throttled (target 0)"
result "rate.busiest_second" "$busiest"
result "rate.sends_per_second" "$rate (target $RATE +- 5)"
