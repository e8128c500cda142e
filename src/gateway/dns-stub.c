/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The sandbox's DNS stub, served by the gateway on port 53 of every
 * address inside (UDP and TCP). It never forwards a query: a name the
 * policy allows gets an address from 198.18.0.0/15 that the gateway maps
 * back to the name when a connection to it is captured; every other name
 * gets NXDOMAIN, so nothing about it leaves the machine. The real address
 * is looked up later, by the gateway, outside, and only when a connection
 * to an allowed port is made.
 *
 * Queries are bytes from the sandbox, parsed by dns.c; the answers are
 * built here and never larger than a plain UDP reply.
 */
#include "config.h"

#include "gateway/gw.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "common/log.h"
#include "common/util.h"
#include "gateway/dns.h"

/* 198.18.0.0, the first of the mapped addresses (+1 for index 0). */
#define MAP_BASE 0xc6120000u
#define MAP_TTL_SECONDS 300
/* Datagrams answered per event before others get a turn. */
#define UDP_BATCH 32
#define TCP_QUEUE_MAX_BYTES (2 + 65535)

static bool mapped_index(const struct in_addr *a, size_t *index)
{
	uint32_t v = ntohl(a->s_addr);

	if (v <= MAP_BASE || v > MAP_BASE + GW_DNS_MAP_MAX)
		return false;
	*index = v - MAP_BASE - 1;
	return true;
}

const struct host *gw_dns_lookup(const struct gw_run *run,
				 const struct in_addr *a)
{
	size_t i;

	if (!mapped_index(a, &i) || i >= run->n_dns)
		return NULL;
	return &run->dns_names[i];
}

/* The mapped address of name, allocating one; false when the map is full. */
static bool map_name(struct gw_run *run, const struct host *h,
		     struct in_addr *out)
{
	size_t i;

	for (i = 0; i < run->n_dns; i++)
		if (streq(run->dns_names[i].text, h->text))
			break;
	if (i == run->n_dns) {
		if (run->n_dns == GW_DNS_MAP_MAX)
			return false;
		if (!run->dns_names)
			run->dns_names = xcalloc(GW_DNS_MAP_MAX,
						 sizeof(*run->dns_names));
		run->dns_names[run->n_dns++] = *h;
	}
	out->s_addr = htonl(MAP_BASE + 1 + (uint32_t)i);
	return true;
}

static void dns_log(struct gw_run *run, const char *client, const char *name,
		    bool allow, const char *addr, const char *reason)
{
	struct gw_record r = {
		.run = run->id,
		.event = "dns",
		.proto = "dns",
		.client = client,
		.host = name,
		.decision = allow ? "allow" : "deny",
		.rule = allow ? NULL : "dns",
		.reason = reason,
		.addr = addr,
		.duration_ms = -1,
	};

	gw_audit_write(run->audit, &r);
}

size_t gw_dns_answer(struct gw_run *run, const uint8_t *msg, size_t len,
		     uint8_t *out, size_t cap, const char *client)
{
	struct dns_question q;
	struct host h;
	struct in_addr a;
	char text[INET_ADDRSTRLEN];
	const char *why;

	if (dns_parse_query(msg, len, &q, &why) < 0)
		return dns_build_error(out, cap, msg, len, DNS_RCODE_FORMERR);
	if (q.qclass != DNS_CLASS_IN)
		return dns_build_response(out, cap, &q, DNS_RCODE_NOTIMP, NULL, 0,
					  0);
	if (host_canon(q.name, strlen(q.name), &h, &why) < 0 ||
	    h.kind != HOST_NAME ||
	    !gw_run_name_allowed(run, &h)) {
		dns_log(run, client, q.name, false, NULL, "not allowed");
		return dns_build_response(out, cap, &q, DNS_RCODE_NXDOMAIN, NULL,
					  0, 0);
	}
	if (q.qtype != DNS_TYPE_A && q.qtype != DNS_TYPE_ANY)
		return dns_build_response(out, cap, &q, DNS_RCODE_NOERROR, NULL,
					  0, 0); /* no data of that type */
	if (!map_name(run, &h, &a)) {
		log_warn("gateway: DNS map full (%d names); %s not answered",
			 GW_DNS_MAP_MAX, h.text);
		return dns_build_response(out, cap, &q, DNS_RCODE_SERVFAIL, NULL,
					  0, 0);
	}
	inet_ntop(AF_INET, &a, text, sizeof(text));
	dns_log(run, client, h.text, true, text, NULL);
	q.qtype = DNS_TYPE_A;
	return dns_build_response(out, cap, &q, DNS_RCODE_NOERROR, &a, 4,
				  MAP_TTL_SECONDS);
}

