#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# ses-feedback -H, the SNS HTTP endpoint, as an attacker meets it: only
# verified messages from allowed topics change anything (forged or foreign
# notifications and subscription confirmations change nothing), requests
# are size-limited (413, 431) and time-limited: a client trickling its
# request (slowloris) is answered 408 and dropped (headers within 10 s)
# while other clients are served; hundreds of silent connections do not
# keep a real SNS delivery out; a signed notification older than
# SeenRetention (a replay) is refused.
. "${top_srcdir:-.}/tests/lib.sh"
tmpdir_make
B=$top_builddir
PY=/usr/bin/python3
$PY -c 'import cryptography' 2>/dev/null || tap_skip_all "python3-cryptography is not installed"
SIGN="$PY $top_srcdir/tests/integration/sns_sign.py"
TOPIC=arn:aws:sns:us-east-1:123456789012:ses-feedback
OTHER=arn:aws:sns:us-east-1:999999999999:other
CERT_URL=https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0123456789abcdef0123456789abcdef.pem
FIX=$top_srcdir/tests/data/feedback
cat > "$T/sendmail" <<EOS
#!/bin/sh
cat > "$T/dsn.\$\$"
EOS
chmod 755 "$T/sendmail"
printf 'DataDirectory %s\nLogFile %s\nSnsTopicArn %s\nSnsCertCache %s\nSendmail %s\n' \
    "$T/data" "$T/fb.log" "$TOPIC" "$T/certs" "$T/sendmail" > "$T/ses.conf"
$SIGN keygen "$T/certs" "$CERT_URL" && $SIGN keygen "$T/mallory" "$CERT_URL"
ok $? "SNS signing keys (the trusted one cached, and an attacker's)"
PORT=$(free_port)
"$B/relay/ses-feedback" -c "$T/ses.conf" -f -H "inet:$PORT@127.0.0.1" > "$T/fb.out" 2>&1 &
FB=$!
add_cleanup "kill $FB 2>/dev/null"
wait_for 10 $PY -c "import socket; socket.create_connection(('127.0.0.1', $PORT), 1)"
ok $? "ses-feedback -H listens"
post() {  # post FILE [TYPE] -> HTTP status code
    curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: text/plain' \
        -H "x-amz-sns-message-type: ${2:-Notification}" \
        --data-binary @"$1" "http://127.0.0.1:$PORT/"
}
state() { "$B/relay/ses-suppress" -c "$T/ses.conf" export 2>/dev/null | wc -l; ls "$T"/dsn.* 2>/dev/null | wc -l; }

$SIGN bounce "$FIX/bounce-permanent.json" 0100-m1 alice@sender.example \
    victim@example.net fb-1 > "$T/n.json"
$SIGN envelope "$T/mallory/key.pem" "$TOPIC" "$CERT_URL" sns-1 "$T/n.json" 1 > "$T/forged.json"
$SIGN envelope "$T/certs/key.pem" "$OTHER" "$CERT_URL" sns-2 "$T/n.json" 1 > "$T/foreign.json"
$SIGN subscription "$T/mallory/key.pem" "$TOPIC" "$CERT_URL" sns-3 \
    "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=$TOPIC&Token=x" > "$T/sub-forged.json"
before=$(state)
is "$(post "$T/forged.json")" 403 "a notification with a forged signature: 403"
is "$(post "$T/foreign.json")" 403 "a correctly signed notification from a foreign topic: 403"
is "$(post "$T/sub-forged.json" SubscriptionConfirmation)" 403 \
    "a forged subscription confirmation for the allowed topic: 403 (not confirmed)"
is "$(state)" "$before" "none of them changed the store or sent a DSN"
like "$(cat "$T/fb.log")" "sns-3 .*refused" "the forged subscription is logged as refused"

# size limits
$PY -c 'import sys; sys.stdout.write("x" * (2 * 1024 * 1024))' > "$T/big"
is "$(post "$T/big")" 413 "a 2 MB body: 413"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Filler: $($PY -c 'print("a" * 20000)')" \
    --data-binary @"$T/n.json" "http://127.0.0.1:$PORT/")
is "$code" 431 "20 kB of headers: 431"
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Transfer-Encoding: chunked' \
    --data-binary @"$T/n.json" "http://127.0.0.1:$PORT/")
