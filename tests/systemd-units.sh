#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# contrib/systemd: the units pass systemd-analyze verify (programs, man
# pages, syntax), are sandboxed, reload with SIGHUP after a config check,
# and the installed copies carry the configured paths.
. "${top_srcdir:-.}/tests/lib.sh"
tmpdir_make
S=$top_srcdir
B=$top_builddir
UNITS="ses-milter ses-relay ses-feedback ses-metrics"

# The units as `make` builds them: no placeholder left.
for u in $UNITS; do
    [ -f "$B/contrib/systemd/$u.service" ] && ! grep -q '@[a-z]*@' "$B/contrib/systemd/$u.service"
    ok $? "$u.service is built with the configured paths"
done

# For verify: the same units pointing at the programs of this build, and
# the man pages of this tree on MANPATH (Documentation= is checked).
mkdir -p "$T/sbin" "$T/man/man5" "$T/man/man8" "$T/units"
for p in milter/ses-milter relay/ses-relay relay/ses-feedback relay/ses-metrics; do
    ln -s "$B/$p" "$T/sbin/$(basename $p)"
done
cp "$S"/man/*.8 "$T/man/man8/"; cp "$S"/man/*.5 "$T/man/man5/"
for u in $UNITS; do
    sed -e "s|@sbindir@|$T/sbin|g" -e "s|@sysconfdir@|/etc|g" \
        "$S/contrib/systemd/$u.service.in" > "$T/units/$u.service"
done

if command -v systemd-analyze >/dev/null 2>&1; then
    for u in $UNITS; do
        out=$(cd "$T/units" && MANPATH="$T/man" systemd-analyze verify "./$u.service" 2>&1); rc=$?
        is "$rc:$out" "0:" "$u.service passes systemd-analyze verify"
    done
    for u in $UNITS; do
        level=$(cd "$T/units" && systemd-analyze security --offline=yes "./$u.service" 2>/dev/null |
                sed -n 's/.*Overall exposure level for .*: \([0-9.]*\) .*/\1/p')
        if [ -n "$level" ]; then
            awk -v l="$level" 'BEGIN { exit !(l < 3.0) }'
            ok $? "$u.service exposure level $level is below 3.0 (systemd-analyze security)"
        else
            skip "$u.service exposure level" "systemd-analyze security --offline not supported"
        fi
    done
else
    for u in $UNITS; do skip "$u.service verify" "no systemd-analyze"; done
fi

# Structure: the sandbox and the operations every unit must have.
for u in $UNITS; do
    f=$S/contrib/systemd/$u.service.in
    missing=""
    for line in 'ProtectSystem=strict' 'NoNewPrivileges=yes' 'PrivateTmp=yes' \
                'CapabilityBoundingSet=' 'ProtectHome=yes' 'User=ses-milter' \
                'ExecReload=/bin/kill -HUP $MAINPID' 'SyslogFacility=mail' \
                'StateDirectory=ses-milter'; do
        grep -qxF "$line" "$f" || missing="$missing [$line]"
    done
    is "$missing" "" "$u.service has the sandbox, the user, SIGHUP reload and mail logging"
    grep -Eq '^ReadWritePaths=(.* )?/var/lib/ses-milter( |$)' "$f"
    ok $? "$u.service may write only where it must: the data directory"
    grep -q '^ExecStart=@sbindir@/' "$f"
    ok $? "$u.service starts its program from sbindir"
done
for u in ses-milter ses-relay; do
    grep -qx "RuntimeDirectory=$u" "$S/contrib/systemd/$u.service.in"
    ok $? "$u.service gets /run/$u for its socket"
done
grep -q -- '-l ${SES_RELAY_LISTEN}' "$S/contrib/systemd/ses-relay.service.in"
ok $? "ses-relay.service runs LMTP mode (-l)"
grep -q -- ' -Q$' "$S/contrib/systemd/ses-feedback.service.in"
ok $? "ses-feedback.service polls SQS (-Q)"
# Socket activation is shipped only when ses-relay supports it.
if grep -q LISTEN_FDS "$S/relay/ses-relay.c" 2>/dev/null; then
    [ -f "$S/contrib/systemd/ses-relay.socket" ]; ok $? "ses-relay.socket ships with socket activation"
else
    [ ! -f "$S/contrib/systemd/ses-relay.socket" ]; ok $? "no ses-relay.socket while ses-relay has no socket activation"
fi

tap_done
