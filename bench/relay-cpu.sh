#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Benchmark 7: ses-relay's own CPU per message in LMTP mode.
#
# No Postfix: smtp-source speaks LMTP (-L) straight to ses-relay's unix
# socket, SESSIONS connections kept open (-d, as Postfix's lmtp client
# keeps its cached connections), and bench/ses-wan on loopback answers
# every SESv2 SendEmail over TLS 1.3 (private CA) LATENCY ms after the
# request, as bench/wan.sh's stand-in does. What ses-relay spends per
# message then stands alone, without the scheduling noise of a Postfix
# queue run:
#   cpu_ms_per_msg     ses-relay's CPU time (/proc schedstat of its
#                      threads, bench/wanrun.py) over N messages;
#   ctxsw_per_msg      its context switches (voluntary + involuntary);
#   faults_per_msg     its minor page faults;
#   syscalls_per_msg   its system calls (strace -c when BENCH_CPU_STRACE=1;
#                      strace slows it, so the CPU figure is then left out);
#   instructions_per_msg  user-space instructions (valgrind callgrind when
#                      BENCH_CPU_CALLGRIND=FILE, its output kept in FILE;
#                      the CPU figure is then left out).
# Instruction counts do not depend on the machine's load: use them to judge
# a change on a busy machine (this VM has no hardware counters for perf).
# A first WARM messages (default 100) open the HTTPS connections and are
# not counted.
#
# Settings (environment): BENCH_CPU_N (3000), BENCH_CPU_SESSIONS (20),
# BENCH_CPU_SIZE (4096), BENCH_CPU_LATENCY_MS (30), BENCH_CPU_CONF (extra
# ses-milter.conf lines, newline-separated), BENCH_CPU_PERF=FILE (perf
# record of ses-relay into FILE, BENCH_CPU_PERF_ARGS default "-g").
#
#   sudo sh bench/relay-cpu.sh
#   sudo BENCH_CPU_N=300 BENCH_CPU_CALLGRIND=/tmp/cg.out sh bench/relay-cpu.sh
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" -eq 0 ] || { echo "relay-cpu: needs root (mount namespace)" >&2; exit 1; }
N=${BENCH_CPU_N:-3000}
SESSIONS=${BENCH_CPU_SESSIONS:-20}
SIZE=${BENCH_CPU_SIZE:-4096}
LAT_MS=${BENCH_CPU_LATENCY_MS:-30}
WARM=${BENCH_CPU_WARM:-100}
WANRUN="$PY $top_srcdir/bench/wanrun.py"
fail() { echo "relay-cpu: $*" >&2; exit 1; }
[ -x "$top_builddir/bench/ses-wan" ] || fail "bench/ses-wan is not built: run make bench"
command -v smtp-source >/dev/null 2>&1 || fail "smtp-source (postfix) is not installed"
tmpdir_make
make_corpus "$T/msg.eml" "$SIZE"

# ---- TLS: a private CA, a certificate for 127.0.0.1 ----
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=ses-milter bench CA" \
    -addext "basicConstraints=critical,CA:true" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout "$T/ca.key" -out "$T/ca.crt" 2>/dev/null || fail "openssl: CA"
openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
    -keyout "$T/ses.key" -out "$T/ses.csr" 2>/dev/null || fail "openssl: key"
printf '%s\n' "subjectAltName=IP:127.0.0.1" "basicConstraints=CA:false" \
    "extendedKeyUsage=serverAuth" > "$T/ses.ext"
openssl x509 -req -days 2 -in "$T/ses.csr" -CA "$T/ca.crt" -CAkey "$T/ca.key" \
    -CAcreateserial -extfile "$T/ses.ext" -out "$T/ses.crt" 2>/dev/null ||
    fail "openssl: certificate"
chmod 644 "$T/ca.crt"

# ---- SES ----
SES_PORT=$(free_port)
"$top_builddir/bench/ses-wan" -m https -l "127.0.0.1:$SES_PORT" -c "$T/ses.crt" \
    -k "$T/ses.key" -d "$LAT_MS" > "$T/ses.out" 2> "$T/ses.err" &
SES_PID=$!
add_cleanup "kill $SES_PID 2>/dev/null"
wait_for 10 grep -q ready "$T/ses.out" || fail "ses-wan did not start: $(cat "$T/ses.err")"

# ---- ses-relay, trusting the private CA through the system store ----
ses_conf "$T/ses.conf" "Endpoint https://127.0.0.1:$SES_PORT" "RetryTime 10s" \
    "LogLevel warning" "RelayWorkers $SESSIONS"
[ -n "${BENCH_CPU_CONF:-}" ] && printf '%s\n' "$BENCH_CPU_CONF" >> "$T/ses.conf"
WRAP=
if [ -n "${BENCH_CPU_CALLGRIND:-}" ]; then
    WRAP="valgrind --tool=callgrind --callgrind-out-file=$BENCH_CPU_CALLGRIND --instr-atstart=no"
elif [ "${BENCH_CPU_STRACE:-0}" = 1 ]; then
    WRAP="strace -f -c -o $T/strace.out"
fi
unshare --mount --propagation private sh -c \
    'mount --bind "$1" /etc/ssl/certs/ca-certificates.crt && shift && exec "$@"' \
    sh "$T/ca.crt" $WRAP "$top_builddir/relay/ses-relay" -c "$T/ses.conf" -F \
    -l "unix:$T/lmtp.sock" > "$T/relay.out" 2>&1 &
