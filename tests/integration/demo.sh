#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# The README's demo command works as written, and stops the way the README
# says: Ctrl-C (SIGINT to its process group, as a terminal sends it) while
# it waits, or SIGTERM at any time, removes its temporary directory, stops
# everything it started and exits 0.
. "${top_srcdir:-.}/tests/lib.sh"
. "$top_srcdir/tests/integration/postfix.sh"
. "$top_srcdir/tests/integration/harness.sh"
pf_need_root
emu_need
tmpdir_make

# demo_start OUT [ARGS]: the demo in a session of its own with SIGINT at
# its default (an asynchronous command of a script would ignore it, and a
# shell cannot trap a signal ignored on entry); DEMO = its pid and group.
demo_start() {
    _out=$1; shift
    DEMO_PORT=$(free_port) $PY -c 'import os, signal, sys
os.setsid()
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execv(sys.argv[1], sys.argv[1:])' "$top_srcdir/contrib/demo/run" "$@" > "$_out" 2>&1 &
    DEMO=$!
    add_cleanup "kill -9 -$DEMO 2>/dev/null"
}
# demo_stopped OUT: waits (bounded) for the demo's exit; DEMO_RC its status
# (255 when it had to be killed).
demo_stopped() {
    if wait_for 60 sh -c "! kill -0 $DEMO"; then wait "$DEMO"; DEMO_RC=$?; else
        kill -9 -"$DEMO" 2>/dev/null; wait "$DEMO"; DEMO_RC=255
        diag "the demo did not stop; its last lines:"; tail -5 "$1" | sed 's/^/# /'
    fi
}
# demo_left OUT: what the demo left behind (its directory, its processes).
demo_left() {
    _dt=$(grep -o '/[^ ]*/ses-test\.[A-Za-z0-9]*' "$1" | head -1)
    [ -n "$_dt" ] || { echo "no temporary directory named in the output"; return; }
    [ -d "$_dt" ] && echo "directory $_dt"
    ps -eo pid=,args= | grep -F "$_dt" | grep -v grep | sed 's/^/process /'
    _port=$(sed -n 's|.*emulator (aws-ses-v2-local) on http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$1")
    [ -n "$_port" ] && curl -sf "http://127.0.0.1:$_port/health-check" >/dev/null 2>&1 &&
        echo "the emulator on port $_port"
    return 0
}

# 1. The whole story, then Ctrl-C at the prompt.
demo_start "$T/demo.out"
wait_for 180 grep -q 'Press Ctrl-C' "$T/demo.out"
ok $? "the demo tells its story and waits for Ctrl-C"
out=$(cat "$T/demo.out")
like "$out" "Hello from ses-milter +to bob@example.net" "the demo's first message reaches the SES emulator"
like "$out" "to carol@example.org, dave@example.org" "the demo's two-recipient message reaches the emulator"
is "$(printf '%s\n' "$out" | grep -c 'X-SES-CONFIGURATION-SET: demo-transactional')" 3 "every demo message carries the configuration set"
is "$(printf '%s\n' "$out" | grep -c 'postfix-test/pipe.*relay=ses.*status=sent')" 4 "Postfix logs four sent deliveries"
is "$(printf '%s\n' "$out" | grep -c 'DKIM-Signature: a=rsa-sha256 d=sender.example s=demo')" 3 \
    "every demo message is DKIM-signed with the key ses-keygen made"
like "$out" "ses-feedback.*to=<bob@example.net>, relay=ses, ses_id=ses-[0-9]*, status=bounced" \
    "the demo's bounce notification is applied by ses-feedback"
like "$out" "bob@example.net +bounce +feedback" "the demo shows bob on the suppression list"
like "$out" "X-Postfix-Queue-ID: [0-9A-F]+" "the demo's DSN in alice's mailbox names the original queue id"
like "$out" "Final-Recipient: rfc822; bob@example.net" "the demo's DSN names the bounced recipient"
like "$out" "<\\*\\* 550 5\\.1\\.1 <bob@example.net>: recipient is on the suppression list \\(bounce\\)" \
    "the demo's next message to bob is refused at RCPT TO"
like "$out" 'sesmilter_messages_total\{configuration_set="demo-transactional",status="sent"\} 4' \
    "the demo shows the delivery counters"
kill -INT -"$DEMO" 2>/dev/null
demo_stopped "$T/demo.out"
is "$DEMO_RC" 0 "Ctrl-C stops the demo with exit status 0"
is "$(demo_left "$T/demo.out")" "" "... leaving neither its temporary directory nor a process behind"

# 2. SIGTERM while it is still working (--batch: it would stop by itself).
demo_start "$T/term.out" --batch
wait_for 120 grep -q '== 1\. sending' "$T/term.out"
ok $? "a second demo gets as far as sending"
kill -TERM "$DEMO" 2>/dev/null
demo_stopped "$T/term.out"
is "$DEMO_RC" 0 "SIGTERM stops the demo with exit status 0"
is "$(demo_left "$T/term.out")" "" "... leaving neither its temporary directory nor a process behind"
tap_done
