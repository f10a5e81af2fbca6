/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * hoststate.c - small records every ses-relay of the host shares
 *
 * The file DataDirectory/hoststate is a 4 kB header and HOSTSTATE_BUCKETS
 * x HOSTSTATE_WAYS slots of 640 bytes, mapped MAP_SHARED by every process.
 * A slot is a sequence number, the hash of its key and a record (key,
 * owner's payload, checksum) kept as 64-bit words, so that readers can copy
 * it with relaxed atomic loads while a writer changes it: the seqlock of
 * Boehm's "Can seqlocks get along with programming language memory
 * models?" (writer: seq odd, release fence, words, seq even with release;
 * reader: seq with acquire, words, acquire fence, seq again). Writers are
 * serialised by a process mutex plus flock() on the file.
 *
 * Opening: a file of the right size and header is mapped without a lock
 * (the common case: one open, fstat, pread, mmap). Otherwise, under
 * flock(), an empty file is given its blocks (posix_fallocate) and its
 * header; a damaged one is marked retired (a word in the header that every
 * user checks before each operation) and replaced through rename().
 *
 * hoststate_open() hoststate_open_private() hoststate_close()
 * hoststate_path() hoststate_get() hoststate_update() hoststate_each()
 * hoststate_set_boot() hoststate_set_clock()
 *
 * DIAGNOSTICS
 *   See ses_hoststate.h. A retired file is mapped again at the next
 *   operation; when that fails the handle goes on with private memory.
 */
#include "config.h"

#include "ses_hoststate.h"
#include "ses_util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#if ATOMIC_LLONG_LOCK_FREE != 2 || ATOMIC_INT_LOCK_FREE != 2
#error "hoststate.c needs lock-free 32- and 64-bit atomics"
#endif

#define MAGIC          "SESHOST1"
#define LAYOUT_VERSION 1
#define HEADER_SIZE    4096
#define SLOT_SIZE      640
#define NSLOTS         (HOSTSTATE_BUCKETS * HOSTSTATE_WAYS)
#define FILE_SIZE      ((size_t)HEADER_SIZE + (size_t)NSLOTS * SLOT_SIZE)
#define READ_SPINS     200 /* tries before a reader takes the lock */
#define MAX_RETIRED    8   /* old mappings kept until close */

/* The record as it is stored, copied in and out word by word. */
typedef struct {
    uint16_t type, kind;
    uint8_t priority;
    uint8_t pad[3];
    uint64_t boot;
    int64_t updated, expires;
    char region[HOSTSTATE_REGION_MAX];
    char name[HOSTSTATE_NAME_MAX];
    unsigned char payload[HOSTSTATE_PAYLOAD_MAX];
    uint64_t check; /* FNV-1a of everything above; 0 never matches */
} record_t;

#define REC_WORDS (sizeof(record_t) / sizeof(uint64_t))

typedef struct {
    _Atomic uint32_t seq; /* odd while a writer is inside */
    uint32_t pad;
    _Atomic uint64_t keyhash; /* 0: free */
    _Atomic uint64_t w[REC_WORDS];
} slot_t;

typedef struct {
    char magic[8];
    uint32_t version, buckets, ways, slot_size;
    int64_t created;
    _Atomic uint32_t retired; /* replaced: map the file again */
} header_t;

_Static_assert(sizeof(record_t) % sizeof(uint64_t) == 0, "record in words");
_Static_assert(sizeof(slot_t) == SLOT_SIZE, "slot size");
_Static_assert(sizeof(header_t) <= HEADER_SIZE, "header size");
_Static_assert(sizeof(header_t) <= 1024, "file_open_shared() reads it");

typedef struct {
    void *map;
    size_t size;
} mapping_t;

struct hoststate {
    pthread_mutex_t lock;
    char path[PATH_MAX]; /* "" for private memory */
    int fd;              /* -1 for private memory */
    _Atomic(header_t *) hdr;
    _Atomic(slot_t *) slots;
    mapping_t maps[MAX_RETIRED + 1]; /* [0] current, then retired ones */
    int nmaps;
    uint64_t boot;
    int64_t (*clock)(void); /* monotonic ms; a test may set its own */
};

