/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * filecheck.c - who besides root and us can change (or read) a file
 *
 * The path is resolved with realpath(3) and every directory from / down
 * is checked with stat(2); the file itself is checked through the caller's
 * fstat() when given, after making sure the path still names that file.
 *
 * DIAGNOSTICS
 *   See ses_filecheck.h.
 */
#include "config.h"

#include "ses_filecheck.h"
#include "ses_util.h"

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t pwdb_lock = PTHREAD_MUTEX_INITIALIZER;

static void user_name(uid_t uid, char *out, size_t outlen)
{
    struct passwd pw, *res = NULL;
    char buf[4096];

    if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) == 0 && res)
        str_copy(out, pw.pw_name, outlen);
    else
        snprintf(out, outlen, "%ld", (long)uid);
}

static void group_name(gid_t gid, char *out, size_t outlen)
{
    struct group gr, *res = NULL;
    char buf[8192];

    if (getgrgid_r(gid, &gr, buf, sizeof(buf), &res) == 0 && res)
        str_copy(out, gr.gr_name, outlen);
    else
        snprintf(out, outlen, "%ld", (long)gid);
}

bool filecheck_group_others(gid_t gid, uid_t me, char *who, size_t wholen)
{
    struct group gr, *gres = NULL;
    struct passwd *pw;
    char buf[16384], mine[256];
    bool others = false;

    user_name(me, mine, sizeof(mine));
    pthread_mutex_lock(&pwdb_lock);
    setpwent();
    while (!others && (pw = getpwent()) != NULL)
        if (pw->pw_gid == gid && pw->pw_uid != 0 && pw->pw_uid != me) {
            others = true;
            if (who)
                str_copy(who, pw->pw_name, wholen);
        }
    endpwent();
    pthread_mutex_unlock(&pwdb_lock);
    if (others)
        return true;
    if (getgrgid_r(gid, &gr, buf, sizeof(buf), &gres) != 0 || gres == NULL)
        return false; /* a group without an entry has no listed members */
    for (char **m = gr.gr_mem; m && *m; m++)
        if (strcmp(*m, "root") != 0 && strcmp(*m, mine) != 0) {
            if (who)
                str_copy(who, *m, wholen);
            return true;
        }
    return false;
}

/* Who besides root and me may write (want = 2) or read or write (want =
 * 6) node st; a reason ("writable by every user", ...) in why when so. */
static bool others_may(const struct stat *st, uid_t me, int want, char *why,
                       size_t whylen)
{
    mode_t grp = (mode_t)(want << 3), oth = (mode_t)want;
    char name[256], who[256];

    if (st->st_uid != 0 && st->st_uid != me) {
        user_name(st->st_uid, name, sizeof(name));
        snprintf(why, whylen, "belongs to user %s", name);
        return true;
    }
    if (st->st_mode & oth) {
        snprintf(why, whylen, "is %s by every user (mode %04o)",
                 want == 2 ? "writable" : "readable or writable",
                 (unsigned)(st->st_mode & 07777));
        return true;
    }
    if ((st->st_mode & grp) &&
        filecheck_group_others(st->st_gid, me, who, sizeof(who))) {
        group_name(st->st_gid, name, sizeof(name));
        snprintf(why, whylen,
                 "is %s by group %s, which has other members (e.g. \"%s\")",
                 want == 2 ? "writable" : "readable or writable", name, who);
        return true;
    }
    return false;
}

/* The directories of real (a resolved path) from / down: none lets
 * anyone but root and me replace what is below it. FILECHECK_UNSAFE with
 * the directory in dir and the reason in why. */
static filecheck_status_t check_dirs(const char *real, uid_t me, char *dir,
                                     size_t dirlen, char *why, size_t whylen)
{
    struct stat st, next;
    size_t n;

    for (const char *p = real; p != NULL; p = strchr(p + 1, '/')) {
        n = p == real ? 1 : (size_t)(p - real);
        if (n >= dirlen)
            break;
        memcpy(dir, real, n);
        dir[n] = '\0';
        if (strcmp(dir, real) == 0)
            break;
        if (stat(dir, &st) < 0) {
            snprintf(why, whylen, "%s", strerror(errno));
            return FILECHECK_ERROR;
        }
        if (!others_may(&st, me, 2, why, whylen))
            continue;
        /* a sticky directory (/tmp): others cannot rename or remove what
         * is not theirs, so the next component must be root's or ours */
        if ((st.st_mode & S_ISVTX) && st.st_uid == 0) {
            const char *end = strchr(p + 1, '/');
            char sub[PATH_MAX];
            size_t m = end ? (size_t)(end - real) : strlen(real);
            if (m < sizeof(sub)) {
                memcpy(sub, real, m);
                sub[m] = '\0';
                if (stat(sub, &next) == 0 &&
                    (next.st_uid == 0 || next.st_uid == me))
                    continue;
            }
        }
        return FILECHECK_UNSAFE;
    }
    return FILECHECK_OK;
}

filecheck_status_t filecheck_why(const char *path, const struct stat *opened,
                                 uid_t me, filecheck_access_t what, char *why,
                                 size_t whylen)
{
    char real[PATH_MAX], dir[PATH_MAX], dwhy[400];
    struct stat st;
    filecheck_status_t rc;

    if (realpath(path, real) == NULL || stat(real, &st) < 0) {
        snprintf(why, whylen, "%s", strerror(errno));
        return FILECHECK_ERROR;
    }
    if (opened &&
        (opened->st_dev != st.st_dev || opened->st_ino != st.st_ino)) {
        snprintf(why, whylen, "changed while it was read");
        return FILECHECK_ERROR;
    }
    if (others_may(&st, me, (int)what, why, whylen))
        return FILECHECK_UNSAFE;
    rc = check_dirs(real, me, dir, sizeof(dir), dwhy, sizeof(dwhy));
    if (rc == FILECHECK_UNSAFE)
        snprintf(why, whylen, "is in directory %s, which %s", dir, dwhy);
    else if (rc == FILECHECK_ERROR)
        snprintf(why, whylen, "%s: %s", dir, dwhy);
    return rc;
}

filecheck_status_t filecheck_writers(const char *path,
                                     const struct stat *opened, uid_t me,
                                     char *err, size_t errlen)
{
    char real[PATH_MAX], why[700];
    struct stat st;
    filecheck_status_t rc;

    rc = filecheck_why(path, opened, me, FILECHECK_WRITE, why, sizeof(why));
    if (rc == FILECHECK_ERROR)
        snprintf(err, errlen, "%s: %s", path, why);
    else if (rc == FILECHECK_UNSAFE && realpath(path, real) &&
             stat(real, &st) == 0 && (st.st_mode & S_IWOTH))
        snprintf(err, errlen,
                 "%s: refused: the file is writable by every user (mode "
                 "%04o); chmod o-w it",
                 path, (unsigned)(st.st_mode & 07777));
    else if (rc == FILECHECK_UNSAFE)
        snprintf(err, errlen,
                 "%s: refused: the file %s; only root and the user that "
                 "reads it may change it",
                 path, why);
    return rc;
}
