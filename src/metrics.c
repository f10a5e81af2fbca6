/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * metrics.c - delivery counters and latency histograms in a shared
 * memory-mapped file, rendered in the Prometheus text format
 *
 * The file (DataDirectory/metrics.mmap) is a header and a fixed table of
 * slots. A slot holds one series: its kind, its labels and its values.
 * Writers find a slot by hashing kind and labels and probing linearly; an
 * empty slot is claimed with a compare-and-swap (EMPTY -> CLAIMED), filled,
 * and published (READY, release order). Values are 64-bit atomic adds, so
 * any number of processes and threads update the file without a lock.
 * A writer that dies between CLAIMED and READY leaves a slot that others
 * step over; a second slot with the same labels may then appear, and the
 * renderer adds duplicates together.
 *
 * The file is created under flock(), mode 0660; root gives it to the
 * owner of the directory. Its blocks are allocated when it is made (and
 * checked at every open), so a disk that fills up later can never turn a
 * counter update into SIGBUS after SES took the message. A file of another
 * layout (an older version, or damage) is replaced by a new one through
 * rename(), never truncated in place: processes that still map the old one keep
 * running.
 *
 * metrics_open() metrics_close() metrics_add() metrics_observe_ms()
 * metrics_render() metrics_add_renderer() metrics_write_textfile();
 * process-wide: metrics_count() metrics_observe() metrics_delivery().
 *
 * DIAGNOSTICS
 *   See ses_metrics.h. The process-wide calls log the first failure (at
 *   LOG_WARNING, or LOG_DEBUG when DataDirectory does not exist) and then
 *   leave the process's metrics off; a delivery never fails because of
 *   metrics.
 */
#include "config.h"

#include "ses_log.h"
#include "ses_metrics.h"
#include "ses_ses.h"
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
#error "metrics.c needs lock-free 32- and 64-bit atomics"
#endif

#define MAGIC          "SESMTRC1"
#define LAYOUT_VERSION 1
#define NSLOTS         1024
#define LABEL_CS       72 /* SES configuration set names: 64 characters */
#define LABEL_STATUS   16
#define LABEL_REASON   40
#define CLAIM_SPINS    200 /* yields spent waiting for a slot being filled */

/* Histogram upper bounds in milliseconds; +Inf is implicit. */
static const uint64_t bounds_ms[] = {50,   100,  250,   500,   1000,
                                     2500, 5000, 10000, 30000, 60000};
#define NBUCKETS (sizeof(bounds_ms) / sizeof(bounds_ms[0]))

enum { SLOT_EMPTY = 0, SLOT_CLAIMED = 1, SLOT_READY = 2 };
enum { KIND_COUNTER = 1, KIND_HISTOGRAM = 2 };

typedef struct {
    uint32_t kind;
    char cs[LABEL_CS];
    char status[LABEL_STATUS];
    char reason[LABEL_REASON];
} labels_t;

/* v[0] is a counter's value; a histogram uses v[0..NBUCKETS] (the last is
 * +Inf), v[NBUCKETS+1] the count and v[NBUCKETS+2] the sum in ms. */
typedef struct {
    _Atomic uint32_t state;
    labels_t l;
    _Atomic uint64_t v[NBUCKETS + 3];
} slot_t;

typedef struct {
    char magic[8];
    uint32_t version;
    uint32_t nslots;
    uint32_t slot_size;
    uint32_t nbuckets;
    int64_t created; /* unix seconds */
    _Atomic uint64_t dropped;
    char pad[24];
} header_t;

#define FILE_SIZE (sizeof(header_t) + NSLOTS * sizeof(slot_t))
_Static_assert(sizeof(header_t) <= 1024, "file_open_shared() reads it");

struct metrics {
    void *map;
    size_t size;
    header_t *hdr;
    slot_t *slots;
    int writable;
    metrics_renderer_t more; /* series kept elsewhere (the breakers) */
    void *more_ud;
};

