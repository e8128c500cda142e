/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Credentials the agent uses without ever reading them, request rules and
 * base-URL routes: what the gateway does to plain requests it can see
 * (plain HTTP, and HTTPS it terminates).
 *
 * A credential's real value is read here, in the gateway, and nowhere
 * else. The sandbox gets a placeholder of the same length and prefix, so
 * that a client's own format checks pass and substituting it keeps every
 * length right. In a request to a host the credential is bound to, over
 * TLS (or plain HTTP where the policy allows it), the placeholder becomes
 * the value, in the head and, where the policy says so, the body; to any
 * other host, a request that carries the placeholder is refused and
 * recorded. A response that echoes a value has the placeholder put back.
 * Injected credentials are added as a header the agent never sends.
 */
#include "config.h"

#include "gateway/gw.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "policy/policy.h"

/* A credential's value may be this long at most. */
#define CRED_VALUE_MAX 16384
/* How long a credential's command may take. */
#define CRED_COMMAND_TIMEOUT_MS 30000
/* At most this many credentials per run (a bit each in creds_used). */
#define CRED_MAX 64

struct gw_cred_host {
	struct host_pattern pat;
	char *path; /* prefix, or NULL */
};

struct gw_cred {
	char *name;
	uint32_t index;       /* in the policy's list */
	enum policy_cred_use use;
	char *value;          /* the real value: never logged */
	size_t len;
	char *placeholder;    /* same length; shown inside unless injected */
	bool shown;           /* the sandbox sees the placeholder */
	char *header;         /* inject */
	char *inject;         /* inject: the header's value, formatted */
	char *value_b64;      /* Basic: the value as it goes, base64 */
	char *placeholder_b64; /* and what an echo of it becomes */
	size_t b64_len;
	struct gw_cred_host *hosts;
	size_t n_hosts;
	bool body;
};

struct gw_req_rule {
	struct host_pattern pat;
	struct strv methods;
	struct strv paths;
	char *reason;
};

struct gw_creds {
	struct gw_cred *v;
	size_t n;
	size_t longest;       /* the longest placeholder or value */
	struct gw_req_rule *rules;
	size_t n_rules;
	struct gw_route *routes;
	size_t n_routes;
	struct host_pattern *exclude; /* tlsTerminate.excludeDomains */
	size_t n_exclude;
	bool plaintext_ok;
};

/* ---- reading the values ---- */

/* Runs argv and returns its standard output (trailing newlines cut). */
static int value_from_command(const struct strv *argv, char **out)
{
	int pfd[2], status, r;
	pid_t pid;
	size_t len = 0;
	char *buf = xmalloc(CRED_VALUE_MAX + 1);
	struct timespec t0;

	if (pipe2(pfd, O_CLOEXEC) < 0) {
		free(buf);
		return -errno;
	}
	pid = fork();
	if (pid < 0) {
		r = -errno;
		close(pfd[0]);
		close(pfd[1]);
		free(buf);
		return r;
	}
	if (pid == 0) {
		dup2(pfd[1], STDOUT_FILENO);
		signal(SIGPIPE, SIG_DFL);
		execvp(argv->items[0], argv->items);
		_exit(127);
	}
	close(pfd[1]);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = 0;
	for (;;) {
		struct pollfd p = { .fd = pfd[0], .events = POLLIN };
		struct timespec t1;
		long spent;
		ssize_t n;

		clock_gettime(CLOCK_MONOTONIC, &t1);
		spent = (t1.tv_sec - t0.tv_sec) * 1000 +
			(t1.tv_nsec - t0.tv_nsec) / 1000000;
		if (spent >= CRED_COMMAND_TIMEOUT_MS) {
			r = -ETIMEDOUT;
			break;
		}
		if (poll(&p, 1, (int)(CRED_COMMAND_TIMEOUT_MS - spent)) < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		n = read(pfd[0], buf + len, CRED_VALUE_MAX - len);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len == CRED_VALUE_MAX) {
			r = -EFBIG;
			break;
		}
	}
	close(pfd[0]);
	if (r < 0)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (r == 0 && (!WIFEXITED(status) || WEXITSTATUS(status) != 0))
		r = -ECHILD;
	buf[len] = '\0';
	if (r < 0) {
		OPENSSL_cleanse(buf, len);
		free(buf);
		return r;
	}
	*out = buf;
	return 0;
}

