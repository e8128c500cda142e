/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The sandbox's side of credentials, request rules and routes. The real
 * values are the gateway's alone: here, every variable a credential is
 * read from leaves CMD's environment, and the placeholders the gateway
 * made take their places. Where the gateway terminates TLS, CMD must
 * trust the CA that signs its certificates: the system bundle is bound
 * over with a copy that adds it, and the variables that tools read
 * instead of the system bundle point at that copy.
 */
#include "config.h"

#include "sandbox/sandbox.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "policy/policy.h"
#include "tls/ca.h"

/* Variables through which tools find their CA bundle. */
static const char *const ca_bundle_vars[] = {
	"SSL_CERT_FILE",        /* OpenSSL, Python's ssl, Go, Ruby */
	"NODE_EXTRA_CA_CERTS",  /* Node.js, added to its own roots */
	"REQUESTS_CA_BUNDLE",   /* Python requests */
	"CURL_CA_BUNDLE",       /* curl */
	"GIT_SSL_CAINFO",       /* git */
	"PIP_CERT",             /* pip */
	"AWS_CA_BUNDLE",        /* AWS CLI and SDKs */
	"CARGO_HTTP_CAINFO",    /* cargo */
	"npm_config_cafile",    /* npm */
	"DENO_CERT",            /* deno */
	"HEX_CACERTS_PATH",     /* Elixir's hex */
	NULL,
};

/* Where the sandbox's bundle goes when the host has none. */
#define CA_BUNDLE_FALLBACK "/tmp/airlock-ca-bundle.pem"

int creds_plan(struct sandbox_config *cfg, struct mount_plan *plan)
{
	const struct policy *p = cfg->policy;
	struct net_config *nc = &cfg->net;
	_cleanup_free_ char *text = NULL;
	const char *bundle;

	for (size_t i = 0; i < p->deny_env.len; i++)
		env_unset(&cfg->env, p->deny_env.items[i]);
	for (size_t i = 0; i < p->n_credentials; i++)
		if (p->credentials[i].source == POLICY_CRED_FROM_ENV)
			env_unset(&cfg->env, p->credentials[i].from);
	for (size_t i = 0; i < p->n_routes && i < NET_ROUTES_MAX; i++) {
		_cleanup_free_ char *url = xasprintf("http://127.0.0.1:%u",
						     p->routes[i].port);

		nc->routes[nc->n_routes++] = p->routes[i].port;
		if (p->routes[i].env)
			env_put(&cfg->env, p->routes[i].env, url);
	}
	if (!cfg->ca_cert)
		return 0;
	bundle = ca_system_bundle();
	text = ca_bundle_text(cfg->ca_cert, (const char *const *)p->tls_extra_ca.items,
			      p->tls_extra_ca.len);
	if (!text)
		return -EINVAL;
	mount_plan_add_file(plan, bundle ? bundle : CA_BUNDLE_FALLBACK, text);
	for (size_t i = 0; ca_bundle_vars[i]; i++)
		env_put(&cfg->env, ca_bundle_vars[i],
			bundle ? bundle : CA_BUNDLE_FALLBACK);
	return 0;
}

int creds_place(struct sandbox_config *cfg, struct mount_plan *plan,
		const char *msg, size_t len)
{
	const struct policy *p = cfg->policy;
	size_t off = 0;

	while (off + 8 <= len) {
		uint32_t hdr[2];
		const struct policy_credential *pc;
		_cleanup_free_ char *ph = NULL;

		memcpy(hdr, msg + off, sizeof(hdr));
		off += sizeof(hdr);
		if (hdr[0] >= p->n_credentials || hdr[1] > len - off)
			return -EINVAL;
		pc = &p->credentials[hdr[0]];
		ph = xstrndup(msg + off, hdr[1]);
		off += hdr[1];
		if (pc->env)
			env_put(&cfg->env, pc->env, ph);
		if (pc->file)
			mount_plan_add_file(plan, pc->file, ph);
		log_debug("credential %s: placeholder in %s%s%s", pc->name,
			  pc->env ? "$" : "", pc->env ? pc->env : "",
			  pc->file ? pc->file : "");
	}
	return off == len ? 0 : -EINVAL;
}
