/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reads one settings file into the policy being built. jansson checks the
 * syntax; then one table of known keys per section checks each member's
 * type, and values that airlock uses are merged into struct policy,
 * either straight into the field the table names or through a small
 * handler. Keys sandbox-runtime (srt) accepts but airlock does not use
 * are checked the same way and then dropped, except those of srt's
 * structured masking, which are refused: dropping them would leave a
 * secret readable. Every problem is recorded, with the position
 * policy-index.c found for its key.
 *
 * The text may come from a file someone else wrote (a repository's file
 * named with --settings), so its size is capped, nothing here depends on
 * its nesting beyond the schema's, and values of env.set, which may be
 * secrets, never appear in a message.
 */
#include "config.h"

#include "policy/policy-internal.h"

#include <errno.h>
#include <arpa/inet.h>
#include <jansson.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

#include "common/strv.h"
#include "common/util.h"
#include "gateway/host.h"

/* Largest number accepted anywhere (json_int_t is long long). */
#define WHOLE_MAX_VALUE INT64_MAX

/*
 * Entries per array. Far above any real list; it keeps the merge, which
 * skips duplicates by comparing with every earlier entry, fast.
 */
#define ARRAY_MAX_ENTRIES 10000

/*
 * A mistaken unmask is compared with every mask (paths up to 128
 * characters), so suggestions stop beyond this many masks or errors.
 */
#define SUGGEST_MAX_MASKS 256
#define SUGGEST_MAX_ERRORS 20

/* Widest srt allows for windows.proxyPortRange. */
#define PORT_RANGE_MAX_WIDTH 64

/* Longest name of a credential or a route. */
#define NAME_MAX_CHARS 64

enum key_type {
	KEY_BOOL,	 /* true or false */
	KEY_STRING,	 /* a string, checked as .entry says */
	KEY_ENUM,	 /* a string among .choices */
	KEY_WHOLE,	 /* a whole number from .min to .max */
	KEY_SIZE,	 /* bytes: a whole number or a string like "512M" */
	KEY_STRINGS,	 /* an array of strings, each checked as .entry says */
	KEY_OBJECT,	 /* an object whose keys are in .fields */
	KEY_OBJECTS,	 /* an array of such objects */
	KEY_STRING_MAP,	 /* an object of strings under any names */
	KEY_STRINGS_MAP, /* an object of arrays of strings under any names */
	KEY_PORT_RANGE,	 /* [low, high], two port numbers */
	KEY_ADDR_MAP,	 /* an object of strings or string arrays */
	KEY_API_ONLY,	 /* srt takes it from its library only, not a file */
	KEY_STRUCTURED,	 /* srt's structured masking: refused */
};

/* How a string (alone or in an array) is checked and converted. */
enum entry_kind {
	ENTRY_ANY,
	ENTRY_NONEMPTY,
	ENTRY_PATH,	   /* resolved by policy_resolve_path */
	ENTRY_WRITE_PATH,  /* the same, without a trailing slash-star-star */
	ENTRY_MASK,	   /* resolved by policy_resolve_mask */
	ENTRY_PROTECT,	   /* normalised by policy_resolve_protect */
	ENTRY_ALLOW_DOMAIN, /* host pattern with optional ":port" */
	ENTRY_DENY_DOMAIN, /* the same, or "*" */
	ENTRY_ENV_NAME,	   /* [A-Za-z_][A-Za-z0-9_]* */
	ENTRY_ADDRESS,	   /* an IP address or CIDR block */
	ENTRY_PROXY_URL,   /* http://ADDRESS:PORT */
	ENTRY_NAME,	   /* credentials, routes: [A-Za-z0-9._-]{1,64} */
	ENTRY_CRED_HOST,   /* ENTRY_ALLOW_DOMAIN, then an optional path */
	ENTRY_URL_PATH,	   /* a path prefix of HTTP requests */
	ENTRY_METHOD,	   /* an HTTP method, stored upper-case */
	ENTRY_HEADER,	   /* a header a credential may be injected in */
	ENTRY_UPSTREAM,	   /* https://HOST[:PORT][/PATH], normalised */
};

struct reader;

struct key_spec {
	const char *name;
	enum key_type type;
	bool required;
	enum entry_kind entry;
	const struct key_spec *fields;	/* KEY_OBJECT, KEY_OBJECTS */
	const char *const *choices;	/* KEY_ENUM */
	long long min, max;		/* KEY_WHOLE */

	/* Where the value lands: a bool, a uint64_t or a struct strv. */
	bool stored;
	size_t offset;

	/* Called with each converted string entry that passed its check. */
	void (*add)(struct reader *r, const char *path, const char *entry);
	/*
	 * Called with each map member, or with an object (alone or in an
	 * array) whose members had no error.
	 */
	void (*apply)(struct reader *r, const char *path, const char *name,
		      json_t *v);
};

/* The state of reading one file. */
struct reader {
	struct policy_merge *m;
	const char *file;
	struct policy_index idx;
	struct strv unmask;	  /* resolved entries, applied at the end */
	struct strv unmask_paths; /* their key paths, for messages */
};

#define FIELD(f) .stored = true, .offset = offsetof(struct policy, f)

