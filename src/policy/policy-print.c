/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Prints the effective policy as indented JSON, for "airlock check". Key
 * names follow the settings file where one exists, but the output is a
 * report, not a settings file: it also names the sources, the profile and
 * the folders everything was resolved against.
 *
 * Runs in the unprivileged parent. The values of env.set entries whose
 * names look secret are replaced by a placeholder: this output ends up in
 * terminals, logs and bug reports. Credentials appear as their sources
 * only; the policy never holds a credential's value.
 */
#include "config.h"

#include "policy/policy.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"

#define REDACTED_VALUE "(hidden: the name looks secret)"

/*
 * jansson accepts only UTF-8; a folder name from the system need not be.
 * Such a string is printed with its odd bytes escaped as \xHH.
 */
static json_t *text_new(const char *s)
{
	json_t *j = json_string(s);
	_cleanup_free_ char *safe = NULL;
	size_t size;

	if (j)
		return j;
	size = strlen(s) * 4 + 1;
	safe = xmalloc(size);
	log_sanitize(safe, size, s);
	return json_string(safe);
}

static json_t *list_new(const struct strv *v)
{
	json_t *a = json_array();

	for (size_t i = 0; i < v->len; i++)
		json_array_append_new(a, text_new(v->items[i]));
	return a;
}

/* Sizes and counts fit json_int_t: the parser refuses larger ones. */
static json_t *number_new(uint64_t n)
{
	return json_integer(n > INT64_MAX ? INT64_MAX : (json_int_t)n);
}

static json_t *pairs_new(const struct policy_env_var *vars, size_t n,
			 bool redact)
{
	json_t *o = json_object();

	for (size_t i = 0; i < n; i++) {
		bool hide = redact && policy_env_name_is_secret(vars[i].name);

		json_object_set_new(o, vars[i].name,
				    text_new(hide ? REDACTED_VALUE
						  : vars[i].value));
	}
	return o;
}

static json_t *filesystem_new(const struct policy *p)
{
	json_t *o = json_object();

	json_object_set_new(o, "readSystem", json_boolean(p->read_system));
	json_object_set_new(o, "denyRead", list_new(&p->deny_read));
	json_object_set_new(o, "allowRead", list_new(&p->allow_read));
	json_object_set_new(o, "allowWrite", list_new(&p->allow_write));
	json_object_set_new(o, "denyWrite", list_new(&p->deny_write));
	json_object_set_new(o, "allowGitConfig",
			    json_boolean(p->allow_git_config));
	json_object_set_new(o, "mask", list_new(&p->mask));
	json_object_set_new(o, "protect", list_new(&p->protect));
	return o;
}

static json_t *hosts_new(const struct policy *p)
{
	json_t *o = json_object();

	for (size_t i = 0; i < p->n_hosts; i++)
		json_object_set_new(o, p->hosts[i].name,
				    list_new(&p->hosts[i].addrs));
	return o;
}

static json_t *request_rules_new(const struct policy *p)
{
	json_t *a = json_array();

	for (size_t i = 0; i < p->n_request_rules; i++) {
		const struct policy_request_rule *r = &p->request_rules[i];
		json_t *o = json_object();

		json_object_set_new(o, "host", text_new(r->host));
		if (r->methods.len)
			json_object_set_new(o, "methods",
					    list_new(&r->methods));
		if (r->paths.len)
			json_object_set_new(o, "paths", list_new(&r->paths));
		if (r->reason)
			json_object_set_new(o, "reason", text_new(r->reason));
		json_array_append_new(a, o);
	}
	return a;
}

static json_t *routes_new(const struct policy *p)
{
	json_t *a = json_array();

	for (size_t i = 0; i < p->n_routes; i++) {
		const struct policy_route *rt = &p->routes[i];
		json_t *o = json_object();

		json_object_set_new(o, "name", text_new(rt->name));
		json_object_set_new(o, "upstream", text_new(rt->upstream));
		if (rt->env)
			json_object_set_new(o, "env", text_new(rt->env));
		json_object_set_new(o, "port", json_integer(rt->port));
		json_array_append_new(a, o);
	}
	return a;
}

static json_t *tls_terminate_new(const struct policy *p)
{
	json_t *o = json_object();

	if (p->tls_ca_cert) {
		json_object_set_new(o, "caCertPath", text_new(p->tls_ca_cert));
		json_object_set_new(o, "caKeyPath", text_new(p->tls_ca_key));
	}
	json_object_set_new(o, "excludeDomains", list_new(&p->tls_exclude));
	json_object_set_new(o, "extraCaCertPaths", list_new(&p->tls_extra_ca));
	json_object_set_new(o, "upstreamCaCertPaths",
			    list_new(&p->upstream_ca));
	return o;
}

static json_t *network_new(const struct policy *p)
{
	json_t *o = json_object();

	json_object_set_new(o, "allowedDomains",
			    list_new(&p->allowed_domains));
	json_object_set_new(o, "deniedDomains", list_new(&p->denied_domains));
	json_object_set_new(o, "deniedDomainReasons",
			    pairs_new(p->denied_domain_reasons,
				      p->n_denied_domain_reasons, false));
	json_object_set_new(o, "allowUnixSockets",
			    list_new(&p->allow_unix_sockets));
	json_object_set_new(o, "allowAllUnixSockets",
			    json_boolean(p->allow_all_unix_sockets));
	json_object_set_new(o, "allowLocalBinding",
			    json_boolean(p->allow_local_binding));
	json_object_set_new(o, "hosts", hosts_new(p));
	json_object_set_new(o, "allowAddresses", list_new(&p->allow_addresses));
	json_object_set_new(o, "deniedResolvedAddresses",
			    list_new(&p->denied_resolved));
	if (p->parent_proxy)
		json_object_set_new(o, "parentProxy",
				    json_pack("{ss}", "https", p->parent_proxy));
	json_object_set_new(o, "requestRules", request_rules_new(p));
	json_object_set_new(o, "routes", routes_new(p));
	json_object_set_new(o, "tlsTerminate", tls_terminate_new(p));
	return o;
}

