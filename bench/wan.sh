#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Benchmark 6: delivery to SES across a WAN-like link.
#
# The SES side runs in its own network namespace, reached over a veth link
# whose packets are held RTT/2 each way: by netem where the kernel has it,
# otherwise by bench/nfqdelay (an NFQUEUE delayer: iptables queues every
# packet entering or leaving the namespace). There, with a certificate from
# a private CA (openssl), bench/ses-wan plays SES: the SESv2 HTTPS API on
# port 443 and the SMTP interface (STARTTLS, AUTH) on port 587, answering a
# send LATENCY after its last byte and every other SMTP command at once.
#
# The same N messages are held in a private Postfix's queue (smtpd puts
# them on hold), released at once (postsuper -H, postqueue -f), and timed
# until the queue is empty, along three paths:
#   lmtp:      Postfix lmtp -> ses-relay's LMTP server -> HTTPS SESv2;
#   relayhost: Postfix smtp -> SES SMTP, main.cf as SES documents it
#              (relayhost [host]:587, SASL, STARTTLS, encrypt);
#   reuse:     the same with smtp_tls_connection_reuse = yes (tlsproxy),
#              the best Postfix does.
# ROUNDS interleaved rounds of the three; each path's best round counts.
# Reported: messages per second, CPU ms per message of each component
# (bench/wanrun.py: /proc per process), the ratio to the limit
# CONCURRENCY / (RTT + LATENCY), and ses-relay's ratio to both relayhosts.
#
# Settings (environment): BENCH_WAN_RTT_MS (40), BENCH_WAN_LATENCY_MS (30),
# BENCH_WAN_CONCURRENCY (20), BENCH_WAN_N (1000), BENCH_WAN_SIZE (4096),
# BENCH_WAN_ROUNDS (2), BENCH_WAN_PATHS ("lmtp relayhost reuse"),
# BENCH_WAN_DELAY (auto | netem | nfqueue); BENCH_WAN_PERF=DIR records a
# profile of ses-relay during each lmtp run in DIR/ses-relay-roundN.data
# (perf record, options BENCH_WAN_PERF_ARGS, default -g; ses-relay has no
# frame pointers, so "--call-graph dwarf -F 999" shows the callers). Root is needed (namespaces, Postfix), and
# iptables when the kernel has no netem.
. "$(dirname "$0")/lib.sh"
pf_need_root
RTT_MS=${BENCH_WAN_RTT_MS:-40}
LAT_MS=${BENCH_WAN_LATENCY_MS:-30}
CONC=${BENCH_WAN_CONCURRENCY:-20}
N=${BENCH_WAN_N:-1000}
SIZE=${BENCH_WAN_SIZE:-4096}
ROUNDS=${BENCH_WAN_ROUNDS:-2}
PATHS=${BENCH_WAN_PATHS:-lmtp relayhost reuse}
DELAY=${BENCH_WAN_DELAY:-auto}
WANRUN="$PY $top_srcdir/bench/wanrun.py"
for p in nfqdelay ses-wan; do
    [ -x "$top_builddir/bench/$p" ] || {
        echo "bench/$p is not built: run make bench" >&2; exit 1; }
done
tmpdir_make
make_corpus "$T/msg.eml" "$SIZE"
fail() { echo "wan: $*" >&2; exit 1; }

# ---- the link: a namespace for SES, a veth pair, the delay ----
NS=seswan$$
VH=sw$$h
VS=sw$$s
# a /30 of RFC 2544's benchmarking range that no interface here uses
_n=$(( $$ % 250 + 1 ))
while ip -o -4 addr show | grep -q " 198\.18\.$_n\."; do
    _n=$(( _n % 250 + 1 ))
