/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of src/gateway/host.c: the canonical form of every spelling
 * a hostile client may use for a host, the refusals (each with the reason
 * it must give), pattern matching by name, address and port, the class of
 * each special address block and its edges, and address ranges.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "common/util.h"
#include "gateway/host.h"

/* A literal and its length, NUL bytes inside included. */
#define S(x) x, sizeof(x) - 1

#define L10 "abcdefghij"
#define L60 L10 L10 L10 L10 L10 L10
#define L61 L60 "k"
#define L63 L60 "klm"
#define L64 L60 "klmn"
/* 63 + 1 + 63 + 1 + 63 + 1 + 61 = 253 bytes */
#define NAME253 L63 "." L63 "." L63 "." L61

struct canon_case {
	const char *in;
	size_t len;
	enum host_kind kind;
	const char *want; /* canonical text, or a part of the reason */
	bool ok;
};

#define OK(in, kind, want) { S(in), kind, want, true }
#define NO(in, why) { S(in), HOST_NAME, why, false }

static const struct canon_case canon_cases[] = {
	/* names */
	OK("example.com", HOST_NAME, "example.com"),
	OK("Example.COM.", HOST_NAME, "example.com"),
	OK("localhost.", HOST_NAME, "localhost"),
	OK("LOCALHOST.", HOST_NAME, "localhost"),
	OK("a", HOST_NAME, "a"),
	OK("_dmarc.Example.com", HOST_NAME, "_dmarc.example.com"),
	OK("xn--bcher-kva.example", HOST_NAME, "xn--bcher-kva.example"),
	OK("a-b.c-d", HOST_NAME, "a-b.c-d"),
	OK("123abc", HOST_NAME, "123abc"),
	OK("123.example.com", HOST_NAME, "123.example.com"),
	OK("0x7f.example", HOST_NAME, "0x7f.example"),
	OK("1e5", HOST_NAME, "1e5"),
	OK("0xg", HOST_NAME, "0xg"),
	OK("1.2.3.0xg", HOST_NAME, "1.2.3.0xg"),
	OK("127.0.0.1.nip.io", HOST_NAME, "127.0.0.1.nip.io"),
	OK(L63 ".com", HOST_NAME, L63 ".com"),
	OK(NAME253, HOST_NAME, NAME253),
	OK(NAME253 ".", HOST_NAME, NAME253),

	/* every inet_aton spelling of loopback and metadata */
	OK("127.0.0.1", HOST_IPV4, "127.0.0.1"),
	OK("127.0.0.1.", HOST_IPV4, "127.0.0.1"),
	OK("2130706433", HOST_IPV4, "127.0.0.1"),
	OK("0177.0.0.1", HOST_IPV4, "127.0.0.1"),
	OK("0x7f000001", HOST_IPV4, "127.0.0.1"),
	OK("0X7F000001", HOST_IPV4, "127.0.0.1"),
	OK("0x7f.1", HOST_IPV4, "127.0.0.1"),
	OK("127.1", HOST_IPV4, "127.0.0.1"),
	OK("127.0.1", HOST_IPV4, "127.0.0.1"),
	OK("0127.0.0.1", HOST_IPV4, "87.0.0.1"),
	OK("000000000000000177.0.0.1", HOST_IPV4, "127.0.0.1"),
	OK("0x000000000000007f.0.0.1", HOST_IPV4, "127.0.0.1"),
	OK("0x7f.0.0.0x1", HOST_IPV4, "127.0.0.1"),
	OK("169.254.169.254", HOST_IPV4, "169.254.169.254"),
	OK("2852039166", HOST_IPV4, "169.254.169.254"),
	OK("0xa9fea9fe", HOST_IPV4, "169.254.169.254"),
	OK("0xA9FEa9Fe", HOST_IPV4, "169.254.169.254"),
	OK("0251.0376.0251.0376", HOST_IPV4, "169.254.169.254"),
	OK("0xa9.0xfe.0xa9.0xfe", HOST_IPV4, "169.254.169.254"),
	OK("169.16689662", HOST_IPV4, "169.254.169.254"),
	OK("169.254.43518", HOST_IPV4, "169.254.169.254"),
	OK("0", HOST_IPV4, "0.0.0.0"),
	OK("00", HOST_IPV4, "0.0.0.0"),
	OK("0x0", HOST_IPV4, "0.0.0.0"),
	OK("4294967295", HOST_IPV4, "255.255.255.255"),
	OK("0xffffffff", HOST_IPV4, "255.255.255.255"),
	OK("037777777777", HOST_IPV4, "255.255.255.255"),
	OK("1.16777215", HOST_IPV4, "1.255.255.255"),
	OK("1.2.65535", HOST_IPV4, "1.2.255.255"),
	OK("1.2.3.4", HOST_IPV4, "1.2.3.4"),

	/* IPv6, mapped addresses becoming IPv4 */
	OK("::1", HOST_IPV6, "::1"),
	OK("[::1]", HOST_IPV6, "::1"),
	OK("[::]", HOST_IPV6, "::"),
	OK("[0:0:0:0:0:0:0:1]", HOST_IPV6, "::1"),
	OK("[::ffff:127.0.0.1]", HOST_IPV4, "127.0.0.1"),
	OK("[::ffff:7f00:1]", HOST_IPV4, "127.0.0.1"),
	OK("[::FFFF:A9FE:A9FE]", HOST_IPV4, "169.254.169.254"),
	OK("[0:0:0:0:0:ffff:1.2.3.4]", HOST_IPV4, "1.2.3.4"),
	OK("0000:0000:0000:0000:0000:ffff:255.255.255.255", HOST_IPV4,
	   "255.255.255.255"),
	OK("[::127.0.0.1]", HOST_IPV6, "::127.0.0.1"),
	OK("[64:ff9b::7f00:1]", HOST_IPV6, "64:ff9b::7f00:1"),
	OK("[64:FF9B::127.0.0.1]", HOST_IPV6, "64:ff9b::7f00:1"),
	OK("[2002:7f00:1::]", HOST_IPV6, "2002:7f00:1::"),
	OK("[2001:DB8:0:0:0:0:0:1]", HOST_IPV6, "2001:db8::1"),
	OK("[2001:db8:0:0:1:0:0:1]", HOST_IPV6, "2001:db8::1:0:0:1"),
	OK("[2001:db8:0:1:1:1:1:1]", HOST_IPV6, "2001:db8:0:1:1:1:1:1"),
	OK("[fe80::1]", HOST_IPV6, "fe80::1"),

	/* refusals */
	NO("", "names no host"),
	NO(".", "names no host"),
	NO("..", "empty label"),
	NO("a..b", "empty label"),
	NO(".a", "empty label"),
	NO("a.b..", "empty label"),
	NO("1.2.3.4..", "empty label"),
	NO("-a.com", "'-'"),
	NO("a-.com", "'-'"),
	NO("a.com-", "'-'"),
	NO(L64 ".com", "63 bytes"),
	NO("a." L64, "63 bytes"),
	NO(NAME253 "a", "253 bytes"),
	NO(NAME253 "a.", "253 bytes"),
	NO(NAME253 ".\x80", "253 bytes"),
	NO("a\0b", "NUL"),
	NO("127.0.0.1\0.evil.com", "NUL"),
	NO("a\x01", "control"),
	NO("a\x7f", "control"),
	NO("127.0.0.1\n", "control"),
	NO("ex\xc3\xa4mple.com", "ASCII"),
	NO("\xd0\xb5xample.com", "ASCII"),
	NO("exa mple.com", "space"),
	NO("127.0.0.1 ", "space"),
	NO("*.example.com", "'*'"),
	NO("%2e", "'%'"),
	NO("example%2ecom", "'%'"),
	NO("user@example.com", "'@'"),
	NO("example.com/path", "'/'"),
	NO("ex!ample", "only letters"),
	NO("a,b", "only letters"),
	NO("a\\b", "only letters"),

	/* numbers that are not IPv4 addresses */
	NO("example.123", "not a number"),
	NO("a.0x7f", "not a number"),
	NO("0x", "no digits"),
	NO("0X", "no digits"),
	NO("1.0x", "no digits"),
	NO("0x.1", "no digits"),
	NO("08", "not a number"),
	NO("0.0.0.09", "not a number"),
	NO("0x1.0x2g.3", "not a number"),
	NO("4294967296", "32 bits"),
	NO("0x100000000", "32 bits"),
	NO("040000000000", "32 bits"),
	NO("99999999999999999999999999", "32 bits"),
	NO("1.2.3.4.5", "four parts"),
	NO("1.2.3.4.5.", "four parts"),
	NO("1..2.3", "empty part"),
	NO(".1.2.3", "empty part"),
	NO("256.1.1.1", "above 255"),
	NO("1.256.1.1", "above 255"),
	NO("1.2.256.1", "above 255"),
	NO("1.2.3.256", "too large"),
	NO("1.2.65536", "too large"),
	NO("1.16777216", "too large"),
	NO("0x7F00.1", "above 255"),

	/* IPv6 refusals */
	NO("[fe80::1%eth0]", "zone"),
	NO("fe80::1%25eth0", "zone"),
	NO("[::1", "end with ']'"),
	NO("[::1]:80", "end with ']'"),
	NO("::1]", "whole IPv6"),
	NO("[[::1]]", "whole IPv6"),
	NO("[::1]]", "whole IPv6"),
	NO("[]", "only enclose an IPv6"),
	NO("[127.0.0.1]", "only enclose an IPv6"),
	NO("[example.com]", "only enclose an IPv6"),
	NO("example.com:80", "':' stands only"),
	NO("[::g]", "':' stands only"),
	NO("1:2:3:4:5:6:7:8:9", "not a valid IPv6"),
	NO(":::", "not a valid IPv6"),
	NO("[::ffff:127.0.0.01]", "not a valid IPv6"),
	NO("::1.2.3.4.5", "not a valid IPv6"),
	NO("0000:0000:0000:0000:0000:ffff:255.255.255.2555",
	   "too long for an IPv6"),
};

