#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# What reaches SES through ses-relay pipe mode, both APIs, decoded by sesd:
# the message bytes (CRLF-normalised, nothing else changed), the
# destinations (exactly the envelope, Bcc included, split by 50), the
# configuration set and tags (config, overridden by the milter's headers,
# plus mta-host and mta-queue-id), the ARNs; retries, pacing, the v1 size
# limit, per-recipient splitting after a bad address, the repeated fields
# SES refuses (renamed), and no secret in any log line.
. "${top_srcdir:-.}/tests/lib.sh"
. "$top_srcdir/tests/sesd/lib.sh"
sesd_need
tmpdir_make
sesd_start; ok $? "sesd starts"
PY=$SESD_PY
sends() { sesd_py 'len([r for r in req if r["route"].startswith("ses-send")])'; }
# the message as SES must see it: bare LF -> CRLF, nothing else
crlf_sha() { $PY -c 'import hashlib,re,sys; d=open(sys.argv[1],"rb").read(); print(hashlib.sha256(re.sub(rb"(?<!\r)\n", b"\r\n", d)).hexdigest())' "$1"; }

# A message with everything that could be mangled: mixed line ends, a bare
# CR, 8-bit bytes, a long line, a lone dot, X-SES headers, no final newline.
$PY - "$T/odd.eml" <<'EOF'
import sys
body = (b"From: Sender <sender@example.com>\n"
        b"To: visible@example.net\r\n"
        b"Subject: =?utf-8?q?caf=C3=A9?=\n"
        b"X-SES-CONFIGURATION-SET: marketing\n"
        b"X-SES-MESSAGE-TAGS: team=billing, campaign=spring\n"
        b"MIME-Version: 1.0\n"
        b"Content-Type: text/plain; charset=iso-8859-1\n"
        b"Content-Transfer-Encoding: 8bit\n"
        b"\n"
        b"caf\xe9 and na\xefve\r\n"
        b"bare CR here:\rstill the same line\n"
        b".\n"
        b".. two dots\n" + b"x" * 990 + b"\n"
        b"no final newline")
open(sys.argv[1], "wb").write(body)
EOF

for api in v2 v1; do
    sesd_reset
    sesd_relay_conf "$T/$api.conf" "ApiVersion $api" "ConfigurationSet tx" \
        "MessageTags team:ops,env:prod" \
        "FromArn arn:aws:ses:us-east-1:123456789012:identity/example.com" \
        "SourceArn arn:aws:ses:us-east-1:123456789012:identity/source.example.com" \
        "ReturnPathArn arn:aws:ses:us-east-1:123456789012:identity/rp.example.com" \
        "FeedbackForwardingEmailAddress bounces@example.com"
    relay -f sender@example.com -q 4F3A2B1C0D -- visible@example.net hidden-bcc@example.org < "$T/odd.eml"
    is "$RC" 0 "$api: sent"
    is "$(sesd_py 'sent[0]["sha256"]')" "$(crlf_sha "$T/odd.eml")" \
       "$api: the bytes SES decodes are the input with LF->CRLF, nothing else"
    is "$(sesd_py 'sent[0]["destinations"]')" "['visible@example.net', 'hidden-bcc@example.org']" \
       "$api: destinations are the envelope recipients, Bcc included"
    is "$(sesd_py 'sent[0]["from"]')" "sender@example.com" "$api: the envelope sender is the SES source"
    is "$(sesd_py 'sent[0]["configuration_set"]')" marketing \
       "$api: X-SES-CONFIGURATION-SET overrides ConfigurationSet"
    is "$(sesd_py 'sorted(sent[0]["tags"].items())')" \
       "[('campaign', 'spring'), ('env', 'prod'), ('mta-host', '$(hostname | tr -c 'A-Za-z0-9_\n-' '-')'), ('mta-queue-id', '4F3A2B1C0D'), ('team', 'billing')]" \
       "$api: header tags override config tags; mta-host and mta-queue-id added"
done
is "$(sesd_py 'sorted(sent[0]["params"].items())')" \
   "[('FromArn', 'arn:aws:ses:us-east-1:123456789012:identity/example.com'), ('ReturnPathArn', 'arn:aws:ses:us-east-1:123456789012:identity/rp.example.com'), ('SourceArn', 'arn:aws:ses:us-east-1:123456789012:identity/source.example.com')]" \
   "v1: FromArn, SourceArn and ReturnPathArn are passed"
sesd_reset
RELAY_CONF=$T/v2.conf
relay -f sender@example.com -- a@example.net < "$T/odd.eml"
is "$(sesd_py 'sorted(sent[0]["params"].items())')" \
   "[('FeedbackForwardingEmailAddress', 'bounces@example.com'), ('FeedbackForwardingEmailAddressIdentityArn', 'arn:aws:ses:us-east-1:123456789012:identity/rp.example.com'), ('FromEmailAddressIdentityArn', 'arn:aws:ses:us-east-1:123456789012:identity/example.com')]" \
   "v2: FromEmailAddressIdentityArn and FeedbackForwardingEmailAddress[IdentityArn] are passed"