is "$code" 411 "a chunked body (no length): 411"

# slowloris: 5 clients trickle a byte every 2 s; each is answered 408 and
# dropped within the request deadline, while a normal client is served
$PY - "$PORT" > "$T/slow.out" 2>&1 <<'PYEOF' &
import socket, sys, threading, time
port = int(sys.argv[1])
res = []
def slow(i):
    s = socket.create_connection(("127.0.0.1", port))
    t0 = time.time()
    req = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n"
    answer = b""
    try:
        for k in range(60):
            s.send(req[k % len(req):k % len(req) + 1])
            s.settimeout(2)
            try:
                d = s.recv(200)
                if not d:
                    break
                answer += d
                break
            except socket.timeout:
                pass
    except OSError:
        pass
    res.append((round(time.time() - t0), answer.split(b"\r\n")[0].decode()))
ts = [threading.Thread(target=slow, args=(i,)) for i in range(5)]
[t.start() for t in ts]
[t.join() for t in ts]
for r in res:
    print(r[0], r[1])
PYEOF
SL=$!
sleep 3
t0=$(date +%s)
# the slow clients hold their connections for 30 s and more: an answer
# before that is not stuck behind them, however busy the machine
code=$(curl -s -m 25 -o /dev/null -w '%{http_code}' --data-binary @"$T/big" "http://127.0.0.1:$PORT/")
is "$code" 413 "while slow clients hold connections, another client is answered at once"
wait $SL
diag "slowloris clients (seconds, answer):" "$(cat "$T/slow.out")"
is "$(grep -c 'HTTP/1.1 408' "$T/slow.out")" 5 "each slowloris client gets 408"
# cut off by the 30 s request deadline, not after their 120 s of trickling
# (twice the deadline is the bound: a busy machine answers late, not never)
is "$(awk '$1 > 60' "$T/slow.out" | wc -l)" 0 "... within the 30 s request deadline (not 120 s of trickling)"
kill -0 $FB; ok $? "ses-feedback -H is still serving"

# idle connections cannot lock SNS out: SNS gives up on an endpoint within
# about a minute, so a delivery must get through while an attacker (behind
# the same TLS proxy: one address) holds many connections open and silent
cat > "$T/idle.py" <<'PYEOF'
import os, socket, sys, time
port, n, ready, done = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(n)]
open(ready, "w").close()
while not os.path.exists(done):
    time.sleep(0.05)
alive = 0
for s in socks:          # still open and unanswered: held by the server
    s.setblocking(False)
    try:
        s.recv(100)
    except BlockingIOError:
        alive += 1
print(alive)
PYEOF
# idle N PORT NAME: N silent connections to PORT until NAME.done exists
idle() {
    rm -f "$T/$3.ready" "$T/$3.done"
    $PY "$T/idle.py" "$2" "$1" "$T/$3.ready" "$T/$3.done" > "$T/$3.out" 2>&1 &
    IDLE=$!
    wait_for 30 test -e "$T/$3.ready"
}
idle_end() { touch "$T/$1.done"; wait $IDLE; held=$(cat "$T/$1.out"); }
$SIGN bounce "$FIX/bounce-permanent.json" 0100-idle1 alice@sender.example \
    idle1@example.net fb-idle1 > "$T/idle1.note"
$SIGN envelope "$T/certs/key.pem" "$TOPIC" "$CERT_URL" sns-idle1 "$T/idle1.note" 2 > "$T/idle1.json"
idle 300 "$PORT" i1
is "$(post "$T/idle1.json")" 200 \
    "with 300 silent connections open (FeedbackMaxConnections is 32), an SNS delivery is applied"
idle_end i1
ok $([ "${held:-0}" -ge 100 ] && echo 0 || echo 1) \
    "... while those connections were held open, not refused ($held of 300 still waiting)"
# more silent connections than may wait: the longest-waiting go first, so
# the new one, SNS's, is served (a lower descriptor limit makes room for 64)
P2=$(free_port)
(ulimit -n 160; exec "$B/relay/ses-feedback" -c "$T/ses.conf" -f -H "inet:$P2@127.0.0.1") \
    > "$T/fb2.out" 2>&1 &