RELAY_PID=$!
add_cleanup "kill $RELAY_PID 2>/dev/null"
wait_for 60 test -S "$T/lmtp.sock" || fail "ses-relay did not start: $(cat "$T/relay.out")"
# the process that is ses-relay (valgrind and strace exec or fork it)
RELAY=$RELAY_PID
if [ "${BENCH_CPU_STRACE:-0}" = 1 ]; then
    RELAY=$(pgrep -P "$RELAY_PID" | head -1)
fi

send() { # COUNT
    smtp-source -L -d -s "$SESSIONS" -m "$1" -F "$T/msg.eml" \
        -f sender@bench.example -t rcpt@example.net "unix:$T/lmtp.sock" ||
        fail "smtp-source failed"
}
answered() { # the stand-in's count of accepted sends
    _n=$(grep -c . "$T/ses.out")
    kill -USR1 "$SES_PID"
    wait_for 10 sh -c "[ \$(grep -c . '$T/ses.out') -gt $_n ]" || fail "no totals from ses-wan"
    tail -1 "$T/ses.out" | awk '{ print $2 }'
}
snap() { # PID -> "ctxsw faults"
    awk '/^voluntary_ctxt_switches|^nonvoluntary_ctxt_switches/ { c += $2 }
         END { printf "%d ", c }' /proc/"$1"/task/*/status
    awk '{ f += $10 } END { print f }' /proc/"$1"/task/*/stat
}

send "$WARM"
a0=$(answered)
[ -n "${BENCH_CPU_CALLGRIND:-}" ] && callgrind_control -i on "$RELAY_PID" > /dev/null
set -- $(snap "$RELAY")
c0=$1 f0=$2
PERF_PID=
if [ -n "${BENCH_CPU_PERF:-}" ]; then
    perf record ${BENCH_CPU_PERF_ARGS:--g} -o "$BENCH_CPU_PERF" -p "$RELAY" \
        > "$T/perf.out" 2>&1 &
    PERF_PID=$!
    sleep 1
fi
t0=$(date +%s.%N)
# wanrun's drain waits for an empty Postfix queue: an empty directory
mkdir -p "$T/noqueue"
$WANRUN drain "$T/noqueue" "ses-relay=$RELAY" -- sh -c \
    "smtp-source -L -d -s $SESSIONS -m $N -F $T/msg.eml -f sender@bench.example -t rcpt@example.net unix:$T/lmtp.sock" \
    > "$T/drain.out" || fail "the run failed"
t1=$(date +%s.%N)
[ -n "$PERF_PID" ] && { kill -INT "$PERF_PID"; wait "$PERF_PID"; }
set -- $(snap "$RELAY")
c1=$1 f1=$2
[ -n "${BENCH_CPU_CALLGRIND:-}" ] && callgrind_control -i off "$RELAY_PID" > /dev/null
got=$(( $(answered) - a0 ))
[ "$got" -eq "$N" ] || fail "SES accepted $got of $N messages (see $T/relay.out, $T/ses.log)"
cpu=$(awk '$1 == "cpu" && $2 ~ /^ses-relay\./ { s += $3 } END { print s }' "$T/drain.out")
result "relay_cpu.settings" "messages $N size $SIZE sessions $SESSIONS latency_ms $LAT_MS load $(cut -d' ' -f1-3 /proc/loadavg)"
result "relay_cpu.seconds" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')"
if [ -n "${BENCH_CPU_CALLGRIND:-}" ]; then
    kill "$RELAY_PID"; wait "$RELAY_PID" 2>/dev/null
    ir=$(callgrind_annotate "$BENCH_CPU_CALLGRIND"* 2>/dev/null |
         awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1; exit }')
    result "relay_cpu.instructions_per_msg" "$(awk -v i="$ir" -v n="$N" 'BEGIN { printf "%.0f", i / n }') (callgrind, user space)"
elif [ "${BENCH_CPU_STRACE:-0}" = 1 ]; then
    kill "$RELAY"; wait "$RELAY_PID" 2>/dev/null
    calls=$(awk '$NF == "total" { print $(NF-2) }' "$T/strace.out")
    result "relay_cpu.syscalls_per_msg" "$(awk -v c="$calls" -v n="$((N + WARM))" 'BEGIN { printf "%.1f", c / n }') (strace -c, warm-up included)"
    sort -k4 -n -r "$T/strace.out" | awk 'NF >= 5 && $NF != "total" && $NF != "syscall" { printf "relay_cpu.syscall.%s %.2f\n", $NF, $4 / '"$((N + WARM))"' }' | head -15
else
    result "relay_cpu.cpu_ms_per_msg" "$(awk -v c="$cpu" -v n="$N" 'BEGIN { printf "%.3f", c / 1e6 / n }')"
fi
result "relay_cpu.ctxsw_per_msg" "$(awk -v a="$c0" -v b="$c1" -v n="$N" 'BEGIN { printf "%.2f", (b - a) / n }')"
result "relay_cpu.faults_per_msg" "$(awk -v a="$f0" -v b="$f1" -v n="$N" 'BEGIN { printf "%.2f", (b - a) / n }')"