done
NET=198.18.$_n
HOST_ADDR=$NET.1
SES_ADDR=$NET.2
export WAN_SES_ADDR=$SES_ADDR
ip netns add "$NS" || fail "cannot create a network namespace"
add_cleanup "ip netns del $NS 2>/dev/null"
ip link add "$VH" type veth peer name "$VS" || fail "cannot create a veth pair"
add_cleanup "ip link del $VH 2>/dev/null"
ip link set "$VS" netns "$NS"
sysctl -qw "net.ipv6.conf.$VH.disable_ipv6=1" 2>/dev/null
ip netns exec "$NS" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 2>/dev/null
ip addr add "$HOST_ADDR/30" dev "$VH"
ip link set "$VH" up
ip -n "$NS" addr add "$SES_ADDR/30" dev "$VS"
ip -n "$NS" link set "$VS" up
ip -n "$NS" link set lo up
# (ip netns exec execs the command: $! of "ip netns exec ... &" is its pid)
nsexec() { ip netns exec "$NS" "$@"; }

HALF_US=$(( RTT_MS * 500 ))
DELAY_PID=
if [ "$DELAY" != nfqueue ] &&
   tc qdisc add dev "$VH" root netem delay "${HALF_US}us" limit 100000 2>/dev/null; then
    nsexec tc qdisc add dev "$VS" root netem delay "${HALF_US}us" limit 100000 ||
        fail "netem on the SES side failed"
    DELAY_HOW=netem
elif [ "$DELAY" = netem ]; then
    fail "BENCH_WAN_DELAY=netem but the kernel has no netem (sch_netem)"
else
    command -v iptables >/dev/null 2>&1 ||
        fail "no netem in this kernel and no iptables for the NFQUEUE delayer (apt-get install iptables)"
    nsexec iptables -w -A INPUT -i "$VS" -j NFQUEUE --queue-num 0 &&
        nsexec iptables -w -A OUTPUT -o "$VS" -j NFQUEUE --queue-num 0 ||
        fail "iptables cannot queue to NFQUEUE (CONFIG_NETFILTER_XT_TARGET_NFQUEUE)"
    # SCHED_FIFO, as netem's timers run in the kernel
    ip netns exec "$NS" "$top_builddir/bench/nfqdelay" -d "$HALF_US" -r \
        > "$T/delay.out" 2> "$T/delay.err" &
    DELAY_PID=$!
    add_cleanup "kill $DELAY_PID 2>/dev/null"
    wait_for 10 grep -q ready "$T/delay.out" ||
        fail "nfqdelay did not start: $(cat "$T/delay.err")"
    DELAY_HOW=nfqueue
fi

# ---- TLS: a private CA and SES's certificate ----
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=ses-milter bench CA" \
    -addext "basicConstraints=critical,CA:true" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout "$T/ca.key" -out "$T/ca.crt" 2>/dev/null || fail "openssl: CA"
openssl req -newkey rsa:2048 -nodes -subj "/CN=email.us-east-1.amazonaws.com" \
    -keyout "$T/ses.key" -out "$T/ses.csr" 2>/dev/null || fail "openssl: key"
printf '%s\n' "subjectAltName=IP:$SES_ADDR,DNS:email.us-east-1.amazonaws.com" \
    "basicConstraints=CA:false" "extendedKeyUsage=serverAuth" > "$T/ses.ext"
openssl x509 -req -days 2 -in "$T/ses.csr" -CA "$T/ca.crt" -CAkey "$T/ca.key" \
    -CAcreateserial -extfile "$T/ses.ext" -out "$T/ses.crt" 2>/dev/null ||
    fail "openssl: certificate"
chmod 644 "$T/ca.crt"

