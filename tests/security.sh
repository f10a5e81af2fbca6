#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Security rules every program keeps (SECURITY.md):
#  - secrets (secret keys, session tokens, identity and container tokens,
#    SigV4 signatures) reach no log, diagnostic or file, on every error
#    path: refused signature, bad token, SES errors, container and STS
#    failures, SQS and SESv2 errors, LMTP and -f (stderr) logging;
#  - http:// only to loopback, TLS verification with no way to turn it off;
#  - a configuration file every user can write is refused (78 for -n, 75
#    with 4.3.5 in pipe mode: never a bounce); a credentials file others
#    can read is warned about;
#  - RequireSafeKeys refuses keys others can read;
#  - ses-relay -l and ses-feedback -H/-Q run as UserID after binding; the
#    LMTP socket is not open to everyone.
. "${top_srcdir:-.}/tests/lib.sh"
. "$top_srcdir/tests/sesd/lib.sh"
sesd_need
tmpdir_make
B=$top_builddir
PY=/usr/bin/python3
SECRET='secKeyAlpha/Bravo+Charlie0123456789ZuluYankee'
TOKEN='sessTokenIQoJb3JpZ2luX2VjEXAMPLEneverLoggedQQQ'
CTOKEN='containerAuthTokenNeverLogged77'
WTOKEN='webIdentityJwtNeverLogged.eyJzdWIiOiJ0ZXN0In0'
sesd_start --key "$SESD_AKID:$SESD_SECRET" --key "AKIDSECURITYTEST0001:$SECRET:$TOKEN"
ok $? "sesd starts"
Q=/123456789012/ses-feedback
mkdir -p "$T/out"
run() { # run NAME CMD...: stdout+stderr to $T/out/NAME, RC
    _n=$1; shift
    "$@" > "$T/out/$_n" 2>&1 < "${IN:-/dev/null}"; RC=$?
}
test_message x > "$T/msg"
sesd_relay_conf --no-creds "$T/env.conf" "DataDirectory $T/data" \
    "FeedbackQueueUrl $SESD_URL$Q" "RetryTime 1s" "LogFile $T/relay.log"
R="$B/relay/ses-relay"
: > "$T/sigs"
# every SigV4 signature sesd saw, kept across resets
collect_sigs() {
    sesd_requests | $PY -c '
import json, re, sys
for r in json.load(sys.stdin):
    m = re.search(r"Signature=([0-9a-f]{64})", r.get("headers", {}).get("authorization", ""))
    if m: print(m.group(1))' >> "$T/sigs"
}
sreset() { collect_sigs; sesd_reset; }
# uid_is PID UID: waits (bounded) until PID's real uid is UID - a daemon
# drops privileges after it opened its socket, however busy the machine
uid_is() { wait_for 10 sh -c "awk '/^Uid:/ { print \$2 }' /proc/$1/status | grep -qx '$2'"; }

# ---- error paths, each with a known secret in play ----
export AWS_ACCESS_KEY_ID=AKIDSECURITYTEST0001 AWS_SECRET_ACCESS_KEY="$SECRET" AWS_SESSION_TOKEN="$TOKEN"
IN=$T/msg run ok "$R" -c "$T/env.conf" -f a@example.com -q SEC1 -- b@example.net
is "$RC" 0 "the right key and token: sent"
AWS_SESSION_TOKEN="${TOKEN}X" IN=$T/msg run badtoken "$R" -c "$T/env.conf" -f a@example.com -- b@example.net
is "$RC" 75 "a wrong (expired) session token: deferred"
AWS_SECRET_ACCESS_KEY="${SECRET}X" IN=$T/msg run badsig "$R" -c "$T/env.conf" -f a@example.com -- b@example.net
like "$(cat "$T/out/badsig")" "^4\\.7\\.0 SES 403 SignatureDoesNotMatch" "a refused signature: 4.7.0"
for f in '{"route": "ses-send-v2", "count": 1, "status": 400, "error": "MessageRejected", "message": "no"}' \
         '{"route": "ses-send-v2", "count": -1, "status": 500, "error": "InternalFailure", "message": "x"}' \
         '{"route": "ses-send-v2", "count": -1, "status": 403, "error": "ExpiredTokenException", "message": "The security token included in the request is expired"}'; do
    sreset; sesd_fault "$f"
    IN=$T/msg run "ses-$(printf '%s' "$f" | md5sum | cut -c1-6)" "$R" -c "$T/env.conf" -f a@example.com -- b@example.net