/* Cuts trailing newlines; a value that is otherwise empty is refused. */
static size_t value_trim(char *v)
{
	size_t len = strlen(v);

	while (len && (v[len - 1] == '\n' || v[len - 1] == '\r'))
		v[--len] = '\0';
	return len;
}

/* Reads a credential's value; -ENOENT when its source is not there. */
static int value_read(const struct policy_credential *pc, char **out,
		      const char **what)
{
	const char *env;

	switch (pc->source) {
	case POLICY_CRED_FROM_ENV:
		*what = "the variable is not set";
		env = getenv(pc->from);
		if (!env || !*env)
			return -ENOENT;
		*out = xstrdup(env);
		return 0;
	case POLICY_CRED_FROM_FILE:
		*what = "the file cannot be read";
		return read_file(pc->from, CRED_VALUE_MAX, out);
	case POLICY_CRED_FROM_COMMAND:
		*what = "its command failed";
		return value_from_command(&pc->command, out);
	}
	return -EINVAL;
}

/* ---- placeholders ---- */

static bool is_alnum(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9');
}

/*
 * The prefix a placeholder keeps, so that clients that check a key's kind
 * accept it: short segments of lower-case letters and digits, each ending
 * in '-' or '_', in the first quarter of the value and its first 16 bytes
 * ("sk-ant-api03-", "ghp_", "xoxb-", "github_pat_"). Random text rarely
 * looks like that, and what is kept is never more than a few bytes.
 */
static size_t prefix_len(const char *v, size_t len)
{
	size_t n = 0, seg = 0;

	for (size_t i = 0; i < len / 4 && i < 16; i++) {
		char ch = v[i];

		if (ch == '-' || ch == '_') {
			if (seg == 0)
				break;
			n = i + 1;
			seg = 0;
			continue;
		}
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')) ||
		    ++seg > 8)
			break;
	}
	return n;
}

/*
 * A placeholder of the same length: the prefix kept, every other letter
 * or digit drawn at random (the same class: digit, lower or upper case),
 * everything else kept. -EINVAL when that leaves too little randomness.
 */
int gw_placeholder_make(const char *v, size_t len, size_t min_random,
			char **out)
{
	static const char *const classes[] = {
		"0123456789", "abcdefghijklmnopqrstuvwxyz",
		"ABCDEFGHIJKLMNOPQRSTUVWXYZ",
	};
	size_t keep = prefix_len(v, len), random = 0;
	unsigned char rnd[CRED_VALUE_MAX];
	char *p = xmalloc(len + 1);

	if (RAND_bytes(rnd, (int)len) != 1) {
		free(p);
		return -EIO;
	}
	for (size_t i = 0; i < len; i++) {
		const char *set;
		size_t n;

		p[i] = v[i];
		if (i < keep || !is_alnum(v[i]))
			continue;
		set = v[i] <= '9' ? classes[0] :
		      v[i] >= 'a' ? classes[1] : classes[2];
		n = strlen(set);
		/* drop draws that would bias the choice */
		while (rnd[i] >= 256 - 256 % n)
			if (RAND_bytes(&rnd[i], 1) != 1) {
				free(p);
				return -EIO;
			}
		p[i] = set[rnd[i] % n];
		random++;
	}
	p[len] = '\0';
	OPENSSL_cleanse(rnd, sizeof(rnd));
	if (random < min_random || memcmp(p, v, len) == 0) {
		free(p);
		return -EINVAL;
	}
	*out = p;
	return 0;
}

/* ---- building ---- */

static char *base64_of(const char *v, size_t len)
{
	char *b64 = xmalloc(4 * ((len + 2) / 3) + 1);

	EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)v,
			(int)len);
	return b64;
}

