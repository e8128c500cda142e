/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Host names, host patterns and address classes for the gateway. A host
 * reaches here from a request target, a Host header, an SNI or a SOCKS5
 * request, all written by the sandbox, which may be hostile: the parsers
 * read exactly the length they are given and refuse anything they cannot
 * put in a single canonical form. Numeric IPv4 is read in every spelling
 * inet_aton takes, since the resolver would take them too, and the
 * address tables are the list of what the gateway never dials.
 */
#include "config.h"

#include "gateway/host.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "common/util.h"

#define HOST_LABEL_MAX_BYTES 63
/* Longest IPv6 text: eight groups or six and a dotted quad. */
#define HOST_V6_TEXT_MAX_BYTES (INET6_ADDRSTRLEN - 1)
/* inet_aton takes a.b.c.d, a.b.c, a.b and a. */
#define HOST_V4_MAX_PARTS 4
#define HOST_PORT_MAX_DIGITS 5

/* ---- canonical hosts ---- */

/* Bytes refused on sight, with the reason a client is told. */
static const struct {
	char c;
	const char *why;
} refused_bytes[] = {
	{ ' ', "a host holds no space" },
	{ '*', "a host holds no '*' (wildcards belong to patterns)" },
	{ '%', "a host holds no '%': no percent-encoding, no IPv6 zone id" },
	{ '@', "a host holds no '@' (user information is not part of it)" },
	{ '/', "a host holds no '/'" },
};

static bool byte_is_host(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
	       c == ':' || c == '[' || c == ']';
}

/* NULL when every byte may stand in some host, else the reason. */
static const char *canon_check_bytes(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\0')
			return "a host holds no NUL byte";
		if (c < 0x20 || c == 0x7f)
			return "a host holds no control character";
		if (c >= 0x80)
			return "a host is ASCII only (write an international "
			       "name in its xn-- form)";
		for (size_t j = 0; j < ARRAY_SIZE(refused_bytes); j++)
			if (c == (unsigned char)refused_bytes[j].c)
				return refused_bytes[j].why;
		if (!byte_is_host(c))
			return "a host holds only letters, digits, '-', '_' "
			       "and '.', or an IPv6 address";
	}
	return NULL;
}

static bool starts_hex(const char *s, size_t len)
{
	return len >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
}

/*
 * One part of an inet_aton address: decimal, hexadecimal after 0x or
 * octal after a leading 0. Any run of leading zeros is fine; a value
 * above 32 bits is not, nor "0x" with no digit after it. NULL or the
 * reason.
 */
static const char *v4_part_parse(const char *s, size_t len, uint32_t *out)
{
	unsigned int base = 10;
	uint64_t v = 0;
	size_t i = 0;

	if (starts_hex(s, len)) {
		base = 16;
		i = 2;
	} else if (len >= 2 && s[0] == '0') {
		base = 8;
		i = 1;
	}
	if (i >= len)
		return "a numeric host has a part \"0x\" with no digits";

	for (; i < len; i++) {
		int d = hex_value(s[i]);

		if (d < 0 || (unsigned int)d >= base)
			return "a numeric host has a part that is not a "
			       "number";
		v = v * base + (unsigned int)d;
		if (v > UINT32_MAX)
			return "a numeric host has a part above 32 bits";
	}
	*out = (uint32_t)v;
	return NULL;
}

/*
 * The last label decides whether a host is a number (the WHATWG URL
 * rule): all decimal digits, or 0x and hex digits. Such a host must then
 * be a valid IPv4 address, so that no resolver reads a number where the
 * policy saw a name.
 */
static bool last_label_numeric(const char *s, size_t len)
{
	const char *dot = memrchr(s, '.', len);
	const char *l = dot ? dot + 1 : s;
	size_t n = (size_t)(s + len - l);
	size_t i = 0;

	if (n == 0)
		return false;
	if (starts_hex(l, n)) {
		for (i = 2; i < n && hex_value(l[i]) >= 0; i++)
			;
		return i == n;
	}
	while (i < n && l[i] >= '0' && l[i] <= '9')
		i++;
	return i == n;
}

