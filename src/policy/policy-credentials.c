/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Credentials (srt's files and envVars, airlock's own secrets),
 * network.requestRules, network.routes and network.tlsTerminate: the
 * settings that let the gateway put secrets into requests and hold
 * requests to rules. policy-json.c checks each member's type against its
 * table, then hands every entry whose members passed to a handler here.
 * A handler checks what spans members (a placeholder needs "env" or
 * "file", a CA needs its key) and, for credentials and routes, what spans
 * entries: a name, a variable or a port belongs to one entry across every
 * source, and a clash names the place where it was taken first.
 *
 * The text may come from a file someone else wrote (a repository's file
 * named with --settings). Nothing here reads a secret's value, only where
 * it comes from and the hosts it may go to.
 */
#include "config.h"

#include "policy/policy-internal.h"

#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

#include "common/strv.h"
#include "common/util.h"

/* The place of the entry at path, to name it in later messages. */
static struct policy_origin reader_origin(struct policy_reader *r,
					  const char *path)
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
static void reader_taken(struct policy_reader *r, const char *path,
			 const char *key, const char *value, const char *kind,
			 const char *owner, const struct policy_origin *o)
{
	_cleanup_free_ char *at = policy_origin_text(o);
	_cleanup_free_ char *p = policy_path_child(path, key);

	policy_reader_error(r, p, "\"%s\" is taken already by %s \"%s\", at %s",
			    value, kind, owner, at);
}

/* The stored form of obj's string member key, or NULL when it is absent. */
static char *member_take(struct policy_reader *r, json_t *obj, const char *key,
			 enum policy_entry_kind kind)
{
	const char *s = json_string_value(json_object_get(obj, key));
	const char *why;

	return s ? policy_entry_convert(r->m->p, kind, s, &why) : NULL;
}

/* Appends the stored form of each string of obj's array member key. */
static void members_take(struct policy_reader *r, json_t *obj, const char *key,
			 enum policy_entry_kind kind, struct strv *out)
{
	json_t *list = json_object_get(obj, key), *item;
	size_t i;

	json_array_foreach(list, i, item) {
		const char *why;
		char *e = policy_entry_convert(r->m->p, kind,
					       json_string_value(item), &why);

		if (e)
			strv_push_owned(out, e);
	}
}

