/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_hoststate.c - the host-shared state file and the breakers on it:
 * records shared by processes, never torn, surviving writers that die,
 * damaged records and files, reboots; breakers that hold, probe, grow
 * and close, once for the whole host.
 */
#include "config.h"

#include "testutil.h"
#include "ses_breaker.h"
#include "ses_hoststate.h"
#include "ses_util.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define HEADER_SIZE 4096 /* the layout documented in hoststate.c */
#define SLOT_SIZE   640

typedef struct {
    char dir[64];
    char path[128];
} fixture_t;

static int64_t fake_now;
static int64_t fake_clock(void)
{
    return fake_now;
}

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof(*f));

    strcpy(f->dir, "/tmp/ses-hoststate.XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    snprintf(f->path, sizeof(f->path), "%s/%s", f->dir, HOSTSTATE_FILE);
    fake_now = 1000000;
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

static hoststate_t *open_hs(const fixture_t *f)
{
    hoststate_t *hs = NULL;
    char err[256];

    assert_int_equal(hoststate_open(f->dir, &hs, err, sizeof(err)),
                     HOSTSTATE_OK);
    return hs;
}

/* A payload of identical 64-bit words: a torn copy shows as unequal. */
typedef struct {
    uint64_t w[HOSTSTATE_PAYLOAD_MAX / 8];
} words_t;

static hoststate_action_t bump(void *ud, hoststate_rec_t *rec, bool found)
{
    words_t w;

    (void)ud;
    memcpy(&w, rec->payload, sizeof(w));
    if (!found)
        memset(&w, 0, sizeof(w));
    for (size_t i = 0; i < ARRAY_SIZE(w.w); i++)
        w.w[i]++;
    memcpy(rec->payload, &w, sizeof(w));
    rec->priority = 2;
    return HOSTSTATE_WRITE;
}

static hoststate_action_t drop(void *ud, hoststate_rec_t *rec, bool found)
{
    (void)ud;
    (void)rec;
    (void)found;
    return HOSTSTATE_DELETE;
}

static uint64_t counter(hoststate_t *hs, const hoststate_key_t *k)
{
    hoststate_rec_t rec;
    words_t w;

    if (hoststate_get(hs, k, &rec) != HOSTSTATE_OK)
        return 0;
    memcpy(&w, rec.payload, sizeof(w));
    for (size_t i = 1; i < ARRAY_SIZE(w.w); i++)
        if (w.w[i] != w.w[0])
            return UINT64_MAX; /* torn */
    return w.w[0];
}

static void test_record_written_read_and_deleted(void **state)
{
    fixture_t *f = *state;
    hoststate_t *hs = open_hs(f);
    hoststate_key_t k = {HOSTSTATE_RATE, 1, "eu-west-1", "x"};
    hoststate_key_t other = {HOSTSTATE_RATE, 1, "eu-west-2", "x"};
    hoststate_rec_t rec;
    struct stat st;

    assert_int_equal(hoststate_get(hs, &k, &rec), HOSTSTATE_NOTFOUND);
    assert_int_equal(hoststate_update(hs, &k, bump, NULL), HOSTSTATE_OK);
    assert_int_equal(hoststate_update(hs, &k, bump, NULL), HOSTSTATE_OK);
    assert_int_equal(counter(hs, &k), 2);
    assert_int_equal(hoststate_get(hs, &other, &rec), HOSTSTATE_NOTFOUND);
    assert_int_equal(hoststate_update(hs, &k, drop, NULL), HOSTSTATE_OK);
    assert_int_equal(hoststate_get(hs, &k, &rec), HOSTSTATE_NOTFOUND);
    /* the whole file is allocated on disk: no hole for SIGBUS */
    assert_int_equal(stat(f->path, &st), 0);
    assert_true((off_t)st.st_blocks * 512 >= st.st_size);
    assert_int_equal(st.st_mode & 0777, 0660);
    assert_string_equal(hoststate_path(hs), f->path);
    hoststate_close(hs);
}

/* Four processes add 500 each to one record while a fifth reads it
 * without a lock: the total is exact and no read is ever torn. */
static void test_processes_share_records_without_tearing(void **state)
{
    fixture_t *f = *state;
    hoststate_key_t k = {HOSTSTATE_RATE, 0, "us-east-1", "shared"};
    pid_t kids[5];
    hoststate_t *hs;

    for (int i = 0; i < 5; i++) {
        kids[i] = fork();
        assert_true(kids[i] >= 0);
        if (kids[i] == 0) {
            hoststate_t *c = open_hs(f);
            int bad = 0;
            for (int n = 0; n < 500; n++) {
                if (i < 4)
                    bad |= hoststate_update(c, &k, bump, NULL) != HOSTSTATE_OK;
                else
                    bad |= counter(c, &k) == UINT64_MAX;
            }
            _exit(bad);
        }
    }
    for (int i = 0; i < 5; i++) {
        int status;
        assert_int_equal(waitpid(kids[i], &status, 0), kids[i]);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    hs = open_hs(f);
    assert_int_equal(counter(hs, &k), 2000);
    hoststate_close(hs);
}

static hoststate_action_t die_inside(void *ud, hoststate_rec_t *rec, bool found)
{
    (void)ud;
    (void)rec;
    (void)found;
    raise(SIGKILL);
    return HOSTSTATE_KEEP;
}

/* Offset of the slot holding name (found by its bytes in the file). */
static off_t slot_of(const char *path, const char *name)
{
    int fd = open(path, O_RDONLY);
    static char buf[SLOT_SIZE];

    assert_true(fd >= 0);
    for (off_t off = HEADER_SIZE;; off += SLOT_SIZE) {
        ssize_t n = pread(fd, buf, sizeof(buf), off);
        assert_int_equal(n, SLOT_SIZE);
        if (memmem(buf, sizeof(buf), name, strlen(name))) {
            close(fd);
            return off;
        }
    }
}

static void poke(const char *path, off_t off, const void *p, size_t n)
{
    int fd = open(path, O_RDWR);

    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, p, n, off), (ssize_t)n);
    close(fd);
}

