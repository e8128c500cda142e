/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for src/gateway/socks5.c: each input is read as a
 * greeting, as a username/password message and as a request, and also as
 * a whole session (a greeting, the sub-negotiation when it offers it,
 * then a request). Beyond memory safety it checks that a parser takes no
 * more than it was given, that a message parses the same whatever
 * follows it, that every proper prefix of an accepted message is
 * incomplete and no prefix of a refused one is accepted, and that what
 * was parsed says what the bytes say: the offered methods, the user and
 * password, a host name of its declared length, an address that prints
 * back to its bytes, and the port.
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/util.h"
#include "gateway/socks5.h"
#include "fuzz.h"

/* The longest message: VER ULEN, a 255-byte user, PLEN, 255 bytes. */
#define MESSAGE_MAX_BYTES (3 + 255 + 255)

enum message {
	MSG_GREETING,
	MSG_USERPASS,
	MSG_REQUEST,
};

/* What the last parse of each message kind filled in. */
struct parsed {
	struct socks5_greeting greeting;
	struct socks5_userpass userpass;
	struct socks5_request request;
	uint8_t rep;
};

/*
 * Parses the first len bytes from a copy of exactly len bytes, so that a
 * read past them is caught. A refusal always says why.
 */
static int parse(enum message m, const uint8_t *buf, size_t len,
		 struct parsed *out)
{
	_cleanup_free_ uint8_t *copy = xmalloc(len ? len : 1);
	const char *why = NULL;
	int r = SOCKS5_ERR_MALFORMED;

	memcpy(copy, buf, len);
	switch (m) {
	case MSG_GREETING:
		r = socks5_parse_greeting(copy, len, &out->greeting, &why);
		break;
	case MSG_USERPASS:
		r = socks5_parse_userpass(copy, len, &out->userpass, &why);
		break;
	case MSG_REQUEST:
		out->rep = 0xee;
		r = socks5_parse_request(copy, len, &out->request, &out->rep,
					 &why);
		break;
	}
	CHECK(r >= SOCKS5_INCOMPLETE || r == SOCKS5_ERR_MALFORMED);
	CHECK(r != SOCKS5_ERR_MALFORMED || why != NULL);
	CHECK(r < 0 || (size_t)r <= len);
	return r;
}

static void check_greeting(const uint8_t *buf, int r,
			   const struct socks5_greeting *g)
{
	size_t n = buf[1];

	CHECK(buf[0] == SOCKS5_VERSION && n > 0 && (size_t)r == 2 + n);
	CHECK(g->offers_none ==
	      (memchr(buf + 2, SOCKS5_METHOD_NONE, n) != NULL));
	CHECK(g->offers_userpass ==
	      (memchr(buf + 2, SOCKS5_METHOD_USERPASS, n) != NULL));
}

/* Each field is its bytes, NUL-terminated, with no NUL inside. */
static void check_userpass(const uint8_t *buf, int r,
			   const struct socks5_userpass *u)
{
	size_t ulen = buf[1], plen = buf[2 + ulen];

	CHECK(buf[0] == 1 && ulen > 0 && (size_t)r == 3 + ulen + plen);
	CHECK(strnlen(u->user, sizeof(u->user)) == ulen);
	CHECK(memcmp(u->user, buf + 2, ulen) == 0);
	CHECK(strnlen(u->pass, sizeof(u->pass)) == plen);
	CHECK(memcmp(u->pass, buf + 3 + ulen, plen) == 0);
}

/* An address in text form is its bytes once read back. */
static void check_address(int family, const uint8_t *addr, const char *text)
{
	uint8_t back[16];

	CHECK(strnlen(text, 256) < 256);
	CHECK(inet_pton(family, text, back) == 1);
	CHECK(memcmp(back, addr, family == AF_INET ? 4 : 16) == 0);
	CHECK(!strchr(text, '[') && !strchr(text, ']'));
}

static void check_request(const uint8_t *buf, int r,
			  const struct socks5_request *q)
{
	size_t total = (size_t)r;

	CHECK(buf[0] == SOCKS5_VERSION && buf[2] == 0);
	CHECK(q->cmd == buf[1] && q->atyp == buf[3]);
	CHECK(q->port == (buf[total - 2] << 8 | buf[total - 1]));
	switch (q->atyp) {
	case SOCKS5_ATYP_IPV4:
		CHECK(total == 4 + 4 + 2);
		check_address(AF_INET, buf + 4, q->host);
		break;
	case SOCKS5_ATYP_IPV6:
		CHECK(total == 4 + 16 + 2);
		check_address(AF_INET6, buf + 4, q->host);
		break;
	case SOCKS5_ATYP_NAME:
		CHECK(buf[4] > 0 && total == 4 + 1 + (size_t)buf[4] + 2);
		CHECK(strnlen(q->host, sizeof(q->host)) == buf[4]);
		CHECK(memcmp(q->host, buf + 5, buf[4]) == 0);
		break;
	default:
		CHECK(!"an unknown address type was accepted");
	}
}