/* Fails unless r and why say that case i was refused for the reason want. */
static void check_refused(size_t i, const char *in, size_t len, int r,
			  const char *why, const char *want)
{
	if (r != -EINVAL || !why || !strstr(why, want))
		fail_msg("case %zu (%.*s): want a refusal saying \"%s\", got "
			 "%d \"%s\"", i, (int)len, in, want, r,
			 why ? why : "(none)");
}

static void check_binary(const struct host *h, size_t i)
{
	uint8_t want[16];

	if (h->kind == HOST_IPV4) {
		assert_int_equal(inet_pton(AF_INET, h->text, want), 1);
		if (memcmp(want, &h->v4, 4) != 0)
			fail_msg("case %zu: v4 does not match %s", i, h->text);
	} else if (h->kind == HOST_IPV6) {
		assert_int_equal(inet_pton(AF_INET6, h->text, want), 1);
		if (memcmp(want, &h->v6, 16) != 0)
			fail_msg("case %zu: v6 does not match %s", i, h->text);
	}
}

static void test_canon(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(canon_cases); i++) {
		const struct canon_case *c = &canon_cases[i];
		const char *why = NULL;
		struct host h, again;
		int r = host_canon(c->in, c->len, &h, &why);

		if (!c->ok) {
			check_refused(i, c->in, c->len, r, why, c->want);
			continue;
		}
		if (r != 0 || h.kind != c->kind || !streq(h.text, c->want))
			fail_msg("case %zu (%.*s): want %d %s, got %d %d %s "
				 "(%s)", i, (int)c->len, c->in, c->kind,
				 c->want, r, h.kind, h.text,
				 why ? why : "");
		check_binary(&h, i);

		/* the canonical form is a fixed point */
		assert_int_equal(host_canon(h.text, strlen(h.text), &again,
					    &why), 0);
		assert_memory_equal(&h, &again, sizeof(h));
	}
}