# invalid milter headers are ignored, config values stay
printf 'From: a@example.com\nX-SES-CONFIGURATION-SET: bad name!\nX-SES-MESSAGE-TAGS: team=a b\n\nx\n' > "$T/badhdr.eml"
sesd_reset
: > "$T/relay.log"
relay -f sender@example.com -q BADHDR -- a@example.net < "$T/badhdr.eml"
is "$(sesd_py '(sent[0]["configuration_set"], sent[0]["tags"]["team"])')" "('tx', 'ops')" \
   "invalid X-SES headers are ignored and the configured values used"
like "$(cat "$T/relay.log")" "BADHDR: ignoring invalid X-SES-CONFIGURATION-SET" "with a warning"

# the null sender: no source, SES takes the From header
sesd_reset
relay -f "" -- a@example.net < "$T/badhdr.eml"
is "$(sesd_py 'sent[0]["from"]')" None "the null sender sends no FromEmailAddress"

# splitting: 120 recipients -> 50 + 50 + 20, each once
sesd_reset
rcpts=$(i=1; while [ $i -le 120 ]; do printf 'r%03d@example.net ' $i; i=$((i + 1)); done)
relay -f sender@example.com -- $rcpts < "$T/badhdr.eml"
is "$RC" 0 "120 recipients: sent"
is "$(sesd_py '[len(s["destinations"]) for s in sent]')" "[50, 50, 20]" "in calls of 50, 50 and 20"
is "$(sesd_py '(lambda ds: len(ds) == len(set(ds)) == 120)([d for s in sent for d in s["destinations"]])')" \
   True "every recipient exactly once"
is "$(sesd_py 'len(set(r["conn"] for r in req))')" 1 "the three calls share one keep-alive connection"
sesd_reset
sesd_relay_conf "$T/per7.conf" "RecipientsPerCall 7"
relay -f sender@example.com -- $(echo $rcpts | cut -d' ' -f1-20) < "$T/badhdr.eml"
is "$(sesd_py '[len(s["destinations"]) for s in sent]')" "[7, 7, 6]" "RecipientsPerCall 7: calls of 7, 7, 6"

# one bad address among three: the others still go, alone
sesd_reset
sesd_state '{"bad_addresses": ["bad@example.net"]}'
RELAY_CONF=$T/v2.conf
relay -f sender@example.com -- good1@example.net bad@example.net good2@example.net < "$T/badhdr.eml"
is "$(sesd_py '[s["destinations"] for s in sent]')" "[['good1@example.net'], ['good2@example.net']]" \
   "after an Illegal address answer each recipient is sent alone; the good ones go"
is "$RC" 67 "and pipe mode reports the bad one (67, EX_NOUSER)"
like "$OUT" "^5\\.1\\.3 SES 400 BadRequestException: Illegal address" "with 5.1.3"

# SMTPUTF8 local part: refused before any call
sesd_reset
relay -f sender@example.com -- "$(printf 'j\303\274rgen@example.net')" < "$T/badhdr.eml"
is "$RC" 65 "a non-ASCII local part: 65 (EX_DATAERR)"
like "$OUT" "^5\\.6\\.7 .*non-ASCII local part" "with 5.6.7"
is "$(sends)" 0 "and no call to SES"

# v1 limit: 10 MB after base64, checked before sending
$PY -c 'import sys; sys.stdout.buffer.write(b"From: a@example.com\r\nSubject: big\r\n\r\n" + (b"y" * 998 + b"\r\n") * 8000)' > "$T/8m.eml"
$PY -c 'import sys; sys.stdout.buffer.write(b"From: a@example.com\r\nSubject: big\r\n\r\n" + (b"y" * 998 + b"\r\n") * 7300)' > "$T/7m.eml"
sesd_reset
RELAY_CONF=$T/v1.conf
relay -f sender@example.com -- a@example.net < "$T/8m.eml"
is "$RC" 65 "v1: 8 MB (10.7 MB in base64) is refused: 65"
like "$OUT" "^5\\.3\\.4 message is [0-9]+ bytes after CRLF and base64, over the 10485760-byte limit of the SES v1 API" \
     "with 5.3.4 and the reason"
is "$(sends)" 0 "without a call"
relay -f sender@example.com -- a@example.net < "$T/7m.eml"
is "$RC" 0 "v1: 7.3 MB (9.7 MB in base64) is sent"
is "$(sesd_py 'sent[0]["sha256"]')" "$(crlf_sha "$T/7m.eml")" "v1: the large message arrives intact"