/* The reply a refused request asks for: the type's only when unknown. */
static void check_refusal(const uint8_t *buf, size_t len, uint8_t rep)
{
	bool known_type = len < 4 || buf[3] == SOCKS5_ATYP_IPV4 ||
			  buf[3] == SOCKS5_ATYP_NAME ||
			  buf[3] == SOCKS5_ATYP_IPV6;

	CHECK(rep == SOCKS5_REP_GENERAL_FAILURE ||
	      rep == SOCKS5_REP_ATYP_UNSUPPORTED);
	CHECK(rep != SOCKS5_REP_ATYP_UNSUPPORTED || !known_type);
}

static void check_parsed(enum message m, const uint8_t *buf, size_t len,
			 int r, const struct parsed *p)
{
	if (r == SOCKS5_ERR_MALFORMED && m == MSG_REQUEST)
		check_refusal(buf, len, p->rep);
	if (r <= 0)
		return;
	if (m == MSG_GREETING)
		check_greeting(buf, r, &p->greeting);
	else if (m == MSG_USERPASS)
		check_userpass(buf, r, &p->userpass);
	else
		check_request(buf, r, &p->request);
}

/*
 * Given the result r on len bytes: a proper prefix of an accepted
 * message is incomplete and a longer one gives the same count; no prefix
 * of a refused or incomplete message is accepted, and none of an
 * incomplete one is refused, since a refusal must come as soon as the
 * message can no longer become valid, and only then.
 */
static int check_prefix(enum message m, const uint8_t *buf, int r, size_t k)
{
	_cleanup_free_ struct parsed *p = xmalloc(sizeof(*p));
	int rk = parse(m, buf, k, p);

	if (r > 0 && k < (size_t)r)
		CHECK(rk == SOCKS5_INCOMPLETE);
	else if (r > 0)
		CHECK(rk == r);
	else if (r == SOCKS5_INCOMPLETE)
		CHECK(rk == SOCKS5_INCOMPLETE);
	else
		CHECK(rk <= 0);
	return rk;
}

/*
 * Messages are short: every prefix is tried, up to one past the message
 * when it is accepted, up to the first refused one otherwise.
 */
static int fuzz_message(enum message m, const uint8_t *buf, size_t len)
{
	_cleanup_free_ struct parsed *p = xmalloc(sizeof(*p));
	size_t last = len < MESSAGE_MAX_BYTES + 1 ? len : MESSAGE_MAX_BYTES + 1;
	int r = parse(m, buf, len, p);

	check_parsed(m, buf, len, r, p);
	if (r > 0 && (size_t)r < last)
		last = (size_t)r + 1;
	for (size_t k = 0; k <= last; k++)
		if (check_prefix(m, buf, r, k) == SOCKS5_ERR_MALFORMED)
			break;
	return r;
}

/* A client's session: greeting, then userpass if offered, then request. */
static void fuzz_session(const uint8_t *buf, size_t len)
{
	_cleanup_free_ struct parsed *p = xmalloc(sizeof(*p));
	size_t pos;
	int r;

	r = parse(MSG_GREETING, buf, len, p);
	if (r <= 0)
		return;
	pos = (size_t)r;
	if (p->greeting.offers_userpass) {
		r = fuzz_message(MSG_USERPASS, buf + pos, len - pos);
		if (r <= 0)
			return;
		pos += (size_t)r;
	}
	fuzz_message(MSG_REQUEST, buf + pos, len - pos);
}

static void check_replies(void)
{
	for (int rep = SOCKS5_REP_SUCCEEDED;
	     rep <= SOCKS5_REP_ATYP_UNSUPPORTED; rep++) {
		static const uint8_t zero[6] = { 0 };
		uint8_t out[SOCKS5_REPLY_BYTES];

		CHECK(socks5_reply(out, (enum socks5_reply)rep) ==
		      SOCKS5_REPLY_BYTES);
		CHECK(out[0] == SOCKS5_VERSION && out[1] == rep);
		CHECK(out[2] == 0 && out[3] == SOCKS5_ATYP_IPV4);
		CHECK(memcmp(out + 4, zero, sizeof(zero)) == 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_replies();
	fuzz_message(MSG_GREETING, data, size);
	fuzz_message(MSG_USERPASS, data, size);
	fuzz_message(MSG_REQUEST, data, size);
	fuzz_session(data, size);
	return 0;
}
