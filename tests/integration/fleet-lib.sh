# SPDX-License-Identifier: BSD-2-Clause
# tests/integration/fleet-lib.sh - mail hosts of one SES account on one
# machine, for tests/integration/fleet.sh and bench/fleet-rate.sh (sourced
# after tests/lib.sh, postfix.sh, harness.sh and relay-lib.sh, with sesd
# started)
#
#   fleet_need            skip unless UTS namespaces can be made
#   host_up I [LINES...]  host mtaI: a UTS namespace with that host name
#                         (unshare -u, entered with nsenter), everything
#                         under $T/hI: ses.conf (sesd_relay_conf with
#                         DataDirectory $T/hI/data, LogFile $T/hI/ses.log,
#                         LogLevel info, RetryTime 60s, Sendmail
#                         /usr/sbin/sendmail, LINES replacing any of
#                         them), a private Postfix delivering by LMTP
#                         to ses-relay -l, both inside the namespace
#   feedback_up I         ses-feedback -Q for host I, in its namespace,
#                         injecting DSNs into its Postfix (MAIL_CONFIG)
#   ns I / port I / conf I   the namespace's pid, Postfix's SMTP port, ses.conf

fleet_need() {
    command -v unshare >/dev/null 2>&1 && command -v nsenter >/dev/null 2>&1 ||
        tap_skip_all "unshare/nsenter (util-linux) missing"
    unshare -u true 2>/dev/null || tap_skip_all "cannot make a UTS namespace here"
}

ns() { eval "echo \$NS$1"; }
port() { eval "echo \$PORT$1"; }
conf() { echo "$T/h$1/ses.conf"; }

host_up() {
    hd=$T/h$1
    hn=$1
    shift
    mkdir -p "$hd/data"
    unshare -u sh -c "hostname mta$hn && exec sleep 100000" &
    eval "NS$hn=$!"
    add_cleanup "kill $! 2>/dev/null"
    wait_for 10 sh -c "[ \"\$(nsenter -t $! -u hostname)\" = mta$hn ]" || return 1
    # these lines unless LINES name the key
    for hl in "LogLevel info" "RetryTime 60s" "Sendmail /usr/sbin/sendmail"; do
        for x in "$@"; do [ "${x%% *}" = "${hl%% *}" ] && continue 2; done
        set -- "$@" "$hl"
    done
    sesd_relay_conf "$hd/ses.conf" "DataDirectory $hd/data" \
        "LogFile $hd/ses.log" "$@"
    pf_init "$hd/pf"
    pf_set "default_transport = lmtp:unix:$hd/lmtp.sock" \
           "myhostname = mta$hn.test.example" \
           "lmtp_destination_concurrency_limit = 10"
    add_cleanup "postfix -c $hd/pf/etc stop >/dev/null 2>&1"
    eval "PORT$hn=$PF_PORT"
    nsenter -t "$(ns "$hn")" -u postfix -c "$PF_ETC" start >/dev/null 2>&1 || return 1
    wait_for 20 $PY -c "import socket; socket.create_connection(('127.0.0.1', $PF_PORT), 1)" ||
        return 1
    nsenter -t "$(ns "$hn")" -u "$B/relay/ses-relay" -F -c "$hd/ses.conf" \
        -l "unix:$hd/lmtp.sock" >> "$hd/relay.out" 2>&1 &
    add_cleanup "kill $! 2>/dev/null"
    wait_for 10 $PY -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])' "$hd/lmtp.sock" ||
        return 1
    chmod 666 "$hd/lmtp.sock"
}

feedback_up() {
    MAIL_CONFIG=$T/h$1/pf/etc nsenter -t "$(ns "$1")" -u "$B/relay/ses-feedback" \
        -c "$(conf "$1")" -Q -f >> "$T/h$1/feedback.out" 2>&1 &
    add_cleanup "kill $! 2>/dev/null"
}
