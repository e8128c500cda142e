/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for src/gateway/host.c: each input is one host as a
 * client would send it, and the same bytes (up to a NUL) as a policy
 * pattern and as an address range. Beyond memory safety it checks what
 * the gateway relies on: the canonical form is a fixed point, a host
 * matches the pattern made of its own canonical text, a deny pattern
 * matches wherever the same allow pattern does, a range holds its own
 * address, and an IPv4-mapped address has the class of its IPv4 address.
 */
#include "config.h"

#include <arpa/inet.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/util.h"
#include "gateway/host.h"
#include "fuzz.h"

static enum host_addr_class host_class(const struct host *h)
{
	if (h->kind == HOST_IPV4)
		return host_addr_classify(AF_INET, &h->v4);
	return host_addr_classify(AF_INET6, &h->v6);
}

static void check_canonical_text(const struct host *h)
{
	size_t len = strnlen(h->text, sizeof(h->text));

	CHECK(len > 0 && len <= HOST_TEXT_MAX);
	if (h->kind != HOST_NAME)
		return;
	for (size_t i = 0; i < len; i++)
		CHECK((h->text[i] >= 'a' && h->text[i] <= 'z') ||
		      (h->text[i] >= '0' && h->text[i] <= '9') ||
		      h->text[i] == '-' || h->text[i] == '_' ||
		      h->text[i] == '.');
}

/* The pattern written as a host's own canonical text matches that host. */
static void check_own_pattern(const struct host *h)
{
	char text[HOST_TEXT_MAX + 8];
	struct host_pattern p;
	struct host sub;
	const char *why;

	if (h->kind == HOST_IPV6)
		snprintf(text, sizeof(text), "[%s]", h->text);
	else
		snprintf(text, sizeof(text), "%s", h->text);
	CHECK(host_pattern_parse(text, false, &p, &why) == 0);
	CHECK(p.kind == HOST_PATTERN_EXACT);
	CHECK(host_pattern_match(&p, h, 443, false));
	CHECK(!host_pattern_match(&p, h, 22, false));
	CHECK(host_pattern_match(&p, h, 22, true));

	if (h->kind != HOST_NAME || !strchr(h->text, '.') ||
	    strlen(h->text) + 2 > HOST_TEXT_MAX)
		return;
	snprintf(text, sizeof(text), "*.%s", h->text);
	CHECK(host_pattern_parse(text, false, &p, &why) == 0);
	CHECK(!host_pattern_match(&p, h, 443, false));
	snprintf(text, sizeof(text), "x.%s", h->text);
	CHECK(host_canon(text, strlen(text), &sub, &why) == 0);
	CHECK(host_pattern_match(&p, &sub, 443, false));
}

static void check_own_range(const struct host *h)
{
	struct host_addr_range r;
	const char *why;

	CHECK(host_addr_range_parse(h->text, &r, &why) == 0);
	if (h->kind == HOST_IPV4)
		CHECK(host_addr_range_contains(&r, AF_INET, &h->v4));
	else
		CHECK(host_addr_range_contains(&r, AF_INET6, &h->v6));
}

static void fuzz_canon(const uint8_t *data, size_t size, struct host *h,
		       bool *ok)
{
	struct host again;
	const char *why = NULL;

	*ok = host_canon((const char *)data, size, h, &why) == 0;
	if (!*ok) {
		CHECK(why != NULL);
		return;
	}
	check_canonical_text(h);
	CHECK(host_canon(h->text, strlen(h->text), &again, &why) == 0);
	CHECK(memcmp(h, &again, sizeof(again)) == 0);
	if (h->kind == HOST_NAME) {
		check_own_pattern(h);
		return;
	}
	CHECK(host_addr_class_name(host_class(h)) != NULL);
	check_own_pattern(h);
	check_own_range(h);
}

static void fuzz_pattern(const char *s, const struct host *h, bool host_ok)
{
	static const uint16_t ports[] = { 1, 22, 80, 443, 8080, 65535 };
	struct host_pattern allow, deny;
	bool allow_ok, deny_ok;
	const char *why;

	allow_ok = host_pattern_parse(s, false, &allow, &why) == 0;
	deny_ok = host_pattern_parse(s, true, &deny, &why) == 0;
	CHECK(!allow_ok || deny_ok);
	if (!deny_ok || !host_ok)
		return;
	for (size_t i = 0; i < ARRAY_SIZE(ports); i++) {
		bool a = allow_ok &&
			 host_pattern_match(&allow, h, ports[i], false);
		bool d = host_pattern_match(&deny, h, ports[i], true);

		CHECK(!a || d);
	}
	(void)host_pattern_match(&deny, h, deny.port, true);
}

static void fuzz_range(const char *s, const struct host *h, bool host_ok)
{
	struct host_addr_range r;
	struct in6_addr a;
	const char *why;

	if (host_addr_range_parse(s, &r, &why) != 0)
		return;
	CHECK(r.family == AF_INET ? r.prefix <= 32 : r.prefix <= 128);
	memcpy(&a, &r.addr, sizeof(a));
	CHECK(host_addr_range_contains(&r, r.family, &a));
	if (host_ok && h->kind == HOST_IPV4)
		(void)host_addr_range_contains(&r, AF_INET, &h->v4);
	if (host_ok && h->kind == HOST_IPV6)
		(void)host_addr_range_contains(&r, AF_INET6, &h->v6);
}

/* Raw bytes as addresses; a mapped one classes as its IPv4 address. */
static void fuzz_classify(const uint8_t *data, size_t size)
{
	struct in6_addr v6;
	struct in_addr v4;

	if (size < sizeof(v6))
		return;
	memcpy(&v6, data, sizeof(v6));
	memcpy(&v4, data + 12, sizeof(v4));
	CHECK(host_addr_class_name(host_addr_classify(AF_INET6, &v6)));
	memset(v6.s6_addr, 0, 10);
	v6.s6_addr[10] = v6.s6_addr[11] = 0xff;
	CHECK(host_addr_classify(AF_INET6, &v6) ==
	      host_addr_classify(AF_INET, &v4));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_free_ char *s = xmalloc(size + 1);
	struct host h;
	bool ok;

	memcpy(s, data, size);
	s[size] = '\0';

	fuzz_canon(data, size, &h, &ok);
	fuzz_pattern(s, &h, ok);
	fuzz_range(s, &h, ok);
	fuzz_classify(data, size);
	return 0;
}
