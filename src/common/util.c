/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Allocation wrappers and fd helpers. Allocation failure is not
 * recoverable in airlock: the wrappers report the size and abort.
 */
#include "config.h"

#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "common/log.h"

static void __attribute__((noreturn)) oom(size_t nmemb, size_t size)
{
	log_error("out of memory allocating %zu * %zu bytes", nmemb, size);
	abort();
}

void *xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);

	if (!p)
		oom(1, size);
	return p;
}

void *xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

	if (!p)
		oom(nmemb, size);
	return p;
}

void *xreallocarray(void *ptr, size_t nmemb, size_t size)
{
	size_t bytes;
	void *p;

	if (size && nmemb > SIZE_MAX / size)
		oom(nmemb, size);
	bytes = nmemb * size;
	p = realloc(ptr, bytes ? bytes : 1);
	if (!p)
		oom(nmemb, size);
	return p;
}

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
	char *p = strndup(s, n);

	if (!p)
		oom(1, n + 1);
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		oom(1, strlen(fmt));
	return s;
}

int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

ssize_t read_full(int fd, void *buf, size_t len)
{
	char *p = buf;
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, p + got, len - got);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

int write_file(const char *path, const char *text)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0)
		return -errno;
	return write_all(fd, text, strlen(text));
}

int read_file(const char *path, size_t max_bytes, char **out)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0)
		return -errno;
	return read_fd_text(fd, max_bytes, out);
}

int read_fd_text(int fd, size_t max_bytes, char **out)
{
	_cleanup_free_ char *buf = NULL;
	ssize_t n;

	buf = xmalloc(max_bytes + 1);
	n = read_full(fd, buf, max_bytes + 1);
	if (n < 0)
		return (int)n;
	if ((size_t)n > max_bytes)
		return -EFBIG;
	buf[n] = '\0';
	*out = steal_ptr(&buf);
	return 0;
}

int parse_u64(const char *s, unsigned long long *out)
{
	char *end;
	unsigned long long v;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	if (*end != '\0')
		return -EINVAL;
	*out = v;
	return 0;
}

int parse_size(const char *s, unsigned long long *out)
{
	static const char units[] = "KMGT";
	_cleanup_free_ char *num = NULL;
	unsigned long long v, mult = 1;
	size_t len;
	const char *u;
	int r;

	if (!s || !*s)
		return -EINVAL;
	len = strlen(s);
	u = strchr(units, s[len - 1]);
	if (u && s[len - 1] != '\0') {
		for (const char *k = units; k <= u; k++)
			mult *= 1024;
		len--;
	}
	num = xstrndup(s, len);
	r = parse_u64(num, &v);
	if (r < 0)
		return r;
	if (v > ULLONG_MAX / mult)
		return -ERANGE;
	*out = v * mult;
	return 0;
}

int run_id_make(char out[RUN_ID_MAX_BYTES])
{
	uint32_t nonce;
	struct tm tm;
	time_t now = time(NULL);

	if (getrandom(&nonce, sizeof(nonce), 0) != sizeof(nonce))
		return -errno;
	if (!gmtime_r(&now, &tm))
		return -EOVERFLOW;
	if (!strftime(out, RUN_ID_MAX_BYTES, "%Y%m%dT%H%M%SZ-", &tm))
		return -EOVERFLOW;
	snprintf(out + strlen(out), RUN_ID_MAX_BYTES - strlen(out), "%08x",
		 (unsigned int)nonce);
	return 0;
}
