/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * store.c - the Berkeley DB environment shared by all programs
 *
 * One transactional environment in DataDirectory holds suppression.db
 * (store_supp.c), messages.db, seen.db and stats.db (store_data.c) and
 * outbox.db (store_outbox.c); B-trees
 * whose records all start with a version byte. This file opens, shares,
 * recovers and closes it: store_open(), store_close(), store_checkpoint(),
 * transactions over several calls (store_txn_*), and for the record
 * modules store_run() (an operation inside the caller's transaction or
 * its own, with deadlock retries and a transparent reopen), store_env_db(),
 * store_walk() and the error helpers (store_int.h).
 *
 * How sharing works (see ses_store.h for the rules callers rely on):
 *   - Every open takes an exclusive flock(2) on DataDirectory/store.lock
 *     and opens the environment with DB_REGISTER|DB_RECOVER: Berkeley DB
 *     runs recovery only when a registered process died, and the flock
 *     makes every other opener wait until it is done.
 *   - One env_t per directory and process, reference-counted, shared by
 *     all store_t handles and threads (DB_THREAD). Operations hold its
 *     rwlock for reading; a reopen after DB_RUNRECOVERY (another process
 *     recovered the environment under us) holds it for writing.
 *   - Database handles open lazily, read-only or read-write as the handle
 *     asks; a read-only user whose database does not exist yet sees "not
 *     found" and looks for the file again at its next operation.
 *   - A STORE_INSPECT open (a read-only command) of a DataDirectory that
 *     holds no store opens no environment and creates nothing: every read
 *     finds nothing until another process makes the store, which the next
 *     operation then joins.
 *   - Lookups on the milter path read uncommitted data (DB_READ_UNCOMMITTED)
 *     so they never wait behind an import transaction.
 *   - A file system too full for new region files makes the open a
 *     temporary failure, and the region files get real blocks at open
 *     (posix_fallocate), so a disk that fills up is ENOSPC, not SIGBUS.
 *   - A process killed inside Berkeley DB can leave others waiting
 *     forever (5.3 has no timeout on its mutexes, and a lock timeout is
 *     only enforced by a deadlock detector): a watchdog of two threads
 *     per environment and process runs the detector every half second,
 *     and logs - or, when the program asked (store_exit_when_stuck()),
 *     exits EX_TEMPFAIL - when an operation has been inside Berkeley DB
 *     too long (see "the watchdog" below).
 *   - Writers checkpoint after commits (at most every few seconds, when
 *     enough log was written or a minute passed) and at close; log files
 *     no longer needed are removed (DB_LOG_AUTO_REMOVE).
 *
 * DIAGNOSTICS
 *   STORE_OK / STORE_NOTFOUND / STORE_TEMPFAIL (deadlock, lock timeout,
 *   recovery in progress, I/O, a full disk) / STORE_CONFIG (DataDirectory
 *   missing or not a directory, permissions, a read-only file system, an
 *   environment or database file this Berkeley DB cannot open) /
 *   STORE_PERMFAIL (bad argument, record of an unknown version, corrupt
 *   record, write on a read-only handle). The message of a failed call is
 *   kept in its handle for store_strerror(); Berkeley DB's own error
 *   messages are captured into it, never printed.
 */
#include "config.h"

#include "store_int.h"
#include "ses_log.h"
#include "ses_util.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sysexits.h>
#include <unistd.h>

#define FILE_MODE 0660
#define DIR_MODE  02770
/* The environment's size, fixed by the process that creates it (README,
 * "The stores"). The cache holds a million suppressed addresses (75 MB of
 * suppression.db: Berkeley DB adds a quarter to caches this small); an
 * import of a million addresses peaks at about 170 locks and 4 lockers,
 * and each process or thread using the store holds a few of each. The
 * region files, reserved on disk: 82 MB of cache, 7 MB for locks, log
 * buffer and transactions, 4 MB of mutexes. */
#define CACHE_BYTES      (64u << 20)
#define LOG_FILE_BYTES   (10u << 20)
#define LOG_BUFFER_BYTES (2u << 20)
#define LOCK_TIMEOUT_US  (2u * 1000 * 1000)
#define MAX_LOCKS        10000
#define MAX_LOCKERS      2000
#define CKP_INTERVAL_MS  2000 /* at most this often after commits */
#define CKP_LOG_KB       8192 /* ... when this much log was written */
#define CKP_MINUTES      1    /* ... or this much time passed */
#define REOPEN_PAUSE_MS  1000
#define RETRIES          4
/* The watchdog (below) looks every WATCH_MS; an operation still inside
 * Berkeley DB after STUCK_LOG_MS is logged (store_exit_when_stuck() sets
 * a limit after which the process exits instead). BUSY_SLOTS operations
 * of a process are timed at once; more run untimed. */
#define WATCH_MS     500
#define STUCK_LOG_MS (120 * 1000)
#define BUSY_SLOTS   64
/* Free space creating the environment needs: the region files (~93 MB
 * when reserved) are mapped, and a page of a mapped file the file system
 * cannot back is SIGBUS, not ENOSPC. Below this, creating it is a clean
 * temporary failure instead. */
#define MIN_FREE_BYTES (48ull << 20)

const char *const store_db_files[DBI__N] = {"suppression.db", "messages.db",
                                            "seen.db", "stats.db", "outbox.db"};