static char *inject_value(struct gw_cred *cr,
			  const struct policy_credential *pc)
{
	switch (pc->scheme) {
	case POLICY_INJECT_BEARER:
		return xasprintf("Bearer %s", cr->value);
	case POLICY_INJECT_BASIC:
		/* an echo of the header shows the value only in base64 */
		cr->value_b64 = base64_of(cr->value, cr->len);
		cr->placeholder_b64 = base64_of(cr->placeholder, cr->len);
		cr->b64_len = strlen(cr->value_b64);
		return xasprintf("Basic %s", cr->value_b64);
	case POLICY_INJECT_RAW:
		break;
	}
	return xstrdup(cr->value);
}

/* A value must be fit for a header: printable ASCII, no CR or LF. */
static bool value_fits_header(const char *v, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] > 0x7e)
			return false;
	return true;
}

static int host_with_path_parse(const char *s, struct gw_cred_host *h)
{
	const char *slash = strchr(s, '/');
	_cleanup_free_ char *hp = slash ? xstrndup(s, (size_t)(slash - s)) :
					  xstrdup(s);
	const char *why;

	if (host_pattern_parse(hp, false, &h->pat, &why) < 0) {
		log_error("gateway: credential host '%s': %s", s, why);
		return -EINVAL;
	}
	h->path = slash ? xstrdup(slash) : NULL;
	return 0;
}

static int cred_build(struct gw_cred *cr, const struct policy_credential *pc,
		      uint32_t index, char *value)
{
	size_t len = value_trim(value);

	cr->name = xstrdup(pc->name);
	cr->index = index;
	cr->use = pc->use;
	cr->value = value;
	cr->len = len;
	cr->body = pc->body;
	cr->shown = pc->use == POLICY_CRED_PLACEHOLDER;
	if (len == 0) {
		log_error("gateway: credential %s is empty", pc->name);
		return -EINVAL;
	}
	/* an injected value's placeholder only masks its echoes, and is
	 * never taken for the value (find_placeholder): any draw will do */
	if (gw_placeholder_make(value, len, cr->shown ?
				GW_PLACEHOLDER_RANDOM_MIN : 1,
				&cr->placeholder) < 0) {
		if (cr->shown)
			log_error("gateway: credential %s is too short to "
				  "stand in for safely (it needs %d letters or "
				  "digits after its prefix); inject it as a "
				  "header instead", pc->name,
				  GW_PLACEHOLDER_RANDOM_MIN);
		else
			log_error("gateway: credential %s has no letter or "
				  "digit after its prefix to mask its echoes "
				  "with", pc->name);
		return -EINVAL;
	}
	if (pc->use == POLICY_CRED_INJECT) {
		if (!value_fits_header(value, len)) {
			log_error("gateway: credential %s cannot go in a header "
				  "(control or non-ASCII bytes)", pc->name);
			return -EINVAL;
		}
		cr->header = xstrdup(pc->header ? pc->header : "Authorization");
		cr->inject = inject_value(cr, pc);
	}
	cr->hosts = xcalloc(pc->hosts.len ? pc->hosts.len : 1,
			    sizeof(*cr->hosts));
	for (size_t i = 0; i < pc->hosts.len; i++) {
		if (host_with_path_parse(pc->hosts.items[i], &cr->hosts[i]) < 0)
			return -EINVAL;
		cr->n_hosts++;
	}
	return 0;
}

static int rules_build(struct gw_creds *cr, const struct policy *p)
{
	cr->rules = xcalloc(p->n_request_rules + 1, sizeof(*cr->rules));
	for (size_t i = 0; i < p->n_request_rules; i++) {
		const struct policy_request_rule *pr = &p->request_rules[i];
		struct gw_req_rule *r = &cr->rules[cr->n_rules];
		const char *why;

		if (host_pattern_parse(pr->host, false, &r->pat, &why) < 0) {
			log_error("gateway: request rule host '%s': %s",
				  pr->host, why);
			return -EINVAL;
		}
		strv_copy(&r->methods, &pr->methods);
		strv_copy(&r->paths, &pr->paths);
		r->reason = pr->reason ? xstrdup(pr->reason) : NULL;
		cr->n_rules++;
	}
	return 0;
}

