/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ses_daemon.h - what a long-running program does around its work
 *
 * daemon_user_lookup() resolves "user[:group]" (names or numbers; ":group"
 * alone) for socket owners; a numeric user takes its name and group from
 * its passwd entry when it has one. daemon_userid_lookup() does the same
 * for UserID and refuses what would leave root's uid or gid in place: no
 * user (":group"), or a uid without a passwd entry and no group given.
 * daemon_detach() forks into the background and starts a new session,
 * stdio on /dev/null.
 * daemon_pidfile_write() writes the process id (0644, replaced atomically;
 * a symbolic link planted under the file's name or its temporary name is
 * replaced, never followed); daemon_pidfile_remove() removes it only if it
 * still names this process.
 * daemon_socket_chown() gives the unix socket this process just created
 * at path to uid:gid without following a link: it must still be a socket
 * of this process's user with a single name (else -1, nothing changed);
 * in a set-group-ID directory the socket keeps the directory's group.
 * daemon_drop_privileges() switches to the user and group (real,
 * effective and saved ids; the user's supplementary groups, or only the
 * group when the uid has no passwd entry) when running as root, and checks
 * that root cannot be regained.
 * daemon_core_dumps() decides whether the kernel may dump this process's
 * memory (EnableCoredumps): no makes the process non-dumpable (no core
 * file, no ptrace or /proc/PID/mem for other processes of the same user)
 * and sets the core size limit to 0; yes asks for dumps explicitly. The
 * choice is re-applied after daemon_drop_privileges(), since setuid()
 * resets it.
 * daemon_catch_signals() sends SIGTERM, SIGINT and SIGHUP to handler (no
 * SA_RESTART: a blocking call returns EINTR so the loop sees the flag the
 * handler set) and ignores SIGPIPE.
 *
 * DIAGNOSTICS
 *   Every function returns 0, or -1 with a message in err. Nothing logs or
 *   exits, except that daemon_detach()'s parent exits 0 once the child runs.
 */
#ifndef SES_DAEMON_H
#define SES_DAEMON_H

#include <stddef.h>
#include <sys/types.h>

typedef struct {
    uid_t uid; /* (uid_t)-1 when only a group was given */
    gid_t gid; /* the user's primary group, or the named group */
    char name[64];
} daemon_user_t;

int daemon_user_lookup(const char *spec, daemon_user_t *out, char *err,
                       size_t errlen);
int daemon_userid_lookup(const char *spec, daemon_user_t *out, char *err,
                         size_t errlen);
int daemon_detach(char *err, size_t errlen);
int daemon_pidfile_write(const char *path, char *err, size_t errlen);
int daemon_socket_chown(const char *path, uid_t uid, gid_t gid, char *err,
                        size_t errlen);
void daemon_pidfile_remove(const char *path);
int daemon_drop_privileges(const daemon_user_t *u, char *err, size_t errlen);
void daemon_core_dumps(int allow);
void daemon_catch_signals(void (*handler)(int));

#endif