# ---- SES: HTTPS API and SMTP interface ----
SMTP_USER=AKIABENCHSMTPUSER01
SMTP_PASS=BenchSmtpPassword0123456789abcdefghijklmno
standin_start() { # MODE PORT -> STANDIN_PID
    ip netns exec "$NS" "$top_builddir/bench/ses-wan" -m "$1" -l "$SES_ADDR:$2" \
        -c "$T/ses.crt" -k "$T/ses.key" -d "$LAT_MS" \
        -u "$SMTP_USER:$SMTP_PASS" > "$T/ses-$1.out" 2> "$T/ses-$1.err" &
    STANDIN_PID=$!
    add_cleanup "kill $STANDIN_PID 2>/dev/null"
    wait_for 10 grep -q ready "$T/ses-$1.out" ||
        fail "ses-wan -m $1 did not start: $(cat "$T/ses-$1.err")"
}
standin_start https 443
HTTPS_PID=$STANDIN_PID
standin_start smtp 587
SMTP_PID=$STANDIN_PID
stats() { # PID FILE: the totals line a helper prints on SIGUSR1
    _n=$(grep -c . "$2")
    kill -USR1 "$1"
    wait_for 10 sh -c "[ \$(grep -c . '$2') -gt $_n ]" || fail "no answer to SIGUSR1 from $1"
    tail -1 "$2"
}

# ---- the delay, measured ----
rtt=$($WANRUN rtt "$SES_ADDR" 20) || fail "cannot time the link"
echo "link: $DELAY_HOW, RTT/2 = $HALF_US us each way; TCP connect $rtt"
set -- $rtt
RTT_MEASURED="min $3 median $5 max $7"