static int route_build(struct gw_route *rt, const struct policy_route *pr)
{
	const char *rest = pr->upstream + strlen("https://");
	const char *slash = strchr(rest, '/');
	struct http_slice s = { rest, slash ? (size_t)(slash - rest) :
					       strlen(rest) };
	struct http_target t;
	const char *why = NULL;

	if (strncmp(pr->upstream, "https://", 8) != 0 ||
	    http_parse_authority(s, &t, &why) < 0 ||
	    host_canon(t.host.p, t.host.len, &rt->host, &why) < 0) {
		log_error("gateway: route %s: bad upstream '%s': %s", pr->name,
			  pr->upstream, why ? why : "not https://");
		return -EINVAL;
	}
	rt->name = xstrdup(pr->name);
	rt->port = t.port ? t.port : 443;
	rt->base = xstrdup(slash && strcmp(slash, "/") ? slash : "");
	rt->authority = xstrndup(s.p, s.len);
	return 0;
}

int gw_creds_load(struct gw_run *run, const struct policy *p)
{
	struct gw_creds *cr;
	int r = 0;

	if (!p->n_credentials && !p->n_request_rules && !p->n_routes)
		return 0;
	if (p->n_credentials > CRED_MAX) {
		log_error("gateway: at most %d credentials per run", CRED_MAX);
		return -EINVAL;
	}
	cr = xcalloc(1, sizeof(*cr));
	run->creds = cr;
	cr->plaintext_ok = p->allow_plaintext_inject;
	cr->v = xcalloc(p->n_credentials + 1, sizeof(*cr->v));
	for (size_t i = 0; i < p->n_credentials && r == 0; i++) {
		const struct policy_credential *pc = &p->credentials[i];
		const char *what = NULL;
		char *value = NULL;

		r = value_read(pc, &value, &what);
		if (r < 0 && pc->optional) {
			log_info("gateway: credential %s skipped: %s", pc->name,
				 what);
			r = 0;
			continue;
		}
		if (r < 0) {
			log_error("gateway: credential %s: %s (%s)", pc->name,
				  what, strerror(-r));
			break;
		}
		r = cred_build(&cr->v[cr->n++], pc, (uint32_t)i, value);
	}
	for (size_t i = 0; i < cr->n; i++) {
		if (cr->v[i].len > cr->longest)
			cr->longest = cr->v[i].len;
		if (cr->v[i].b64_len > cr->longest)
			cr->longest = cr->v[i].b64_len;
	}
	if (r == 0)
		r = rules_build(cr, p);
	cr->routes = xcalloc(p->n_routes + 1, sizeof(*cr->routes));
	for (size_t i = 0; i < p->n_routes && r == 0; i++) {
		r = route_build(&cr->routes[i], &p->routes[i]);
		if (r == 0)
			cr->n_routes++;
	}
	cr->exclude = xcalloc(p->tls_exclude.len + 1, sizeof(*cr->exclude));
	for (size_t i = 0; i < p->tls_exclude.len && r == 0; i++) {
		const char *why;

		if (host_pattern_parse(p->tls_exclude.items[i], false,
				       &cr->exclude[cr->n_exclude], &why) == 0)
			cr->n_exclude++;
	}
	return r;
}

void gw_creds_free(struct gw_creds *cr)
{
	if (!cr)
		return;
	for (size_t i = 0; i < cr->n; i++) {
		struct gw_cred *c = &cr->v[i];

		if (c->value)
			OPENSSL_cleanse(c->value, c->len);
		if (c->inject)
			OPENSSL_cleanse(c->inject, strlen(c->inject));
		if (c->value_b64)
			OPENSSL_cleanse(c->value_b64, c->b64_len);
		free(c->value);
		free(c->inject);
		free(c->value_b64);
		free(c->placeholder_b64);
		free(c->placeholder);
		free(c->header);
		free(c->name);
		for (size_t j = 0; j < c->n_hosts; j++)
			free(c->hosts[j].path);
		free(c->hosts);
	}
	free(cr->v);
	for (size_t i = 0; i < cr->n_rules; i++) {
		strv_clear(&cr->rules[i].methods);
		strv_clear(&cr->rules[i].paths);
		free(cr->rules[i].reason);
	}
	free(cr->rules);
	for (size_t i = 0; i < cr->n_routes; i++) {
		free(cr->routes[i].name);
		free(cr->routes[i].base);
		free(cr->routes[i].authority);
	}
	free(cr->routes);
	free(cr->exclude);
	free(cr);
}

