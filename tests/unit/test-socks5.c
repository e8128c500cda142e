/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the SOCKS5 parsers in src/gateway/socks5.c: greeting,
 * username/password and request, each at every truncation point, every
 * refusal with the reply code it asks for, and the reply bytes.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "common/util.h"
#include "gateway/socks5.h"

/* Every proper prefix of a valid message is INCOMPLETE. */
static void check_prefixes_greeting(const uint8_t *msg, size_t len)
{
	struct socks5_greeting g;

	for (size_t k = 0; k < len; k++)
		if (socks5_parse_greeting(msg, k, &g, NULL) !=
		    SOCKS5_INCOMPLETE)
			fail_msg("greeting prefix %zu not incomplete", k);
}

static void test_greeting(void **state)
{
	static const uint8_t none[] = { 5, 1, 0 };
	static const uint8_t both[] = { 5, 3, 0x80, 2, 0, 0xaa };
	static const uint8_t other[] = { 5, 2, 1, 0xff };
	struct socks5_greeting g;
	const char *why = NULL;

	assert_int_equal(socks5_parse_greeting(none, 3, &g, &why), 3);
	assert_true(g.offers_none);
	assert_false(g.offers_userpass);
	check_prefixes_greeting(none, sizeof(none));

	/* the byte after the methods is not the greeting's */
	assert_int_equal(socks5_parse_greeting(both, 6, &g, &why), 5);
	assert_true(g.offers_none);
	assert_true(g.offers_userpass);
	check_prefixes_greeting(both, 5);

	assert_int_equal(socks5_parse_greeting(other, 4, &g, &why), 4);
	assert_false(g.offers_none);
	assert_false(g.offers_userpass);
}

static void test_greeting_refused(void **state)
{
	static const uint8_t v4[] = { 4, 1, 0 };
	static const uint8_t zero[] = { 5, 0, 0 };
	struct socks5_greeting g;
	const char *why = NULL;

	assert_int_equal(socks5_parse_greeting(v4, 1, &g, &why),
			 SOCKS5_ERR_MALFORMED);
	assert_non_null(why);
	assert_int_equal(socks5_parse_greeting(v4, 3, &g, &why),
			 SOCKS5_ERR_MALFORMED);
	why = NULL;
	assert_int_equal(socks5_parse_greeting(zero, 2, &g, &why),
			 SOCKS5_ERR_MALFORMED);
	assert_non_null(why);
	assert_int_equal(socks5_parse_greeting(zero, 3, &g, NULL),
			 SOCKS5_ERR_MALFORMED);
}

static size_t userpass_build(uint8_t *out, const char *user, size_t ulen,
			     const char *pass, size_t plen)
{
	out[0] = 1;
	out[1] = (uint8_t)ulen;
	memcpy(out + 2, user, ulen);
	out[2 + ulen] = (uint8_t)plen;
	memcpy(out + 3 + ulen, pass, plen);
	return 3 + ulen + plen;
}

static void test_userpass(void **state)
{
	uint8_t msg[520];
	char long_user[255], long_pass[255];
	struct socks5_userpass u;
	size_t n;

	n = userpass_build(msg, "agent", 5, "s3cret", 6);
	assert_int_equal(socks5_parse_userpass(msg, n + 4, &u, NULL), n);
	assert_string_equal(u.user, "agent");
	assert_string_equal(u.pass, "s3cret");
	for (size_t k = 0; k < n; k++)
		if (socks5_parse_userpass(msg, k, &u, NULL) !=
		    SOCKS5_INCOMPLETE)
			fail_msg("userpass prefix %zu not incomplete", k);

	n = userpass_build(msg, "a", 1, "", 0);
	assert_int_equal(socks5_parse_userpass(msg, n, &u, NULL), 4);
	assert_string_equal(u.user, "a");
	assert_string_equal(u.pass, "");

	memset(long_user, 'u', sizeof(long_user));
	memset(long_pass, 'p', sizeof(long_pass));
	n = userpass_build(msg, long_user, 255, long_pass, 255);
	assert_int_equal(socks5_parse_userpass(msg, n, &u, NULL), 513);
	assert_int_equal(strlen(u.user), 255);
	assert_int_equal(strlen(u.pass), 255);
	assert_int_equal(socks5_parse_userpass(msg, n - 1, &u, NULL),
			 SOCKS5_INCOMPLETE);
}

