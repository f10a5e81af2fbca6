/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * store-user - test helper: a process using the store, as the programs do
 *
 *   store-user churn DIR WORKERS SECONDS [HOLD-US [KILL-MS]]
 *                                      WORKERS processes open, use and
 *                                      close the store in a loop for
 *                                      SECONDS (below)
 *   store-user lockwait DIR            this process opens the store; a
 *                                      child opens it, writes
 *                                      held@example.com in a transaction
 *                                      it keeps open, and is killed with
 *                                      SIGKILL; then this process writes
 *                                      the same address, retrying a
 *                                      temporary failure for up to 60 s.
 *                                      Prints "stored after N temporary
 *                                      failure(s)"; exit 0 once stored
 *
 * churn: odd workers write (an address of their own, and every eighth
 * time a shared one in a transaction held HOLD-US microseconds so that
 * others wait for its locks), even ones read (a lookup, and every
 * sixteenth time a walk of the list); each opens and closes the store
 * every time, so that opens race closes. Every KILL-MS milliseconds
 * (0: never) a writer is killed with SIGKILL wherever it is and another
 * takes its place. A writer records each address after its commit; at
 * the end every recorded address must be in the store. A worker whose
 * operation waits in Berkeley DB for STUCK_S seconds exits 75
 * (store_exit_when_stuck(), as the programs do) and another takes its
 * place. Prints one line per worker and a summary
 *   workers=N killed=N stuck=N failed=N checked=N lost=N hung=N
 * and exits 1 when a worker is still running 60 s after SECONDS (after
 * printing its stack when gdb is installed, and killing it), failed
 * (an exit other than 0 or 75), or an address is lost, 0 otherwise.
 *
 * DIAGNOSTICS
 *   Exit 0 on success, 75 on a temporary store failure, 1 otherwise, 64
 *   for bad usage; messages on stderr.
 */
#include "config.h"

#include "ses_log.h"
#include "ses_store.h"
#include "ses_util.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#define HANG_GRACE_S 60
#define STUCK_S      10
/* lockwait's one write retries inside the store for about 8 s (its lock
 * timeouts) before its temporary failure: on a busy machine, or under
 * ASan, that is more than STUCK_S. */
#define LOCKWAIT_STUCK_S 30

/* ---- one process ----------------------------------------------------- */

static int exit_for(store_status_t rc)
{
    return rc == STORE_OK ? 0 : store_is_temporary(rc) ? 75 : 1;
}

static store_t *open_or_exit(const char *dir, store_mode_t mode)
{
    store_t *st = NULL;
    char err[512];
    store_status_t rc;

    if ((rc = store_open(dir, mode, &st, err, sizeof(err))) != STORE_OK) {
        fprintf(stderr, "store-user: open %s: %s\n", dir, err);
        exit(exit_for(rc));
    }
    return st;
}

static suppression_t manual(void)
{
    suppression_t s = {.reason = SUPP_MANUAL, .source = SUPP_SRC_MANUAL};

    s.first = s.last = (int64_t)time(NULL);
    s.count = 1;
    return s;
}

/* SIGTERM and SIGUSR1 are blocked from the start (main()). */
/* ---- churn ----------------------------------------------------------- */

typedef struct {
    const char *dir;
    int hold_us;
    char log[4096]; /* the addresses this writer committed */
} churn_t;

static int count_cb(void *ctx, const char *addr, const suppression_t *s,
                    int removed)
{
    (void)addr;
    (void)s;
    (void)removed;
    ++*(long *)ctx;
    return 0;
}

static store_status_t write_once(churn_t *c, store_t *st, int id, long it,
                                 FILE *log)
{
    suppression_t s = manual();
    store_status_t rc;
    store_txn_t *tx;
    char addr[96];

    if (it % 8 == 7) { /* the shared address, its locks held a while */
        if ((rc = store_txn_begin(st, &tx)) != STORE_OK)
            return rc;
        if ((rc = store_suppression_put(st, tx, "shared@example.com", &s)) !=
            STORE_OK) {
            store_txn_abort(tx);
            return rc;
        }
        usleep((useconds_t)c->hold_us);
        return store_txn_commit(tx);
    }
    snprintf(addr, sizeof(addr), "w%d-%d-%ld@example.com", id, (int)getpid(),
             it);
    if ((rc = store_suppression_put(st, NULL, addr, &s)) == STORE_OK) {
        fprintf(log, "%s\n", addr);
        fflush(log);
    }
    return rc;
}