/* Reads only the bytes it is told to: the byte after len is not looked at. */
static void test_canon_length(void **state)
{
	struct host h;
	const char *why;

	assert_int_equal(host_canon("example.com.evil", 11, &h, &why), 0);
	assert_string_equal(h.text, "example.com");
	assert_int_equal(host_canon("127.0.0.1:80", 9, &h, &why), 0);
	assert_string_equal(h.text, "127.0.0.1");
	assert_int_equal(host_canon("[::1]x", 5, &h, &why), 0);
	assert_string_equal(h.text, "::1");
	assert_int_equal(host_canon("0x7fX", 4, &h, &why), 0);
	assert_string_equal(h.text, "0.0.0.127");
}

struct pattern_case {
	const char *in;
	bool deny;
	enum host_pattern_kind kind;
	const char *want; /* host text, or a part of the reason */
	uint16_t port;
	bool ok;
};

#define P_OK(in, deny, kind, want, port) { in, deny, kind, want, port, true }
#define P_NO(in, deny, why) { in, deny, HOST_PATTERN_EXACT, why, 0, false }
#define EXACT HOST_PATTERN_EXACT
#define SUB HOST_PATTERN_SUBDOMAINS

static const struct pattern_case pattern_cases[] = {
	P_OK("example.com", false, EXACT, "example.com", 0),
	P_OK("Example.COM.:443", false, EXACT, "example.com", 443),
	P_OK("example.com:00443", false, EXACT, "example.com", 443),
	P_OK("example.com:65535", true, EXACT, "example.com", 65535),
	P_OK("*.example.com", false, SUB, "example.com", 0),
	P_OK("*.Example.com.:8080", true, SUB, "example.com", 8080),
	P_OK("*.co.uk", false, SUB, "co.uk", 0),
	P_OK("127.1", false, EXACT, "127.0.0.1", 0),
	P_OK("0x7f000001:8080", false, EXACT, "127.0.0.1", 8080),
	P_OK("[::1]", false, EXACT, "::1", 0),
	P_OK("[::1]:443", true, EXACT, "::1", 443),
	P_OK("[::ffff:127.0.0.1]:80", false, EXACT, "127.0.0.1", 80),
	P_OK("*", true, HOST_PATTERN_ANY, "", 0),
	/* srt's "every host on this port", deny lists only */
	P_OK("*:25", true, HOST_PATTERN_ANY, "", 25),

	P_NO("*", false, "every host"),
	P_NO("", false, "names no host"),
	P_NO("", true, "names no host"),
	P_NO("*.", false, "names no host"),
	P_NO("*.com", true, "two labels"),
	P_NO("*.com.", false, "two labels"),
	P_NO("*.*.example.com", false, "only start"),
	P_NO("a.*.com", false, "only start"),
	P_NO("*example.com", false, "only start"),
	P_NO("**", true, "only start"),
	P_NO("*:80", false, "every host"),
	P_NO("*:0", true, "port"),
	P_NO("*:x", true, "port"),
	P_NO("*:", true, "port"),
	P_NO("*.127.0.0.1", false, "not an address"),
	P_NO("*.[::1]", false, "in brackets"),
	P_NO("example.com:", false, "port"),
	P_NO("example.com:0", false, "port"),
	P_NO("example.com:65536", false, "port"),
	P_NO("example.com:123456", false, "port"),
	P_NO("example.com:+80", false, "port"),
	P_NO("example.com:80a", false, "port"),
	P_NO("example.com:000080", false, "port"),
	P_NO("example.com:4294967376", false, "port"),
	P_NO("example.com: 80", false, "port"),
	P_NO("::1", false, "in brackets"),
	P_NO("example.com:80:80", false, "in brackets"),
	P_NO("[::1", false, "closing ']'"),
	P_NO("[::1]80", false, "\":port\""),
	P_NO("[::1]:", false, "port"),
	P_NO("[127.0.0.1]", false, "only enclose an IPv6"),
	P_NO("[example.com]:80", false, "only enclose an IPv6"),
	P_NO("example.com/path", false, "'/'"),
	P_NO("exa mple.com", true, "space"),
	P_NO("example..com", false, "empty label"),
	P_NO("1.2.3.999", false, "too large"),
	P_NO("[fe80::1%eth0]:80", false, "zone"),
};