/* ---- records ---- */

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *c = p;

    for (size_t i = 0; i < n; i++)
        h = (h ^ c[i]) * 1099511628211ULL;
    return h;
}

static uint64_t record_check(const record_t *r)
{
    uint64_t h = fnv(14695981039346656037ULL, r, offsetof(record_t, check));

    return h ? h : 1;
}

static const char *nz(const char *s)
{
    return s ? s : "";
}

static bool key_fits(const hoststate_key_t *k)
{
    return k->type != 0 && strlen(nz(k->region)) < HOSTSTATE_REGION_MAX &&
           strlen(nz(k->name)) < HOSTSTATE_NAME_MAX;
}

static uint64_t key_hash(const hoststate_key_t *k)
{
    uint16_t tk[2] = {k->type, k->kind};
    uint64_t h = fnv(14695981039346656037ULL, tk, sizeof(tk));

    h = fnv(h, nz(k->region), strlen(nz(k->region)) + 1);
    h = fnv(h, nz(k->name), strlen(nz(k->name)));
    return h ? h : 1;
}

static bool record_is(const record_t *r, const hoststate_key_t *k)
{
    return r->type == k->type && r->kind == k->kind &&
           strcmp(r->region, nz(k->region)) == 0 &&
           strcmp(r->name, nz(k->name)) == 0;
}

static bool record_live(const record_t *r)
{
    return r->type != 0 && r->check == record_check(r) &&
           memchr(r->region, '\0', sizeof(r->region)) &&
           memchr(r->name, '\0', sizeof(r->name));
}

static void slot_copy_out(slot_t *s, record_t *r)
{
    uint64_t *w = (uint64_t *)(void *)r;

    for (size_t i = 0; i < REC_WORDS; i++)
        w[i] = atomic_load_explicit(&s->w[i], memory_order_relaxed);
}

/* A consistent copy of the slot, or false after READ_SPINS tries (a
 * writer is slow or died inside). */
static bool slot_read(slot_t *s, record_t *r)
{
    for (int i = 0; i < READ_SPINS; i++) {
        uint32_t a = atomic_load_explicit(&s->seq, memory_order_acquire), b;
        if (a & 1) {
            if (i > 4)
                sched_yield();
            continue;
        }
        slot_copy_out(s, r);
        atomic_thread_fence(memory_order_acquire);
        b = atomic_load_explicit(&s->seq, memory_order_relaxed);
        if (a == b)
            return true;
    }
    return false;
}