struct env {
    struct env *next;
    char *dir;
    int refs;
    pthread_rwlock_t lock;  /* read: operations, write: (re)open */
    pthread_mutex_t dblock; /* lazy database opens */
    DB_ENV *dbenv;
    DB *db[DBI__N][2];        /* [i][0] read-only, [i][1] read-write */
    atomic_int broken;        /* DB_RUNRECOVERY seen: reopen */
    atomic_uint gen;          /* bumped by every reopen */
    atomic_int txns;          /* open store transactions */
    atomic_llong last_ckp;    /* ms */
    atomic_int keys_upgraded; /* store_supp_upgrade_keys() done */
    int64_t last_reopen;
    unsigned fork_gen;   /* forks seen when this was opened */
    atomic_int deferred; /* STORE_INSPECT found no store: not opened */
    /* when each operation in progress began (ms; 0: free slot, -1: the
     * operation is in its caller's code, not in Berkeley DB) */
    atomic_llong busy[BUSY_SLOTS];
    /* the watchdog's two threads, stopped through watch_stop */
    pthread_t detector, checker;
    int watching; /* how many of them run */
    pthread_mutex_t watch_mu;
    pthread_cond_t watch_cv;
    bool watch_stop;
};

struct store {
    env_t *env;
    store_mode_t mode;
    pthread_mutex_t errlock; /* err, written by any thread using the handle */
    char err[512];           /* the message of the last failed call */
};

struct store_txn {
    store_t *st;
    DB_TXN *txn;
    unsigned gen;
};

static pthread_mutex_t envs_lock = PTHREAD_MUTEX_INITIALIZER;
static env_t *envs;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
static atomic_uint fork_gen;      /* bumped in every child after fork() */
static atomic_uint stuck_exit_ms; /* store_exit_when_stuck(); 0: log only */
/* This thread's slot in e->busy (-1: none) and how deep its calls nest. */
static _Thread_local int busy_slot = -1;
static _Thread_local int busy_depth;

/* The message of the operation in progress on this thread, until
 * store_done() files it with the handle. */
static _Thread_local char errmsg[512];
static _Thread_local bool errmsg_new; /* written since the last store_done() */
static _Thread_local char bdbmsg[256];
static _Thread_local int retryable;

/* ---- errors -------------------------------------------------------- */

store_status_t store_fail(store_status_t st, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(errmsg, sizeof(errmsg), fmt, ap);
    va_end(ap);
    errmsg_new = true;
    return st;
}

static void bdb_errcall(const DB_ENV *dbenv, const char *pfx, const char *msg)
{
    (void)dbenv;
    (void)pfx;
    str_copy(bdbmsg, msg, sizeof(bdbmsg));
}

/* Maps a Berkeley DB return to a status, with "what" as context. */
store_status_t store_db_status(env_t *e, int ret, const char *what)
{
    store_status_t st = STORE_TEMPFAIL;
    char detail[300];

    retryable = 0;
    switch (ret) {
    case 0:
        return STORE_OK;
    case DB_NOTFOUND:
    case DB_KEYEMPTY:
        return STORE_NOTFOUND;
    case DB_RUNRECOVERY:
        atomic_store(&e->broken, 1);
        retryable = 1;
        break;
    case DB_LOCK_DEADLOCK:
        retryable = 1;
        break;
    case DB_LOCK_NOTGRANTED:
    case ENOMEM:
    case ENOSPC:
    case EIO:
    case EAGAIN:
        break;
    case EACCES:
    case EPERM:
    case ENOENT:
    case EROFS:
        st = STORE_CONFIG;
        break;
    case EINVAL:
    case DB_VERIFY_BAD:
    case DB_SECONDARY_BAD:
    case DB_OLD_VERSION:
    case DB_VERSION_MISMATCH:
        st = STORE_PERMFAIL;
        break;
    default:
        break;
    }
    if (bdbmsg[0])
        snprintf(detail, sizeof(detail), " (%s)", bdbmsg);
    else
        detail[0] = '\0';
    bdbmsg[0] = '\0';
    store_fail(st, "%s: %s%s%s", what, db_strerror(ret), detail,
               ret == DB_RUNRECOVERY ? "; reopening" : "");
    return st;
}

bool store_is_temporary(store_status_t rc)
{
    return rc == STORE_TEMPFAIL || rc == STORE_CONFIG;
}

status_t store_to_status(store_status_t rc)
{
    switch (rc) {
    case STORE_OK:
    case STORE_NOTFOUND:
        return ST_OK;
    case STORE_CONFIG:
        return ST_TEMP_STORE_CONFIG;
    default: /* a corrupt record is no reason to refuse mail either */
        return ST_TEMP_STORE;
    }
}

/* A plain "not found" (a lookup's miss, the milter's common case) leaves
 * the handle alone: no lock on that path. */
store_status_t store_done(store_t *st, store_status_t rc)
{
    if (st && rc != STORE_OK && (rc != STORE_NOTFOUND || errmsg_new)) {
        pthread_mutex_lock(&st->errlock);
        str_copy(st->err, errmsg, sizeof(st->err));
        pthread_mutex_unlock(&st->errlock);
    }
    errmsg_new = false;
    return rc;
}

const char *store_strerror(const store_t *cst)
{
    static _Thread_local char copy[sizeof(cst->err)];
    store_t *st = (store_t *)cst; /* only the lock changes */

    if (st == NULL)
        return "no store";
    pthread_mutex_lock(&st->errlock);
    str_copy(copy, st->err[0] ? st->err : "no error", sizeof(copy));
    pthread_mutex_unlock(&st->errlock);
    return copy;
}

/* ---- names --------------------------------------------------------- */

static const char *const reason_names[] = {
    [SUPP_BOUNCE] = "bounce",
    [SUPP_COMPLAINT] = "complaint",
    [SUPP_MANUAL] = "manual",
};
static const char *const source_names[] = {
    [SUPP_SRC_SES] = "ses",
    [SUPP_SRC_FEEDBACK] = "feedback",
    [SUPP_SRC_MANUAL] = "manual",
    [SUPP_SRC_IMPORT] = "import",
};

static const char *name_of(const char *const *names, size_t n, unsigned v)
{
    return v < n && names[v] ? names[v] : "unknown";
}

static unsigned name_parse(const char *const *names, size_t n, const char *s)
{
    for (unsigned i = 1; s && i < n; i++)
        if (names[i] && str_iequal(names[i], s))
            return i;
    return 0;
}

const char *store_reason_name(supp_reason_t r)
{
    return name_of(reason_names, ARRAY_SIZE(reason_names), r);
}

