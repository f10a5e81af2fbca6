#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# tests/fuzz/libfuzzer.sh - a bounded libFuzzer run of every fuzz target
#
#   tests/fuzz/libfuzzer.sh [SECONDS]      (default $FUZZ_SECONDS, else 20)
#
# Builds the targets with clang, libFuzzer, ASan and UBSan (the library
# instrumented too) in _fuzz/build, out of the way of the main build, and
# fuzzes each for SECONDS from its seed corpus (tests/fuzz/corpus/NAME).
# Any crash, leak, UB report or timeout fails that target; the input that
# did it is kept as _fuzz/artifacts/NAME-* (add it to the seed corpus when
# the bug is fixed). Prints TAP. tests/run runs it; FUZZ_SECONDS=0 skips.
#
# A VPATH build needs a source tree that was never configured in place;
# when this one was (tests/run configures it so), the build uses a copy
# made by `make distdir`, which also proves the targets are in the tarball.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
secs=${1:-${FUZZ_SECONDS:-20}}
out=$top/_fuzz
targets="notify csv conf rules headers aws lmtp"
jobs=$(nproc 2>/dev/null || echo 2)
n=0

echo "1..8"
if [ "$secs" = 0 ]; then
    echo "ok 1 # SKIP FUZZ_SECONDS=0"
    for t in $targets; do n=$((n + 1)); echo "ok $((n + 1)) fuzz_$t # SKIP"; done
    exit 0
fi

build() {
    src=$top
    rm -rf "$out/src" && mkdir -p "$out/build" || return 1
    if [ -f "$top/config.status" ]; then
        make -C "$top" distdir distdir="$out/src" >"$out/distdir.log" 2>&1 ||
            return 1
        src=$out/src
    elif [ ! -x "$top/configure" ]; then
        (cd "$top" && autoreconf -fi) || return 1
    fi
    cd "$out/build" || return 1
    # configure again only when the flags or the sources changed
    if [ ! -f Makefile ] || [ "$src/configure" -nt Makefile ]; then
        "$src/configure" CC=clang \
            CFLAGS='-g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all' \
            --enable-fuzzing --enable-werror --disable-integration-tests \
            >configure.log 2>&1 || return 1
    fi
    make -j"$jobs" $(for t in $targets; do printf 'tests/fuzz/fuzz_%s ' "$t"; done) \
        >make.log 2>&1
}

if ! command -v clang >/dev/null; then
    echo "not ok 1 - clang is missing (Debian package clang)"
    exit 1
fi
if build; then
    echo "ok 1 - the fuzz targets build with clang, libFuzzer, ASan and UBSan"
else
    echo "not ok 1 - the fuzz targets build (see $out/build/*.log)"
    tail -20 "$out/build/make.log" "$out/build/configure.log" 2>/dev/null | sed 's/^/# /'
    exit 1
fi

mkdir -p "$out/artifacts"
n=1
for t in $targets; do
    n=$((n + 1))
    seeds=
    [ -d "$top/tests/fuzz/corpus/$t" ] && seeds=$top/tests/fuzz/corpus/$t
    extra=
    case $t in
    notify) extra=$top/tests/data/feedback; len=65536 ;;
    lmtp) len=16384 ;;
    *) len=8192 ;;
    esac
    work=$out/work/$t
    rm -rf "$work" && mkdir -p "$work"
    log=$out/fuzz_$t.log
    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
    UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
    timeout $((secs + 120)) "$out/build/tests/fuzz/fuzz_$t" \
        -max_total_time="$secs" -max_len="$len" -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$out/artifacts/$t-" \
        "$work" $seeds $extra >"$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    if [ "$rc" -eq 0 ] && ! grep -qE '^(==[0-9]+==ERROR|SUMMARY: )|runtime error:' "$log"; then
        echo "ok $n - fuzz_$t: ${execs:-?} runs in ${secs}s, no crash, leak or UB"
    else
        echo "not ok $n - fuzz_$t (exit $rc; log $log)"
        grep -E 'ERROR|runtime error|SUMMARY|Test unit written|^#0 |^    #[0-9] ' "$log" | head -20 | sed 's/^/# /'
    fi
done
