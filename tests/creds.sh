#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# The AWS credential chain, each source against sesd: ses-relay pipe mode
# sends with the credentials the source hands out (sesd checks the
# signature and session token with botocore), and the SDK rules on order,
# profiles and failures hold. Caching and refresh through tests/creds-get.
. "${top_srcdir:-.}/tests/lib.sh"
. "$top_srcdir/tests/sesd/lib.sh"
sesd_need
tmpdir_make
# a second static key: the credentials file and the config file differ
sesd_start --key "$SESD_AKID:$SESD_SECRET" \
    --key "AKIDCONFIGFILEKEY002:configSecretKey/Also+Never+Logged00"
ok $? "sesd starts"
GET="$top_builddir/tests/creds-get"
sesd_relay_conf --no-creds "$T/none.conf"
sesd_relay_conf "$T/file.conf"

# last SES send's signing key
last_akid() { sesd_py '[r for r in req if r["route"].startswith("ses-send")][-1]["akid"]'; }
# akid sesd issued last for SOURCE
issued_akid() { sesd_py "[i for i in issued if i['source'] == '$1'][-1]['akid']"; }
issued_count() { sesd_py "len([i for i in issued if i['source'] == '$1'])"; }
send() {
    test_message "$1" > "$T/msg"
    relay -f sender@example.com -q CRED1 -- rcpt@example.net < "$T/msg"
    printf '%s\n' "$OUT" >> "$T/diagnostics.log"
}
# sesd forgets what it issued on reset: keep the secrets for the leak check
reset() {
    sesd_py '"\n".join([i["secret"] for i in issued] + [i["token"] for i in issued])' \
        >> "$T/secrets.list"
    sesd_reset
}

# ---- no source at all ----
RELAY_CONF=$T/none.conf
send "no creds"
is "$RC" 75 "no credentials anywhere: deferred (75)"
like "$OUT" "^4\\.3\\.5 no AWS credentials found" "the diagnostic is 4.3.5 and says why"

# ---- 1. environment ----
export AWS_ACCESS_KEY_ID="$SESD_AKID" AWS_SECRET_ACCESS_KEY="$SESD_SECRET"
send "env"
is "$RC" 0 "environment credentials: sent"
is "$(last_akid)" "$SESD_AKID" "signed with the environment's key"
unset AWS_SECRET_ACCESS_KEY
send "env half"
is "$RC" 75 "only AWS_ACCESS_KEY_ID: deferred"
like "$OUT" "only one of AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY" "and the reason is given"
export AWS_SECRET_ACCESS_KEY=wrongwrongwrongwrong
RELAY_CONF=$T/file.conf
send "env first"
is "$RC" 75 "the environment comes before the shared file (its wrong key is used)"
like "$OUT" "^4\\.7\\.0 SES 403 SignatureDoesNotMatch" "a refused signature defers with 4.7.0"
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY

# ---- 2. shared files ----
cat > "$T/credentials" <<EOF
# comment
[default]
aws_access_key_id = $SESD_AKID
aws_secret_access_key = $SESD_SECRET
s3 =
  aws_access_key_id = AKIDNESTEDSHOULDNOTWIN
[half]
aws_access_key_id = $SESD_AKID
[role]
role_arn = arn:aws:iam::123456789012:role/x
source_profile = default
EOF
cat > "$T/config" <<EOF
[default]
region = us-east-1
aws_access_key_id = AKIDCONFIGFILEKEY002
aws_secret_access_key = configSecretKey/Also+Never+Logged00
[profile cfg]
aws_access_key_id = AKIDCONFIGFILEKEY002
aws_secret_access_key = configSecretKey/Also+Never+Logged00
[plain]
aws_access_key_id = AKIDCONFIGFILEKEY002
aws_secret_access_key = configSecretKey/Also+Never+Logged00
EOF
export AWS_SHARED_CREDENTIALS_FILE="$T/credentials" AWS_CONFIG_FILE="$T/config"
RELAY_CONF=$T/none.conf
send "files"
is "$RC" 0 "shared credentials file: sent"
is "$(last_akid)" "$SESD_AKID" "the credentials file wins over the config file for the same profile"
AWS_PROFILE=cfg send "profile cfg"
is "$RC" 0 "AWS_PROFILE picks [profile cfg] in the config file"
is "$(last_akid)" AKIDCONFIGFILEKEY002 "signed with the config file's key"
AWS_PROFILE=plain send "profile plain"
is "$RC" 75 "a config-file section without 'profile ' is not that profile"
like "$OUT" 'profile "plain" not found' "an explicitly named, missing profile is an error"
AWS_PROFILE=nosuch send "profile nosuch"
is "$RC" 75 "a missing named profile defers, never falls through to another identity"
AWS_PROFILE=half send "half"
like "$OUT" 'profile "half" has only one of' "a half profile is an error"

