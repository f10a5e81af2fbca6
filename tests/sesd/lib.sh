# SPDX-License-Identifier: BSD-2-Clause
# tests/sesd/lib.sh - run sesd for a script test (sourced after tests/lib.sh
# and tmpdir_make)
#
#   sesd_need                 skip the test when python3-botocore is missing
#   sesd_start [ARGS...]      start sesd on a free port: SESD_PORT, SESD_URL
#   sesd_fault JSON           queue a fault (see sesd.py)
#   sesd_state JSON           merge JSON into sesd's state
#   sesd_reset                forget requests, faults and state
#   sesd_requests             GET /_control/requests (JSON)
#   sesd_sent                 GET /_sent (the messages SES "sent", JSON)
#   sesd_py EXPR              evaluate a Python expression with `req` (the
#                             request list), `sent` and `issued` (the
#                             credentials sesd handed out) bound; prints it
#   test_message [SUBJECT]    a small message on stdout
#   sesd_relay_conf [--no-creds] FILE [LINES...]   a ses-milter.conf
#                             pointing at sesd (DataDirectory $T/data, never
#                             the system's), with the test key in a
#                             shared credentials file unless --no-creds;
#                             a line given replaces the default of its key;
#                             the host-wide breakers are off (BreakerInterval
#                             0) unless a test sets them: each case of a
#                             test starts from a clean slate
#   relay [ARGS...]           run ses-relay in pipe mode (stdin = message)
#                             with this test's conf: prints the diagnostic,
#                             RC = exit code
SESD_PY=/usr/bin/python3

# Only what a test sets may find credentials: no ~/.aws, no AWS_* from the
# caller's environment, and never a probe of the real instance metadata.
for _v in AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN \
    AWS_SECURITY_TOKEN AWS_PROFILE AWS_DEFAULT_PROFILE \
    AWS_SHARED_CREDENTIALS_FILE AWS_CONFIG_FILE AWS_WEB_IDENTITY_TOKEN_FILE \
    AWS_ROLE_ARN AWS_ROLE_SESSION_NAME AWS_ENDPOINT_URL AWS_ENDPOINT_URL_STS \
    AWS_CONTAINER_CREDENTIALS_RELATIVE_URI AWS_CONTAINER_CREDENTIALS_FULL_URI \
    AWS_CONTAINER_AUTHORIZATION_TOKEN AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE \
    AWS_EC2_METADATA_SERVICE_ENDPOINT AWS_EC2_METADATA_DISABLED \
    AWS_REGION AWS_DEFAULT_REGION; do unset $_v; done
AWS_EC2_METADATA_DISABLED=true
HOME=${T:-/nonexistent}
export AWS_EC2_METADATA_DISABLED HOME
SESD_AKID=AKIDEXAMPLETESTKEY01
SESD_SECRET='testSecretKey/Never+Logged/0123456789abcdef'

sesd_need() {
    $SESD_PY -c 'import botocore' 2>/dev/null ||
        tap_skip_all "python3-botocore is not installed"
}

sesd_start() {
    rm -f "$T/sesd.port"
    $SESD_PY "$top_srcdir/tests/sesd/sesd.py" --port 0 \
        --portfile "$T/sesd.port" --pidfile "$T/sesd.pid" "$@" \
        > "$T/sesd.log" 2>&1 &
    SESD_PID=$!
    add_cleanup "proc_stop $SESD_PID"
    wait_for 30 test -s "$T/sesd.port" || {
        diag "sesd did not start:"; sed 's/^/# /' "$T/sesd.log"; return 1; }
    SESD_PORT=$(cat "$T/sesd.port")
    SESD_URL="http://127.0.0.1:$SESD_PORT"
    export SESD_PORT SESD_URL
}

_sesd_post() { curl -sf -X POST --data-binary "$2" "$SESD_URL/_control/$1" >/dev/null; }
sesd_fault() { _sesd_post fault "$1"; }
sesd_state() { _sesd_post state "$1"; }
sesd_reset() { _sesd_post reset '{}'; }
sesd_requests() { curl -sf "$SESD_URL/_control/requests"; }
sesd_sent() { curl -sf "$SESD_URL/_sent"; }

sesd_py() {
    $SESD_PY -c '
import json, sys, urllib.request
u = sys.argv[1]
get = lambda p: json.load(urllib.request.urlopen(u + p))
req, sent, issued, assumed = get("/_control/requests"), get("/_sent"), get("/_issued"), get("/_assumed")
print(eval(sys.argv[2]))' "$SESD_URL" "$1"
}

# A one-recipient test message on stdin of relay.
test_message() {
    printf 'From: sender@example.com\nTo: rcpt@example.net\nSubject: %s\n\nbody\n' "${1:-test}"
}

sesd_relay_conf() {
    _creds=yes
    if [ "$1" = --no-creds ]; then _creds=no; shift; fi
    _f=$1; shift
    mkdir -p "$T/data"   # never the machine's own /var/lib/ses-milter
    cat > "$T/aws-credentials" <<CREDS
[default]
aws_access_key_id = $SESD_AKID
aws_secret_access_key = $SESD_SECRET
CREDS
    {
        # defaults, unless a line given names the same key
        for _d in "Region us-east-1" "Endpoint $SESD_URL" \
                  "CredentialsFile $T/aws-credentials" "LogFile $T/relay.log" \
                  "LogLevel debug" "RetryTime 5s" "ConnectTimeout 2s" \
                  "Timeout 20s" "DataDirectory $T/data" \
                  "BreakerInterval 0"; do
            _k=${_d%% *}
            [ $_k = CredentialsFile ] && [ $_creds = no ] && continue
            for _l in "$@"; do
                [ "${_l%% *}" = "$_k" ] && continue 2
            done
            echo "$_d"
        done
        for _l in "$@"; do echo "$_l"; done
    } > "$_f"
    RELAY_CONF=$_f
}

# relay [-f SENDER] [ARGS...] -- RCPT... < MESSAGE: diagnostic in OUT, exit
# code in RC (not in a pipeline: the variables would stay in a subshell)
relay() {
    OUT=$("$top_builddir/relay/ses-relay" -c "$RELAY_CONF" "$@" 2>&1)
    RC=$?
}