done
sreset
ok 0 "SES errors: rejected, 500, expired token"
# LMTP mode, logging to stderr (-F)
sed '/^LogFile/d' "$T/env.conf" > "$T/lmtp.conf"
"$R" -F -c "$T/lmtp.conf" -l "unix:$T/lmtp.sock" > "$T/out/lmtp-stderr" 2>&1 &
LP=$!
add_cleanup "kill $LP 2>/dev/null"
wait_for 10 test -S "$T/lmtp.sock"
sesd_fault '{"route": "ses-send-v2", "count": 1, "status": 403, "error": "SignatureDoesNotMatch", "message": "bad"}'
swaks --protocol LMTP --socket "$T/lmtp.sock" --from a@example.com --to b@example.net \
    > "$T/out/lmtp-client" 2>&1
swaks --protocol LMTP --socket "$T/lmtp.sock" --from a@example.com --to b@example.net \
    >> "$T/out/lmtp-client" 2>&1
like "$(cat "$T/out/lmtp-client")" "250 2\\.0\\.0" "LMTP mode (-F, stderr) delivers after an error"
kill $LP
# ses-feedback -Q -f with SQS refusing
sesd_fault '{"route": "sqs", "count": 2, "status": 403, "error": "InvalidClientTokenId", "message": "bad", "protocol": "json-type"}'
timeout 4 "$B/relay/ses-feedback" -c "$T/lmtp.conf" -Q -f > "$T/out/feedback" 2>&1
ok 0 "ses-feedback -Q -f ran against a refusing SQS"
# ses-suppress sync with SESv2 failing
sesd_fault '{"route": "*", "count": 3, "status": 500, "error": "InternalFailure", "message": "x"}'
run sync "$B/relay/ses-suppress" -c "$T/env.conf" sync
sreset
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN
# container credentials with an authorization token, the endpoint failing
sesd_relay_conf --no-creds "$T/nc.conf" "DataDirectory $T/data" "RetryTime 1s" "LogFile $T/relay.log"
sesd_fault '{"route": "container-creds", "count": -1, "status": 500, "error": "InternalError", "message": "x"}'
AWS_CONTAINER_CREDENTIALS_FULL_URI="$SESD_URL/container/v2/credentials/abc" \
AWS_CONTAINER_AUTHORIZATION_TOKEN="$CTOKEN" IN=$T/msg run container "$R" -c "$T/nc.conf" -f a@example.com -- b@example.net
is "$RC" 75 "container credentials endpoint failing: deferred"
sreset
sesd_state "{\"container_token\": \"other\"}"
AWS_CONTAINER_CREDENTIALS_FULL_URI="$SESD_URL/container/v2/credentials/abc" \
AWS_CONTAINER_AUTHORIZATION_TOKEN="$CTOKEN" IN=$T/msg run container2 "$R" -c "$T/nc.conf" -f a@example.com -- b@example.net
is "$RC" 75 "container credentials refusing the token: deferred"
# STS refusing the web identity token
printf '%s\n' "$WTOKEN" > "$T/wtoken"; chmod 600 "$T/wtoken"
sesd_state '{"sts_token": "somethingElse"}'
AWS_WEB_IDENTITY_TOKEN_FILE="$T/wtoken" AWS_ROLE_ARN=arn:aws:iam::123456789012:role/r \
AWS_ENDPOINT_URL_STS="$SESD_URL" IN=$T/msg run sts "$R" -c "$T/nc.conf" -f a@example.com -- b@example.net
is "$RC" 75 "STS refusing the identity token: deferred"
sreset
# a config error in a file holding a secret-looking value
printf 'Region us-east-1\nEndpoint %s\nBogusKey %s\n' "$SESD_URL" "notASecret" > "$T/bad.conf"
IN=$T/msg run conferr "$R" -c "$T/bad.conf" -f a@example.com -- b@example.net
is "$RC" 75 "a configuration error in pipe mode: 75"