size_t gw_creds_placeholders(const struct gw_creds *cr, char **out)
{
	struct buf b = { 0 };
	size_t len;

	for (size_t i = 0; cr && i < cr->n; i++) {
		uint32_t hdr[2] = { cr->v[i].index, (uint32_t)cr->v[i].len };

		if (!cr->v[i].shown)
			continue;
		buf_append(&b, hdr, sizeof(hdr), SIZE_MAX);
		buf_append(&b, cr->v[i].placeholder, cr->v[i].len, SIZE_MAX);
	}
	len = buf_len(&b);
	*out = len ? xmalloc(len) : NULL;
	if (len)
		memcpy(*out, buf_head(&b), len);
	buf_free(&b, false);
	return len;
}

const struct gw_route *gw_creds_route(const struct gw_run *run, uint32_t i)
{
	const struct gw_creds *cr = run->creds;

	return cr && i < cr->n_routes ? &cr->routes[i] : NULL;
}

/* ---- matching ---- */

/*
 * A path that means the same under every normalisation: no dot
 * segments, no empty segments, no escaped slash, dot or backslash.
 */
bool gw_path_plain(const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		const char *s = p + i;
		size_t left = len - i;

		if (*s == '?' || *s == '#')
			break;
		if (*s == '\\')
			return false;
		if (*s == '%' && left >= 3 &&
		    (strncasecmp(s, "%2f", 3) == 0 ||
		     strncasecmp(s, "%2e", 3) == 0 ||
		     strncasecmp(s, "%5c", 3) == 0))
			return false;
		if (*s == '/' && left >= 2 && s[1] == '/')
			return false;
		if (*s == '/' && left >= 2 && s[1] == '.' &&
		    (left == 2 || s[2] == '/' || s[2] == '?' || s[2] == '#' ||
		     (s[2] == '.' && (left == 3 || s[3] == '/' ||
				      s[3] == '?' || s[3] == '#'))))
			return false;
	}
	return true;
}

/* prefix "/v1/messages" matches "/v1/messages", "/v1/messages/x", "?q". */
bool gw_path_under(const char *path, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);

	if (len < n || memcmp(path, prefix, n) != 0)
		return false;
	return len == n || prefix[n - 1] == '/' || path[n] == '/' ||
	       path[n] == '?' || path[n] == '#';
}

static bool cred_bound(const struct gw_run *run, const struct gw_cred *cr,
		       const struct host *h, uint16_t port, const char *path,
		       size_t path_len)
{
	struct gw_verdict v;

	if (cr->n_hosts == 0) {
		gw_run_decide(run, h, port, &v);
		return v.allow;
	}
	for (size_t i = 0; i < cr->n_hosts; i++) {
		const struct gw_cred_host *ch = &cr->hosts[i];

		if (!host_pattern_match(&ch->pat, h, port, false))
			continue;
		if (!ch->path || (path && gw_path_plain(path, path_len) &&
				  gw_path_under(path, path_len, ch->path)))
			return true;
	}
	return false;
}

/* Bound to host:port at all, whatever the path: then it is terminated. */
static bool cred_host_bound(const struct gw_run *run,
			    const struct gw_cred *cr, const struct host *h,
			    uint16_t port)
{
	if (cr->n_hosts == 0)
		return cred_bound(run, cr, h, port, NULL, 0);
	for (size_t i = 0; i < cr->n_hosts; i++)
		if (host_pattern_match(&cr->hosts[i].pat, h, port, false))
			return true;
	return false;
}

bool gw_creds_need_tls(const struct gw_run *run, const struct host *h,
		       uint16_t port)
{
	const struct gw_creds *cr = run->creds;

	if (!cr || !run->tls)
		return false;
	for (size_t i = 0; i < cr->n_exclude; i++)
		if (host_pattern_match(&cr->exclude[i], h, port, false))
			return false;
	for (size_t i = 0; i < cr->n_rules; i++)
		if (host_pattern_match(&cr->rules[i].pat, h, port, false))
			return true;
	for (size_t i = 0; i < cr->n; i++)
		if (cred_host_bound(run, &cr->v[i], h, port))
			return true;
	return false;
}

/* ---- requests ---- */

