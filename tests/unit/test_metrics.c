/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_metrics.c - the shared metrics store and its Prometheus rendering
 */
#include "config.h"

#include "testutil.h"
#include "ses_metrics.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>

typedef struct {
    char dir[64];
    char path[128];
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof(*f));

    strcpy(f->dir, "/tmp/ses-metrics.XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    snprintf(f->path, sizeof(f->path), "%s/%s", f->dir, METRICS_FILE);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    char cmd[128];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    if (system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

static metrics_t *open_w(fixture_t *f)
{
    metrics_t *m = NULL;
    char err[256];

    assert_int_equal(metrics_open(f->path, METRICS_WRITE, &m, err, sizeof(err)),
                     METRICS_OK);
    return m;
}

static char *render(metrics_t *m)
{
    buf_t b;

    buf_init(&b, 0);
    assert_int_equal(metrics_render(m, &b), METRICS_OK);
    return buf_steal(&b);
}

static void assert_has_line(const char *text, const char *line)
{
    const char *p = text;
    size_t n = strlen(line);

    for (; (p = strstr(p, line)) != NULL; p += n)
        if ((p == text || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0'))
            return;
    fail_msg("line \"%s\" not in:\n%s", line, text);
}

static void test_counters_are_kept_per_label_set(void **state)
{
    metrics_t *m = open_w(*state);
    char *t;

    metrics_add(m, "tx", "sent", NULL, 1);
    metrics_add(m, "tx", "sent", NULL, 2);
    metrics_add(m, "tx", "bounced", "rejected", 1);
    metrics_add(m, "", "deferred", "throttled", 4);
    t = render(m);
    assert_has_line(t, "# TYPE sesmilter_messages_total counter");
    assert_has_line(t, "sesmilter_messages_total{configuration_set=\"tx\","
                       "status=\"sent\"} 3");
    assert_has_line(t, "sesmilter_messages_total{configuration_set=\"tx\","
                       "status=\"bounced\",reason=\"rejected\"} 1");
    assert_has_line(t, "sesmilter_messages_total{status=\"deferred\","
                       "reason=\"throttled\"} 4");
    assert_has_line(t, "sesmilter_metrics_dropped_total 0");
    free(t);
    metrics_close(m);
}

static void test_counts_survive_reopening(void **state)
{
    metrics_t *m = open_w(*state);
    char *t;

    metrics_add(m, "tx", "sent", NULL, 5);
    metrics_close(m);
    m = open_w(*state);
    metrics_add(m, "tx", "sent", NULL, 1);
    metrics_close(m);
    {
        metrics_t *r = NULL;
        char err[256];
        fixture_t *f = *state;
        assert_int_equal(
            metrics_open(f->path, METRICS_READ, &r, err, sizeof(err)),
            METRICS_OK);
        assert_int_equal(metrics_add(r, "tx", "sent", NULL, 1), METRICS_FAIL);
        t = render(r);
        metrics_close(r);
    }
    assert_has_line(t, "sesmilter_messages_total{configuration_set=\"tx\","
                       "status=\"sent\"} 6");
    free(t);
}

static void test_histogram_buckets_are_cumulative(void **state)
{
    metrics_t *m = open_w(*state);
    char *t;

    metrics_observe_ms(m, "tx", 10);    /* <= 0.05 */
    metrics_observe_ms(m, "tx", 50);    /* <= 0.05: bounds are inclusive */
    metrics_observe_ms(m, "tx", 700);   /* <= 1 */
    metrics_observe_ms(m, "tx", 90000); /* +Inf only */
    assert_int_equal(metrics_observe_ms(m, "tx", -1), METRICS_FAIL);
    t = render(m);
    assert_has_line(t, "# TYPE sesmilter_delivery_duration_seconds histogram");
    assert_has_line(t, "sesmilter_delivery_duration_seconds_bucket{"
                       "configuration_set=\"tx\",le=\"0.05\"} 2");
    assert_has_line(t, "sesmilter_delivery_duration_seconds_bucket{"
                       "configuration_set=\"tx\",le=\"0.5\"} 2");
    assert_has_line(t, "sesmilter_delivery_duration_seconds_bucket{"
                       "configuration_set=\"tx\",le=\"1\"} 3");
    assert_has_line(t, "sesmilter_delivery_duration_seconds_bucket{"
                       "configuration_set=\"tx\",le=\"60\"} 3");
    assert_has_line(t, "sesmilter_delivery_duration_seconds_bucket{"
                       "configuration_set=\"tx\",le=\"+Inf\"} 4");
    assert_has_line(t, "sesmilter_delivery_duration_seconds_sum{"
                       "configuration_set=\"tx\"} 90.760");
    assert_has_line(t, "sesmilter_delivery_duration_seconds_count{"
                       "configuration_set=\"tx\"} 4");
    free(t);
    metrics_close(m);
}

static void test_label_values_are_escaped(void **state)
{
    metrics_t *m = open_w(*state);
    char *t;

    metrics_add(m, "a\"b\\c\nd", "sent", NULL, 1);
    t = render(m);
    assert_has_line(t, "sesmilter_messages_total{configuration_set="
                       "\"a\\\"b\\\\c\\nd\",status=\"sent\"} 1");
    free(t);
    metrics_close(m);
}

/* Many processes add at once, as pipe-mode ses-relay processes do. */
static void test_concurrent_processes_lose_no_increment(void **state)
{
    enum { PROCS = 4, ADDS = 20000 };
    metrics_t *m = open_w(*state);
    char *t, want[128];

    for (int p = 0; p < PROCS; p++) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            metrics_t *c = open_w(*state); /* its own mapping */
            for (int i = 0; i < ADDS; i++) {
                metrics_add(c, "tx", "sent", NULL, 1);
                metrics_add(c, i % 2 ? "a" : "b", "deferred", "timeout", 1);
            }
            metrics_close(c);
            _exit(0);
        }
    }
    for (int p = 0; p < PROCS; p++) {
        int st;
        assert_true(wait(&st) > 0);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    t = render(m);
    snprintf(want, sizeof(want),
             "sesmilter_messages_total{configuration_set=\"tx\","
             "status=\"sent\"} %d",
             PROCS * ADDS);
    assert_has_line(t, want);
    snprintf(want, sizeof(want),
             "sesmilter_messages_total{configuration_set=\"a\","
             "status=\"deferred\",reason=\"timeout\"} %d",
             PROCS * ADDS / 2);
    assert_has_line(t, want);
    free(t);
    metrics_close(m);
}

static void test_full_table_counts_dropped_updates(void **state)
{
    metrics_t *m = open_w(*state);
    char cs[32], *t;
    int full = 0;

    for (int i = 0; i < 1100; i++) {
        snprintf(cs, sizeof(cs), "set-%d", i);
        if (metrics_add(m, cs, "sent", NULL, 1) == METRICS_FULL)
            full++;
    }
    assert_int_equal(full, 1100 - 1024);
    /* an existing series still counts */
    assert_int_equal(metrics_add(m, "set-0", "sent", NULL, 1), METRICS_OK);
    t = render(m);
    assert_has_line(t, "sesmilter_metrics_dropped_total 76");
    free(t);
    metrics_close(m);
}

static void test_incompatible_file_is_replaced_not_truncated(void **state)
{
    fixture_t *f = *state;
    metrics_t *m = NULL;
    char err[256], *t;
    int fd = open(f->path, O_WRONLY | O_CREAT, 0600);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, "not a metrics file", 18), 18);
    close(fd);
    assert_int_equal(metrics_open(f->path, METRICS_READ, &m, err, sizeof(err)),
                     METRICS_FAIL);
    m = open_w(f);
    metrics_add(m, NULL, "sent", NULL, 1);
    t = render(m);
    assert_has_line(t, "sesmilter_messages_total{status=\"sent\"} 1");
    free(t);
    metrics_close(m);
}

