#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# ses-metrics: the shared store as ses-relay fills it, rendered on stdout,
# as a node_exporter textfile and over the loopback HTTP endpoint.
. "${top_srcdir:-.}/tests/lib.sh"
tmpdir_make
B=$top_builddir
M=$B/relay/ses-metrics

mkdir -p "$T/data"
cat > "$T/ses.conf" <<CONF
Region eu-west-1
Endpoint http://127.0.0.1:9
RetryTime 0
ConnectTimeout 1s
Syslog no
LogFile $T/log
DataDirectory $T/data
ConfigurationSet tx
CONF

like "$("$M" -V)" "^ses-metrics \(ses-milter\) [0-9]" "ses-metrics -V prints its version"
out=$("$M" -c "$T/ses.conf"); rc=$?
is "$rc" 0 "ses-metrics prints an empty store"
like "$out" "^# TYPE sesmilter_messages_total counter" "the output declares the counter family"
like "$out" "^sesmilter_metrics_dropped_total 0$" "nothing dropped in a new store"

# Two deliveries to an unreachable SES: each recipient counts as deferred.
for i in 1 2; do
    printf 'Subject: t\r\n\r\nx\r\n' | AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=secretsecretsecret \
        "$B/relay/ses-relay" -c "$T/ses.conf" -f a@example.com -q Q$i -- b@example.com c@example.com >/dev/null
done
printf 'X-SES-CONFIGURATION-SET: marketing\r\nSubject: t\r\n\r\nx\r\n' |
    AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=secretsecretsecret \
    "$B/relay/ses-relay" -c "$T/ses.conf" -f a@example.com -- d@example.com >/dev/null
out=$("$M" -c "$T/ses.conf")
like "$out" '^sesmilter_messages_total\{configuration_set="tx",status="deferred",reason="connect-failed"\} 4$' \
    "pipe-mode ses-relay counts every recipient of every delivery"
like "$out" '^sesmilter_messages_total\{configuration_set="marketing",status="deferred",reason="connect-failed"\} 1$' \
    "the configuration set comes from X-SES-CONFIGURATION-SET"
like "$out" '^sesmilter_delivery_duration_seconds_count\{configuration_set="tx"\} 2$' \
    "one latency observation per delivery"
mode=$(stat -c %a "$T/data/metrics.mmap")
is "$mode" 660 "the store is group-writable for every program of the package"

# Made by root, the store belongs to DataDirectory's owner (the package's
# user), who must keep updating it.
if [ "$(id -u)" -eq 0 ]; then
    mkdir "$T/owned"; chown nobody:nogroup "$T/owned"
    printf 'DataDirectory %s/owned\n' "$T" > "$T/owned.conf"
    "$M" -c "$T/owned.conf" -d -f -l inet:1@192.0.2.1 >/dev/null 2>&1   # opens, then refuses the listener
    is "$(stat -c %U:%G "$T/owned/metrics.mmap")" nobody:nogroup "a store root creates belongs to DataDirectory's owner"
else
    skip "a store root creates belongs to DataDirectory's owner" "not root"
fi

# Metrics off: nothing counted.
sed 's/^ConfigurationSet tx/ConfigurationSet off\nMetrics no/' "$T/ses.conf" > "$T/off.conf"
printf 'Subject: t\r\n\r\nx\r\n' | AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=secretsecretsecret \
    "$B/relay/ses-relay" -c "$T/off.conf" -f a@example.com -- b@example.com >/dev/null
out=$("$M" -c "$T/ses.conf")
case $out in *'configuration_set="off"'*) r=1;; *) r=0;; esac
ok $r "Metrics no: ses-relay does not count"

# Textfile for node_exporter.
"$M" -c "$T/ses.conf" -t "$T/ses.prom"; rc=$?
is "$rc" 0 "ses-metrics -t writes a textfile"
like "$(cat "$T/ses.prom")" 'reason="connect-failed"\} 4$' "the textfile holds the counters"
is "$(stat -c %a "$T/ses.prom")" 644 "the textfile is readable by node_exporter"
"$M" -c "$T/ses.conf" -t "$T/none/ses.prom" 2>/dev/null; rc=$?
is "$rc" 73 "an unwritable textfile exits 73 (EX_CANTCREAT)"

# HTTP endpoint.
out=$("$M" -c "$T/ses.conf" -d -f -l inet:9100@192.0.2.1 2>&1); rc=$?
is "$rc" 78 "a non-loopback listener is refused (78)"
like "$out" "loopback" "the refusal says why"
out=$("$M" -c "$T/ses.conf" -d -f 2>&1); rc=$?
is "$rc" 78 "-d without a listener or textfile is a configuration error"
port=$(free_port)
printf 'MetricsTextfile %s/daemon.prom\nMetricsInterval 1s\n' "$T" >> "$T/ses.conf"
"$M" -c "$T/ses.conf" -d -f -l "inet:$port@127.0.0.1" 2>>"$T/metrics.err" &
pid=$!
add_cleanup "kill $pid 2>/dev/null"
wait_for 5 curl -sf "http://127.0.0.1:$port/metrics"
body=$(curl -s -D "$T/hdr" "http://127.0.0.1:$port/metrics")
like "$(head -1 "$T/hdr")" "^HTTP/1.1 200" "GET /metrics answers 200"
like "$(cat "$T/hdr")" "Content-Type: text/plain; version=0.0.4" "with the Prometheus content type"
like "$body" 'reason="connect-failed"\} 4$' "the endpoint serves the shared counters"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/other")
is "$code" 404 "other paths answer 404"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$port/metrics")
is "$code" 405 "other methods answer 405"
wait_for 5 test -s "$T/daemon.prom"; ok $? "ses-metrics -d rewrites MetricsTextfile"
# a new delivery shows up in the next scrape without a restart
printf 'Subject: t\r\n\r\nx\r\n' | AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=secretsecretsecret \
    "$B/relay/ses-relay" -c "$T/ses.conf" -f a@example.com -- e@example.com >/dev/null
body=$(curl -s "http://127.0.0.1:$port/metrics")
like "$body" 'configuration_set="tx",status="deferred",reason="connect-failed"\} 5$' "a later delivery is visible at once"
# SIGHUP: a new MetricsTextfile is written from then on.
sed -i "s|^MetricsTextfile .*|MetricsTextfile $T/reloaded.prom|" "$T/ses.conf"
kill -HUP $pid
wait_for 5 test -s "$T/reloaded.prom"; ok $? "SIGHUP reloads the configuration (new MetricsTextfile)"
curl -sf "http://127.0.0.1:$port/metrics" >/dev/null; ok $? "the listener keeps serving after a reload"
kill -TERM $pid; wait $pid; rc=$?
is "$rc" 0 "SIGTERM stops ses-metrics -d cleanly"

tap_done
