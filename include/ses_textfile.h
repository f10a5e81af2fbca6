/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ses_textfile.h - reading line-oriented configuration files
 *
 * textfile_each_line() opens a file, checks that it is a regular file of at
 * most CONF_MAX_FILE bytes that nobody but root and this process's user can
 * change (filecheck_writers(): the file and the directories above it), and
 * calls fn for every line (without its CR LF) of at most CONF_MAX_LINE
 * bytes. The configuration, RulesFile, KeyTable and SigningTable readers
 * share it, so every file that steers mail gets the same bounds, the same
 * write check and the same "file:line: message" errors.
 *
 * A line's problem does not stop the reading: every line is read and
 * every problem reported in one pass, as OpenSMTPD does, so an operator
 * fixes them all at once; the file is refused at the end.
 *
 * DIAGNOSTICS
 *   Returns CONF_OK, CONF_NOFILE (missing, unreadable, not a regular file)
 *   or CONF_INVALID (others can change it, too large, a read error, or
 *   lines with problems: too long, a NUL byte, or fn returned false after
 *   writing its message). err receives "file: message" for the whole
 *   file, or one "file:line: message" per bad line, lines separated by
 *   "\n"; when they do not all fit, a last line "file: N more errors".
 */
#ifndef SES_TEXTFILE_H
#define SES_TEXTFILE_H

#include "ses_conf.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

/* Returns false with a message (no file or line) in msg for a bad line;
 * the reading goes on with the next line. */
typedef bool (*textfile_line_fn)(void *ctx, char *line, int lineno, char *msg,
                                 size_t msglen);

/* st (may be NULL) receives the file's status, for permission checks. */
conf_status_t textfile_each_line(const char *path, textfile_line_fn fn,
                                 void *ctx, struct stat *st, char *err,
                                 size_t errlen);

/* Splits off the next blank-separated word of *p (NUL-terminating it in
 * place); NULL at the end of the line or at a '#' comment. */
char *textfile_word(char **p);

#endif