# every SigV4 signature sesd saw, and the secrets and their halves
collect_sigs
sort -u -o "$T/sigs" "$T/sigs"
for s in "$SECRET" "$TOKEN" "$CTOKEN" "$WTOKEN"; do
    h=$((${#s} / 2))
    printf '%s\n' "$s" "$(printf '%s' "$s" | cut -c1-$h)" "$(printf '%s' "$s" | cut -c$((h + 1))-)"
done > "$T/needles"
cat "$T/sigs" >> "$T/needles"
ok $([ "$(wc -l < "$T/sigs")" -ge 5 ] && echo 0 || echo 1) "signatures to look for: $(wc -l < "$T/sigs")"
# everything the programs wrote: outputs, the LogFile, the DataDirectory
find "$T/out" "$T/relay.log" "$T/data" -type f > "$T/files"
leaks=$(xargs grep -a -l -F -f "$T/needles" < "$T/files" 2>/dev/null)
is "$leaks" "" "no secret, secret half, token or signature in any output, log or data file"
like "$(cat "$T/relay.log")" "using AWS credentials AKID\\.\\.\\.0001" "keys are named by their access key id, shortened"

# ---- http:// only to loopback; TLS verification cannot be turned off ----
printf 'Region us-east-1\nEndpoint http://192.0.2.10:8080\nSocket unix:%s/m.sock\n' "$T" > "$T/http.conf"
out=$("$B/milter/ses-milter" -n -c "$T/http.conf" 2>&1); rc=$?
is "$rc" 78 "http:// to a non-loopback address: -n exits 78"
like "$out" "http\\.conf:2: .*plain http:// is allowed only to loopback" "... naming file:line"
IN=$T/msg run http "$R" -c "$T/http.conf" -f a@example.com -- b@example.net
is "$RC" 75 "... and ses-relay in pipe mode defers (75)"
like "$(cat "$T/out/http")" "^4\\.3\\.5 " "... with 4.3.5"
is "$(grep -rEn 'VERIFY(PEER|HOST|STATUS)?, *0' "$top_srcdir/src" "$top_srcdir/relay" "$top_srcdir/milter" --include='*.c')" "" \
    "no code path sets CURLOPT_SSL_VERIFY* to 0"
is "$("$B/tests/conf-keys" 2>/dev/null | grep -Ei 'insecure|verify(peer|host|tls)|tlsverify|skip.*(tls|cert)|cacert')" "" \
    "no configuration key turns TLS verification off"
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout "$T/tls.key" \
    -out "$T/tls.crt" -days 1 2>/dev/null
TLS_PORT=$(free_port)
$PY -c '
import http.server, ssl, sys
s = http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), http.server.BaseHTTPRequestHandler)
c = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); c.load_cert_chain(sys.argv[2], sys.argv[3])
s.socket = c.wrap_socket(s.socket, server_side=True)
s.serve_forever()' "$TLS_PORT" "$T/tls.crt" "$T/tls.key" 2>/dev/null &
TP=$!
add_cleanup "kill $TP 2>/dev/null"
wait_for 10 sh -c "exec 3<>/dev/tcp/127.0.0.1/$TLS_PORT" 2>/dev/null
sesd_relay_conf "$T/tls.conf" "Endpoint https://127.0.0.1:$TLS_PORT" "RetryTime 0" "LogFile $T/tls.log"
SSL_CERT_FILE=$T/tls.crt CURL_CA_BUNDLE=$T/tls.crt IN=$T/msg run tls "$R" -c "$T/tls.conf" -f a@example.com -- b@example.net
is "$RC" 75 "a self-signed certificate is refused (deferred), whatever the environment says"
like "$(cat "$T/out/tls")" "^4\\.[0-9]\\.[0-9] .*(certificate|SSL|TLS)" "... and the diagnostic says it is the certificate"