/* The inet_aton grammar: the last part fills the bytes left over. */
static const char *v4_parse(const char *s, size_t len, struct in_addr *out)
{
	uint32_t parts[HOST_V4_MAX_PARTS], value = 0;
	size_t n = 0, start = 0;
	const char *why;

	for (size_t i = 0; i <= len; i++) {
		if (i < len && s[i] != '.')
			continue;
		if (n == HOST_V4_MAX_PARTS)
			return "a numeric host has at most four parts";
		if (i == start)
			return "a numeric host has an empty part";
		why = v4_part_parse(s + start, i - start, &parts[n]);
		if (why)
			return why;
		n++;
		start = i + 1;
	}

	for (size_t i = 0; i + 1 < n; i++) {
		if (parts[i] > 0xff)
			return "a part of an IPv4 address before the last "
			       "is above 255";
		value |= parts[i] << (24 - 8 * i);
	}
	if (n > 1 && parts[n - 1] >> (8 * (HOST_V4_MAX_PARTS - n + 1)))
		return "the last part of an IPv4 address is too large";
	value |= parts[n - 1];
	out->s_addr = htonl(value);
	return NULL;
}

static void host_set_v4(struct host *h, struct in_addr a)
{
	h->kind = HOST_IPV4;
	h->v4 = a;
	inet_ntop(AF_INET, &h->v4, h->text, sizeof(h->text));
}

static bool v6_is_mapped(const struct in6_addr *a)
{
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };

	return memcmp(a->s6_addr, mapped, sizeof(mapped)) == 0;
}

static struct in_addr v6_low_v4(const struct in6_addr *a)
{
	struct in_addr v4;

	memcpy(&v4, a->s6_addr + 12, sizeof(v4));
	return v4;
}

/* Brackets optional; a mapped address becomes its IPv4 address. */
static const char *canon_v6(const char *s, size_t len, struct host *h)
{
	char buf[HOST_V6_TEXT_MAX_BYTES + 1];
	struct in6_addr a;

	if (s[0] == '[') {
		if (len < 2 || s[len - 1] != ']')
			return "an IPv6 address in brackets must end with "
			       "']' (a port is not part of the host)";
		s++;
		len -= 2;
	}
	if (memchr(s, '[', len) || memchr(s, ']', len))
		return "brackets may only enclose a whole IPv6 address";
	if (!memchr(s, ':', len))
		return "brackets may only enclose an IPv6 address";
	for (size_t i = 0; i < len; i++)
		if (s[i] != ':' && s[i] != '.' && hex_value(s[i]) < 0)
			return "':' stands only in an IPv6 address (a port "
			       "is not part of the host)";
	if (len > HOST_V6_TEXT_MAX_BYTES)
		return "too long for an IPv6 address";

	memcpy(buf, s, len);
	buf[len] = '\0';
	if (inet_pton(AF_INET6, buf, &a) != 1)
		return "not a valid IPv6 address";

	if (v6_is_mapped(&a)) {
		host_set_v4(h, v6_low_v4(&a));
		return NULL;
	}
	h->kind = HOST_IPV6;
	h->v6 = a;
	inet_ntop(AF_INET6, &h->v6, h->text, sizeof(h->text));
	return NULL;
}

static const char *label_check(const char *l, size_t n)
{
	if (n == 0)
		return "a host name has an empty label";
	if (n > HOST_LABEL_MAX_BYTES)
		return "a label of a host name is longer than 63 bytes";
	if (l[0] == '-' || l[n - 1] == '-')
		return "a label of a host name starts or ends with '-'";
	return NULL;
}

/* A DNS name, its trailing dot already gone; folded to lowercase. */
static const char *canon_name(const char *s, size_t len, struct host *h)
{
	const char *why;
	size_t start = 0;

	for (size_t i = 0; i <= len; i++) {
		if (i < len && s[i] != '.')
			continue;
		why = label_check(s + start, i - start);
		if (why)
			return why;
		start = i + 1;
	}

	h->kind = HOST_NAME;
	for (size_t i = 0; i < len; i++)
		h->text[i] = (s[i] >= 'A' && s[i] <= 'Z') ? s[i] - 'A' + 'a'
							    : s[i];
	h->text[len] = '\0';
	return NULL;
}

