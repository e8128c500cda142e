/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What a string of a settings file may be, for each kind of entry the
 * schema names (enum policy_entry_kind), and the form it is stored in.
 * Domains and addresses go through the gateway's parsers (gateway/host.c)
 * and paths are resolved against the workspace and the home folder. The
 * checks stand apart from the walk over the keys (policy-json.c): each
 * looks at one string, never at the JSON around it.
 *
 * The strings may come from a file someone else wrote (a repository's
 * file named with --settings): one is stored only once its check has
 * passed, and otherwise the caller gets the reason.
 */
#include "config.h"

#include "policy/policy-internal.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/util.h"
#include "gateway/host.h"

/*
 * Checks a host pattern of network.allowedDomains (deny_list false) or
 * deniedDomains with the gateway's own parser (gateway/host.c), so that
 * what the settings accept is exactly what the gateway enforces. Two
 * common mistakes get a message of their own first.
 */
static const char *domain_check(const char *s, bool deny_list)
{
	struct host_pattern pat;
	const char *why = NULL;

	if (!*s)
		return "a domain must not be empty";
	if (strstr(s, "://"))
		return "a domain takes no scheme: write \"example.com\", "
		       "not \"https://example.com\"";
	if (strchr(s, '/'))
		return "a domain takes no path";
	if (host_pattern_parse(s, deny_list, &pat, &why) < 0)
		return why ? why : "not a valid domain pattern";
	return NULL;
}

/* An address or CIDR block of network.allowAddresses. */
static const char *address_check(const char *s)
{
	struct host_addr_range r;
	const char *why = NULL;

	if (host_addr_range_parse(s, &r, &why) < 0)
		return why ? why : "not an IP address or CIDR block";
	return NULL;
}

/* network.parentProxy.http/https: "http://HOST:PORT". */
static const char *proxy_url_check(const char *s)
{
	const char *rest = strncmp(s, "http://", 7) == 0 ? s + 7 : NULL;
	const char *colon = rest ? strrchr(rest, ':') : NULL;
	unsigned long long port;
	struct host h;
	const char *why;
	size_t n;

	if (!rest || !colon || parse_u64(colon + 1, &port) < 0 || port == 0 ||
	    port > 65535)
		return "expected \"http://HOST:PORT\"";
	n = (size_t)(colon - rest);
	if (n >= 2 && rest[0] == '[' && rest[n - 1] == ']') {
		rest++;
		n -= 2;
	}
	if (host_canon(rest, n, &h, &why) < 0)
		return why;
	return NULL;
}

/* Credential and route names: [A-Za-z0-9._-], 1 to POLICY_NAME_MAX_CHARS. */
bool policy_name_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

static const char *name_check(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > POLICY_NAME_MAX_CHARS)
		return "a name has 1 to 64 characters";
	for (; *s; s++)
		if (!policy_name_char(*s))
			return "a name has only letters, digits, '.', '_' "
			       "and '-'";
	return NULL;
}

bool policy_env_name_valid(const char *s)
{
	if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
	      *s == '_'))
		return false;
	for (s++; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		      (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

/* An HTTP token (RFC 9110): method and header names. */
static bool token_valid(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		      (*s >= '0' && *s <= '9') ||
		      strchr("!#$%&'*+-.^_`|~", *s)))
			return false;
	return true;
}

/* A method of network.requestRules, stored in upper case. */
static char *method_convert(const char *s, const char **why)
{
	char *out;

	*why = "not an HTTP method name";
	if (!token_valid(s))
		return NULL;
	out = xstrdup(s);
	for (char *c = out; *c; c++)
		if (*c >= 'a' && *c <= 'z')
			*c = (char)(*c - 'a' + 'A');
	return out;
}

/*
 * An injected header's name. Headers that frame the request or describe
 * the connection are the gateway's own to write.
 */
static const char *header_check(const char *s)
{
	static const char *const framing[] = {
		"Host", "Content-Length", "Transfer-Encoding", "Connection",
		"Keep-Alive", "TE", "Trailer", "Upgrade", NULL,
	};

	if (!token_valid(s))
		return "not a valid header name";
	if (strncasecmp(s, "Proxy-", 6) == 0)
		return "a Proxy- header never reaches the server";
	for (size_t i = 0; framing[i]; i++)
		if (strcasecmp(s, framing[i]) == 0)
			return "the gateway writes this header itself; a "
			       "credential cannot go in it";
	return NULL;
}

/*
 * A path prefix, compared with request paths as the client wrote them:
 * so it must be in the form a request uses, and mean one thing.
 */
static const char *url_path_check(const char *s)
{
	if (s[0] != '/')
		return "a path must start with '/'";
	if (strstr(s, "..") || strstr(s, "//"))
		return "a path must not contain \"..\" or \"//\"";
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c <= ' ' || c >= 0x7f)
			return "a path must be printable ASCII without blanks";
		if (c == '%' || c == '?' || c == '#')
			return "a path must not contain '%', '?' or '#'";
	}
	return NULL;
}

