/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ses_hoststate.h - small records every ses-relay of the host shares
 *
 * Some state belongs to the host, not to one process: pipe mode runs a
 * process per delivery, and an LMTP server may run beside them. This
 * module keeps such state in one file, DataDirectory/hoststate, for every
 * user of it:
 *
 *   type HOSTSTATE_BREAKER  the breakers of breaker.c (ses_breaker.h),
 *                           kind = scope: account, configuration set,
 *                           sending identity, region (failover);
 *   type HOSTSTATE_RATE     the fleet's adaptive send rate (reserved for
 *                           it: kind and payload are that module's).
 *
 * A record is found by its key (type, kind, region, name) and holds a
 * payload of HOSTSTATE_PAYLOAD_MAX bytes that only its owner module
 * interprets (a plain struct; check its size with _Static_assert).
 *
 *   hoststate_get()     reads a record without any lock or system call
 *                       (a seqlock over a shared mapping): the cost of
 *                       asking "is this scope healthy?" on every delivery;
 *   hoststate_update()  read-modify-write of one record under the host
 *                       lock: the callback sees the record (zeroed when new)
 *                       and says whether to write it, keep it or delete it.
 *                       It runs with the lock held: no sleeping, no I/O, no
 *                       other hoststate call inside it;
 *   hoststate_each()    every live record of a type (listing, metrics).
 *
 * Times. A payload keeps monotonic times (clock_mono_ms()), which no clock
 * step moves and which every process of one boot shares. The file
 * remembers the boot each record was written in: a record from an earlier
 * boot is handed over with rec->stale_clock set, and its owner must treat
 * its monotonic times as over (hoststate sets nothing in the payload).
 * rec->updated and rec->expires are wall-clock seconds, for people and
 * for eviction only.
 *
 * Space. The file has a fixed size (HOSTSTATE_FILE_SIZE, about 660 kB),
 * allocated on disk when it is made (posix_fallocate), so a disk that
 * fills later never turns a write through the mapping into SIGBUS. It has
 * HOSTSTATE_BUCKETS buckets of HOSTSTATE_WAYS records; a key lives in the
 * bucket of its hash. A new record takes a free slot of its bucket, else
 * one whose `expires` has passed, else the oldest record of a lower
 * `priority`; else hoststate_update() answers HOSTSTATE_FULL and nothing
 * is written. So a flood of identity breakers can never push out an
 * account's breaker or the send rate (give those a higher priority).
 *
 * Robustness. Writers take a process mutex and flock() on the file (the
 * kernel drops the lock of a process that dies). A writer that dies in
 * the middle of a record leaves its sequence number odd; the next reader
 * that waits too long for it takes the lock, and repairs the record (kept
 * when its checksum holds, cleared when not). Every record carries a
 * checksum: a damaged one reads as absent and is overwritten. A file of
 * the wrong size or header (damage, another version) is replaced through
 * rename(), never rewritten in place; a process still mapping the old one
 * notices before its next write, and readers within a second.
 *
 * When the file cannot be had (no DataDirectory, permissions, full disk),
 * hoststate_open_private() gives the same API on memory shared by the
 * threads of this process only; the caller says so in its log once.
 *
 * DIAGNOSTICS
 *   hoststate_open() returns HOSTSTATE_OK or HOSTSTATE_FAIL with a reason
 *   in err. hoststate_get() returns HOSTSTATE_OK or HOSTSTATE_NOTFOUND.
 *   hoststate_update() returns HOSTSTATE_OK, HOSTSTATE_FULL (no slot could
 *   be had for a new record) or HOSTSTATE_FAIL (the key does not fit: a
 *   region or name too long). Nothing here logs or exits.
 */
#ifndef SES_HOSTSTATE_H
#define SES_HOSTSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HOSTSTATE_FILE        "hoststate" /* in DataDirectory */
#define HOSTSTATE_BUCKETS     128
#define HOSTSTATE_WAYS        8
#define HOSTSTATE_REGION_MAX  32  /* bytes, NUL included */
#define HOSTSTATE_NAME_MAX    256 /* bytes, NUL included */
#define HOSTSTATE_PAYLOAD_MAX 296 /* bytes */

typedef enum {
    HOSTSTATE_OK = 0,
    HOSTSTATE_NOTFOUND,
    HOSTSTATE_FULL,
    HOSTSTATE_FAIL,
} hoststate_status_t;

/* Record types: one per module that keeps state here. */
enum {
    HOSTSTATE_BREAKER = 1, /* breaker.c */
    HOSTSTATE_RATE = 2,    /* the fleet's adaptive send rate */
};

typedef struct hoststate hoststate_t;

typedef struct {
    uint16_t type;      /* HOSTSTATE_BREAKER, HOSTSTATE_RATE */
    uint16_t kind;      /* the owner's sub-key (e.g. the breaker scope) */
    const char *region; /* "" or NULL: none */
    const char *name;   /* "" or NULL: none */
} hoststate_key_t;

typedef struct {
    int64_t now_ms;   /* clock_mono_ms() when the record was read */
    bool stale_clock; /* written in an earlier boot: its monotonic times
                         mean nothing now */
    uint8_t priority; /* eviction: a record only displaces lower ones */
    int64_t updated;  /* unix seconds of the last write (set on write) */
    int64_t expires;  /* unix seconds after which the slot may be given
                         to another record; 0: never */
    unsigned char payload[HOSTSTATE_PAYLOAD_MAX]; /* zero when new */
} hoststate_rec_t;

typedef enum {
    HOSTSTATE_KEEP,   /* leave the record as it was (or absent) */
    HOSTSTATE_WRITE,  /* store rec (creating the record if new) */
    HOSTSTATE_DELETE, /* remove the record */
} hoststate_action_t;

/* fn gets the record (found: true when it existed) with the lock held. */
typedef hoststate_action_t (*hoststate_fn)(void *ud, hoststate_rec_t *rec,
                                           bool found);

hoststate_status_t hoststate_open(const char *data_dir, hoststate_t **out,
                                  char *err, size_t errlen);
/* Same API, memory shared by this process's threads only; NULL when
 * memory runs out. */
hoststate_t *hoststate_open_private(void);
void hoststate_close(hoststate_t *hs); /* NULL is fine */
/* The file in use, or "" for private state. */
const char *hoststate_path(const hoststate_t *hs);

hoststate_status_t hoststate_get(hoststate_t *hs, const hoststate_key_t *key,
                                 hoststate_rec_t *out);
hoststate_status_t hoststate_update(hoststate_t *hs, const hoststate_key_t *key,
                                    hoststate_fn fn, void *ud);
/* Calls fn for every live record of type (0: all) until it returns
 * nonzero. The record is a consistent copy; no lock is held. */
void hoststate_each(hoststate_t *hs, uint16_t type,
                    int (*fn)(void *ud, const hoststate_key_t *key,
                              const hoststate_rec_t *rec),
                    void *ud);

/* Test hooks: the boot id records are written with (0: the kernel's),
 * and the monotonic clock in milliseconds (NULL: clock_mono_ms()). */
void hoststate_set_boot(hoststate_t *hs, uint64_t boot);
void hoststate_set_clock(hoststate_t *hs, int64_t (*now_ms)(void));

#endif
