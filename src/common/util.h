/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Small helpers shared by every part of airlock: allocation that aborts on
 * exhaustion, cleanup attributes and ownership hand-off, fd helpers.
 */
#ifndef AIRLOCK_UTIL_H
#define AIRLOCK_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* The object of type that embeds *ptr as its member. */
#define container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/* Allocation: these never return NULL; they report the size and abort. */
void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xreallocarray(void *ptr, size_t nmemb, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * A forked process that ends with _exit skips LeakSanitizer's check at
 * exit; in a sanitized build this runs the check before it.
 */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define AIRLOCK_ASAN 1
#endif
#elif defined(__SANITIZE_ADDRESS__)
#define AIRLOCK_ASAN 1
#endif
#ifdef AIRLOCK_ASAN
#include <sanitizer/lsan_interface.h>
#define leak_check_before_exit() __lsan_do_leak_check()
#else
#define leak_check_before_exit() ((void)0)
#endif

static inline void freep(void *p)
{
	free(*(void **)p);
}

static inline void closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)

/* Hands ownership of *pp to the caller and leaves NULL behind. */
static inline void *steal_ptr(void *pp)
{
	void **p = pp;
	void *v = *p;

	*p = NULL;
	return v;
}

/* Hands ownership of *fdp to the caller and leaves -1 behind. */
static inline int steal_fd(int *fdp)
{
	int fd = *fdp;

	*fdp = -1;
	return fd;
}

static inline bool streq(const char *a, const char *b)
{
	return strcmp(a, b) == 0;
}

/* The value of a hexadecimal digit (either case), or -1. */
static inline int hex_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Writes all of buf, retrying on EINTR and short writes. -errno on error. */
int write_all(int fd, const void *buf, size_t len);

/*
 * Reads exactly len bytes. Returns len, a smaller count at end of file, or
 * -errno.
 */
ssize_t read_full(int fd, void *buf, size_t len);

/* Writes a NUL-free string to path (O_WRONLY, no create). -errno on error. */
int write_file(const char *path, const char *text);

/*
 * Reads a whole small file (at most max_bytes) into a new NUL-terminated
 * buffer owned by the caller. Returns 0 or -errno (-EFBIG when too large).
 */
int read_file(const char *path, size_t max_bytes, char **out);
/* The same for what is left to read on fd, which stays open. */
int read_fd_text(int fd, size_t max_bytes, char **out);

/* Parses a decimal unsigned number; returns 0 or -EINVAL / -ERANGE. */
int parse_u64(const char *s, unsigned long long *out);

/*
 * Parses a size such as "512M", "2G", "4096" (bytes; K, M, G, T are powers
 * of 1024). Returns 0 or -EINVAL / -ERANGE.
 */
int parse_size(const char *s, unsigned long long *out);

/* Room for a run id and its terminating NUL. */
#define RUN_ID_MAX_BYTES 32

/*
 * Writes a new run id to out: the UTC time to the second and 32 random
 * bits, "20261204T070401Z-3f9a2c1b", so ids sort by start time and two
 * runs in the same second still differ. Returns 0 or -errno.
 */
int run_id_make(char out[RUN_ID_MAX_BYTES]);

#endif
