#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# The WAN benchmark's pieces (bench/wan.sh), without the benchmark:
# bench/ses-wan answers like SES over HTTPS, after its latency, with a
# private CA's certificate that ses-relay trusts only once the CA is in the
# system's CA store; over SMTP it wants STARTTLS, then AUTH, then MAIL, as
# SES does; bench/nfqdelay holds every queued packet for its delay. Runs in
# private network and mount namespaces (the CA store is replaced there
# only). Needs root and unshare(1), iptables for the delayer part; skipped
# otherwise.
. "${top_srcdir:-.}/tests/lib.sh"
B=${top_builddir:-.}
if [ -z "${SES_IN_NS:-}" ]; then
    [ "$(id -u)" = 0 ] || tap_skip_all "needs root for namespaces"
    command -v unshare >/dev/null && command -v ip >/dev/null ||
        tap_skip_all "unshare(1) or ip(8) missing"
    unshare -n -m true 2>/dev/null || tap_skip_all "cannot create namespaces"
    SES_IN_NS=1 exec unshare -n -m --propagation private "$0" "$@"
fi
tmpdir_make
ip link set lo up
PY=/usr/bin/python3
now_ms() { $PY -c 'import time; print(int(time.monotonic() * 1000))'; }

# a private CA, and SES's certificate for 127.0.0.1 (P-256: quick to make)
ec="-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
openssl req -x509 $ec -days 1 -subj "/CN=bench CA" \
    -addext "basicConstraints=critical,CA:true" \
    -addext "keyUsage=critical,keyCertSign" \
    -keyout "$T/ca.key" -out "$T/ca.crt" 2>/dev/null &&
openssl req $ec -subj "/CN=127.0.0.1" -keyout "$T/ses.key" -out "$T/ses.csr" 2>/dev/null &&
printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > "$T/ext" &&
openssl x509 -req -days 1 -in "$T/ses.csr" -CA "$T/ca.crt" -CAkey "$T/ca.key" \
    -CAcreateserial -extfile "$T/ext" -out "$T/ses.crt" 2>/dev/null
ok $? "a private CA and a certificate for 127.0.0.1"

standin() { # MODE PORT LATENCY_MS -> PID
    "$B/bench/ses-wan" -m "$1" -l "127.0.0.1:$2" -c "$T/ses.crt" \
        -k "$T/ses.key" -d "$3" -u "smtpuser:smtp-secret" > "$T/$1.out" 2>&1 &
    PID=$!
    add_cleanup "kill $PID 2>/dev/null"
    wait_for 10 grep -q ready "$T/$1.out"
}
stats() { # PID FILE: the totals line after SIGUSR1
    _n=$(grep -c . "$2")
    kill -USR1 "$1"
    wait_for 10 sh -c "[ \$(grep -c . '$2') -gt $_n ]"
    tail -1 "$2"
}

# ---- HTTPS: SESv2 SendEmail ----
standin https 443 300; ok $? "ses-wan -m https starts"
HTTPS=$PID
cat > "$T/aws-credentials" <<'CREDS'
[default]
aws_access_key_id = AKIDEXAMPLETESTKEY01
aws_secret_access_key = testSecretKey/Never+Logged/0123456789abcdef
CREDS
mkdir -p "$T/data"
printf '%s\n' "Region us-east-1" "Endpoint https://127.0.0.1" \
    "CredentialsFile $T/aws-credentials" "DataDirectory $T/data" \
    "LogFile $T/relay.log" "RetryTime 0" "ConnectTimeout 5s" \
    "Timeout 20s" > "$T/relay.conf"
printf 'From: a@example.com\r\nTo: b@example.net\r\nSubject: wan\r\n\r\nbody\r\n' > "$T/msg"
relay() {
    OUT=$("$B/relay/ses-relay" -c "$T/relay.conf" -f a@example.com \
        -- b@example.net < "$T/msg" 2>&1)
    RC=$?
}
relay
is "$RC" 75 "ses-relay defers when the private CA is not in the system's CA store"
like "$OUT" "^4\\.[0-9]\\.[0-9] .*(certificate|SSL|TLS)" "... saying it is the certificate"

mount --bind "$T/ca.crt" /etc/ssl/certs/ca-certificates.crt
ok $? "the private CA in place of the CA store (this mount namespace only)"
t0=$(now_ms)
relay
t1=$(now_ms)
is "$RC" 0 "ses-relay sends through ses-wan once the CA is in the store"
[ $((t1 - t0)) -ge 300 ]
ok $? "... and the answer came no sooner than the 300 ms latency ($((t1 - t0)) ms)"
set -- $(stats "$HTTPS" "$T/https.out")
is "$2 ${10}" "1 1" "ses-wan counted one send, over TLS 1.3"
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$T/ca.crt" \
    -X POST -d '{}' https://127.0.0.1/v2/email/identities)
is "$code" 404 "ses-wan answers 404 to anything but SendEmail"

# ---- SMTP: STARTTLS, AUTH, then mail ----
standin smtp 587 100; ok $? "ses-wan -m smtp starts"
SMTP=$PID
sw() { swaks --server 127.0.0.1 --port 587 --from a@example.com \
    --to b@example.net "$@" 2>&1; }
out=$(sw --tls --auth PLAIN --auth-user smtpuser --auth-password smtp-secret)
ok $? "swaks sends with STARTTLS and AUTH PLAIN"
like "$out" "<~  250 Ok 0100018c" "... and the end of data is answered with SES's 250 Ok"
like "$(sw --tls --auth LOGIN --auth-user smtpuser --auth-password wrong)" \
    "535 Authentication Credentials Invalid" "a wrong password is refused (535)"
like "$(sw --auth PLAIN --auth-user smtpuser --auth-password smtp-secret)" \
    "530 Must issue a STARTTLS command first" "AUTH before STARTTLS is refused (530)"
like "$(sw --tls)" "530 Authentication required" "MAIL before AUTH is refused (530)"
set -- $(stats "$SMTP" "$T/smtp.out")
is "$2" 1 "ses-wan counted one accepted message"

# ---- the delayer ----
if command -v iptables >/dev/null 2>&1 &&
   iptables -w -A OUTPUT -o lo -p tcp --dport 9 -j NFQUEUE --queue-num 3 2>/dev/null &&
   iptables -w -A OUTPUT -o lo -p tcp --sport 9 -j NFQUEUE --queue-num 3 2>/dev/null; then
    "$B/bench/nfqdelay" -q 3 -d 150000 > "$T/delay.out" 2> "$T/delay.err" &
    DP=$!
    add_cleanup "kill $DP 2>/dev/null"
    wait_for 10 grep -q ready "$T/delay.out"
    ok $? "nfqdelay binds queue 3 $(cat "$T/delay.err")"
    set -- $($PY "$top_srcdir/bench/wanrun.py" rtt 127.0.0.1 3)
    ok "$(awk -v m="$3" 'BEGIN { print (m >= 300) ? 0 : 1 }')" \
        "a connect to a closed port takes two held packets: >= 300 ms ($3 ms)"
    set -- $(stats "$DP" "$T/delay.out")
    is "$2" 6 "nfqdelay released the 6 packets (3 SYN, 3 RST)"
else
    skip "nfqdelay" "no iptables or no NFQUEUE target in this kernel"
    skip "nfqdelay holds packets" "no iptables or NFQUEUE"
    skip "nfqdelay counts packets" "no iptables or NFQUEUE"
fi
tap_done