# v2 limit: 40 MB after base64 (30 MiB of message), before any call too
$PY -c 'import sys; sys.stdout.buffer.write(b"From: a@example.com\r\nSubject: big\r\n\r\n" + (b"y" * 998 + b"\r\n") * 31500)' > "$T/31m.eml"
sesd_reset
RELAY_CONF=$T/v2.conf
relay -f sender@example.com -- a@example.net < "$T/31m.eml"
is "$RC" 65 "v2: 30.04 MiB (40.05 MiB in base64) is refused: 65"
like "$OUT" "^5\\.3\\.4 message is [0-9]+ bytes after CRLF and base64, over the 41943040-byte limit of the SES v2 API" \
     "with 5.3.4 and the reason"
is "$(sends)" 0 "without a call"

# never cut short: a message that fits MaxMessageSize with LF line ends
# but not once every LF is CRLF is refused, not sent without its end
$PY -c 'import sys; sys.stdout.buffer.write(b"From: a@example.com\nSubject: lf\n\n" + b"x" * 1000 + b"\n" * 1000 + b"the end\n")' > "$T/lf.eml"
sesd_relay_conf "$T/small.conf" "MaxMessageSize 2500"
relay -f sender@example.com -- a@example.net < "$T/lf.eml"
is "$RC" 65 "2041 bytes with LF, 3045 with CRLF, MaxMessageSize 2500: refused (65)"
like "$OUT" "^5\\.3\\.4 message size exceeds fixed limit" "with 5.3.4"
is "$(sends)" 0 "and nothing was sent cut short"
RELAY_CONF=$T/v1.conf

# retries
sesd_reset
RELAY_CONF=$T/v2.conf
: > "$T/relay.log"
sesd_fault '{"route": "ses-send-v2", "count": 2, "status": 429, "error": "TooManyRequestsException", "message": "Maximum sending rate exceeded."}'
relay -f sender@example.com -q RETRY1 -- a@example.net < "$T/badhdr.eml"
is "$RC" 0 "two throttles then success: delivered"
is "$(sends)" 3 "sesd saw three attempts"
is "$(sesd_py 'len(sent)')" 1 "and one message"
like "$(cat "$T/relay.log")" "RETRY1: SES attempt 2: SES 429 TooManyRequestsException: Maximum sending rate exceeded.; retrying in [0-9]+ ms" \
     "each retry is logged with its wait"
sesd_reset
# RetryTime 5s: a retry (the first within 250 ms) happens unless the first
# attempt alone took most of it, which no busy machine should make it do
sesd_relay_conf "$T/r1.conf" "RetryTime 5s"
sesd_fault '{"route": "ses-send-v2", "count": -1, "status": 503, "error": "ServiceUnavailable"}'
t0=$(date +%s%N)
relay -f sender@example.com -- a@example.net < "$T/badhdr.eml"
t1=$(date +%s%N)
is "$RC" 75 "503 beyond RetryTime: deferred (75)"
like "$OUT" "^4\\.3\\.0 SES 503 ServiceUnavailable" "with 4.3.0"
n=$(sends)
ok $([ "$n" -ge 2 ] && echo 0 || echo 1) "after $n attempts in $(( (t1 - t0) / 1000000 )) ms (RetryTime 5s)"
# a streamed body survives a reset in mid-upload: the retry rewinds it
sesd_reset
RELAY_CONF=$T/v2.conf
sesd_fault '{"count": 1, "reset_early": true}'
relay -f sender@example.com -- a@example.net < "$T/7m.eml"
is "$RC" 0 "a reset during a 9.7 MB upload is retried and delivered"
is "$(sesd_py 'sent[0]["sha256"]')" "$(crlf_sha "$T/7m.eml")" "and the retried body is whole"

# MaxSendRate: calls paced below the server's rate; without it, throttled.
# What is asserted holds on a busy machine too: the time limits are far
# beyond what a delivery needs (a slow run is not a failure), the server's
# bucket, like SES's, absorbs a burst of up to a second of calls (a late
# answer makes the next call follow at once), and the pacing check is a
# lower bound on the typical gap between calls, which load only lengthens.
# How fast it goes is bench/rate.sh's business.
median_gap='sorted(b["time"] - a["time"] for a, b in zip(req, req[1:]))[(len(req) - 1) // 2]'
sesd_reset
sesd_state '{"throttle_rate": 10}'
sesd_relay_conf "$T/rate.conf" "RecipientsPerCall 1" "MaxSendRate 10" \
    "RetryTime 120s" "ConnectTimeout 30s" "Timeout 60s"
