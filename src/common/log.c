/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Logging to stderr. Used by the supervisor, by the sandbox's init and by
 * the child between fork and exec, so it allocates nothing and writes each
 * line with a single write(2).
 */
#include "config.h"

#include "common/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define LOG_LINE_MAX_BYTES 2048

static enum log_level log_level = LOG_LEVEL_WARN;
static const char *log_prefix = "airlock";

static const char *const log_level_names[] = {
	[LOG_LEVEL_ERROR] = "error",
	[LOG_LEVEL_WARN] = "warning",
	[LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_DEBUG] = "debug",
};

void log_set_level(enum log_level level)
{
	log_level = level;
}

enum log_level log_get_level(void)
{
	return log_level;
}

void log_set_prefix(const char *prefix)
{
	log_prefix = prefix;
}

void log_sanitize(char *dst, size_t size, const char *src)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	if (size == 0)
		return;
	for (; *src && o + 1 < size; src++) {
		unsigned char c = (unsigned char)*src;

		if (c >= 0x20 && c < 0x7f && c != '\\') {
			dst[o++] = (char)c;
			continue;
		}
		if (o + 4 >= size)
			break;
		dst[o++] = '\\';
		dst[o++] = 'x';
		dst[o++] = hex[c >> 4];
		dst[o++] = hex[c & 15];
	}
	dst[o] = '\0';
}

void log_emitv(enum log_level level, int err, const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX_BYTES];
	int saved_errno = errno;
	int n, m;

	if (level > log_level)
		return;

	n = snprintf(line, sizeof(line), "%s: %s%s", log_prefix,
		     level == LOG_LEVEL_INFO ? "" : log_level_names[level],
		     level == LOG_LEVEL_INFO ? "" : ": ");
	if (n < 0 || (size_t)n >= sizeof(line))
		n = 0;
	m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	if (m > 0)
		n = (size_t)(n + m) >= sizeof(line) ? (int)sizeof(line) - 1 : n + m;
	if (err != 0) {
		m = snprintf(line + n, sizeof(line) - (size_t)n, ": %s",
			     strerror(err));
		if (m > 0)
			n = (size_t)(n + m) >= sizeof(line) ? (int)sizeof(line) - 1
							    : n + m;
	}
	if ((size_t)n >= sizeof(line) - 1)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';

	if (write(STDERR_FILENO, line, (size_t)n) < 0) {
		/* Nowhere left to report a failing stderr. */
	}
	errno = saved_errno;
}

void log_emit(enum log_level level, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emitv(level, err, fmt, ap);
	va_end(ap);
}
