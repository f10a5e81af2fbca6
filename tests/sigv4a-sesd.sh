#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# The SESv2 global endpoint: EndpointId sends with SigV4a over region set *,
# judged by sesd's independent verifier (itself checked against AWS's v4a
# suite first); SigV4 and bad keys are refused there; the tenant goes out as
# TenantName; EndpointId and tenants need ApiVersion v2.
. "${top_srcdir:-.}/tests/lib.sh"
. "$top_srcdir/tests/sesd/lib.sh"
sesd_need
$SESD_PY -c 'import cryptography' 2>/dev/null ||
    tap_skip_all "python3-cryptography is not installed"
tmpdir_make

out=$($SESD_PY "$top_srcdir/tests/sigv4a_suite_check.py" 2>&1); rc=$?
is "$rc" 0 "sesd's SigV4a verifier agrees with AWS's v4a suite ($(echo "$out" | grep -c '^ok') checks)"
[ "$rc" = 0 ] || echo "$out" | grep -v '^ok' | sed 's/^/# /'

sesd_start --sigv4a; ok $? "sesd starts as a global endpoint"
sesd_relay_conf "$T/global.conf" "EndpointId abc123.xyz" "TenantName acme"
test_message global > "$T/global.eml"
relay -f sender@example.com -q GLOB1 -- rcpt@example.net < "$T/global.eml"
is "$RC" 0 "EndpointId: the message is accepted by the global endpoint"
is "$(sesd_py 'len(sent)')" 1 "it was sent once"
is "$(sesd_py 'req[-1]["headers"]["authorization"].split(",")[0]')" \
   "AWS4-ECDSA-P256-SHA256 Credential=$SESD_AKID/$(date -u +%Y%m%d)/ses/aws4_request" \
   "signed with SigV4a; the credential scope has no region"
is "$(sesd_py 'req[-1]["headers"]["x-amz-region-set"]')" "*" "X-Amz-Region-Set is *"
like "$(sesd_py 'req[-1]["headers"]["authorization"]')" \
   "SignedHeaders=[a-z0-9;-]*x-amz-region-set" "and it is a signed header"
is "$(sesd_py 'sent[-1]["params"].get("TenantName")')" acme \
   "TenantName goes out as SESv2 TenantName"

printf 'From: a@example.com\nX-SES-TENANT: beta-tenant\n\nx\n' > "$T/tenant.eml"
relay -f sender@example.com -q GLOB2 -- rcpt@example.net < "$T/tenant.eml"
is "$(sesd_py 'sent[-1]["params"].get("TenantName")')" beta-tenant \
   "the milter's X-SES-TENANT overrides TenantName"

sesd_relay_conf "$T/sigv4.conf"
test_message v4 > "$T/v4.eml"
relay -f sender@example.com -q GLOB3 -- rcpt@example.net < "$T/v4.eml"
is "$RC" 75 "SigV4 to the global endpoint is refused and the message deferred"
is "$(sesd_py 'req[-1]["error"]')" IncompleteSignature "sesd refused the SigV4 signature"

cat > "$T/wrong-credentials" <<EOF
[default]
aws_access_key_id = $SESD_AKID
aws_secret_access_key = wrongSecret/0123456789abcdefghijklmnopqrst
EOF
sesd_relay_conf "$T/wrong.conf" "EndpointId abc123.xyz" \
    "CredentialsFile $T/wrong-credentials"
test_message wrong > "$T/wrong.eml"
relay -f sender@example.com -q GLOB4 -- rcpt@example.net < "$T/wrong.eml"
is "$RC" 75 "SigV4a with another secret key: deferred"
is "$(sesd_py 'req[-1]["error"]')" SignatureDoesNotMatch \
   "sesd found that signature wrong"
is "$(sesd_py 'len(sent)')" 2 "nothing more was sent"

# ApiVersion v1 has neither global endpoints nor tenants
printf 'ApiVersion v1\nEndpointId abc123.xyz\n' > "$T/v1.conf"
out=$("$top_builddir/milter/ses-milter" -n -c "$T/v1.conf" 2>&1); rc=$?
is "$rc" 78 "EndpointId with ApiVersion v1: configuration error (exit 78)"
like "$out" "$T/v1.conf:2: EndpointId needs ApiVersion v2" "naming file and line"
sesd_relay_conf "$T/v1tenant.conf" "ApiVersion v1"
relay -f sender@example.com -q GLOB5 -- rcpt@example.net < "$T/tenant.eml"
is "$RC" 75 "v1: a message for a tenant is deferred, never sent without it"
like "$OUT" "tenants need ApiVersion v2" "saying why"
is "$(sesd_py 'len(sent)')" 2 "and nothing was sent"

tap_done