static void test_userpass_refused(void **state)
{
	uint8_t msg[64];
	struct socks5_userpass u;
	const char *why;
	size_t n;

	n = userpass_build(msg, "agent", 5, "pw", 2);
	msg[0] = 5;
	why = NULL;
	assert_int_equal(socks5_parse_userpass(msg, 1, &u, &why),
			 SOCKS5_ERR_MALFORMED);
	assert_non_null(why);

	n = userpass_build(msg, "", 0, "pw", 2);
	assert_int_equal(socks5_parse_userpass(msg, 2, &u, NULL),
			 SOCKS5_ERR_MALFORMED);
	assert_int_equal(socks5_parse_userpass(msg, n, &u, NULL),
			 SOCKS5_ERR_MALFORMED);

	/* a NUL is refused as soon as it has arrived */
	n = userpass_build(msg, "ag\0nt", 5, "pw", 2);
	assert_int_equal(socks5_parse_userpass(msg, 4, &u, NULL),
			 SOCKS5_INCOMPLETE);
	assert_int_equal(socks5_parse_userpass(msg, 5, &u, NULL),
			 SOCKS5_ERR_MALFORMED);
	assert_int_equal(socks5_parse_userpass(msg, n, &u, NULL),
			 SOCKS5_ERR_MALFORMED);
	n = userpass_build(msg, "agent", 5, "p\0", 2);
	assert_int_equal(socks5_parse_userpass(msg, n - 1, &u, NULL),
			 SOCKS5_INCOMPLETE);
	assert_int_equal(socks5_parse_userpass(msg, n, &u, NULL),
			 SOCKS5_ERR_MALFORMED);
}

struct request_case {
	uint8_t msg[300];
	size_t len;
	uint8_t cmd, atyp;
	const char *host;
	uint16_t port;
};

static void check_request(const struct request_case *c)
{
	struct socks5_request req;
	uint8_t rep = 0xee;
	const char *why = NULL;
	int r;

	r = socks5_parse_request(c->msg, c->len, &req, &rep, &why);
	if (r != (int)c->len)
		fail_msg("request of %zu bytes: %d (%s)", c->len, r, why);
	assert_int_equal(req.cmd, c->cmd);
	assert_int_equal(req.atyp, c->atyp);
	assert_string_equal(req.host, c->host);
	assert_int_equal(req.port, c->port);
	for (size_t k = 0; k < c->len; k++)
		if (socks5_parse_request(c->msg, k, &req, &rep, NULL) !=
		    SOCKS5_INCOMPLETE)
			fail_msg("request prefix %zu not incomplete", k);
}

static void test_request(void **state)
{
	static const struct request_case cases[] = {
		{ { 5, 1, 0, 1, 93, 184, 215, 14, 0x01, 0xbb }, 10,
		  SOCKS5_CMD_CONNECT, SOCKS5_ATYP_IPV4, "93.184.215.14", 443 },
		{ { 5, 1, 0, 4, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0,
		    0, 0, 0, 0, 1, 0, 80 },
		  22, SOCKS5_CMD_CONNECT, SOCKS5_ATYP_IPV6, "2001:db8::1",
		  80 },
		{ { 5, 1, 0, 3, 11, 'E', 'x', 'a', 'm', 'p', 'l', 'e', '.',
		    'c', 'o', 'm', 0x1f, 0x90 },
		  18, SOCKS5_CMD_CONNECT, SOCKS5_ATYP_NAME, "Example.com",
		  8080 },
		{ { 5, 1, 0, 3, 1, 'a', 0, 0 }, 8, SOCKS5_CMD_CONNECT,
		  SOCKS5_ATYP_NAME, "a", 0 },
		{ { 5, 2, 0, 1, 10, 0, 0, 1, 0, 21 }, 10, SOCKS5_CMD_BIND,
		  SOCKS5_ATYP_IPV4, "10.0.0.1", 21 },
		{ { 5, 3, 0, 1, 0, 0, 0, 0, 0, 0 }, 10,
		  SOCKS5_CMD_UDP_ASSOCIATE, SOCKS5_ATYP_IPV4, "0.0.0.0", 0 },
		{ { 5, 9, 0, 1, 1, 2, 3, 4, 0xff, 0xff }, 10, 9,
		  SOCKS5_ATYP_IPV4, "1.2.3.4", 65535 },
	};
	struct request_case longest = {
		.msg = { 5, 1, 0, 3, 255 },
		.len = 262,
		.cmd = SOCKS5_CMD_CONNECT,
		.atyp = SOCKS5_ATYP_NAME,
	};
	char name[256];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		check_request(&cases[i]);

	memset(name, 'n', 255);
	name[255] = '\0';
	memcpy(longest.msg + 5, name, 255);
	longest.msg[260] = 1;
	longest.msg[261] = 2;
	longest.host = name;
	longest.port = 258;
	check_request(&longest);
}

