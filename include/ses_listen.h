/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ses_listen.h - listening sockets for the daemons: unix:PATH, inet:PORT@ADDR
 *
 * listen_open() creates the socket named by a spec:
 *   unix:PATH or local:PATH   a unix-domain socket, created with `mode`
 *                             (no window with wider permissions) and, when
 *                             uid/gid are not -1, handed to that owner so
 *                             e.g. the postfix user can connect. A stale
 *                             socket left by a killed process is replaced;
 *                             a live one (something answers) is an error,
 *                             and so is a path that is not a socket.
 *   inet:PORT[@ADDR]          TCP on ADDR (default 127.0.0.1)
 *   inet6:PORT[@ADDR]         TCP over IPv6 (default ::1)
 * listen_accept() returns a connected descriptor (close-on-exec; TCP
 * sockets get TCP_NODELAY so a reply never waits for a delayed ACK).
 * listen_close() closes and removes the unix socket if it is still the one
 * this process created.
 *
 * DIAGNOSTICS
 *   listen_open() returns LISTEN_OK, LISTEN_INVALID (bad spec, not a
 *   socket, no such user) or LISTEN_TEMPFAIL (address in use, permission,
 *   resources) with a message in err. listen_accept() returns -1 with
 *   errno. Nothing logs.
 */
#ifndef SES_LISTEN_H
#define SES_LISTEN_H

#include <stddef.h>
#include <sys/types.h>

typedef enum {
    LISTEN_OK = 0,
    LISTEN_INVALID,
    LISTEN_TEMPFAIL,
} listen_status_t;

typedef struct {
    const char *spec;
    unsigned mode; /* unix sockets: permissions, e.g. 0660 */
    uid_t uid;     /* unix sockets: owner, or (uid_t)-1 */
    gid_t gid;     /* unix sockets: group, or (gid_t)-1 */
    int backlog;   /* 0: SOMAXCONN */
} listen_opts_t;

typedef struct listener listener_t;

listen_status_t listen_open(const listen_opts_t *o, listener_t **out, char *err,
                            size_t errlen);
int listen_fd(const listener_t *l);
int listen_is_unix(const listener_t *l);
const char *listen_path(const listener_t *l); /* unix path, else NULL */
int listen_accept(listener_t *l);
void listen_close(listener_t *l); /* NULL is fine */

#endif
