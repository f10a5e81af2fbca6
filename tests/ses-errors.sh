#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Every SES error class through ses-relay pipe mode against sesd, for both
# APIs: the exit code Postfix's pipe(8) sees, the enhanced status code of
# the diagnostic, whether the error was retried, and the loud log line for
# the account-level stops an operator must fix. Each case on its own: the
# host-wide breakers are off here (tests/breaker.sh tests them), and the
# real answers of the corpus are replayed by tests/ses-answers.sh.
. "${top_srcdir:-.}/tests/lib.sh"
. "$top_srcdir/tests/sesd/lib.sh"
sesd_need
tmpdir_make
sesd_start; ok $? "sesd starts"
test_message errors > "$T/msg"

# API|name|status|code|message|exit|dsn|attempts (1: not retried, +: more)|loud
cat > "$T/cases" <<'EOF'
v2|content refused|400|MessageRejected|Illegal content.|69|5.7.1|1|
v1|content refused|400|InvalidParameterValue|Illegal content.|69|5.7.1|1|
v2|duplicate header|400|BadRequestException|Duplicate header 'Message-ID'.|65|5.6.0|1|
v1|duplicate header|400|InvalidParameterValue|Duplicate header 'Message-ID'.|65|5.6.0|1|
v2|unknown MessageRejected text|400|MessageRejected|Message rejected: virus detected|75|4.0.0|1|loud
v1|unknown MessageRejected text|400|MessageRejected|Message rejected: virus detected|75|4.0.0|1|loud
v1|account paused, as real SES says it|400|MessageRejected|Sending paused for this account. For more information, please check the inbox of the email address associated with your AWS account.|75|4.7.0|1|loud
v2|MAIL FROM domain not verified|400|MailFromDomainNotVerifiedException|MAIL FROM domain not verified|75|4.7.1|1|loud
v1|MAIL FROM domain not verified|400|MailFromDomainNotVerifiedException|MAIL FROM domain not verified|75|4.7.1|1|loud
v2|invalid address|400|BadRequestException|Illegal address|67|5.1.3|1|
v1|invalid address|400|InvalidParameterValue|Missing final '@domain'|67|5.1.3|1|
v2|message too large|400|BadRequestException|Message length is more than 41943040 bytes long: '50000000'.|65|5.3.4|1|
v1|message too large|400|InvalidParameterValue|Message length is more than 10485760 bytes long: '11000000'.|65|5.3.4|1|
v2|HTTP 413|413|RequestEntityTooLarge|too big|65|5.3.4|1|
v2|throttling 429|429|TooManyRequestsException|Too many requests|75|4.4.5|+|
v1|throttling: maximum sending rate|400|Throttling|Maximum sending rate exceeded.|75|4.4.5|+|
v2|ThrottlingException|400|ThrottlingException|Rate exceeded|75|4.4.5|+|
v1|daily quota|400|Throttling|Daily message quota exceeded.|75|4.4.5|1|loud
v2|LimitExceeded|400|LimitExceededException|Daily message quota exceeded|75|4.4.5|1|loud
v2|HTTP 500|500|InternalFailure|internal error|75|4.3.0|+|
v1|HTTP 503|503|ServiceUnavailable|Service is unavailable|75|4.3.0|+|
v2|HTTP 502 without AWS error|502|||75|4.3.0|+|
v2|signature does not match|403|SignatureDoesNotMatch|The request signature we calculated does not match|75|4.7.0|1|loud
v1|invalid client token|403|InvalidClientTokenId|The security token included in the request is invalid.|75|4.7.0|1|loud
v2|expired token|403|ExpiredTokenException|The security token included in the request is expired|75|4.3.5|1|loud
v2|access denied|403|AccessDeniedException|not authorized to perform ses:SendEmail|75|4.7.0|1|loud
v2|account sending paused|400|SendingPausedException|Sending is paused for this account.|75|4.7.0|1|loud
v1|account sending paused|400|AccountSendingPausedException|Email sending is disabled for your entire Amazon SES account.|75|4.7.0|1|loud
v2|configuration set paused|400|SendingPausedException|Sending is paused for this configuration set.|75|4.7.0|1|loud
v1|configuration set paused|400|ConfigurationSetSendingPausedException|Email sending is disabled for the configuration set.|75|4.7.0|1|loud
v2|configuration set missing|404|NotFoundException|Configuration set <tx> does not exist.|75|4.3.5|1|loud
v1|configuration set missing|400|ConfigurationSetDoesNotExist|Configuration set <tx> does not exist.|75|4.3.5|1|loud
v2|account suspended|400|AccountSuspendedException|The account is suspended.|75|4.7.0|1|loud
v1|identity not verified|400|MessageRejected|Email address is not verified. The following identities failed the check in region US-EAST-1: sender@example.com|75|4.7.1|1|loud
v2|unknown error|400|BrandNewException|something new|75|4.0.0|1|loud
v1|unknown parameter problem|400|InvalidParameterValue|Invalid ARN|75|4.0.0|1|loud
EOF