# ---- 2b. profiles that assume a role (STS AssumeRole at sesd) ----
printf 'eyJhbGciOiJSUzI1NiJ9.webIdentityTokenNeverLogged.sig\n' > "$T/token"
cat >> "$T/config" <<EOF
[profile chain]
role_arn = arn:aws:iam::123456789012:role/second
source_profile = role
role_session_name = chain-session
external_id = ext-1234
duration_seconds = 1800
[profile self]
role_arn = arn:aws:iam::123456789012:role/self
source_profile = self
aws_access_key_id = AKIDCONFIGFILEKEY002
aws_secret_access_key = configSecretKey/Also+Never+Logged00
[profile loopa]
role_arn = arn:aws:iam::123456789012:role/a
source_profile = loopb
[profile loopb]
role_arn = arn:aws:iam::123456789012:role/b
source_profile = loopa
[profile fromenv]
role_arn = arn:aws:iam::123456789012:role/env
credential_source = Environment
[profile twosources]
role_arn = arn:aws:iam::123456789012:role/x
source_profile = default
credential_source = Environment
[profile nosource]
role_arn = arn:aws:iam::123456789012:role/x
[profile emptysource]
role_arn = arn:aws:iam::123456789012:role/x
source_profile = empty
[profile empty]
region = eu-west-1
[profile mfa]
role_arn = arn:aws:iam::123456789012:role/x
source_profile = default
mfa_serial = arn:aws:iam::123456789012:mfa/user
[profile sso]
sso_start_url = https://example.awsapps.com/start
sso_role_name = Mail
[profile webid]
role_arn = arn:aws:iam::123456789012:role/relay
web_identity_token_file = $T/token
EOF
export AWS_ENDPOINT_URL_STS="$SESD_URL"
issued_nth() { sesd_py "[i for i in issued if i['source'] == '$1'][$2]['akid']"; }
AWS_PROFILE=role send "assume role"
is "$RC" 0 "role_arn + source_profile: sent with the assumed role's credentials"
is "$(last_akid)" "$(issued_akid assume)" "signed with the key STS AssumeRole issued (session token checked)"
is "$(sesd_py 'assumed[-1]["signer"] + " " + assumed[-1]["role"]')" \
   "$SESD_AKID arn:aws:iam::123456789012:role/x" \
   "AssumeRole is SigV4-signed (service sts) with the source profile's key, for the profile's role"
AWS_PROFILE=chain send "role chain"
is "$RC" 0 "a source_profile that itself assumes a role: sent"
is "$(sesd_py 'assumed[-1]["signer"]')" "$(issued_nth assume -2)" \
   "the second AssumeRole is signed with the first role's credentials"
is "$(sesd_py '" ".join(str(assumed[-1][k]) for k in ("role", "session", "external_id", "duration"))')" \
   "arn:aws:iam::123456789012:role/second chain-session ext-1234 1800" \
   "role_session_name, external_id and duration_seconds are passed to STS"
is "$(last_akid)" "$(issued_akid assume)" "... and the send uses the last role's key"
AWS_PROFILE=self send "self source"
is "$(sesd_py 'assumed[-1]["signer"]')" AKIDCONFIGFILEKEY002 \
   "a profile that is its own source_profile assumes the role with its own keys"