/* Picks IPv6, number or name; NULL or the reason for refusing. */
static const char *canon_dispatch(const char *s, size_t len, struct host *h)
{
	struct in_addr a;
	const char *why;

	if (len == 0)
		return "names no host";
	if (len > HOST_TEXT_MAX + 1)
		return "a host name is at most 253 bytes";
	why = canon_check_bytes(s, len);
	if (why)
		return why;
	if (memchr(s, ':', len) || memchr(s, '[', len) || memchr(s, ']', len))
		return canon_v6(s, len, h);

	if (s[len - 1] == '.')
		len--;
	if (len == 0)
		return "names no host";
	if (len > HOST_TEXT_MAX)
		return "a host name is at most 253 bytes";
	if (!last_label_numeric(s, len))
		return canon_name(s, len, h);
	why = v4_parse(s, len, &a);
	if (!why)
		host_set_v4(h, a);
	return why;
}

/*
 * Returns 0 with *h filled, or -EINVAL with *why (static text). *h is
 * cleared first, so unused fields are zero either way.
 */
int host_canon(const char *s, size_t len, struct host *h, const char **why)
{
	memset(h, 0, sizeof(*h));
	*why = canon_dispatch(s, len, h);
	if (*why) {
		memset(h, 0, sizeof(*h));
		return -EINVAL;
	}
	return 0;
}

/* ---- patterns ---- */

/* 1..65535 in decimal; leading zeros are fine, a sign is not. */
static bool port_parse(const char *s, uint16_t *port)
{
	unsigned int v = 0;
	size_t n = strlen(s);

	if (n == 0 || n > HOST_PORT_MAX_DIGITS)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned int)(s[i] - '0');
	}
	if (v == 0 || v > UINT16_MAX)
		return false;
	*port = (uint16_t)v;
	return true;
}

/* Splits "host", "host:port", "[v6]" and "[v6]:port". */
static const char *pattern_split(const char *s, size_t *host_len,
				 uint16_t *port)
{
	const char *colon;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close)
			return "an IPv6 address needs its closing ']'";
		colon = close[1] == ':' ? close + 1 : NULL;
		if (!colon && close[1] != '\0')
			return "only \":port\" may follow ']'";
		*host_len = (size_t)(close + 1 - s);
	} else {
		colon = strchr(s, ':');
		if (colon && strchr(colon + 1, ':'))
			return "write an IPv6 address in brackets, as in "
			       "\"[::1]\"";
		*host_len = colon ? (size_t)(colon - s) : strlen(s);
	}
	if (colon && !port_parse(colon + 1, port))
		return "a port is a number from 1 to 65535";
	return NULL;
}

/* Two labels or more, so that "*.com" cannot stand for a whole TLD. */
static const char *pattern_suffix_check(const struct host *h)
{
	if (h->kind != HOST_NAME)
		return "a wildcard takes a name after it, not an address";
	if (!strchr(h->text, '.'))
		return "a wildcard needs a name of two labels or more after "
		       "it (\"*.example.com\", not \"*.com\")";
	return NULL;
}

static const char *pattern_host(const char *s, size_t len,
				struct host_pattern *p)
{
	const char *why;

	p->kind = HOST_PATTERN_EXACT;
	if (len >= 2 && s[0] == '*' && s[1] == '.') {
		p->kind = HOST_PATTERN_SUBDOMAINS;
		s += 2;
		len -= 2;
	}
	if (memchr(s, '*', len))
		return "a wildcard may only start the pattern, as in "
		       "\"*.example.com\"";
	if (host_canon(s, len, &p->host, &why) < 0)
		return why;
	if (p->kind == HOST_PATTERN_SUBDOMAINS)
		return pattern_suffix_check(&p->host);
	return NULL;
}

/*
 * Returns 0 with *p filled, or -EINVAL with *why (static text); *p is
 * cleared first.
 */
int host_pattern_parse(const char *s, bool deny_list,
		       struct host_pattern *p, const char **why)
{
	size_t host_len = 0;

