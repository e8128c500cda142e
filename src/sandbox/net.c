/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The sandbox's end of the way out. Runs in the sandbox's init, which
 * still holds every capability of its user namespace (and so of its new
 * network namespace) but none on the host, before CMD starts.
 *
 * It makes every address local (a "local" default route on loopback, for
 * IPv4 and IPv6), so that a connection to any address lands on a listener
 * in this namespace; creates the listeners: the explicit HTTP proxy and
 * SOCKS5 on 127.0.0.1, the DNS stub on port 53 of every address, and one
 * capture listener per allowed port; and hands them all to the gateway,
 * which accepts on them from outside. init keeps no copy: once the
 * gateway is gone, nothing in the sandbox answers on those ports.
 */
#include "config.h"

#include "sandbox/sandbox.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "gateway/handoff.h"

#define NET_LISTEN_BACKLOG 4096
/* How long init waits for the gateway to say it holds the listeners. */
#define NET_ACK_TIMEOUT_MS 10000

struct route_request {
	struct nlmsghdr nh;
	struct rtmsg rt;
	struct rtattr oif_attr;
	uint32_t oif;
};

/* Reads the kernel's acknowledgement of one netlink request. */
static int netlink_ack(int nl)
{
	char buf[512];
	struct nlmsghdr *nh = (struct nlmsghdr *)buf;
	ssize_t n = recv(nl, buf, sizeof(buf), 0);

	if (n < 0)
		return -errno;
	if ((size_t)n < sizeof(*nh) || nh->nlmsg_type != NLMSG_ERROR ||
	    (size_t)n < NLMSG_LENGTH(sizeof(struct nlmsgerr)))
		return -EPROTO;
	return ((struct nlmsgerr *)NLMSG_DATA(nh))->error;
}

/* ip route add local 0.0.0.0/0 (or ::/0) dev lo table local */
static int route_all_local(int nl, int family, unsigned int lo)
{
	struct route_request rq = {
		.nh = {
			.nlmsg_len = sizeof(rq),
			.nlmsg_type = RTM_NEWROUTE,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE |
				       NLM_F_EXCL | NLM_F_ACK,
			.nlmsg_seq = (uint32_t)family,
		},
		.rt = {
			.rtm_family = (unsigned char)family,
			.rtm_table = RT_TABLE_LOCAL,
			.rtm_protocol = RTPROT_BOOT,
			.rtm_scope = RT_SCOPE_HOST,
			.rtm_type = RTN_LOCAL,
		},
		.oif_attr = { .rta_len = RTA_LENGTH(sizeof(uint32_t)),
			      .rta_type = RTA_OIF },
		.oif = lo,
	};

	if (send(nl, &rq, sizeof(rq), 0) < 0)
		return -errno;
	return netlink_ack(nl);
}

static int routes_setup(bool *have_v6)
{
	_cleanup_close_ int nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC,
					NETLINK_ROUTE);
	unsigned int lo = if_nametoindex("lo");
	int r;

	if (nl < 0 || lo == 0)
		return -errno;
	r = route_all_local(nl, AF_INET, lo);
	if (r < 0) {
		log_error_errno(-r, "cannot route every IPv4 address to "
				"loopback");
		return r;
	}
	r = route_all_local(nl, AF_INET6, lo);
	*have_v6 = r == 0;
	if (r < 0)
		log_debug_errno(-r, "no IPv6 capture (IPv6 unavailable)");
	return 0;
}

static int listener_new(int family, int type, const char *addr,
			uint16_t port)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t len;
	int one = 1;
	_cleanup_close_ int fd = socket(family, type | SOCK_CLOEXEC |
					SOCK_NONBLOCK, 0);

	if (fd < 0)
		return -errno;
	if (family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;

		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		inet_pton(AF_INET, addr, &in->sin_addr);
		len = sizeof(*in);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		inet_pton(AF_INET6, addr, &in6->sin6_addr);
		len = sizeof(*in6);
		if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
			       sizeof(one)) < 0)
			return -errno;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		return -errno;
	if (type == SOCK_DGRAM &&
	    (family == AF_INET ?
	     setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) :
	     setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one,
			sizeof(one))) < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&ss, len) < 0)
		return -errno;
	if (type == SOCK_STREAM && listen(fd, NET_LISTEN_BACKLOG) < 0)
		return -errno;
	return steal_fd(&fd);
}