AWS_PROFILE=loopa send "loop"
is "$RC" 75 "source_profile loop: deferred (75)"
like "$OUT" 'more than 5 roles chained through source_profile \(a loop\?\)' "... saying so"
sesd_relay_conf --no-creds "$T/envprof.conf" "Profile fromenv"
export AWS_ACCESS_KEY_ID=AKIDCONFIGFILEKEY002 AWS_SECRET_ACCESS_KEY=configSecretKey/Also+Never+Logged00
RELAY_CONF=$T/envprof.conf
send "credential_source"
is "$RC" 0 "credential_source = Environment: sent"
is "$(sesd_py 'assumed[-1]["signer"] + " " + assumed[-1]["role"]')" \
   "AKIDCONFIGFILEKEY002 arn:aws:iam::123456789012:role/env" \
   "the Profile key's role is assumed with the environment's keys (which it does not use directly)"
is "$(last_akid)" "$(issued_akid assume)" "... and the send uses the role's key"
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
RELAY_CONF=$T/none.conf
AWS_PROFILE=twosources send "two sources"
like "$OUT" 'profile "twosources" has both source_profile and credential_source' "two sources for a role: an error"
AWS_PROFILE=nosource send "no source"
like "$OUT" 'profile "nosource" has role_arn but no source_profile, credential_source or web_identity_token_file' \
    "role_arn alone: an error"
AWS_PROFILE=emptysource send "empty source"
like "$OUT" 'profile "emptysource": source_profile "empty" has no credentials' \
    "a source_profile without credentials: an error, no unsigned call"
AWS_PROFILE=mfa send "mfa"
like "$OUT" 'profile "mfa" needs an MFA code' "mfa_serial: refused, a mail server cannot type a code"
AWS_PROFILE=sso send "sso"
like "$OUT" 'profile "sso" uses sso settings, which ses-milter does not support' "an SSO profile is refused with a clear reason"
sesd_state '{"sts_assume_role_arn": "arn:aws:iam::123456789012:role/only-this"}'
AWS_PROFILE=role send "role refused"
is "$RC" 75 "STS refusing AssumeRole: deferred (75), never bounced"
like "$OUT" '^4\.3\.5 AssumeRole for arn:aws:iam::123456789012:role/x: STS 403 AccessDenied' \
    "the diagnostic names the role and STS's answer"
AWS_PROFILE=webid send "profile web identity"
is "$RC" 0 "role_arn + web_identity_token_file in a profile: sent"
is "$(last_akid)" "$(issued_akid sts)" "signed with the key AssumeRoleWithWebIdentity issued"
unset AWS_ENDPOINT_URL_STS
# credential_process: the profile's command prints the keys as JSON
cat > "$T/cproc" <<EOF
#!/bin/sh
case "\$1" in
good) printf '{"Version": 1, "AccessKeyId": "%s", "SecretAccessKey": "%s"}\n' "$SESD_AKID" "$SESD_SECRET" ;;
temp) printf '{"Version": 1, "AccessKeyId": "%s", "SecretAccessKey": "%s", "Expiration": "2099-01-01T00:00:00Z"}' "$SESD_AKID" "$SESD_SECRET" ;;
v2) printf '{"Version": 2, "AccessKeyId": "%s", "SecretAccessKey": "%s"}' "$SESD_AKID" "$SESD_SECRET" ;;
fail) echo "token expired; run aws sso login" >&2; echo "partial $SESD_SECRET"; exit 3 ;;
stdin) cat; printf '{"Version": 1, "AccessKeyId": "%s", "SecretAccessKey": "%s"}' "$SESD_AKID" "$SESD_SECRET" ;;
slow) sleep 31.25 ;;
esac
EOF
chmod 755 "$T/cproc"
for c in good temp v2 fail stdin slow; do
    printf '[profile p%s]\ncredential_process = %s %s\n' "$c" "$T/cproc" "$c" >> "$T/config"
done
printf '[both]\naws_access_key_id = AKIDCONFIGFILEKEY002\naws_secret_access_key = configSecretKey/Also+Never+Logged00\n' >> "$T/credentials"
printf '[profile both]\ncredential_process = %s good\n' "$T/cproc" >> "$T/config"
AWS_PROFILE=pgood send "process"
is "$RC" 0 "credential_process: sent with the keys the command printed"
is "$(last_akid)" "$SESD_AKID" "... signed with them"
is "$(AWS_PROFILE=ptemp "$GET" -c "$T/none.conf")" "ok source=process:ptemp akid=$SESD_AKID temporary=1" \
    "credential_process with an Expiration gives temporary credentials"
