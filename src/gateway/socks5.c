/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SOCKS5 messages from the client side of the gateway's SOCKS listener
 * (RFC 1928, RFC 1929). The client is the sandbox, so every length and
 * code is checked as soon as its byte has arrived, and nothing is read
 * past the bytes received: a message still arriving is INCOMPLETE, one
 * that can no longer become valid is MALFORMED at once.
 */
#include "config.h"

#include "gateway/socks5.h"

#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#define USERPASS_VERSION 1
/* VER CMD RSV ATYP, before the address */
#define REQUEST_FIXED_BYTES 4
#define PORT_BYTES 2

static int socks5_fail(const char **why, const char *text)
{
	if (why)
		*why = text;
	return SOCKS5_ERR_MALFORMED;
}

int socks5_parse_greeting(const uint8_t *buf, size_t len,
			  struct socks5_greeting *g, const char **why)
{
	size_t n;

	*g = (struct socks5_greeting){ 0 };
	if (len >= 1 && buf[0] != SOCKS5_VERSION)
		return socks5_fail(why, "not SOCKS version 5");
	if (len < 2)
		return SOCKS5_INCOMPLETE;
	n = buf[1];
	if (n == 0)
		return socks5_fail(why, "greeting offers no method");
	if (len < 2 + n)
		return SOCKS5_INCOMPLETE;

	for (size_t i = 0; i < n; i++) {
		g->offers_none |= buf[2 + i] == SOCKS5_METHOD_NONE;
		g->offers_userpass |= buf[2 + i] == SOCKS5_METHOD_USERPASS;
	}
	return (int)(2 + n);
}

/* A NUL among the first n bytes of a field, of which avail have arrived. */
static bool has_nul(const uint8_t *p, size_t avail, size_t n)
{
	return memchr(p, '\0', avail < n ? avail : n) != NULL;
}

/* A length-prefixed field of RFC 1929, starting at buf[at]. */
static int userpass_field(const uint8_t *buf, size_t len, size_t at,
			  size_t *field_len, const char **why)
{
	if (len <= at)
		return SOCKS5_INCOMPLETE;
	*field_len = buf[at];
	if (has_nul(buf + at + 1, len - at - 1, *field_len))
		return socks5_fail(why, "NUL byte in user or password");
	if (len < at + 1 + *field_len)
		return SOCKS5_INCOMPLETE;
	return 1;
}

int socks5_parse_userpass(const uint8_t *buf, size_t len,
			  struct socks5_userpass *u, const char **why)
{
	size_t ulen, plen;
	int r;

	if (len >= 1 && buf[0] != USERPASS_VERSION)
		return socks5_fail(why, "not username/password version 1");
	if (len >= 2 && buf[1] == 0)
		return socks5_fail(why, "empty user name");
	r = userpass_field(buf, len, 1, &ulen, why);
	if (r != 1)
		return r;
	r = userpass_field(buf, len, 2 + ulen, &plen, why);
	if (r != 1)
		return r;

	memcpy(u->user, buf + 2, ulen);
	u->user[ulen] = '\0';
	memcpy(u->pass, buf + 3 + ulen, plen);
	u->pass[plen] = '\0';
	return (int)(3 + ulen + plen);
}

/*
 * Bytes of DST.ADDR for the address type at buf[3] (the name's length
 * byte included), or 0 while that length byte has not arrived.
 */
static size_t request_addr_bytes(const uint8_t *buf, size_t len)
{
	switch (buf[3]) {
	case SOCKS5_ATYP_IPV4:
		return 4;
	case SOCKS5_ATYP_IPV6:
		return 16;
	default:
		return len > REQUEST_FIXED_BYTES ? 1 + (size_t)buf[4] : 0;
	}
}

/* Checks VER, RSV and ATYP as far as they have arrived. */
static int request_check_fixed(const uint8_t *buf, size_t len, uint8_t *rep,
			       const char **why)
{
	*rep = SOCKS5_REP_GENERAL_FAILURE;
	if (len >= 1 && buf[0] != SOCKS5_VERSION)
		return socks5_fail(why, "not SOCKS version 5");
	if (len >= 3 && buf[2] != 0)
		return socks5_fail(why, "reserved byte is not zero");
	if (len >= 4 && buf[3] != SOCKS5_ATYP_IPV4 &&
	    buf[3] != SOCKS5_ATYP_NAME && buf[3] != SOCKS5_ATYP_IPV6) {
		*rep = SOCKS5_REP_ATYP_UNSUPPORTED;
		return socks5_fail(why, "unknown address type");
	}
	if (len >= 5 && buf[3] == SOCKS5_ATYP_NAME && buf[4] == 0)
		return socks5_fail(why, "empty host name");
	return len > REQUEST_FIXED_BYTES ? 1 : SOCKS5_INCOMPLETE;
}

static void request_host(const uint8_t *buf, struct socks5_request *req)
{
	const uint8_t *addr = buf + REQUEST_FIXED_BYTES;

	if (req->atyp == SOCKS5_ATYP_NAME) {
		memcpy(req->host, addr + 1, addr[0]);
		req->host[addr[0]] = '\0';
	} else {
		int family = req->atyp == SOCKS5_ATYP_IPV4 ? AF_INET
							   : AF_INET6;

		/* cannot fail: the family is known and host holds any form */
		inet_ntop(family, addr, req->host, sizeof(req->host));
	}
}

int socks5_parse_request(const uint8_t *buf, size_t len,
			 struct socks5_request *req, uint8_t *rep,
			 const char **why)
{
	size_t addr_len, total;
	int r;

	r = request_check_fixed(buf, len, rep, why);
	if (r != 1)
		return r;
	addr_len = request_addr_bytes(buf, len);
	total = REQUEST_FIXED_BYTES + addr_len + PORT_BYTES;
	if (buf[3] == SOCKS5_ATYP_NAME && has_nul(buf + 5, len - 5, buf[4]))
		return socks5_fail(why, "NUL byte in host name");
	if (len < total)
		return SOCKS5_INCOMPLETE;

	req->cmd = buf[1];
	req->atyp = buf[3];
	request_host(buf, req);
	req->port = (uint16_t)(buf[total - 2] << 8 | buf[total - 1]);
	return (int)total;
}

size_t socks5_reply(uint8_t out[SOCKS5_REPLY_BYTES], enum socks5_reply rep)
{
	memset(out, 0, SOCKS5_REPLY_BYTES);
	out[0] = SOCKS5_VERSION;
	out[1] = (uint8_t)rep;
	out[3] = SOCKS5_ATYP_IPV4;
	return SOCKS5_REPLY_BYTES;
}