/* An array member, when given, must not be empty: that would mean "any". */
static bool member_list_given_empty(struct policy_reader *r, const char *path,
				    json_t *obj, const char *key)
{
	json_t *list = json_object_get(obj, key);
	_cleanup_free_ char *p = NULL;

	if (!list || json_array_size(list) > 0)
		return false;
	p = policy_path_child(path, key);
	policy_reader_error(r, p,
			    "must not be empty; leave the key out instead");
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
	/* room for "-" and two digits */
	char stem[POLICY_NAME_MAX_CHARS - 3 + 1];
	size_t n;
	char *name;

	for (n = 0; base[n] && n < sizeof(stem) - 1; n++)
		stem[n] = policy_name_char(base[n]) ? base[n] : '_';
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
static bool credential_fits(struct policy_reader *r, const char *path,
			    const struct policy_credential *c,
			    const char *env_key, const char *file_key)
{
	const struct policy *p = r->m->p;
	bool fits = true;

	if (p->n_credentials >= POLICY_CREDENTIALS_MAX) {
		policy_reader_error(r, path, "more than %d credentials",
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
static void credential_add(struct policy_reader *r, const char *path,
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
static void srt_mask_add(struct policy_reader *r, const char *path, json_t *v,
			 struct policy_credential *c, const char *base,
			 const char *key)
{
	c->name = name_derive(r->m->p, base);
	c->use = POLICY_CRED_PLACEHOLDER;
	c->optional = true;
	members_take(r, v, "injectHosts", POLICY_ENTRY_ALLOW_DOMAIN, &c->hosts);
	credential_add(r, path, c, key, key);
}

/*
 * srt's credential files: "deny" masks the file (it appears empty);
 * "mask" shows a placeholder in it, and the gateway puts the real content
 * back in requests to injectHosts.
 */
void policy_apply_credential_file(struct policy_reader *r, const char *path,
				  const char *name, json_t *v)
{
	const char *mode = json_string_value(json_object_get(v, "mode"));
	_cleanup_free_ char *file =
		member_take(r, v, "path", POLICY_ENTRY_PATH);
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
void policy_apply_credential_env(struct policy_reader *r, const char *path,
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
static int secret_source(struct policy_reader *r, const char *path, json_t *v,
			 struct policy_credential *c)
{
	json_t *from = json_object_get(v, "from");
	_cleanup_free_ char *from_path = policy_path_child(path, "from");
	_cleanup_free_ char *hosts_path = policy_path_child(path, "hosts");

	if (json_object_size(from) != 1) {
		policy_reader_error(r, from_path,
				    "expected exactly one of \"env\", "
				    "\"file\" or \"command\"");
		return -EINVAL;
	}
	c->name = member_take(r, v, "name", POLICY_ENTRY_NAME);
	c->optional = json_is_true(json_object_get(v, "optional"));
	if (json_object_get(from, "env")) {
		c->source = POLICY_CRED_FROM_ENV;
		c->from = member_take(r, from, "env", POLICY_ENTRY_ENV_NAME);
	} else if (json_object_get(from, "file")) {
		c->source = POLICY_CRED_FROM_FILE;
		c->from = member_take(r, from, "file", POLICY_ENTRY_PATH);
	} else {
		c->source = POLICY_CRED_FROM_COMMAND;
		members_take(r, from, "command", POLICY_ENTRY_ANY, &c->command);
	}
	if (c->source == POLICY_CRED_FROM_COMMAND &&
	    (c->command.len == 0 || !*c->command.items[0])) {
		_cleanup_free_ char *p =
			policy_path_child(from_path, "command");

		policy_reader_error(r, p,
				    "expected the program, then its arguments");
		return -EINVAL;
	}
	members_take(r, v, "hosts", POLICY_ENTRY_CRED_HOST, &c->hosts);
	if (c->hosts.len == 0) {
		policy_reader_error(r, hosts_path,
				    "name at least one host the "
				    "credential may go to");
		return -EINVAL;
	}
	return 0;
}

/* Refuses the members that belong to the other use. */
static int secret_refuse_keys(struct policy_reader *r, const char *path,
			      json_t *v, const char *const *keys,
			      const char *use)
{
	int ret = 0;

	for (size_t i = 0; keys[i]; i++) {
		_cleanup_free_ char *p = NULL;

		if (!json_object_get(v, keys[i]))
			continue;
		p = policy_path_child(path, keys[i]);
		policy_reader_error(r, p, "goes only with \"use\": \"%s\"",
				    use);
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
static int secret_use(struct policy_reader *r, const char *path, json_t *v,
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
		c->header = member_take(r, v, "header", POLICY_ENTRY_HEADER);
		if (!c->header)
			c->header = xstrdup("Authorization");
		c->scheme = scheme_of(json_string_value(json_object_get(
					      v, "scheme")), c->header);
		return 0;
	}

	c->use = POLICY_CRED_PLACEHOLDER;
	if (secret_refuse_keys(r, path, v, inject_keys, "inject") < 0)
		return -EINVAL;
	c->env = member_take(r, v, "env", POLICY_ENTRY_ENV_NAME);
	if (!c->env && c->source == POLICY_CRED_FROM_ENV)
		c->env = xstrdup(c->from);
	c->file = member_take(r, v, "file", POLICY_ENTRY_PATH);
	c->body = json_is_true(json_object_get(v, "body"));
	if (!c->env && !c->file) {
		policy_reader_error(r, path,
				    "a placeholder needs \"env\" or "
				    "\"file\": where the command finds it");
		return -EINVAL;
	}
	return 0;
}

/* credentials.secrets[]: airlock's own credentials. */
void policy_apply_secret(struct policy_reader *r, const char *path,
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
void policy_apply_request_rule(struct policy_reader *r, const char *path,
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
		.host = member_take(r, v, "host", POLICY_ENTRY_ALLOW_DOMAIN),
		.reason = member_take(r, v, "reason", POLICY_ENTRY_NONEMPTY),
	};
	members_take(r, v, "methods", POLICY_ENTRY_METHOD, &rule->methods);
	members_take(r, v, "paths", POLICY_ENTRY_URL_PATH, &rule->paths);
}

/*
 * Checks rt against the routes and credentials merged already. A port
 * written in a later file is checked against the defaults when every
 * source is read (policy.c).
 */
static bool route_fits(struct policy_reader *r, const char *path,
		       const struct policy_route *rt)
{
	const struct policy *p = r->m->p;
	char port[8];
	bool fits = true;

	if (p->n_routes >= POLICY_ROUTES_MAX) {
		policy_reader_error(r, path, "more than %d routes",
				    POLICY_ROUTES_MAX);
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
void policy_apply_route(struct policy_reader *r, const char *path,
			const char *name, json_t *v)
{
	json_t *port = json_object_get(v, "port");
	struct policy_route rt = {
		.name = member_take(r, v, "name", POLICY_ENTRY_NAME),
		.upstream =
			member_take(r, v, "upstream", POLICY_ENTRY_UPSTREAM),
		.env = member_take(r, v, "env", POLICY_ENTRY_ENV_NAME),
	};
	struct policy_origin o;
	long long n = 0;

	if (port && policy_whole_read(port, 1, 65535, &n) == 0 &&
	    policy_route_port_reserved((unsigned int)n)) {
		_cleanup_free_ char *p = policy_path_child(path, "port");

		policy_reader_error(r, p,
				    "port %lld is one of the gateway's own "
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
void policy_apply_tls_terminate(struct policy_reader *r, const char *path,
				const char *name, json_t *v)
{
	struct policy *p = r->m->p;
	char *cert = member_take(r, v, "caCertPath", POLICY_ENTRY_PATH);
	char *key = member_take(r, v, "caKeyPath", POLICY_ENTRY_PATH);

	if (!cert != !key) {
		policy_reader_error(r, path,
				    "caCertPath and caKeyPath go together: "
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