/* ---- the file ---- */

static void header_init(header_t *h)
{
    memset(h, 0, sizeof(*h));
    memcpy(h->magic, MAGIC, 8);
    h->version = LAYOUT_VERSION;
    h->nslots = NSLOTS;
    h->slot_size = sizeof(slot_t);
    h->nbuckets = NBUCKETS;
    h->created = (int64_t)time(NULL);
}

static bool header_ok(const void *hdr)
{
    const header_t *h = hdr;

    return memcmp(h->magic, MAGIC, 8) == 0 && h->version == LAYOUT_VERSION &&
           h->nslots == NSLOTS && h->slot_size == sizeof(slot_t) &&
           h->nbuckets == NBUCKETS;
}

/* Opens path for writing, creating or replacing it as needed. */
static int file_open_write(const char *path, char *err, size_t errlen)
{
    header_t h;
    shared_file_t f = {.size = (off_t)FILE_SIZE,
                       .header = &h,
                       .header_len = sizeof(h),
                       .header_ok = header_ok};

    header_init(&h);
    return file_open_shared(path, &f, err, errlen);
}

metrics_status_t metrics_open(const char *path, metrics_mode_t mode,
                              metrics_t **out, char *err, size_t errlen)
{
    metrics_t *m = NULL;
    struct stat st;
    int fd = -1, prot = PROT_READ;

    *out = NULL;
    if (path == NULL || *path == '\0') {
        snprintf(err, errlen, "no metrics file given");
        return METRICS_FAIL;
    }
    if (mode == METRICS_WRITE) {
        if ((fd = file_open_write(path, err, errlen)) < 0)
            return METRICS_FAIL;
        prot |= PROT_WRITE;
    } else if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return errno == ENOENT ? METRICS_NOTFOUND : METRICS_FAIL;
    }
    if (fstat(fd, &st) < 0 || st.st_size != (off_t)FILE_SIZE) {
        snprintf(err, errlen, "%s is not a metrics file of this version", path);
        goto fail;
    }
    if ((m = calloc(1, sizeof(*m))) == NULL) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    m->size = FILE_SIZE;
    m->map = mmap(NULL, m->size, prot, MAP_SHARED, fd, 0);
    if (m->map == MAP_FAILED) {
        snprintf(err, errlen, "cannot map %s: %s", path, strerror(errno));
        m->map = NULL;
        goto fail;
    }
    m->hdr = m->map;
    m->slots = (slot_t *)((char *)m->map + sizeof(header_t));
    m->writable = mode == METRICS_WRITE;
    if (!header_ok(m->hdr)) {
        snprintf(err, errlen, "%s is not a metrics file of this version", path);
        goto fail;
    }
    close(fd);
    *out = m;
    return METRICS_OK;
fail:
    metrics_close(m);
    close(fd);
    return METRICS_FAIL;
}

void metrics_close(metrics_t *m)
{
    if (m == NULL)
        return;
    if (m->map)
        munmap(m->map, m->size);
    free(m);
}

/* ---- slots ---- */

static void labels_set(labels_t *l, uint32_t kind, const char *cs,
                       const char *status, const char *reason)
{
    memset(l, 0, sizeof(*l));
    l->kind = kind;
    str_copy(l->cs, cs ? cs : "", sizeof(l->cs));
    str_copy(l->status, status ? status : "", sizeof(l->status));
    str_copy(l->reason, reason ? reason : "", sizeof(l->reason));
}

