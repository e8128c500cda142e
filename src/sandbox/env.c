/* SPDX-License-Identifier: Apache-2.0 */
/*
 * CMD's environment: built from scratch in the supervisor. Only a short,
 * documented list of the caller's variables is kept; anything whose name
 * looks like it carries a secret stays out unless the policy names it.
 */
#include "config.h"

#include "sandbox/sandbox.h"

#include <string.h>

#include "common/log.h"
#include "common/util.h"

/* An empty git template folder: git init then plants no hooks. */
#define GIT_TEMPLATE_DIR "/run/airlock/git-template"

static bool name_in_list(const char *name, size_t len,
			 const char *const *list)
{
	for (size_t i = 0; list[i]; i++)
		if (strlen(list[i]) == len && strncmp(list[i], name, len) == 0)
			return true;
	return false;
}

static bool name_in_strv(const char *name, size_t len, const struct strv *v)
{
	for (size_t i = 0; i < v->len; i++)
		if (strlen(v->items[i]) == len &&
		    strncmp(v->items[i], name, len) == 0)
			return true;
	return false;
}

static bool env_has(const struct strv *v, const char *name)
{
	size_t len = strlen(name);

	for (size_t i = 0; i < v->len; i++)
		if (strncmp(v->items[i], name, len) == 0 && v->items[i][len] == '=')
			return true;
	return false;
}

void env_unset(struct strv *out, const char *name)
{
	size_t len = strlen(name);

	for (size_t i = 0; i < out->len; i++) {
		if (strncmp(out->items[i], name, len) == 0 &&
		    out->items[i][len] == '=') {
			explicit_bzero(out->items[i], strlen(out->items[i]));
			free(out->items[i]);
			memmove(&out->items[i], &out->items[i + 1],
				(out->len - i) * sizeof(*out->items));
			out->len--;
			i--;
		}
	}
}

void env_put(struct strv *out, const char *name, const char *value)
{
	size_t len = strlen(name);

	for (size_t i = 0; i < out->len; i++) {
		if (strncmp(out->items[i], name, len) == 0 &&
		    out->items[i][len] == '=') {
			free(out->items[i]);
			out->items[i] = xasprintf("%s=%s", name, value);
			return;
		}
	}
	strv_push_owned(out, xasprintf("%s=%s", name, value));
}

void env_build(struct strv *out, char *const *envp, const struct policy *p)
{
	*out = (struct strv){ 0 };

	for (size_t i = 0; envp && envp[i]; i++) {
		const char *eq = strchr(envp[i], '=');
		size_t len;
		bool passed;

		if (!eq)
			continue;
		len = (size_t)(eq - envp[i]);
		passed = name_in_strv(envp[i], len, &p->env_pass);
		if (passed || name_in_list(envp[i], len, policy_env_keep)) {
			strv_push(out, envp[i]);
			continue;
		}
		if (log_get_level() >= LOG_LEVEL_DEBUG) {
			_cleanup_free_ char *name = xstrndup(envp[i], len);
			char safe[256];

			log_sanitize(safe, sizeof(safe), name);
			log_debug("env: %s not passed%s", safe,
				  policy_env_name_is_secret(name) ?
					  " (looks like a secret)" : "");
		}
	}
	for (size_t i = 0; i < p->n_env_set; i++)
		env_put(out, p->env_set[i].name, p->env_set[i].value);
	env_put(out, "TMPDIR", "/tmp");
	env_put(out, "GIT_TEMPLATE_DIR", GIT_TEMPLATE_DIR);
	if (!env_has(out, "PATH"))
		env_put(out, "PATH", "/usr/local/bin:/usr/bin:/bin");
}

/* Appends opts to a variable that holds a list of options. */
static void env_append(struct strv *out, const char *name, const char *opts)
{
	size_t len = strlen(name);

	for (size_t i = 0; i < out->len; i++) {
		char *old = out->items[i];

		if (strncmp(old, name, len) == 0 && old[len] == '=') {
			out->items[i] = xasprintf("%s %s", old, opts);
			free(old);
			return;
		}
	}
	env_put(out, name, opts);
}

void env_add_proxy(struct strv *env, const struct net_config *nc,
		   const char *no_proxy)
{
	_cleanup_free_ char *http = xasprintf("http://127.0.0.1:%u",
					      nc->http_port);
	_cleanup_free_ char *socks = xasprintf("socks5h://127.0.0.1:%u",
					       nc->socks_port);
	_cleanup_free_ char *port = xasprintf("%u", nc->http_port);
	_cleanup_free_ char *rsync = xasprintf("127.0.0.1:%u", nc->http_port);
	_cleanup_free_ char *java = xasprintf(
		"-Dhttp.proxyHost=127.0.0.1 -Dhttp.proxyPort=%u "
		"-Dhttps.proxyHost=127.0.0.1 -Dhttps.proxyPort=%u", nc->http_port,
		nc->http_port);
	static const char *const http_names[] = {
		"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY",
		"npm_config_proxy", "npm_config_https_proxy", "PIP_PROXY",
		"grpc_proxy", "CARGO_HTTP_PROXY", "YARN_HTTP_PROXY",
		"YARN_HTTPS_PROXY", NULL,
	};

	for (size_t i = 0; http_names[i]; i++)
		env_put(env, http_names[i], http);
	env_put(env, "all_proxy", socks);
	env_put(env, "ALL_PROXY", socks);
	env_put(env, "no_proxy", no_proxy);
	env_put(env, "NO_PROXY", no_proxy);
	env_put(env, "npm_config_noproxy", no_proxy);
	env_put(env, "RSYNC_PROXY", rsync);
	env_put(env, "CLOUDSDK_PROXY_TYPE", "http");
	env_put(env, "CLOUDSDK_PROXY_ADDRESS", "127.0.0.1");
	env_put(env, "CLOUDSDK_PROXY_PORT", port);
	env_put(env, "NODE_USE_ENV_PROXY", "1");
	env_append(env, "JAVA_TOOL_OPTIONS", java);
}