static void reader_error(struct reader *r, const char *path,
			 const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static char *path_child(const char *parent, const char *name);
static char *entry_convert(struct reader *r, enum entry_kind kind,
			   const char *s, const char **why);
static int whole_read(json_t *v, long long min, long long max,
		      long long *out);
static bool name_char(char c);

/* ---- handlers for values that need more than a field ---- */

static void add_unmask(struct reader *r, const char *path, const char *entry)
{
	if (strv_contains(&r->unmask, entry))
		return;
	strv_push(&r->unmask, entry);
	strv_push(&r->unmask_paths, path);
}

static void apply_denied_reason(struct reader *r, const char *path,
				const char *name, json_t *v)
{
	struct policy *p = r->m->p;

	if (json_string_length(v) == 0) {
		reader_error(r, path, "a reason must not be empty");
		return;
	}
	policy_env_var_put(&p->denied_domain_reasons,
			   &p->n_denied_domain_reasons, name,
			   json_string_value(v));
}

static bool env_name_valid(const char *s)
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

/* The value is not named in any message: it may be a secret. */
static void apply_env_set(struct reader *r, const char *path,
			  const char *name, json_t *v)
{
	struct policy *p = r->m->p;

	if (!env_name_valid(name)) {
		reader_error(r, path,
			     "not a valid environment variable name");
		return;
	}
	if (strlen(json_string_value(v)) != json_string_length(v)) {
		reader_error(r, path, "the value must not contain NUL");
		return;
	}
	policy_env_var_put(&p->env_set, &p->n_env_set, name,
			   json_string_value(v));
}

/* network.hosts: "name": "address" or "name": ["address", ...] */
static void apply_host(struct reader *r, const char *path, const char *name,
		       json_t *v)
{
	struct policy *p = r->m->p;
	struct policy_host *h;
	struct host canon;
	const char *why;
	size_t i, n = json_is_array(v) ? json_array_size(v) : 1;

	if (host_canon(name, strlen(name), &canon, &why) < 0 ||
	    canon.kind != HOST_NAME) {
		reader_error(r, path, "not a host name%s%s", why ? ": " : "",
			     why ? why : "");
		return;
	}
	for (i = 0; i < n; i++) {
		json_t *a = json_is_array(v) ? json_array_get(v, i) : v;
		struct sockaddr_in6 probe;

		if (!json_is_string(a) ||
		    (inet_pton(AF_INET, json_string_value(a), &probe) != 1 &&
		     inet_pton(AF_INET6, json_string_value(a), &probe) != 1)) {
			reader_error(r, path, "expected an IP address or an "
				     "array of them");
			return;
		}
	}
	for (i = 0; i < p->n_hosts && !streq(p->hosts[i].name, canon.text); i++)
		;
	if (i == p->n_hosts) {
		p->hosts = xreallocarray(p->hosts, p->n_hosts + 1,
					 sizeof(*p->hosts));
		p->hosts[p->n_hosts++] = (struct policy_host){
			.name = xstrdup(canon.text),
		};
	}
	h = &p->hosts[i];
	strv_clear(&h->addrs); /* a later source replaces the pin */
	for (size_t j = 0; j < n; j++)
		strv_push(&h->addrs, json_string_value(
			json_is_array(v) ? json_array_get(v, j) : v));
}

static void set_string(char **slot, const char *value)
{
	free(*slot);
	*slot = xstrdup(value);
}

/* parentProxy: https is used for every onward connection, else http. */
static void add_parent_https(struct reader *r, const char *path,
			     const char *entry)
{
	set_string(&r->m->p->parent_proxy, entry);
	r->m->parent_https_set = true;
}

static void add_parent_http(struct reader *r, const char *path,
			    const char *entry)
{
	if (!r->m->parent_https_set)
		set_string(&r->m->p->parent_proxy, entry);
}

static void add_audit_file(struct reader *r, const char *path,
			   const char *entry)
{
	set_string(&r->m->p->audit_file, entry);
}

/* ---- credentials, request rules, routes, TLS termination ---- */

/* The place of the entry at path, to name it in later messages. */
static struct policy_origin reader_origin(struct reader *r, const char *path)
{
	struct policy_origin o = {
		.file = xstrdup(r->file),
		.key = xstrdup(path),
	};

	policy_index_find(&r->idx, path, &o.line, &o.column);
	return o;
}

/*
 * Reports, at member key of the entry at path, that value belongs to the
 * kind of entry named owner, written at o.
 */
static void reader_taken(struct reader *r, const char *path, const char *key,
			 const char *value, const char *kind,
			 const char *owner, const struct policy_origin *o)
{
	_cleanup_free_ char *at = policy_origin_text(o);
	_cleanup_free_ char *p = path_child(path, key);

	reader_error(r, p, "\"%s\" is taken already by %s \"%s\", at %s",
		     value, kind, owner, at);
}

/* The stored form of obj's string member key, or NULL when it is absent. */
static char *member_take(struct reader *r, json_t *obj, const char *key,
			 enum entry_kind kind)
{
	const char *s = json_string_value(json_object_get(obj, key));
	const char *why;

	return s ? entry_convert(r, kind, s, &why) : NULL;
}

/* Appends the stored form of each string of obj's array member key. */
static void members_take(struct reader *r, json_t *obj, const char *key,
			 enum entry_kind kind, struct strv *out)
{
	json_t *list = json_object_get(obj, key), *item;
	size_t i;

	json_array_foreach(list, i, item) {
		const char *why;
		char *e = entry_convert(r, kind, json_string_value(item), &why);

		if (e)
			strv_push_owned(out, e);
	}
}

/* An array member, when given, must not be empty: that would mean "any". */
static bool member_list_given_empty(struct reader *r, const char *path,
				    json_t *obj, const char *key)
{
	json_t *list = json_object_get(obj, key);
	_cleanup_free_ char *p = NULL;

	if (!list || json_array_size(list) > 0)
		return false;
	p = path_child(path, key);
	reader_error(r, p, "must not be empty; leave the key out instead");
	return true;
}

static ssize_t credential_find(const struct policy *p, const char *name)
{
	for (size_t i = 0; i < p->n_credentials; i++)
		if (streq(p->credentials[i].name, name))
			return (ssize_t)i;
	return -1;
}

/*
 * A name for a credential that srt's settings leave unnamed: base with
 * every character outside the name alphabet replaced by '_', then "-2",
 * "-3" and so on while the name is taken.
 */
static char *name_derive(const struct policy *p, const char *base)
{
	char stem[NAME_MAX_CHARS - 3 + 1]; /* room for "-" and two digits */
	size_t n;
	char *name;

	for (n = 0; base[n] && n < sizeof(stem) - 1; n++)
		stem[n] = name_char(base[n]) ? base[n] : '_';
	stem[n] = '\0';
	name = xstrdup(n ? stem : "credential");
	for (unsigned int i = 2; credential_find(p, name) >= 0; i++) {
		free(name);
		name = xasprintf("%s-%u", n ? stem : "credential", i);
	}
	return name;
}

/*
 * Checks c against what is merged already: a credential's name, the
 * variable and the file that show its placeholder each belong to one
 * credential, and a variable to a credential or a route. env_key and
 * file_key name the members that messages point at.
 */
static bool credential_fits(struct reader *r, const char *path,
			    const struct policy_credential *c,
			    const char *env_key, const char *file_key)
{
	const struct policy *p = r->m->p;
	bool fits = true;

	if (p->n_credentials >= POLICY_CREDENTIALS_MAX) {
		reader_error(r, path, "more than %d credentials",
			     POLICY_CREDENTIALS_MAX);
		return false;
	}
	for (size_t i = 0; i < p->n_credentials; i++) {
		const struct policy_credential *o = &p->credentials[i];
		const struct policy_origin *at = &r->m->cred_origins[i];

		if (streq(o->name, c->name)) {
			reader_taken(r, path, "name", c->name, "credential",
				     o->name, at);
			fits = false;
		}
		if (c->env && o->env && streq(c->env, o->env)) {
			reader_taken(r, path, env_key, c->env, "credential",
				     o->name, at);
			fits = false;
		}
		if (c->file && o->file && streq(c->file, o->file)) {
			reader_taken(r, path, file_key, c->file, "credential",
				     o->name, at);
			fits = false;
		}
	}
	for (size_t i = 0; c->env && i < p->n_routes; i++) {
		if (!p->routes[i].env || !streq(c->env, p->routes[i].env))
			continue;
		reader_taken(r, path, env_key, c->env, "route",
			     p->routes[i].name, &r->m->route_origins[i]);
		fits = false;
	}
	return fits;
}

/*
 * Merges c, or drops it when it does not fit. Its source file and its
 * placeholder file join the masks, so that a sandbox which shows no
 * placeholder there still never shows the real value.
 */
static void credential_add(struct reader *r, const char *path,
			   struct policy_credential *c, const char *env_key,
			   const char *file_key)
{
	struct policy *p = r->m->p;
	struct policy_origin o;

	if (!credential_fits(r, path, c, env_key, file_key)) {
		policy_credential_clear(c);
		return;
	}
	if (c->source == POLICY_CRED_FROM_FILE)
		strv_push_unique(&p->mask, c->from);
	if (c->file)
		strv_push_unique(&p->mask, c->file);
	o = reader_origin(r, path);
	policy_credential_append(r->m, c, &o);
}

/*
 * An srt entry with mode "mask": a placeholder, skipped when its source
 * is missing (as srt does), bound to injectHosts or else to every allowed
 * host. key names the member that messages about it point at.
 */
static void srt_mask_add(struct reader *r, const char *path, json_t *v,
			 struct policy_credential *c, const char *base,
			 const char *key)
{
	c->name = name_derive(r->m->p, base);
	c->use = POLICY_CRED_PLACEHOLDER;
	c->optional = true;
	members_take(r, v, "injectHosts", ENTRY_ALLOW_DOMAIN, &c->hosts);
	credential_add(r, path, c, key, key);
}

/*
 * srt's credential files: "deny" masks the file (it appears empty);
 * "mask" shows a placeholder in it, and the gateway puts the real content
 * back in requests to injectHosts.
 */
static void apply_credential_file(struct reader *r, const char *path,
				  const char *name, json_t *v)
{
	const char *mode = json_string_value(json_object_get(v, "mode"));
	_cleanup_free_ char *file = member_take(r, v, "path", ENTRY_PATH);
	struct policy_credential c = { .source = POLICY_CRED_FROM_FILE };
	const char *slash;

	if (!file || !mode)
		return;
	if (streq(mode, "deny")) {
		strv_push_unique(&r->m->p->mask, file);
		return;
	}
	slash = strrchr(file, '/');
	c.from = xstrdup(file);
	c.file = xstrdup(file);
	srt_mask_add(r, path, v, &c, slash ? slash + 1 : file, "path");
}

/*
 * srt's credential variables: "deny" keeps the variable out of the
 * sandbox; "mask" sets it inside to a placeholder.
 */
static void apply_credential_env(struct reader *r, const char *path,
				 const char *name, json_t *v)
{
	const char *var = json_string_value(json_object_get(v, "name"));
	const char *mode = json_string_value(json_object_get(v, "mode"));
	struct policy_credential c = { .source = POLICY_CRED_FROM_ENV };

	if (!var || !mode)
		return;
	if (streq(mode, "deny")) {
		strv_push_unique(&r->m->p->deny_env, var);
		return;
	}
	c.from = xstrdup(var);
	c.env = xstrdup(var);
	srt_mask_add(r, path, v, &c, var, "name");
}

/* credentials.secrets[].from, .optional and .hosts */
static int secret_source(struct reader *r, const char *path, json_t *v,
			 struct policy_credential *c)
{
	json_t *from = json_object_get(v, "from");
	_cleanup_free_ char *from_path = path_child(path, "from");
	_cleanup_free_ char *hosts_path = path_child(path, "hosts");

	if (json_object_size(from) != 1) {
		reader_error(r, from_path, "expected exactly one of \"env\", "
			     "\"file\" or \"command\"");
		return -EINVAL;
	}
	c->name = member_take(r, v, "name", ENTRY_NAME);
	c->optional = json_is_true(json_object_get(v, "optional"));
	if (json_object_get(from, "env")) {
		c->source = POLICY_CRED_FROM_ENV;
		c->from = member_take(r, from, "env", ENTRY_ENV_NAME);
	} else if (json_object_get(from, "file")) {
		c->source = POLICY_CRED_FROM_FILE;
		c->from = member_take(r, from, "file", ENTRY_PATH);
	} else {
		c->source = POLICY_CRED_FROM_COMMAND;
		members_take(r, from, "command", ENTRY_ANY, &c->command);
	}
	if (c->source == POLICY_CRED_FROM_COMMAND &&
	    (c->command.len == 0 || !*c->command.items[0])) {
		_cleanup_free_ char *p = path_child(from_path, "command");

		reader_error(r, p, "expected the program, then its arguments");
		return -EINVAL;
	}
	members_take(r, v, "hosts", ENTRY_CRED_HOST, &c->hosts);
	if (c->hosts.len == 0) {
		reader_error(r, hosts_path, "name at least one host the "
			     "credential may go to");
		return -EINVAL;
	}
	return 0;
}

/* Refuses the members that belong to the other use. */
static int secret_refuse_keys(struct reader *r, const char *path, json_t *v,
			      const char *const *keys, const char *use)
{
	int ret = 0;

	for (size_t i = 0; keys[i]; i++) {
		_cleanup_free_ char *p = NULL;

		if (!json_object_get(v, keys[i]))
			continue;
		p = path_child(path, keys[i]);
		reader_error(r, p, "goes only with \"use\": \"%s\"", use);
		ret = -EINVAL;
	}
	return ret;
}

static enum policy_inject_scheme scheme_of(const char *scheme,
					   const char *header)
{
	if (!scheme)
		return strcasecmp(header, "Authorization") == 0 ?
			       POLICY_INJECT_BEARER : POLICY_INJECT_RAW;
	if (streq(scheme, "bearer"))
		return POLICY_INJECT_BEARER;
	if (streq(scheme, "basic"))
		return POLICY_INJECT_BASIC;
	return POLICY_INJECT_RAW;
}

/* credentials.secrets[].use and the members that go with it */
static int secret_use(struct reader *r, const char *path, json_t *v,
		      struct policy_credential *c)
{
	static const char *const placeholder_keys[] = {
		"env", "file", "body", NULL,
	};
	static const char *const inject_keys[] = { "header", "scheme", NULL };
	const char *use = json_string_value(json_object_get(v, "use"));

	if (use && streq(use, "inject")) {
		c->use = POLICY_CRED_INJECT;
		if (secret_refuse_keys(r, path, v, placeholder_keys,
				       "placeholder") < 0)
			return -EINVAL;
		c->header = member_take(r, v, "header", ENTRY_HEADER);
		if (!c->header)
			c->header = xstrdup("Authorization");
		c->scheme = scheme_of(json_string_value(json_object_get(
					      v, "scheme")), c->header);
		return 0;
	}

	c->use = POLICY_CRED_PLACEHOLDER;
	if (secret_refuse_keys(r, path, v, inject_keys, "inject") < 0)
		return -EINVAL;
	c->env = member_take(r, v, "env", ENTRY_ENV_NAME);
	if (!c->env && c->source == POLICY_CRED_FROM_ENV)
		c->env = xstrdup(c->from);
	c->file = member_take(r, v, "file", ENTRY_PATH);
	c->body = json_is_true(json_object_get(v, "body"));
	if (!c->env && !c->file) {
		reader_error(r, path, "a placeholder needs \"env\" or "
			     "\"file\": where the command finds it");
		return -EINVAL;
	}
	return 0;
}

/* credentials.secrets[]: airlock's own credentials. */
static void apply_secret(struct reader *r, const char *path,
			 const char *name, json_t *v)
{
	struct policy_credential c = { 0 };

	if (secret_source(r, path, v, &c) < 0 ||
	    secret_use(r, path, v, &c) < 0) {
		policy_credential_clear(&c);
		return;
	}
	credential_add(r, path, &c, "env", "file");
}

/* network.requestRules[] */
static void apply_request_rule(struct reader *r, const char *path,
			       const char *name, json_t *v)
{
	struct policy *p = r->m->p;
	struct policy_request_rule *rule;

	if (member_list_given_empty(r, path, v, "methods") ||
	    member_list_given_empty(r, path, v, "paths"))
		return;
	p->request_rules = xreallocarray(p->request_rules,
					 p->n_request_rules + 1,
					 sizeof(*p->request_rules));
	rule = &p->request_rules[p->n_request_rules++];
	*rule = (struct policy_request_rule){
		.host = member_take(r, v, "host", ENTRY_ALLOW_DOMAIN),
		.reason = member_take(r, v, "reason", ENTRY_NONEMPTY),
	};
	members_take(r, v, "methods", ENTRY_METHOD, &rule->methods);
	members_take(r, v, "paths", ENTRY_URL_PATH, &rule->paths);
}

/*
 * Checks rt against the routes and credentials merged already. A port
 * written in a later file is checked against the defaults when every
 * source is read (policy.c).
 */
static bool route_fits(struct reader *r, const char *path,
		       const struct policy_route *rt)
{
	const struct policy *p = r->m->p;
	char port[8];
	bool fits = true;

	if (p->n_routes >= POLICY_ROUTES_MAX) {
		reader_error(r, path, "more than %d routes", POLICY_ROUTES_MAX);
		return false;
	}
	snprintf(port, sizeof(port), "%u", rt->port);
	for (size_t i = 0; i < p->n_routes; i++) {
		const struct policy_route *o = &p->routes[i];
		const struct policy_origin *at = &r->m->route_origins[i];

		if (streq(o->name, rt->name)) {
			reader_taken(r, path, "name", rt->name, "route",
				     o->name, at);
			fits = false;
		}
		if (rt->port && o->port == rt->port) {
			reader_taken(r, path, "port", port, "route", o->name,
				     at);
			fits = false;
		}
		if (rt->env && o->env && streq(rt->env, o->env)) {
			reader_taken(r, path, "env", rt->env, "route", o->name,
				     at);
			fits = false;
		}
	}
	for (size_t i = 0; rt->env && i < p->n_credentials; i++) {
		if (!p->credentials[i].env ||
		    !streq(rt->env, p->credentials[i].env))
			continue;
		reader_taken(r, path, "env", rt->env, "credential",
			     p->credentials[i].name, &r->m->cred_origins[i]);
		fits = false;
	}
	return fits;
}

/* network.routes[] */
static void apply_route(struct reader *r, const char *path, const char *name,
			json_t *v)
{
	json_t *port = json_object_get(v, "port");
	struct policy_route rt = {
		.name = member_take(r, v, "name", ENTRY_NAME),
		.upstream = member_take(r, v, "upstream", ENTRY_UPSTREAM),
		.env = member_take(r, v, "env", ENTRY_ENV_NAME),
	};
	struct policy_origin o;
	long long n = 0;

	if (port && whole_read(port, 1, 65535, &n) == 0 &&
	    policy_route_port_reserved((unsigned int)n)) {
		_cleanup_free_ char *p = path_child(path, "port");

		reader_error(r, p, "port %lld is one of the gateway's own "
			     "(53, 80, 443, 1080, 3128)", n);
		policy_route_clear(&rt);
		return;
	}
	rt.port = (uint16_t)n;
	if (!route_fits(r, path, &rt)) {
		policy_route_clear(&rt);
		return;
	}
	o = reader_origin(r, path);
	policy_route_append(r->m, &rt, &o);
}

/* network.tlsTerminate: the CA's certificate and key go together. */
static void apply_tls_terminate(struct reader *r, const char *path,
				const char *name, json_t *v)
{
	struct policy *p = r->m->p;
	char *cert = member_take(r, v, "caCertPath", ENTRY_PATH);
	char *key = member_take(r, v, "caKeyPath", ENTRY_PATH);

	if (!cert != !key) {
		reader_error(r, path, "caCertPath and caKeyPath go together: "
			     "give both or neither");
		free(cert);
		free(key);
		return;
	}
	if (!cert)
		return;
	free(p->tls_ca_cert);
	free(p->tls_ca_key);
	p->tls_ca_cert = cert;
	p->tls_ca_key = key;
}

/* ---- the schema ---- */

static const char *const credential_modes[] = { "deny", "mask", NULL };
static const char *const credential_uses[] = { "placeholder", "inject", NULL };
static const char *const inject_schemes[] = {
	"bearer", "basic", "raw", NULL,
};

static const struct key_spec mitm_proxy_keys[] = {
	{ .name = "socketPath", .type = KEY_STRING, .required = true,
	  .entry = ENTRY_NONEMPTY },
	{ .name = "domains", .type = KEY_STRINGS, .required = true,
	  .entry = ENTRY_ALLOW_DOMAIN },
	{ .name = NULL },
};

static const struct key_spec tls_terminate_keys[] = {
	{ .name = "caCertPath", .type = KEY_STRING, .entry = ENTRY_PATH },
	{ .name = "caKeyPath", .type = KEY_STRING, .entry = ENTRY_PATH },
	{ .name = "excludeDomains", .type = KEY_STRINGS,
	  .entry = ENTRY_ALLOW_DOMAIN, FIELD(tls_exclude) },
	{ .name = "extraCaCertPaths", .type = KEY_STRINGS,
	  .entry = ENTRY_PATH, FIELD(tls_extra_ca) },
	{ .name = "upstreamCaCertPaths", .type = KEY_STRINGS,
	  .entry = ENTRY_PATH, FIELD(upstream_ca) },
	{ .name = NULL },
};

static const struct key_spec request_rule_keys[] = {
	{ .name = "host", .type = KEY_STRING, .required = true,
	  .entry = ENTRY_ALLOW_DOMAIN },
	{ .name = "methods", .type = KEY_STRINGS, .entry = ENTRY_METHOD },
	{ .name = "paths", .type = KEY_STRINGS, .entry = ENTRY_URL_PATH },
	{ .name = "reason", .type = KEY_STRING, .entry = ENTRY_NONEMPTY },
	{ .name = NULL },
};

static const struct key_spec route_keys[] = {
	{ .name = "name", .type = KEY_STRING, .required = true,
	  .entry = ENTRY_NAME },
	{ .name = "upstream", .type = KEY_STRING, .required = true,
	  .entry = ENTRY_UPSTREAM },
	{ .name = "env", .type = KEY_STRING, .entry = ENTRY_ENV_NAME },
	{ .name = "port", .type = KEY_WHOLE, .min = 1, .max = 65535 },
	{ .name = NULL },
};

static const struct key_spec parent_proxy_keys[] = {
	{ .name = "http", .type = KEY_STRING, .entry = ENTRY_PROXY_URL,
	  .add = add_parent_http },
	{ .name = "https", .type = KEY_STRING, .entry = ENTRY_PROXY_URL,
	  .add = add_parent_https },
	{ .name = "noProxy", .type = KEY_STRING },
	{ .name = NULL },
};

static const struct key_spec network_keys[] = {
	{ .name = "allowedDomains", .type = KEY_STRINGS,
	  .entry = ENTRY_ALLOW_DOMAIN, FIELD(allowed_domains) },
	{ .name = "deniedDomains", .type = KEY_STRINGS,
	  .entry = ENTRY_DENY_DOMAIN, FIELD(denied_domains) },
	{ .name = "deniedDomainReasons", .type = KEY_STRING_MAP,
	  .apply = apply_denied_reason },
	{ .name = "allowUnixSockets", .type = KEY_STRINGS,
	  .entry = ENTRY_PATH, FIELD(allow_unix_sockets) },
	{ .name = "allowAllUnixSockets", .type = KEY_BOOL,
	  FIELD(allow_all_unix_sockets) },
	{ .name = "allowLocalBinding", .type = KEY_BOOL,
	  FIELD(allow_local_binding) },
	{ .name = "strictAllowlist", .type = KEY_BOOL },
	{ .name = "deniedResolvedAddresses", .type = KEY_STRINGS,
	  .entry = ENTRY_ADDRESS, FIELD(denied_resolved) },
	{ .name = "allowMachLookup", .type = KEY_STRINGS },
	{ .name = "httpProxyPort", .type = KEY_WHOLE, .min = 1, .max = 65535 },
	{ .name = "socksProxyPort", .type = KEY_WHOLE, .min = 1, .max = 65535 },
	{ .name = "mitmProxy", .type = KEY_OBJECT, .fields = mitm_proxy_keys },
	{ .name = "filterRequest", .type = KEY_API_ONLY },
	{ .name = "tlsTerminate", .type = KEY_OBJECT,
	  .fields = tls_terminate_keys, .apply = apply_tls_terminate },
	{ .name = "requestRules", .type = KEY_OBJECTS,
	  .fields = request_rule_keys, .apply = apply_request_rule },
	{ .name = "routes", .type = KEY_OBJECTS, .fields = route_keys,
	  .apply = apply_route },
	{ .name = "parentProxy", .type = KEY_OBJECT,
	  .fields = parent_proxy_keys },
	{ .name = "hosts", .type = KEY_ADDR_MAP, .apply = apply_host },
	{ .name = "allowAddresses", .type = KEY_STRINGS,
	  .entry = ENTRY_ADDRESS, FIELD(allow_addresses) },
	{ .name = NULL },
};

static const struct key_spec audit_keys[] = {
	{ .name = "file", .type = KEY_STRING, .entry = ENTRY_PATH,
	  .add = add_audit_file },
	{ .name = NULL },
};

static const struct key_spec filesystem_keys[] = {
	{ .name = "denyRead", .type = KEY_STRINGS, .entry = ENTRY_PATH,
	  FIELD(deny_read) },
	{ .name = "allowRead", .type = KEY_STRINGS, .entry = ENTRY_PATH,
	  FIELD(allow_read) },
	{ .name = "allowWrite", .type = KEY_STRINGS,
	  .entry = ENTRY_WRITE_PATH, FIELD(allow_write) },
	{ .name = "denyWrite", .type = KEY_STRINGS,
	  .entry = ENTRY_WRITE_PATH, FIELD(deny_write) },
	{ .name = "allowGitConfig", .type = KEY_BOOL,
	  FIELD(allow_git_config) },
	{ .name = "disabled", .type = KEY_BOOL },
	{ .name = "mask", .type = KEY_STRINGS, .entry = ENTRY_MASK,
	  FIELD(mask) },
	{ .name = "unmask", .type = KEY_STRINGS, .entry = ENTRY_MASK,
	  .add = add_unmask },
	{ .name = "protect", .type = KEY_STRINGS, .entry = ENTRY_PROTECT,
	  FIELD(protect) },
	{ .name = "readSystem", .type = KEY_BOOL, FIELD(read_system) },
	{ .name = NULL },
};

/*
 * LIMITATION: srt's structured masking (a placeholder for part of a value
 * or file: a regex capture, a JWT's claims, an AWS key pair re-signed) is
 * not supported. Its keys are refused, so that settings relying on it
 * fail rather than leave the rest of a secret readable.
 */
#define STRUCTURED_KEYS                                                  \
	{ .name = "extract", .type = KEY_STRUCTURED },                   \
	{ .name = "onExtractNoMatch", .type = KEY_STRUCTURED },          \
	{ .name = "decode", .type = KEY_STRUCTURED },                    \
	{ .name = "maskClaims", .type = KEY_STRUCTURED },                \
	{ .name = "scanVerbatim", .type = KEY_STRUCTURED }

static const struct key_spec credential_file_keys[] = {
	{ .name = "path", .type = KEY_STRING, .required = true,
	  .entry = ENTRY_NONEMPTY },
	{ .name = "mode", .type = KEY_ENUM, .required = true,
	  .choices = credential_modes },
	{ .name = "injectHosts", .type = KEY_STRINGS,
	  .entry = ENTRY_ALLOW_DOMAIN },
	{ .name = "maskDuplicates", .type = KEY_STRUCTURED },
	STRUCTURED_KEYS,
	{ .name = NULL },
};

static const struct key_spec credential_env_keys[] = {
	{ .name = "name", .type = KEY_STRING, .required = true,
	  .entry = ENTRY_ENV_NAME },
	{ .name = "mode", .type = KEY_ENUM, .required = true,
	  .choices = credential_modes },
	{ .name = "injectHosts", .type = KEY_STRINGS,
	  .entry = ENTRY_ALLOW_DOMAIN },
	STRUCTURED_KEYS,
	{ .name = NULL },
};

static const struct key_spec secret_from_keys[] = {
	{ .name = "env", .type = KEY_STRING, .entry = ENTRY_ENV_NAME },
	{ .name = "file", .type = KEY_STRING, .entry = ENTRY_PATH },
	{ .name = "command", .type = KEY_STRINGS, .entry = ENTRY_ANY },
	{ .name = NULL },
};

static const struct key_spec secret_keys[] = {
	{ .name = "name", .type = KEY_STRING, .required = true,
	  .entry = ENTRY_NAME },
	{ .name = "from", .type = KEY_OBJECT, .required = true,
	  .fields = secret_from_keys },
	{ .name = "optional", .type = KEY_BOOL },
	{ .name = "hosts", .type = KEY_STRINGS, .required = true,
	  .entry = ENTRY_CRED_HOST },
	{ .name = "use", .type = KEY_ENUM, .choices = credential_uses },
	{ .name = "env", .type = KEY_STRING, .entry = ENTRY_ENV_NAME },
	{ .name = "file", .type = KEY_STRING, .entry = ENTRY_PATH },
	{ .name = "body", .type = KEY_BOOL },
	{ .name = "header", .type = KEY_STRING, .entry = ENTRY_HEADER },
	{ .name = "scheme", .type = KEY_ENUM, .choices = inject_schemes },
	{ .name = NULL },
};

static const struct key_spec credentials_keys[] = {
	{ .name = "files", .type = KEY_OBJECTS, .fields = credential_file_keys,
	  .apply = apply_credential_file },
	{ .name = "envVars", .type = KEY_OBJECTS,
	  .fields = credential_env_keys, .apply = apply_credential_env },
	{ .name = "secrets", .type = KEY_OBJECTS, .fields = secret_keys,
	  .apply = apply_secret },
	{ .name = "allowPlaintextInject", .type = KEY_BOOL,
	  FIELD(allow_plaintext_inject) },
	{ .name = "awsPairs", .type = KEY_STRUCTURED },
	{ .name = "sigv4", .type = KEY_STRUCTURED },
	{ .name = "scanVerbatim", .type = KEY_STRUCTURED },
	{ .name = NULL },
};

static const struct key_spec ripgrep_keys[] = {
	{ .name = "command", .type = KEY_STRING, .required = true },
	{ .name = "args", .type = KEY_STRINGS },
	{ .name = "argv0", .type = KEY_STRING },
	{ .name = NULL },
};

static const struct key_spec seccomp_keys[] = {
	{ .name = "applyPath", .type = KEY_STRING },
	{ .name = "argv0", .type = KEY_STRING },
	{ .name = NULL },
};

static const struct key_spec srt_win_keys[] = {
	{ .name = "path", .type = KEY_STRING, .required = true,
	  .entry = ENTRY_NONEMPTY },
	{ .name = NULL },
};

static const struct key_spec windows_keys[] = {
	{ .name = "sandboxUser", .type = KEY_STRING, .entry = ENTRY_NONEMPTY },
	{ .name = "sublayerGuid", .type = KEY_STRING },
	{ .name = "wfpSublayerGuid", .type = KEY_STRING },
	{ .name = "proxyPortRange", .type = KEY_PORT_RANGE },
	{ .name = "srtWin", .type = KEY_OBJECT, .fields = srt_win_keys },
	{ .name = NULL },
};

static const struct key_spec git_keys[] = {
	{ .name = "safeDirectories", .type = KEY_STRINGS },
	{ .name = NULL },
};

static const struct key_spec env_keys[] = {
	{ .name = "pass", .type = KEY_STRINGS, .entry = ENTRY_ENV_NAME,
	  FIELD(env_pass) },
	{ .name = "set", .type = KEY_STRING_MAP, .apply = apply_env_set },
	{ .name = NULL },
};

static const struct key_spec limits_keys[] = {
	{ .name = "memory", .type = KEY_SIZE, FIELD(limits.memory_bytes) },
	{ .name = "processes", .type = KEY_WHOLE, .max = WHOLE_MAX_VALUE,
	  FIELD(limits.processes) },
	{ .name = "cpu", .type = KEY_WHOLE, .max = WHOLE_MAX_VALUE,
	  FIELD(limits.cpu_seconds) },
	{ .name = "openFiles", .type = KEY_WHOLE, .max = WHOLE_MAX_VALUE,
	  FIELD(limits.open_files) },
	{ .name = "fileSize", .type = KEY_SIZE,
	  FIELD(limits.file_size_bytes) },
	{ .name = "timeout", .type = KEY_WHOLE, .max = WHOLE_MAX_VALUE,
	  FIELD(limits.timeout_seconds) },
	{ .name = NULL },
};

static const struct key_spec top_keys[] = {
	{ .name = "$schema", .type = KEY_STRING },
	{ .name = "network", .type = KEY_OBJECT, .fields = network_keys },
	{ .name = "filesystem", .type = KEY_OBJECT, .fields = filesystem_keys },
	{ .name = "env", .type = KEY_OBJECT, .fields = env_keys },
	{ .name = "limits", .type = KEY_OBJECT, .fields = limits_keys },
	{ .name = "audit", .type = KEY_OBJECT, .fields = audit_keys },
	{ .name = "credentials", .type = KEY_OBJECT,
	  .fields = credentials_keys },
	{ .name = "ignoreViolations", .type = KEY_STRINGS_MAP },
	{ .name = "enableWeakerNestedSandbox", .type = KEY_BOOL },
	{ .name = "enableWeakerNetworkIsolation", .type = KEY_BOOL },
	{ .name = "allowAppleEvents", .type = KEY_BOOL },
	{ .name = "ripgrep", .type = KEY_OBJECT, .fields = ripgrep_keys },
	{ .name = "mandatoryDenySearchDepth", .type = KEY_WHOLE, .min = 1,
	  .max = 10 },
	{ .name = "allowPty", .type = KEY_BOOL },
	{ .name = "seccomp", .type = KEY_OBJECT, .fields = seccomp_keys },
	{ .name = "bwrapPath", .type = KEY_STRING, .entry = ENTRY_NONEMPTY },
	{ .name = "socatPath", .type = KEY_STRING, .entry = ENTRY_NONEMPTY },
	{ .name = "javaAgentJarPath", .type = KEY_STRING,
	  .entry = ENTRY_NONEMPTY },
	{ .name = "windows", .type = KEY_OBJECT, .fields = windows_keys },
	{ .name = "git", .type = KEY_OBJECT, .fields = git_keys },
	{ .name = NULL },
};

/* ---- messages ---- */

static void reader_error(struct reader *r, const char *path,
			 const char *fmt, ...)
{
	_cleanup_free_ char *msg = NULL;
	int line, column;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);

	policy_index_find(&r->idx, path, &line, &column);
	policy_error_add(r->m->errs, r->file, line, column, path, "%s",
			 msg ? msg : "invalid value");
}