AWS_PROFILE=pv2 send "process v2"
is "$RC" 75 "a document without Version 1: deferred"
like "$OUT" 'credential_process of profile "pv2" wrote a document without "Version": 1' "... saying so"
AWS_PROFILE=pfail send "process fail"
is "$RC" 75 "a failing credential_process: deferred (75)"
like "$OUT" '^4\.3\.5 credential_process of profile "pfail" exited with status 3: token expired; run aws sso login' \
    "... with its exit status and the first line of its stderr"
AWS_PROFILE=pstdin send "process stdin"
is "$RC" 0 "a command that reads its stdin gets /dev/null (no hang, the message stays ses-relay's)"
t0=$(date +%s)
AWS_PROFILE=pslow CREDS_PROCESS_TIMEOUT_MS=1000 send "process slow"
is "$RC" 75 "a credential_process that hangs: deferred"
like "$OUT" 'credential_process of profile "pslow" timed out and was killed' "... after the time limit"
# the command sleeps 31.25 s: a delivery that waited for it is the failure
# (a bound of wall-clock speed this is not: the limit is 1 s)
ok $([ $(( $(date +%s) - t0 )) -lt 30 ] && echo 0 || echo 1) "... without waiting for it"
# gone once reaped, which a busy machine may take a moment to do
wait_for 10 sh -c '! pgrep -x -f "sleep 31.25"'; is "$?" 0 "... and what the command started is killed with it"
# a config file others can change is refused before anything in it is
# used: its credential_process would run their command as us
printf '[profile pevil]\ncredential_process = /bin/sh -c "touch %s/ran"\n' "$T" >> "$T/config"
chmod 666 "$T/config"
AWS_PROFILE=pevil send "process world-writable"
is "$RC" 75 "a config file every user can write: deferred (75)"
like "$OUT" "config: refused: the file is writable by every user" "... saying so"
[ ! -e "$T/ran" ]; ok $? "... and its credential_process did not run"
chmod 644 "$T/config"
chmod 666 "$T/credentials"
AWS_PROFILE=pgood send "credentials world-writable"
is "$RC" 75 "a credentials file every user can write: deferred (75), never a bounce"
like "$OUT" "credentials: refused: the file is writable by every user" "... saying so"
chmod 600 "$T/credentials"
AWS_PROFILE=both send "keys before process"
is "$(last_akid)" AKIDCONFIGFILEKEY002 "keys in the credentials file come before a credential_process (botocore's order)"
mv "$T/credentials" "$T/credentials.off"
send "config default"
is "$RC" 0 "without a credentials file, [default] of the config file is used"
is "$(last_akid)" AKIDCONFIGFILEKEY002 "signed with the config file's default key"
mv "$T/credentials.off" "$T/credentials"
sesd_relay_conf --no-creds "$T/prof.conf" "Profile cfg" "CredentialsFile $T/credentials"
RELAY_CONF=$T/prof.conf
AWS_PROFILE=default send "Profile key"
is "$RC" 0 "the Profile key wins over AWS_PROFILE"
is "$(last_akid)" AKIDCONFIGFILEKEY002 "and names the profile used"
unset AWS_SHARED_CREDENTIALS_FILE AWS_CONFIG_FILE
RELAY_CONF=$T/none.conf

# ---- 3. web identity ----
printf 'eyJhbGciOiJSUzI1NiJ9.webIdentityTokenNeverLogged.sig\n' > "$T/token"
sesd_state '{"sts_token": "eyJhbGciOiJSUzI1NiJ9.webIdentityTokenNeverLogged.sig", "sts_role_arn": "arn:aws:iam::123456789012:role/relay"}'
export AWS_WEB_IDENTITY_TOKEN_FILE="$T/token" AWS_ENDPOINT_URL_STS="$SESD_URL"
AWS_ROLE_ARN=arn:aws:iam::123456789012:role/relay AWS_ROLE_SESSION_NAME=relay-test send "web identity"
is "$RC" 0 "web identity: sent with STS credentials"
is "$(last_akid)" "$(issued_akid sts)" "signed with the key STS issued (session token checked by sesd)"
is "$(sesd_py '[r for r in req if r["route"] == "sts"][-1]["headers"].get("authorization", "unsigned")')" \
   unsigned "AssumeRoleWithWebIdentity is sent unsigned"
