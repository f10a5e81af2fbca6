/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_store.c - the Berkeley DB stores: suppression, message map, seen,
 * counters, expiry, transactions, permissions and crash recovery
 */
#include "config.h"

#include "testutil.h"
#include "ses_store.h"

#include <db.h>
#include <dirent.h>
#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

static int rm_one(const char *p, const struct stat *sb, int flag,
                  struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

/* A fresh directory name (not created: store_open creates it). */
static char *dir_new(void)
{
    char tmpl[] = "/tmp/ses-store.XXXXXX";
    char *d = mkdtemp(tmpl);
    char *p;

    assert_non_null(d);
    assert_int_equal(rmdir(d), 0);
    p = malloc(strlen(d) + 6);
    sprintf(p, "%s/data", d);
    assert_int_equal(mkdir(d, 0700), 0);
    return p;
}

static void dir_free(char *d)
{
    char *slash = strrchr(d, '/');

    *slash = '\0';
    nftw(d, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(d);
}

static store_t *open_rw(const char *dir)
{
    store_t *st = NULL;
    char err[256];

    if (store_open(dir, STORE_READWRITE, &st, err, sizeof(err)) != STORE_OK)
        fail_msg("store_open: %s", err);
    return st;
}

static suppression_t supp(supp_reason_t r, supp_source_t src, int64_t t,
                          uint32_t count)
{
    suppression_t s = {r, src, t, t, count};
    return s;
}

static void
test_open_creates_group_writable_files_whatever_the_umask(void **state)
{
    char *dir = dir_new();
    const char *files[] = {"store.lock", "__db.register", "__db.001",
                           "suppression.db"};
    mode_t old = umask(077);
    suppression_t s = supp(SUPP_BOUNCE, SUPP_SRC_FEEDBACK, 100, 1);
    store_t *st = open_rw(dir);
    struct stat sb;
    char path[512];

    assert_int_equal(store_suppression_put(st, NULL, "a@example.com", &s),
                     STORE_OK);
    umask(old);
    assert_int_equal(stat(dir, &sb), 0);
    assert_int_equal(sb.st_mode & 07777, 02770);
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
        if (stat(path, &sb) != 0)
            fail_msg("%s missing", files[i]);
        if ((sb.st_mode & 0660) != 0660)
            fail_msg("%s has mode %o", files[i], sb.st_mode & 0777);
    }
    store_close(st);
    dir_free(dir);
}

static void test_suppression_lookup_ignores_case(void **state)
{
    char *dir = dir_new();
    store_t *st = open_rw(dir);
    suppression_t s = supp(SUPP_COMPLAINT, SUPP_SRC_FEEDBACK, 1700000000, 1),
                  got;

    assert_int_equal(store_suppression_put(st, NULL, "User@Example.COM", &s),
                     STORE_OK);
    assert_int_equal(store_suppression_get(st, "user@example.com", &got),
                     STORE_OK);
    assert_int_equal(got.reason, SUPP_COMPLAINT);
    assert_int_equal(got.source, SUPP_SRC_FEEDBACK);
    assert_int_equal(got.first, 1700000000);
    assert_int_equal(got.last, 1700000000);
    assert_int_equal(got.count, 1);
    assert_int_equal(store_suppression_get(st, "USER@EXAMPLE.COM", &got),
                     STORE_OK);
    assert_int_equal(store_suppression_get(st, "other@example.com", &got),
                     STORE_NOTFOUND);
    store_close(st);
    dir_free(dir);
}

static void test_put_merges_times_counts_and_newest_reason(void **state)
{
    char *dir = dir_new();
    store_t *st = open_rw(dir);
    suppression_t a = supp(SUPP_BOUNCE, SUPP_SRC_FEEDBACK, 2000, 1);
    suppression_t older = supp(SUPP_MANUAL, SUPP_SRC_IMPORT, 1000, 0);
    suppression_t newer = supp(SUPP_COMPLAINT, SUPP_SRC_FEEDBACK, 3000, 1);
    suppression_t got;

    assert_int_equal(store_suppression_put(st, NULL, "x@example.com", &a),
                     STORE_OK);
    /* an import of an older entry: keeps the reason, count unchanged */
    assert_int_equal(store_suppression_put(st, NULL, "x@example.com", &older),
                     STORE_OK);
    assert_int_equal(store_suppression_get(st, "x@example.com", &got),
                     STORE_OK);
    assert_int_equal(got.reason, SUPP_BOUNCE);
    assert_int_equal(got.first, 1000);
    assert_int_equal(got.last, 2000);
    assert_int_equal(got.count, 1);
    assert_int_equal(store_suppression_put(st, NULL, "x@example.com", &newer),
                     STORE_OK);
    assert_int_equal(store_suppression_get(st, "x@example.com", &got),
                     STORE_OK);
    assert_int_equal(got.reason, SUPP_COMPLAINT);
    assert_int_equal(got.last, 3000);
    assert_int_equal(got.count, 2);
    store_close(st);
    dir_free(dir);
}

typedef struct {
    char addrs[16][64];
    int removed[16];
    int n;
    int stop_after;
} walk_t;

static int collect(void *ctx, const char *addr, const suppression_t *s,
                   int removed)
{
    walk_t *w = ctx;

    (void)s;
    snprintf(w->addrs[w->n], sizeof(w->addrs[0]), "%s", addr);
    w->removed[w->n++] = removed;
    return w->stop_after && w->n >= w->stop_after;
}

static void test_removed_address_is_a_tombstone_until_purged(void **state)
{
    char *dir = dir_new();
    store_t *st = open_rw(dir);
    suppression_t s = supp(SUPP_BOUNCE, SUPP_SRC_FEEDBACK, 100, 3), got;
    walk_t w = {0};

    assert_int_equal(store_suppression_put(st, NULL, "gone@example.com", &s),
                     STORE_OK);
    assert_int_equal(store_suppression_del(st, NULL, "GONE@example.com", 500),
                     STORE_OK);
    assert_int_equal(store_suppression_get(st, "gone@example.com", &got),
                     STORE_NOTFOUND);
    assert_int_equal(store_suppression_del(st, NULL, "gone@example.com", 600),
                     STORE_NOTFOUND);
    assert_int_equal(store_suppression_each(st, 0, collect, &w), STORE_OK);
    assert_int_equal(w.n, 0);
    assert_int_equal(store_suppression_each(st, 1, collect, &w), STORE_OK);
    assert_int_equal(w.n, 1);
    assert_int_equal(w.removed[0], 1);
    /* suppressed again: a new entry, not the old count */
    s = supp(SUPP_BOUNCE, SUPP_SRC_FEEDBACK, 700, 1);
    assert_int_equal(store_suppression_put(st, NULL, "gone@example.com", &s),
                     STORE_OK);
    assert_int_equal(store_suppression_get(st, "gone@example.com", &got),
                     STORE_OK);
    assert_int_equal(got.count, 1);
    assert_int_equal(got.first, 700);
    assert_int_equal(store_suppression_purge(st, NULL, "gone@example.com"),
                     STORE_OK);
    memset(&w, 0, sizeof(w));
    assert_int_equal(store_suppression_each(st, 1, collect, &w), STORE_OK);
    assert_int_equal(w.n, 0);
    store_close(st);
    dir_free(dir);
}

static void test_sync_mark_lasts_until_the_entry_changes(void **state)
{
    char *dir = dir_new();
    store_t *st = open_rw(dir);
    suppression_t s = supp(SUPP_BOUNCE, SUPP_SRC_SES, 100, 1), got;
    suppression_t later = supp(SUPP_COMPLAINT, SUPP_SRC_FEEDBACK, 200, 1);
    unsigned flags = 99;

    assert_int_equal(store_suppression_put(st, NULL, "m@example.com", &s),
                     STORE_OK);
    assert_int_equal(
        store_suppression_get_state(st, "m@example.com", &got, &flags),
        STORE_OK);
    assert_int_equal(flags, 0);
    assert_int_equal(store_suppression_mark_synced(st, NULL, "M@example.com"),
                     STORE_OK);
    assert_int_equal(
        store_suppression_get_state(st, "m@example.com", &got, &flags),
        STORE_OK);
    assert_int_equal(flags, STORE_SUPP_SYNCED);
    assert_int_equal(got.count, 1); /* the mark changes nothing else */
    /* the same entry again (a re-import) keeps the mark ... */
    s.count = 0;
    assert_int_equal(store_suppression_put(st, NULL, "m@example.com", &s),
                     STORE_OK);
    assert_int_equal(
        store_suppression_get_state(st, "m@example.com", &got, &flags),
        STORE_OK);
    assert_int_equal(flags, STORE_SUPP_SYNCED);
    /* ... a change clears it */
    assert_int_equal(store_suppression_put(st, NULL, "m@example.com", &later),
                     STORE_OK);
    assert_int_equal(
        store_suppression_get_state(st, "m@example.com", &got, &flags),
        STORE_OK);
    assert_int_equal(flags, 0);
    assert_int_equal(store_suppression_del(st, NULL, "m@example.com", 300),
                     STORE_OK);
    assert_int_equal(
        store_suppression_get_state(st, "m@example.com", &got, &flags),
        STORE_OK);
    assert_int_equal(flags, STORE_SUPP_REMOVED);
    assert_int_equal(got.last, 300);
    assert_int_equal(store_suppression_mark_synced(st, NULL, "m@example.com"),
                     STORE_NOTFOUND);
    assert_int_equal(
        store_suppression_get_state(st, "none@example.com", &got, &flags),
        STORE_NOTFOUND);
    store_close(st);
    dir_free(dir);
}

static void test_each_walks_in_address_order_and_stops(void **state)
{
    char *dir = dir_new();
    store_t *st = open_rw(dir);
    suppression_t s = supp(SUPP_MANUAL, SUPP_SRC_MANUAL, 1, 1);
    const char *in[] = {"c@x.example", "A@x.example", "b@x.example"};
    walk_t w = {0};

    for (int i = 0; i < 3; i++)
        assert_int_equal(store_suppression_put(st, NULL, in[i], &s), STORE_OK);
    assert_int_equal(store_suppression_each(st, 0, collect, &w), STORE_OK);
    assert_int_equal(w.n, 3);
    assert_string_equal(w.addrs[0], "a@x.example");
    assert_string_equal(w.addrs[1], "b@x.example");
    assert_string_equal(w.addrs[2], "c@x.example");
    memset(&w, 0, sizeof(w));
    w.stop_after = 2;
    assert_int_equal(store_suppression_each(st, 0, collect, &w), STORE_OK);
    assert_int_equal(w.n, 2);
    store_close(st);
    dir_free(dir);
}

static void test_readonly_handle_sees_writes_and_refuses_its_own(void **state)
{
    char *dir = dir_new();
    store_t *rw = open_rw(dir), *ro = NULL;
    suppression_t s = supp(SUPP_BOUNCE, SUPP_SRC_FEEDBACK, 1, 1), got;
    char err[256];

    assert_int_equal(store_open(dir, STORE_READONLY, &ro, err, sizeof(err)),
                     STORE_OK);
    assert_int_equal(store_suppression_put(rw, NULL, "r@example.com", &s),
                     STORE_OK);
    assert_int_equal(store_suppression_get(ro, "r@example.com", &got),
                     STORE_OK);
    assert_int_equal(store_suppression_put(ro, NULL, "w@example.com", &s),
                     STORE_PERMFAIL);
    assert_non_null(strstr(store_strerror(ro), "read-only"));
    store_close(rw);
    /* the read-only handle keeps working after the writer closed */
    assert_int_equal(store_suppression_get(ro, "r@example.com", &got),
                     STORE_OK);
    store_close(ro);
    dir_free(dir);
}

/* A setup the operator must fix is STORE_CONFIG, apart from passing
 * trouble (STORE_TEMPFAIL), as Postfix's DICT_ERR_CONFIG and
 * DICT_ERR_RETRY; neither refuses mail. */
static void test_setup_problems_are_config_errors(void **state)
{
    char *dir = dir_new(), path[600], err[256];
    store_t *none = NULL;
    FILE *fp;

    snprintf(path, sizeof(path), "%.*s/plain-file",
             (int)(strrchr(dir, '/') - dir), dir);
    assert_non_null((fp = fopen(path, "w")));
    fclose(fp);
    assert_int_equal(store_open(path, STORE_READONLY, &none, err, sizeof(err)),
                     STORE_CONFIG);
    assert_non_null(strstr(err, "not a directory"));
    snprintf(path, sizeof(path), "%.*s/no-parent/data",
             (int)(strrchr(dir, '/') - dir), dir);
    assert_int_equal(store_open(path, STORE_READWRITE, &none, err, sizeof(err)),
                     STORE_CONFIG);
    assert_non_null(strstr(err, "no-parent"));
    assert_null(none);

    assert_true(store_is_temporary(STORE_CONFIG));
    assert_true(store_is_temporary(STORE_TEMPFAIL));
    assert_false(store_is_temporary(STORE_PERMFAIL));
    assert_int_equal(store_to_status(STORE_CONFIG), ST_TEMP_STORE_CONFIG);
    assert_int_equal(store_to_status(STORE_TEMPFAIL), ST_TEMP_STORE);
    assert_int_equal(store_to_status(STORE_PERMFAIL), ST_TEMP_STORE);
    assert_int_equal(store_to_status(STORE_NOTFOUND), ST_OK);
    assert_true(status_is_temporary(ST_TEMP_STORE_CONFIG));
    assert_true(status_info(ST_TEMP_STORE_CONFIG)->loud);
    assert_string_not_equal(status_info(ST_TEMP_STORE_CONFIG)->name,
                            status_info(ST_TEMP_STORE)->name);
    dir_free(dir);
}

static void *strerror_elsewhere(void *arg)
{
    return (void *)strdup(store_strerror(arg));
}

/* The message of a failed call stays with its handle: another handle's
 * failure does not replace it, and another thread reads it. */
static void test_error_text_belongs_to_its_handle(void **state)
{
    char *dir = dir_new(), *other = dir_new(), err[256];
    store_t *rw = open_rw(dir), *ro = NULL;
    suppression_t s = supp(SUPP_BOUNCE, SUPP_SRC_FEEDBACK, 1, 1);
    pthread_t t;
    void *text;

    assert_int_equal(store_open(other, STORE_READONLY, &ro, err, sizeof(err)),
                     STORE_OK);
    assert_string_equal(store_strerror(ro), "no error");
    assert_int_equal(store_suppression_put(ro, NULL, "w@example.com", &s),
                     STORE_PERMFAIL);
    assert_int_equal(store_suppression_put(rw, NULL, "no-at-sign", &s),
                     STORE_PERMFAIL);
    assert_non_null(strstr(store_strerror(ro), "read-only"));
    assert_non_null(strstr(store_strerror(rw), "not an email address"));
    assert_int_equal(pthread_create(&t, NULL, strerror_elsewhere, ro), 0);
    assert_int_equal(pthread_join(t, &text), 0);
    assert_non_null(strstr(text, "read-only"));
    free(text);
    assert_string_equal(store_strerror(NULL), "no store");
    store_close(rw);
    store_close(ro);
    dir_free(dir);
    dir_free(other);
}

static void test_one_environment_however_the_directory_is_spelled(void **state)
{
    char *dir = dir_new(), other[600], err[256];
    store_t *a = open_rw(dir), *b = NULL;
    suppression_t s = supp(SUPP_BOUNCE, SUPP_SRC_FEEDBACK, 1, 1), got;

    snprintf(other, sizeof(other), "%s/../data/", dir);
    assert_int_equal(store_open(other, STORE_READWRITE, &b, err, sizeof(err)),
                     STORE_OK);
    assert_int_equal(store_suppression_put(a, NULL, "s@example.com", &s),
                     STORE_OK);
    assert_int_equal(store_suppression_get(b, "s@example.com", &got), STORE_OK);
    store_close(a);
    store_close(b);
    dir_free(dir);
}

/* Runs fn(dir) in a child process that exits normally; returns its
 * status. */
static int in_child(void (*fn)(const char *), const char *dir)
{
    pid_t pid = fork();
    int status;

    assert_true(pid >= 0);
    if (pid == 0) {
        fn(dir);
        _exit(0);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void child_adds_late(const char *dir)
{
    store_t *st = NULL;
    suppression_t s = supp(SUPP_BOUNCE, SUPP_SRC_FEEDBACK, 1, 1);
    char err[256];

    if (store_open(dir, STORE_READWRITE, &st, err, sizeof(err)) != STORE_OK ||
        store_suppression_put(st, NULL, "late@example.com", &s) != STORE_OK)
        _exit(1);
    store_close(st);
}

static void
test_readonly_handle_sees_a_database_created_after_its_miss(void **state)
{
    char *dir = dir_new();
    store_t *ro = NULL;
    suppression_t got;
    char err[256];

    assert_int_equal(store_open(dir, STORE_READONLY, &ro, err, sizeof(err)),
                     STORE_OK);
    assert_int_equal(store_suppression_get(ro, "late@example.com", &got),
                     STORE_NOTFOUND);
    assert_int_equal(in_child(child_adds_late, dir), 0);
    /* seen at once: the next lookup looks for the file again (the demo
     * suppresses an address and mails it within the same second) */
    assert_int_equal(store_suppression_get(ro, "late@example.com", &got),
                     STORE_OK);
    store_close(ro);
    dir_free(dir);
}

/* The files in dir, or -1 when it does not exist. */
static int files_in(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;

    if (d == NULL)
        return -1;
    while ((de = readdir(d)) != NULL)
        n += de->d_name[0] != '.';
    closedir(d);
    return n;
}

static void
test_inspect_of_a_directory_without_a_store_creates_nothing(void **state)
{
    char *dir = dir_new(); /* not created */
    store_t *st = NULL;
    suppression_t got;
    walk_t w = {0};
    char err[256];

    for (int pass = 0; pass < 2; pass++) { /* missing, then empty */
        assert_int_equal(store_open(dir, STORE_INSPECT, &st, err, sizeof(err)),
                         STORE_OK);
        assert_int_equal(store_suppression_get(st, "a@example.com", &got),
                         STORE_NOTFOUND);
        assert_int_equal(store_suppression_each(st, 0, collect, &w), STORE_OK);
        assert_int_equal(w.n, 0);
        assert_int_equal(store_checkpoint(st), STORE_OK);
        assert_int_equal(store_suppression_put(st, NULL, "a@example.com", &got),
                         STORE_PERMFAIL);
        store_close(st);
        assert_int_equal(files_in(dir), pass == 0 ? -1 : 0);
        if (pass == 0)
            assert_int_equal(mkdir(dir, 0770), 0);
    }
    dir_free(dir);
}

static void test_inspect_handle_joins_a_store_made_after_it_opened(void **state)
{
    char *dir = dir_new();
    store_t *st = NULL;
    suppression_t got;
    char err[256];

    assert_int_equal(mkdir(dir, 0770), 0);
    assert_int_equal(store_open(dir, STORE_INSPECT, &st, err, sizeof(err)),
                     STORE_OK);
    assert_int_equal(store_suppression_get(st, "late@example.com", &got),
                     STORE_NOTFOUND);
    assert_int_equal(in_child(child_adds_late, dir), 0);
    assert_int_equal(store_suppression_get(st, "late@example.com", &got),
                     STORE_OK);
    store_close(st);
    dir_free(dir);
}

static void test_bad_arguments_are_errors_not_crashes(void **state)
{
    char *dir = dir_new();
    store_t *st = open_rw(dir), *none = NULL;
    suppression_t s = supp(SUPP_BOUNCE, SUPP_SRC_FEEDBACK, 1, 1), got;
    char longaddr[STORE_MAX_ADDR + 10], err[64];
    store_message_t *m = NULL;

    memset(longaddr, 'a', sizeof(longaddr) - 1);
    longaddr[sizeof(longaddr) - 1] = '\0';
    longaddr[5] = '@';
    assert_int_equal(store_suppression_get(NULL, "a@b", &got), STORE_PERMFAIL);
    assert_int_equal(store_suppression_get(st, NULL, &got), STORE_NOTFOUND);
    assert_int_equal(store_suppression_get(st, longaddr, &got), STORE_NOTFOUND);
    assert_int_equal(store_suppression_put(st, NULL, longaddr, &s),
                     STORE_PERMFAIL);
    assert_int_equal(store_suppression_put(st, NULL, "no-at-sign", &s),
                     STORE_PERMFAIL);
    assert_int_equal(store_suppression_put(st, NULL, "sp ace@x.example", &s),
                     STORE_PERMFAIL);
    s.reason = 42;
    assert_int_equal(store_suppression_put(st, NULL, "a@b.example", &s),
                     STORE_PERMFAIL);
    assert_int_equal(store_message_get(st, "", &m), STORE_PERMFAIL);
    assert_int_equal(store_seen_add(st, NULL, NULL, 1, NULL), STORE_PERMFAIL);
    assert_int_equal(store_open(NULL, STORE_READONLY, &none, err, sizeof(err)),
                     STORE_PERMFAIL);
    assert_null(none);
    assert_int_equal(store_open("/proc/ses-no-such", STORE_READWRITE, &none,
                                err, sizeof(err)),
                     STORE_CONFIG);
    assert_non_null(strstr(err, "/proc/ses-no-such"));
    store_close(NULL);
    store_txn_abort(NULL);
    store_message_free(NULL);
    store_close(st);
    dir_free(dir);
}

static void test_message_map_round_trip(void **state)
{
    char *dir = dir_new();
    store_t *st = open_rw(dir);
    const char *rcpts[] = {"a@example.net", "b@example.net"};
    store_message_t in = {"4F2A1C0D", "sender@example.com", rcpts,
                          2,          "transactional",      1700000123};
    store_message_t *out = NULL;

    assert_int_equal(store_message_put(st, "0100018c-abc", &in), STORE_OK);
    assert_int_equal(store_message_get(st, "0100018c-abc", &out), STORE_OK);
    assert_string_equal(out->queue_id, "4F2A1C0D");
    assert_string_equal(out->sender, "sender@example.com");
    assert_string_equal(out->config_set, "transactional");
    assert_int_equal(out->nrcpts, 2);
    assert_string_equal(out->rcpts[1], "b@example.net");
    assert_int_equal(out->time, 1700000123);
    store_message_free(out);

    in.config_set = NULL;
    in.sender = "";
    in.nrcpts = 0;
    assert_int_equal(store_message_put(st, "0100018c-def", &in), STORE_OK);
    assert_int_equal(store_message_get(st, "0100018c-def", &out), STORE_OK);
    assert_null(out->config_set);
    assert_string_equal(out->sender, "");
    assert_int_equal(out->nrcpts, 0);
    store_message_free(out);
    assert_int_equal(store_message_get(st, "unknown", &out), STORE_NOTFOUND);
    assert_null(out);
    in.nrcpts = 100000;
    assert_int_equal(store_message_put(st, "x", &in), STORE_PERMFAIL);
    store_close(st);
    dir_free(dir);
}

static void test_seen_is_recorded_once(void **state)
{
    char *dir = dir_new();
    store_t *st = open_rw(dir);
    int fresh = -1;

    assert_int_equal(store_seen_get(st, "sns:1"), STORE_NOTFOUND);
    assert_int_equal(store_seen_add(st, NULL, "sns:1", 10, &fresh), STORE_OK);
    assert_int_equal(fresh, 1);
    assert_int_equal(store_seen_add(st, NULL, "sns:1", 20, &fresh), STORE_OK);
    assert_int_equal(fresh, 0);
    assert_int_equal(store_seen_get(st, "sns:1"), STORE_OK);
    store_close(st);
    dir_free(dir);
}

static void test_aborted_transaction_changes_nothing(void **state)
{
    char *dir = dir_new();
    store_t *st = open_rw(dir);
    suppression_t s = supp(SUPP_BOUNCE, SUPP_SRC_FEEDBACK, 1, 1), got;
    store_txn_t *tx = NULL;
    int fresh;

    assert_int_equal(store_txn_begin(st, &tx), STORE_OK);
    assert_int_equal(store_seen_add(st, tx, "fb:1", 1, &fresh), STORE_OK);
    assert_int_equal(store_suppression_put(st, tx, "t@example.com", &s),
                     STORE_OK);
    store_txn_abort(tx);
    assert_int_equal(store_seen_get(st, "fb:1"), STORE_NOTFOUND);
    assert_int_equal(store_suppression_get(st, "t@example.com", &got),
                     STORE_NOTFOUND);

    assert_int_equal(store_txn_begin(st, &tx), STORE_OK);
    assert_int_equal(store_seen_add(st, tx, "fb:1", 1, &fresh), STORE_OK);
    assert_int_equal(store_suppression_put(st, tx, "t@example.com", &s),
                     STORE_OK);
    assert_int_equal(store_txn_commit(tx), STORE_OK);
    assert_int_equal(store_seen_get(st, "fb:1"), STORE_OK);
    assert_int_equal(store_suppression_get(st, "t@example.com", &got),
                     STORE_OK);
    store_close(st);
    dir_free(dir);
}

static void test_expiry_removes_only_old_entries(void **state)
{
    char *dir = dir_new();
    store_t *st = open_rw(dir);
    store_message_t m = {"Q1", "s@example.com", NULL, 0, NULL, 0};
    store_message_t *out = NULL;
    size_t removed = 0;
    char id[32];

    /* more than one batch of old entries, interleaved with new ones */
    for (int i = 0; i < 1200; i++) {
        snprintf(id, sizeof(id), "old-%04d", i);
        m.time = 1000;
        assert_int_equal(store_message_put(st, id, &m), STORE_OK);
        assert_int_equal(store_seen_add(st, NULL, id, 1000, NULL), STORE_OK);
    }
    m.time = 5000;
    assert_int_equal(store_message_put(st, "new", &m), STORE_OK);
    assert_int_equal(store_seen_add(st, NULL, "new", 5000, NULL), STORE_OK);
    assert_int_equal(store_message_put(st, "old-0500x", &m), STORE_OK);
    assert_int_equal(store_expire(st, 6000, 2000, 2000, &removed), STORE_OK);
    assert_int_equal(removed, 2400);
    assert_int_equal(store_message_get(st, "old-0000", &out), STORE_NOTFOUND);
    assert_int_equal(store_message_get(st, "old-1199", &out), STORE_NOTFOUND);
    assert_int_equal(store_seen_get(st, "old-0700"), STORE_NOTFOUND);
    assert_int_equal(store_message_get(st, "new", &out), STORE_OK);
    store_message_free(out);
    assert_int_equal(store_message_get(st, "old-0500x", &out), STORE_OK);
    store_message_free(out);
    assert_int_equal(store_seen_get(st, "new"), STORE_OK);
    /* a zero ttl keeps everything */
    assert_int_equal(store_expire(st, 1000000, 0, 0, &removed), STORE_OK);
    assert_int_equal(removed, 0);
    store_close(st);
    dir_free(dir);
}

typedef struct {
    char cs[8][32];
    uint64_t c[8][STAT__COUNT];
    int n;
} sums_t;

static int sum_cb(void *ctx, const char *cs, const uint64_t *counts)
{
    sums_t *s = ctx;

    snprintf(s->cs[s->n], sizeof(s->cs[0]), "%s", cs);
    memcpy(s->c[s->n++], counts, sizeof(s->c[0]));
    return 0;
}

static void test_counters_sum_per_configuration_set_and_window(void **state)
{
    char *dir = dir_new();
    store_t *st = open_rw(dir);
    const char *rcpts[] = {"a@x.example", "b@x.example", "c@x.example"};
    store_message_t m = {"Q", "s@example.com", rcpts, 3, "mkt", 10 * 86400};
    sums_t s = {0};

    assert_int_equal(store_message_put(st, "m1", &m), STORE_OK);
    m.config_set = NULL;
    assert_int_equal(store_message_put(st, "m2", &m), STORE_OK);
    m.config_set = "mkt";
    m.time = 2 * 86400; /* outside the window below */
    assert_int_equal(store_message_put(st, "m3", &m), STORE_OK);
    assert_int_equal(
        store_stats_add(st, NULL, "mkt", 11 * 86400 + 5, STAT_BOUNCE, 1),
        STORE_OK);
    assert_int_equal(
        store_stats_add(st, NULL, "mkt", 11 * 86400 + 9, STAT_COMPLAINT, 2),
        STORE_OK);
    assert_int_equal(store_stats_sum(st, 9 * 86400, 12 * 86400, sum_cb, &s),
                     STORE_OK);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.cs[0], "");
    assert_int_equal(s.c[0][STAT_SENT], 3);
    assert_string_equal(s.cs[1], "mkt");
    assert_int_equal(s.c[1][STAT_SENT], 3);
    assert_int_equal(s.c[1][STAT_BOUNCE], 1);
    assert_int_equal(s.c[1][STAT_COMPLAINT], 2);
    store_close(st);
    dir_free(dir);
}

/* suppression.db opened with plain Berkeley DB calls (in a child). */
static void raw_suppression_db(const char *dir, DB_ENV **env, DB **db)
{
    mkdir(dir, 0770);
    if (db_env_create(env, 0) != 0 ||
        (*env)->open(*env, dir,
                     DB_CREATE | DB_INIT_TXN | DB_INIT_LOCK | DB_INIT_LOG |
                         DB_INIT_MPOOL | DB_THREAD | DB_REGISTER | DB_RECOVER,
                     0660) != 0 ||
        db_create(db, *env, 0) != 0 ||
        (*db)->open(*db, NULL, "suppression.db", NULL, DB_BTREE,
                    DB_CREATE | DB_AUTO_COMMIT, 0660) != 0)
        _exit(1);
}

static void raw_put(DB *db, const char *key, unsigned char *rec, size_t len)
{
    DBT k, d;

    memset(&k, 0, sizeof(k));
    memset(&d, 0, sizeof(d));
    k.data = (void *)key;
    k.size = strlen(key);
    d.data = rec;
    d.size = len;
    if (db->put(db, NULL, &k, &d, DB_AUTO_COMMIT) != 0)
        _exit(1);
}

/* Writes a record of version 9 with plain Berkeley DB calls. */
static void child_writes_future_record(const char *dir)
{
    DB_ENV *env;
    DB *db;
    unsigned char rec[24] = {9};

    raw_suppression_db(dir, &env, &db);
    raw_put(db, "future@example.com", rec, sizeof(rec));
    db->close(db, 0);
    env->close(env, 0);
}

static void test_unknown_record_version_is_a_permanent_error(void **state)
{
    char *dir = dir_new();
    store_t *st;
    suppression_t got;

    assert_int_equal(in_child(child_writes_future_record, dir), 0);
    st = open_rw(dir);
    assert_int_equal(store_suppression_get(st, "future@example.com", &got),
                     STORE_PERMFAIL);
    assert_non_null(strstr(store_strerror(st), "version 9"));
    store_close(st);
    dir_free(dir);
}

/* Writes suppression records under the keys an older version wrote:
 * U-label domains, one also present under its A-label key. */
static void child_writes_u_label_keys(const char *dir)
{
    static const struct {
        const char *key;
        unsigned char flags, reason;
        uint64_t first, last;
        uint32_t count;
    } recs[] = {
        {"user@b\xc3\xbc"
         "cher.example",
         0, SUPP_BOUNCE, 100, 200, 2},
        {"both@b\xc3\xbc"
         "cher.example",
         0, SUPP_BOUNCE, 50, 300, 1},
        {"both@xn--bcher-kva.example", 0, SUPP_COMPLAINT, 80, 250, 4},
        {"gone@b\xc3\xbc"
         "cher.example",
         STORE_SUPP_REMOVED, SUPP_MANUAL, 10, 20, 1},
        {"bad@x\xff.example", 0, SUPP_BOUNCE, 1, 1, 1},
    };
    DB_ENV *env;
    DB *db;

    raw_suppression_db(dir, &env, &db);
    for (size_t i = 0; i < sizeof(recs) / sizeof(recs[0]); i++) {
        unsigned char rec[24] = {1, recs[i].flags, recs[i].reason,
                                 SUPP_SRC_FEEDBACK};
        for (int j = 0; j < 8; j++) {
            rec[4 + j] = (unsigned char)(recs[i].first >> (56 - 8 * j));
            rec[12 + j] = (unsigned char)(recs[i].last >> (56 - 8 * j));
        }
        for (int j = 0; j < 4; j++)
            rec[20 + j] = (unsigned char)(recs[i].count >> (24 - 8 * j));
        raw_put(db, recs[i].key, rec, sizeof(rec));
    }
    db->close(db, 0);
    env->close(env, 0);
}

static int count_key(void *ctx, const char *addr, const suppression_t *s,
                     int removed)
{
    (void)s;
    (void)removed;
    if (strstr(addr, "xn--") == NULL && strchr(addr, '\xff') == NULL)
        ++*(int *)ctx; /* a U-label key left behind */
    return 0;
}

static void test_u_label_keys_move_to_their_a_label_key_once(void **state)
{
    char *dir = dir_new(), mark[512];
    suppression_t got;
    unsigned flags;
    store_t *st;
    int left = 0;

    assert_int_equal(in_child(child_writes_u_label_keys, dir), 0);
    st = open_rw(dir);
    /* stored as U-labels before: found by either spelling now */
    assert_int_equal(store_suppression_get(st,
                                           "User@B\xc3\xbc"
                                           "cher.example",
                                           &got),
                     STORE_OK);
    assert_int_equal(got.count, 2);
    assert_int_equal(
        store_suppression_get(st, "user@xn--bcher-kva.example", &got),
        STORE_OK);
    /* merged with the A-label entry: times widened, counts added, the
     * newer record's reason */
    assert_int_equal(
        store_suppression_get(st, "both@xn--bcher-kva.example", &got),
        STORE_OK);
    assert_int_equal(got.first, 50);
    assert_int_equal(got.last, 300);
    assert_int_equal(got.count, 5);
    assert_int_equal(got.reason, SUPP_BOUNCE);
    /* a tombstone moves as a tombstone */
    assert_int_equal(
        store_suppression_get(st, "gone@xn--bcher-kva.example", &got),
        STORE_NOTFOUND);
    assert_int_equal(store_suppression_get_state(
                         st, "gone@xn--bcher-kva.example", &got, &flags),
                     STORE_OK);
    assert_true(flags & STORE_SUPP_REMOVED);
    assert_int_equal(store_suppression_each(st, 1, count_key, &left), STORE_OK);
    assert_int_equal(left, 0);
    snprintf(mark, sizeof(mark), "%s/suppression.keys-a-label", dir);
    assert_int_equal(access(mark, F_OK), 0);
    store_close(st);
    dir_free(dir);
}

/* ---- crash recovery ------------------------------------------------ */

#define BATCH 10

/* Commits batches of BATCH addresses plus a seen entry per batch forever,
 * reporting each committed batch number on fd. */
static void writer_forever(const char *dir, int fd)
{
    store_t *st = NULL;
    char err[256], addr[64], id[32];

    if (store_open(dir, STORE_READWRITE, &st, err, sizeof(err)) != STORE_OK)
        _exit(1);
    for (uint32_t b = 1;; b++) {
        store_txn_t *tx = NULL;
        suppression_t s = supp(SUPP_BOUNCE, SUPP_SRC_FEEDBACK, b, 1);
        if (store_txn_begin(st, &tx) != STORE_OK)
            _exit(2);
        for (int i = 0; i < BATCH; i++) {
            snprintf(addr, sizeof(addr), "b%06u-%d@example.com", b, i);
            if (store_suppression_put(st, tx, addr, &s) != STORE_OK)
                _exit(3);
        }
        snprintf(id, sizeof(id), "batch-%06u", b);
        if (store_seen_add(st, tx, id, b, NULL) != STORE_OK ||
            store_txn_commit(tx) != STORE_OK)
            _exit(4);
        if (write(fd, &b, sizeof(b)) != sizeof(b))
            _exit(5);
    }
}

/* Starts writer_forever and kills it with -9 once it committed at least
 * `batches` batches; returns the last batch it reported. */
static uint32_t kill_writer_mid_write(const char *dir, uint32_t batches)
{
    uint32_t b = 0, last = 0;
    int fds[2], status;
    pid_t pid;

    assert_int_equal(pipe(fds), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        writer_forever(dir, fds[1]);
    }
    close(fds[1]);
    while (last < batches && read(fds[0], &b, sizeof(b)) == sizeof(b))
        last = b;
    kill(pid, SIGKILL);
    while (read(fds[0], &b, sizeof(b)) == sizeof(b)) /* reported before */
        last = b;
    close(fds[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    return last;
}

typedef struct {
    uint32_t per_batch[4096];
    uint32_t max;
} census_t;

static int count_batches(void *ctx, const char *addr, const suppression_t *s,
                         int removed)
{
    census_t *c = ctx;
    unsigned b;

    (void)s;
    (void)removed;
    if (sscanf(addr, "b%06u-", &b) == 1 && b < 4096) {
        c->per_batch[b]++;
        if (b > c->max)
            c->max = b;
    }
    return 0;
}

/* Every batch is complete or absent; every reported one is present. */
static void assert_consistent(store_t *st, uint32_t committed)
{
    census_t *c = calloc(1, sizeof(*c));
    char id[32];

    assert_int_equal(store_suppression_each(st, 0, count_batches, c), STORE_OK);
    assert_true(c->max >= committed);
    assert_true(c->max <= committed + 1);
    for (uint32_t b = 1; b <= c->max; b++) {
        if (c->per_batch[b] != BATCH)
            fail_msg("batch %u has %u of %d entries", b, c->per_batch[b],
                     BATCH);
        snprintf(id, sizeof(id), "batch-%06u", b);
        assert_int_equal(store_seen_get(st, id), STORE_OK);
    }
    free(c);
}

static void
test_writer_killed_mid_write_leaves_a_recoverable_store(void **state)
{
    char *dir = dir_new();
    uint32_t committed = kill_writer_mid_write(dir, 200);
    store_t *st;

    st = open_rw(dir); /* recovers: the writer died registered */
    assert_consistent(st, committed);
    store_close(st);
    /* and the store is usable for the next process too */
    st = open_rw(dir);
    assert_consistent(st, committed);
    store_close(st);
    dir_free(dir);
}

static void child_opens_and_adds(const char *dir)
{
    child_adds_late(dir);
}

static void
test_reader_keeps_working_when_another_process_recovers(void **state)
{
    char *dir = dir_new();
    store_t *ro = NULL;
    suppression_t got;
    char err[256];
    uint32_t committed;

    assert_int_equal(store_open(dir, STORE_READONLY, &ro, err, sizeof(err)),
                     STORE_OK);
    committed = kill_writer_mid_write(dir, 100);
    /* the next process recovers the environment under the reader */
    assert_int_equal(in_child(child_opens_and_adds, dir), 0);
    assert_int_equal(store_suppression_get(ro, "late@example.com", &got),
                     STORE_OK);
    assert_consistent(ro, committed);
    store_close(ro);
    dir_free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            test_open_creates_group_writable_files_whatever_the_umask),
        cmocka_unit_test(test_suppression_lookup_ignores_case),
        cmocka_unit_test(test_put_merges_times_counts_and_newest_reason),
        cmocka_unit_test(test_removed_address_is_a_tombstone_until_purged),
        cmocka_unit_test(test_sync_mark_lasts_until_the_entry_changes),
        cmocka_unit_test(test_each_walks_in_address_order_and_stops),
        cmocka_unit_test(test_readonly_handle_sees_writes_and_refuses_its_own),
        cmocka_unit_test(
            test_readonly_handle_sees_a_database_created_after_its_miss),
        cmocka_unit_test(test_one_environment_however_the_directory_is_spelled),
        cmocka_unit_test(test_setup_problems_are_config_errors),
        cmocka_unit_test(test_error_text_belongs_to_its_handle),
        cmocka_unit_test(
            test_inspect_of_a_directory_without_a_store_creates_nothing),
        cmocka_unit_test(
            test_inspect_handle_joins_a_store_made_after_it_opened),
        cmocka_unit_test(test_bad_arguments_are_errors_not_crashes),
        cmocka_unit_test(test_message_map_round_trip),
        cmocka_unit_test(test_seen_is_recorded_once),
        cmocka_unit_test(test_aborted_transaction_changes_nothing),
        cmocka_unit_test(test_expiry_removes_only_old_entries),
        cmocka_unit_test(test_counters_sum_per_configuration_set_and_window),
        cmocka_unit_test(test_unknown_record_version_is_a_permanent_error),
        cmocka_unit_test(test_u_label_keys_move_to_their_a_label_key_once),
        cmocka_unit_test(
            test_writer_killed_mid_write_leaves_a_recoverable_store),
        cmocka_unit_test(
            test_reader_keeps_working_when_another_process_recovers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
