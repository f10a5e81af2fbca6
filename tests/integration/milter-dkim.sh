#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# DKIM through real Postfix: ses-milter signs (KeyTable + refile:
# SigningTable, RSA-2048 and Ed25519), ses-relay sends the message to sesd
# (the test SES server keeps the raw bytes), and dkimpy - an independent
# verifier, the public key given through dnsfunc, no DNS - checks the
# signature after the message is changed the way Amazon SES changes it:
# new Message-ID and Date, X-SES-* headers removed, SES's own headers added;
# also on forwarded mail whose second DKIM-Signature and Delivered-To
# ses-relay renamed so that SES takes it.
. "${top_srcdir:-.}/tests/lib.sh"
. "$top_srcdir/tests/integration/postfix.sh"
. "$top_srcdir/tests/integration/harness.sh"
. "$top_srcdir/tests/integration/milter_lib.sh"
pf_need_root
tmpdir_make
$PY -c "import dkim" 2>/dev/null || tap_skip_all "dkimpy missing (Debian package python3-dkim)"

mkdir -p "$T/keys"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/keys/rsa.pem" 2>/dev/null
openssl genpkey -algorithm ed25519 -out "$T/keys/ed.pem" 2>/dev/null
chmod 600 "$T/keys/"*.pem
rsa_pub=$(openssl pkey -in "$T/keys/rsa.pem" -pubout -outform DER 2>/dev/null | base64 -w0)
ed_pub=$(openssl pkey -in "$T/keys/ed.pem" -pubout -outform DER 2>/dev/null | tail -c 32 | base64 -w0)
cat > "$T/keytable" <<KT
s1._domainkey.example.com  example.com:s1:$T/keys/rsa.pem
ed._domainkey.ed.example   ed.example:ed:$T/keys/ed.pem
KT
cat > "$T/signingtable" <<'ST'
*@example.com  s1._domainkey.example.com
*@ed.example   ed._domainkey.ed.example
ST

sesd_start; ok $? "sesd (test SES server) starts"
ses_conf "$T/ses.conf" "KeyTable file:$T/keytable" \
    "SigningTable refile:$T/signingtable" "ConfigurationSet signed"
milter_start "$T/ses.conf"; ok $? "ses-milter starts with two keys"
wait_for 10 grep -q "DKIM key(s)" "$T/ses.log" # the line follows the socket
like "$(cat "$T/ses.log")" "2 DKIM key\\(s\\)" "both keys are loaded at start"
pf_with_ses "$T/ses.conf"
# local submissions (sendmail(1), pickup) pass the milter too, and a second
# smtpd listens on 127.0.0.2, a client address outside TrustedHosts: the
# internet, as far as the milter can tell
pf_set "non_smtpd_milters = unix:$T/milter.sock"
pf_service "127.0.0.2:$PF_PORT inet n - n - - smtpd"
pf_start; ok $? "Postfix starts"

# verify N PUB KIND SELECTOR [tamper]: dkimpy's verdict on the Nth message
# sesd received, rewritten as SES delivers it (milter_lib.sh)
verify() {
    sesd_raw "$1" > "$T/raw$1.eml"
    dkim_verify_as_ses "$T/raw$1.eml" "$2" "$3" "$4" "${5:-}"
}

pf_send "Alice <alice@example.com>" bob@example.net --header "Subject: signed with RSA" \
    --header "X-SES-MESSAGE-TAGS: campaign=fall" --body "Hello Bob,