# ---- one run of one path ----
SEQ=0
inject() {
    smtp-source -s 10 -m "$N" -F "$T/msg.eml" -f sender@bench.example \
        -t rcpt@example.net "127.0.0.1:$PF_PORT" || return 1
    wait_for 60 sh -c "[ \$(find '$PF_DIR/queue/hold' -type f | wc -l) -ge $N ]"
}
pf_common() { # a private Postfix holding what it receives
    SEQ=$((SEQ + 1))
    pf_init "$T/pf$SEQ"
    pf_set "smtpd_client_restrictions = check_client_access static:HOLD" \
           "initial_destination_concurrency = $CONC" "$@"
}
relay_start() {
    ses_conf "$T/ses.conf" "Endpoint https://$SES_ADDR" "RetryTime 10s" \
        "LogLevel warning" "RelayWorkers $(( CONC > 32 ? CONC : 32 ))"
    rm -f "$T/lmtp.sock"
    # ses-relay trusts the system's CA store (libcurl's default,
    # /etc/ssl/certs/ca-certificates.crt on Debian), where an installation
    # adds a private CA with update-ca-certificates. Here the private CA
    # takes that file's place in a mount namespace of ses-relay's own.
    unshare --mount --propagation private sh -c \
        'mount --bind "$1" /etc/ssl/certs/ca-certificates.crt && shift && exec "$@"' \
        sh "$T/ca.crt" "$top_builddir/relay/ses-relay" -c "$T/ses.conf" -F \
        -l "unix:$T/lmtp.sock" > "$T/relay.out" 2>&1 &
    RELAY_PID=$!
    add_cleanup "kill $RELAY_PID 2>/dev/null"
    wait_for 10 test -S "$T/lmtp.sock" || fail "ses-relay did not start: $(cat "$T/relay.out")"
    chmod 666 "$T/lmtp.sock"
}
run_path() { # PATH ROUND -> appends "PATH ROUND key value" lines to $T/runs
    case $1 in
    lmtp)
        pf_common "default_transport = lmtp:unix:$T/lmtp.sock" \
                  "lmtp_destination_concurrency_limit = $CONC"
        relay_start
        roots="ses-relay=$RELAY_PID ses-https=$HTTPS_PID"
        standin=$HTTPS_PID; mode=https ;;
    relayhost|reuse)
        printf '[%s]:587 %s:%s\n' "$SES_ADDR" "$SMTP_USER" "$SMTP_PASS" \
            > "$T/sasl_passwd"
        # SES's Postfix instructions (main.cf), with the private CA
        pf_common "relayhost = [$SES_ADDR]:587" \
                  "smtp_sasl_auth_enable = yes" \
                  "smtp_sasl_security_options = noanonymous" \
                  "smtp_sasl_password_maps = texthash:$T/sasl_passwd" \
                  "smtp_use_tls = yes" \
                  "smtp_tls_security_level = encrypt" \
                  "smtp_tls_note_starttls_offer = yes" \
                  "smtp_tls_CAfile = $T/ca.crt" \
                  "default_transport = smtp" \
                  "smtp_destination_concurrency_limit = $CONC"
        pf_service "tlsmgr    unix  -       -       n       1000?   1       tlsmgr"
        if [ "$1" = reuse ]; then
            pf_set "smtp_tls_connection_reuse = yes"
            pf_service "tlsproxy  unix  -       -       n       -       0       tlsproxy"
        fi
        roots="ses-smtp=$SMTP_PID"
        standin=$SMTP_PID; mode=smtp ;;
    esac
    [ -n "$DELAY_PID" ] && roots="$roots delay=$DELAY_PID"
    pf_start || fail "postfix did not start"
    inject || fail "injection into the hold queue failed"
    set -- "$1" "$2" $(stats "$standin" "$T/ses-$mode.out")
    [ "${3:-}" = answered ] || fail "$1: no totals from ses-wan -m $mode"
    master=$(tr -d ' ' < "$PF_DIR/queue/pid/master.pid")
    PERF_PID=
    if [ -n "${BENCH_WAN_PERF:-}" ] && [ "$1" = lmtp ]; then
        perf record ${BENCH_WAN_PERF_ARGS:--g} -o "$BENCH_WAN_PERF/ses-relay-round$2.data" \
            -p "$RELAY_PID" > "$T/perf.out" 2>&1 &
        PERF_PID=$!
        sleep 1   # perf attaches
    fi
    $WANRUN drain "$PF_DIR/queue" "postfix=$master" $roots -- sh -c \
        "postsuper -c '$PF_ETC' -H ALL 2>/dev/null && postqueue -c '$PF_ETC' -f" \
        > "$T/drain.out" || fail "$1: the queue did not drain"
    if [ -n "$PERF_PID" ]; then
        kill -INT "$PERF_PID"; wait "$PERF_PID"
    fi
    sent=$(grep -c 'status=sent' "$PF_DIR/maillog")
    # what SES saw in this run: sends, connections, TLS 1.3 handshakes
    stats "$standin" "$T/ses-$mode.out" | awk -v a="$4" -v c="$8" -v t="${12}" \
        '{ print "ses_sends", $2 - a; print "ses_connections", $6 - c
           print "ses_tls13_handshakes", $10 - t }' >> "$T/drain.out"
    got=$(awk '$1 == "ses_sends" { print $2 }' "$T/drain.out")
    pf_stop
    if [ "$1" = lmtp ]; then
        kill "$RELAY_PID"; wait "$RELAY_PID" 2>/dev/null
    fi
    [ "$sent" -eq "$N" ] && [ "$got" -eq "$N" ] ||
        fail "$1: $sent of $N delivered, SES accepted $got (see $PF_DIR/maillog)"
    sed "s/^/$1 $2 /" "$T/drain.out" >> "$T/runs"
    awk -v p="$1" -v r="$2" -v n="$N" '
        $1 == "seconds" { s = $2 }
        $1 == "release_seconds" { rel = $2 }
        $1 == "ses_connections" { conns = $2 }
        $1 == "rtt_load_ms" { rtt = $3 "/" $5 }
        $1 == "cpu" { c[$2] = $3 / 1e6 / n
                      if ($2 ~ /^(postfix|ses-relay)\./) d += c[$2] }
        END {
            printf "%-9s round %d: %6.1f msg/s (%.2f s, release %.2f s), %d connections, delivery CPU %.3f ms/msg;", p, r, n / s, s, rel, conns, d
            for (k in c) if (c[k] >= 0.0005) printf " %s %.3f", k, c[k]
            printf "; RTT under load %s ms\n", rtt
        }' "$T/drain.out"
}