supp_reason_t store_reason_parse(const char *s)
{
    return name_parse(reason_names, ARRAY_SIZE(reason_names), s);
}

const char *store_source_name(supp_source_t s)
{
    return name_of(source_names, ARRAY_SIZE(source_names), s);
}

supp_source_t store_source_parse(const char *s)
{
    return name_parse(source_names, ARRAY_SIZE(source_names), s);
}

/* ---- the environment ----------------------------------------------- */

/* Files are group-readable and -writable whatever the umask: the milter
 * (another user, same group) must lock in the region files. Only files we
 * own can be changed; others belong to a user who did the same. */
static void fix_modes(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;

    if (d == NULL)
        return;
    while ((de = readdir(d)) != NULL) {
        struct stat sb;
        if (de->d_name[0] == '.')
            continue;
        if (fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0 ||
            !S_ISREG(sb.st_mode) || sb.st_uid != geteuid())
            continue;
        if ((sb.st_mode & FILE_MODE) != FILE_MODE)
            (void)fchmodat(dirfd(d), de->d_name,
                           (sb.st_mode & 07777) | FILE_MODE, 0);
    }
    closedir(d);
}

/* What a failed system call on DataDirectory says: a setup the operator
 * must fix (permissions, a missing parent, a read-only file system) or a
 * passing trouble. */
static store_status_t errno_status(int err)
{
    switch (err) {
    case EACCES:
    case EPERM:
    case ENOENT:
    case ENOTDIR:
    case EROFS:
    case ELOOP:
    case ENAMETOOLONG:
        return STORE_CONFIG;
    default:
        return STORE_TEMPFAIL;
    }
}

static store_status_t make_dir(const char *dir)
{
    struct stat sb;

    if (stat(dir, &sb) == 0) {
        if (!S_ISDIR(sb.st_mode))
            return store_fail(STORE_CONFIG, "%s: not a directory", dir);
        return STORE_OK;
    }
    if (errno != ENOENT)
        return store_fail(errno_status(errno), "%s: %s", dir, strerror(errno));
    if (mkdir(dir, 0770) < 0 && errno != EEXIST)
        return store_fail(errno_status(errno), "cannot create %s: %s", dir,
                          strerror(errno));
    (void)chmod(dir, DIR_MODE);
    return STORE_OK;
}

/* A file system too full for the region files is a temporary failure,
 * found before Berkeley DB maps them (where it would be SIGBUS). When the
 * region files exist, joining the environment needs no new room (readers
 * must keep working on a full disk): back_regions() checks those. */
static store_status_t check_space(const char *dir, bool *joining)
{
    struct statvfs vs;
    unsigned long long avail, have = 0;
    DIR *d;
    struct dirent *de;

    *joining = false;
    if (statvfs(dir, &vs) < 0)
        return STORE_OK; /* the open will say what is wrong */
    avail = (unsigned long long)vs.f_bavail * vs.f_frsize;
    if ((d = opendir(dir)) != NULL) {
        while ((de = readdir(d)) != NULL) {
            struct stat sb;
            if (strncmp(de->d_name, "__db.", 5) == 0 &&
                fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0)
                have += (unsigned long long)sb.st_blocks * 512;
        }
        closedir(d);
    }
    *joining = have > 0;
    if (have == 0 && avail < MIN_FREE_BYTES)
        return store_fail(STORE_TEMPFAIL,
                          "%s: file system full (%llu kB free, the store "
                          "needs %llu MB)",
                          dir, avail >> 10, MIN_FREE_BYTES >> 20);
    return STORE_OK;
}

/* The length of this process's mapping of the file (dev, ino), 0 if it
 * has none. Berkeley DB maps a region file at the region's maximum size
 * and grows the file into that mapping as the region grows. */
static unsigned long long mapped_length(dev_t dev, ino_t ino)
{
    FILE *f = fopen("/proc/self/maps", "re");
    char line[512];
    int at_start = 1;
    unsigned long long len = 0;

    if (f == NULL)
        return 0;
    while (fgets(line, sizeof(line), f) != NULL) {
        unsigned long long lo, hi, off, inode;
        unsigned maj, min;
        int whole = strchr(line, '\n') != NULL;

        if (at_start &&
            sscanf(line, "%llx-%llx %*s %llx %x:%x %llu", &lo, &hi, &off, &maj,
                   &min, &inode) == 6 &&
            inode == (unsigned long long)ino && makedev(maj, min) == dev &&
            off + (hi - lo) > len)
            len = off + (hi - lo);
        at_start = whole;
    }
    fclose(f);
    return len;
}

/* Gives the region files (__db.NNN) real blocks for all they can grow to
 * (their mapped length), so a file system that fills up later cannot
 * turn a touch of a mapped page into SIGBUS: the room is taken now, when
 * running short is a clean "file system full". Blocks a file already has
 * need no new room, so joining an environment created this way works on a
 * full disk; joining one that was created without the reservation (by an
 * older version) is only warned about when the room is missing, since a
 * reader must keep working on a full disk. */
static store_status_t back_regions(const char *dir, bool joining)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    store_status_t st = STORE_OK;

    if (d == NULL)
        return STORE_OK;
    while (st == STORE_OK && (de = readdir(d)) != NULL) {
        struct stat sb;
        unsigned long long max;
        int fd, ret = 0;

        if (strncmp(de->d_name, "__db.", 5) != 0 ||
            !isdigit((unsigned char)de->d_name[5]))
            continue;
        fd = openat(dirfd(d), de->d_name, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
            continue; /* another user's: that user backed it */
        if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > 0) {
            max = mapped_length(sb.st_dev, sb.st_ino);
            ret = posix_fallocate(fd, 0, sb.st_size);
#ifdef FALLOC_FL_KEEP_SIZE
            if (ret == 0 && max > (unsigned long long)sb.st_size &&
                fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, (off_t)max) < 0 &&
                errno == ENOSPC)
                ret = ENOSPC;
#endif
            if (ret == ENOSPC && joining)
                log_warning(NULL,
                            "%s/%s: file system full: the region file "
                            "cannot reserve its %llu MB, and a process of "
                            "the store may die of SIGBUS if it grows; make "
                            "room in %s",
                            dir, de->d_name, (max >> 20) + 1, dir);
            else if (ret == ENOSPC)
                st = store_fail(STORE_TEMPFAIL,
                                "%s/%s: file system full (this region "
                                "file needs %llu MB)",
                                dir, de->d_name, (max >> 20) + 1);
        }
        close(fd);
    }
    closedir(d);
    return st;
}