	memset(p, 0, sizeof(*p));
	*why = NULL;
	if (streq(s, "*") || strncmp(s, "*:", 2) == 0) {
		/* "*" or "*:25": every host, on every port or on one */
		p->kind = HOST_PATTERN_ANY;
		if (!deny_list)
			*why = "\"*\" would allow every host; list the hosts "
			       "instead";
		else if (s[1] && (pattern_split(s, &host_len, &p->port) ||
				  !p->port))
			*why = "a port is a number from 1 to 65535";
	} else if (!*s) {
		*why = "names no host";
	} else {
		*why = pattern_split(s, &host_len, &p->port);
		if (!*why)
			*why = pattern_host(s, host_len, p);
	}
	if (*why) {
		memset(p, 0, sizeof(*p));
		return -EINVAL;
	}
	return 0;
}

static bool pattern_port_match(const struct host_pattern *p, uint16_t port,
			       bool deny_list)
{
	if (p->port)
		return port == p->port;
	return deny_list || port == 80 || port == 443;
}

static bool host_equal(const struct host *a, const struct host *b)
{
	if (a->kind != b->kind)
		return false;
	switch (a->kind) {
	case HOST_IPV4:
		return a->v4.s_addr == b->v4.s_addr;
	case HOST_IPV6:
		return memcmp(&a->v6, &b->v6, sizeof(a->v6)) == 0;
	case HOST_NAME:
		return streq(a->text, b->text);
	}
	return false;
}

static bool host_is_subdomain(const struct host *h, const char *suffix)
{
	size_t lh = strlen(h->text), ls = strlen(suffix);

	if (h->kind != HOST_NAME || lh <= ls + 1)
		return false;
	return h->text[lh - ls - 1] == '.' && streq(h->text + lh - ls, suffix);
}

/*
 * True when h on port matches p (see host.h); false for "*" outside a
 * deny list, which host_pattern_parse never makes.
 */
bool host_pattern_match(const struct host_pattern *p, const struct host *h,
			uint16_t port, bool deny_list)
{
	if (!pattern_port_match(p, port, deny_list))
		return false;
	switch (p->kind) {
	case HOST_PATTERN_ANY:
		return deny_list;
	case HOST_PATTERN_EXACT:
		return host_equal(&p->host, h);
	case HOST_PATTERN_SUBDOMAINS:
		return p->host.kind == HOST_NAME &&
		       host_is_subdomain(h, p->host.text);
	}
	return false;
}

/* ---- address classes ---- */

struct addr_block {
	int family;
	uint8_t prefix[16];
	unsigned int bits;
	enum host_addr_class class;
};

#define V4 AF_INET
#define V6 AF_INET6

/*
 * Every block the gateway refuses, after the IANA special-purpose
 * registries. Where blocks nest, the more specific one names the class,
 * except that metadata beats everything.
 */