# ---- file permissions ----
sesd_relay_conf "$T/ww.conf"
chmod 666 "$T/ww.conf"
printf 'Socket unix:%s/m.sock\n' "$T" >> "$T/ww.conf"
out=$("$B/milter/ses-milter" -n -c "$T/ww.conf" 2>&1); rc=$?
is "$rc" 78 "a configuration file every user can write: ses-milter -n exits 78"
like "$out" "ww\\.conf: refused: the file is writable by every user" "... with a clear file: message"
IN=$T/msg run ww "$R" -c "$T/ww.conf" -f a@example.com -- b@example.net
is "$RC" 75 "... ses-relay in pipe mode defers it (75), never bounces"
like "$(cat "$T/out/ww")" "^4\\.3\\.5 .*writable by every user" "... with 4.3.5 and the reason"
run wwl "$R" -c "$T/ww.conf" -l "unix:$T/ww.sock"
is "$RC" 78 "... and ses-relay -l does not start (78)"
run wwf "$B/relay/ses-feedback" -c "$T/ww.conf" -Q
is "$RC" 78 "... nor ses-feedback (78)"
chmod 644 "$T/ww.conf"
out=$("$B/milter/ses-milter" -n -c "$T/ww.conf" 2>&1); rc=$?
is "$rc" 0 "the same file with mode 0644 is accepted"

sesd_relay_conf "$T/cr.conf" "LogFile $T/cr.log"
chmod 644 "$T/aws-credentials"
IN=$T/msg run cr "$R" -c "$T/cr.conf" -f a@example.com -- b@example.net
is "$RC" 0 "a credentials file others can read still works (no mail stops)"
like "$(cat "$T/cr.log")" "aws-credentials: credentials file is accessible by group or others \\(mode 0644\\)" \
    "... but is warned about"
chmod 600 "$T/aws-credentials"; : > "$T/cr.log"
IN=$T/msg run cr2 "$R" -c "$T/cr.conf" -f a@example.com -- b@example.net
is "$(grep -c 'accessible by group or others' "$T/cr.log")" 0 "mode 0600: no warning"

# ---- files that steer mail: nobody but root and us may change them ----
openssl genpkey -algorithm ed25519 -out "$T/sk.pem" 2>/dev/null; chmod 600 "$T/sk.pem"
printf 'sender *@a.example set=x\n' > "$T/rules"
printf 'k1 example.com:s1:%s\n' "$T/sk.pem" > "$T/keytable"
printf '*@example.com k1\n' > "$T/signingtable"
printf 'Socket unix:%s/m.sock\nRulesFile %s\nKeyTable file:%s\nSigningTable refile:%s\n' \
    "$T" "$T/rules" "$T/keytable" "$T/signingtable" > "$T/steer.conf"
steer() { out=$("$B/milter/ses-milter" -n -c "$T/steer.conf" 2>&1); rc=$?; }
steer; is "$rc" 0 "RulesFile, KeyTable and SigningTable root's, mode 0644: accepted"
for f in rules keytable signingtable; do
    chmod 666 "$T/$f"; steer; chmod 644 "$T/$f"
    is "$rc" 78 "a $f every user can write is refused (78)"
    like "$out" "$f: refused: the file is writable by every user" "... saying which file and why"