static void test_pattern_parse(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(pattern_cases); i++) {
		const struct pattern_case *c = &pattern_cases[i];
		const char *why = NULL;
		struct host_pattern p;
		int r = host_pattern_parse(c->in, c->deny, &p, &why);

		if (!c->ok) {
			check_refused(i, c->in, strlen(c->in), r, why,
				      c->want);
			continue;
		}
		if (r != 0 || p.kind != c->kind ||
		    !streq(p.host.text, c->want) || p.port != c->port)
			fail_msg("case %zu (%s): want %d %s %u, got %d %d %s "
				 "%u (%s)", i, c->in, c->kind, c->want,
				 c->port, r, p.kind, p.host.text, p.port,
				 why ? why : "");
	}
}

struct match_case {
	const char *pattern;
	bool deny;
	const char *host;
	uint16_t port;
	bool want;
};

static const struct match_case match_cases[] = {
	/* ports: 80 and 443 only in allow lists, all in deny lists */
	{ "example.com", false, "example.com", 80, true },
	{ "example.com", false, "example.com", 443, true },
	{ "example.com", false, "example.com", 8080, false },
	{ "example.com", false, "example.com", 22, false },
	{ "example.com", false, "example.com", 0, false },
	{ "example.com", true, "example.com", 8080, true },
	{ "example.com", true, "example.com", 22, true },
	{ "example.com:8080", false, "example.com", 8080, true },
	{ "example.com:8080", false, "example.com", 80, false },
	{ "example.com:8080", false, "example.com", 443, false },
	{ "example.com:8080", true, "example.com", 80, false },
	{ "example.com:8080", true, "example.com", 8080, true },

	/* names */
	{ "example.com", false, "EXAMPLE.COM.", 443, true },
	{ "Example.Com.", false, "example.com", 443, true },
	{ "example.com", false, "www.example.com", 443, false },
	{ "example.com", false, "evilexample.com", 443, false },
	{ "example.com", false, "example.com.evil.com", 443, false },
	{ "example.com", false, "example.co", 443, false },
	{ "example.com", false, "xample.com", 443, false },
	{ "*.example.com", false, "www.example.com", 443, true },
	{ "*.example.com", false, "a.b.example.com", 80, true },
	{ "*.example.com", false, "WWW.Example.COM.", 80, true },
	{ "*.example.com", false, "example.com", 443, false },
	{ "*.example.com", true, "example.com", 443, false },
	{ "*.example.com", false, "evilexample.com", 443, false },
	{ "*.example.com", false, "wwwexample.com", 443, false },
	{ "*.example.com", false, "example.com.evil.com", 443, false },
	{ "*.example.com", false, "www.example.com.evil.com", 443, false },
	{ "*.example.com", false, "www.example.org", 443, false },
	{ "*.example.com", false, "www.example.com", 22, false },
	{ "*.example.com", true, "www.example.com", 22, true },
	{ "*.example.com:22", false, "www.example.com", 22, true },
	{ "*.co.uk", false, "a.co.uk", 443, true },
	{ "*.co.uk", false, "co.uk", 443, false },

	/* addresses match by value, never by a name that looks alike */
	{ "127.0.0.1", false, "2130706433", 80, true },
	{ "127.0.0.1", false, "0x7f.1", 80, true },
	{ "127.0.0.1", false, "[::ffff:127.0.0.1]", 80, true },
	{ "127.0.0.1", false, "127.0.0.2", 80, false },
	{ "127.0.0.1", false, "[::127.0.0.1]", 80, false },
	{ "127.0.0.1", false, "127.0.0.1.nip.io", 80, false },
	{ "127.0.0.1", false, "127.0.0.1", 8080, false },
	{ "[::1]", false, "::1", 443, true },
	{ "[::1]", false, "[0:0:0:0:0:0:0:1]", 443, true },
	{ "[::1]", false, "127.0.0.1", 443, false },
	{ "[::ffff:10.0.0.1]", false, "10.0.0.1", 443, true },
	{ "[2001:db8::1]:8443", false, "[2001:DB8::0:1]", 8443, true },
	{ "0.0.0.0", false, "example.com", 80, false },
	{ "[::]", false, "example.com", 80, false },
	{ "[::]", false, "0.0.0.0", 80, false },
	{ "example.com", false, "[::]", 80, false },

	/* everything, in deny lists only */
	{ "*", true, "example.com", 1, true },
	{ "*", true, "127.0.0.1", 65535, true },
	{ "*", true, "::1", 22, true },
};

