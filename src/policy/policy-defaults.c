/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The built-in lists: credential masks, protected names, the environment
 * kept by default, how a secret-looking variable name is recognised, and
 * what the claude-code profile adds. Pure data and string checks; no
 * file system access.
 */
#include "config.h"

#include "policy/policy.h"
#include "policy/policy-internal.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "common/util.h"

/*
 * Credential masks. "~/x" is relative to the home folder, "/x" absolute,
 * anything else a name (shell wildcards allowed) looked for in the home
 * folder's top level and in the workspace down to a small depth. What
 * matches appears empty inside the sandbox.
 */
const char *const policy_default_masks[] = {
	"~/.ssh",
	"~/.aws",
	"~/.azure",
	"~/.config/gcloud",
	"~/.docker/config.json",
	"~/.kube",
	"~/.gnupg",
	"~/.password-store",
	"~/.config/gh/hosts.yml",
	"~/.terraform.d/credentials.tfrc.json",
	"/etc/shadow",
	"/etc/gshadow",
	"/etc/ssh/ssh_host_*_key",
	".env",
	".env.*",
	".envrc",
	".git-credentials",
	".netrc",
	".npmrc",
	".pypirc",
	"*.pem",
	"*.key",
	"*service-account*.json",
	"*service_account*.json",
	NULL,
};

/*
 * Protected names, relative to every writable root (the workspace and each
 * allowWrite path). They stay read-only, and where they do not exist they
 * cannot be created: code the user runs later must not be planted there.
 */
const char *const policy_default_protected[] = {
	".bashrc",
	".bash_profile",
	".bash_login",
	".bash_logout",
	".profile",
	".zshrc",
	".zshenv",
	".zprofile",
	".zlogin",
	".zlogout",
	".cshrc",
	".tcshrc",
	".config/fish",
	".inputrc",
	".gitconfig",
	".gitmodules",
	".git/hooks",
	".git/config",
	".vscode",
	".idea",
	".claude/commands",
	".claude/agents",
	".claude/settings.json",
	".claude/settings.local.json",
	".mcp.json",
	".airlock.json",
	".srt-settings.json",
	NULL,
};

/* Variables kept from the caller's environment when present. */
const char *const policy_env_keep[] = {
	"PATH", "HOME", "USER", "LOGNAME", "SHELL", "TERM", "COLORTERM",
	"LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "LC_COLLATE", "LC_MESSAGES",
	"LC_NUMERIC", "LC_TIME", "LC_MONETARY", "TZ", "NO_COLOR",
	"COLUMNS", "LINES", "EDITOR", "VISUAL", "PAGER",
	NULL,
};

/* Substrings that mark a name as secret (compared case-insensitively). */
static const char *const secret_words[] = {
	"KEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL",
	"PRIVATE", "SESSION", "COOKIE", "AUTH", "APIKEY", NULL,
};

/* Whole names, or prefixes ending in '_', of well-known credentials. */
static const char *const secret_names[] = {
	"AWS_", "AZURE_", "GOOGLE_APPLICATION_CREDENTIALS", "GCLOUD_",
	"CLOUDSDK_", "GITHUB_", "GH_", "GITLAB_", "NPM_CONFIG__AUTH",
	"DOCKER_AUTH_CONFIG", "DOCKER_PASSWORD", "HF_", "HUGGING_FACE_",
	"ANTHROPIC_", "OPENAI_", "DATABASE_URL", "PGPASS", "KUBECONFIG",
	"SSH_AUTH_SOCK", "VAULT_", "DIGITALOCEAN_", "HEROKU_", "STRIPE_",
	"SLACK_", "TWILIO_", "CI_JOB_JWT", NULL,
};

static bool contains_word(const char *name, const char *word)
{
	size_t lw = strlen(word);

	for (const char *p = name; *p; p++)
		if (strncasecmp(p, word, lw) == 0)
			return true;
	return false;
}

bool policy_env_name_is_secret(const char *name)
{
	for (size_t i = 0; secret_words[i]; i++)
		if (contains_word(name, secret_words[i]))
			return true;
	for (size_t i = 0; secret_names[i]; i++) {
		size_t l = strlen(secret_names[i]);

		if (strncasecmp(name, secret_names[i], l) == 0)
			return true;
	}
	return false;
}

/*
 * The claude-code profile: the workspace profile, plus what Claude Code
 * needs to run inside. Its state (~/.claude, ~/.claude.json) is writable,
 * but the files there that hold the user's own settings, hooks, commands
 * and instructions stay read-only, and the login it keeps on disk is
 * masked: a key or token reaches it as a placeholder from the caller's
 * environment instead. Only the Messages API (and the model list) can be
 * reached, and the variables below turn off telemetry, error reports and
 * the other calls Claude Code makes besides the API itself. Parsed as a
 * settings file named "profile claude-code", so it is checked like one.
 */
const char policy_claude_code_settings[] =
	"{\n"
	"\"filesystem\": {\n"
	"  \"allowWrite\": [\"~/.claude\", \"~/.claude.json\"],\n"
	"  \"mask\": [\"~/.claude/.credentials.json\"],\n"
	"  \"protect\": [\"~/.claude/settings.json\",\n"
	"    \"~/.claude/settings.local.json\", \"~/.claude/CLAUDE.md\",\n"
	"    \"~/.claude/commands\", \"~/.claude/agents\",\n"
	"    \"~/.claude/skills\", \"~/.claude/plugins\"]\n"
	"},\n"
	"\"network\": {\n"
	"  \"allowedDomains\": [\"api.anthropic.com\"],\n"
	"  \"requestRules\": [\n"
	"    {\"host\": \"api.anthropic.com\", \"methods\": [\"POST\"],\n"
	"     \"paths\": [\"/v1/messages\"],\n"
	"     \"reason\": \"only the Messages API is reachable from this "
	"sandbox\"},\n"
	"    {\"host\": \"api.anthropic.com\", \"methods\": [\"GET\"],\n"
	"     \"paths\": [\"/v1/models\"],\n"
	"     \"reason\": \"only the Messages API is reachable from this "
	"sandbox\"}]\n"
	"},\n"
	"\"credentials\": {\"secrets\": [\n"
	"  {\"name\": \"anthropic-api-key\", \"optional\": true,\n"
	"   \"from\": {\"env\": \"ANTHROPIC_API_KEY\"},\n"
	"   \"hosts\": [\"api.anthropic.com\"]},\n"
	"  {\"name\": \"anthropic-auth-token\", \"optional\": true,\n"
	"   \"from\": {\"env\": \"ANTHROPIC_AUTH_TOKEN\"},\n"
	"   \"hosts\": [\"api.anthropic.com\"]},\n"
	"  {\"name\": \"claude-code-oauth-token\", \"optional\": true,\n"
	"   \"from\": {\"env\": \"CLAUDE_CODE_OAUTH_TOKEN\"},\n"
	"   \"hosts\": [\"api.anthropic.com\"]}]\n"
	"},\n"
	"\"env\": {\"set\": {\n"
	"  \"DISABLE_TELEMETRY\": \"1\",\n"
	"  \"DISABLE_ERROR_REPORTING\": \"1\",\n"
	"  \"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC\": \"1\"\n"
	"}}\n"
	"}\n";
