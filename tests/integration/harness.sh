# SPDX-License-Identifier: BSD-2-Clause
# tests/integration/harness.sh - ses-milter, ses-relay and SES servers for
# the integration tests (sourced after tests/lib.sh and postfix.sh)
#
#   emu_start            start aws-ses-v2-local on a free port (EMU_PORT)
#   emu_store            GET /store (JSON)
#   emu_count            emails stored
#   ses_conf FILE [LINES...]   a ses-milter.conf for this test run
#   milter_start CONF    run ses-milter in the foreground on $T/milter.sock
#   pf_with_ses CONF     a Postfix instance with ses-milter and the ses pipe
#                        transport (pf_init + settings; call pf_start after)

B=${top_builddir}
PY=/usr/bin/python3

emu_need() {
    command -v node >/dev/null 2>&1 || tap_skip_all "node is not installed"
    [ -d "$top_srcdir/tests/emulator/node_modules/aws-ses-v2-local" ] ||
        tap_skip_all "SES emulator missing: run npm ci --prefix tests/emulator"
}

emu_start() {
    : "${EMU_PORT:=$(free_port)}"
    node "$top_srcdir/tests/emulator/run.js" --port "$EMU_PORT" \
        > "$T/emulator.log" 2>&1 &
    EMU_PID=$!
    add_cleanup "proc_stop $EMU_PID"
    wait_for 30 curl -sf "http://127.0.0.1:$EMU_PORT/health-check" || {
        diag "emulator did not start:"; sed 's/^/# /' "$T/emulator.log"; return 1; }
}

emu_store() { curl -sf "http://127.0.0.1:$EMU_PORT/store"; }

emu_count() {
    emu_store | $PY -c 'import json,sys; print(len(json.load(sys.stdin)["emails"]))'
}

# emu_wait_count N SECS
emu_wait_count() {
    wait_for "${2:-30}" sh -c "[ \"\$(curl -sf http://127.0.0.1:$EMU_PORT/store | $PY -c 'import json,sys; print(len(json.load(sys.stdin)[\"emails\"]))')\" -ge $1 ]"
}

# Fake credentials the emulator accepts; in a shared credentials file, the
# way a real installation would keep them (readable by the relay's user).
creds_file() {
    cat > "$T/aws-credentials" <<CREDS
[default]
aws_access_key_id = AKIDEXAMPLETESTKEY01
aws_secret_access_key = testSecretKey/Never+Logged/0123456789abcdef
CREDS
    chmod 644 "$T/aws-credentials"
}

# ses_conf FILE [LINES...]: a config for this test run; a LINE setting a key
# replaces the default line for that key (keys may appear only once).
ses_conf() {
    _f=$1; shift
    mkdir -p "$T/data"
    # Shared by root (ses-milter, ses-feedback here) and nobody (the pipe
    # transport), as a real install shares it by one group: setgid, so
    # every store file gets the group of the directory.
    chgrp "$(id -gn nobody)" "$T/data" 2>/dev/null || true
    chmod 2777 "$T/data"
    creds_file
    {
        for l in "Region us-east-1" \
                 "Endpoint http://127.0.0.1:${EMU_PORT:-${SES_PORT:-9}}" \
                 "CredentialsFile $T/aws-credentials" \
                 "DataDirectory $T/data" \
                 "Socket unix:$T/milter.sock" \
                 "SocketMode 0666" \
                 "LogFile $T/ses.log" \
                 "RetryTime 2s"; do
            _k=${l%% *}
            _given=0
            for x in "$@"; do [ "${x%% *}" = "$_k" ] && _given=1; done
            [ $_given -eq 0 ] && echo "$l"
        done
        for l in "$@"; do echo "$l"; done
    } > "$_f"
    chmod 644 "$_f"
    touch "$T/ses.log"; chmod 666 "$T/ses.log"
}

milter_started() { # the number of "starting on" lines in LogFile
    grep -c 'ses-milter\[[0-9]*\]: starting on' "$T/ses.log" 2>/dev/null || true
}
milter_start() {
    rm -f "$T/milter.sock"
    _n=$(milter_started)
    "$B/milter/ses-milter" -f -c "$1" >> "$T/milter.out" 2>&1 &
    MILTER_PID=$!
    add_cleanup "proc_stop $MILTER_PID"
    wait_for 10 test -S "$T/milter.sock" || {
        diag "ses-milter did not start:"; sed 's/^/# /' "$T/milter.out"; return 1; }
    chmod 666 "$T/milter.sock"
    # the socket exists before the keys and rules are loaded: wait for the
    # line that says they are (when LogFile is the test's ses.log)
    if grep -q "^LogFile $T/ses.log" "$1"; then
        wait_for 10 sh -c "[ \$(grep -c 'ses-milter\[[0-9]*\]: starting on' '$T/ses.log') -gt ${_n:-0} ]"
    fi
}

pf_with_ses() {
    pf_init "$T/postfix"
    pf_set "default_transport = ses" \
           "ses_destination_recipient_limit = 50" \
           "smtpd_milters = unix:$T/milter.sock" \
           "milter_default_action = tempfail"
    pf_service "ses unix - n n - - pipe" \
        "  flags=q user=nobody null_sender=" \
        "  argv=$B/relay/ses-relay -c $1 -f \${sender} -q \${queue_id} -- \${recipient}"
}
