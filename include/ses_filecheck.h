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
 * filecheck_writers() applies these rules; filecheck_readers() applies the
 * same rules to reading, for private keys (the file itself only, like
 * opendkim's check: owner root or us, no read or write for others or for
 * a group with other members). filecheck_group_others() tells whether a
 * group has a member other than root and a given user, and names one.
 *
 * DIAGNOSTICS
 *   filecheck_writers() and filecheck_readers() return FILECHECK_OK,
 *   FILECHECK_UNSAFE with "PATH: reason; what to do" in err, or
 *   FILECHECK_ERROR with the reason in err (the path cannot be resolved,
 *   or the file changed under us). The user and group databases are read
 *   under a lock of this module (getpwent is not reentrant). Nothing logs.
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
filecheck_status_t filecheck_readers(const char *path,
                                     const struct stat *opened, uid_t me,
                                     char *err, size_t errlen);

/* gid has a member (primary or listed) other than root and me; its name
 * goes to who when not NULL. */
bool filecheck_group_others(gid_t gid, uid_t me, char *who, size_t wholen);

#endif