/* A process killed while it holds the lock, or in the middle of writing a
 * record, or a damaged record: the others go on. */
static void test_dead_writers_and_damage_are_survived(void **state)
{
    fixture_t *f = *state;
    hoststate_t *hs = open_hs(f);
    hoststate_key_t k = {HOSTSTATE_RATE, 0, "r", "victim-record"};
    hoststate_rec_t rec;
    uint32_t odd = 7;
    off_t off;
    pid_t pid;
    int status;

    assert_int_equal(hoststate_update(hs, &k, bump, NULL), HOSTSTATE_OK);
    pid = fork();
    if (pid == 0) {
        hoststate_t *c = open_hs(f);
        (void)hoststate_update(c, &k, die_inside, NULL);
        _exit(0);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(hoststate_update(hs, &k, bump, NULL), HOSTSTATE_OK);
    assert_int_equal(counter(hs, &k), 2);

    /* killed between the two halves of a record write: seq left odd */
    off = slot_of(f->path, "victim-record");
    poke(f->path, off, &odd, sizeof(odd));
    assert_int_equal(counter(hs, &k), 2); /* repaired: checksum held */
    assert_int_equal(hoststate_update(hs, &k, bump, NULL), HOSTSTATE_OK);
    assert_int_equal(counter(hs, &k), 3);

    /* a damaged byte in the payload: the record reads as absent, and a
     * new one can be written */
    poke(f->path, off + SLOT_SIZE - 20, "\xff\xfe", 2);
    assert_int_equal(hoststate_get(hs, &k, &rec), HOSTSTATE_NOTFOUND);
    assert_int_equal(hoststate_update(hs, &k, bump, NULL), HOSTSTATE_OK);
    assert_int_equal(counter(hs, &k), 1);
    hoststate_close(hs);
}

/* A damaged header: the next opener replaces the file through rename(),
 * and a process that had the old one mapped follows before its next
 * write, so both keep writing the same state. */
static void test_damaged_file_replaced_and_followed(void **state)
{
    fixture_t *f = *state;
    hoststate_t *old = open_hs(f), *fresh;
    hoststate_key_t k = {HOSTSTATE_RATE, 0, "", "after"};
    struct stat a, b;

    assert_int_equal(stat(f->path, &a), 0);
    poke(f->path, 0, "garbage!", 8);
    fresh = open_hs(f);
    assert_int_equal(stat(f->path, &b), 0);
    assert_true(a.st_ino != b.st_ino);
    assert_int_equal(hoststate_update(old, &k, bump, NULL), HOSTSTATE_OK);
    assert_int_equal(counter(fresh, &k), 1);
    assert_int_equal(hoststate_update(fresh, &k, bump, NULL), HOSTSTATE_OK);
    assert_int_equal(counter(old, &k), 2);
    hoststate_close(old);
    hoststate_close(fresh);

    /* a file of the wrong size (an older layout) is replaced too */
    assert_int_equal(truncate(f->path, 100), 0);
    fresh = open_hs(f);
    assert_int_equal(stat(f->path, &b), 0);
    assert_true(b.st_size > 100);
    assert_int_equal(counter(fresh, &k), 0);
    hoststate_close(fresh);
}

/* Records of an earlier boot are handed over with stale_clock set. */
static void test_records_of_an_earlier_boot_are_marked(void **state)
{
    fixture_t *f = *state;
    hoststate_t *hs = open_hs(f);
    hoststate_key_t k = {HOSTSTATE_RATE, 0, "", "boot"};
    hoststate_rec_t rec;

    hoststate_set_boot(hs, 12345);
    assert_int_equal(hoststate_update(hs, &k, bump, NULL), HOSTSTATE_OK);
    hoststate_set_boot(hs, 0);
    assert_int_equal(hoststate_get(hs, &k, &rec), HOSTSTATE_OK);
    assert_true(rec.stale_clock);
    assert_int_equal(hoststate_update(hs, &k, bump, NULL), HOSTSTATE_OK);
    assert_int_equal(hoststate_get(hs, &k, &rec), HOSTSTATE_OK);
    assert_false(rec.stale_clock);
    hoststate_close(hs);
}

static hoststate_action_t low(void *ud, hoststate_rec_t *rec, bool found)
{
    (void)found;
    rec->priority = 1;
    rec->expires = ud ? 1 : 0; /* long past, or never */
    return HOSTSTATE_WRITE;
}

/* More low-priority records than the table holds: some are refused, but
 * a higher-priority record always gets in, and expired ones make room. */
static void test_table_full_never_refuses_important_records(void **state)
{
    fixture_t *f = *state;
    hoststate_t *hs = open_hs(f);
    hoststate_key_t acct = {HOSTSTATE_BREAKER, BREAKER_ACCOUNT, "r", ""};
    hoststate_key_t late = {HOSTSTATE_RATE, 9, "r", "late"};
    hoststate_rec_t rec;
    char name[64];
    int full = 0;

    for (int i = 0; i < HOSTSTATE_BUCKETS * HOSTSTATE_WAYS * 4; i++) {
        hoststate_key_t k = {HOSTSTATE_BREAKER, BREAKER_IDENTITY, "r", name};
        snprintf(name, sizeof(name), "user%d@example.com", i);
        full += hoststate_update(hs, &k, low, NULL) == HOSTSTATE_FULL;
    }
    assert_true(full > 0);
    assert_int_equal(hoststate_update(hs, &acct, bump, NULL), HOSTSTATE_OK);
    assert_int_equal(hoststate_get(hs, &acct, &rec), HOSTSTATE_OK);
    assert_int_equal(hoststate_update(hs, &late, low, NULL), HOSTSTATE_FULL);
    hoststate_close(hs);

    /* the same flood of records that have expired: nothing is refused */
    assert_int_equal(unlink(f->path), 0);
    hs = open_hs(f);
    for (int i = 0; i < HOSTSTATE_BUCKETS * HOSTSTATE_WAYS * 4; i++) {
        hoststate_key_t k = {HOSTSTATE_BREAKER, BREAKER_IDENTITY, "r", name};
        snprintf(name, sizeof(name), "user%d@example.com", i);
        assert_int_equal(hoststate_update(hs, &k, low, (void *)1),
                         HOSTSTATE_OK);
    }
    hoststate_close(hs);
}

/* No DataDirectory: an error; private memory still works. A name too
 * long for a record is refused, never cut. */
static void test_private_state_and_bad_keys(void **state)
{
    hoststate_t *hs = NULL;
    hoststate_key_t k = {HOSTSTATE_RATE, 0, "", "p"};
    char err[256], longname[HOSTSTATE_NAME_MAX + 1];

    (void)state;
    assert_int_equal(hoststate_open("/nonexistent/dir", &hs, err, sizeof(err)),
                     HOSTSTATE_FAIL);
    assert_null(hs);
    assert_non_null(strstr(err, "/nonexistent/dir/hoststate"));
    hs = hoststate_open_private();
    assert_non_null(hs);
    assert_string_equal(hoststate_path(hs), "");
    assert_int_equal(hoststate_update(hs, &k, bump, NULL), HOSTSTATE_OK);
    assert_int_equal(counter(hs, &k), 1);
    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    k.name = longname;
    assert_int_equal(hoststate_update(hs, &k, bump, NULL), HOSTSTATE_FAIL);
    hoststate_close(hs);
}

/* ---- breakers ---- */

static const breaker_policy_t policy = {30000, 240000, 60000, 1};

static void test_breaker_opens_holds_probes_and_closes(void **state)
{
    fixture_t *f = *state;
    hoststate_t *hs = open_hs(f);
    breaker_key_t acct = {"us-east-1", BREAKER_ACCOUNT, ""};
    breaker_key_t set = {"us-east-1", BREAKER_CONFIGSET, "tx"};
    breaker_key_t west = {"us-west-2", BREAKER_ACCOUNT, ""};
    breaker_info_t info;

    hoststate_set_clock(hs, fake_clock);
    assert_int_equal(breaker_check(hs, &acct, &policy, &info), BREAKER_PASS);
    assert_true(breaker_trip(hs, &acct, &policy, ST_TEMP_ACCOUNT_PAUSED,
                             "SES 400 MessageRejected: Sending paused", &info));
    assert_int_equal(info.interval_ms, 30000);
    /* a second process answered the same: opened once, logged once */
    assert_false(breaker_trip(hs, &acct, &policy, ST_TEMP_ACCOUNT_PAUSED,
                              "again", NULL));
    assert_int_equal(breaker_check(hs, &acct, &policy, &info), BREAKER_HOLD);
    assert_int_equal(info.status, ST_TEMP_ACCOUNT_PAUSED);
    assert_string_equal(info.reason, "SES 400 MessageRejected: Sending paused");
    assert_int_equal(info.left_ms, 30000);
    /* other scopes and regions are not held */
    assert_int_equal(breaker_check(hs, &set, &policy, NULL), BREAKER_PASS);
    assert_int_equal(breaker_check(hs, &west, &policy, NULL), BREAKER_PASS);

    /* the interval ends: one probe, the others still hold */
    fake_now += 30000;
    assert_int_equal(breaker_check(hs, &acct, &policy, NULL), BREAKER_PROBE);
    assert_int_equal(breaker_check(hs, &acct, &policy, &info), BREAKER_HOLD);
    assert_true(info.probing);
    /* the probe fails the same way: open again for twice as long */
    assert_true(
        breaker_trip(hs, &acct, &policy, ST_TEMP_ACCOUNT_PAUSED, "x", &info));
    assert_int_equal(info.interval_ms, 60000);
    assert_int_equal(info.level, 2);
    fake_now += 60000;
    /* a probe that says nothing (a timeout): the next caller probes */
    assert_int_equal(breaker_check(hs, &acct, &policy, NULL), BREAKER_PROBE);
    breaker_release(hs, &acct);
    assert_int_equal(breaker_check(hs, &acct, &policy, NULL), BREAKER_PROBE);
    /* a lost probe (its process died) is given to another after its lease */
    fake_now += policy.probe_ms;
    assert_int_equal(breaker_check(hs, &acct, &policy, NULL), BREAKER_PROBE);
    /* the probe is accepted: closed, and closing twice says so once */
    assert_true(breaker_close(hs, &acct, &info));
    assert_int_equal(info.level, 2);
    assert_false(breaker_close(hs, &acct, NULL));
    assert_int_equal(breaker_check(hs, &acct, &policy, NULL), BREAKER_PASS);
    hoststate_close(hs);
}

static void test_breaker_interval_grows_to_its_cap(void **state)
{
    fixture_t *f = *state;
    hoststate_t *hs = open_hs(f);
    breaker_key_t k = {"r", BREAKER_IDENTITY, "a@example.com"};
    breaker_info_t info;
    int64_t want[] = {30000, 60000, 120000, 240000, 240000};

    hoststate_set_clock(hs, fake_clock);
    for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
        assert_true(breaker_trip(hs, &k, &policy, ST_TEMP_IDENTITY, "", &info));
        assert_int_equal(info.interval_ms, want[i]);
        fake_now += info.interval_ms;
    }
    hoststate_close(hs);
}