/* credentials.secrets[].hosts: "HOST[:PORT][/PATH]" */
static const char *cred_host_check(const char *s)
{
	const char *slash = strchr(s, '/');
	_cleanup_free_ char *host = NULL;
	const char *why;

	if (!slash || strstr(s, "://"))
		return domain_check(s, false);
	host = xstrndup(s, (size_t)(slash - s));
	why = domain_check(host, false);
	return why ? why : url_path_check(slash);
}

/*
 * network.routes[].upstream: "https://HOST[:PORT][/PATH]", stored with
 * the host canonical and without a trailing '/'.
 */
static char *upstream_convert(const char *s, const char **why)
{
	_cleanup_free_ char *hostport = NULL, *base = NULL;
	const char *rest, *slash;
	struct host_pattern pat;
	char port[8] = "";
	bool v6;
	size_t n;

	*why = "expected \"https://HOST[:PORT][/PATH]\"";
	if (strncmp(s, "https://", strlen("https://")) != 0)
		return NULL;
	rest = s + strlen("https://");
	slash = strchr(rest, '/');
	n = slash ? (size_t)(slash - rest) : strlen(rest);
	if (n == 0)
		return NULL;
	hostport = xstrndup(rest, n);
	if (host_pattern_parse(hostport, false, &pat, why) < 0) {
		if (!*why)
			*why = "not a valid host";
		return NULL;
	}
	if (pat.kind != HOST_PATTERN_EXACT) {
		*why = "an upstream is one host, not a pattern";
		return NULL;
	}
	base = xstrdup(slash ? slash : "");
	*why = *base ? url_path_check(base) : NULL;
	if (*why)
		return NULL;

	n = strlen(base);
	while (n > 0 && base[n - 1] == '/')
		base[--n] = '\0';
	if (pat.port)
		snprintf(port, sizeof(port), ":%u", pat.port);
	v6 = pat.host.kind == HOST_IPV6;
	return xasprintf("https://%s%s%s%s%s", v6 ? "[" : "", pat.host.text,
			 v6 ? "]" : "", port, base);
}

/*
 * Write rules bind whole trees, so a pattern for everything beneath a
 * folder (the folder, then slash-star-star) means the folder itself, as
 * it does for srt on Linux.
 */
static char *write_path_resolve(const struct policy *p, const char *s,
				const char **why)
{
	char *out = policy_resolve_path(p, s, why);
	size_t len;

	while (out && (len = strlen(out)) >= 3 &&
	       streq(out + len - 3, "/**")) {
		out[len - 3] = '\0';
		if (len == 3)
			strcpy(out, "/");
	}
	return out;
}

char *policy_entry_convert(const struct policy *p, enum policy_entry_kind kind,
			   const char *s, const char **why)
{
	switch (kind) {
	case POLICY_ENTRY_ANY:
		return xstrdup(s);
	case POLICY_ENTRY_NONEMPTY:
		*why = "must not be empty";
		return *s ? xstrdup(s) : NULL;
	case POLICY_ENTRY_PATH:
		return policy_resolve_path(p, s, why);
	case POLICY_ENTRY_WRITE_PATH:
		return write_path_resolve(p, s, why);
	case POLICY_ENTRY_MASK:
		return policy_resolve_mask(p, s, why);
	case POLICY_ENTRY_PROTECT:
		return policy_resolve_protect(p, s, why);
	case POLICY_ENTRY_ALLOW_DOMAIN:
	case POLICY_ENTRY_DENY_DOMAIN:
		*why = domain_check(s, kind == POLICY_ENTRY_DENY_DOMAIN);
		return *why ? NULL : xstrdup(s);
	case POLICY_ENTRY_ENV_NAME:
		*why = "not a valid environment variable name (letters, "
		       "digits and '_', not starting with a digit)";
		return policy_env_name_valid(s) ? xstrdup(s) : NULL;
	case POLICY_ENTRY_ADDRESS:
		*why = address_check(s);
		return *why ? NULL : xstrdup(s);
	case POLICY_ENTRY_PROXY_URL:
		*why = proxy_url_check(s);
		return *why ? NULL : xstrdup(s);
	case POLICY_ENTRY_NAME:
		*why = name_check(s);
		return *why ? NULL : xstrdup(s);
	case POLICY_ENTRY_CRED_HOST:
		*why = cred_host_check(s);
		return *why ? NULL : xstrdup(s);
	case POLICY_ENTRY_URL_PATH:
		*why = url_path_check(s);
		return *why ? NULL : xstrdup(s);
	case POLICY_ENTRY_METHOD:
		return method_convert(s, why);
	case POLICY_ENTRY_HEADER:
		*why = header_check(s);
		return *why ? NULL : xstrdup(s);
	case POLICY_ENTRY_UPSTREAM:
		return upstream_convert(s, why);
	}
	*why = "unsupported entry";
	return NULL;
}