is "$(sesd_py '[r for r in req if r["route"] == "sts"][-1]["form"]["RoleSessionName"]')" relay-test \
   "AWS_ROLE_SESSION_NAME names the session"
AWS_SHARED_CREDENTIALS_FILE="$T/credentials" AWS_ROLE_ARN=arn:aws:iam::123456789012:role/relay \
    send "web identity before file keys"
is "$(last_akid)" "$(issued_akid sts)" \
   "the web identity comes before keys in the credentials file (botocore's order)"
AWS_ROLE_ARN=arn:aws:iam::123456789012:role/other send "wrong role"
is "$RC" 75 "STS refusing the role defers"
like "$OUT" "^4\\.3\\.5 AssumeRoleWithWebIdentity for arn:aws:iam::123456789012:role/other: STS 403 AccessDenied" \
     "the diagnostic names the role and STS's answer"
send "no role"
like "$OUT" "AWS_WEB_IDENTITY_TOKEN_FILE is set but AWS_ROLE_ARN is not" "a token without a role is an error"
AWS_ROLE_ARN=arn:aws:iam::123456789012:role/relay AWS_ENDPOINT_URL_STS=http://sts.example.com send "http sts"
like "$OUT" "AWS_ENDPOINT_URL_STS: plain http:// is allowed only to loopback" \
     "an http:// STS endpoint off loopback is refused"
unset AWS_WEB_IDENTITY_TOKEN_FILE AWS_ENDPOINT_URL_STS

# ---- 4. container ----
printf 'containerTokenFromFileNeverLogged\n' > "$T/ctoken"
sesd_state '{"container_token": "containerTokenFromFileNeverLogged"}'
export AWS_CONTAINER_CREDENTIALS_FULL_URI="$SESD_URL/container/v2/credentials/abc"
AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE="$T/ctoken" AWS_CONTAINER_AUTHORIZATION_TOKEN=envTokenLoses send "container"
is "$RC" 0 "container credentials (FULL_URI, token file): sent"
is "$(last_akid)" "$(issued_akid container)" "signed with the key the container endpoint issued"
AWS_CONTAINER_AUTHORIZATION_TOKEN=containerTokenFromFileNeverLogged send "container env token"
is "$RC" 0 "AWS_CONTAINER_AUTHORIZATION_TOKEN is sent as Authorization"
AWS_CONTAINER_AUTHORIZATION_TOKEN=wrongToken send "container wrong"
is "$RC" 75 "a refused container token defers"
like "$OUT" "container credentials endpoint answered HTTP 401" "with the endpoint's answer"
AWS_CONTAINER_CREDENTIALS_FULL_URI=http://192.0.2.10/creds send "container remote http"
like "$OUT" "AWS_CONTAINER_CREDENTIALS_FULL_URI: .*https, or http to loopback" \
     "FULL_URI over http to a non-loopback host is refused"
AWS_CONTAINER_CREDENTIALS_FULL_URI=http://169.254.170.2:80@192.0.2.10/creds send "container agent lookalike"
like "$OUT" "AWS_CONTAINER_CREDENTIALS_FULL_URI: .*before its host \"192.0.2.10\"" \
     "FULL_URI whose user:password looks like the ECS agent is refused (libcurl would go to 192.0.2.10)"
AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.0.0.1:80@192.0.2.10/creds send "container loopback lookalike"
like "$OUT" "AWS_CONTAINER_CREDENTIALS_FULL_URI: .*before its host \"192.0.2.10\"" \
     "... and so is one whose user:password looks like loopback"
unset AWS_CONTAINER_CREDENTIALS_FULL_URI

