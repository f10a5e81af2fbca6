/*
 * ses_store.h - the Berkeley DB stores shared by all programs
 *
 * One transactional environment in DataDirectory (DB_INIT_TXN|DB_INIT_LOCK|
 * DB_INIT_LOG|DB_INIT_MPOOL, DB_THREAD) holds:
 *   suppression.db  lower-cased address -> reason, source, first/last time,
 *                   count
 *   messages.db     SES MessageId -> Postfix queue id, envelope sender,
 *                   recipients, time, configuration set (expires)
 *   seen.db         SNS/SQS notification id -> time (idempotency, expires)
 * Every record starts with a version byte.
 *
 * THIS HEADER IS THE CONTRACT other modules code against (the milter's
 * RCPT TO lookup, the relay's message map). The feedback issue implements
 * it in src/store.c and may add functions; the signatures below stay.
 *
 * DIAGNOSTICS
 *   Every function returns STORE_OK, STORE_NOTFOUND, STORE_TEMPFAIL or
 *   STORE_PERMFAIL and leaves a message for store_strerror(); none exits,
 *   aborts or logs.
 */
#ifndef SES_STORE_H
#define SES_STORE_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    STORE_OK = 0,
    STORE_NOTFOUND,
    STORE_TEMPFAIL, /* busy, deadlock, I/O: try again later */
    STORE_PERMFAIL, /* corrupt record, bad argument */
} store_status_t;

typedef enum {
    STORE_READONLY = 1, /* the milter: lookups only */
    STORE_READWRITE = 2,
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
    int64_t first;  /* unix seconds */
    int64_t last;
    uint32_t count;
} suppression_t;

#define STORE_MAX_ADDR 320

typedef struct store store_t; /* opaque; thread-safe (DB_THREAD) */

store_status_t store_open(const char *datadir, store_mode_t mode,
                          store_t **out, char *err, size_t errlen);
void store_close(store_t *st); /* NULL is fine */
const char *store_strerror(const store_t *st);

/* addr is compared case-insensitively (lower-cased before lookup). */
store_status_t store_suppression_get(store_t *st, const char *addr,
                                     suppression_t *out);

/* The message map, written by ses-relay after SES accepted a message. */
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

#endif