/*
 * Replies from the address the query was sent to (the pktinfo of the
 * query), so that a client which sent it to 8.8.8.8 accepts the answer.
 */
/* Makes the reply leave from the address the query was sent to. */
static void pktinfo_reply_from_dst(struct msghdr *msg)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c;
	     c = CMSG_NXTHDR(msg, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			pi.ipi_spec_dst = pi.ipi_addr;
			pi.ipi_ifindex = 0;
			memcpy(CMSG_DATA(c), &pi, sizeof(pi));
		}
	}
}

/* Answers one datagram; false when none was waiting. */
static bool udp_answer_one(struct gw_dns_udp *u)
{
	uint8_t query[DNS_RESPONSE_MAX_BYTES * 8], answer[DNS_RESPONSE_MAX_BYTES];
	struct sockaddr_storage peer;
	union {
		char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = query, .iov_len = sizeof(query) };
	struct msghdr msg = {
		.msg_name = &peer, .msg_namelen = sizeof(peer),
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf),
	};
	char client[64];
	ssize_t n = recvmsg(u->w.fd, &msg, MSG_DONTWAIT);
	size_t len;

	if (n < 0)
		return false;
	gw_sockaddr_text(&peer, client, sizeof(client));
	len = gw_dns_answer(u->run, query, (size_t)n, answer, sizeof(answer),
			    client);
	if (!len)
		return true;
	iov.iov_base = answer;
	iov.iov_len = len;
	msg.msg_flags = 0;
	if (msg.msg_controllen)
		pktinfo_reply_from_dst(&msg);
	else
		msg.msg_control = NULL;
	if (sendmsg(u->w.fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		log_debug_errno(errno, "gateway: DNS reply to %s", client);
	return true;
}

void gw_dns_udp_on_event(struct loop_watch *w, uint32_t events)
{
	struct gw_dns_udp *u = container_of(w, struct gw_dns_udp, w);

	for (int i = 0; i < UDP_BATCH && udp_answer_one(u); i++)
		;
}

/* DNS over TCP: each message is preceded by its two-byte length. */
void gw_dns_tcp_on_client(struct gw_conn *c, uint32_t events)
{
	uint8_t answer[DNS_RESPONSE_MAX_BYTES + 2];
	ssize_t r;

	if (events & EPOLLERR) {
		gw_conn_close(c);
		return;
	}
	if (events & (EPOLLIN | EPOLLHUP)) {
		r = buf_read_fd(&c->in, c->client.w.fd, TCP_QUEUE_MAX_BYTES);
		if (r == 0 || (r < 0 && r != -EAGAIN && r != -ENOBUFS))
			c->client.eof = true;
	}
	while (buf_len(&c->in) >= 2) {
		const uint8_t *p = (const uint8_t *)buf_head(&c->in);
		size_t mlen = (size_t)p[0] << 8 | p[1], alen;

		if (buf_len(&c->in) < 2 + mlen)
			break;
		alen = gw_dns_answer(c->run, p + 2, mlen, answer + 2,
				     sizeof(answer) - 2, c->client_text);
		buf_consume(&c->in, 2 + mlen);
		if (!alen)
			continue;
		answer[0] = (uint8_t)(alen >> 8);
		answer[1] = (uint8_t)alen;
		if (!buf_append(&c->out, answer, alen + 2, GW_XFER_MAX_BYTES))
			break;
	}
	r = buf_write_fd(&c->out, c->client.w.fd);
	if (r < 0 && r != -EAGAIN) {
		gw_conn_close(c);
		return;
	}
	if (c->client.eof && !buf_len(&c->out)) {
		gw_conn_close(c);
		return;
	}
	gw_conn_touch(c);
	loop_watch_set(&c->gw->loop, &c->client.w,
		       (c->client.eof ? 0 : EPOLLIN) |
		       (buf_len(&c->out) ? EPOLLOUT : 0));
}
