#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Real SES error answers, as public reports quote them (tests/data/ses-
# errors), replayed through sesd - the row's HTTP status, code and message
# in the v1 XML or v2 JSON shape - and ses-relay, in pipe mode (exit status
# and diagnostic) and in LMTP mode (one server for every answer, SIGHUP
# between the APIs; the reply per recipient). Each answer must get the
# outcome its row gives: retry/defer keep the mail queued (4.x.x), bounce
# and bounce-recipient return it (5.x.x, that recipient only), and an
# answer marked debatable, uncertain or historical is never reported as
# sent. The figure "right/answers" per mode is printed as a diagnostic.
. "${top_srcdir:-.}/tests/lib.sh"
. "$top_srcdir/tests/sesd/lib.sh"
sesd_need
tmpdir_make
DATA="$top_srcdir/tests/data/ses-errors/ses-errors.tsv $top_srcdir/tests/data/ses-errors/ses-errors-more.tsv"
RELAY=$top_builddir/relay/ses-relay

sesd_start; ok $? "sesd starts"
conf() {
    sesd_relay_conf "$T/relay.conf" "ApiVersion $1" "RetryTime 0" \
        "Timeout 10s" "RelayWorkers 2" "BreakerInterval 30s"
}

# replay MODE API: one TAP line per answer; the counts into $T/count.MODE
replay() {
    $SESD_PY "$top_srcdir/tests/ses_answers.py" --mode "$1" --api "$2" \
        --sesd "$SESD_URL" --relay "$RELAY" --conf "$T/relay.conf" \
        --socket "$T/lmtp.sock" $DATA > "$T/out.$1.$2" 2>&1
    while IFS= read -r line; do
        case $line in
        [01]\ *) ;;
        *) diag "$line"; continue ;;
        esac
        rc=${line%% *}; rest=${line#* }
        ok "$rc" "${rest%%	*}"
        [ "$rc" = 0 ] || diag "${rest#*	}"
        echo "$rc" >> "$T/count.$1"
    done < "$T/out.$1.$2"
}

figure() {
    n=$(wc -l < "$T/count.$1"); bad=$(grep -c 1 "$T/count.$1")
    diag "$1 mode: $((n - bad))/$n answers right"
}

for api in v2 v1; do
    conf $api
    replay pipe $api
done
figure pipe

conf v2
"$RELAY" -F -c "$T/relay.conf" -l "unix:$T/lmtp.sock" > "$T/lmtp.out" 2>&1 &
RELAY_PID=$!
add_cleanup "kill $RELAY_PID 2>/dev/null"
wait_for 10 $SESD_PY -c 'import socket,sys; socket.socket(socket.AF_UNIX).connect(sys.argv[1])' "$T/lmtp.sock"
ok $? "ses-relay -l starts"
replay lmtp v2
reloads=$(grep -c "configuration reloaded" "$T/relay.log")
conf v1
kill -HUP $RELAY_PID
reloaded() { [ "$(grep -c 'configuration reloaded' "$T/relay.log")" -gt "$reloads" ]; }
wait_for 30 reloaded
ok $? "SIGHUP: the LMTP server now sends with ApiVersion v1"
replay lmtp v1
figure lmtp
kill $RELAY_PID; wait $RELAY_PID 2>/dev/null
tap_done
