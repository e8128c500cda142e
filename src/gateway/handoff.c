/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Listener hand-over (see handoff.h). handoff_send runs in the sandbox's
 * init before CMD starts; handoff_recv runs in the gateway, which treats
 * the message as coming from a process it set up itself but still checks
 * every count and kind before using an fd.
 */
#include "config.h"

#include "gateway/handoff.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/util.h"

#define HANDOFF_MAGIC 0x41484f31u /* "AHO1" */
#define HANDOFF_ACK "AHO1 ok"

struct handoff_header {
	uint32_t magic;
	uint32_t count;
	struct handoff_entry entries[HANDOFF_FDS_MAX];
};

int handoff_send(int sock, const struct handoff_entry *e, const int *fds,
		 size_t n)
{
	struct handoff_header h = { .magic = HANDOFF_MAGIC,
				    .count = (uint32_t)n };
	union {
		char buf[CMSG_SPACE(sizeof(int) * HANDOFF_FDS_MAX)];
		struct cmsghdr align;
	} u = { 0 };
	struct iovec iov = { .iov_base = &h, .iov_len = sizeof(h) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;

	if (n == 0 || n > HANDOFF_FDS_MAX)
		return -EINVAL;
	memcpy(h.entries, e, n * sizeof(*e));
	msg.msg_control = u.buf;
	msg.msg_controllen = CMSG_SPACE(sizeof(int) * n);
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int) * n);
	memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
	return sendmsg(sock, &msg, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

static size_t cmsg_fds(struct msghdr *msg, int *fds, size_t max)
{
	size_t n = 0;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c;
	     c = CMSG_NXTHDR(msg, c)) {
		size_t k;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (n < max)
				fds[n++] = fd;
			else
				close(fd);
		}
	}
	return n;
}

int handoff_recv(int sock, struct handoff_entry *e, int *fds, size_t max,
		 size_t *n)
{
	struct handoff_header h;
	union {
		char buf[CMSG_SPACE(sizeof(int) * HANDOFF_FDS_MAX)];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = &h, .iov_len = sizeof(h) };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = u.buf, .msg_controllen = sizeof(u.buf),
	};
	ssize_t got;
	size_t nfds;

	*n = 0;
	do
		got = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	while (got < 0 && errno == EINTR);
	if (got < 0)
		return -errno;
	if (got == 0)
		return -EPIPE;
	nfds = cmsg_fds(&msg, fds, max);
	if ((size_t)got < offsetof(struct handoff_header, entries) ||
	    h.magic != HANDOFF_MAGIC || h.count != nfds || nfds > max ||
	    (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ||
	    (size_t)got < offsetof(struct handoff_header, entries) +
				  nfds * sizeof(struct handoff_entry)) {
		for (size_t i = 0; i < nfds; i++)
			close(fds[i]);
		return -EBADMSG;
	}
	memcpy(e, h.entries, nfds * sizeof(*e));
	*n = nfds;
	return 0;
}

int handoff_ack_send(int sock)
{
	return send(sock, HANDOFF_ACK, sizeof(HANDOFF_ACK), MSG_NOSIGNAL) < 0 ?
		       -errno : 0;
}

int handoff_ack_wait(int sock, int timeout_ms)
{
	struct pollfd pfd = { .fd = sock, .events = POLLIN };
	char ack[sizeof(HANDOFF_ACK)];
	ssize_t n;
	int r;

	do
		r = poll(&pfd, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	if (r == 0)
		return -ETIMEDOUT;
	n = recv(sock, ack, sizeof(ack), MSG_DONTWAIT);
	if (n < 0)
		return -errno;
	if (n != sizeof(ack) || memcmp(ack, HANDOFF_ACK, sizeof(ack)) != 0)
		return -EPIPE;
	return 0;
}

const char *handoff_kind_name(uint16_t kind)
{
	switch (kind) {
	case HANDOFF_HTTP:
		return "http";
	case HANDOFF_SOCKS:
		return "socks5";
	case HANDOFF_DNS_UDP:
		return "dns";
	case HANDOFF_DNS_TCP:
		return "dns-tcp";
	case HANDOFF_CAPTURE:
		return "capture";
	case HANDOFF_ROUTE:
		return "route";
	}
	return "unknown";
}
