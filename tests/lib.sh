# SPDX-License-Identifier: BSD-2-Clause
# tests/lib.sh - TAP helpers for the script tests (sourced, POSIX sh)
#
# tap_plan N; ok COND-EXIT-STATUS "description"; tap_skip_all "why";
# tap_done (exits with failure when any test failed).

: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
export top_srcdir top_builddir

TAP_N=0
TAP_FAILED=0

tap_plan() { echo "1..$1"; }

tap_skip_all() { echo "1..0 # SKIP $*"; exit 0; }

# ok STATUS DESCRIPTION: STATUS 0 passes.
ok() {
    TAP_N=$((TAP_N + 1))
    if [ "$1" -eq 0 ]; then
        echo "ok $TAP_N - $2"
    else
        echo "not ok $TAP_N - $2"
        TAP_FAILED=$((TAP_FAILED + 1))
    fi
}

skip() { TAP_N=$((TAP_N + 1)); echo "ok $TAP_N - $1 # SKIP $2"; }

diag() { printf '# %s\n' "$@"; }

# is ACTUAL EXPECTED DESCRIPTION
is() {
    if [ "$1" = "$2" ]; then ok 0 "$3"; else
        ok 1 "$3"; diag "got:      '$1'" "expected: '$2'"; fi
}

# like TEXT PATTERN DESCRIPTION (grep -E pattern)
like() {
    if printf '%s\n' "$1" | grep -Eq -- "$2"; then ok 0 "$3"; else
        ok 1 "$3"; diag "text:    '$1'" "pattern: '$2'"; fi
}

tap_done() {
    echo "1..$TAP_N"
    [ "$TAP_FAILED" -eq 0 ]
}

# A private scratch directory removed at exit (kept with KEEP_TEST_DIR=1).
# SIGINT, SIGTERM and SIGHUP exit with ON_SIGNAL_STATUS (default 128+2,
# 128+15, 128+1 like a shell killed by them; the demo sets 0), and the exit
# runs the cleanup: first every add_cleanup command (newest first), then
# the directory. The cleanup cannot be cut short: it runs without set -e,
# ignores each command's failure and the signals that started it, and
# removes the directory only once the processes are gone.
tmpdir_make() {
    T=$(mktemp -d "${TMPDIR:-/tmp}/ses-test.XXXXXX")
    chmod 755 "$T"
    trap 'tmpdir_cleanup' EXIT
    trap 'tmpdir_signal 130' INT
    trap 'tmpdir_signal 143' TERM
    trap 'tmpdir_signal 129' HUP
}
tmpdir_signal() {
    trap '' INT TERM HUP
    exit "${ON_SIGNAL_STATUS:-$1}"
}
tmpdir_cleanup() {
    _st=$?
    set +e
    trap '' INT TERM HUP
    if [ -n "${TEST_CLEANUP:-}" ]; then
        _c=$TEST_CLEANUP
        TEST_CLEANUP=
        eval "$_c" || :
    fi
    if [ -z "${KEEP_TEST_DIR:-}" ] && [ -n "${T:-}" ] && [ -d "$T" ]; then
        rm -rf "$T" 2>/dev/null || { sleep 1; rm -rf "$T"; }
    fi
    return "$_st"
}
add_cleanup() { TEST_CLEANUP="$1 || :; ${TEST_CLEANUP:-}"; }

# proc_stop PID: SIGTERM, then SIGKILL if it is still there after
# PROC_STOP_WAIT seconds (10); reaps it when it is this shell's child.
proc_stop() {
    kill "$1" 2>/dev/null || return 0
    _i=0
    while [ "$_i" -lt "$(( ${PROC_STOP_WAIT:-10} * 10 ))" ] &&
          ps -o stat= -p "$1" 2>/dev/null | grep -qv '^Z'; do
        sleep 0.1; _i=$((_i + 1))
    done
    kill -9 "$1" 2>/dev/null
    wait "$1" 2>/dev/null
    return 0
}

# A free TCP port on 127.0.0.1.
free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_for SECONDS COMMAND...: polls until COMMAND succeeds.
wait_for() {
    _w=$1; shift
    _end=$(( $(date +%s) + _w ))
    while ! "$@" >/dev/null 2>&1; do
        [ "$(date +%s)" -ge "$_end" ] && return 1
        sleep 0.1
    done
    return 0
}