static const struct addr_block addr_blocks[] = {
	/* "this network", RFC 791; Linux dials 0.0.0.0 as loopback */
	{ V4, { 0 }, 8, HOST_ADDR_UNSPECIFIED },
	{ V4, { 10 }, 8, HOST_ADDR_PRIVATE },
	{ V4, { 100, 64 }, 10, HOST_ADDR_CGNAT },
	{ V4, { 127 }, 8, HOST_ADDR_LOOPBACK },
	{ V4, { 169, 254 }, 16, HOST_ADDR_LINK_LOCAL },
	{ V4, { 172, 16 }, 12, HOST_ADDR_PRIVATE },
	/* IETF protocol assignments, RFC 6890 */
	{ V4, { 192, 0, 0 }, 24, HOST_ADDR_RESERVED },
	/* TEST-NET-1, -2 and -3, RFC 5737 */
	{ V4, { 192, 0, 2 }, 24, HOST_ADDR_RESERVED },
	{ V4, { 198, 51, 100 }, 24, HOST_ADDR_RESERVED },
	{ V4, { 203, 0, 113 }, 24, HOST_ADDR_RESERVED },
	/* 6to4 relay anycast, deprecated by RFC 7526 */
	{ V4, { 192, 88, 99 }, 24, HOST_ADDR_RESERVED },
	{ V4, { 192, 168 }, 16, HOST_ADDR_PRIVATE },
	/* benchmarking, RFC 2544 */
	{ V4, { 198, 18 }, 15, HOST_ADDR_RESERVED },
	{ V4, { 224 }, 4, HOST_ADDR_MULTICAST },
	{ V4, { 240 }, 4, HOST_ADDR_RESERVED },
	{ V4, { 255, 255, 255, 255 }, 32, HOST_ADDR_BROADCAST },

	/* AWS, GCP, Azure, OpenStack, Oracle instance metadata */
	{ V4, { 169, 254, 169, 254 }, 32, HOST_ADDR_METADATA },
	/* AWS time sync and DNS resolver */
	{ V4, { 169, 254, 169, 123 }, 32, HOST_ADDR_METADATA },
	{ V4, { 169, 254, 169, 253 }, 32, HOST_ADDR_METADATA },
	/* AWS ECS task metadata and EKS pod identity agent */
	{ V4, { 169, 254, 170, 2 }, 32, HOST_ADDR_METADATA },
	{ V4, { 169, 254, 170, 23 }, 32, HOST_ADDR_METADATA },
	/* Alibaba Cloud, Azure wire server, Oracle Cloud */
	{ V4, { 100, 100, 100, 200 }, 32, HOST_ADDR_METADATA },
	{ V4, { 168, 63, 129, 16 }, 32, HOST_ADDR_METADATA },
	{ V4, { 192, 0, 0, 192 }, 32, HOST_ADDR_METADATA },

	{ V6, { 0 }, 128, HOST_ADDR_UNSPECIFIED },
	{ V6, { [15] = 1 }, 128, HOST_ADDR_LOOPBACK },
	/* IPv4-compatible, deprecated by RFC 4291; the IPv4 is checked too */
	{ V6, { 0 }, 96, HOST_ADDR_RESERVED },
	/*
	 * Local-use NAT64, RFC 8215: it may embed the IPv4 address at any
	 * RFC 6052 offset, so the whole block is refused
	 */
	{ V6, { 0, 0x64, 0xff, 0x9b, 0, 1 }, 48, HOST_ADDR_PRIVATE },
	/* discard-only, RFC 6666 */
	{ V6, { 1 }, 64, HOST_ADDR_RESERVED },
	/* benchmarking, ORCHID and ORCHIDv2, RFC 6890 and 7343 */
	{ V6, { 0x20, 0x01, 0, 2, 0, 0 }, 48, HOST_ADDR_RESERVED },
	{ V6, { 0x20, 0x01, 0, 0x10 }, 28, HOST_ADDR_RESERVED },
	{ V6, { 0x20, 0x01, 0, 0x20 }, 28, HOST_ADDR_RESERVED },
	/* documentation, RFC 3849 and RFC 9637 */
	{ V6, { 0x20, 0x01, 0x0d, 0xb8 }, 32, HOST_ADDR_RESERVED },
	{ V6, { 0x3f, 0xff }, 20, HOST_ADDR_RESERVED },
	/* segment routing SIDs, RFC 9602 */
	{ V6, { 0x5f, 0x00 }, 16, HOST_ADDR_RESERVED },
	{ V6, { 0xfc }, 7, HOST_ADDR_PRIVATE },
	{ V6, { 0xfe, 0x80 }, 10, HOST_ADDR_LINK_LOCAL },
	/* site-local, deprecated by RFC 3879 */
	{ V6, { 0xfe, 0xc0 }, 10, HOST_ADDR_RESERVED },
	{ V6, { 0xff }, 8, HOST_ADDR_MULTICAST },

	/* AWS metadata and EKS pod identity agent, GCP metadata */
	{ V6, { 0xfd, 0, 0x0e, 0xc2, [14] = 0x02, 0x54 }, 128,
	  HOST_ADDR_METADATA },
	{ V6, { 0xfd, 0, 0x0e, 0xc2, [15] = 0x23 }, 128, HOST_ADDR_METADATA },
	{ V6, { 0xfd, 0x20, 0, 0xce, [14] = 0x02, 0x54 }, 128,
	  HOST_ADDR_METADATA },
};

/*
 * Where IPv6 carries an IPv4 address that a relay or translator dials.
 * LIMITATION: a NAT64 network-specific prefix (RFC 6052) or an ISATAP
 * interface identifier can embed IPv4 under any prefix; nothing in the
 * address tells them from a public address, so they are classed by their
 * IPv6 form only. Refusing them would need the host's translator and
 * tunnel configuration.
 */