/* A breaker with a threshold (per-region failover): it opens at the
 * third failure in a row, and a success in between starts again. */
static void test_breaker_threshold_counts_failures_in_a_row(void **state)
{
    fixture_t *f = *state;
    hoststate_t *hs = open_hs(f);
    breaker_policy_t p = {60000, 60000, 10000, 3};
    breaker_key_t k = {"eu-west-1", BREAKER_REGION, ""};

    hoststate_set_clock(hs, fake_clock);
    assert_false(breaker_trip(hs, &k, &p, ST_TEMP_SERVER, "503", NULL));
    assert_false(breaker_trip(hs, &k, &p, ST_TEMP_SERVER, "503", NULL));
    assert_false(breaker_close(hs, &k, NULL)); /* counted, never open */
    assert_false(breaker_trip(hs, &k, &p, ST_TEMP_SERVER, "503", NULL));
    assert_false(breaker_trip(hs, &k, &p, ST_TEMP_SERVER, "503", NULL));
    assert_int_equal(breaker_check(hs, &k, &p, NULL), BREAKER_PASS);
    assert_true(breaker_trip(hs, &k, &p, ST_TEMP_SERVER, "503", NULL));
    assert_int_equal(breaker_check(hs, &k, &p, NULL), BREAKER_HOLD);
    hoststate_close(hs);
}