static void test_pattern_match(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(match_cases); i++) {
		const struct match_case *c = &match_cases[i];
		struct host_pattern p;
		const char *why;
		struct host h;

		assert_int_equal(host_pattern_parse(c->pattern, c->deny, &p,
						    &why), 0);
		assert_int_equal(host_canon(c->host, strlen(c->host), &h,
					    &why), 0);
		if (host_pattern_match(&p, &h, c->port, c->deny) != c->want)
			fail_msg("case %zu: %s %s on %s:%u, want %s", i,
				 c->deny ? "deny" : "allow", c->pattern,
				 c->host, c->port, c->want ? "match" : "none");
	}
}

/*
 * Hosts that host_canon never makes: a subdomain match must still look
 * at the kind and never read before the text.
 */
static void test_pattern_match_forged(void **state)
{
	struct host_pattern p;
	struct host h = { .kind = HOST_IPV4, .text = "www.example.com" };
	const char *why;

	assert_int_equal(host_pattern_parse("*.example.com", false, &p, &why),
			 0);
	assert_false(host_pattern_match(&p, &h, 443, false));
	h.kind = HOST_NAME;
	assert_true(host_pattern_match(&p, &h, 443, false));
	strcpy(h.text, ".example.com");
	assert_false(host_pattern_match(&p, &h, 443, false));
}

/* A "*" handed to an allow-list match (parse never makes one) fails closed. */
static void test_pattern_any_allow(void **state)
{
	struct host_pattern p;
	const char *why;
	struct host h;

	assert_int_equal(host_pattern_parse("*", true, &p, &why), 0);
	assert_int_equal(host_canon(S("example.com"), &h, &why), 0);
	assert_false(host_pattern_match(&p, &h, 443, false));
	assert_true(host_pattern_match(&p, &h, 443, true));
}

struct class_case {
	int family;
	const char *addr;
	enum host_addr_class want;
};

#define C4(a, c) { AF_INET, a, HOST_ADDR_##c }
#define C6(a, c) { AF_INET6, a, HOST_ADDR_##c }

