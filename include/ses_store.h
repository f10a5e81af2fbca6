/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ses_store.h - the Berkeley DB stores shared by all programs
 *
 * One transactional environment in DataDirectory (DB_INIT_TXN|DB_INIT_LOCK|
 * DB_INIT_LOG|DB_INIT_MPOOL, DB_THREAD) holds:
 *   suppression.db  address key (ses_addr.h: lower case, IDNA A-label
 *                   domain) -> reason, source, first/last time, count
 *   messages.db     SES MessageId -> Postfix queue id, envelope sender,
 *                   recipients, time, configuration set (expires)
 *   seen.db         SNS/SQS notification id -> time (idempotency, expires)
 *   outbox.db       notification key -> a DSN committed with the
 *                   notification, waiting to be injected
 * Every record starts with a version byte.
 *
 * THIS HEADER IS THE CONTRACT other modules code against (the milter's
 * RCPT TO lookup, the relay's message map). The feedback issue implements
 * it in src/store.c and may add functions; the signatures below stay.
 *
 * Added by the feedback issue (src/store.c): transactions spanning several
 * calls, suppression writes/deletes/iteration, the message map read side,
 * the idempotency set, per-configuration-set counters for `ses-suppress
 * report` (stats.db), and expiry.
 *
 * Sharing and recovery: every process opens the environment with
 * DB_REGISTER|DB_RECOVER under an flock(2) on DataDirectory/store.lock, so
 * recovery runs in one process at a time, only when a previous user died
 * without closing, and others wait for it. A process whose environment was
 * recovered under it (DB_RUNRECOVERY) reopens transparently on the next
 * call. Within a process one environment per directory is shared by every
 * store_open() (Berkeley DB's fcntl-based registry allows one per process);
 * do not carry an open store across fork().
 *
 * Permissions: files are created 0660 whatever the umask, and a directory
 * created here gets mode 2770, so the group of DataDirectory (e.g.
 * "ses-milter") shared by the milter, ses-relay and ses-feedback users can
 * read AND write the environment's region files, which even a read-only
 * user needs for locking.
 *
 * Size: the process that creates the environment sizes it for everyone:
 * a 64 MB cache (a million suppressed addresses, 75 MB of suppression.db,
 * still look up from memory), 10,000 locks and lock objects, 2,000
 * lockers, 2 MB of log buffer; its region files take about 93 MB of disk,
 * reserved when they are created. A DB_CONFIG file in DataDirectory
 * overrides these, as with any Berkeley DB application.
 *
 * DIAGNOSTICS
 *   Every function returns STORE_OK, STORE_NOTFOUND, STORE_TEMPFAIL (it may
 *   work in a moment: busy, deadlock, I/O, a full disk), STORE_CONFIG (it
 *   will not work until an operator fixes the setup: DataDirectory missing
 *   or not a directory, permissions, a read-only file system), or
 *   STORE_PERMFAIL (this request can never succeed), as Postfix keeps
 *   DICT_ERR_CONFIG apart from DICT_ERR_RETRY. STORE_CONFIG is as
 *   temporary for mail as STORE_TEMPFAIL (store_is_temporary());
 *   store_to_status() maps both to statuses of the one table (status.c)
 *   that keep mail queued. A failed call leaves its message in the handle
 *   for store_strerror(); none exits, aborts or logs.
 */
#ifndef SES_STORE_H
#define SES_STORE_H

#include "ses_status.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    STORE_OK = 0,
    STORE_NOTFOUND,
    STORE_TEMPFAIL, /* busy, deadlock, I/O, full disk: try again later */
    STORE_PERMFAIL, /* corrupt record, bad argument */
    STORE_CONFIG,   /* the setup: DataDirectory, permissions, read-only fs */
} store_status_t;

typedef enum {
    STORE_READONLY = 1, /* the milter: lookups only */
    STORE_READWRITE = 2,
    /* A read-only command (ses-suppress list, check, export, report): as
     * STORE_READONLY, but a DataDirectory that holds no store (missing, or
     * without region and database files) reads as empty and nothing is
     * created in it. */
    STORE_INSPECT = 3,
} store_mode_t;

typedef enum {
    SUPP_BOUNCE = 1,
    SUPP_COMPLAINT = 2,
    SUPP_MANUAL = 3,
} supp_reason_t;

typedef enum {
    SUPP_SRC_SES = 1,      /* the SESv2 account suppression list (sync) */
    SUPP_SRC_FEEDBACK = 2, /* a bounce/complaint notification */
    SUPP_SRC_MANUAL = 3,   /* ses-suppress add */
    SUPP_SRC_IMPORT = 4,   /* ses-suppress import */
} supp_source_t;

typedef struct {
    supp_reason_t reason;
    supp_source_t source;
    int64_t first; /* unix seconds */
    int64_t last;
    uint32_t count;
} suppression_t;

#define STORE_MAX_ADDR 320

typedef struct store store_t; /* opaque; thread-safe (DB_THREAD) */

store_status_t store_open(const char *datadir, store_mode_t mode, store_t **out,
                          char *err, size_t errlen);
void store_close(store_t *st); /* NULL is fine */
/* A program's choice, made once: when one of its store operations has
 * waited inside Berkeley DB for `seconds` (for a process killed while it
 * held a mutex: Berkeley DB 5.3 cannot end such a wait, and the store
 * stays unusable to this process), the process logs it and exits
 * EX_TEMPFAIL (75), so that its supervisor (systemd, Postfix) starts a
 * new one, whose open recovers the store; its mail stays queued. 0 (the
 * default): only log, after 120 s. A wait for a lock held by a dead
 * process needs none of this: it ends at the lock timeout, and the next
 * operation recovers the store. */
void store_exit_when_stuck(unsigned seconds);
/* What the programs pass: far beyond any wait a live process causes (a
 * lock wait ends at 2 s; a checkpoint writes at most the 64 MB cache). */
#define STORE_STUCK_EXIT_S 120
/* The message of the last failed call on st ("no error" before one; st
 * NULL: "no store"); a lookup that finds nothing is no failure. A handle shared
 * by threads keeps one message, the latest; the text returned is this thread's
 * copy, valid until its next store_strerror() call. */
const char *store_strerror(const store_t *st);
/* STORE_TEMPFAIL or STORE_CONFIG: mail waits, it is never refused. */
bool store_is_temporary(store_status_t rc);
/* ST_OK for STORE_OK and STORE_NOTFOUND; ST_TEMP_STORE_CONFIG for
 * STORE_CONFIG; ST_TEMP_STORE for the others. */
status_t store_to_status(store_status_t rc);

/* addr is compared by its addr_key() (ses_addr.h): case-insensitively,
 * a U-label domain as its A-labels. Every function taking addr does. */
store_status_t store_suppression_get(store_t *st, const char *addr,
                                     suppression_t *out);

/* The message map, written by ses-relay after SES accepted a message.
 * The commit does not wait for the disk (a power cut may lose the last
 * entries: DSNs then go to the notification's mail.source). */
typedef struct {
    const char *queue_id;
    const char *sender;
    const char *const *rcpts;
    size_t nrcpts;
    const char *config_set; /* may be NULL */
    int64_t time;           /* unix seconds */
} store_message_t;

store_status_t store_message_put(store_t *st, const char *ses_message_id,
                                 const store_message_t *m);
/* Several records (ids[i] -> m[i]) in one transaction, their recipients
 * counted in stats.db as store_message_put() does: all are recorded, or
 * none (the first failure is returned). */
store_status_t store_messages_put(store_t *st, const char *const *ids,
                                  const store_message_t *const *m, size_t n);

/* ---- additions by the feedback issue ------------------------------------ */

/* The message map read side: one allocation, free with free() or
 * store_message_free(). Strings are NUL-terminated; config_set may be NULL. */
store_status_t store_message_get(store_t *st, const char *ses_message_id,
                                 store_message_t **out);
void store_message_free(store_message_t *m); /* NULL is fine */

/* Transactions spanning several calls. Functions below that take a
 * store_txn_t accept NULL for "a transaction of its own". After
 * STORE_TEMPFAIL inside a transaction (deadlock, lock timeout) the caller
 * aborts it and may retry the whole unit. commit and abort free tx. */
typedef struct store_txn store_txn_t;
store_status_t store_txn_begin(store_t *st, store_txn_t **out);
store_status_t store_txn_commit(store_txn_t *tx);
void store_txn_abort(store_txn_t *tx); /* NULL is fine */

/* Adds or merges: a new entry is stored as given (count at least 1); an
 * existing one keeps the earlier `first` and the later `last`, adds
 * s->count (0 leaves it, so re-importing a file changes nothing) and takes
 * reason and source from whichever of the two is newer. A removed entry
 * (see below) comes back as new. Addresses longer than STORE_MAX_ADDR or
 * without '@' are STORE_PERMFAIL. */
store_status_t store_suppression_put(store_t *st, store_txn_t *tx,
                                     const char *addr, const suppression_t *s);
/* Removes an address: lookups stop finding it at once, and a tombstone
 * with the removal time stays until store_suppression_purge() (ses-suppress
 * sync propagates it to SES first). STORE_NOTFOUND when not suppressed. */
store_status_t store_suppression_del(store_t *st, store_txn_t *tx,
                                     const char *addr, int64_t when);
/* Forgets an address and its tombstone entirely. */
store_status_t store_suppression_purge(store_t *st, store_txn_t *tx,
                                       const char *addr);

/* Iteration in address order. removed is true for tombstones (s->last is
 * the removal time), which are only passed when with_removed is true.
 * A non-zero return from fn stops the walk (store_suppression_each then
 * returns STORE_OK). fn must not write to the store. */
typedef int (*store_supp_fn)(void *ctx, const char *addr,
                             const suppression_t *s, int removed);
store_status_t store_suppression_each(store_t *st, int with_removed,
                                      store_supp_fn fn, void *ctx);

/* For ses-suppress sync: an entry whatever its state, with its flags
 * (STORE_OK also for a tombstone), and the mark that it is known to the
 * SESv2 account suppression list. Any later change to the entry (put,
 * del) clears the mark. */
#define STORE_SUPP_REMOVED 0x01 /* a tombstone */
#define STORE_SUPP_SYNCED  0x02 /* seen in or pushed to SES by a sync */
store_status_t store_suppression_get_state(store_t *st, const char *addr,
                                           suppression_t *out, unsigned *flags);
store_status_t store_suppression_mark_synced(store_t *st, store_txn_t *tx,
                                             const char *addr);

/* Idempotency: records id (an SNS/SQS message id or SES feedbackId, at
 * most STORE_MAX_ID bytes) as applied. *fresh is 1 when it was new, 0 when
 * it had been seen (and nothing is written). */
#define STORE_MAX_ID 512
store_status_t store_seen_add(store_t *st, store_txn_t *tx, const char *id,
                              int64_t now, int *fresh);
/* STORE_OK when id was seen, STORE_NOTFOUND when not. */
store_status_t store_seen_get(store_t *st, const char *id);

/* Per configuration set and UTC day counters (stats.db), for `ses-suppress
 * report`. store_message_put() counts STAT_SENT (one per recipient). */
typedef enum {
    STAT_SENT = 0,
    STAT_DELIVERED,
    STAT_BOUNCE,    /* permanent bounces */
    STAT_TRANSIENT, /* transient and undetermined bounces */
    STAT_COMPLAINT,
    STAT_REJECT,
    STAT_DELAY,
    STAT__COUNT
} store_stat_t;
store_status_t store_stats_add(store_t *st, store_txn_t *tx,
                               const char *config_set, int64_t when,
                               store_stat_t which, uint32_t n);
/* Sums the days that overlap [from, to) per configuration set ("" for
 * mail sent without one), calling fn once per set in name order. */
typedef int (*store_stats_fn)(void *ctx, const char *config_set,
                              const uint64_t counts[STAT__COUNT]);
store_status_t store_stats_sum(store_t *st, int64_t from, int64_t to,
                               store_stats_fn fn, void *ctx);

/* Deletes messages.db entries older than now - message_ttl and seen.db
 * entries older than now - seen_ttl (seconds; 0 keeps them), in small
 * transactions; *removed (may be NULL) counts them. */
store_status_t store_expire(store_t *st, int64_t now, int64_t message_ttl,
                            int64_t seen_ttl, size_t *removed);

/* The DSN outbox (outbox.db, store_outbox.c). ses-feedback puts a DSN in
 * the transaction that marks its notification seen, injects it after the
 * commit and deletes it once sendmail took it, so a failed commit never
 * sends one and a crash before the injection loses none. key: the
 * notification's event key (at most STORE_MAX_ID bytes). */
typedef struct {
    const char *sender;     /* the DSN's recipient (original envelope sender) */
    const char *queue_id;   /* Postfix queue id, "" when unknown */
    const char *message_id; /* SES MessageId */
    const char *msg;        /* the DSN as sendmail takes it */
    size_t len;             /* at most STORE_OUTBOX_MAX_MSG */
    int64_t created;        /* unix seconds */
    int64_t next;           /* not to be tried before (unix seconds) */
    uint32_t attempts;      /* injections tried so far */
} store_dsn_t;

#define STORE_OUTBOX_MAX_MSG (4u << 20)

store_status_t store_outbox_put(store_t *st, store_txn_t *tx, const char *key,
                                const store_dsn_t *d);
/* One allocation, free with store_dsn_free(). STORE_NOTFOUND when gone. */
store_status_t store_outbox_get(store_t *st, const char *key,
                                store_dsn_t **out);
void store_dsn_free(store_dsn_t *d); /* NULL is fine */
/* After a failed injection: attempts + 1, not again before next. */
store_status_t store_outbox_retry(store_t *st, const char *key, int64_t next);
/* The commit does not wait for the disk: it survives a killed process
 * (the log is written), not a power cut (the DSN would then be sent
 * again). STORE_NOTFOUND when gone. */
store_status_t store_outbox_del(store_t *st, const char *key);
/* Calls fn with the key of every entry due at `now` (next <= now), in key
 * order; a non-zero return stops the walk. fn must not write. */
typedef int (*store_outbox_fn)(void *ctx, const char *key);
store_status_t store_outbox_due(store_t *st, int64_t now, store_outbox_fn fn,
                                void *ctx);

/* Reads suppression.db once so that this process has the shared cache's
 * pages mapped: the first lookups after start then cost what later ones
 * do (the milter may call it in the background at start-up). */
store_status_t store_warm(store_t *st);

/* Forces a checkpoint (writers also checkpoint by themselves after
 * commits, at most every few seconds, and at close); old log files are
 * removed automatically (DB_LOG_AUTO_REMOVE). */
store_status_t store_checkpoint(store_t *st);

/* Short names for the enums ("bounce", "feedback", ...) and back; the
 * parsers return 0 for an unknown name. */
const char *store_reason_name(supp_reason_t r);
supp_reason_t store_reason_parse(const char *s);
const char *store_source_name(supp_source_t s);
supp_source_t store_source_parse(const char *s);

#endif
