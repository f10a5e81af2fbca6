# SPDX-License-Identifier: BSD-2-Clause
# tests/integration/faults-lib.sh - no loss under a seeded random mix of SES
# faults (sourced after lib.sh, postfix.sh, harness.sh and relay-lib.sh)
#
#   faults_no_loss MODE N SEED   N messages through Postfix and ses-relay
#                                (MODE pipe or lmtp) to sesd answering a
#                                fault_mix (sesd.py); asserts none lost, none
#                                bounced, duplicates only where SES accepted
#                                a call whose answer the relay never saw, and
#                                reports the counts in TAP diagnostics
#
# FAULTS_N and FAULTS_SEED in the environment override N and SEED, to rerun
# a failing mix or a larger one.

faults_mix_json() {
    printf '{"fault_mix": {"seed": %s, "routes": ["ses-send-v2", "ses-send-v1"], "throttle": 0.12, "500": 0.08, "503": 0.08, "reset": 0.08, "slow": 0.06, "slow_delay": 3.5, "drop": 0.06}}' "$1"
}

# What SES recorded for the fault-* subjects: one line of counts.
faults_summary() {
    curl -sf "$SESD_URL/_sent" | $PY -c '
import json, re, sys
n = int(sys.argv[1])
sent = json.load(sys.stdin)
per = {}
amb = {}
for e in sent:
    m = re.search(r"Subject: fault-(\d+)\r\n", e.get("raw", ""))
    if not m:
        continue
    k = int(m.group(1))
    per[k] = per.get(k, 0) + 1
    if e.get("mix") in ("slow", "drop"):
        amb[k] = amb.get(k, 0) + 1
delivered = len([k for k in range(1, n + 1) if per.get(k, 0) >= 1])
dups = sum(c - 1 for c in per.values())
# a duplicate is explained when the message has at least that many sends
# whose answer the relay never saw
unexplained = sum(max(0, (c - 1) - amb.get(k, 0)) for k, c in per.items())
print("delivered=%d duplicates=%d unexplained=%d" % (delivered, dups, unexplained))' "$1"
}

faults_no_loss() {
    _m=$1; _n=${FAULTS_N:-$2}; _seed=${FAULTS_SEED:-$3}
    sesd_state "$(faults_mix_json "$_seed")"
    _i=1
    while [ "$_i" -le "$_n" ]; do
        pf_send alice@sender.example "f$_i@example.net" \
            --header "Subject: fault-$_i" >/dev/null ||
            diag "swaks failed for message $_i"
        _i=$((_i + 1))
    done
    ok 0 "$_m: $_n messages submitted to Postfix"
    _t0=$(date +%s)
    pf_wait_empty 150; ok $? "$_m: Postfix's queue drains under the fault mix"
    diag "$_m: queue drained in $(( $(date +%s) - _t0 ))s"
    _mix=$(curl -sf "$SESD_URL/_control/mix")
    _sum=$(faults_summary "$_n")
    _bounced=$(pf_log | grep 'to=<f[0-9]*@example.net>' | grep -c 'status=bounced')
    _deferred=$(pf_log | grep 'to=<f[0-9]*@example.net>' | grep -c 'status=deferred')
    _sentlog=$(pf_log | grep 'to=<f[0-9]*@example.net>' | grep -c 'status=sent')
    diag "$_m: seed=$_seed sent=$_n faults(SES calls)=$_mix"
    diag "$_m: $_sum bounced=$_bounced postfix-deferrals=$_deferred postfix-sent=$_sentlog"
    like "$_mix" '"(throttle|500|503|reset|slow|drop)"' "$_m: sesd injected faults"
    like "$_sum" "^delivered=$_n " "$_m: every one of the $_n messages reached SES at least once"
    is "$_bounced" 0 "$_m: Postfix bounced none"
    is "$_sentlog" "$_n" "$_m: Postfix logs each message as sent once"
    like "$_sum" " unexplained=0\$" \
        "$_m: every duplicate follows a slow answer or an accepted-then-dropped call"
    like "$(pf_log | grep 'to=<f[0-9]*@example.net>' | grep 'status=deferred' | head -1)" \
        '(^$|dsn=4\.)' "$_m: deferrals carry 4.x.x codes"
}