FB2=$!
add_cleanup "kill $FB2 2>/dev/null"
wait_for 10 $PY -c "import socket; socket.create_connection(('127.0.0.1', $P2), 1)"
$SIGN bounce "$FIX/bounce-permanent.json" 0100-idle2 alice@sender.example \
    idle2@example.net fb-idle2 > "$T/idle2.note"
$SIGN envelope "$T/certs/key.pem" "$TOPIC" "$CERT_URL" sns-idle2 "$T/idle2.note" 1 > "$T/idle2.json"
idle 200 "$P2" i2
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: text/plain' \
    -H "x-amz-sns-message-type: Notification" --data-binary @"$T/idle2.json" "http://127.0.0.1:$P2/")
is "$code" 200 "with more silent connections than may wait, the oldest are dropped and SNS is served"
idle_end i2
ok $([ "${held:-200}" -lt 200 ] && echo 0 || echo 1) \
    "... ($held of 200 silent connections were still held: the others were dropped)"
"$B/relay/ses-suppress" -c "$T/ses.conf" check idle2@example.net >/dev/null 2>&1
is $? 0 "... and the notification was applied"
kill $FB2; wait $FB2 2>/dev/null

# replays: a signed notification is accepted only while seen.db would
# remember it (SeenRetention, 14 days by default, minus 5 minutes of clock
# difference); SignatureVersion 1 and 2 both verify
replay() { # replay NAME OFFSET VERSION: a fresh bounce for NAME@example.net
    $SIGN bounce "$FIX/bounce-permanent.json" "0100-$1" alice@sender.example \
        "$1@example.net" "fb-$1" > "$T/$1.note"
    SNS_TIMESTAMP_OFFSET=$2 $SIGN envelope "$T/certs/key.pem" "$TOPIC" "$CERT_URL" \
        "sns-$1" "$T/$1.note" "$3" > "$T/$1.json"
}
supp() { "$B/relay/ses-suppress" -c "$T/ses.conf" check "$1@example.net" >/dev/null 2>&1; }
replay old -1296000 2
is "$(post "$T/old.json")" 403 "a correctly signed notification published 15 days ago (after its seen key expired): 403"
supp old; is $? 1 "... and it changes nothing"
like "$(cat "$T/fb.log")" "sns-old from topic .* refused: Timestamp .* is older than SeenRetention" \
    "... logged as a possible replay"
replay ahead 3600 2
is "$(post "$T/ahead.json")" 403 "a notification dated an hour ahead of this host's clock: 403"
replay late -86400 2
is "$(post "$T/late.json")" 200 "a notification SNS retried for a day (SignatureVersion 2): applied"
supp late; is $? 0 "... its recipient is suppressed"
replay v1 -60 1
is "$(post "$T/v1.json")" 200 "SignatureVersion 1 (SHA1), as SNS still sends by default: applied"
is "$(post "$T/v1.json")" 200 "the same notification again within the window: 200, a duplicate"
like "$(cat "$T/fb.log")" "already applied; duplicate ignored" "... ignored as a duplicate"

# a unix socket for a TLS proxy on the same host: mode 0660, served like
# TCP, and a second ses-feedback does not take over a live socket
SOCK=$T/sns.sock
"$B/relay/ses-feedback" -c "$T/ses.conf" -f -H "unix:$SOCK" > "$T/fbu.out" 2>&1 &
FBU=$!
add_cleanup "kill $FBU 2>/dev/null"
wait_for 10 test -S "$SOCK"
is "$(stat -c %a "$SOCK" 2>/dev/null)" 660 "ses-feedback -H unix:PATH creates the socket with mode 0660"
code=$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$SOCK" -H 'Content-Type: text/plain' \
    -H 'x-amz-sns-message-type: Notification' --data-binary @"$T/forged.json" http://localhost/)
is "$code" 403 "... and answers over it (a forged notification: 403)"
"$B/relay/ses-feedback" -c "$T/ses.conf" -f -H "unix:$SOCK" > "$T/fbu2.out" 2>&1
[ $? -ne 0 ]; ok $? "a second ses-feedback -H on the live socket exits with an error"
like "$(cat "$T/fb.log")" "cannot listen: another process is listening on $SOCK" \
    "... logging that another process is listening"
test -S "$SOCK"; ok $? "... and leaves the first one's socket in place"
kill $FBU; wait $FBU 2>/dev/null
[ ! -e "$SOCK" ]; ok $? "the socket is removed on SIGTERM"
tap_done