/* The request rules for c's host; false with *reason when refused. */
static bool rules_allow(const struct gw_conn *c, const struct http_head *h,
			const char *path, size_t len, const char **reason,
			char *buf, size_t size)
{
	const struct gw_creds *cr = c->run->creds;
	const struct gw_req_rule *first = NULL;

	for (size_t i = 0; i < cr->n_rules; i++) {
		const struct gw_req_rule *r = &cr->rules[i];
		bool method_ok = r->methods.len == 0, path_ok = r->paths.len == 0;

		if (!host_pattern_match(&r->pat, &c->host, c->port, false))
			continue;
		if (!first)
			first = r;
		for (size_t j = 0; j < r->methods.len && !method_ok; j++)
			method_ok = h->method.len == strlen(r->methods.items[j]) &&
				    memcmp(h->method.p, r->methods.items[j],
					   h->method.len) == 0;
		for (size_t j = 0; j < r->paths.len && !path_ok; j++)
			path_ok = gw_path_plain(path, len) &&
				  gw_path_under(path, len, r->paths.items[j]);
		if (method_ok && path_ok)
			return true;
	}
	if (!first)
		return true;
	if (first->reason) {
		*reason = first->reason;
	} else {
		size_t n = 0;

		while (n < len && path[n] != '?' && path[n] != '#')
			n++;
		snprintf(buf, size, "%.*s %.*s is not allowed on this host",
			 (int)(h->method.len < 16 ? h->method.len : 16),
			 h->method.p, (int)(n < 80 ? n : 80), path);
		*reason = buf;
	}
	return false;
}

/* Can a bound credential go out on c (TLS upstream, or plain allowed)? */
static bool transport_ok(const struct gw_conn *c)
{
	return c->up.ssl || c->run->creds->plaintext_ok;
}

/*
 * Finds the first placeholder the sandbox holds in [p, p+len); its index
 * or -1. An injected credential's placeholder is not one: the sandbox
 * never has it, and it may be too short to tell from ordinary text.
 */
static int find_placeholder(const struct gw_creds *cr, const char *p,
			    size_t len, size_t *at)
{
	int best = -1;

	for (size_t i = 0; i < cr->n; i++) {
		const char *m;

		if (!cr->v[i].shown)
			continue;
		m = memmem(p, len, cr->v[i].placeholder, cr->v[i].len);

		if (m && (best < 0 || (size_t)(m - p) < *at)) {
			best = (int)i;
			*at = (size_t)(m - p);
		}
	}
	return best;
}

/*
 * Decides, for each placeholder in the span, whether it may be replaced
 * here; false with *reason when one may not go to this host at all.
 */
static bool span_check(struct gw_conn *c, const char *p, size_t len,
		       const char *path, size_t path_len, const char **reason,
		       char *buf, size_t size)
{
	const struct gw_creds *cr = c->run->creds;
	size_t off = 0, at = 0;
	int i;

	while (off < len && (i = find_placeholder(cr, p + off, len - off,
						  &at)) >= 0) {
		const struct gw_cred *cd = &cr->v[i];

		if (!cred_bound(c->run, cd, &c->host, c->port, path,
				path_len)) {
			snprintf(buf, size, "credential %s may not be sent to "
				 "this host", cd->name);
			*reason = buf;
			return false;
		}
		if (!transport_ok(c)) {
			snprintf(buf, size, "credential %s goes to this host "
				 "only over TLS", cd->name);
			*reason = buf;
			return false;
		}
		off += at + cd->len;
	}
	return true;
}

/* Appends src to o with each placeholder replaced by its value. */
static bool append_substituted(struct gw_conn *c, struct buf *o,
			       const char *p, size_t len)
{
	const struct gw_creds *cr = c->run->creds;
	size_t off = 0, at = 0;
	int i;

	while (off < len && (i = find_placeholder(cr, p + off, len - off,
						  &at)) >= 0) {
		if (!buf_append(o, p + off, at, GW_XFER_MAX_BYTES) ||
		    !buf_append(o, cr->v[i].value, cr->v[i].len,
				GW_XFER_MAX_BYTES))
			return false;
		c->creds_used |= UINT64_C(1) << i;
		off += at + cr->v[i].len;
	}
	return buf_append(o, p + off, len - off, GW_XFER_MAX_BYTES);
}

