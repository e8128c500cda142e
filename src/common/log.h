/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Logging: one line per event on stderr, four levels, untrusted bytes
 * escaped. Safe to call between fork and exec (it formats into a stack
 * buffer and issues a single write).
 */
#ifndef AIRLOCK_LOG_H
#define AIRLOCK_LOG_H

#include <stdarg.h>
#include <stddef.h>

enum log_level {
	LOG_LEVEL_ERROR = 0,
	LOG_LEVEL_WARN = 1,
	LOG_LEVEL_INFO = 2,
	LOG_LEVEL_DEBUG = 3,
};

/* Messages above this level are dropped. Default: LOG_LEVEL_WARN. */
void log_set_level(enum log_level level);
enum log_level log_get_level(void);

/* Prefix written before every line ("airlock", "airlock[init]", ...). */
void log_set_prefix(const char *prefix);

/*
 * Writes one line. When err is non-zero, ": <strerror(err)>" is appended.
 * errno is preserved across the call.
 */
void log_emit(enum log_level level, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void log_emitv(enum log_level level, int err, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

#define log_error(...) log_emit(LOG_LEVEL_ERROR, 0, __VA_ARGS__)
#define log_warn(...) log_emit(LOG_LEVEL_WARN, 0, __VA_ARGS__)
#define log_info(...) log_emit(LOG_LEVEL_INFO, 0, __VA_ARGS__)
#define log_debug(...) log_emit(LOG_LEVEL_DEBUG, 0, __VA_ARGS__)
#define log_error_errno(e, ...) log_emit(LOG_LEVEL_ERROR, (e), __VA_ARGS__)
#define log_warn_errno(e, ...) log_emit(LOG_LEVEL_WARN, (e), __VA_ARGS__)
#define log_debug_errno(e, ...) log_emit(LOG_LEVEL_DEBUG, (e), __VA_ARGS__)

/*
 * Copies src into dst (size bytes, always NUL-terminated), replacing
 * control bytes and non-ASCII bytes by \xHH so that a name chosen by the
 * sandbox cannot forge log lines or terminal escapes.
 */
void log_sanitize(char *dst, size_t size, const char *src);

#endif