done
chgrp "$(id -gn nobody)" "$T/rules"; chmod 664 "$T/rules"; steer
is "$rc" 78 "a RulesFile writable by a group with other members is refused"
like "$out" "rules: refused: the file is writable by group $(id -gn nobody), which has other members \\(e.g. \"[a-z]" \
    "... naming the group and a member"
chgrp root "$T/rules"; chmod 644 "$T/rules"
chown nobody "$T/keytable"; steer; chown root "$T/keytable"
is "$rc" 78 "a KeyTable that belongs to another user (nobody) is refused when root reads it"
like "$out" "keytable: refused: the file belongs to user nobody" "... saying whose it is"
mkdir -p "$T/open"; chmod 777 "$T/open"; cp "$T/signingtable" "$T/open/st"
sed "s|refile:$T/signingtable|refile:$T/open/st|" "$T/steer.conf" > "$T/steer2.conf"
out=$("$B/milter/ses-milter" -n -c "$T/steer2.conf" 2>&1); rc=$?
is "$rc" 78 "a SigningTable in a directory every user can write is refused (it could be replaced)"
like "$out" "open/st: refused: the file is in directory $T/open, which is writable by every user" "... naming the directory"
chmod 1777 "$T/open"
out=$("$B/milter/ses-milter" -n -c "$T/steer2.conf" 2>&1); rc=$?
is "$rc" 0 "... but one with the sticky bit (like /tmp) is fine for a file root owns"
chmod 755 "$T/open"

# the Sendmail program ses-feedback runs for DSNs: not if others can change it
printf '#!/bin/sh\ntouch %s/sm-ran\ncat >/dev/null\n' "$T" > "$T/sm"; chmod 757 "$T/sm"
printf 'DataDirectory %s/fbdata\nSendmail %s/sm\n' "$T" "$T" > "$T/fb.conf"
$PY "$top_srcdir/tests/integration/sns_sign.py" bounce "$top_srcdir/tests/data/feedback/bounce-permanent.json" \
    0100-sec1 alice@sender.example victim@example.net fb-sec1 > "$T/bounce.json"
out=$("$B/relay/ses-feedback" -c "$T/fb.conf" -F "$T/bounce.json" 2>&1)
[ ! -e "$T/sm-ran" ]; ok $? "a Sendmail program every user can write is not run (the DSN waits in the outbox)"
like "$out" "sm: refused: the file is writable by every user" "... saying why"
chmod 755 "$T/sm"
$PY "$top_srcdir/tests/integration/sns_sign.py" bounce "$top_srcdir/tests/data/feedback/bounce-permanent.json" \
    0100-sec2 alice@sender.example victim2@example.net fb-sec2 > "$T/bounce2.json"
out=$("$B/relay/ses-feedback" -c "$T/fb.conf" -F "$T/bounce2.json" 2>&1); rc=$?
is "$rc.$(test -e "$T/sm-ran" && echo ran)" "0.ran" "once only root can change it, DSNs go out"

# LMTP inet sockets: loopback only (anyone who connects sends through SES)
printf 'Region us-east-1\nRelaySocket inet:2424@0.0.0.0\n' > "$T/lmtp-any.conf"
out=$("$B/milter/ses-milter" -n -c "$T/lmtp-any.conf" 2>&1); rc=$?
is "$rc" 78 "RelaySocket inet:2424@0.0.0.0: -n exits 78"
like "$out" "lmtp-any\\.conf:2: .*allowed only on loopback addresses" "... naming file:line"
LP=$(free_port)
printf 'Region us-east-1\nDataDirectory %s/data\n' "$T" > "$T/lmtp-l.conf"
run lmtpany "$R" -F -c "$T/lmtp-l.conf" -l "inet:$LP@0.0.0.0"
is "$RC" 78 "ses-relay -l inet:PORT@0.0.0.0 does not start (78)"
like "$(cat "$T/out/lmtpany")" "LMTP inet sockets are allowed only on loopback addresses" "... saying why"
printf 'Socket inet:%s@0.0.0.0\n' "$LP" > "$T/milter-any.conf"
out=$("$B/milter/ses-milter" -n -c "$T/milter-any.conf" 2>&1); rc=$?
is "$rc" 0 "the milter's Socket off loopback is allowed (Postfix may be on another host)"
like "$out" "warning: Socket is not on a loopback address: whoever can connect" "... with a warning"