/* Whether dir may hold a store: a region file or a database, or it cannot
 * tell (anything but "no such file": permissions, I/O), in which case
 * opening the store is what says what is wrong. */
static bool store_present(const char *dir)
{
    char path[PATH_MAX];
    struct stat sb;

    for (int i = -1; i < DBI__N; i++) {
        if (snprintf(path, sizeof(path), "%s/%s", dir,
                     i < 0 ? "__db.001" : store_db_files[i]) >=
                (int)sizeof(path) ||
            stat(path, &sb) == 0 || (errno != ENOENT && errno != ENOTDIR))
            return true;
    }
    return false;
}

/* Opens e->dbenv under the directory's open lock. */
static store_status_t env_open(env_t *e)
{
    char path[4096];
    DB_ENV *dbenv = NULL;
    store_status_t st;
    int fd = -1, ret;
    bool joining = false;
    u_int32_t flags = DB_CREATE | DB_INIT_TXN | DB_INIT_LOCK | DB_INIT_LOG |
                      DB_INIT_MPOOL | DB_THREAD | DB_REGISTER | DB_RECOVER;

    if ((st = make_dir(e->dir)) != STORE_OK)
        return st;
    if (snprintf(path, sizeof(path), "%s/store.lock", e->dir) >=
        (int)sizeof(path))
        return store_fail(STORE_CONFIG, "%s: path too long", e->dir);
    if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, FILE_MODE)) < 0)
        return store_fail(errno_status(errno), "%s: %s", path, strerror(errno));
    while (flock(fd, LOCK_EX) < 0) {
        if (errno != EINTR) {
            st = store_fail(STORE_TEMPFAIL, "lock %s: %s", path,
                            strerror(errno));
            goto fail;
        }
    }
    if ((st = check_space(e->dir, &joining)) != STORE_OK)
        goto fail;
    if ((ret = db_env_create(&dbenv, 0)) != 0) {
        st = store_fail(STORE_TEMPFAIL, "db_env_create: %s", db_strerror(ret));
        goto fail;
    }
    dbenv->set_errcall(dbenv, bdb_errcall);
    dbenv->set_cachesize(dbenv, 0, CACHE_BYTES, 1);
    dbenv->set_lg_max(dbenv, LOG_FILE_BYTES);
    dbenv->set_lg_bsize(dbenv, LOG_BUFFER_BYTES);
    dbenv->set_lg_filemode(dbenv, FILE_MODE);
    dbenv->set_lk_max_locks(dbenv, MAX_LOCKS);
    dbenv->set_lk_max_objects(dbenv, MAX_LOCKS);
    dbenv->set_lk_max_lockers(dbenv, MAX_LOCKERS);
    dbenv->set_lk_detect(dbenv, DB_LOCK_DEFAULT);
    dbenv->set_timeout(dbenv, LOCK_TIMEOUT_US, DB_SET_LOCK_TIMEOUT);
    dbenv->set_flags(dbenv, DB_NOMMAP, 1);
    dbenv->log_set_config(dbenv, DB_LOG_AUTO_REMOVE, 1);
    if ((ret = dbenv->open(dbenv, e->dir, flags, FILE_MODE)) != 0) {
        st = store_db_status(e, ret, e->dir);
        if (st == STORE_PERMFAIL) /* another version's environment, ... */
            st = STORE_CONFIG;
        dbenv->close(dbenv, 0);
        dbenv = NULL;
        goto fail;
    }
    if ((st = back_regions(e->dir, joining)) != STORE_OK) {
        dbenv->close(dbenv, 0);
        dbenv = NULL;
        goto fail;
    }
    fix_modes(e->dir);
    e->dbenv = dbenv;
    atomic_store(&e->broken, 0);
    atomic_fetch_add(&e->gen, 1);
    flock(fd, LOCK_UN);
    close(fd);
    return STORE_OK;
fail:
    if (fd >= 0) {
        flock(fd, LOCK_UN);
        close(fd);
    }
    return st;
}

static void env_close_handles(env_t *e)
{
    for (int i = 0; i < DBI__N; i++)
        for (int m = 0; m < 2; m++)
            if (e->db[i][m]) {
                e->db[i][m]->close(e->db[i][m], DB_NOSYNC);
                e->db[i][m] = NULL;
            }
    if (e->dbenv) {
        e->dbenv->close(e->dbenv, 0);
        e->dbenv = NULL;
    }
}

/* ---- timing operations ----------------------------------------------- */

/* Marks the start of an operation of this thread in e (nested calls count
 * once): the watchdog's checker sees how long it has been in progress. */
static void busy_begin(env_t *e)
{
    long long now = clock_mono_ms();

    if (busy_depth++ > 0)
        return;
    busy_slot = -1;
    for (int i = 0; i < BUSY_SLOTS; i++) {
        long long free_slot = 0;
        if (atomic_compare_exchange_strong(&e->busy[i], &free_slot,
                                           now > 0 ? now : 1)) {
            busy_slot = i;
            break;
        }
    }
}

static void busy_end(env_t *e)
{
    if (--busy_depth > 0)
        return;
    if (busy_slot >= 0)
        atomic_store(&e->busy[busy_slot], 0);
    busy_slot = -1;
}