static const struct class_case class_cases[] = {
	/* each IPv4 block, its edges and its neighbours */
	C4("0.0.0.0", UNSPECIFIED),
	C4("0.255.255.255", UNSPECIFIED),
	C4("1.0.0.0", PUBLIC),
	C4("1.1.1.1", PUBLIC),
	C4("8.8.8.8", PUBLIC),
	C4("9.255.255.255", PUBLIC),
	C4("10.0.0.0", PRIVATE),
	C4("10.255.255.255", PRIVATE),
	C4("11.0.0.0", PUBLIC),
	C4("100.63.255.255", PUBLIC),
	C4("100.64.0.0", CGNAT),
	C4("100.127.255.255", CGNAT),
	C4("100.128.0.0", PUBLIC),
	C4("126.255.255.255", PUBLIC),
	C4("127.0.0.1", LOOPBACK),
	C4("127.255.255.255", LOOPBACK),
	C4("128.0.0.0", PUBLIC),
	C4("169.253.255.255", PUBLIC),
	C4("169.254.0.1", LINK_LOCAL),
	C4("169.254.169.255", LINK_LOCAL),
	C4("169.254.255.255", LINK_LOCAL),
	C4("169.255.0.0", PUBLIC),
	C4("172.15.255.255", PUBLIC),
	C4("172.16.0.0", PRIVATE),
	C4("172.31.255.255", PRIVATE),
	C4("172.32.0.0", PUBLIC),
	C4("192.0.0.0", RESERVED),
	C4("192.0.0.255", RESERVED),
	C4("192.0.1.0", PUBLIC),
	C4("192.0.2.1", RESERVED),
	C4("192.0.3.0", PUBLIC),
	C4("192.88.99.1", RESERVED),
	C4("192.167.255.255", PUBLIC),
	C4("192.168.0.1", PRIVATE),
	C4("192.168.255.255", PRIVATE),
	C4("192.169.0.0", PUBLIC),
	C4("198.17.255.255", PUBLIC),
	C4("198.18.0.0", RESERVED),
	C4("198.19.255.255", RESERVED),
	C4("198.20.0.0", PUBLIC),
	C4("198.51.100.1", RESERVED),
	C4("203.0.113.1", RESERVED),
	C4("223.255.255.255", PUBLIC),
	C4("224.0.0.1", MULTICAST),
	C4("239.255.255.255", MULTICAST),
	C4("240.0.0.0", RESERVED),
	C4("255.255.255.254", RESERVED),
	C4("255.255.255.255", BROADCAST),

	/* metadata, and its neighbours */
	C4("169.254.169.254", METADATA),
	C4("169.254.169.253", METADATA),
	C4("169.254.169.123", METADATA),
	C4("169.254.170.2", METADATA),
	C4("169.254.170.23", METADATA),
	C4("100.100.100.200", METADATA),
	C4("100.100.100.201", CGNAT),
	C4("168.63.129.16", METADATA),
	C4("168.63.129.17", PUBLIC),
	C4("192.0.0.192", METADATA),
	C6("fd00:ec2::254", METADATA),
	C6("fd00:ec2::23", METADATA),
	C6("fd00:ec2::253", PRIVATE),
	C6("fd20:ce::254", METADATA),

	/* IPv6 blocks */
	C6("::", UNSPECIFIED),
	C6("::1", LOOPBACK),
	C6("::2", RESERVED),
	C6("::1:0:0:0", PUBLIC),
	C6("2606:4700::1111", PUBLIC),
	C6("2a00:1450::1", PUBLIC),
	C6("100::1", RESERVED),
	C6("100::ffff:ffff:ffff:ffff", RESERVED),
	C6("100:0:0:1::", PUBLIC),
	C6("2001:2::1", RESERVED),
	C6("2001:10::1", RESERVED),
	C6("2001:20::1", RESERVED),
	C6("2001:db8::1", RESERVED),
	C6("2001:db8:ffff::1", RESERVED),
	C6("2001:db7:ffff::", PUBLIC),
	C6("2001:db9::", PUBLIC),
	C6("3fff::1", RESERVED),
	C6("3fff:fff::1", RESERVED),
	C6("3fff:1000::", PUBLIC),
	C6("5f00::1", RESERVED),
	C6("fbff:ffff::", PUBLIC),
	C6("fc00::1", PRIVATE),
	C6("fd12:3456::1", PRIVATE),
	C6("fdff:ffff::", PRIVATE),
	C6("fe00::", PUBLIC),
	C6("fe80::1", LINK_LOCAL),
	C6("febf:ffff::", LINK_LOCAL),
	C6("fec0::1", RESERVED),
	C6("feff::1", RESERVED),
	C6("ff02::1", MULTICAST),
	C6("ffff::", MULTICAST),

	/* IPv4 embedded in IPv6 */
	C6("::ffff:8.8.8.8", PUBLIC),
	C6("::ffff:127.0.0.1", LOOPBACK),
	C6("::ffff:10.0.0.1", PRIVATE),
	C6("::ffff:169.254.169.254", METADATA),
	C6("::ffff:0:8.8.8.8", PUBLIC),
	C6("::ffff:0:127.0.0.1", LOOPBACK),
	C6("::ffff:0:169.254.169.254", METADATA),
	C6("::8.8.8.8", RESERVED),
	C6("::127.0.0.1", RESERVED),
	C6("::169.254.169.254", METADATA),
	C6("64:ff9b::808:808", PUBLIC),
	C6("64:ff9b::7f00:1", LOOPBACK),
	C6("64:ff9b::a00:1", PRIVATE),
	C6("64:ff9b::a9fe:a9fe", METADATA),
	C6("64:ff9b::1:0:0:0", PUBLIC),
	C6("64:ff9b:1::808:808", PRIVATE),
	C6("64:ff9b:1:ffff:ffff:ffff:ffff:ffff", PRIVATE),
	C6("64:ff9b:1::a9fe:a9fe", METADATA),
	C6("64:ff9b:1:a9fe:a9:fe00::", PRIVATE),
	C6("64:ff9b:2::", PUBLIC),
	C6("2002:808:808::1", PUBLIC),
	C6("2002:7f00:1::", LOOPBACK),
	C6("2002:c0a8:101::1", PRIVATE),
	C6("2002:a9fe:a9fe::1", METADATA),
	C6("2002:6440:1::", CGNAT),
	/* Teredo: server in bits 32..63, client inverted in the last 32 */
	C6("2001:0:808:808::f7f7:f7f7", PUBLIC),
	C6("2001:0:808:808::80ff:fffe", LOOPBACK),
	C6("2001:0:808:808::5601:5601", METADATA),
	C6("2001:0:a9fe:a9fe::f7f7:f7f7", METADATA),
	C6("2001:0:a00:1::f7f7:f7f7", PRIVATE),
	C6("2001:1:808:808::80ff:fffe", PUBLIC),
};

static void test_classify(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(class_cases); i++) {
		const struct class_case *c = &class_cases[i];
		uint8_t addr[16];
		enum host_addr_class got;

		assert_int_equal(inet_pton(c->family, c->addr, addr), 1);
		got = host_addr_classify(c->family, addr);
		if (got != c->want)
			fail_msg("case %zu (%s): want %s, got %s", i, c->addr,
				 host_addr_class_name(c->want),
				 host_addr_class_name(got));
	}
	assert_int_equal(host_addr_classify(AF_UNIX, "abcdefghijklmnop"),
			 HOST_ADDR_RESERVED);
}

