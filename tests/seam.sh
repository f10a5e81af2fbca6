#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# The seam (milter/seam.c) is the only place that takes over a library
# call, and the build still lets it: ses-milter exports exactly read(),
# sigwait() and PEM_read_bio_PrivateKey() among the functions its shared
# libraries define (a static or LTO build that hides them fails here),
# defines no other such function, no other program defines any, and
# libmilter and libopendkim still import what the seam replaces (a
# library that reads with recv() or parses keys another way fails here).
# That they really call through at run time is checked in tests/milter.sh.
. "${top_srcdir:-.}/tests/lib.sh"
command -v nm >/dev/null 2>&1 || tap_skip_all "no nm (binutils)"
command -v ldd >/dev/null 2>&1 || tap_skip_all "no ldd"
tmpdir_make
B=$top_builddir
M=$B/milter/ses-milter
SEAM="PEM_read_bio_PrivateKey read sigwait"

# the functions the shared libraries of program $1 define
lib_defined() {
    for l in $(ldd "$1" | awk '$3 ~ /^\// { print $3 }'); do
        nm -D --defined-only "$l" 2>/dev/null |
            awk '$2 ~ /^[TWi]$/ { sub(/@.*/, "", $3); print $3 }'
    done | sort -u
}
# the global functions program $1 defines that its libraries define too
taken() {
    lib_defined "$1" > "$T/lib-defined"
    nm --defined-only "$1" | awk '$2 ~ /^[TW]$/ { print $3 }' | sort -u |
        comm -12 - "$T/lib-defined" | tr '\n' ' ' | sed 's/ $//'
}
libs=$(ldd "$M" | awk '$3 ~ /^\// { print $3 }')
libpath() { printf '%s\n' "$libs" | grep "/$1\.so" | head -1; }
lib_defined "$M" > "$T/lib-defined"

nm -D --defined-only "$M" | awk '{ print $3 }' | sort -u > "$T/exported"
comm -12 "$T/exported" "$T/lib-defined" | tr '\n' ' ' | sed 's/ $//' > "$T/taken"
is "$(cat "$T/taken")" "$SEAM" \
    "ses-milter exports exactly the seam's three library functions"

is "$(taken "$M")" "$SEAM" "ses-milter defines no other function of its libraries"
others=
for p in milter/ses-keygen relay/ses-relay relay/ses-feedback \
         relay/ses-suppress relay/ses-metrics; do
    t=$(taken "$B/$p"); [ -z "$t" ] || others="$others $p: $t"
done
is "$others" "" "no other program defines a function of its libraries"

milter=$(libpath libmilter); dkim=$(libpath libopendkim)
imports() { nm -D --undefined-only "$1" | awk '{ sub(/@.*/, "", $2); print $2 }' | grep -cx "$2"; }
is "$(imports "$milter" read):$(imports "$milter" sigwait)" "1:1" \
    "libmilter reads commands with read() and waits for signals with sigwait()"
is "$(imports "$dkim" PEM_read_bio_PrivateKey)" 1 \
    "libopendkim parses private keys with PEM_read_bio_PrivateKey()"

tap_done