struct refusal {
	uint8_t msg[16];
	size_t len;    /* the whole message */
	size_t at;     /* the least prefix that is already refused */
	uint8_t rep;
};

static void test_request_refused(void **state)
{
	static const struct refusal cases[] = {
		{ { 4, 1, 0, 1, 1, 2, 3, 4, 0, 80 }, 10, 1,
		  SOCKS5_REP_GENERAL_FAILURE },
		{ { 5, 1, 1, 1, 1, 2, 3, 4, 0, 80 }, 10, 3,
		  SOCKS5_REP_GENERAL_FAILURE },
		{ { 5, 1, 0, 2, 1, 2, 3, 4, 0, 80 }, 10, 4,
		  SOCKS5_REP_ATYP_UNSUPPORTED },
		{ { 5, 1, 0, 0, 1, 2, 3, 4, 0, 80 }, 10, 4,
		  SOCKS5_REP_ATYP_UNSUPPORTED },
		{ { 5, 1, 0, 3, 0, 0, 80 }, 7, 5,
		  SOCKS5_REP_GENERAL_FAILURE },
		{ { 5, 1, 0, 3, 3, 'a', 0, 'b', 0, 80 }, 10, 7,
		  SOCKS5_REP_GENERAL_FAILURE },
		{ { 5, 1, 0, 3, 1, 0, 0, 80 }, 8, 6,
		  SOCKS5_REP_GENERAL_FAILURE },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct refusal *c = &cases[i];

		for (size_t k = 0; k <= c->len; k++) {
			struct socks5_request req;
			uint8_t rep = 0xee;
			const char *why = NULL;
			int r = socks5_parse_request(c->msg, k, &req, &rep,
						     &why);
			int want = k < c->at ? SOCKS5_INCOMPLETE
					     : SOCKS5_ERR_MALFORMED;

			if (r != want)
				fail_msg("case %zu prefix %zu: %d", i, k, r);
			if (r == SOCKS5_ERR_MALFORMED &&
			    (rep != c->rep || !why))
				fail_msg("case %zu: reply %d", i, rep);
		}
	}
}

static void test_reply(void **state)
{
	uint8_t out[SOCKS5_REPLY_BYTES];

	for (int rep = SOCKS5_REP_SUCCEEDED; rep <= SOCKS5_REP_ATYP_UNSUPPORTED;
	     rep++) {
		const uint8_t want[SOCKS5_REPLY_BYTES] = {
			5, (uint8_t)rep, 0, 1, 0, 0, 0, 0, 0, 0
		};

		memset(out, 0xee, sizeof(out));
		assert_int_equal(socks5_reply(out, (enum socks5_reply)rep),
				 SOCKS5_REPLY_BYTES);
		assert_memory_equal(out, want, SOCKS5_REPLY_BYTES);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_greeting),
		cmocka_unit_test(test_greeting_refused),
		cmocka_unit_test(test_userpass),
		cmocka_unit_test(test_userpass_refused),
		cmocka_unit_test(test_request),
		cmocka_unit_test(test_request_refused),
		cmocka_unit_test(test_reply),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