/* Writes r (NULL: clears the slot); the writer's lock is held. */
static void slot_write(slot_t *s, const record_t *r, uint64_t keyhash)
{
    static const record_t zero;
    const uint64_t *w = (const uint64_t *)(const void *)(r ? r : &zero);
    uint32_t seq = atomic_load_explicit(&s->seq, memory_order_relaxed);

    seq |= 1; /* odd, also when a dead writer left it odd */
    atomic_store_explicit(&s->seq, seq, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    atomic_store_explicit(&s->keyhash, r ? keyhash : 0, memory_order_relaxed);
    for (size_t i = 0; i < REC_WORDS; i++)
        atomic_store_explicit(&s->w[i], w[i], memory_order_relaxed);
    atomic_store_explicit(&s->seq, seq + 1, memory_order_release);
}

/* The slot's record with the lock held: a slot a dead writer left odd
 * is repaired first (kept if its checksum holds, else cleared). */
static bool slot_read_locked(slot_t *s, record_t *r)
{
    uint32_t seq = atomic_load_explicit(&s->seq, memory_order_relaxed);

    slot_copy_out(s, r);
    if (seq & 1) {
        bool ok = record_live(r);
        slot_write(s, ok ? r : NULL, ok ? atomic_load(&s->keyhash) : 0);
        if (!ok)
            memset(r, 0, sizeof(*r));
    }
    return record_live(r);
}

/* ---- the file ---- */

static void header_init(header_t *h)
{
    memset(h, 0, sizeof(*h));
    memcpy(h->magic, MAGIC, 8);
    h->version = LAYOUT_VERSION;
    h->buckets = HOSTSTATE_BUCKETS;
    h->ways = HOSTSTATE_WAYS;
    h->slot_size = SLOT_SIZE;
    h->created = (int64_t)time(NULL);
}

static bool header_ok(const void *hdr)
{
    const header_t *h = hdr;

    return memcmp(h->magic, MAGIC, 8) == 0 && h->version == LAYOUT_VERSION &&
           h->buckets == HOSTSTATE_BUCKETS && h->ways == HOSTSTATE_WAYS &&
           h->slot_size == SLOT_SIZE && h->retired == 0;
}

/* Processes mapping a damaged file look at this word before every
 * operation. */
static void file_retire(int fd)
{
    uint32_t one = 1;

    (void)pwrite(fd, &one, sizeof(one), offsetof(header_t, retired));
}

static int flock_wait(int fd, int op)
{
    while (flock(fd, op) < 0)
        if (errno != EINTR)
            return -1;
    return 0;
}

/* Opens path ready to map: made or replaced as needed. */
static int file_open(const char *path, char *err, size_t errlen)
{
    header_t h;
    shared_file_t f = {.size = (off_t)FILE_SIZE,
                       .header = &h,
                       .header_len = sizeof(h),
                       .header_ok = header_ok,
                       .retire = file_retire};

    header_init(&h);
    return file_open_shared(path, &f, err, errlen);
}

/* Maps fd (or anonymous memory for fd -1) as the handle's current file;
 * the previous mapping is kept until hoststate_close(): a thread of this
 * process may still be reading it. */
static int map_in(hoststate_t *hs, int fd)
{
    void *m;

    if (hs->nmaps > MAX_RETIRED)
        return -1;
    m = mmap(NULL, FILE_SIZE, PROT_READ | PROT_WRITE,
             fd < 0 ? MAP_SHARED | MAP_ANONYMOUS : MAP_SHARED, fd, 0);
    if (m == MAP_FAILED)
        return -1;
    if (fd < 0)
        header_init(m);
    memmove(&hs->maps[1], &hs->maps[0], (size_t)hs->nmaps * sizeof(mapping_t));
    hs->maps[0] = (mapping_t){m, FILE_SIZE};
    hs->nmaps++;
    atomic_store_explicit(&hs->slots, (slot_t *)((char *)m + HEADER_SIZE),
                          memory_order_release);
    atomic_store_explicit(&hs->hdr, (header_t *)m, memory_order_release);
    return 0;
}

static hoststate_t *handle_new(void)
{
    hoststate_t *hs = calloc(1, sizeof(*hs));

    if (hs == NULL)
        return NULL;
    pthread_mutex_init(&hs->lock, NULL);
    hs->fd = -1;
    hs->boot = clock_boot_id();
    hs->clock = clock_mono_ms;
    return hs;
}

hoststate_status_t hoststate_open(const char *data_dir, hoststate_t **out,
                                  char *err, size_t errlen)
{
    hoststate_t *hs = handle_new();

    *out = NULL;
    if (hs == NULL) {
        snprintf(err, errlen, "out of memory");
        return HOSTSTATE_FAIL;
    }
    if (data_dir == NULL || *data_dir == '\0' ||
        (size_t)snprintf(hs->path, sizeof(hs->path), "%s/%s", data_dir,
                         HOSTSTATE_FILE) >= sizeof(hs->path)) {
        snprintf(err, errlen, "no usable DataDirectory");
        goto fail;
    }
    if ((hs->fd = file_open(hs->path, err, errlen)) < 0)
        goto fail;
    if (map_in(hs, hs->fd) < 0) {
        snprintf(err, errlen, "cannot map %s: %s", hs->path, strerror(errno));
        goto fail;
    }
    *out = hs;
    return HOSTSTATE_OK;
fail:
    hoststate_close(hs);
    return HOSTSTATE_FAIL;
}

hoststate_t *hoststate_open_private(void)
{
    hoststate_t *hs = handle_new();

    if (hs && map_in(hs, -1) < 0) {
        hoststate_close(hs);
        return NULL;
    }
    return hs;
}

void hoststate_close(hoststate_t *hs)
{
    if (hs == NULL)
        return;
    for (int i = 0; i < hs->nmaps; i++)
        munmap(hs->maps[i].map, hs->maps[i].size);
    if (hs->fd >= 0)
        close(hs->fd);
    pthread_mutex_destroy(&hs->lock);
    free(hs);
}

const char *hoststate_path(const hoststate_t *hs)
{
    return hs->fd >= 0 ? hs->path : "";
}

void hoststate_set_boot(hoststate_t *hs, uint64_t boot)
{
    pthread_mutex_lock(&hs->lock);
    hs->boot = boot ? boot : clock_boot_id();
    pthread_mutex_unlock(&hs->lock);
}

void hoststate_set_clock(hoststate_t *hs, int64_t (*now_ms)(void))
{
    pthread_mutex_lock(&hs->lock);
    hs->clock = now_ms ? now_ms : clock_mono_ms;
    pthread_mutex_unlock(&hs->lock);
}

/* The file was replaced (retired): map the new one. The mutex is held.
 * When that fails, private memory: state is kept per process then. */
static void remap(hoststate_t *hs)
{
    char err[PATH_MAX + 80];
    int fd = file_open(hs->path, err, sizeof(err));

    if (fd >= 0 && map_in(hs, fd) == 0) {
        close(hs->fd);
        hs->fd = fd;
        return;
    }
    if (fd >= 0)
        close(fd);
    if (map_in(hs, -1) == 0) {
        close(hs->fd);
        hs->fd = -1;
    }
}

/* Takes the writer's lock: mutex, then flock() on a file that is not
 * retired. Returns 0, or -1 when the file lock cannot be had. */
static int lock(hoststate_t *hs)
{
    pthread_mutex_lock(&hs->lock);
    for (int tries = 0; hs->fd >= 0; tries++) {
        if (tries > 3 || flock_wait(hs->fd, LOCK_EX) < 0) {
            pthread_mutex_unlock(&hs->lock);
            return -1;
        }
        if (!atomic_load(&atomic_load(&hs->hdr)->retired))
            break;
        (void)flock(hs->fd, LOCK_UN);
        remap(hs);
    }
    return 0;
}

static void unlock(hoststate_t *hs)
{
    if (hs->fd >= 0)
        (void)flock(hs->fd, LOCK_UN);
    pthread_mutex_unlock(&hs->lock);
}

/* Readers look at the retired flag first; remapping needs the lock. */
static slot_t *reader_slots(hoststate_t *hs)
{
    header_t *h = atomic_load_explicit(&hs->hdr, memory_order_acquire);

    if (atomic_load_explicit(&h->retired, memory_order_relaxed) &&
        lock(hs) == 0)
        unlock(hs);
    return atomic_load_explicit(&hs->slots, memory_order_acquire);
}

/* ---- operations ---- */

static void rec_out(const hoststate_t *hs, const record_t *r,
                    hoststate_rec_t *out)
{
    out->now_ms = hs->clock();
    out->stale_clock = r->boot != hs->boot;
    out->priority = r->priority;
    out->updated = r->updated;
    out->expires = r->expires;
    memcpy(out->payload, r->payload, sizeof(out->payload));
}

hoststate_status_t hoststate_get(hoststate_t *hs, const hoststate_key_t *key,
                                 hoststate_rec_t *out)
{
    slot_t *slots;
    uint64_t h;
    size_t b;

    if (!key_fits(key))
        return HOSTSTATE_NOTFOUND;
    slots = reader_slots(hs);
    h = key_hash(key);
    b = (size_t)(h % HOSTSTATE_BUCKETS) * HOSTSTATE_WAYS;
    for (size_t i = 0; i < HOSTSTATE_WAYS; i++) {
        slot_t *s = &slots[b + i];
        record_t r;
        bool ok;

        if (atomic_load_explicit(&s->keyhash, memory_order_relaxed) != h)
            continue;
        if (!(ok = slot_read(s, &r))) { /* a writer died inside it */
            if (lock(hs) < 0)
                continue;
            ok = slot_read_locked(s, &r);
            unlock(hs);
        }
        if (ok && record_live(&r) && record_is(&r, key)) {
            rec_out(hs, &r, out);
            return HOSTSTATE_OK;
        }
    }
    return HOSTSTATE_NOTFOUND;
}

/* The slot a new record may take in bucket b, or NULL: free, else
 * expired, else the oldest of a lower priority. The lock is held. */
static slot_t *slot_for_new(slot_t *slots, size_t b, uint8_t priority)
{
    slot_t *best = NULL;
    record_t bestr = {0};
    int64_t now = (int64_t)time(NULL);

    for (size_t i = 0; i < HOSTSTATE_WAYS; i++) {
        slot_t *s = &slots[b + i];
        record_t r;
        if (!slot_read_locked(s, &r) || (r.expires && r.expires < now))
            return s;
        if (r.priority < priority &&
            (best == NULL || r.priority < bestr.priority ||
             (r.priority == bestr.priority && r.updated < bestr.updated))) {
            best = s;
            bestr = r;
        }
    }
    return best;
}

hoststate_status_t hoststate_update(hoststate_t *hs, const hoststate_key_t *key,
                                    hoststate_fn fn, void *ud)
{
    hoststate_status_t st = HOSTSTATE_OK;
    hoststate_rec_t rec;
    hoststate_action_t act;
    slot_t *slots, *found = NULL;
    record_t r;
    uint64_t h;
    size_t b;

    if (!key_fits(key))
        return HOSTSTATE_FAIL;
    if (lock(hs) < 0)
        return HOSTSTATE_FAIL;
    slots = atomic_load(&hs->slots);
    h = key_hash(key);
    b = (size_t)(h % HOSTSTATE_BUCKETS) * HOSTSTATE_WAYS;
    for (size_t i = 0; i < HOSTSTATE_WAYS && found == NULL; i++)
        if (slot_read_locked(&slots[b + i], &r) && record_is(&r, key))
            found = &slots[b + i];
    memset(&rec, 0, sizeof(rec));
    if (found)
        rec_out(hs, &r, &rec);
    else
        rec.now_ms = hs->clock();
    act = fn(ud, &rec, found != NULL);
    if (act == HOSTSTATE_DELETE && found)
        slot_write(found, NULL, 0);
    else if (act == HOSTSTATE_WRITE) {
        slot_t *s = found ? found : slot_for_new(slots, b, rec.priority);
        if (s == NULL)
            st = HOSTSTATE_FULL;
        else {
            memset(&r, 0, sizeof(r));
            r.type = key->type;
            r.kind = key->kind;
            r.priority = rec.priority;
            r.boot = hs->boot;
            r.updated = (int64_t)time(NULL);
            r.expires = rec.expires;
            str_copy(r.region, nz(key->region), sizeof(r.region));
            str_copy(r.name, nz(key->name), sizeof(r.name));
            memcpy(r.payload, rec.payload, sizeof(r.payload));
            r.check = record_check(&r);
            slot_write(s, &r, h);
        }
    }
    unlock(hs);
    return st;
}

void hoststate_each(hoststate_t *hs, uint16_t type,
                    int (*fn)(void *ud, const hoststate_key_t *key,
                              const hoststate_rec_t *rec),
                    void *ud)
{
    slot_t *slots = reader_slots(hs);

    for (size_t i = 0; i < NSLOTS; i++) {
        record_t r;
        hoststate_rec_t rec;
        hoststate_key_t k;

        if (atomic_load_explicit(&slots[i].keyhash, memory_order_relaxed) ==
                0 ||
            !slot_read(&slots[i], &r) || !record_live(&r) ||
            (type && r.type != type))
            continue;
        k = (hoststate_key_t){r.type, r.kind, r.region, r.name};
        rec_out(hs, &r, &rec);
        if (fn(ud, &k, &rec))
            break;
    }
}