static void worker(churn_t *c, int id, int64_t until)
{
    long it = 0, temp = 0, walked = 0;
    FILE *log = NULL;
    int rw = id % 2;

    if (rw) {
        snprintf(c->log, sizeof(c->log), "%s.w%d.%d", c->dir, id,
                 (int)getpid());
        if ((log = fopen(c->log, "we")) == NULL)
            _exit(1);
    }
    for (; clock_mono_ms() < until; it++) {
        store_t *st = NULL;
        suppression_t s;
        store_status_t rc;
        char err[512];

        rc = store_open(c->dir, rw ? STORE_READWRITE : STORE_INSPECT, &st, err,
                        sizeof(err));
        if (rc == STORE_OK) {
            if (rw)
                rc = write_once(c, st, id, it, log);
            else if (it % 16 == 15)
                rc = store_suppression_each(st, 0, count_cb, &walked);
            else
                rc = store_suppression_get(st, "shared@example.com", &s);
            if (rc != STORE_OK && rc != STORE_NOTFOUND)
                snprintf(err, sizeof(err), "%s", store_strerror(st));
            store_close(st);
        }
        if (rc != STORE_OK && rc != STORE_NOTFOUND) {
            if (!store_is_temporary(rc)) {
                fprintf(stderr, "worker %d: %s\n", id, err);
                _exit(1);
            }
            temp++;
        }
    }
    if (log)
        fclose(log);
    printf("worker %d (%s, pid %d): %ld iterations, %ld temporary\n", id,
           rw ? "writes" : "reads", (int)getpid(), it, temp);
    fflush(stdout);
    _exit(0);
}

static pid_t spawn(churn_t *c, int id, int64_t until)
{
    pid_t pid = fork();

    if (pid == 0)
        worker(c, id, until);
    return pid;
}

/* Every address in the writers' logs (DIR.w*.*) must be stored. */
static long lost_addresses(const char *dir, long *checked)
{
    char cmd[8192];
    store_t *st = open_or_exit(dir, STORE_INSPECT);
    long lost = 0;
    FILE *p;
    char line[256];

    snprintf(cmd, sizeof(cmd), "cat '%s'.w* 2>/dev/null", dir);
    if ((p = popen(cmd, "r")) == NULL)
        return 1;
    while (fgets(line, sizeof(line), p)) {
        suppression_t s;
        line[strcspn(line, "\n")] = '\0';
        if (store_suppression_get(st, line, &s) != STORE_OK) {
            fprintf(stderr, "lost: %s\n", line);
            lost++;
        }
        ++*checked;
    }
    pclose(p);
    store_close(st);
    return lost;
}