/* The operation leaves Berkeley DB for its caller's code (a walk's
 * callback, which may wait on a pipe) and comes back: only time spent in
 * Berkeley DB counts. */
static void busy_pause(env_t *e, bool pause)
{
    if (busy_slot >= 0)
        atomic_store(&e->busy[busy_slot], pause ? -1 : clock_mono_ms());
}

/* ---- the watchdog ---------------------------------------------------- */

/* Berkeley DB 5.3 waits without a timeout on its mutexes and on the
 * holder of a lock (the lock timeout is only enforced when a deadlock
 * detector runs), so a process that dies at the wrong moment (kill -9)
 * can leave others waiting forever. Each process runs, per environment:
 *   - the detector: every WATCH_MS a lock_detect(), so a lock wait ends
 *     at LOCK_TIMEOUT_US (a deadlock for run(), which retries and then
 *     reopens: DB_REGISTER finds the dead process and recovers); it also
 *     finds the environment recovered by another process (DB_RUNRECOVERY:
 *     the next operation reopens);
 *   - the checker: never calls Berkeley DB; when an operation of this
 *     process has been in it longer than the limit, its thread waits for
 *     something only a dead process could have given back (a mutex, a
 *     log flush) and nothing inside this process can end the wait: it
 *     logs, and exits EX_TEMPFAIL when the program asked for that
 *     (store_exit_when_stuck()). The detector is timed like any other
 *     operation, so its own wait is found too. */
static bool watch_wait(env_t *e)
{
    struct timespec ts;
    bool stop;

    pthread_mutex_lock(&e->watch_mu);
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_nsec += WATCH_MS * 1000000L;
    ts.tv_sec += ts.tv_nsec / 1000000000L;
    ts.tv_nsec %= 1000000000L;
    while (!e->watch_stop &&
           pthread_cond_timedwait(&e->watch_cv, &e->watch_mu, &ts) == 0)
        ;
    stop = e->watch_stop;
    pthread_mutex_unlock(&e->watch_mu);
    return !stop;
}

static void *env_detector(void *arg)
{
    env_t *e = arg;

    while (watch_wait(e)) {
        if (pthread_rwlock_tryrdlock(&e->lock) != 0)
            continue; /* being opened or closed */
        if (e->dbenv != NULL && !atomic_load(&e->broken)) {
            busy_begin(e);
            if (e->dbenv->lock_detect(e->dbenv, 0, DB_LOCK_DEFAULT, NULL) ==
                DB_RUNRECOVERY)
                atomic_store(&e->broken, 1);
            busy_end(e);
        }
        pthread_rwlock_unlock(&e->lock);
    }
    return NULL;
}

static void *env_checker(void *arg)
{
    env_t *e = arg;
    bool logged = false;

    while (watch_wait(e)) {
        long long now = clock_mono_ms(), oldest = now;
        long long exit_ms = atomic_load(&stuck_exit_ms);

        for (int i = 0; i < BUSY_SLOTS; i++) {
            long long t = atomic_load(&e->busy[i]);
            if (t > 0 && t < oldest)
                oldest = t;
        }
        if (now - oldest < (exit_ms ? exit_ms : STUCK_LOG_MS)) {
            logged = false;
            continue;
        }
        if (!logged || exit_ms)
            log_error(NULL,
                      "%s: an operation has waited in Berkeley DB for %lld s "
                      "(for a process that died holding a mutex?); %s",
                      e->dir, (now - oldest) / 1000,
                      exit_ms ? "exiting so that a new process recovers the "
                                "store"
                              : "restart this program if it does not end");
        if (exit_ms)
            _exit(EX_TEMPFAIL);
        logged = true;
    }
    return NULL;
}

static void env_watch_start(env_t *e)
{
    pthread_condattr_t ca;
    sigset_t all, old;

    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&e->watch_cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&e->watch_mu, NULL);
    sigfillset(&all); /* no signal is the watchdog's to take */
    pthread_sigmask(SIG_SETMASK, &all, &old);
    if (pthread_create(&e->detector, NULL, env_detector, e) == 0) {
        e->watching = 1;
        if (pthread_create(&e->checker, NULL, env_checker, e) == 0)
            e->watching = 2;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (e->watching < 2)
        log_warning(NULL,
                    "%s: cannot start the store's watchdog threads: a wait "
                    "for a process that died may not end",
                    e->dir);
}

static void env_watch_stop(env_t *e)
{
    pthread_mutex_lock(&e->watch_mu);
    e->watch_stop = true;
    pthread_cond_broadcast(&e->watch_cv);
    pthread_mutex_unlock(&e->watch_mu);
    if (e->watching > 0)
        pthread_join(e->detector, NULL);
    if (e->watching > 1)
        pthread_join(e->checker, NULL);
    e->watching = 0;
    pthread_cond_destroy(&e->watch_cv);
    pthread_mutex_destroy(&e->watch_mu);
}

void store_exit_when_stuck(unsigned seconds)
{
    atomic_store(&stuck_exit_ms, seconds * 1000u);
}

/* Takes the environment for one operation: reopens it first when another
 * process recovered it under us. Holds e->lock for reading on STORE_OK. */
static store_status_t env_join(env_t *e)
{
    if (e->fork_gen != atomic_load(&fork_gen))
        return store_fail(STORE_TEMPFAIL,
                          "%s: store handle inherited across "
                          "fork(); open a new one",
                          e->dir);
    if (atomic_load(&e->deferred) && store_present(e->dir)) {
        /* another process has made a store since: join it */
        store_status_t st = STORE_OK;
        pthread_rwlock_wrlock(&e->lock);
        if (atomic_load(&e->deferred) && (st = env_open(e)) == STORE_OK)
            atomic_store(&e->deferred, 0);
        pthread_rwlock_unlock(&e->lock);
        if (st != STORE_OK)
            return st;
    }
    if (atomic_load(&e->broken)) {
        pthread_rwlock_wrlock(&e->lock);
        if (atomic_load(&e->broken)) {
            int64_t now = clock_mono_ms();
            store_status_t st = STORE_TEMPFAIL;
            if (now - e->last_reopen >= REOPEN_PAUSE_MS || e->dbenv != NULL) {
                e->last_reopen = now;
                env_close_handles(e);
                st = env_open(e);
            } else {
                store_fail(st, "%s: environment being recovered; try again",
                           e->dir);
            }
            if (st != STORE_OK) {
                pthread_rwlock_unlock(&e->lock);
                return st;
            }
        }
        pthread_rwlock_unlock(&e->lock);
    }
    pthread_rwlock_rdlock(&e->lock);
    if (e->dbenv == NULL && !atomic_load(&e->deferred)) {
        pthread_rwlock_unlock(&e->lock);
        return store_fail(STORE_TEMPFAIL, "%s: environment not open", e->dir);
    }
    return STORE_OK;
}