while IFS='|' read -r api name status code msg want_rc want_dsn attempts loud; do
    sesd_reset
    sesd_relay_conf "$T/$api.conf" "ApiVersion $api" "RetryTime 600ms" \
        "BreakerInterval 0"
    : > "$T/relay.log"
    sesd_fault "$($SESD_PY -c 'import json,sys; a=sys.argv; print(json.dumps({"route": "ses-send-" + a[1], "count": -1, "status": int(a[2]), "error": a[3], "message": a[4]}))' \
        "$api" "$status" "$code" "$msg")"
    relay -f sender@example.com -q ERR$api -- rcpt@example.net < "$T/msg"
    is "$RC" "$want_rc" "$api $name: exit $want_rc"
    like "$OUT" "^$(echo "$want_dsn" | sed 's/\./\\./g') " "$api $name: diagnostic $want_dsn"
    n=$(sesd_py 'len([r for r in req if r["route"].startswith("ses-send")])')
    if [ "$attempts" = 1 ]; then
        is "$n" 1 "$api $name: not retried"
    else
        ok $([ "$n" -ge 2 ] && echo 0 || echo 1) "$api $name: retried within RetryTime ($n attempts)"
    fi
    if [ -n "$loud" ]; then
        like "$(cat "$T/relay.log")" "error: ERR$api: .*SES [0-9]+ .*an operator must act" \
             "$api $name: a loud log line for the operator"
    fi
done < "$T/cases"

# transport failures
sesd_reset
sesd_relay_conf "$T/t.conf" "RetryTime 0" "Timeout 1s" "BreakerInterval 0"
sesd_fault '{"route": "*", "count": -1, "delay": 3}'
relay -f sender@example.com -- rcpt@example.net < "$T/msg"
is "$RC" 75 "timeout: exit 75"
like "$OUT" "^4\\.4\\.1 SES: timeout" "timeout: 4.4.1"
sesd_reset
sesd_fault '{"route": "*", "count": -1, "reset": true}'
relay -f sender@example.com -- rcpt@example.net < "$T/msg"
is "$RC" 75 "connection reset: exit 75"
like "$OUT" "^4\\.4\\.2 " "connection reset: 4.4.2"
sesd_reset
port=$(free_port)
sesd_relay_conf "$T/t.conf" "RetryTime 0" "Endpoint http://127.0.0.1:$port"
relay -f sender@example.com -- rcpt@example.net < "$T/msg"
is "$RC" 75 "connection refused: exit 75"
like "$OUT" "^4\\.4\\.1 SES: cannot connect" "connection refused: 4.4.1"
sesd_relay_conf "$T/t.conf" "RetryTime 0" "Endpoint https://ses-milter-test.invalid"
relay -f sender@example.com -- rcpt@example.net < "$T/msg"
is "$RC" 75 "DNS failure: exit 75"
like "$OUT" "^4\\.4\\.3 " "DNS failure: 4.4.3"
sesd_relay_conf "$T/t.conf" "RetryTime 0" "Endpoint https://127.0.0.1:$SESD_PORT"
relay -f sender@example.com -- rcpt@example.net < "$T/msg"
is "$RC" 75 "TLS failure (https to a plain-http server): exit 75"
like "$OUT" "^4\\.7\\.5 " "TLS failure: 4.7.5"
# TLS is always verified: a self-signed certificate is refused
if openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/key.pem" -out "$T/cert.pem" \
       -days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1; then
    $SESD_PY - "$T" <<'EOF' > "$T/tls.log" 2>&1 &
import http.server, ssl, sys
t = sys.argv[1]
srv = http.server.HTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(t + "/cert.pem", t + "/key.pem")
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
open(t + "/tls.port", "w").write(str(srv.server_address[1]))
srv.serve_forever()
EOF
    add_cleanup "kill $! 2>/dev/null"
    wait_for 10 test -s "$T/tls.port"
    sesd_relay_conf "$T/t.conf" "RetryTime 0" "Endpoint https://127.0.0.1:$(cat "$T/tls.port")"
    relay -f sender@example.com -- rcpt@example.net < "$T/msg"
    is "$RC" 75 "a server with a self-signed certificate: exit 75"
    like "$OUT" "^4\\.7\\.5 SES: TLS failure talking to Amazon SES: SSL certificate problem" \
         "the certificate is verified and refused (4.7.5)"
else
    skip "a server with a self-signed certificate" "openssl cannot make a certificate"
    skip "the certificate is verified and refused" "openssl cannot make a certificate"
fi
sesd_relay_conf "$T/t.conf" "Endpoint http://192.0.2.1:8080"
relay -f sender@example.com -- rcpt@example.net < "$T/msg"
is "$RC" 75 "an http:// Endpoint off loopback is a configuration error: exit 75"
like "$OUT" "^4\\.3\\.5 .*plain http:// is allowed only to loopback" "and says why (4.3.5)"

tap_done