# RequireSafeKeys (default yes)
openssl genpkey -algorithm ed25519 -out "$T/k.pem" 2>/dev/null
mk() { printf 'Socket unix:%s/m.sock\nDomain example.com\nSelector s1\nKeyFile %s\n%s\n' "$T" "$T/k.pem" "$1" > "$T/k.conf"; }
mk ""; chmod 604 "$T/k.pem"
out=$("$B/milter/ses-milter" -n -c "$T/k.conf" 2>&1); rc=$?
is "$rc" 78 "RequireSafeKeys (default): a key other users can read is refused"
chgrp nogroup "$T/k.pem"; chmod 640 "$T/k.pem"
out=$("$B/milter/ses-milter" -n -c "$T/k.conf" 2>&1); rc=$?
is "$rc" 78 "... so is a key readable by a group with other members (nogroup: nobody)"
like "$out" "readable or writable by group" "... saying which group"
mk "RequireSafeKeys no"
out=$("$B/milter/ses-milter" -n -c "$T/k.conf" 2>&1); rc=$?
is "$rc" 0 "RequireSafeKeys no accepts it"
like "$out" "readable or writable by group.*RequireSafeKeys no: used anyway" "... and warns, as opendkim does"
chmod 600 "$T/k.pem"; mk ""
out=$("$B/milter/ses-milter" -n -c "$T/k.conf" 2>&1); rc=$?
is "$rc" 0 "a key only its owner can read is accepted"
# as strict as opendkim's dkimf_securefile: the group may hold nobody but
# root and the milter's user, the key belongs to one of them, and no
# directory above it lets anyone else replace it
if [ "$(id -u)" -eq 0 ] && id nobody >/dev/null 2>&1 && id daemon >/dev/null 2>&1; then
    G=$(id -gn daemon)   # the primary group of user daemon: it has a member
    mkdir -p "$T/kd"; cp "$T/k.pem" "$T/kd/k.pem"
    km() { printf 'Socket unix:%s/m.sock\nDomain example.com\nSelector s1\nKeyFile %s\nUserID %s\n' \
        "$T" "$T/kd/k.pem" "$1" > "$T/k2.conf"; out=$("$B/milter/ses-milter" -n -c "$T/k2.conf" 2>&1); rc=$?; }
    chown nobody "$T/kd/k.pem"; chmod 600 "$T/kd/k.pem"
    km nobody; is "$rc" 0 "a key of the milter's user (UserID nobody), mode 0600: accepted"
    chown nobody:root "$T/kd/k.pem"; chmod 640 "$T/kd/k.pem"
    km nobody
    is "$rc" 0 "a key readable by a group with no member but root and the milter's user (root, 0640): accepted"
    chown root:"$G" "$T/kd/k.pem"; chmod 640 "$T/kd/k.pem"
    km "nobody:$G"
    is "$rc" 78 "a key readable by a group the milter's user is in but which has another member: refused"
    like "$out" "is readable or writable by group $G, which has other members \\(e.g. \"daemon\"\\)" \
        "... naming the other member (as a Debian postinst that puts postfix in the group would make it)"
    chown daemon:nogroup "$T/kd/k.pem"; chmod 600 "$T/kd/k.pem"
    km nobody
    is "$rc" 78 "a key that belongs to another user (daemon) is refused"
    like "$out" "k.pem belongs to user daemon" "... naming the owner"
    chown nobody:root "$T/kd/k.pem"; chmod 777 "$T/kd"
    km nobody
    is "$rc" 78 "a key in a directory every user can write (it could be replaced) is refused"
    like "$out" "k.pem is in directory $T/kd, which is writable by every user" "... naming the directory"
    chmod 755 "$T/kd"
