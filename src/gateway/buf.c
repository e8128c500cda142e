/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Byte queues for the gateway's connections (see buf.h). Used on bytes
 * from the sandbox and from servers; the cap given by the caller bounds
 * every queue, so a peer that never stops sending only fills its queue
 * and is then not read until the queue drains (backpressure).
 */
#include "config.h"

#include "gateway/buf.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/util.h"

#define BUF_MIN_BYTES 4096
/* Storage above this is returned to the allocator when the queue empties. */
#define BUF_KEEP_BYTES 16384

char *buf_space(struct buf *b, size_t want, size_t max, size_t *room)
{
	size_t queued = buf_len(b), need, cap;

	*room = 0;
	if (queued >= max)
		return NULL;
	if (want > max - queued)
		want = max - queued;
	if (b->start > 0 && b->cap - b->end < want) {
		memmove(b->data, b->data + b->start, queued);
		b->start = 0;
		b->end = queued;
	}
	need = b->end + want;
	if (need > b->cap) {
		cap = b->cap ? b->cap : BUF_MIN_BYTES;
		while (cap < need)
			cap *= 2;
		if (cap > max)
			cap = max;
		b->data = xreallocarray(b->data, cap, 1);
		b->cap = cap;
	}
	*room = b->cap - b->end;
	if (*room > max - queued)
		*room = max - queued;
	return b->data + b->end;
}

void buf_commit(struct buf *b, size_t n)
{
	b->end += n;
}

bool buf_append(struct buf *b, const void *p, size_t n, size_t max)
{
	size_t room;
	char *dst = buf_space(b, n, max, &room);

	if (!dst || room < n)
		return false;
	memcpy(dst, p, n);
	buf_commit(b, n);
	return true;
}

bool buf_prepend(struct buf *b, const void *p, size_t n, size_t max)
{
	size_t queued = buf_len(b), room;

	if (n <= b->start) {
		b->start -= n;
		memcpy(b->data + b->start, p, n);
		return true;
	}
	if (!buf_space(b, n, max, &room) || room < n)
		return false;
	memmove(b->data + b->start + n, b->data + b->start, queued);
	memcpy(b->data + b->start, p, n);
	b->end += n;
	return true;
}

void buf_consume(struct buf *b, size_t n)
{
	b->start += n;
	if (b->start < b->end)
		return;
	b->start = b->end = 0;
	if (b->cap > BUF_KEEP_BYTES)
		buf_free(b, false);
}

void buf_free(struct buf *b, bool wipe)
{
	if (wipe && b->data)
		explicit_bzero(b->data, b->cap);
	free(b->data);
	*b = (struct buf){ 0 };
}

ssize_t buf_read_fd(struct buf *b, int fd, size_t max)
{
	size_t room;
	char *dst = buf_space(b, BUF_MIN_BYTES, max, &room);
	ssize_t n;

	if (!dst)
		return -ENOBUFS;
	do
		n = read(fd, dst, room);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	buf_commit(b, (size_t)n);
	return n;
}

ssize_t buf_write_fd(struct buf *b, int fd)
{
	ssize_t n;

	if (buf_len(b) == 0)
		return 0;
	do
		n = send(fd, buf_head(b), buf_len(b), MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	buf_consume(b, (size_t)n);
	return n;
}