static int cmd_churn(char **argv)
{
    churn_t c = {.dir = argv[0], .hold_us = argv[3] ? atoi(argv[3]) : 2000};
    int n = atoi(argv[1]), kill_ms = argv[3] && argv[4] ? atoi(argv[4]) : 0;
    int64_t until = clock_mono_ms() + atoi(argv[2]) * 1000LL;
    int64_t next_kill = clock_mono_ms() + kill_ms;
    long killed = 0, stuck = 0, failed = 0, lost, checked = 0;
    int left = n, hung = 0;
    pid_t *pids;

    if (n < 2 || (pids = calloc((size_t)n, sizeof(*pids))) == NULL)
        return 64;
    srand((unsigned)getpid());
    for (int i = 0; i < n; i++)
        pids[i] = spawn(&c, i, until);
    while (left > 0 && clock_mono_ms() < until + HANG_GRACE_S * 1000LL) {
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid > 0) {
            for (int i = 0; i < n; i++)
                if (pids[i] == pid) {
                    int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
                    pids[i] = 0;
                    if (code == 75)
                        stuck++;
                    else if (code != 0 && !WIFSIGNALED(status)) {
                        fprintf(stderr, "worker %d failed\n", i);
                        failed++;
                    }
                    if ((WIFSIGNALED(status) || code == 75) &&
                        clock_mono_ms() < until)
                        pids[i] = spawn(&c, i, until); /* replace it */
                    else
                        left--;
                }
            continue;
        }
        if (kill_ms > 0 && clock_mono_ms() >= next_kill &&
            clock_mono_ms() < until) {
            int i = 1 + 2 * (rand() % (n / 2)); /* a writer */
            if (pids[i] > 0 && kill(pids[i], SIGKILL) == 0)
                killed++;
            next_kill += kill_ms;
        }
        usleep(2000);
    }
    for (int i = 0; i < n; i++) {
        char cmd[256];
        if (pids[i] <= 0)
            continue;
        hung++;
        fprintf(stderr, "HUNG: worker %d, pid %d\n", i, (int)pids[i]);
        snprintf(cmd, sizeof(cmd),
                 "command -v gdb >/dev/null && gdb -p %d -batch -ex "
                 "'thread apply all bt' 2>/dev/null | grep '^#' >&2",
                 (int)pids[i]);
        if (system(cmd) < 0)
            perror("system");
        kill(pids[i], SIGKILL);
        waitpid(pids[i], NULL, 0);
    }
    lost = lost_addresses(c.dir, &checked);
    printf("workers=%d killed=%ld stuck=%ld failed=%ld checked=%ld lost=%ld "
           "hung=%d\n",
           n, killed, stuck, failed, checked, lost, hung);
    free(pids);
    return hung || lost || failed ? 1 : 0;
}

/* ---- lockwait ------------------------------------------------------- */

static int cmd_lockwait(char **argv)
{
    store_t *st = open_or_exit(argv[0], STORE_READWRITE);
    suppression_t s = manual();
    int64_t until;
    store_status_t rc;
    int ready[2], temp = 0;
    pid_t pid;
    char c;

    if (pipe(ready) < 0 || (pid = fork()) < 0)
        return 1;
    if (pid == 0) { /* the holder: its own environment, locks held */
        store_t *mine = open_or_exit(argv[0], STORE_READWRITE);
        store_txn_t *tx;
        if (store_txn_begin(mine, &tx) != STORE_OK ||
            store_suppression_put(mine, tx, "held@example.com", &s) != STORE_OK)
            _exit(1);
        if (write(ready[1], "x", 1) != 1)
            _exit(1);
        for (;;)
            pause();
    }
    close(ready[1]);
    if (read(ready[0], &c, 1) != 1) {
        fprintf(stderr, "store-user: the holder failed\n");
        return 1;
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    until = clock_mono_ms() + 60 * 1000;
    while ((rc = store_suppression_put(st, NULL, "held@example.com", &s)) !=
               STORE_OK &&
           store_is_temporary(rc) && clock_mono_ms() < until) {
        fprintf(stderr, "store-user: put: %s; again\n", store_strerror(st));
        temp++;
        usleep(100 * 1000);
    }
    if (rc != STORE_OK) {
        fprintf(stderr, "store-user: put: %s\n", store_strerror(st));
        return exit_for(rc);
    }
    printf("stored after %d temporary failure(s)\n", temp);
    store_close(st);
    return 0;
}

int main(int argc, char **argv)
{
    log_init("store-user", 1);
    log_set_level(LOG_INFO);
    if (argc >= 5 && strcmp(argv[1], "churn") == 0) {
        store_exit_when_stuck(STUCK_S);
        return cmd_churn(argv + 2);
    }
    if (argc >= 3 && strcmp(argv[1], "lockwait") == 0) {
        store_exit_when_stuck(LOCKWAIT_STUCK_S);
        return cmd_lockwait(argv + 2);
    }
    fprintf(stderr, "usage: store-user churn DIR WORKERS SECONDS [HOLD-US "
                    "[KILL-MS]] | lockwait DIR\n");
    return 64;
}