this line and the next are signed.
-- 
Alice" >/dev/null
pf_wait_empty 30 && wait_for 10 sh -c "[ \$(curl -sf http://127.0.0.1:$SES_PORT/_sent | $PY -c 'import json,sys; print(len(json.load(sys.stdin)))') -ge 1 ]"
ok $? "the RSA-signed message reaches SES"
sig=$(sesd_raw 0 | $PY -c '
import sys, email
m = email.message_from_string(sys.stdin.read())
print(" ".join(m.get("DKIM-Signature", "MISSING").split()))')
like "$sig" "d=example.com; s=s1;" "DKIM-Signature names d=example.com s=s1"
like "$sig" "a=rsa-sha256; c=relaxed/relaxed;" "rsa-sha256 with relaxed/relaxed"
h=$(printf '%s' "$sig" | sed -n 's/.*h=\([^;]*\);.*/\1/p' | tr -d ' ')
unlike_h=$(printf '%s' "$h" | tr ':' '\n' | grep -ciE '^(date|message-id|return-path|bounces-to|x-ses-.*)$')
is "$unlike_h" 0 "h= has no Date, Message-ID, Return-Path, Bounces-To or X-SES-* ($h)"
is "$(printf '%s' "$h" | tr ':' '\n' | grep -ci '^from$')" 2 \
    "From is oversigned (listed once more than it occurs)"
is "$(verify 0 "$rsa_pub" rsa s1)" valid \
    "dkimpy verifies the RSA signature after SES's rewrites"
is "$(verify 0 "$rsa_pub" rsa s1 tamper)" invalid \
    "and rejects it when a signed header changed (the check can fail)"

pf_send "Bob <bob@ed.example>" carol@example.net --header "Subject: signed with Ed25519" >/dev/null
pf_wait_empty 30 && wait_for 10 sh -c "[ \$(curl -sf http://127.0.0.1:$SES_PORT/_sent | $PY -c 'import json,sys; print(len(json.load(sys.stdin)))') -ge 2 ]"
ok $? "the Ed25519-signed message reaches SES"
is "$(verify 1 "$ed_pub" ed25519 ed)" valid \
    "dkimpy verifies the Ed25519 signature after SES's rewrites"

pf_send "Eve <eve@unsigned.example>" carol@example.net --header "Subject: no key" >/dev/null
pf_wait_empty 30 && wait_for 10 sh -c "[ \$(curl -sf http://127.0.0.1:$SES_PORT/_sent | $PY -c 'import json,sys; print(len(json.load(sys.stdin)))') -ge 3 ]"
like "$(sesd_raw 2 | grep -ci '^DKIM-Signature:')" "^0$" \
    "mail from a domain without a key is sent unsigned"

# Forwarded mail: an upstream signer's DKIM-Signature and two Delivered-To
# fields, which SES refuses to see twice (sesd now does too). ses-milter
# adds its signature on top; ses-relay renames the older repeats
# X-Original-*; SES takes the message and ours still verifies after SES's
# rewrites.
curl -sf -X POST --data '{"refuse_duplicates": true}' "http://127.0.0.1:$SES_PORT/_control/state" >/dev/null
printf '%s\r\n' "Delivered-To: alice-fwd@example.com" "Delivered-To: alice@old.example" \
    "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=upstream.example;" \
    " s=up; h=from:subject; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;" \
    " b=dGhpcyBpcyBub3QgYSByZWFsIHNpZ25hdHVyZQ==" \
    "From: Alice <alice@example.com>" "To: dave@example.net" \
    "Subject: forwarded, signed twice" "" "Forwarded body." > "$T/fwd.eml"
pf_send alice@example.com dave@example.net --data "$T/fwd.eml" >/dev/null
pf_wait_empty 30 && wait_for 10 sh -c "[ \$(curl -sf http://127.0.0.1:$SES_PORT/_sent | $PY -c 'import json,sys; print(len(json.load(sys.stdin)))') -ge 4 ]"
ok $? "a message with an upstream DKIM-Signature and two Delivered-To reaches SES"
fields=$(sesd_raw 3 | tr -d '\r' | grep -iE '^(X-Original-)?(DKIM-Signature|Delivered-To):' |
    sed 's/^\([^:]*\):.* d=\([a-z.]*\);.*/\1 d=\2/; s/^\([^:]*\):.*/\1/' | tr '\n' ',')
is "$fields" "DKIM-Signature d=example.com,Delivered-To,X-Original-Delivered-To,X-Original-DKIM-Signature d=upstream.example," \
   "one DKIM-Signature (ours, on top) and one Delivered-To: the older repeats renamed X-Original-*"
is "$(verify 3 "$rsa_pub" rsa s1)" valid \
    "dkimpy verifies our signature on the repaired message after SES's rewrites"

# ---- only the site's own mail is signed ----
# sent N: waits until sesd has N messages
sent() { pf_wait_empty 30 && wait_for 10 sh -c "[ \$(curl -sf http://127.0.0.1:$SES_PORT/_sent | $PY -c 'import json,sys; print(len(json.load(sys.stdin)))') -ge $1 ]"; }
swaks --silent 2 --server 127.0.0.2 --port "$PF_PORT" --local-interface 127.0.0.2 \
    --from ceo@example.com --to victim@example.net \
    --header "From: CEO <ceo@example.com>" --header "Subject: spoofed" >/dev/null
sent 5; ok $? "a message from an untrusted client (127.0.0.2) passes through Postfix"
is "$(sesd_raw 4 | grep -ci '^DKIM-Signature:')" 0 \
    "a spoofed From at a signed domain from an untrusted client gets no DKIM-Signature"
like "$(cat "$T/ses.log")" "from=<ceo@example.com> client=127.0.0.2 \\(untrusted\\) .*dkim=none \\(untrusted client\\)" \
    "the milter logs why it did not sign"

# with 127.0.0.1 out of TrustedHosts, SMTP from there is not signed, but a
# local submission (non_smtpd_milters: 127.0.0.1 port 0) still is
ses_conf "$T/strict.conf" "KeyTable file:$T/keytable" \
    "SigningTable refile:$T/signingtable" "ConfigurationSet signed" \
    "TrustedHosts 192.0.2.1"
milter_hup "$T/strict.conf"; ok $? "SIGHUP: TrustedHosts no longer has 127.0.0.1"
pf_send "Alice <alice@example.com>" bob@example.net --header "Subject: smtp from 127.0.0.1" >/dev/null
sent 6
is "$(sesd_raw 5 | grep -ci '^DKIM-Signature:')" 0 \
    "SMTP from 127.0.0.1 outside TrustedHosts: not signed"
printf 'From: Alice <alice@example.com>\nTo: bob@example.net\nSubject: sendmail(1)\n\nlocal.\n' |
    sendmail -C "$PF_ETC" -f alice@example.com bob@example.net
sent 7; ok $? "a sendmail(1) submission reaches SES"
is "$(verify 6 "$rsa_pub" rsa s1)" valid \
    "a local submission (sendmail(1), non_smtpd_milters) is signed, and dkimpy verifies it"
like "$(cat "$T/ses.log")" "from=<alice@example.com> client=127.0.0.1 \\(trusted: local submission\\)" \
    "the milter logs it as a local submission"
tap_done