static uint32_t labels_hash(const labels_t *l)
{
    const unsigned char *p = (const unsigned char *)l;
    uint32_t h = 2166136261u; /* FNV-1a over the zero-padded labels */

    for (size_t i = 0; i < sizeof(*l); i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

static slot_t *slot_find(metrics_t *m, const labels_t *l)
{
    uint32_t h = labels_hash(l);

    if (m == NULL || !m->writable)
        return NULL;
    for (uint32_t i = 0; i < NSLOTS; i++) {
        slot_t *s = &m->slots[(h + i) % NSLOTS];
        uint32_t st = atomic_load_explicit(&s->state, memory_order_acquire);

        if (st == SLOT_EMPTY) {
            uint32_t expect = SLOT_EMPTY;
            if (atomic_compare_exchange_strong_explicit(
                    &s->state, &expect, SLOT_CLAIMED, memory_order_acq_rel,
                    memory_order_acquire)) {
                memcpy(&s->l, l, sizeof(*l));
                atomic_store_explicit(&s->state, SLOT_READY,
                                      memory_order_release);
                return s;
            }
            st = expect;
        }
        for (int spin = 0; st == SLOT_CLAIMED && spin < CLAIM_SPINS; spin++) {
            sched_yield();
            st = atomic_load_explicit(&s->state, memory_order_acquire);
        }
        if (st == SLOT_READY && memcmp(&s->l, l, sizeof(*l)) == 0)
            return s;
    }
    atomic_fetch_add_explicit(&m->hdr->dropped, 1, memory_order_relaxed);
    return NULL;
}

metrics_status_t metrics_add(metrics_t *m, const char *config_set,
                             const char *status, const char *reason, uint64_t n)
{
    labels_t l;
    slot_t *s;

    if (m == NULL || !m->writable)
        return METRICS_FAIL;
    labels_set(&l, KIND_COUNTER, config_set, status, reason);
    if ((s = slot_find(m, &l)) == NULL)
        return METRICS_FULL;
    atomic_fetch_add_explicit(&s->v[0], n, memory_order_relaxed);
    return METRICS_OK;
}

metrics_status_t metrics_observe_ms(metrics_t *m, const char *config_set,
                                    int64_t ms)
{
    labels_t l;
    slot_t *s;
    size_t b = 0;

    if (m == NULL || !m->writable || ms < 0)
        return METRICS_FAIL;
    labels_set(&l, KIND_HISTOGRAM, config_set, NULL, NULL);
    if ((s = slot_find(m, &l)) == NULL)
        return METRICS_FULL;
    while (b < NBUCKETS && (uint64_t)ms > bounds_ms[b])
        b++;
    /* buckets hold non-cumulative counts; the renderer accumulates */
    atomic_fetch_add_explicit(&s->v[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->v[NBUCKETS + 1], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->v[NBUCKETS + 2], (uint64_t)ms,
                              memory_order_relaxed);
    return METRICS_OK;
}

/* ---- rendering ---- */

typedef struct {
    labels_t l;
    uint64_t v[NBUCKETS + 3];
} series_t;

static int series_cmp(const void *a, const void *b)
{
    return memcmp(&((const series_t *)a)->l, &((const series_t *)b)->l,
                  sizeof(labels_t));
}

/* A consistent copy of every READY slot, sorted, duplicates merged. */
static size_t series_collect(metrics_t *m, series_t *out)
{
    size_t n = 0, w = 0;

    for (size_t i = 0; i < NSLOTS; i++) {
        slot_t *s = &m->slots[i];
        if (atomic_load_explicit(&s->state, memory_order_acquire) != SLOT_READY)
            continue;
        memcpy(&out[n].l, &s->l, sizeof(labels_t));
        for (size_t k = 0; k < NBUCKETS + 3; k++)
            out[n].v[k] = atomic_load_explicit(&s->v[k], memory_order_relaxed);
        n++;
    }
    qsort(out, n, sizeof(*out), series_cmp);
    for (size_t i = 0; i < n; i++) {
        if (w > 0 && memcmp(&out[w - 1].l, &out[i].l, sizeof(labels_t)) == 0) {
            for (size_t k = 0; k < NBUCKETS + 3; k++)
                out[w - 1].v[k] += out[i].v[k];
            continue;
        }
        if (w != i)
            out[w] = out[i];
        w++;
    }
    return w;
}

/* name="value" with Prometheus escaping; nothing for an empty value. */
static void put_label(buf_t *b, int *first, const char *name, const char *v)
{
    if (v == NULL || *v == '\0')
        return;
    buf_printf(b, "%s%s=\"", *first ? "" : ",", name);
    for (; *v; v++) {
        if (*v == '\\' || *v == '"')
            buf_printf(b, "\\%c", *v);
        else if (*v == '\n')
            buf_puts(b, "\\n");
        else
            buf_putc(b, *v);
    }
    buf_putc(b, '"');
    *first = 0;
}

static void put_series(buf_t *b, const char *name, const labels_t *l,
                       const char *le)
{
    int first = 1;

    buf_puts(b, name);
    buf_putc(b, '{');
    put_label(b, &first, "configuration_set", l->cs);
    put_label(b, &first, "status", l->status);
    put_label(b, &first, "reason", l->reason);
    put_label(b, &first, "le", le);
    if (first) /* no label at all: drop the braces */
        b->data[--b->len] = '\0';
    else
        buf_putc(b, '}');
}

static void render_counters(buf_t *b, const series_t *s, size_t n)
{
    buf_puts(b, "# HELP sesmilter_messages_total Recipients by outcome "
                "(status: sent, deferred, bounced, suppressed), configuration "
                "set and reason.\n"
                "# TYPE sesmilter_messages_total counter\n");
    for (size_t i = 0; i < n; i++) {
        if (s[i].l.kind != KIND_COUNTER)
            continue;
        put_series(b, "sesmilter_messages_total", &s[i].l, NULL);
        buf_printf(b, " %llu\n", (unsigned long long)s[i].v[0]);
    }
}

static void render_histograms(buf_t *b, const series_t *s, size_t n)
{
    char le[32];

    buf_puts(b, "# HELP sesmilter_delivery_duration_seconds Time from "
                "receiving a message to the answer of Amazon SES, per "
                "delivery.\n"
                "# TYPE sesmilter_delivery_duration_seconds histogram\n");
    for (size_t i = 0; i < n; i++) {
        uint64_t cum = 0;
        if (s[i].l.kind != KIND_HISTOGRAM)
            continue;
        for (size_t k = 0; k <= NBUCKETS; k++) {
            cum += s[i].v[k];
            if (k < NBUCKETS)
                snprintf(le, sizeof(le), "%g", bounds_ms[k] / 1000.0);
            else
                str_copy(le, "+Inf", sizeof(le));
            put_series(b, "sesmilter_delivery_duration_seconds_bucket", &s[i].l,
                       le);
            buf_printf(b, " %llu\n", (unsigned long long)cum);
        }
        put_series(b, "sesmilter_delivery_duration_seconds_sum", &s[i].l, NULL);
        buf_printf(b, " %.3f\n", s[i].v[NBUCKETS + 2] / 1000.0);
        put_series(b, "sesmilter_delivery_duration_seconds_count", &s[i].l,
                   NULL);
        buf_printf(b, " %llu\n", (unsigned long long)s[i].v[NBUCKETS + 1]);
    }
}

void metrics_add_renderer(metrics_t *m, metrics_renderer_t fn, void *ud)
{
    m->more = fn;
    m->more_ud = ud;
}

metrics_status_t metrics_render(metrics_t *m, buf_t *b)
{
    series_t *s;
    size_t n;

    if (m == NULL || (s = calloc(NSLOTS, sizeof(*s))) == NULL)
        return METRICS_FAIL;
    n = series_collect(m, s);
    render_counters(b, s, n);
    render_histograms(b, s, n);
    free(s);
    buf_printf(b,
               "# HELP sesmilter_metrics_dropped_total Updates lost because "
               "the metrics table was full.\n"
               "# TYPE sesmilter_metrics_dropped_total counter\n"
               "sesmilter_metrics_dropped_total %llu\n"
               "# HELP sesmilter_metrics_created_seconds When the metrics "
               "file was created (counters start there).\n"
               "# TYPE sesmilter_metrics_created_seconds gauge\n"
               "sesmilter_metrics_created_seconds %lld\n",
               (unsigned long long)atomic_load_explicit(&m->hdr->dropped,
                                                        memory_order_relaxed),
               (long long)m->hdr->created);
    if (m->more && m->more(m->more_ud, b) < 0)
        return METRICS_FAIL;
    return METRICS_OK;
}

metrics_status_t metrics_write_textfile(metrics_t *m, const char *path,
                                        char *err, size_t errlen)
{
    char tmp[PATH_MAX];
    buf_t b;
    int fd = -1;

    buf_init(&b, 0);
    if (metrics_render(m, &b) != METRICS_OK) {
        snprintf(err, errlen, "cannot render the metrics");
        goto fail;
    }
    snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid());
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0 || fchmod(fd, 0644) < 0 || write_all(fd, b.data, b.len) < 0 ||
        fsync(fd) < 0 || close(fd) < 0) {
        snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
        if (fd >= 0)
            close(fd);
        unlink(tmp);
        goto fail;
    }
    if (rename(tmp, path) < 0) {
        snprintf(err, errlen, "cannot rename %s to %s: %s", tmp, path,
                 strerror(errno));
        unlink(tmp);
        goto fail;
    }
    buf_free(&b);
    return METRICS_OK;
fail:
    buf_free(&b);
    return METRICS_FAIL;
}

/* ---- process-wide ---- */

const char *metrics_outcome(status_t st)
{
    if (st == ST_OK)
        return "sent";
    if (st == ST_PERM_SUPPRESSED)
        return "suppressed";
    return status_is_permanent(st) ? "bounced" : "deferred";
}

static pthread_mutex_t proc_lock = PTHREAD_MUTEX_INITIALIZER;
static metrics_t *proc_metrics;
static int proc_tried;

/* The process's store, opened on first use; NULL when off or broken. */
static metrics_t *proc_store(const conf_t *conf)
{
    char path[PATH_MAX], err[PATH_MAX + 128];
    const char *dir;
    metrics_t *m;

    pthread_mutex_lock(&proc_lock);
    if (!proc_tried && conf && conf_bool(conf, CK_METRICS)) {
        proc_tried = 1;
        dir = conf_str(conf, CK_DATA_DIRECTORY);
        snprintf(path, sizeof(path), "%s/%s", dir ? dir : ".", METRICS_FILE);
        if (metrics_open(path, METRICS_WRITE, &proc_metrics, err,
                         sizeof(err)) != METRICS_OK) {
            struct stat st;
            int quiet = dir == NULL || stat(dir, &st) < 0;
            log_msg(quiet ? LOG_DEBUG : LOG_WARNING, NULL,
                    "metrics off in this process: %s", err);
        }
    }
    m = proc_metrics;
    pthread_mutex_unlock(&proc_lock);
    return m;
}

void metrics_count(const conf_t *conf, const char *config_set, status_t st)
{
    metrics_t *m = proc_store(conf);

    if (m)
        metrics_add(m, config_set, metrics_outcome(st),
                    st == ST_OK ? NULL : status_info(st)->name, 1);
}

void metrics_observe(const conf_t *conf, const char *config_set, int64_t ms)
{
    metrics_t *m = proc_store(conf);

    if (m)
        metrics_observe_ms(m, config_set, ms);
}

void metrics_delivery(const conf_t *conf, const char *config_set,
                      const ses_result_t *res, size_t n, int64_t ms)
{
    const char *cs = config_set ? config_set : "";

    if (conf == NULL || !conf_bool(conf, CK_METRICS))
        return;
    for (size_t i = 0; i < n; i++)
        metrics_count(conf, cs, res[i].status);
    metrics_observe(conf, cs, ms);
}
