# SPDX-License-Identifier: BSD-2-Clause
# tests/integration/postfix.sh - a private Postfix instance for tests
#
# Sourced after tests/lib.sh. Everything lives under one directory: config,
# queue, data, mailboxes and the mail log (maillog_file, so no syslogd is
# needed). smtpd listens on a free 127.0.0.1 port. The instance runs with
# the system's postfix/postdrop accounts and must be started as root, as
# Postfix itself requires.
#
#   pf_init DIR          write DIR/etc/{main,master}.cf; sets PF_DIR, PF_PORT
#   pf_set KEY=VALUE...  change main.cf (postconf -e)
#   pf_service LINE...   append a master.cf service (continuation lines ok)
#   pf_start / pf_stop   start and stop the instance
#   pf_wait_empty SECS   wait until the queue is empty
#   pf_queue_count       messages in the queue
#   pf_flush             retry deferred mail now
#   pf_mailbox USER      maildir of USER@sender.example (local delivery)
#   pf_log               the instance's mail log
#
# Mail for @sender.example is delivered to maildirs under DIR/mail (virtual(8)
# as nobody; users alice bob carol dave erin frank grace sender postmaster and
# those in PF_MAILBOXES), so bounces and DSNs to senders can be read by tests; anything
# else goes to default_transport, which tests point at ses-relay.

pf_need_root() {
    [ "$(id -u)" -eq 0 ] || tap_skip_all "Postfix tests must run as root (Postfix's master runs as root)"
    command -v postfix >/dev/null 2>&1 || tap_skip_all "postfix is not installed"
    id postfix >/dev/null 2>&1 || tap_skip_all "no postfix user"
}

pf_init() {
    PF_DIR=$1
    PF_PORT=$(free_port)
    PF_ETC=$PF_DIR/etc
    mkdir -p "$PF_ETC" "$PF_DIR/queue" "$PF_DIR/data" "$PF_DIR/mail"
    chown nobody:nogroup "$PF_DIR/mail"
    chown postfix "$PF_DIR/data"
    cat > "$PF_ETC/main.cf" <<MAIN
compatibility_level = 3.6
queue_directory = $PF_DIR/queue
data_directory = $PF_DIR/data
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
shlib_directory = /usr/lib/postfix
mail_owner = postfix
setgid_group = postdrop
syslog_name = postfix-test
maillog_file = $PF_DIR/maillog
maillog_file_prefixes = $PF_DIR
myhostname = mta.test.example
mydomain = test.example
myorigin = \$myhostname
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_banner = \$myhostname ESMTP test
biff = no
append_dot_mydomain = no
virtual_mailbox_domains = sender.example
virtual_mailbox_base = $PF_DIR/mail
virtual_mailbox_maps = texthash:$PF_ETC/vmailbox
virtual_uid_maps = static:$(id -u nobody)
virtual_gid_maps = static:$(id -g nobody)
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
delay_warning_time = 0
smtp_dns_support_level = disabled
disable_dns_lookups = yes
MAIN
    # virtual(8) refuses regexp substitutions ($1) in its maps, so each
    # mailbox is listed: PF_MAILBOXES (blank separated) adds more.
    for _u in alice bob carol dave erin frank grace sender postmaster \
              ${PF_MAILBOXES:-}; do
        printf '%s@sender.example %s/\n' "$_u" "$_u"
    done > "$PF_ETC/vmailbox"
    cat > "$PF_ETC/master.cf" <<MASTER
127.0.0.1:$PF_PORT inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
MASTER
    add_cleanup pf_stop
}

pf_set() { postconf -c "$PF_ETC" -e "$@"; }

pf_service() { printf '%s\n' "$@" >> "$PF_ETC/master.cf"; }

pf_start() {
    postfix -c "$PF_ETC" check >/dev/null 2>&1 || true
    postfix -c "$PF_ETC" start >/dev/null 2>&1 || {
        diag "postfix failed to start:"; tail -20 "$PF_DIR/maillog" 2>/dev/null | sed 's/^/# /'
        return 1
    }
    wait_for 20 sh -c "exec 3<>/dev/tcp/127.0.0.1/$PF_PORT" 2>/dev/null ||
        wait_for 20 /usr/bin/python3 -c "import socket; socket.create_connection(('127.0.0.1', $PF_PORT), 1)"
}

pf_stop() {
    [ -n "${PF_ETC:-}" ] && postfix -c "$PF_ETC" stop >/dev/null 2>&1 || true
}

pf_reload() { postfix -c "$PF_ETC" reload >/dev/null 2>&1; }

pf_flush() { postqueue -c "$PF_ETC" -f >/dev/null 2>&1 || true; }

pf_queue_count() {
    find "$PF_DIR/queue/incoming" "$PF_DIR/queue/active" \
         "$PF_DIR/queue/deferred" "$PF_DIR/queue/maildrop" \
         "$PF_DIR/queue/hold" -type f 2>/dev/null | wc -l
}

pf_queue_empty() { [ "$(pf_queue_count)" -eq 0 ]; }

pf_wait_empty() { wait_for "${1:-30}" pf_queue_empty; }

pf_mailbox() { echo "$PF_DIR/mail/$1"; }

# Number of messages delivered to USER@sender.example.
pf_mailbox_count() {
    find "$PF_DIR/mail/$1/new" -type f 2>/dev/null | wc -l
}

pf_log() { cat "$PF_DIR/maillog" 2>/dev/null; }

# swaks into the instance: pf_send FROM TO[,TO...] [swaks options...]
pf_send() {
    _from=$1; _to=$2; shift 2
    swaks --silent 2 --server 127.0.0.1 --port "$PF_PORT" \
        --from "$_from" --to "$_to" "$@"
}