: > "$T/runs"
echo "settings: RTT $RTT_MS ms, SES latency $LAT_MS ms, concurrency $CONC," \
     "$N x $SIZE B messages, best of $ROUNDS rounds"
r=1
while [ "$r" -le "$ROUNDS" ]; do
    for p in $PATHS; do
        run_path "$p" "$r"
    done
    r=$((r + 1))
done

# ---- results: each path's best round ----
if [ -n "$DELAY_PID" ]; then
    set -- $(stats "$DELAY_PID" "$T/delay.out")
    result "wan.delay_release_late_us" "avg $4 max $6 over $2 packets (nfqdelay's timing error)"
fi
result "wan.settings" "rtt_ms $RTT_MS latency_ms $LAT_MS concurrency $CONC messages $N size $SIZE rounds $ROUNDS delay $DELAY_HOW"
result "wan.link_rtt_ms" "$RTT_MEASURED (TCP connect, idle)"
LIMIT=$(awk -v c="$CONC" -v r="$RTT_MS" -v l="$LAT_MS" 'BEGIN { printf "%.1f", c * 1000 / (r + l) }')
result "wan.limit_msgs_per_sec" "$LIMIT (concurrency / (RTT + latency))"
awk -v n="$N" '
    $3 == "seconds" { if (!($1 in best) || $4 < best[$1]) { best[$1] = $4; br[$1] = $2 } }
    { line[$1 " " $2] = line[$1 " " $2] "\n" $0 }
    END {
        for (p in best) {
            split(line[p " " br[p]], ls, "\n")
            d = 0
            for (i in ls) {
                split(ls[i], f, " ")
                if (f[3] == "cpu") {
                    v = f[5] / 1e6 / n
                    printf "%s cpu_ms_per_msg.%s %.3f\n", p, f[4], v
                    if (f[4] ~ /^(postfix|ses-relay)\./) d += v
                }
                if (f[3] == "rtt_load_ms") printf "%s rtt_under_load_ms median %s max %s\n", p, f[5], f[7]
                if (f[3] ~ /^ses_/ || f[3] == "release_seconds") printf "%s %s %s\n", p, f[3], f[4]
            }
            printf "%s msgs_per_sec %.1f\n", p, n / best[p]
            printf "%s delivery_cpu_ms_per_msg %.3f\n", p, d
        }
    }' "$T/runs" | sort > "$T/best"
while read -r p key value; do
    result "wan.$p.$key" "$value"
done < "$T/best"
rate() { awk -v p="$1" '$1 == p && $2 == "msgs_per_sec" { print $3 }' "$T/best"; }
cpu() { awk -v p="$1" '$1 == p && $2 == "delivery_cpu_ms_per_msg" { print $3 }' "$T/best"; }
for p in $PATHS; do
    result "wan.ratio.${p}_over_limit" "$(ratio "$(rate "$p")" "$LIMIT")$( [ "$p" = lmtp ] && echo " (target >= 0.90)")"
done
case " $PATHS " in *" lmtp "*)
    case " $PATHS " in *" relayhost "*)
        result "wan.ratio.lmtp_over_relayhost" "$(ratio "$(rate lmtp)" "$(rate relayhost)")x (target >= 4x)"
        result "wan.ratio.relayhost_cpu_over_lmtp_cpu" "$(ratio "$(cpu relayhost)" "$(cpu lmtp)")x" ;;
    esac
    case " $PATHS " in *" reuse "*)
        result "wan.ratio.lmtp_over_reuse" "$(ratio "$(rate lmtp)" "$(rate reuse)")x (target >= 2x)"
        result "wan.ratio.reuse_cpu_over_lmtp_cpu" "$(ratio "$(cpu reuse)" "$(cpu lmtp)")x" ;;
    esac ;;
esac