/*
 * Whatever a client writes for loopback or metadata, it either is refused
 * or comes out as an address that is not public.
 */
static void test_spellings_never_public(void **state)
{
	static const char *const spellings[] = {
		"127.0.0.1", "127.1", "127.0.1", "2130706433", "0177.0.0.1",
		"0x7f000001", "0x7f.1", "0X7F.0.0.1", "127.0.0.1.",
		"0177.1", "00177.0.0.01", "127.255.255.254", "0",
		"0.0.0.0", "[::ffff:127.0.0.1]", "[::ffff:7f00:1]",
		"[::127.0.0.1]", "[64:ff9b::7f00:1]", "[64:ff9b:1::7f00:1]",
		"[2002:7f00:1::]", "[2001:0:808:808::80ff:fffe]", "[::1]",
		"::1", "[0::1]", "[::]", "[fe80::1]", "169.254.169.254",
		"2852039166", "0xa9fea9fe", "0251.0376.0251.0376",
		"169.16689662", "169.254.43518", "[::ffff:a9fe:a9fe]",
		"[::169.254.169.254]", "[64:ff9b::a9fe:a9fe]",
		"[2002:a9fe:a9fe::]", "[2001:0:a9fe:a9fe::]",
		"[fd00:ec2::254]", "[fd20:ce::254]", "100.100.100.200",
		"1684301000", "0xa83f8110", "[::ffff:168.63.129.16]",
		"10.1", "0x0a000001", "192.168.1", "0xc0a80101",
		"172.16.1", "100.64.1", "255.255.255.255", "4294967295",
		"224.1", "[ff02::1]", "[fc00::1]", "[fec0::1]",
	};

	for (size_t i = 0; i < ARRAY_SIZE(spellings); i++) {
		const char *s = spellings[i];
		enum host_addr_class c;
		const char *why;
		struct host h;

		if (host_canon(s, strlen(s), &h, &why) < 0)
			continue;
		if (h.kind == HOST_NAME)
			fail_msg("%s: canonical as the name %s", s, h.text);
		c = h.kind == HOST_IPV4 ? host_addr_classify(AF_INET, &h.v4)
					: host_addr_classify(AF_INET6, &h.v6);
		if (c == HOST_ADDR_PUBLIC)
			fail_msg("%s (%s): classified public", s, h.text);
	}
}

static void test_class_names(void **state)
{
	static const char *const names[] = {
		"public", "unspecified", "loopback", "private", "link-local",
		"cgnat", "multicast", "broadcast", "metadata", "reserved",
	};

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		assert_string_equal(
			host_addr_class_name((enum host_addr_class)i),
			names[i]);
	assert_string_equal(host_addr_class_name((enum host_addr_class)99),
			    "unknown");
	assert_string_equal(host_addr_class_name((enum host_addr_class)-1),
			    "unknown");
}

struct range_case {
	const char *in;
	int family;
	const char *want; /* the address, or a part of the reason */
	unsigned int prefix;
};

#define R_NO(in, why) { in, 0, why, 0 }

static const struct range_case range_cases[] = {
	{ "127.0.0.1", AF_INET, "127.0.0.1", 32 },
	{ "10.0.0.0/8", AF_INET, "10.0.0.0", 8 },
	{ "192.168.1.0/24", AF_INET, "192.168.1.0", 24 },
	{ "0.0.0.0/0", AF_INET, "0.0.0.0", 0 },
	{ "10.1/32", AF_INET, "10.0.0.1", 32 },
	{ "::1", AF_INET6, "::1", 128 },
	{ "[::1]", AF_INET6, "::1", 128 },
	{ "fd00::/8", AF_INET6, "fd00::", 8 },
	{ "[fd00::]/8", AF_INET6, "fd00::", 8 },
	{ "fe80::/10", AF_INET6, "fe80::", 10 },
	{ "::/0", AF_INET6, "::", 0 },
	{ "2001:db8::/32", AF_INET6, "2001:db8::", 32 },
	{ "::ffff:10.0.0.1", AF_INET, "10.0.0.1", 32 },
	{ "::ffff:10.0.0.0/104", AF_INET, "10.0.0.0", 8 },
	{ "::ffff:0:0/96", AF_INET, "0.0.0.0", 0 },

	R_NO("", "names no host"),
	R_NO("/8", "names no host"),
	R_NO("example.com", "names no address"),
	R_NO("example.com/8", "names no address"),
	R_NO("10.0.0.1/8", "bits set"),
	R_NO("10.0.0.64/25", "bits set"),
	R_NO("fd00::1/8", "bits set"),
	R_NO("fd80::/8", "bits set"),
	R_NO("fec0::/9", "bits set"),
	R_NO("10.0.0.0/33", "0 to 32"),
	R_NO("10.0.0.0/", "0 to 32"),
	R_NO("10.0.0.0/-1", "0 to 32"),
	R_NO("10.0.0.0/8/8", "0 to 32"),
	R_NO("10.0.0.0/0008", "0 to 32"),
	R_NO("10.0.0.0/8 ", "0 to 32"),
	R_NO("10.0.0.0/1:", "0 to 32"),
	R_NO("::/129", "0 to 128"),
	R_NO("::/", "0 to 128"),
	R_NO("::ffff:10.0.0.0/8", "96 to 128"),
	R_NO("::ffff:10.0.0.0/129", "96 to 128"),
	R_NO("[::1/128]", "end with ']'"),
	R_NO("10.0.0.0 /8", "space"),
	R_NO("256.0.0.0/8", "above 255"),
	R_NO("fe80::1%eth0", "zone"),
};

