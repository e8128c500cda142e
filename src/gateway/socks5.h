/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SOCKS5 (RFC 1928) as a server sees it: the client's greeting, the
 * username/password sub-negotiation (RFC 1929) and the request, all bytes
 * from the sandbox or from a remote client; and the replies. Only CONNECT
 * is served; the parser still reads BIND and UDP ASSOCIATE so that they
 * get the proper "command not supported" reply.
 */
#ifndef AIRLOCK_GATEWAY_SOCKS5_H
#define AIRLOCK_GATEWAY_SOCKS5_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SOCKS5_VERSION 5
#define SOCKS5_REPLY_BYTES 10

enum socks5_method {
	SOCKS5_METHOD_NONE = 0x00,
	SOCKS5_METHOD_USERPASS = 0x02,
	SOCKS5_METHOD_REFUSED = 0xff,
};

enum socks5_cmd {
	SOCKS5_CMD_CONNECT = 1,
	SOCKS5_CMD_BIND = 2,
	SOCKS5_CMD_UDP_ASSOCIATE = 3,
};

enum socks5_atyp {
	SOCKS5_ATYP_IPV4 = 1,
	SOCKS5_ATYP_NAME = 3,
	SOCKS5_ATYP_IPV6 = 4,
};

enum socks5_reply {
	SOCKS5_REP_SUCCEEDED = 0,
	SOCKS5_REP_GENERAL_FAILURE = 1,
	SOCKS5_REP_NOT_ALLOWED = 2, /* "connection not allowed by ruleset" */
	SOCKS5_REP_NET_UNREACHABLE = 3,
	SOCKS5_REP_HOST_UNREACHABLE = 4,
	SOCKS5_REP_CONN_REFUSED = 5,
	SOCKS5_REP_TTL_EXPIRED = 6,
	SOCKS5_REP_CMD_UNSUPPORTED = 7,
	SOCKS5_REP_ATYP_UNSUPPORTED = 8,
};

/* Return values of the parsers below, besides a byte count (> 0). */
#define SOCKS5_INCOMPLETE 0
#define SOCKS5_ERR_MALFORMED (-1)

struct socks5_greeting {
	bool offers_none;
	bool offers_userpass;
};

/*
 * Parses the greeting (VER NMETHODS METHODS...). Returns the bytes it
 * took, SOCKS5_INCOMPLETE, or SOCKS5_ERR_MALFORMED with *why (static text)
 * for a version other than 5 or no methods.
 */
int socks5_parse_greeting(const uint8_t *buf, size_t len,
			  struct socks5_greeting *g, const char **why);

/* RFC 1929: user and password, each NUL-terminated, at most 255 bytes. */
struct socks5_userpass {
	char user[256];
	char pass[256];
};

/*
 * Parses the sub-negotiation (VER=1 ULEN UNAME PLEN PASSWD). A NUL byte
 * in either field, or an empty user, is malformed. The caller wipes
 * u->pass when done with it.
 */
int socks5_parse_userpass(const uint8_t *buf, size_t len,
			  struct socks5_userpass *u, const char **why);

struct socks5_request {
	uint8_t cmd;  /* enum socks5_cmd, or another value as sent */
	uint8_t atyp; /* enum socks5_atyp */
	/*
	 * ATYP_NAME: the name as sent (1..255 bytes, NUL refused), not yet
	 * canonicalised; ATYP_IPV4 and ATYP_IPV6: the address in text form
	 * (inet_ntop), without brackets.
	 */
	char host[256];
	uint16_t port;
};

/*
 * Parses a request (VER CMD RSV ATYP DST.ADDR DST.PORT). Unknown commands
 * are returned as they are (the caller replies CMD_UNSUPPORTED); an
 * unknown address type, a bad version or a non-zero RSV is malformed.
 * *rep is set to the reply code the caller should send on
 * SOCKS5_ERR_MALFORMED (GENERAL_FAILURE or ATYP_UNSUPPORTED).
 */
int socks5_parse_request(const uint8_t *buf, size_t len,
			 struct socks5_request *req, uint8_t *rep,
			 const char **why);

/*
 * Writes a reply with bound address 0.0.0.0:0 into out; returns
 * SOCKS5_REPLY_BYTES.
 */
size_t socks5_reply(uint8_t out[SOCKS5_REPLY_BYTES], enum socks5_reply rep);

#endif