struct v4_embedding {
	uint8_t prefix[16];
	unsigned int bits;
	unsigned int offset; /* first byte of the IPv4 address */
	uint8_t mask;        /* XORed into each byte (Teredo obscures it) */
};

static const struct v4_embedding v4_embeddings[] = {
	/* IPv4-mapped ::ffff:0:0/96 and IPv4-translated ::ffff:0:0:0/96 */
	{ { [10] = 0xff, [11] = 0xff }, 96, 12, 0 },
	{ { [8] = 0xff, [9] = 0xff }, 96, 12, 0 },
	/* IPv4-compatible ::/96 */
	{ { 0 }, 96, 12, 0 },
	/* NAT64, RFC 6052 and RFC 8215 */
	{ { 0, 0x64, 0xff, 0x9b }, 96, 12, 0 },
	{ { 0, 0x64, 0xff, 0x9b, 0, 1 }, 48, 12, 0 },
	/* 6to4, RFC 3056: the relay's IPv4 address follows 2002: */
	{ { 0x20, 0x02 }, 16, 2, 0 },
	/* Teredo, RFC 4380: the server, then the client, inverted */
	{ { 0x20, 0x01, 0, 0 }, 32, 4, 0 },
	{ { 0x20, 0x01, 0, 0 }, 32, 12, 0xff },
};

static const char *const class_names[] = {
	[HOST_ADDR_PUBLIC] = "public",
	[HOST_ADDR_UNSPECIFIED] = "unspecified",
	[HOST_ADDR_LOOPBACK] = "loopback",
	[HOST_ADDR_PRIVATE] = "private",
	[HOST_ADDR_LINK_LOCAL] = "link-local",
	[HOST_ADDR_CGNAT] = "cgnat",
	[HOST_ADDR_MULTICAST] = "multicast",
	[HOST_ADDR_BROADCAST] = "broadcast",
	[HOST_ADDR_METADATA] = "metadata",
	[HOST_ADDR_RESERVED] = "reserved",
};

/* True when the first bits of a and b agree. */
static bool prefix_equal(const uint8_t *a, const uint8_t *b, unsigned int bits)
{
	unsigned int whole = bits / 8, rest = bits % 8;
	uint8_t mask = (uint8_t)(0xff00 >> rest);

	if (memcmp(a, b, whole) != 0)
		return false;
	return rest == 0 || ((a[whole] ^ b[whole]) & mask) == 0;
}

static int class_rank(enum host_addr_class c)
{
	if (c == HOST_ADDR_PUBLIC)
		return 0;
	return c == HOST_ADDR_METADATA ? 2 : 1;
}

/* The class of the most specific block holding addr, metadata first. */
static enum host_addr_class blocks_classify(int family, const uint8_t *addr)
{
	enum host_addr_class best = HOST_ADDR_PUBLIC;
	unsigned int best_bits = 0;

	for (size_t i = 0; i < ARRAY_SIZE(addr_blocks); i++) {
		const struct addr_block *b = &addr_blocks[i];
		int rank = class_rank(b->class), best_rank = class_rank(best);

		if (b->family != family ||
		    !prefix_equal(addr, b->prefix, b->bits))
			continue;
		if (rank > best_rank ||
		    (rank == best_rank && b->bits > best_bits)) {
			best = b->class;
			best_bits = b->bits;
		}
	}
	return best;
}

static enum host_addr_class v6_classify(const struct in6_addr *a)
{
	enum host_addr_class best = blocks_classify(AF_INET6, a->s6_addr);

	for (size_t i = 0; i < ARRAY_SIZE(v4_embeddings); i++) {
		const struct v4_embedding *e = &v4_embeddings[i];
		enum host_addr_class c;
		uint8_t v4[4];

		if (!prefix_equal(a->s6_addr, e->prefix, e->bits))
			continue;
		for (size_t j = 0; j < sizeof(v4); j++)
			v4[j] = a->s6_addr[e->offset + j] ^ e->mask;
		c = blocks_classify(AF_INET, v4);
		if (class_rank(c) > class_rank(best))
			best = c;
	}
	return best;
}

