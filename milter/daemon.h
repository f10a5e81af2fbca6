/*
 * daemon.h - running as a Unix daemon: user, socket, pid file, signals
 *
 * daemon_user_resolve() reads UserID ("user[:group]"); daemon_socket_perms()
 * gives a unix socket its SocketMode and the milter's user and group, so
 * Postfix (a member of that group) can connect; daemon_drop_privileges()
 * switches to the user for good (groups first, then the user, then a check
 * that root cannot be regained); daemon_pidfile_write()/_remove() handle
 * PidFile; daemon_signals_start() blocks SIGHUP/SIGTERM/SIGINT in every
 * thread and starts the thread that calls reload() at each SIGHUP (libmilter
 * keeps handling SIGTERM and SIGINT: a clean stop).
 *
 * DIAGNOSTICS
 *   Each function returns 0, or -1 with a message in err. None exits.
 */
#ifndef SES_MILTER_DAEMON_H
#define SES_MILTER_DAEMON_H

#include <stddef.h>
#include <sys/types.h>

typedef struct {
    char name[64];
    uid_t uid;
    gid_t gid;
} daemon_user_t;

int daemon_user_resolve(const char *spec, daemon_user_t *u, char *err,
                        size_t errlen);
/* sock is the libmilter spec; only unix:/local: sockets are touched. */
int daemon_socket_perms(const char *sock, const char *mode,
                        const daemon_user_t *u, char *err, size_t errlen);
int daemon_drop_privileges(const daemon_user_t *u, char *err, size_t errlen);
int daemon_pidfile_write(const char *path, char *err, size_t errlen);
void daemon_pidfile_remove(const char *path);
int daemon_signals_start(void (*reload)(void), char *err, size_t errlen);

#endif
