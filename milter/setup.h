/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * setup.h - what ses-milter sets up around libmilter (the rest is ses_daemon.h)
 *
 * setup_open_socket() has libmilter create the socket (smfi_opensocket)
 * under a umask that gives a unix socket exactly SocketMode, then, when
 * started as root, hands it to the milter's user and group (or keeps the
 * group of a set-group-ID directory, e.g. Postfix's) without following a
 * link put in its place (daemon_socket_chown);
 * setup_tcp_nodelay() sets TCP_NODELAY on the process's listening TCP
 * sockets - libmilter's, just opened by smfi_opensocket() - and Linux hands
 * it down to every connection accepted on them, so no answer of several
 * small writes waits for a delayed ACK (Nagle); libmilter exposes neither
 * the socket nor its accept(). setup_signals() blocks SIGHUP,
 * SIGUSR1, SIGTERM and SIGINT in every thread and starts the thread that
 * calls reload() at each SIGHUP or SIGUSR1 (libmilter keeps handling
 * SIGTERM and SIGINT: a clean stop).
 *
 * DIAGNOSTICS
 *   setup_tcp_nodelay() returns the number of sockets changed, or -1 when
 *   /proc/self/fd cannot be read or a setsockopt() fails. The others
 *   return 0, or -1 with a message in err. None exits.
 */
#ifndef SES_MILTER_SETUP_H
#define SES_MILTER_SETUP_H

#include "ses_daemon.h"

/* sock is the libmilter spec given to smfi_setconn(); u may be NULL. */
int setup_open_socket(const char *sock, const char *mode,
                      const daemon_user_t *u, char *err, size_t errlen);
int setup_tcp_nodelay(void);
int setup_signals(void (*reload)(void), char *err, size_t errlen);

#endif