static char *path_child(const char *parent, const char *name)
{
	if (!*parent)
		return xstrdup(name);
	return xasprintf("%s.%s", parent, name);
}

static char *path_element(const char *parent, size_t i)
{
	return xasprintf("%s[%zu]", parent, i);
}

static void *field_of(struct reader *r, const struct key_spec *k)
{
	return (char *)r->m->p + k->offset;
}

/* ---- entries: domains, names, paths ---- */

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

/* Credential and route names: [A-Za-z0-9._-], 1 to NAME_MAX_CHARS. */
static bool name_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

static const char *name_check(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > NAME_MAX_CHARS)
		return "a name has 1 to 64 characters";
	for (; *s; s++)
		if (!name_char(*s))
			return "a name has only letters, digits, '.', '_' "
			       "and '-'";
	return NULL;
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

/* Returns the stored form of entry, or NULL and a reason in *why. */
static char *entry_convert(struct reader *r, enum entry_kind kind,
			   const char *s, const char **why)
{
	switch (kind) {
	case ENTRY_ANY:
		return xstrdup(s);
	case ENTRY_NONEMPTY:
		*why = "must not be empty";
		return *s ? xstrdup(s) : NULL;
	case ENTRY_PATH:
		return policy_resolve_path(r->m->p, s, why);
	case ENTRY_WRITE_PATH:
		return write_path_resolve(r->m->p, s, why);
	case ENTRY_MASK:
		return policy_resolve_mask(r->m->p, s, why);
	case ENTRY_PROTECT:
		return policy_resolve_protect(r->m->p, s, why);
	case ENTRY_ALLOW_DOMAIN:
	case ENTRY_DENY_DOMAIN:
		*why = domain_check(s, kind == ENTRY_DENY_DOMAIN);
		return *why ? NULL : xstrdup(s);
	case ENTRY_ENV_NAME:
		*why = "not a valid environment variable name (letters, "
		       "digits and '_', not starting with a digit)";
		return env_name_valid(s) ? xstrdup(s) : NULL;
	case ENTRY_ADDRESS:
		*why = address_check(s);
		return *why ? NULL : xstrdup(s);
	case ENTRY_PROXY_URL:
		*why = proxy_url_check(s);
		return *why ? NULL : xstrdup(s);
	case ENTRY_NAME:
		*why = name_check(s);
		return *why ? NULL : xstrdup(s);
	case ENTRY_CRED_HOST:
		*why = cred_host_check(s);
		return *why ? NULL : xstrdup(s);
	case ENTRY_URL_PATH:
		*why = url_path_check(s);
		return *why ? NULL : xstrdup(s);
	case ENTRY_METHOD:
		return method_convert(s, why);
	case ENTRY_HEADER:
		*why = header_check(s);
		return *why ? NULL : xstrdup(s);
	case ENTRY_UPSTREAM:
		return upstream_convert(s, why);
	}
	*why = "unsupported entry";
	return NULL;
}

