/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * creds_process.c - credentials from a profile's credential_process
 *
 * As the AWS SDKs do on Unix, the command runs through /bin/sh -c, with
 * the program's environment, stdin from /dev/null, in a process group of
 * its own (killed whole at the time limit: 60 s, or
 * CREDS_PROCESS_TIMEOUT_MS); its
 * standard output must be the documented JSON document
 *   {"Version": 1, "AccessKeyId": "...", "SecretAccessKey": "...",
 *    "SessionToken": "...", "Expiration": "2026-01-01T00:00:00Z"}
 * (SessionToken and Expiration optional; without Expiration the keys are
 * long-term). At most 64 KB of output is read; standard error is read
 * too (so the child never blocks on it) and its first line goes into the
 * error when the command fails. Neither ever reaches the program's own
 * output: in pipe mode that is the delivery's diagnostic.
 *
 * DIAGNOSTICS
 *   creds_process() returns 1 with credentials, or -1 with a reason in
 *   err: the command could not start, exited non-zero or by a signal, ran
 *   out of time (it is killed), wrote too much, or wrote no valid
 *   document. The reason names the profile, never a secret.
 */
#include "config.h"

#include "creds_int.h"
#include "ses_jsonlimit.h"
#include "ses_util.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define PROCESS_MAX_OUT  (64 * 1024)
#define PROCESS_MAX_ERR  1024
#define PROCESS_TIMEOUT  60000 /* ms; CREDS_PROCESS_TIMEOUT_MS overrides */

typedef struct {
    int fd;
    char *buf;
    size_t len, cap;
    int overflow;
} stream_t;

/* Reads what is there; 0 at EOF (fd closed), 1 to go on. */
static int drain(stream_t *s)
{
    char tmp[4096];
    ssize_t n = read(s->fd, tmp, sizeof(tmp));

    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return 1;
    if (n <= 0) {
        close(s->fd);
        s->fd = -1;
        return 0;
    }
    if (s->len + (size_t)n >= s->cap) {
        s->overflow = 1;
        n = (ssize_t)(s->cap - 1 - s->len);
    }
    memcpy(s->buf + s->len, tmp, (size_t)n);
    s->len += (size_t)n;
    s->buf[s->len] = '\0';
    secure_zero(tmp, sizeof(tmp));
    return 1;
}

/* Runs cmd; its output in out (NUL-terminated), its stderr in errtext.
 * The exit status as waitpid() gives it, or -1 with err. */
static int run(const char *cmd, stream_t *out, stream_t *er, char *err,
               size_t errlen)
{
    int po[2] = {-1, -1}, pe[2] = {-1, -1}, status = -1, timed_out = 0;
    int64_t deadline = clock_mono_ms() +
                       creds_env_long("CREDS_PROCESS_TIMEOUT_MS",
                                      PROCESS_TIMEOUT, 100, 600000);
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    char *argv[] = {"/bin/sh", "-c", (char *)cmd, NULL};
    pid_t pid;
    int rc;

    if (pipe2(po, O_CLOEXEC) < 0 || pipe2(pe, O_CLOEXEC) < 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        goto out;
    }
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, po[1], 1);
    posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
    /* its own process group, so a kill reaches what the shell started */
    posix_spawnattr_init(&attr);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    rc = posix_spawn(&pid, "/bin/sh", &fa, &attr, argv, environ);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fa);
    close(po[1]);
    close(pe[1]);
    po[1] = pe[1] = -1;
    if (rc != 0) {
        snprintf(err, errlen, "cannot start /bin/sh: %s", strerror(rc));
        goto out;
    }
    out->fd = po[0];
    er->fd = pe[0];
    po[0] = pe[0] = -1;
    while (out->fd >= 0 || er->fd >= 0) {
        struct pollfd p[2] = {{out->fd, POLLIN, 0}, {er->fd, POLLIN, 0}};
        int64_t left = deadline - clock_mono_ms();
        if (left <= 0) {
            timed_out = 1;
            break;
        }
        if (poll(p, 2, (int)left) < 0 && errno != EINTR)
            break;
        if (out->fd >= 0 && (p[0].revents & (POLLIN | POLLHUP | POLLERR)))
            drain(out);
        if (er->fd >= 0 && (p[1].revents & (POLLIN | POLLHUP | POLLERR)))
            drain(er);
        if (out->overflow)
            break;
    }
    if (out->fd >= 0 || er->fd >= 0)
        kill(-pid, SIGKILL); /* out of time or too much output */
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (timed_out) {
        snprintf(err, errlen, "timed out and was killed");
        status = -1;
    } else if (out->overflow) {
        snprintf(err, errlen, "wrote more than %d bytes", PROCESS_MAX_OUT);
        status = -1;
    }