/* After a reboot the interval counts as over: the first delivery probes. */
static void test_breaker_after_reboot_probes_at_once(void **state)
{
    fixture_t *f = *state;
    hoststate_t *hs = open_hs(f);
    breaker_key_t k = {"r", BREAKER_ACCOUNT, ""};
    breaker_info_t info;

    hoststate_set_boot(hs, 99);
    assert_true(breaker_trip(hs, &k, &policy, ST_TEMP_AUTH, "keys", NULL));
    hoststate_set_boot(hs, 0);
    assert_int_equal(breaker_check(hs, &k, &policy, &info), BREAKER_PROBE);
    assert_int_equal(info.level, 1);
    assert_string_equal(info.reason, "keys");
    hoststate_close(hs);
}

/* Six processes get SES's "paused" at once: exactly one of them opens
 * the breaker (and so logs it). */
static void test_breaker_opened_once_by_concurrent_processes(void **state)
{
    fixture_t *f = *state;
    breaker_key_t k = {"r", BREAKER_ACCOUNT, ""};
    int opened = 0;
    pid_t kids[6];

    for (int i = 0; i < 6; i++) {
        kids[i] = fork();
        assert_true(kids[i] >= 0);
        if (kids[i] == 0) {
            hoststate_t *hs = open_hs(f);
            _exit(breaker_trip(hs, &k, &policy, ST_TEMP_ACCOUNT_PAUSED,
                               "paused", NULL)
                      ? 1
                      : 0);
        }
    }
    for (int i = 0; i < 6; i++) {
        int status;
        assert_int_equal(waitpid(kids[i], &status, 0), kids[i]);
        assert_true(WIFEXITED(status));
        opened += WEXITSTATUS(status);
    }
    assert_int_equal(opened, 1);
}

