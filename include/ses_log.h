/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ses_log.h - logging to syslog (facility mail) or stderr
 *
 * log_init() names the program (the syslog ident) and picks the sink: syslog
 * for daemons, stderr in the foreground and for command-line tools. Every
 * line may carry the Postfix queue id ("3F2A1C0D: ..."), as Postfix's own
 * lines do, so one grep follows a message through every program.
 *
 * Secrets: log_secret_add() registers a string (an AWS secret key, session
 * token, ...) that is replaced by "[redacted]" wherever it would appear in a
 * log line; log_redact() formats an identifier for display ("AKIA...WXYZ").
 * Bytes outside printable ASCII from outside data are shown as '?', so no
 * log line can be forged with an embedded newline.
 *
 * DIAGNOSTICS
 *   None: logging never fails the caller.
 */
#ifndef SES_LOG_H
#define SES_LOG_H

#include <stdarg.h>
#include <stddef.h>
#include <syslog.h>

void log_init(const char *ident, int to_stderr);
/* Appends lines to a file instead (O_APPEND, one write per line, with a
 * syslog-like time stamp); falls back to stderr and returns -1 with errno
 * if it cannot be opened. The file is opened without following a symbolic
 * link (ELOOP), and refused unless it is a regular file (EINVAL) with one
 * name (EMLINK): root opens it before dropping privileges, often in a
 * directory the service user owns. */
int log_init_file(const char *ident, const char *path);
/* LOG_ERR .. LOG_DEBUG; lines less important than this are dropped. */
void log_set_level(int level);
int log_level_from_name(const char *name); /* "info" -> LOG_INFO; -1 */
int log_get_level(void);

void log_msg(int prio, const char *qid, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void log_vmsg(int prio, const char *qid, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* One record per line of text (lines end with "\n"), each
 * prefix + line + suffix: a multi-line message such as conf_load()'s list
 * of errors, without a control character in any record. */
void log_lines(int prio, const char *qid, const char *prefix, const char *text,
               const char *suffix);
#define log_error(qid, ...)   log_msg(LOG_ERR, qid, __VA_ARGS__)
#define log_warning(qid, ...) log_msg(LOG_WARNING, qid, __VA_ARGS__)
#define log_notice(qid, ...)  log_msg(LOG_NOTICE, qid, __VA_ARGS__)
#define log_info(qid, ...)    log_msg(LOG_INFO, qid, __VA_ARGS__)
#define log_debug(qid, ...)   log_msg(LOG_DEBUG, qid, __VA_ARGS__)

/* Registers a secret to scrub from every later line (copied; short strings
 * under 6 bytes are ignored as too likely to match innocent text). */
void log_secret_add(const char *secret);
void log_secret_clear(void);

/* "AKIAIOSFODNN7EXAMPLE" -> "AKIA...MPLE" (for ids only, never secrets). */
const char *log_redact(const char *s, char *out, size_t outlen);

/* Formats and scrubs a line the way log_msg() would, into out (for tests
 * and for programs that print diagnostics themselves). */
void log_format(char *out, size_t outlen, const char *qid, const char *fmt,
                va_list ap) __attribute__((format(printf, 4, 0)));

#endif