/* env_join(), timed (busy_begin()) until env_leave(). */
static store_status_t env_enter(env_t *e)
{
    store_status_t st;

    busy_begin(e);
    if ((st = env_join(e)) != STORE_OK)
        busy_end(e);
    return st;
}

static void env_leave(env_t *e)
{
    pthread_rwlock_unlock(&e->lock);
    busy_end(e);
}

/* The database handle for one operation (e->lock held for reading). A
 * read-only user whose file does not exist yet gets STORE_NOTFOUND; it
 * looks for the file again at its next operation (a stat(), cheaper than
 * a failing open), so a database another process creates - the first
 * suppression, say - is seen at once. */
store_status_t store_env_db(env_t *e, int i, int rw, DB **out)
{
    store_status_t st = STORE_OK;
    DB *db = NULL;
    int ret;

    if ((*out = __atomic_load_n(&e->db[i][1], __ATOMIC_ACQUIRE)) != NULL ||
        (!rw && (*out = __atomic_load_n(&e->db[i][0], __ATOMIC_ACQUIRE))))
        return STORE_OK;
    pthread_mutex_lock(&e->dblock);
    if ((*out = e->db[i][rw]) != NULL)
        goto done;
    if (e->dbenv == NULL) { /* deferred: nothing stored in DataDirectory */
        st = store_fail(STORE_NOTFOUND, "nothing stored in %s yet", e->dir);
        goto done;
    }
    if (!rw) {
        char path[PATH_MAX];
        struct stat sb;
        if (snprintf(path, sizeof(path), "%s/%s", e->dir, store_db_files[i]) <
                (int)sizeof(path) &&
            stat(path, &sb) < 0 && errno == ENOENT) {
            st = store_fail(STORE_NOTFOUND, "%s does not exist yet",
                            store_db_files[i]);
            goto done;
        }
    }
    if ((ret = db_create(&db, e->dbenv, 0)) != 0) {
        st = store_db_status(e, ret, "db_create");
        goto done;
    }
    ret = db->open(db, NULL, store_db_files[i], NULL, DB_BTREE,
                   DB_THREAD | DB_READ_UNCOMMITTED |
                       (rw ? DB_CREATE | DB_AUTO_COMMIT : DB_RDONLY),
                   FILE_MODE);
    if (ret != 0) {
        db->close(db, 0);
        if (ret == ENOENT && !rw) {
            st = store_fail(STORE_NOTFOUND, "%s does not exist yet",
                            store_db_files[i]);
        } else {
            st = store_db_status(e, ret, store_db_files[i]);
            if (st == STORE_PERMFAIL) /* not a database we can open */
                st = STORE_CONFIG;
        }
        goto done;
    }
    if (rw)
        fix_modes(e->dir);
    __atomic_store_n(&e->db[i][rw], db, __ATOMIC_RELEASE);
    *out = db;
done:
    pthread_mutex_unlock(&e->dblock);
    return st;
}

static void env_checkpoint_soon(env_t *e)
{
    int64_t now = clock_mono_ms();
    long long last = atomic_load(&e->last_ckp);

    if (now - last < CKP_INTERVAL_MS ||
        !atomic_compare_exchange_strong(&e->last_ckp, &last, now))
        return;
    e->dbenv->txn_checkpoint(e->dbenv, CKP_LOG_KB, CKP_MINUTES, 0);
}

/* A child after fork() must not use its parent's environment (Berkeley DB
 * forbids it, and the parent's registry slot is not the child's): it opens
 * its own, and handles it inherited refuse to work. */
static void atfork_child(void)
{
    atomic_fetch_add(&fork_gen, 1);
}

static void atfork_register(void)
{
    pthread_atfork(NULL, NULL, atfork_child);
}

static void env_unref(env_t *e)
{
    int wrote = 0;
    env_t **pp;

    pthread_mutex_lock(&envs_lock);
    if (--e->refs > 0 || e->fork_gen != atomic_load(&fork_gen)) {
        pthread_mutex_unlock(&envs_lock);
        return; /* in use, or the parent's: left alone */
    }
    for (pp = &envs; *pp; pp = &(*pp)->next)
        if (*pp == e) {
            *pp = e->next;
            break;
        }
    pthread_mutex_unlock(&envs_lock);
    for (int i = 0; i < DBI__N; i++)
        wrote |= e->db[i][1] != NULL;
    pthread_rwlock_wrlock(&e->lock); /* the detector keeps off */
    busy_begin(e);                   /* a close can wait like any call */
    if (wrote && e->dbenv && !atomic_load(&e->broken))
        e->dbenv->txn_checkpoint(e->dbenv, CKP_LOG_KB, CKP_MINUTES, 0);
    env_close_handles(e);
    busy_end(e);
    pthread_rwlock_unlock(&e->lock);
    env_watch_stop(e);
    pthread_rwlock_destroy(&e->lock);
    pthread_mutex_destroy(&e->dblock);
    free(e->dir);
    free(e);
}

