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

/* Sets NAME=value in out, replacing an earlier NAME. */
static void env_put(struct strv *out, const char *name, const char *value)
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