static void test_missing_store_is_notfound_for_readers(void **state)
{
    fixture_t *f = *state;
    metrics_t *m = NULL;
    char err[256];
    struct stat st;

    assert_int_equal(metrics_open(f->path, METRICS_READ, &m, err, sizeof(err)),
                     METRICS_NOTFOUND);
    assert_null(m);
    assert_int_equal(stat(f->path, &st), -1);
}

static void test_store_is_group_writable(void **state)
{
    fixture_t *f = *state;
    struct stat st;
    mode_t old = umask(077);
    metrics_t *m = open_w(f);

    umask(old);
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0660);
    metrics_close(m);
}

static void test_textfile_is_complete_and_world_readable(void **state)
{
    fixture_t *f = *state;
    metrics_t *m = open_w(f);
    char path[160], err[256], data[8192];
    struct stat st;
    ssize_t n;
    int fd;

    metrics_add(m, "tx", "suppressed", "suppressed", 2);
    snprintf(path, sizeof(path), "%s/ses.prom", f->dir);
    assert_int_equal(metrics_write_textfile(m, path, err, sizeof(err)),
                     METRICS_OK);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);
    fd = open(path, O_RDONLY);
    n = read(fd, data, sizeof(data) - 1);
    close(fd);
    assert_true(n > 0);
    data[n] = '\0';
    assert_has_line(data, "sesmilter_messages_total{configuration_set=\"tx\","
                          "status=\"suppressed\",reason=\"suppressed\"} 2");
    assert_true(data[n - 1] == '\n');
    snprintf(path, sizeof(path), "%s/no/such/dir/ses.prom", f->dir);
    assert_int_equal(metrics_write_textfile(m, path, err, sizeof(err)),
                     METRICS_FAIL);
    assert_non_null(strstr(err, "no/such/dir"));
    metrics_close(m);
}