static bool injected_here(const struct gw_conn *c, const struct gw_cred *cd,
			  const char *path, size_t len)
{
	return cd->use == POLICY_CRED_INJECT && transport_ok(c) &&
	       cred_bound(c->run, cd, &c->host, c->port, path, len);
}

static bool header_injected(const struct gw_conn *c, struct http_slice name,
			    const char *path, size_t len)
{
	const struct gw_creds *cr = c->run->creds;

	for (size_t i = 0; i < cr->n; i++)
		if (http_slice_eq(name, cr->v[i].header ? cr->v[i].header : "") &&
		    injected_here(c, &cr->v[i], path, len))
			return true;
	return false;
}

static bool is_field(const struct http_header *f, const char *const *names)
{
	for (size_t i = 0; names[i]; i++)
		if (http_slice_eq(f->name, names[i]))
			return true;
	return false;
}

bool gw_creds_request(struct gw_conn *c, const struct http_head *h,
		      struct http_slice path, const char **rule,
		      const char **reason, char *buf, size_t size)
{
	static const char *const proxy_only[] = {
		"proxy-connection", "proxy-authorization", "keep-alive", NULL,
	};
	static const char *const host_field[] = { "host", NULL };
	const struct gw_creds *cr = c->run->creds;
	const struct gw_route *rt = c->route;
	struct buf *o = &c->up_out;
	_cleanup_free_ char *full = NULL;
	const char *pp = path.p;
	size_t plen = path.len;
	char line[64];
	int n;

	if (rt && *rt->base) {
		full = xasprintf("%s%.*s", rt->base, (int)path.len, path.p);
		pp = full;
		plen = strlen(full);
	}
	if (plen == 0 || (pp[0] != '/' && pp[0] != '*')) {
		full = xasprintf("/%.*s", (int)plen, pp);
		pp = full;
		plen = strlen(full);
	}
	*rule = "credential";
	if (cr) {
		if (!span_check(c, h->target.p, h->target.len, pp, plen,
				reason, buf, size))
			return false;
		for (size_t i = 0; i < h->n_headers; i++)
			if (!span_check(c, h->headers[i].value.p,
					h->headers[i].value.len, pp, plen,
					reason, buf, size))
				return false;
		*rule = "request-rule";
		if (!rules_allow(c, h, pp, plen, reason, buf, size))
			return false;
	}
	*rule = "malformed";
	*reason = "request head too large";
	if (!buf_append(o, h->method.p, h->method.len, GW_XFER_MAX_BYTES) ||
	    !buf_append(o, " ", 1, GW_XFER_MAX_BYTES) ||
	    !(cr ? append_substituted(c, o, pp, plen) :
		   buf_append(o, pp, plen, GW_XFER_MAX_BYTES)))
		return false;
	n = snprintf(line, sizeof(line), " HTTP/1.%d\r\n", h->minor);
	if (!buf_append(o, line, (size_t)n, GW_XFER_MAX_BYTES))
		return false;
	for (size_t i = 0; i < h->n_headers; i++) {
		const struct http_header *f = &h->headers[i];

		if (is_field(f, proxy_only) || (rt && is_field(f, host_field)) ||
		    (cr && header_injected(c, f->name, pp, plen)))
			continue;
		if (!buf_append(o, f->name.p, f->name.len, GW_XFER_MAX_BYTES) ||
		    !buf_append(o, ": ", 2, GW_XFER_MAX_BYTES) ||
		    !(cr ? append_substituted(c, o, f->value.p, f->value.len) :
			   buf_append(o, f->value.p, f->value.len,
				      GW_XFER_MAX_BYTES)) ||
		    !buf_append(o, "\r\n", 2, GW_XFER_MAX_BYTES))
			return false;
	}
	if (h->host < 0 || rt) {
		const char *auth = rt ? rt->authority : NULL;
		_cleanup_free_ char *made = NULL;

		if (!auth) {
			bool v6 = c->host.kind == HOST_IPV6;

			made = xasprintf("%s%s%s:%u", v6 ? "[" : "",
					 c->host.text, v6 ? "]" : "", c->port);
			auth = made;
		}
		if (!buf_append(o, "Host: ", 6, GW_XFER_MAX_BYTES) ||
		    !buf_append(o, auth, strlen(auth), GW_XFER_MAX_BYTES) ||
		    !buf_append(o, "\r\n", 2, GW_XFER_MAX_BYTES))
			return false;
	}
	for (size_t i = 0; cr && i < cr->n; i++) {
		const struct gw_cred *cd = &cr->v[i];

		if (!injected_here(c, cd, pp, plen))
			continue;
		if (!buf_append(o, cd->header, strlen(cd->header),
				GW_XFER_MAX_BYTES) ||
		    !buf_append(o, ": ", 2, GW_XFER_MAX_BYTES) ||
		    !buf_append(o, cd->inject, strlen(cd->inject),
				GW_XFER_MAX_BYTES) ||
		    !buf_append(o, "\r\n", 2, GW_XFER_MAX_BYTES))
			return false;
		c->creds_used |= UINT64_C(1) << i;
	}
	return buf_append(o, "\r\n", 2, GW_XFER_MAX_BYTES);
}