store_status_t store_open(const char *datadir, store_mode_t mode, store_t **out,
                          char *err, size_t errlen)
{
    char canon[PATH_MAX];
    store_status_t st = STORE_OK;
    store_t *s = NULL;
    env_t *e;

    *out = NULL;
    if (datadir == NULL || *datadir == '\0' ||
        (mode != STORE_READONLY && mode != STORE_READWRITE &&
         mode != STORE_INSPECT)) {
        st = store_fail(STORE_PERMFAIL, "store_open: bad arguments");
        goto fail;
    }
    /* one environment per directory, however it is spelled */
    if (realpath(datadir, canon) != NULL)
        datadir = canon;
    pthread_once(&atfork_once, atfork_register);
    pthread_mutex_lock(&envs_lock);
    for (e = envs; e; e = e->next)
        if (e->fork_gen == atomic_load(&fork_gen) &&
            strcmp(e->dir, datadir) == 0)
            break;
    if (e == NULL) {
        if ((e = calloc(1, sizeof(*e))) == NULL ||
            (e->dir = strdup(datadir)) == NULL) {
            free(e);
            pthread_mutex_unlock(&envs_lock);
            st = store_fail(STORE_TEMPFAIL, "out of memory");
            goto fail;
        }
        pthread_rwlock_init(&e->lock, NULL);
        pthread_mutex_init(&e->dblock, NULL);
        e->fork_gen = atomic_load(&fork_gen);
        env_watch_start(e); /* the open is timed too */
        busy_begin(e);
        if (mode == STORE_INSPECT && !store_present(datadir))
            atomic_store(&e->deferred, 1); /* nothing to read: create none */
        else
            st = env_open(e);
        busy_end(e);
        if (st != STORE_OK) {
            pthread_mutex_unlock(&envs_lock);
            env_watch_stop(e);
            pthread_rwlock_destroy(&e->lock);
            pthread_mutex_destroy(&e->dblock);
            free(e->dir);
            free(e);
            goto fail;
        }
        e->next = envs;
        envs = e;
    } else if (mode != STORE_INSPECT && atomic_load(&e->deferred)) {
        busy_begin(e);
        pthread_rwlock_wrlock(&e->lock); /* a user that needs the store */
        if (atomic_load(&e->deferred) && (st = env_open(e)) == STORE_OK)
            atomic_store(&e->deferred, 0);
        pthread_rwlock_unlock(&e->lock);
        busy_end(e);
        if (st != STORE_OK) {
            pthread_mutex_unlock(&envs_lock);
            goto fail;
        }
    }
    e->refs++;
    pthread_mutex_unlock(&envs_lock);
    if ((s = calloc(1, sizeof(*s))) == NULL) {
        env_unref(e);
        st = store_fail(STORE_TEMPFAIL, "out of memory");
        goto fail;
    }
    s->env = e;
    s->mode = mode;
    pthread_mutex_init(&s->errlock, NULL);
    if (mode == STORE_READWRITE && !atomic_load(&e->keys_upgraded)) {
        size_t moved = 0;
        /* a failure is retried by the next read-write open */
        if (store_supp_upgrade_keys(s, e->dir, &moved) == STORE_OK)
            atomic_store(&e->keys_upgraded, 1);
        if (moved)
            log_notice(NULL,
                       "%s/suppression.db: %zu entries moved to their "
                       "A-label key (user@xn--...)",
                       e->dir, moved);
    }
    *out = s;
    return STORE_OK;
fail:
    if (err && errlen)
        str_copy(err, errmsg, errlen);
    return st;
}

void store_close(store_t *st)
{
    if (st == NULL)
        return;
    env_unref(st->env);
    pthread_mutex_destroy(&st->errlock);
    free(st);
}

store_status_t store_checkpoint(store_t *st)
{
    store_status_t rc;
    int ret;

    if (st == NULL)
        return store_fail(STORE_PERMFAIL, "no store");
    if ((rc = env_enter(st->env)) != STORE_OK)
        return store_done(st, rc);
    ret = st->env->dbenv == NULL /* deferred: nothing to write out */
              ? 0
              : st->env->dbenv->txn_checkpoint(st->env->dbenv, 0, 0, 0);
    rc = store_db_status(st->env, ret, "checkpoint");
    env_leave(st->env);
    return store_done(st, rc);
}

/* ---- running operations -------------------------------------------- */

typedef store_status_t (*store_op_fn)(env_t *e, DB_TXN *t, void *arg);

/* Runs fn inside the caller's transaction, or (tx NULL) in a transaction
 * of its own for writes / none for reads, retrying deadlocks and a reopen
 * after recovery a few times. */
static store_status_t run(store_t *st, store_txn_t *tx, int write,
                          store_op_fn fn, void *arg)
{
    store_status_t rc = STORE_TEMPFAIL;
    env_t *e = st->env;

    if (write && st->mode != STORE_READWRITE)
        return store_fail(STORE_PERMFAIL, "store opened read-only");
    if (tx) {
        if ((rc = env_enter(e)) != STORE_OK)
            return rc;
        if (tx->gen != atomic_load(&e->gen) || tx->txn == NULL)
            rc =
                store_fail(STORE_TEMPFAIL, "transaction lost to an environment "
                                           "reopen; abort and retry");
        else
            rc = fn(e, tx->txn, arg);
        env_leave(e);
        return rc;
    }
    for (int attempt = 0; attempt < RETRIES; attempt++) {
        DB_TXN *t = NULL;
        int ret;

        retryable = 0;
        if ((rc = env_enter(e)) != STORE_OK) {
            if (atomic_load(&e->broken) && attempt + 1 < RETRIES) {
                usleep(100 * 1000);
                continue;
            }
            return rc;
        }
        if (write &&
            (ret = e->dbenv->txn_begin(
                 e->dbenv, NULL, &t,
                 write == STORE_RUN_NOSYNC ? DB_TXN_WRITE_NOSYNC : 0)) != 0) {
            rc = store_db_status(e, ret, "txn_begin");
        } else {
            rc = fn(e, t, arg);
            if (t && (rc == STORE_OK || rc == STORE_NOTFOUND)) {
                char keep[sizeof(errmsg)];
                str_copy(keep, errmsg, sizeof(keep));
                if ((ret = t->commit(t, 0)) != 0)
                    rc = store_db_status(e, ret, "commit");
                else
                    str_copy(errmsg, keep, sizeof(errmsg));
                t = NULL;
            } else if (t) {
                int keep = retryable;
                t->abort(t);
                retryable = keep;
            }
            if (write && !store_is_temporary(rc))
                env_checkpoint_soon(e);
        }
        env_leave(e);
        if (rc != STORE_TEMPFAIL || !retryable)
            return rc;
    }
    /* Still blocked: maybe by locks of a process that died. A reopen
     * (when no transaction of ours is open) lets DB_REGISTER find it and
     * recover; otherwise it is only a cheap rejoin. */
    if (atomic_load(&e->txns) == 0)
        atomic_store(&e->broken, 1);
    return rc;
}