static void test_range_parse(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(range_cases); i++) {
		const struct range_case *c = &range_cases[i];
		struct host_addr_range r;
		const char *why = NULL;
		uint8_t want[16] = { 0 };
		int ret = host_addr_range_parse(c->in, &r, &why);

		if (!c->family) {
			check_refused(i, c->in, strlen(c->in), ret, why,
				      c->want);
			continue;
		}
		assert_int_equal(inet_pton(c->family, c->want, want), 1);
		if (ret != 0 || r.family != c->family ||
		    r.prefix != c->prefix ||
		    memcmp(&r.addr, want, sizeof(want)) != 0)
			fail_msg("case %zu (%s): want %s/%u, got %d family "
				 "%d prefix %u (%s)", i, c->in, c->want,
				 c->prefix, ret, r.family, r.prefix,
				 why ? why : "");
	}
}

struct contains_case {
	const char *range;
	int family;
	const char *addr;
	bool want;
};

static const struct contains_case contains_cases[] = {
	{ "10.0.0.0/8", AF_INET, "10.1.2.3", true },
	{ "10.0.0.0/8", AF_INET, "10.255.255.255", true },
	{ "10.0.0.0/8", AF_INET, "11.0.0.0", false },
	{ "10.0.0.0/8", AF_INET, "9.255.255.255", false },
	{ "10.0.0.0/8", AF_INET6, "::ffff:10.1.2.3", true },
	{ "10.0.0.0/8", AF_INET6, "::a01:203", false },
	{ "10.0.0.0/8", AF_INET6, "64:ff9b::a01:203", false },
	{ "172.16.0.0/12", AF_INET, "172.31.255.255", true },
	{ "172.16.0.0/12", AF_INET, "172.32.0.0", false },
	{ "172.16.0.0/12", AF_INET, "172.15.255.255", false },
	{ "10.0.0.128/25", AF_INET, "10.0.0.200", true },
	{ "10.0.0.128/25", AF_INET, "10.0.0.127", false },
	{ "169.254.169.254", AF_INET, "169.254.169.254", true },
	{ "169.254.169.254", AF_INET, "169.254.169.255", false },
	{ "0.0.0.0/0", AF_INET, "1.2.3.4", true },
	{ "0.0.0.0/0", AF_INET6, "::1", false },
	{ "::ffff:10.0.0.0/104", AF_INET, "10.9.9.9", true },
	{ "::1", AF_INET6, "::1", true },
	{ "::1", AF_INET6, "::2", false },
	{ "::1", AF_INET, "0.0.0.1", false },
	{ "fd00::/8", AF_INET6, "fd12::1", true },
	{ "fd00::/8", AF_INET6, "fe00::", false },
	{ "fd00::/8", AF_INET, "10.0.0.1", false },
	{ "fe80::/10", AF_INET6, "febf::", true },
	{ "fe80::/10", AF_INET6, "fec0::", false },
	{ "::/0", AF_INET6, "::1", true },
	{ "::/0", AF_INET, "127.0.0.1", false },
	{ "2001:db8::/127", AF_INET6, "2001:db8::1", true },
	{ "2001:db8::/127", AF_INET6, "2001:db8::2", false },
};

static void test_range_contains(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(contains_cases); i++) {
		const struct contains_case *c = &contains_cases[i];
		struct host_addr_range r;
		const char *why;
		uint8_t addr[16];

		assert_int_equal(host_addr_range_parse(c->range, &r, &why), 0);
		assert_int_equal(inet_pton(c->family, c->addr, addr), 1);
		if (host_addr_range_contains(&r, c->family, addr) != c->want)
			fail_msg("case %zu: %s in %s, want %s", i, c->addr,
				 c->range, c->want ? "yes" : "no");
	}
}

static void test_range_contains_other_family(void **state)
{
	struct host_addr_range r;
	const char *why;

	assert_int_equal(host_addr_range_parse("0.0.0.0/0", &r, &why), 0);
	assert_false(host_addr_range_contains(&r, AF_UNIX, "abcd"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_canon),
		cmocka_unit_test(test_canon_length),
		cmocka_unit_test(test_pattern_parse),
		cmocka_unit_test(test_pattern_match),
		cmocka_unit_test(test_pattern_match_forged),
		cmocka_unit_test(test_pattern_any_allow),
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_spellings_never_public),
		cmocka_unit_test(test_class_names),
		cmocka_unit_test(test_range_parse),
		cmocka_unit_test(test_range_contains),
		cmocka_unit_test(test_range_contains_other_family),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