out:
    for (int i = 0; i < 2; i++) {
        if (po[i] >= 0)
            close(po[i]);
        if (pe[i] >= 0)
            close(pe[i]);
    }
    if (out->fd >= 0)
        close(out->fd);
    if (er->fd >= 0)
        close(er->fd);
    out->fd = er->fd = -1;
    return status;
}

/* The document's fields into c; 0, or -1 with err. */
static int parse(const char *text, size_t len, aws_creds_t *c, char *err,
                 size_t errlen)
{
    json_t *j = jsonlimit_load(text, len, 0, PROCESS_MAX_OUT, NULL, 0);
    json_t *version;
    const char *ak, *sk, *tok, *exp;
    int rc = -1;

    if (j == NULL || !json_is_object(j)) {
        snprintf(err, errlen, "did not write a JSON object");
        goto out;
    }
    version = json_object_get(j, "Version");
    ak = json_string_value(json_object_get(j, "AccessKeyId"));
    sk = json_string_value(json_object_get(j, "SecretAccessKey"));
    tok = json_string_value(json_object_get(j, "SessionToken"));
    exp = json_string_value(json_object_get(j, "Expiration"));
    if (!json_is_integer(version) || json_integer_value(version) != 1)
        snprintf(err, errlen, "wrote a document without \"Version\": 1");
    else if (!ak || !*ak || !sk || !*sk)
        snprintf(err, errlen, "wrote no AccessKeyId or SecretAccessKey");
    else if (creds_set(c->access_key, sizeof(c->access_key), ak) < 0 ||
             creds_set(c->secret_key, sizeof(c->secret_key), sk) < 0 ||
             creds_set(c->session_token, sizeof(c->session_token),
                       tok ? tok : "") < 0)
        snprintf(err, errlen, "wrote credentials that are too long");
    else if (exp && (c->expires_ms = creds_expiry_ms(exp)) < 0)
        snprintf(err, errlen, "wrote a bad Expiration");
    else
        rc = 0;
out:
    json_decref(j);
    return rc;
}

int creds_process(const char *cmd, const char *profile, aws_creds_t *c,
                  char *err, size_t errlen)
{
    char *obuf = malloc(PROCESS_MAX_OUT + 1), ebuf[PROCESS_MAX_ERR + 1] = "";
    stream_t out = {-1, obuf, 0, PROCESS_MAX_OUT + 1, 0};
    stream_t er = {-1, ebuf, 0, sizeof(ebuf), 0};
    char why[256] = "";
    int status, rc = -1;

    if (obuf == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    obuf[0] = '\0';
    status = run(cmd, &out, &er, why, sizeof(why));
    if (status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        if (parse(obuf, out.len, c, why, sizeof(why)) == 0)
            rc = 1;
    } else if (status != -1) {
        char line[200];
        size_t n = strcspn(ebuf, "\r\n");
        snprintf(line, sizeof(line), "%.*s", (int)n, ebuf);
        str_sanitize(line);
        if (WIFEXITED(status))
            snprintf(why, sizeof(why), "exited with status %d%s%s",
                     WEXITSTATUS(status), line[0] ? ": " : "", line);
        else
            snprintf(why, sizeof(why), "was killed by signal %d",
                     WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    }
    if (rc == 1)
        snprintf(c->source, sizeof(c->source), "process:%.40s", profile);
    else
        snprintf(err, errlen, "credential_process of profile \"%s\" %s",
                 profile, why);
    secure_zero(obuf, PROCESS_MAX_OUT + 1);
    free(obuf);
    return rc;
}