store_status_t store_run(store_t *st, store_txn_t *tx, int write,
                         store_op_fn fn, void *arg)
{
    if (st == NULL)
        return store_fail(STORE_PERMFAIL, "no store");
    return store_done(st, run(st, tx, write, fn, arg));
}

store_status_t store_txn_begin(store_t *st, store_txn_t **out)
{
    store_txn_t *tx;
    store_status_t rc;
    int ret;

    *out = NULL;
    if (st == NULL)
        return store_fail(STORE_PERMFAIL, "no store");
    if (st->mode != STORE_READWRITE)
        return store_done(st,
                          store_fail(STORE_PERMFAIL, "store opened read-only"));
    if ((tx = calloc(1, sizeof(*tx))) == NULL)
        return store_done(st, store_fail(STORE_TEMPFAIL, "out of memory"));
    if ((rc = env_enter(st->env)) != STORE_OK) {
        free(tx);
        return store_done(st, rc);
    }
    ret = st->env->dbenv->txn_begin(st->env->dbenv, NULL, &tx->txn, 0);
    tx->gen = atomic_load(&st->env->gen);
    env_leave(st->env);
    if (ret != 0) {
        free(tx);
        return store_done(st, store_db_status(st->env, ret, "txn_begin"));
    }
    tx->st = st;
    atomic_fetch_add(&st->env->txns, 1);
    *out = tx;
    return STORE_OK;
}

/* Ends tx by commit or abort; a transaction from before a reopen is gone
 * with the old environment and only forgotten. */
static store_status_t txn_end(store_txn_t *tx, int commit)
{
    store_t *st = tx->st;
    env_t *e = st->env;
    store_status_t rc;
    int ret = 0;

    if ((rc = env_enter(e)) != STORE_OK) {
        if (commit) {
            char why[sizeof(errmsg)];
            str_copy(why, errmsg, sizeof(why));
            rc = store_fail(rc, "commit: %s", why);
        }
        goto out;
    }
    if (tx->gen != atomic_load(&e->gen)) {
        rc = commit
                 ? store_fail(STORE_TEMPFAIL, "commit: transaction lost to an "
                                              "environment reopen")
                 : STORE_OK;
    } else if (commit) {
        ret = tx->txn->commit(tx->txn, 0);
        rc = store_db_status(e, ret, "commit");
        if (rc == STORE_OK)
            env_checkpoint_soon(e);
    } else {
        tx->txn->abort(tx->txn);
    }
    env_leave(e);
out:
    atomic_fetch_sub(&e->txns, 1);
    free(tx);
    return rc;
}

store_status_t store_txn_commit(store_txn_t *tx)
{
    store_t *st;

    if (tx == NULL)
        return store_fail(STORE_PERMFAIL, "no transaction");
    st = tx->st;
    return store_done(st, txn_end(tx, 1));
}

void store_txn_abort(store_txn_t *tx)
{
    if (tx)
        (void)txn_end(tx, 0);
}

/* ---- helpers for the record modules -------------------------------- */

void store_dbt_in(DBT *d, const void *data, size_t len)
{
    memset(d, 0, sizeof(*d));
    d->data = (void *)data;
    d->size = (u_int32_t)len;
}

void store_dbt_out(DBT *d, void *buf, size_t cap)
{
    memset(d, 0, sizeof(*d));
    d->data = buf;
    d->ulen = (u_int32_t)cap;
    d->flags = DB_DBT_USERMEM;
}

store_status_t store_bad_version(const char *db, unsigned v)
{
    return store_fail(STORE_PERMFAIL,
                      "%s: record version %u not supported (written by newer "
                      "software?)",
                      db, v);
}

/* ---- walking a database -------------------------------------------- */

/* Calls fn for every record of database i in key order (read committed,
 * no transaction). */
store_status_t store_walk(env_t *e, int i, store_walk_fn fn, void *ctx)
{
    store_status_t rc;
    DBC *c = NULL;
    DBT k, d;
    DB *db;
    int ret, stop = 0;

    if ((rc = store_env_db(e, i, 0, &db)) != STORE_OK)
        return rc == STORE_NOTFOUND ? STORE_OK : rc;
    if ((ret = db->cursor(db, NULL, &c, DB_READ_COMMITTED)) != 0)
        return store_db_status(e, ret, store_db_files[i]);
    memset(&k, 0, sizeof(k));
    memset(&d, 0, sizeof(d));
    k.flags = d.flags = DB_DBT_REALLOC;
    rc = STORE_OK;
    while (!stop && (ret = c->get(c, &k, &d, DB_NEXT)) == 0) {
        busy_pause(e, true);
        rc = fn(ctx, &k, &d, &stop);
        busy_pause(e, false);
        if (rc != STORE_OK)
            break;
    }
    if (rc == STORE_OK && ret != 0 && ret != DB_NOTFOUND)
        rc = store_db_status(e, ret, store_db_files[i]);
    c->close(c);
    free(k.data);
    free(d.data);
    return rc;
}