struct listeners {
	struct handoff_entry e[HANDOFF_FDS_MAX];
	int fds[HANDOFF_FDS_MAX];
	size_t n;
};

static int listeners_add(struct listeners *ls, uint16_t kind, int family,
			 int type, const char *addr, uint16_t port,
			 uint32_t index)
{
	int fd;

	if (ls->n == HANDOFF_FDS_MAX)
		return -E2BIG;
	fd = listener_new(family, type, addr, port);
	if (fd < 0) {
		log_error_errno(-fd, "cannot listen on %s port %u for the "
				"gateway (%s)", addr, port,
				handoff_kind_name(kind));
		return fd;
	}
	ls->e[ls->n] = (struct handoff_entry){ .kind = kind, .port = port,
					       .index = index };
	ls->fds[ls->n++] = fd;
	return 0;
}

/* A port on every address: 0.0.0.0 and, with IPv6, [::]. */
static int listeners_add_any(struct listeners *ls, uint16_t kind, int type,
			     uint16_t port, bool v6)
{
	int r = listeners_add(ls, kind, AF_INET, type, "0.0.0.0", port, 0);

	if (r == 0 && v6)
		r = listeners_add(ls, kind, AF_INET6, type, "::", port, 0);
	return r;
}

static int listeners_build(struct listeners *ls, const struct net_config *nc,
			   bool v6)
{
	int r = listeners_add(ls, HANDOFF_HTTP, AF_INET, SOCK_STREAM,
			      "127.0.0.1", nc->http_port, 0);

	if (r == 0)
		r = listeners_add(ls, HANDOFF_SOCKS, AF_INET, SOCK_STREAM,
				  "127.0.0.1", nc->socks_port, 0);
	if (r == 0)
		r = listeners_add_any(ls, HANDOFF_DNS_UDP, SOCK_DGRAM,
				      NET_DNS_PORT, v6);
	if (r == 0)
		r = listeners_add_any(ls, HANDOFF_DNS_TCP, SOCK_STREAM,
				      NET_DNS_PORT, v6);
	for (size_t i = 0; r == 0 && i < nc->n_capture; i++)
		r = listeners_add_any(ls, HANDOFF_CAPTURE, SOCK_STREAM,
				      nc->capture[i], v6);
	for (size_t i = 0; r == 0 && i < nc->n_routes; i++)
		r = listeners_add(ls, HANDOFF_ROUTE, AF_INET, SOCK_STREAM,
				  "127.0.0.1", nc->routes[i], (uint32_t)i);
	return r;
}

int net_setup_inside(const struct net_config *nc)
{
	struct listeners ls = { .n = 0 };
	bool v6 = false;
	int r = routes_setup(&v6);

	if (r == 0)
		r = listeners_build(&ls, nc, v6);
	if (r == 0) {
		r = handoff_send(nc->gateway_fd, ls.e, ls.fds, ls.n);
		if (r < 0)
			log_error_errno(-r, "cannot hand the listeners to the "
					"gateway");
	}
	if (r == 0) {
		r = handoff_ack_wait(nc->gateway_fd, NET_ACK_TIMEOUT_MS);
		if (r < 0)
			log_error_errno(-r, "the gateway did not take the "
					"listeners; the command does not run "
					"without its way out");
	}
	for (size_t i = 0; i < ls.n; i++)
		close(ls.fds[i]);
	return r;
}

size_t net_connect_ports(const struct net_config *nc, uint16_t *ports,
			 size_t max)
{
	size_t n = 0;

	if (nc->gateway_fd < 0)
		return 0;
	if (n < max)
		ports[n++] = nc->http_port;
	if (n < max)
		ports[n++] = nc->socks_port;
	if (n < max)
		ports[n++] = NET_DNS_PORT;
	for (size_t i = 0; i < nc->n_capture && n < max; i++)
		ports[n++] = nc->capture[i];
	for (size_t i = 0; i < nc->n_routes && n < max; i++)
		ports[n++] = nc->routes[i];
	return n;
}