static json_t *credential_source_new(const struct policy_credential *c)
{
	json_t *o = json_object();

	if (c->source == POLICY_CRED_FROM_COMMAND)
		json_object_set_new(o, "command", list_new(&c->command));
	else
		json_object_set_new(o, c->source == POLICY_CRED_FROM_ENV ?
					       "env" : "file",
				    text_new(c->from));
	return o;
}

static const char *scheme_name(enum policy_inject_scheme s)
{
	switch (s) {
	case POLICY_INJECT_BEARER:
		return "bearer";
	case POLICY_INJECT_BASIC:
		return "basic";
	case POLICY_INJECT_RAW:
		break;
	}
	return "raw";
}

static json_t *credential_new(const struct policy_credential *c)
{
	json_t *o = json_object();
	bool inject = c->use == POLICY_CRED_INJECT;

	json_object_set_new(o, "name", text_new(c->name));
	json_object_set_new(o, "from", credential_source_new(c));
	json_object_set_new(o, "optional", json_boolean(c->optional));
	json_object_set_new(o, "hosts", list_new(&c->hosts));
	json_object_set_new(o, "use", json_string(inject ? "inject"
							  : "placeholder"));
	if (inject) {
		json_object_set_new(o, "header", text_new(c->header));
		json_object_set_new(o, "scheme",
				    json_string(scheme_name(c->scheme)));
		return o;
	}
	if (c->env)
		json_object_set_new(o, "env", text_new(c->env));
	if (c->file)
		json_object_set_new(o, "file", text_new(c->file));
	json_object_set_new(o, "body", json_boolean(c->body));
	return o;
}

static json_t *credentials_new(const struct policy *p)
{
	json_t *o = json_object(), *a = json_array();

	for (size_t i = 0; i < p->n_credentials; i++)
		json_array_append_new(a, credential_new(&p->credentials[i]));
	json_object_set_new(o, "secrets", a);
	json_object_set_new(o, "denyEnv", list_new(&p->deny_env));
	json_object_set_new(o, "allowPlaintextInject",
			    json_boolean(p->allow_plaintext_inject));
	return o;
}

static json_t *env_new(const struct policy *p)
{
	json_t *o = json_object();

	json_object_set_new(o, "pass", list_new(&p->env_pass));
	json_object_set_new(o, "set",
			    pairs_new(p->env_set, p->n_env_set, true));
	return o;
}

static json_t *limits_new(const struct policy_limits *l)
{
	json_t *o = json_object();

	json_object_set_new(o, "memory", number_new(l->memory_bytes));
	json_object_set_new(o, "processes", number_new(l->processes));
	json_object_set_new(o, "cpu", number_new(l->cpu_seconds));
	json_object_set_new(o, "openFiles", number_new(l->open_files));
	json_object_set_new(o, "fileSize", number_new(l->file_size_bytes));
	json_object_set_new(o, "timeout", number_new(l->timeout_seconds));
	return o;
}

static json_t *policy_to_json(const struct policy *p)
{
	json_t *o = json_object();

	json_object_set_new(o, "sources", list_new(&p->sources));
	json_object_set_new(o, "profile", text_new(p->profile ? p->profile
							     : ""));
	json_object_set_new(o, "workspace",
			    text_new(p->workspace ? p->workspace : ""));
	json_object_set_new(o, "home", text_new(p->home ? p->home : ""));
	json_object_set_new(o, "filesystem", filesystem_new(p));
	json_object_set_new(o, "network", network_new(p));
	json_object_set_new(o, "credentials", credentials_new(p));
	json_object_set_new(o, "env", env_new(p));
	json_object_set_new(o, "limits", limits_new(&p->limits));
	if (p->audit_file)
		json_object_set_new(o, "audit",
				    json_pack("{ss}", "file", p->audit_file));
	return o;
}

/*
 * Writes the effective policy as indented JSON and a newline on f. Keys
 * keep the order above. Allocation failure inside jansson leaves members
 * out rather than failing. Not for use after fork.
 */
void policy_print(const struct policy *p, FILE *f)
{
	json_t *o = policy_to_json(p);

	json_dumpf(o, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', f);
	json_decref(o);
}

char *policy_network_settings(const struct policy *p)
{
	json_t *net = network_new(p), *top = json_object();
	char *text;

	/* srt's keys and airlock's own; the report-only ones go */
	json_object_del(net, "allowUnixSockets");
	json_object_del(net, "allowAllUnixSockets");
	json_object_del(net, "allowLocalBinding");
	json_object_del(net, "parentProxy"); /* the service's own applies */
	json_object_del(net, "tlsTerminate"); /* so does its CA */
	json_object_set_new(top, "network", net);
	text = json_dumps(top, JSON_COMPACT);
	json_decref(top);
	return text ? text : xstrdup("{}");
}
