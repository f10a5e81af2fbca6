#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# No loss under faults, pipe mode: Postfix pipe(8) -> ses-relay -> sesd
# answering a seeded random mix of throttling, 500, 503, resets, answers
# slower than Timeout and accepted-then-dropped calls (faults-lib.sh).
. "${top_srcdir:-.}/tests/lib.sh"
. "$top_srcdir/tests/integration/postfix.sh"
. "$top_srcdir/tests/integration/harness.sh"
. "$top_srcdir/tests/integration/relay-lib.sh"
. "$top_srcdir/tests/integration/faults-lib.sh"
pf_need_root
sesd_need
tmpdir_make

relay_sesd_start; ok $? "sesd starts"
ses_conf "$T/ses.conf" "Timeout 2s" "ConnectTimeout 1s" "RetryTime 4s"
pf_with_relay pipe "$T/ses.conf"
pf_start; ok $? "private Postfix instance with the pipe transport starts"

faults_no_loss pipe 40 2002

if grep -q "testSecretKey" "$T/ses.log" "$PF_DIR/maillog" "$T/relay.out" 2>/dev/null; then
    ok 1 "no secret key in any log"; else ok 0 "no secret key in any log"; fi
tap_done
