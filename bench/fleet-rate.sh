#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Benchmark 6: one account rate shared by a fleet. Three mail hosts
# (tests/integration/fleet-lib.sh: own UTS namespace, DataDirectory,
# Postfix, ses-relay LMTP) all set MaxSendRate to the account's rate R
# (BENCH_FLEET_RATE, 30), as an operator would, and each sends
# BENCH_FLEET_N (300) one-recipient messages at once to sesd throttling
# above R recipients per second the way SES does (a token bucket of R).
# Reported: the rate SES accepted over the run (first to last accepted
# send), the share of SES calls answered with throttling, and what Postfix
# deferred or bounced. Target: >= 0.8 R, <= 10 % throttled, 0 deferred,
# 0 bounced.
. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/integration/relay-lib.sh"
. "$top_srcdir/tests/integration/fleet-lib.sh"
pf_need_root
N=${BENCH_FLEET_N:-300}
RATE=${BENCH_FLEET_RATE:-30}
tmpdir_make
make_corpus "$T/msg.eml" 4096
relay_sesd_start || exit 1
sesd_state "{\"throttle_rate\": $RATE}"
for i in 1 2 3; do
    host_up "$i" "LogLevel warning" "MaxSendRate $RATE" "RetryTime 30s" || { echo "host $i did not start"; exit 1; }
done
pids=""
for i in 1 2 3; do
    smtp-source -s 20 -m "$N" -F "$T/msg.eml" -f sender@bench.example \
        -t "rcpt$i@example.net" "127.0.0.1:$(port "$i")" &
    pids="$pids $!"
done
wait $pids
for i in 1 2 3; do PF_DIR=$T/h$i/pf; pf_wait_empty 900; done
sesd_requests > "$T/requests.json"
$PY - "$T/requests.json" <<'PY' > "$T/rate.out"
import json, sys
reqs = [r for r in json.load(open(sys.argv[1])) if r["route"] == "ses-send-v2"]
ok = sorted(r["time"] for r in reqs if r.get("status") == 200)
throttled = sum(1 for r in reqs if r.get("status") in (400, 429))
rate = (len(ok) - 1) / (ok[-1] - ok[0]) if len(ok) > 1 else 0.0
print("accepted", len(ok))
print("calls", len(reqs))
print("throttled", throttled)
print("share %.1f" % (100.0 * throttled / len(reqs) if reqs else 0))
print("rate %.1f" % rate)
PY
v() { awk -v k="$1" '$1==k{print $2}' "$T/rate.out"; }
deferred=$(cat "$T"/h*/pf/maillog | grep -c 'status=deferred')
bounced=$(cat "$T"/h*/pf/maillog | grep -c 'status=bounced')
result "fleet.hosts" 3
result "fleet.messages" "$((3 * N))"
result "fleet.account_rate" "$RATE (MaxSendRate $RATE on every host)"
result "fleet.accepted_by_ses" "$(v accepted)"
result "fleet.deferred_by_postfix" "$deferred (target 0)"
result "fleet.bounced_by_postfix" "$bounced (target 0)"
result "fleet.ses_calls" "$(v calls)"
result "fleet.throttled_calls" "$(v throttled) = $(v share) % (target <= 10 %)"
result "fleet.sends_per_second" "$(v rate) (target >= $(echo "$RATE" | awk '{print 0.8 * $1}'))"