/* Checks one string of a KEY_STRING or KEY_STRINGS key and merges it. */
static void entry_take(struct reader *r, const struct key_spec *k,
		       json_t *v, const char *path)
{
	_cleanup_free_ char *e = NULL;
	const char *s = json_string_value(v);
	const char *why = "invalid";

	if (strlen(s) != json_string_length(v)) {
		reader_error(r, path, "must not contain NUL");
		return;
	}
	e = entry_convert(r, k->entry, s, &why);
	if (!e) {
		reader_error(r, path, "%s", why);
		return;
	}
	if (k->stored && k->type == KEY_STRINGS)
		strv_push_unique(field_of(r, k), e);
	if (k->add)
		k->add(r, path, e);
}

/* ---- numbers ---- */

/*
 * Reads a whole number, which JSON may also spell 1e3 or 4.0. Returns 0,
 * -EINVAL when v is not a whole number, -ERANGE when it is out of range.
 */
static int whole_read(json_t *v, long long min, long long max,
		      long long *out)
{
	long long n;

	if (json_is_integer(v)) {
		n = json_integer_value(v);
	} else if (json_is_real(v)) {
		double d = json_real_value(v);

		if (!(d > -9.0e18 && d < 9.0e18))
			return -ERANGE;
		n = (long long)d;
		if ((double)n != d)
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	if (n < min || n > max)
		return -ERANGE;
	*out = n;
	return 0;
}

/*
 * Parses "4096", "512K", "512M", "2G", "1T" (powers of 1024; the unit in
 * either case, optionally followed by "B" or "iB": "512MiB").
 */
static int size_parse(const char *s, uint64_t *out)
{
	char buf[32];
	size_t n = strlen(s);
	unsigned long long v;
	int r;

	if (n == 0 || n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, n + 1);
	if (n > 1 && buf[n - 1] == 'B') {
		buf[--n] = '\0';
		if (n > 2 && buf[n - 1] == 'i' &&
		    strchr("KMGTkmgt", buf[n - 2]))
			buf[--n] = '\0';
	}
	if (strchr("kmgt", buf[n - 1]))
		buf[n - 1] = (char)(buf[n - 1] - 'a' + 'A');
	r = parse_size(buf, &v);
	if (r < 0)
		return r;
	if (v > WHOLE_MAX_VALUE)
		return -ERANGE;
	*out = v;
	return 0;
}

/* ---- checking values against the table ---- */

static void check_members(struct reader *r, const struct key_spec *keys,
			  json_t *obj, const char *path);

static void check_bool(struct reader *r, const struct key_spec *k,
		       json_t *v, const char *path)
{
	bool *slot;

	if (!json_is_boolean(v)) {
		reader_error(r, path, "expected true or false");
		return;
	}
	if (!k->stored)
		return;
	slot = field_of(r, k);
	*slot = json_is_true(v);
}

static void check_string(struct reader *r, const struct key_spec *k,
			 json_t *v, const char *path)
{
	if (!json_is_string(v)) {
		reader_error(r, path, "expected a string");
		return;
	}
	entry_take(r, k, v, path);
}

static void check_enum(struct reader *r, const struct key_spec *k,
		       json_t *v, const char *path)
{
	const char *s = json_string_value(v);

	for (size_t i = 0; s && k->choices[i]; i++)
		if (streq(s, k->choices[i]))
			return;
	if (k->choices[1] && k->choices[2])
		reader_error(r, path, "expected \"%s\", \"%s\" or \"%s\"",
			     k->choices[0], k->choices[1], k->choices[2]);
	else if (k->choices[1])
		reader_error(r, path, "expected \"%s\" or \"%s\"",
			     k->choices[0], k->choices[1]);
	else
		reader_error(r, path, "expected \"%s\"", k->choices[0]);
}

static void check_whole(struct reader *r, const struct key_spec *k,
			json_t *v, const char *path)
{
	long long n;
	uint64_t *slot;
	int e = whole_read(v, k->min, k->max, &n);

	if (e == -EINVAL) {
		reader_error(r, path, "expected a whole number");
		return;
	}
	if (e == -ERANGE && k->max == WHOLE_MAX_VALUE) {
		reader_error(r, path, "must be a whole number from %lld up",
			     k->min);
		return;
	}
	if (e == -ERANGE) {
		reader_error(r, path, "must be from %lld to %lld", k->min,
			     k->max);
		return;
	}
	if (!k->stored)
		return;
	slot = field_of(r, k);
	*slot = (uint64_t)n;
}

static void check_size(struct reader *r, const struct key_spec *k,
		       json_t *v, const char *path)
{
	uint64_t bytes = 0, *slot;
	long long n = 0;
	int e;

	if (json_is_string(v)) {
		e = size_parse(json_string_value(v), &bytes);
	} else {
		e = whole_read(v, 0, WHOLE_MAX_VALUE, &n);
		bytes = (uint64_t)n;
	}
	if (e == -ERANGE) {
		reader_error(r, path, "size is too large or negative");
		return;
	}
	if (e < 0) {
		reader_error(r, path,
			     "expected a size: a number of bytes or a "
			     "string such as \"512M\" or \"2G\"");
		return;
	}
	if (!k->stored)
		return;
	slot = field_of(r, k);
	*slot = bytes;
}

static void check_strings(struct reader *r, const struct key_spec *k,
			  json_t *v, const char *path)
{
	size_t i;
	json_t *item;

	if (!json_is_array(v)) {
		reader_error(r, path, "expected an array of strings");
		return;
	}
	if (json_array_size(v) > ARRAY_MAX_ENTRIES) {
		reader_error(r, path, "more than %d entries",
			     ARRAY_MAX_ENTRIES);
		return;
	}
	json_array_foreach(v, i, item) {
		_cleanup_free_ char *p = path_element(path, i);

		if (!json_is_string(item))
			reader_error(r, p, "expected a string");
		else
			entry_take(r, k, item, p);
	}
}

static void check_object(struct reader *r, const struct key_spec *k,
			 json_t *v, const char *path)
{
	size_t before = r->m->errs->len;

	if (!json_is_object(v)) {
		reader_error(r, path, "expected an object");
		return;
	}
	check_members(r, k->fields, v, path);
	if (k->apply && r->m->errs->len == before)
		k->apply(r, path, NULL, v);
}

static void check_objects(struct reader *r, const struct key_spec *k,
			  json_t *v, const char *path)
{
	size_t i;
	json_t *item;

	if (!json_is_array(v)) {
		reader_error(r, path, "expected an array of objects");
		return;
	}
	if (json_array_size(v) > ARRAY_MAX_ENTRIES) {
		reader_error(r, path, "more than %d entries",
			     ARRAY_MAX_ENTRIES);
		return;
	}
	json_array_foreach(v, i, item) {
		_cleanup_free_ char *p = path_element(path, i);
		size_t before = r->m->errs->len;

		if (!json_is_object(item)) {
			reader_error(r, p, "expected an object");
			continue;
		}
		check_members(r, k->fields, item, p);
		if (k->apply && r->m->errs->len == before)
			k->apply(r, p, NULL, item);
	}
}

static void check_string_map(struct reader *r, const struct key_spec *k,
			     json_t *v, const char *path)
{
	const char *name;
	json_t *item;

	if (!json_is_object(v)) {
		reader_error(r, path, "expected an object of strings");
		return;
	}
	json_object_foreach(v, name, item) {
		_cleanup_free_ char *p = path_child(path, name);

		if (!json_is_string(item))
			reader_error(r, p, "expected a string");
		else if (k->apply)
			k->apply(r, p, name, item);
	}
}

static void check_strings_map(struct reader *r, const struct key_spec *k,
			      json_t *v, const char *path)
{
	const char *name;
	json_t *item;

	if (!json_is_object(v)) {
		reader_error(r, path, "expected an object of string arrays");
		return;
	}
	json_object_foreach(v, name, item) {
		_cleanup_free_ char *p = path_child(path, name);

		check_strings(r, k, item, p);
	}
}

static void check_addr_map(struct reader *r, const struct key_spec *k,
			   json_t *v, const char *path)
{
	const char *name;
	json_t *item;

	if (!json_is_object(v)) {
		reader_error(r, path, "expected an object: host name to an "
			     "address or an array of addresses");
		return;
	}
	if (json_object_size(v) > ARRAY_MAX_ENTRIES) {
		reader_error(r, path, "more than %d entries", ARRAY_MAX_ENTRIES);
		return;
	}
	json_object_foreach(v, name, item) {
		_cleanup_free_ char *p = path_child(path, name);

		if (json_is_array(item) && json_array_size(item) > 8)
			reader_error(r, p, "at most 8 addresses per name");
		else
			k->apply(r, p, name, item);
	}
}

static void check_port_range(struct reader *r, const struct key_spec *k,
			     json_t *v, const char *path)
{
	long long lo, hi;

	if (!json_is_array(v) || json_array_size(v) != 2 ||
	    whole_read(json_array_get(v, 0), 1, 65535, &lo) < 0 ||
	    whole_read(json_array_get(v, 1), 1, 65535, &hi) < 0) {
		reader_error(r, path, "expected [low, high], two port numbers");
		return;
	}
	if (lo > hi || hi - lo > PORT_RANGE_MAX_WIDTH)
		reader_error(r, path, "low must not exceed high, and the "
			     "range must span at most %d ports",
			     PORT_RANGE_MAX_WIDTH);
}

static void check_value(struct reader *r, const struct key_spec *k,
			json_t *v, const char *path)
{
	switch (k->type) {
	case KEY_BOOL:
		check_bool(r, k, v, path);
		break;
	case KEY_STRING:
		check_string(r, k, v, path);
		break;
	case KEY_ENUM:
		check_enum(r, k, v, path);
		break;
	case KEY_WHOLE:
		check_whole(r, k, v, path);
		break;
	case KEY_SIZE:
		check_size(r, k, v, path);
		break;
	case KEY_STRINGS:
		check_strings(r, k, v, path);
		break;
	case KEY_OBJECT:
		check_object(r, k, v, path);
		break;
	case KEY_OBJECTS:
		check_objects(r, k, v, path);
		break;
	case KEY_STRING_MAP:
		check_string_map(r, k, v, path);
		break;
	case KEY_STRINGS_MAP:
		check_strings_map(r, k, v, path);
		break;
	case KEY_PORT_RANGE:
		check_port_range(r, k, v, path);
		break;
	case KEY_ADDR_MAP:
		check_addr_map(r, k, v, path);
		break;
	case KEY_API_ONLY:
		reader_error(r, path, "srt takes this from its library API "
			     "only; it cannot be set in a settings file");
		break;
	case KEY_STRUCTURED:
		reader_error(r, path, "\"%s\" is part of srt's structured "
			     "masking, which airlock does not support yet; "
			     "mask the whole value or file instead", k->name);
		break;
	}
}

/* ---- unknown keys ---- */

static const struct key_spec *key_find(const struct key_spec *keys,
				       const char *name)
{
	for (; keys->name; keys++)
		if (streq(keys->name, name))
			return keys;
	return NULL;
}

/* The section, other than the current one, that has a key of this name. */
static const char *section_owning(const struct key_spec *current,
				  const char *name)
{
	for (const struct key_spec *s = top_keys; s->name; s++) {
		if (s->type != KEY_OBJECT || s->fields == current)
			continue;
		if (key_find(s->fields, name))
			return s->name;
	}
	return NULL;
}

static void unknown_key(struct reader *r, const struct key_spec *keys,
			const char *name, const char *path)
{
	_cleanup_free_ const char **names = NULL;
	const char *near, *home;
	size_t n = 0;

	if (policy_errors_full(r->m->errs)) {
		reader_error(r, path, "unknown key");
		return;
	}
	while (keys[n].name)
		n++;
	names = xcalloc(n + 1, sizeof(*names));
	for (size_t i = 0; i < n; i++)
		names[i] = keys[i].name;

	near = policy_suggest_key(name, names);
	home = near ? NULL : section_owning(keys, name);
	if (near)
		reader_error(r, path, "unknown key; did you mean \"%s\"?",
			     near);
	else if (home)
		reader_error(r, path, "unknown key here; it belongs in \"%s\"",
			     home);
	else
		reader_error(r, path, "unknown key");
}

static void check_members(struct reader *r, const struct key_spec *keys,
			  json_t *obj, const char *path)
{
	const char *name;
	json_t *v;

	json_object_foreach(obj, name, v) {
		_cleanup_free_ char *p = path_child(path, name);
		const struct key_spec *k = key_find(keys, name);

		if (k)
			check_value(r, k, v, p);
		else
			unknown_key(r, keys, name, p);
	}
	for (const struct key_spec *k = keys; k->name; k++)
		if (k->required && !json_object_get(obj, k->name))
			reader_error(r, path, "missing required key \"%s\"",
				     k->name);
}

/* ---- the file as a whole ---- */

/*
 * unmask takes effect once the whole file is read, so that its place
 * among the keys does not matter; it removes what the profile and the
 * earlier sources masked.
 */
static void reader_apply_unmask(struct reader *r)
{
	struct policy *p = r->m->p;

	for (size_t i = 0; i < r->unmask.len; i++) {
		const char *e = r->unmask.items[i];
		const char *near;

		if (strv_remove(&p->mask, e) > 0)
			continue;
		near = NULL;
		if (r->m->errs->len < SUGGEST_MAX_ERRORS &&
		    p->mask.len <= SUGGEST_MAX_MASKS)
			near = policy_suggest_key(
				e, (const char *const *)p->mask.items);
		if (near)
			reader_error(r, r->unmask_paths.items[i],
				     "\"%s\" is not in the mask list; "
				     "did you mean \"%s\"?", e, near);
		else
			reader_error(r, r->unmask_paths.items[i],
				     "\"%s\" is not in the mask list", e);
	}
}

/* Errors without a line sort after those with one. */
static bool error_before(const struct policy_error *a,
			 const struct policy_error *b)
{
	if (a->line == 0 || b->line == 0)
		return a->line != 0 && b->line == 0;
	if (a->line != b->line)
		return a->line < b->line;
	return a->column < b->column;
}

/*
 * Puts the errors of one file in the order of the text (a stable insertion
 * sort: there are at most POLICY_ERRORS_MAX + 1 of them).
 */
static void errors_sort(struct policy_errors *errs, size_t from)
{
	for (size_t i = from + 1; i < errs->len; i++) {
		struct policy_error e = errs->items[i];
		size_t j = i;

		while (j > from && error_before(&e, &errs->items[j - 1])) {
			errs->items[j] = errs->items[j - 1];
			j--;
		}
		errs->items[j] = e;
	}
}

int policy_json_merge(struct policy_merge *m, const char *file,
		      const char *text, size_t len)
{
	_cleanup_(json_decrefp) json_t *root = NULL;
	struct reader r = { .m = m, .file = file };
	size_t before = m->errs->len;
	json_error_t jerr;

	if (len > POLICY_FILE_MAX_BYTES) {
		policy_error_add(m->errs, file, 0, 0, NULL,
				 "settings file is larger than %d bytes",
				 POLICY_FILE_MAX_BYTES);
		return -EINVAL;
	}
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		policy_error_add(m->errs, file, jerr.line, jerr.column, NULL,
				 "invalid JSON: %s", jerr.text);
		return -EINVAL;
	}
	if (!json_is_object(root)) {
		policy_error_add(m->errs, file, 0, 0, NULL,
				 "the settings must be a JSON object");
		return -EINVAL;
	}

	policy_index_build(&r.idx, text, len);
	check_members(&r, top_keys, root, "");
	reader_apply_unmask(&r);

	errors_sort(m->errs, before);
	policy_index_free(&r.idx);
	strv_clear(&r.unmask);
	strv_clear(&r.unmask_paths);
	return m->errs->len > before ? -EINVAL : 0;
}