relay -f sender@example.com -- $(echo $rcpts | cut -d' ' -f1-20) < "$T/badhdr.eml"
is "$RC" 0 "MaxSendRate 10 against a server throttling above 10/s: sent"
is "$(sesd_py 'len([r for r in req if r.get("fault") == "throttled"])')" 0 "never throttled"
gap=$(sesd_py "int($median_gap * 1000)")
ok $([ "$gap" -ge 90 ] && echo 0 || echo 1) "calls are paced (median gap $gap ms, 100 ms due)"
# pipe mode runs a process per delivery: four at once still keep one rate
# (the bucket is shared through DataDirectory/sendrate)
sesd_reset
sesd_state '{"throttle_rate": 10}'
for i in 1 2 3 4; do
    "$top_builddir/relay/ses-relay" -c "$T/rate.conf" -f sender@example.com -- \
        $(echo $rcpts | cut -d' ' -f$((i * 5 - 4))-$((i * 5))) < "$T/badhdr.eml" \
        > "$T/par.$i" 2>&1 &
    pids="${pids:-} $!"
done
prc=0
for p in $pids; do wait "$p" || prc=$?; done
is "$prc" 0 "MaxSendRate 10, four pipe-mode relays at once, 5 recipients each: all sent"
is "$(sesd_py 'len([r for r in req if r.get("fault") == "throttled"])')" 0 \
    "... never throttled: the four processes share one bucket"
gap=$(sesd_py "int($median_gap * 1000)")
ok $([ "$gap" -ge 90 ] && echo 0 || echo 1) "... together paced at 10/s (median gap $gap ms over 20 calls, 100 ms due)"
ls -l "$T/data/sendrate" > /dev/null 2>&1; ok $? "the shared bucket is DataDirectory/sendrate"
sesd_reset
sesd_state '{"throttle_rate": 5}'
sesd_relay_conf "$T/norate.conf" "RecipientsPerCall 1" "RetryTime 120s" \
    "ConnectTimeout 30s" "Timeout 60s"
relay -f sender@example.com -- $(echo $rcpts | cut -d' ' -f1-20) < "$T/badhdr.eml"
is "$RC" 0 "without MaxSendRate, a server throttling above 5/s still gets all 20 calls through retries"
like "$(sesd_py 'len([r for r in req if r.get("fault") == "throttled"])')" "^[1-9]" "after being throttled"

# repeats SES refuses although RFC 5322 allows them: a second DKIM-Signature
# and more Delivered-To fields are renamed X-Original-*, everything else
# reaches SES byte for byte; other repeats bounce (5.6.0), as SES says
sesd_reset
sesd_state '{"throttle_rate": 0, "refuse_duplicates": true}'
RELAY_CONF=$T/v2.conf
printf 'DKIM-Signature: v=1; d=ours.example; b=AAAA\nDelivered-To: list@example.org\nDelivered-To: fwd@example.net\nDKIM-Signature: v=1; d=upstream.example;\n\tb=BBBB\nFrom: a@example.com\nSubject: forwarded\n\nDelivered-To: in the body\n' > "$T/fwd.eml"
relay -f sender@example.com -q FWD1 -- a@example.net < "$T/fwd.eml"
is "$RC" 0 "two DKIM-Signature and two Delivered-To fields: SES takes the message"
is "$(sesd_py 'sent[-1]["raw"] == "DKIM-Signature: v=1; d=ours.example; b=AAAA\r\nDelivered-To: list@example.org\r\nX-Original-Delivered-To: fwd@example.net\r\nX-Original-DKIM-Signature: v=1; d=upstream.example;\r\n\tb=BBBB\r\nFrom: a@example.com\r\nSubject: forwarded\r\n\r\nDelivered-To: in the body\r\n"')" True \
   "... the newest of each kept, the others renamed X-Original-*, nothing else changed"
like "$(cat "$T/relay.log")" "FWD1: renamed 2 repeated DKIM-Signature/Delivered-To field" "... and the log says so"
printf 'Subject: one\nSubject: two\nFrom: a@example.com\n\nx\n' > "$T/twosubj.eml"
relay -f sender@example.com -- a@example.net < "$T/twosubj.eml"
like "$RC $OUT" "^65 5\\.6\\.0 SES 400 BadRequestException: Duplicate header 'Subject'\\.$" \
     "two Subject fields are not repaired: SES refuses the message, it bounces (5.6.0)"
sesd_state '{"refuse_duplicates": false}'

# no secret anywhere: key, signatures, in the log (debug level) or output
sigs=$(sesd_py '"\n".join(r["headers"]["authorization"].rsplit("=", 1)[1] for r in req if "authorization" in r["headers"])')
leaks=0 n=0
for s in "$SESD_SECRET" $sigs; do
    n=$((n + 1))
    if grep -qF -- "$s" "$T/relay.log"; then leaks=$((leaks + 1)); fi
    case "$OUT" in *"$s"*) leaks=$((leaks + 1)) ;; esac
done
is "$leaks" 0 "no secret key or request signature ($n checked) in the log or diagnostics"

tap_done