static int count_open(void *ud, const breaker_key_t *k,
                      const breaker_info_t *info)
{
    (void)k;
    *(int *)ud += info->level > 0;
    return 0;
}

static void test_breaker_reset_closes_everything(void **state)
{
    fixture_t *f = *state;
    hoststate_t *hs = open_hs(f);
    breaker_key_t a = {"r", BREAKER_ACCOUNT, ""};
    breaker_key_t b = {"r", BREAKER_IDENTITY, "x@example.com"};
    int n = 0;

    assert_true(breaker_trip(hs, &a, &policy, ST_TEMP_AUTH, "", NULL));
    assert_true(breaker_trip(hs, &b, &policy, ST_TEMP_IDENTITY, "", NULL));
    breaker_each(hs, count_open, &n);
    assert_int_equal(n, 2);
    assert_int_equal(breaker_reset(hs), 2);
    assert_int_equal(breaker_check(hs, &a, &policy, NULL), BREAKER_PASS);
    assert_int_equal(breaker_check(hs, &b, &policy, NULL), BREAKER_PASS);
    assert_string_equal(breaker_scope_name(BREAKER_CONFIGSET),
                        "configuration-set");
    hoststate_close(hs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_record_written_read_and_deleted,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_processes_share_records_without_tearing, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_dead_writers_and_damage_are_survived, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damaged_file_replaced_and_followed,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_records_of_an_earlier_boot_are_marked, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_table_full_never_refuses_important_records, setup, teardown),
        cmocka_unit_test_setup_teardown(test_private_state_and_bad_keys, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_breaker_opens_holds_probes_and_closes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_breaker_interval_grows_to_its_cap,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_breaker_threshold_counts_failures_in_a_row, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_breaker_after_reboot_probes_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_breaker_opened_once_by_concurrent_processes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_breaker_reset_closes_everything,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
