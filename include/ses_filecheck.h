/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ses_filecheck.h - who besides root and us can change (or read) a file
 *
 * A file that steers mail or runs commands - the configuration, RulesFile,
 * KeyTable, SigningTable, the AWS credentials and config files (whose
 * credential_process runs), the Sendmail program - is trusted only when
 * nobody but root and the user this process runs as ("us") can change it:
 *
 *   - its owner is root or us (an owner can always chmod and write);
 *   - it is not writable by every user;
 *   - it is not writable by a group that has another member (a user other
 *     than root and us whose primary group it is, or who is listed in it);
 *   - no directory on its real path (symbolic links resolved) lets anyone
 *     else replace it: each one is owned by root or us and not writable by
 *     others or by a group with other members - unless it has the sticky
 *     bit (like /tmp) and the next component belongs to root or us.
 *
 * filecheck_writers() applies these rules and words a refusal for a
 * configuration file. filecheck_why() applies them for FILECHECK_WRITE, or
 * for FILECHECK_READ - private keys, opendkim's RequireSafeKeys: nobody
 * but root and us may read or write the file (owner, every user, a group
 * with another member), and no directory above lets others replace it -
 * and gives the bare reason ("is readable or writable by group G, which
 * has other members (e.g. \"postfix\")"). filecheck_group_others() tells
 * whether a group has a member other than root and a given user, and
 * names one.
 *
 * DIAGNOSTICS
 *   filecheck_writers() returns FILECHECK_OK, FILECHECK_UNSAFE with
 *   "PATH: refused: reason; what to do" in err, or FILECHECK_ERROR with
 *   the reason in err (the path cannot be resolved, or the file changed
 *   under us); filecheck_why() the same, with the reason alone. The user
 *   and group databases are read under a lock of this module (getpwent is
 *   not reentrant). Nothing logs.
 */
#ifndef SES_FILECHECK_H
#define SES_FILECHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

typedef enum {
    FILECHECK_OK = 0,
    FILECHECK_UNSAFE,
    FILECHECK_ERROR,
} filecheck_status_t;

/* opened: fstat() of the descriptor the caller read the file through (its
 * device and inode must match the path's), or NULL. me: the user the
 * program runs as, usually geteuid(). */
filecheck_status_t filecheck_writers(const char *path,
                                     const struct stat *opened, uid_t me,
                                     char *err, size_t errlen);
typedef enum {
    FILECHECK_WRITE = 2, /* others may not change it */
    FILECHECK_READ = 6,  /* others may not read or change it */
} filecheck_access_t;

filecheck_status_t filecheck_why(const char *path, const struct stat *opened,
                                 uid_t me, filecheck_access_t what, char *why,
                                 size_t whylen);

/* gid has a member (primary or listed) other than root and me; its name
 * goes to who when not NULL. */
bool filecheck_group_others(gid_t gid, uid_t me, char *who, size_t wholen);

#endif