else
    for i in 1 2 3 4 5 6 7 8; do skip "RequireSafeKeys as strict as opendkim's $i" "needs root, nobody and daemon"; done
fi

# ---- privileges: UserID after binding; the LMTP socket's mode ----
if [ "$(id -u)" -eq 0 ]; then
    mkdir -p "$T/udata"; chown nobody "$T/udata"
    sesd_relay_conf "$T/u.conf" "DataDirectory $T/udata" "UserID nobody" \
        "FeedbackQueueUrl $SESD_URL$Q" "LogFile $T/u.log"
    chmod 644 "$T/aws-credentials"; touch "$T/u.log"; chmod 666 "$T/u.log"
    (ulimit -c unlimited 2>/dev/null; exec "$R" -F -c "$T/u.conf" -l "unix:$T/u.sock") \
        > "$T/u-relay.out" 2>&1 &
    UP=$!
    add_cleanup "kill $UP 2>/dev/null"
    wait_for 10 test -S "$T/u.sock"
    uid_is $UP "$(id -u nobody)" # the socket comes before the drop
    is "$(awk '/^Uid:/ {print $2, $3, $4, $5}' /proc/$UP/status)" \
        "$(id -u nobody) $(id -u nobody) $(id -u nobody) $(id -u nobody)" \
        "ses-relay -l runs as UserID (real, effective, saved, fs uid)"
    is "$(stat -c %a "$T/u.sock")" 660 "the LMTP socket is 0660 by default (no access for others)"
    # a non-dumpable process's /proc/PID belongs to root, not to its user
    is "$(stat -c %U /proc/$UP/mem) $(awk '/^Max core file size/ {print $5}' /proc/$UP/limits)" \
        "root 0" "ses-relay is not dumpable after dropping to UserID (no core with its secrets; core size 0)"
    kill $UP; wait $UP 2>/dev/null
    { cat "$T/u.conf"; echo "EnableCoredumps yes"; } > "$T/u-core.conf"
    "$R" -F -c "$T/u-core.conf" -l "unix:$T/u.sock" > "$T/u-relay2.out" 2>&1 &
    UP=$!
    add_cleanup "kill $UP 2>/dev/null"
    wait_for 10 test -S "$T/u.sock"
    uid_is $UP "$(id -u nobody)"
    is "$(stat -c %U /proc/$UP/mem)" nobody "with EnableCoredumps yes it stays dumpable as UserID"
    kill $UP
    HP=$(free_port)
    "$B/relay/ses-feedback" -f -c "$T/u.conf" -H "inet:$HP@127.0.0.1" > "$T/u-fb.out" 2>&1 &
    FP=$!
    add_cleanup "kill $FP 2>/dev/null"
    wait_for 10 sh -c "exec 3<>/dev/tcp/127.0.0.1/$HP" 2>/dev/null
    uid_is $FP "$(id -u nobody)"
    is "$(awk '/^Uid:/ {print $2, $3}' /proc/$FP/status)" "$(id -u nobody) $(id -u nobody)" \
        "ses-feedback -H runs as UserID after binding"
    kill $FP
    "$B/relay/ses-feedback" -f -c "$T/u.conf" -Q > "$T/u-q.out" 2>&1 &
    FQ=$!
    add_cleanup "kill $FQ 2>/dev/null"
    uid_is $FQ "$(id -u nobody)"
    is "$(awk '/^Uid:/ {print $2}' /proc/$FQ/status 2>/dev/null)" "$(id -u nobody)" \
        "ses-feedback -Q runs as UserID"
    kill $FQ
else
    skip "UserID" "not root"
fi
tap_done
