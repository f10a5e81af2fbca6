# SPDX-License-Identifier: BSD-2-Clause
# tests/integration/sendmail-lib.sh - a private, real Sendmail 8.17 for tests
#
# Sourced after tests/lib.sh and harness.sh. Debian's sendmail-bin conflicts
# with postfix, so it is never installed: sm_fetch downloads it (apt-get
# download), with the libraries it needs that this machine lacks, unpacks
# it (dpkg-deb -x) into a private root and keeps that root for later runs in
# SENDMAIL_ROOT (default $top_builddir/tests/sendmail-root). The test then
# re-runs itself in mount, UTS and network namespaces of its own
# (sm_enter, sm_namespace): host name mta.test.example, its own /etc/hosts
# and /etc/resolv.conf (every DNS query fails at once), its own /dev whose
# /dev/log is read into $T/maillog (Sendmail logs only to syslog), the
# loopback interface only. Sendmail runs as root, as it must, with a cf
# and a queue under $T (sm_init checks that the cf names no system path)
# and its daemon on a free 127.0.0.1 port: the system's /etc/mail,
# /var/spool/mqueue and port 25 are never touched.
#
#   sm_fetch              the private root: SM_ROOT, SM_BIN (or SKIP, saying
#                         why, when it cannot be downloaded)
#   sm_enter "$0" "$@"    re-run the test script in its namespaces (once)
#   sm_namespace          set the namespaces up (after tmpdir_make);
#                         SM_VERSION, what the binary says it is
#   readme_block LINE     the README's fenced block whose first line is LINE
#   sm_init CONF          $T/sendmail: sendmail.cf built from the README's
#                         sendmail.mc lines with contrib/sendmail/*.mc as
#                         shipped (paths and the user aside: ses-relay runs
#                         as nobody with CONF), submit.cf for the sendmail
#                         command, the README's mailertable; @sender.example
#                         is delivered to mailboxes under $T/sendmail/mail
#   sm [ARGS...]          the private Sendmail with sendmail.cf
#   sm_start / sm_stop    the daemon (-bD, no queue runs of its own)
#   sm_queue_run          one queue run in the foreground (sendmail -qf)
#   sm_queue_ids          queue ids of the messages in the queue
#   sm_wait_tried QID S   wait until QID's delivery was tried (or it left)
#   sm_mailbox_count USER messages delivered to USER@sender.example
#   sm_mailbox USER       all of them, one after the other
#   sm_send FROM TO...    swaks into the daemon (TO comma-separated)
#   SM_SENDMAIL           a sendmail(1) for this instance (the MSP, with
#                         submit.cf), what ses-feedback's Sendmail key names

SM_CF=/usr/share/sendmail/cf