/*
 * Returns the class of addr (see host.h); HOST_ADDR_RESERVED for a
 * family other than AF_INET and AF_INET6, which is never dialled either.
 */
enum host_addr_class host_addr_classify(int family, const void *addr)
{
	if (family == AF_INET)
		return blocks_classify(AF_INET, addr);
	if (family == AF_INET6)
		return v6_classify(addr);
	return HOST_ADDR_RESERVED;
}

/* Returns static text; "unknown" for a value outside the enum. */
const char *host_addr_class_name(enum host_addr_class c)
{
	if ((unsigned int)c >= ARRAY_SIZE(class_names) || !class_names[c])
		return "unknown";
	return class_names[c];
}

/* ---- address ranges ---- */

/* True when no bit of the bytes of a at or after bit "bits" is set. */
static bool bits_zero_after(const uint8_t *a, size_t bytes, unsigned int bits)
{
	for (size_t i = bits / 8; i < bytes; i++) {
		unsigned int kept = i == bits / 8 ? bits % 8 : 0;

		if ((uint8_t)(a[i] << kept) != 0)
			return false;
	}
	return true;
}

/* Decimal 0..max, at most three digits. */
static bool prefix_parse(const char *s, unsigned int max, unsigned int *out)
{
	unsigned int v = 0;
	size_t n = strlen(s);

	if (n == 0 || n > 3)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned int)(s[i] - '0');
	}
	*out = v;
	return v <= max;
}

static const char *range_prefix(const char *slash, bool mapped,
				struct host_addr_range *r)
{
	unsigned int max = r->family == AF_INET ? 32 : 128;

	if (!slash) {
		r->prefix = max;
		return NULL;
	}
	if (mapped) {
		if (!prefix_parse(slash + 1, 128, &r->prefix) ||
		    r->prefix < 96)
			return "the prefix of an IPv4-mapped address is a "
			       "number from 96 to 128";
		r->prefix -= 96;
		return NULL;
	}
	if (!prefix_parse(slash + 1, max, &r->prefix))
		return r->family == AF_INET
			       ? "an IPv4 prefix is a number from 0 to 32"
			       : "an IPv6 prefix is a number from 0 to 128";
	return NULL;
}

static const char *range_parse(const char *s, struct host_addr_range *r)
{
	const char *slash = strchr(s, '/'), *why;
	size_t len = slash ? (size_t)(slash - s) : strlen(s);
	struct host h;

	if (host_canon(s, len, &h, &why) < 0)
		return why;
	if (h.kind == HOST_NAME)
		return "names no address: write an IPv4 or IPv6 address";
	r->family = h.kind == HOST_IPV4 ? AF_INET : AF_INET6;
	if (h.kind == HOST_IPV4)
		memcpy(&r->addr, &h.v4, sizeof(h.v4));
	else
		r->addr = h.v6;

	why = range_prefix(slash, h.kind == HOST_IPV4 && memchr(s, ':', len),
			   r);
	if (why)
		return why;
	if (!bits_zero_after(r->addr.s6_addr, r->family == AF_INET ? 4 : 16,
			     r->prefix))
		return "the address has bits set below its prefix";
	return NULL;
}

/*
 * Returns 0 with *r filled, or -EINVAL with *why (static text); *r is
 * cleared first.
 */
int host_addr_range_parse(const char *s, struct host_addr_range *r,
			  const char **why)
{
	memset(r, 0, sizeof(*r));
	*why = range_parse(s, r);
	if (*why) {
		memset(r, 0, sizeof(*r));
		return -EINVAL;
	}
	return 0;
}

/* An IPv4-mapped address lies in the IPv4 ranges, as it is stored so. */
bool host_addr_range_contains(const struct host_addr_range *r, int family,
			      const void *addr)
{
	const uint8_t *a = addr;

	if (family == AF_INET6 && v6_is_mapped(addr)) {
		family = AF_INET;
		a += 12;
	}
	if (family != r->family || (family != AF_INET && family != AF_INET6))
		return false;
	return prefix_equal(a, r->addr.s6_addr, r->prefix);
}
