/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A byte queue with a hard cap: bytes are appended at the end and consumed
 * from the start. Storage grows on demand up to the cap, so an idle
 * connection holds none, and is released when the queue empties if it is
 * larger than what most connections need.
 */
#ifndef AIRLOCK_GATEWAY_BUF_H
#define AIRLOCK_GATEWAY_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct buf {
	char *data;
	size_t start; /* first unconsumed byte */
	size_t end;   /* one past the last byte */
	size_t cap;   /* allocated */
};

static inline size_t buf_len(const struct buf *b)
{
	return b->end - b->start;
}

/* The first queued byte; an empty queue without storage gives "". */
static inline const char *buf_head(const struct buf *b)
{
	return b->data ? b->data + b->start : "";
}

/*
 * Makes room for at least want more bytes without exceeding max bytes
 * queued; returns the writable span (NULL, *room 0, when full).
 */
char *buf_space(struct buf *b, size_t want, size_t max, size_t *room);
/* Records that n bytes were written into the span from buf_space. */
void buf_commit(struct buf *b, size_t n);
/* Appends n bytes; false when that would exceed max queued bytes. */
bool buf_append(struct buf *b, const void *p, size_t n, size_t max);
/* Inserts n bytes before what is queued; false past max queued. */
bool buf_prepend(struct buf *b, const void *p, size_t n, size_t max);
/* Drops n bytes from the start. */
void buf_consume(struct buf *b, size_t n);
/* Frees the storage (wiping it when wipe). */
void buf_free(struct buf *b, bool wipe);

/*
 * Reads from fd into b (at most max queued). Returns bytes read, 0 at end
 * of file, -EAGAIN when nothing is ready, -ENOBUFS when b is full, or
 * another -errno.
 */
ssize_t buf_read_fd(struct buf *b, int fd, size_t max);
/*
 * Writes queued bytes to fd and consumes what was written. Returns bytes
 * written (possibly 0 when empty), -EAGAIN when fd is full, or -errno.
 */
ssize_t buf_write_fd(struct buf *b, int fd);

#endif