/* ---- bodies ---- */

/* How much of n scanned bytes may go: all when last, else less a tail. */
static size_t release(size_t n, bool last, size_t longest, size_t scanned)
{
	size_t keep = longest ? longest - 1 : 0;
	size_t ok = last ? n : (n > keep ? n - keep : 0);

	return ok > scanned ? ok : scanned;
}

ssize_t gw_creds_request_body(struct gw_conn *c, size_t n, bool last,
			      const char **reason)
{
	const struct gw_creds *cr = c->run->creds;
	char *p = (char *)buf_head(&c->in);
	const char *path = c->http.path ? c->http.path : "/";
	size_t path_len = strlen(path), off = 0, at = 0;
	int i;

	if (!cr || !cr->n)
		return (ssize_t)n;
	while (off < n && (i = find_placeholder(cr, p + off, n - off, &at)) >= 0) {
		struct gw_cred *cd = &cr->v[i];
		bool bound = cred_bound(c->run, cd, &c->host, c->port, path,
					path_len);

		if (!cd->body || !bound || !transport_ok(c)) {
			*reason = cd->body && bound ?
					  "a credential goes to this host "
					  "only over TLS" :
					  "a request body carries a "
					  "credential's placeholder that may "
					  "not go to this host";
			return -1;
		}
		memcpy(p + off + at, cd->value, cd->len);
		c->creds_used |= UINT64_C(1) << i;
		off += at + cd->len;
	}
	c->req_scanned = release(n, last, cr->longest, c->req_scanned);
	return (ssize_t)c->req_scanned;
}

size_t gw_creds_response(struct gw_conn *c, size_t n, bool last)
{
	const struct gw_creds *cr = c->run->creds;
	char *p = (char *)buf_head(&c->up_in);

	if (!cr || !c->creds_used)
		return n;
	for (size_t i = 0; i < cr->n; i++) {
		const struct gw_cred *cd = &cr->v[i];
		char *m;

		if (!(c->creds_used & (UINT64_C(1) << i)))
			continue;
		while ((m = memmem(p, n, cd->value, cd->len)))
			memcpy(m, cd->placeholder, cd->len);
		while (cd->value_b64 &&
		       (m = memmem(p, n, cd->value_b64, cd->b64_len)))
			memcpy(m, cd->placeholder_b64, cd->b64_len);
	}
	c->resp_scanned = release(n, last, cr->longest, c->resp_scanned);
	return c->resp_scanned;
}

const char *gw_creds_names(const struct gw_conn *c, char *buf, size_t size)
{
	const struct gw_creds *cr = c->run->creds;
	size_t o = 0;

	if (!cr || !c->creds_used || size == 0)
		return NULL;
	buf[0] = '\0';
	for (size_t i = 0; i < cr->n; i++) {
		int n;

		if (!(c->creds_used & (UINT64_C(1) << i)))
			continue;
		n = snprintf(buf + o, size - o, "%s%s", o ? "," : "",
			     cr->v[i].name);
		if (n < 0 || (size_t)n >= size - o)
			break;
		o += (size_t)n;
	}
	return buf;
}