# ---- 5. instance metadata (IMDSv2) ----
export AWS_EC2_METADATA_SERVICE_ENDPOINT="$SESD_URL/"
unset AWS_EC2_METADATA_DISABLED
send "imds"
is "$RC" 0 "instance metadata: sent"
is "$(last_akid)" "$(issued_akid imds)" "signed with the instance role's key"
is "$(sesd_py '[r["headers"].get("x-aws-ec2-metadata-token-ttl-seconds") for r in req if r["route"] == "imds-token"][-1]')" \
   21600 "the IMDSv2 token is asked for with a TTL header"
is "$(sesd_py 'all(r["headers"].get("x-aws-ec2-metadata-token") for r in req if r["route"] in ("imds-role", "imds-creds"))')" \
   True "every metadata GET carries the token"
AWS_EC2_METADATA_DISABLED=true send "imds off"
is "$RC" 75 "AWS_EC2_METADATA_DISABLED=true turns instance metadata off"
sesd_state '{"imds_role": ""}'
send "imds no role"
is "$RC" 75 "an instance without a role: no credentials, deferred"
like "$OUT" "no instance role|no AWS credentials found" "and the diagnostic says so"
sesd_state '{"imds_role": "sesd-role"}'
# the metadata service answers after 60 s: a delivery that waited for the
# answer is the failure, not a slow machine
sesd_fault '{"route": "imds-token", "count": -1, "delay": 60}'
t0=$(date +%s%N)
send "imds slow"
t1=$(date +%s%N)
is "$RC" 75 "an unanswering metadata service defers"
ok $([ $(( (t1 - t0) / 1000000 )) -lt 50000 ] && echo 0 || echo 1) \
   "and does not stall delivery (gave up after $(( (t1 - t0) / 1000000 )) ms, not waiting for the answer; limit 1 s per try)"
reset

# ---- caching, refresh and threads (creds-get) ----
sesd_state '{"creds_ttl": 3600}'
out=$("$GET" -c "$T/none.conf" -n 3)
is "$(printf '%s\n' "$out" | awk '{print $3}' | sort -u | wc -l)" 1 "long-lived temporary credentials are cached (one key for three calls)"
is "$(issued_count imds)" 1 "and fetched once"
reset
sesd_state '{"creds_ttl": 290}'
out=$("$GET" -c "$T/none.conf" -n 3)
is "$(printf '%s\n' "$out" | awk '{print $3}' | sort -u | wc -l)" 3 "credentials within five minutes of Expiration are refreshed"
reset
sesd_state '{"creds_ttl": 3600}'
out=$("$GET" -c "$T/none.conf" -t 8 -n 5)
is "$(printf '%s\n' "$out" | grep -c '^ok source=instance-metadata:sesd-role')" 40 "8 threads x 5 calls all get credentials"
is "$(issued_count imds)" 1 "one fetch serves all threads"
out=$("$GET" -c "$T/none.conf" -n 2 -i)
is "$(issued_count imds)" 3 "creds_invalidate() makes the next call fetch again"
reset
sesd_state '{"creds_ttl": 290}'
sesd_fault '{"route": "imds-creds", "skip": 1, "count": -1, "status": 500}'
out=$("$GET" -c "$T/none.conf" -n 2)
is "$(printf '%s\n' "$out" | grep -c '^ok ')" 2 "a failed refresh keeps still-valid credentials in use"
like "$(cat "$T/relay.log")" "cannot refresh AWS credentials .*using the current ones" "and says so in the log"
reset
unset AWS_EC2_METADATA_SERVICE_ENDPOINT

# ---- no secret in any log line or diagnostic ----
reset
n=0 leaks=0
for s in "$SESD_SECRET" "configSecretKey/Also+Never+Logged00" \
         webIdentityTokenNeverLogged containerTokenFromFileNeverLogged \
         $(cat "$T/secrets.list"); do
    n=$((n + 1))
    if grep -qF -- "$s" "$T/relay.log" "$T/diagnostics.log"; then
        leaks=$((leaks + 1)); diag "leaked: ${s%"${s#????}"}..."; fi
done
ok $([ "$n" -gt 10 ] && echo 0 || echo 1) "the leak check knows $n secrets"
is "$leaks" 0 "no secret key, session token or identity token in any log"

tap_done
