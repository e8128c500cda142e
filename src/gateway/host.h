/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Host names and addresses as the gateway sees them: canonicalisation of
 * the host a client names (request targets, Host headers, SNI, SOCKS5),
 * the allow and deny patterns of the policy, and the classes of addresses
 * that are never dialled unless the policy names them. Everything here
 * parses bytes chosen by the sandbox, so it is strict, bounded and never
 * reads past the length it is given.
 */
#ifndef AIRLOCK_GATEWAY_HOST_H
#define AIRLOCK_GATEWAY_HOST_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest host name in text form (RFC 1035), without a trailing dot. */
#define HOST_TEXT_MAX 253

enum host_kind {
	HOST_NAME,
	HOST_IPV4,
	HOST_IPV6,
};

/*
 * A canonical host. text is lowercase without a trailing dot for names,
 * dotted-quad for IPv4 (whatever numeric form was written), and the RFC
 * 5952 form without brackets for IPv6. An IPv4-mapped IPv6 address
 * (::ffff:a.b.c.d) is canonicalised to its IPv4 address.
 */
struct host {
	enum host_kind kind;
	char text[HOST_TEXT_MAX + 1];
	struct in_addr v4;  /* HOST_IPV4 */
	struct in6_addr v6; /* HOST_IPV6 */
};

/*
 * Canonicalises len bytes of s (not NUL-terminated; a NUL byte is refused).
 * Accepted: DNS names of labels [A-Za-z0-9_-] (1 to 63 bytes, not starting
 * or ending with '-'), folded to lowercase, one trailing dot dropped; IPv4
 * in every form inet_aton takes (2130706433, 127.1, 0x7f.0.0.1,
 * 0177.0.0.1), written back as a dotted quad; a name whose last label is
 * numeric but is not a valid IPv4 address is refused; IPv6 with or
 * without brackets, never with a zone id. Refused: empty, too long,
 * control bytes, spaces, non-ASCII, '*', '%', '@', '/', ':' outside IPv6.
 * Returns 0, or -EINVAL with *why (static text) saying what is wrong;
 * *h is zeroed first, so its unused fields are zero.
 */
int host_canon(const char *s, size_t len, struct host *h, const char **why);

enum host_pattern_kind {
	HOST_PATTERN_EXACT,      /* example.com, 127.0.0.1, ::1 */
	HOST_PATTERN_SUBDOMAINS, /* *.example.com: subdomains, not the apex */
	HOST_PATTERN_ANY,        /* "*" (deny lists only) */
};

/* One entry of network.allowedDomains or network.deniedDomains. */
struct host_pattern {
	enum host_pattern_kind kind;
	struct host host; /* for SUBDOMAINS, the suffix after "*." */
	uint16_t port;    /* 0: no port written */
};

/*
 * Parses a pattern: "example.com", "*.example.com", either with ":port",
 * an IPv4 or bracketed IPv6 literal with optional ":port", or (only when
 * deny_list) "*". The host part is canonicalised like host_canon, so
 * "Example.COM." and "127.1" are stored canonical. After "*." comes a
 * name of two labels or more ("*.com" and "*.10.0.0.1" are refused), as
 * the policy loader requires. Returns 0 or -EINVAL with *why.
 */
int host_pattern_parse(const char *s, bool deny_list,
		       struct host_pattern *p, const char **why);

/*
 * True when h (canonical) on port matches p. A pattern without a port
 * matches ports 80 and 443 in an allow list and every port in a deny
 * list. SUBDOMAINS matches names that end in "." + suffix, never the
 * suffix itself, and never an IP literal.
 */
bool host_pattern_match(const struct host_pattern *p, const struct host *h,
			uint16_t port, bool deny_list);

/* Classes of addresses; everything but HOST_ADDR_PUBLIC is refused. */
enum host_addr_class {
	HOST_ADDR_PUBLIC = 0,
	HOST_ADDR_UNSPECIFIED, /* 0.0.0.0/8, :: */
	HOST_ADDR_LOOPBACK,    /* 127.0.0.0/8, ::1 */
	HOST_ADDR_PRIVATE,     /* 10/8, 172.16/12, 192.168/16, fc00::/7 */
	HOST_ADDR_LINK_LOCAL,  /* 169.254/16, fe80::/10 */
	HOST_ADDR_CGNAT,       /* 100.64.0.0/10 */
	HOST_ADDR_MULTICAST,   /* 224/4, ff00::/8 */
	HOST_ADDR_BROADCAST,   /* 255.255.255.255 */
	HOST_ADDR_METADATA,    /* cloud instance metadata and friends */
	HOST_ADDR_RESERVED,    /* 240/4, 192.0.0/24, 198.18/15, documentation,
				  fec0::/10, and the like */
};

/*
 * Classifies an address (family AF_INET with a struct in_addr, or
 * AF_INET6 with a struct in6_addr). IPv4 addresses embedded in IPv6
 * (IPv4-mapped, IPv4-compatible, NAT64 64:ff9b::/96 and 64:ff9b:1::/48,
 * 6to4 2002::/16, Teredo 2001::/32) are classified as well, and the
 * stricter class of the two is returned; the local-use NAT64 block
 * 64:ff9b:1::/48 is private as a whole. A family other than AF_INET and
 * AF_INET6 is HOST_ADDR_RESERVED. Metadata addresses are
 * 169.254.169.254, 169.254.170.2, 169.254.170.23, 169.254.169.253,
 * 169.254.169.123, 100.100.100.200, 168.63.129.16, 192.0.0.192,
 * fd00:ec2::254, fd00:ec2::23 and fd20:ce::254.
 */
enum host_addr_class host_addr_classify(int family, const void *addr);

/* A short lowercase name for a class ("loopback", "metadata", ...). */
const char *host_addr_class_name(enum host_addr_class c);

/* An address or a CIDR block, as written in network.allowAddresses. */
struct host_addr_range {
	int family;         /* AF_INET or AF_INET6 */
	struct in6_addr addr; /* IPv4 in the first 4 bytes */
	unsigned int prefix;  /* 0..32 or 0..128 */
};

/*
 * Parses "127.0.0.1", "10.0.0.0/8", "::1", "fd00::/8" (brackets allowed
 * around IPv6). Host bits below the prefix must be zero. IPv4-mapped IPv6
 * is stored as IPv4, its prefix 96 to 128 becoming 0 to 32. Returns 0 or
 * -EINVAL with *why.
 */
int host_addr_range_parse(const char *s, struct host_addr_range *r,
			  const char **why);

/* True when the address (as for host_addr_classify) lies in r. */
bool host_addr_range_contains(const struct host_addr_range *r, int family,
			      const void *addr);

#endif
