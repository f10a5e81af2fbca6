/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * suppress-lookup - suppression list figures: the CSV for the import
 * benchmark, and lookup latency through store_suppression_get() on a
 * read-only handle, the call ses-milter makes at RCPT TO
 *
 *   suppress-lookup gen N                 N CSV lines on stdout
 *   suppress-lookup lookup DATADIR N [M] [THREADS]
 *       M lookups (default 200000) of addresses among the N imported
 *       (hits) and as many of addresses not in the list (misses), in
 *       THREADS threads (default 1); prints p50/p99/p99.9 for a first
 *       pass in a fresh process (cold: this process maps the shared cache
 *       for the first time) and a second pass (warm: a running milter)
 *
 * Addresses are a deterministic function of their index, so the lookup
 * side knows what the import side wrote.
 */
#include "config.h"

#include "ses_store.h"

#include <pthread.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void addr_of(unsigned i, int hit, char *out, size_t outlen)
{
    unsigned h = i * 2654435761u;

    snprintf(out, outlen, "%s%07u.%08x@example%03u.com",
             hit ? "user" : "nouser", i, h, i % 997);
}

static double now_us(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
    double d = *(const double *)a - *(const double *)b;
    return d < 0 ? -1 : d > 0;
}

typedef struct {
    store_t *st;
    unsigned n, m, seed;
    int hit;
    double *lat;
    int errors;
} job_t;

static void *run(void *arg)
{
    job_t *j = arg;
    char a[128];
    suppression_t s;

    for (unsigned k = 0; k < j->m; k++) {
        unsigned i =
            (unsigned)(((unsigned long long)(k + j->seed) * 7919u) % j->n);
        double t0;
        store_status_t rc;
        addr_of(i, j->hit, a, sizeof(a));
        t0 = now_us();
        rc = store_suppression_get(j->st, a, &s);
        j->lat[k] = now_us() - t0;
        if (rc != (j->hit ? STORE_OK : STORE_NOTFOUND))
            j->errors++;
    }
    return NULL;
}

/* The machine's own noise: a CPU-only loop about as long as a lookup,
 * timed the same way. A lookup's tail cannot be better than this. */
static void reference(unsigned m)
{
    double *l = malloc(sizeof(double) * m), t0;
    volatile unsigned x = 1;
    unsigned iters = 1000;

    for (;;) { /* calibrate to about 2 us */
        t0 = now_us();
        for (unsigned i = 0; i < iters; i++)
            x = x * 1103515245u + 12345u;
        if (now_us() - t0 >= 2.0 || iters > (1u << 28))
            break;
        iters *= 2;
    }
    for (unsigned k = 0; k < m; k++) {
        t0 = now_us();
        for (unsigned i = 0; i < iters; i++)
            x = x * 1103515245u + 12345u;
        l[k] = now_us() - t0;
    }
    qsort(l, m, sizeof(double), cmp);
    printf("reference  cpu   p50 %.2f us  p99 %.2f us  p99.9 %.2f us  (a "
           "loop of about a lookup's length: this machine's noise)\n",
           l[m / 2], l[m * 99 / 100], l[m * 999 / 1000]);
    free(l);
}

static int pass(store_t *st, unsigned n, unsigned m, int threads,
                const char *label)
{
    double *all = malloc(sizeof(double) * m * 2 * threads), t0, wall;
    struct rusage r0, r1;
    job_t *jobs = calloc(2 * threads, sizeof(job_t));
    pthread_t *tid = calloc(2 * threads, sizeof(pthread_t));
    int errors = 0;

    getrusage(RUSAGE_SELF, &r0);
    t0 = now_us();
    for (int h = 0; h < 2; h++) {
        for (int t = 0; t < threads; t++) {
            job_t *j = &jobs[h * threads + t];
            j->st = st;
            j->n = n;
            j->m = m;
            j->seed = (unsigned)t * 104729u;
            j->hit = !h;
            j->lat = all + (size_t)(h * threads + t) * m;
            pthread_create(&tid[h * threads + t], NULL, run, j);
        }
        for (int t = 0; t < threads; t++)
            pthread_join(tid[h * threads + t], NULL);
    }
    wall = now_us() - t0;
    getrusage(RUSAGE_SELF, &r1);
    for (int k = 0; k < 2; k++) {
        double *l = all + (size_t)k * threads * m;
        size_t cnt = (size_t)threads * m;
        for (int t = 0; t < threads; t++)
            errors += jobs[k * threads + t].errors;
        qsort(l, cnt, sizeof(double), cmp);
        printf("lookup %-4s %-5s p50 %.2f us  p99 %.2f us  p99.9 %.2f us  "
               "max %.0f us\n",
               label, k == 0 ? "hit" : "miss", l[cnt / 2], l[cnt * 99 / 100],
               l[cnt * 999 / 1000], l[cnt - 1]);
    }
    printf("lookup %-4s %.0f lookups/s with %d thread%s, %ld page faults, "
           "%ld context switches\n",
           label, 2.0 * threads * m / (wall / 1e6), threads,
           threads == 1 ? "" : "s", r1.ru_minflt - r0.ru_minflt,
           (r1.ru_nvcsw - r0.ru_nvcsw) + (r1.ru_nivcsw - r0.ru_nivcsw));
    free(all);
    free(jobs);
    free(tid);
    return errors;
}

int main(int argc, char **argv)
{
    char err[512], a[128];

    if (argc == 3 && strcmp(argv[1], "gen") == 0) {
        unsigned n = (unsigned)strtoul(argv[2], NULL, 10);
        for (unsigned i = 0; i < n; i++) {
            addr_of(i, 1, a, sizeof(a));
            printf("%s,%s,%u\n", a, i % 10 ? "bounce" : "complaint",
                   1700000000u + i);
        }
        return 0;
    }
    if (argc >= 4 && strcmp(argv[1], "lookup") == 0) {
        unsigned n = (unsigned)strtoul(argv[3], NULL, 10);
        unsigned m = argc > 4 ? (unsigned)strtoul(argv[4], NULL, 10) : 200000;
        int threads = argc > 5 ? atoi(argv[5]) : 1, errors;
        store_t *st = NULL;

        if (store_open(argv[2], STORE_READONLY, &st, err, sizeof(err)) !=
            STORE_OK) {
            fprintf(stderr, "suppress-lookup: %s\n", err);
            return 1;
        }
        errors = pass(st, n, m, threads, "cold");
        errors += pass(st, n, m, threads, "warm");
        reference(m);
        store_close(st);
        if (errors) {
            fprintf(stderr, "suppress-lookup: %d wrong answers\n", errors);
            return 1;
        }
        return 0;
    }
    fprintf(stderr, "usage: suppress-lookup gen N\n"
                    "       suppress-lookup lookup DATADIR N [M] [THREADS]\n");
    return 2;
}