sm_fetch() {
    [ "$(id -u)" -eq 0 ] || tap_skip_all "Sendmail must run as root: run the test as root"
    [ -f "$SM_CF/m4/cf.m4" ] ||
        tap_skip_all "no Sendmail cf macros (Debian package sendmail-cf)"
    for _c in m4 unshare setpriv swaks dpkg-deb apt-get; do
        command -v $_c >/dev/null 2>&1 || tap_skip_all "$_c is not installed"
    done
    SM_ROOT=${SENDMAIL_ROOT:-$top_builddir/tests/sendmail-root}
    case $SM_ROOT in /*) ;; *) SM_ROOT=$(pwd)/$SM_ROOT ;; esac
    SM_BIN=$SM_ROOT/usr/libexec/sendmail/sendmail
    [ -x "$SM_BIN" ] || sm_unpack
    SM_LIBS=$(find "$SM_ROOT" -name 'lib*.so*' -exec dirname {} \; | sort -u |
        tr '\n' ':')
    export SENDMAIL_ROOT=$SM_ROOT
}

# Downloads sendmail-bin and the libraries it depends on that are not
# installed, unpacks them into a new directory and renames it SM_ROOT (so a
# run interrupted half-way, or another one beside it, leaves no half root).
sm_unpack() {
    _tmp=$SM_ROOT.tmp.$$
    rm -rf "$_tmp"
    mkdir -p "$_tmp/debs" "$_tmp/root" || tap_skip_all "cannot create $_tmp"
    _pkgs=sendmail-bin
    for _p in $(apt-cache depends sendmail-bin 2>/dev/null |
                sed -n 's/^ *Depends: \(lib[^ <>]*\)$/\1/p'); do
        dpkg-query -W -f='${Status}' "$_p" 2>/dev/null | grep -q 'ok installed' ||
            _pkgs="$_pkgs $_p"
    done
    if ! (cd "$_tmp/debs" &&
          apt-get download -o APT::Sandbox::User=root $_pkgs) > "$_tmp/get.log" 2>&1; then
        _why=$(grep -E '^(E|Err)' "$_tmp/get.log" | head -1)
        rm -rf "$_tmp"
        tap_skip_all "cannot download Sendmail from Debian's archive (apt-get download $_pkgs): ${_why:-no reason given}"
    fi
    for _d in "$_tmp"/debs/*.deb; do
        dpkg-deb -x "$_d" "$_tmp/root" || { rm -rf "$_tmp"; return 1; }
    done
    # Set-group-id programs would ignore LD_LIBRARY_PATH; they run as root
    # here and need no bit.
    find "$_tmp/root" -type f -perm -2000 -exec chmod g-s {} +
    mkdir -p "$(dirname "$SM_ROOT")"
    mv -T "$_tmp/root" "$SM_ROOT" 2>/dev/null || true # a parallel run won
    rm -rf "$_tmp"
}

sm_enter() {
    [ -n "${SM_IN_NAMESPACE:-}" ] && return 0
    unshare -m -u -n true 2>/dev/null ||
        tap_skip_all "cannot create mount, UTS and network namespaces (unshare -m -u -n)"
    SM_IN_NAMESPACE=1 exec unshare -m -u -n /bin/sh "$@"
}

sm_namespace() {
    printf '127.0.0.1\tlocalhost mta.test.example\n::1\tlocalhost\n192.0.2.1\tsender.example\n' \
        > "$T/hosts"
    printf 'nameserver 127.0.0.1\n' > "$T/resolv.conf"
    mount --bind "$T/hosts" /etc/hosts &&
    mount --bind "$T/resolv.conf" /etc/resolv.conf &&
    hostname mta.test.example && ip link set lo up || return 1
    # /dev of its own: the devices programs use, and /dev/log.
    mkdir "$T/dev" && mount -t tmpfs -o mode=0755,size=1m sm-dev "$T/dev" || return 1
    for _n in null zero full random urandom tty; do
        [ -e /dev/$_n ] && touch "$T/dev/$_n" && mount --bind /dev/$_n "$T/dev/$_n"
    done
    for _n in pts shm; do
        [ -d /dev/$_n ] && mkdir "$T/dev/$_n" && mount --rbind /dev/$_n "$T/dev/$_n"
    done
    ln -s /proc/self/fd "$T/dev/fd"
    for _n in stdin:0 stdout:1 stderr:2; do ln -s "fd/${_n#*:}" "$T/dev/${_n%:*}"; done
    mount --move "$T/dev" /dev || return 1
    : > "$T/maillog"
    $PY -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("/dev/log")
out = open(sys.argv[1], "ab", buffering=0)
while True:
    out.write(s.recv(16384).rstrip(b"\n") + b"\n")' "$T/maillog" &
    add_cleanup "kill $! 2>/dev/null"
    wait_for 10 test -S /dev/log && chmod 666 /dev/log || return 1
    # Only now: outside, an unqualified host name makes Sendmail sleep 60 s.
    SM_VERSION=$(LD_LIBRARY_PATH=$SM_LIBS "$SM_BIN" -d0.1 -bt -C /dev/null \
        </dev/null 2>/dev/null | sed -n 's/^Version //p')
}

# readme_block LINE: the fenced block of README.md that starts with LINE.
readme_block() {
    awk -v first="$1" '
        /^```/ { if (inb) exit; fence = 1; next }
        fence && $0 == first { inb = 1 }
        { fence = 0 }
        inb { print }' "$top_srcdir/README.md"
}

sm() { LD_LIBRARY_PATH=$SM_LIBS "$SM_BIN" -C "$SM_DIR/sendmail.cf" "$@"; }

sm_init() {
    SM_DIR=$T/sendmail
    SM_ETC=$SM_DIR/etc
    SM_PORT=$(free_port)
    mkdir -p "$SM_ETC" "$SM_DIR/mqueue" "$SM_DIR/clientmqueue" "$SM_DIR/mail" "$T/bin"
    chmod 700 "$SM_DIR/mqueue"
    chown root:nogroup "$SM_DIR/clientmqueue"
    chmod 770 "$SM_DIR/clientmqueue"
    # Mail for @sender.example (and for local users: postmaster) goes
    # into files here; the mailer "box" is the test's, not the README's.
    cat > "$SM_DIR/box" <<BOX
#!/bin/sh
d=$SM_DIR/mail/\${1%%@*}
mkdir -p "\$d" && cat > "\$d/\$(date +%s%N)"
BOX
    chmod 755 "$SM_DIR/box"
    # The shipped files, paths and user aside.
    sed -e "s|local:/run/ses-milter/ses-milter.sock|local:$T/milter.sock|" \
        "$top_srcdir/contrib/sendmail/ses-milter.mc" > "$SM_ETC/ses-milter.mc"
    sed -e "s|/usr/sbin/ses-relay|$B/relay/ses-relay|" \
        -e "s|/etc/ses-milter.conf|$1|" -e "s|U=ses-milter:ses-milter|U=nobody:nogroup|" \
        "$top_srcdir/contrib/sendmail/ses-relay.mc" > "$SM_ETC/ses-relay.mc"
    # What this instance needs on a test machine: its paths, its port, no
    # DNS, and deliveries even when the machine is busy (QueueLA).
    _site="divert(-1)
include(\`$SM_CF/m4/cf.m4')
divert(0)dnl
define(\`MAIL_SETTINGS_DIR', \`$SM_ETC/')dnl
define(\`confDOMAIN_NAME', \`mta.test.example')dnl
define(\`confDONT_PROBE_INTERFACES', \`True')dnl
define(\`confDONT_BLAME_SENDMAIL', \`TrustStickyBit')dnl
define(\`confTIME_ZONE', \`USE_TZ')dnl
define(\`confFORWARD_PATH', \`')dnl"
    {
        echo "$_site"
        cat <<MC
OSTYPE(\`linux')dnl
DOMAIN(\`generic')dnl
define(\`QUEUE_DIR', \`$SM_DIR/mqueue')dnl
define(\`confPID_FILE', \`$SM_DIR/sendmail.pid')dnl
define(\`confTO_IDENT', \`0')dnl
define(\`confQUEUE_LA', \`1000')dnl
define(\`confREFUSE_LA', \`1000')dnl
define(\`confDEF_USER_ID', \`nobody:nogroup')dnl
define(\`LOCAL_MAILER_PATH', \`$SM_DIR/box')dnl
define(\`LOCAL_MAILER_ARGS', \`box \$u')dnl
FEATURE(\`no_default_msa')dnl
DAEMON_OPTIONS(\`Port=$SM_PORT, Addr=127.0.0.1, Name=MTA')dnl
FEATURE(\`nocanonify')dnl
FEATURE(\`accept_unresolvable_domains')dnl
MC
        readme_block 'dnl /etc/mail/sendmail.mc' | sed "s|/etc/mail/|$SM_ETC/|g"
        printf 'Mbox,\tP=%s, F=Pn8S, S=EnvFromSMTP/HdrFromSMTP, R=EnvToSMTP,\n\tE=\\n, T=DNS/RFC822/SMTP, A=box $u\n' \
            "$SM_DIR/box"
    } > "$SM_DIR/sendmail.mc"
    {
        echo "$_site"
        cat <<MC
define(\`confCF_VERSION', \`Submit')dnl
define(\`__OSTYPE__', \`')dnl
define(\`MSP_QUEUE_DIR', \`$SM_DIR/clientmqueue')dnl
define(\`confPID_FILE', \`$SM_DIR/sm-client.pid')dnl
define(\`confRUN_AS_USER', \`nobody')dnl
define(\`RELAY_MAILER_ARGS', \`TCP \$h $SM_PORT')dnl
FEATURE(\`msp', \`[127.0.0.1]')dnl
MC
        readme_block 'dnl /etc/mail/submit.mc' | sed "s|ses-milter|nobody|g"
    } > "$SM_DIR/submit.mc"
    m4 "$SM_DIR/sendmail.mc" > "$SM_DIR/sendmail.cf" 2> "$SM_DIR/m4.err" &&
        m4 "$SM_DIR/submit.mc" > "$SM_DIR/submit.cf" 2>> "$SM_DIR/m4.err" || return 1
    readme_block '# /etc/mail/mailertable' | grep -v '^#' > "$SM_ETC/mailertable"
    printf 'sender.example\tbox:box\n' >> "$SM_ETC/mailertable"
    printf 'postmaster: root\nMAILER-DAEMON: postmaster\n' > "$SM_ETC/aliases"
    printf 'hosts files\naliases files\n' > "$SM_ETC/service.switch"
    : > "$SM_ETC/local-host-names"
    : > "$SM_ETC/helpfile"
    { LD_LIBRARY_PATH=$SM_LIBS "$SM_ROOT/usr/libexec/sendmail/makemap" \
          -C "$SM_DIR/sendmail.cf" hash "$SM_ETC/mailertable" < "$SM_ETC/mailertable" &&
      sm -bi; } > "$SM_DIR/maps.out" 2>&1 || {
        diag "makemap or newaliases failed:"; sed 's/^/# /' "$SM_DIR/maps.out"; return 1; }
    cat > "$T/bin/sendmail" <<WRAP
#!/bin/sh
LD_LIBRARY_PATH=$SM_LIBS exec $SM_BIN -C $SM_DIR/submit.cf "\$@"
WRAP
    chmod 755 "$T/bin/sendmail"
    SM_SENDMAIL=$T/bin/sendmail
    add_cleanup sm_stop
}

sm_start() {
    rm -f "$SM_DIR/sendmail.pid"
    sm -bD > "$SM_DIR/daemon.out" 2>&1 &
    SM_PID=$!
    wait_for 20 $PY -c "import socket; socket.create_connection(('127.0.0.1', $SM_PORT), 1)" || {
        diag "sendmail did not start:"; sed 's/^/# /' "$SM_DIR/daemon.out"
        tail -5 "$T/maillog" | sed 's/^/# /'; return 1; }
}

sm_stop() {
    [ -n "${SM_PID:-}" ] && kill "$SM_PID" 2>/dev/null && wait "$SM_PID" 2>/dev/null
    SM_PID=
}

sm_queue_run() { sm -qf >/dev/null 2>&1; }

sm_queue_ids() { ls "$SM_DIR/mqueue" | sed -n 's/^qf//p'; }

# sm_wait_tried QID SECS: until the queue file records a try (N1) or the
# message has left the queue.
sm_wait_tried() {
    wait_for "${2:-30}" sh -c "[ ! -f '$SM_DIR/mqueue/qf$1' ] || grep -q '^N[1-9]' '$SM_DIR/mqueue/qf$1'"
}

sm_mailbox_count() { find "$SM_DIR/mail/$1" -type f 2>/dev/null | wc -l; }

sm_mailbox() { cat "$SM_DIR/mail/$1"/* 2>/dev/null; }

# swaks into the instance: sm_send FROM TO[,TO...] [swaks options...]
sm_send() {
    _from=$1; _to=$2; shift 2
    swaks --silent 2 --server 127.0.0.1 --port "$SM_PORT" \
        --from "$_from" --to "$_to" "$@"
}