static void test_outcome_words_follow_the_status_table(void **state)
{
    static const struct {
        status_t st;
        const char *word;
    } cases[] = {
        {ST_OK, "sent"},
        {ST_PERM_REJECTED, "bounced"},
        {ST_PERM_TOO_LARGE, "bounced"},
        {ST_PERM_SUPPRESSED, "suppressed"},
        {ST_TEMP_THROTTLED, "deferred"},
        {ST_TEMP_CONFIG, "deferred"},
        {(status_t)9999, "deferred"},
    };

    for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
        assert_string_equal(metrics_outcome(cases[i].st), cases[i].word);
}

/* The process-wide call used by ses-relay writes into DataDirectory. */
static void test_delivery_counts_every_recipient_once(void **state)
{
    fixture_t *f = *state;
    char conftext[256], err[256], *cpath, *t;
    conf_t *c = NULL;
    metrics_t *m;
    ses_result_t res[3];

    memset(res, 0, sizeof(res));
    res[0].status = ST_OK;
    res[1].status = ST_OK;
    res[2].status = ST_PERM_BAD_ADDRESS;
    snprintf(conftext, sizeof(conftext),
             "DataDirectory %s\nConfigurationSet tx\n", f->dir);
    cpath = tu_write_str(conftext);
    assert_int_equal(conf_load(cpath, &c, err, sizeof(err)), CONF_OK);
    metrics_delivery(c, "tx", res, 3, 120);
    m = open_w(f);
    t = render(m);
    assert_has_line(t, "sesmilter_messages_total{configuration_set=\"tx\","
                       "status=\"sent\"} 2");
    assert_has_line(t, "sesmilter_messages_total{configuration_set=\"tx\","
                       "status=\"bounced\",reason=\"bad-address\"} 1");
    assert_has_line(t, "sesmilter_delivery_duration_seconds_count{"
                       "configuration_set=\"tx\"} 1");
    free(t);
    metrics_close(m);
    conf_unref(c);
    unlink(cpath);
    free(cpath);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
        T(test_counters_are_kept_per_label_set),
        T(test_counts_survive_reopening),
        T(test_histogram_buckets_are_cumulative),
        T(test_label_values_are_escaped),
        T(test_concurrent_processes_lose_no_increment),
        T(test_full_table_counts_dropped_updates),
        T(test_incompatible_file_is_replaced_not_truncated),
        T(test_missing_store_is_notfound_for_readers),
        T(test_store_is_group_writable),
        T(test_textfile_is_complete_and_world_readable),
        cmocka_unit_test(test_outcome_words_follow_the_status_table),
        T(test_delivery_counts_every_recipient_once),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
