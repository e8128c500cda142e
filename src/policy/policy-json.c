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
 * policy-index.c found for its key. Each string is checked and converted
 * by policy-entries.c, and the handlers of credentials, request rules,
 * routes and tlsTerminate are in policy-credentials.c.
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

struct key_spec {
	const char *name;
	enum key_type type;
	bool required;
	enum policy_entry_kind entry;
	const struct key_spec *fields;	/* KEY_OBJECT, KEY_OBJECTS */
	const char *const *choices;	/* KEY_ENUM */
	long long min, max;		/* KEY_WHOLE */

	/* Where the value lands: a bool, a uint64_t or a struct strv. */
	bool stored;
	size_t offset;

	/* Called with each converted string entry that passed its check. */
	void (*add)(struct policy_reader *r, const char *path,
		    const char *entry);
	/*
	 * Called with each map member, or with an object (alone or in an
	 * array) whose members had no error.
	 */
	void (*apply)(struct policy_reader *r, const char *path,
		      const char *name, json_t *v);
};

#define FIELD(f) .stored = true, .offset = offsetof(struct policy, f)

/* ---- handlers for values that need more than a field ---- */

static void add_unmask(struct policy_reader *r, const char *path,
		       const char *entry)
{
	if (strv_contains(&r->unmask, entry))
		return;
	strv_push(&r->unmask, entry);
	strv_push(&r->unmask_paths, path);
}

static void apply_denied_reason(struct policy_reader *r, const char *path,
				const char *name, json_t *v)
{
	struct policy *p = r->m->p;

	if (json_string_length(v) == 0) {
		policy_reader_error(r, path, "a reason must not be empty");
		return;
	}
	policy_env_var_put(&p->denied_domain_reasons,
			   &p->n_denied_domain_reasons, name,
			   json_string_value(v));
}

/* The value is not named in any message: it may be a secret. */
static void apply_env_set(struct policy_reader *r, const char *path,
			  const char *name, json_t *v)
{
	struct policy *p = r->m->p;

	if (!policy_env_name_valid(name)) {
		policy_reader_error(r, path,
				    "not a valid environment variable name");
		return;
	}
	if (strlen(json_string_value(v)) != json_string_length(v)) {
		policy_reader_error(r, path, "the value must not contain NUL");
		return;
	}
	policy_env_var_put(&p->env_set, &p->n_env_set, name,
			   json_string_value(v));
}

/* network.hosts: "name": "address" or "name": ["address", ...] */
static void apply_host(struct policy_reader *r, const char *path,
		       const char *name, json_t *v)
{
	struct policy *p = r->m->p;
	struct policy_host *h;
	struct host canon;
	const char *why;
	size_t i, n = json_is_array(v) ? json_array_size(v) : 1;

	if (host_canon(name, strlen(name), &canon, &why) < 0 ||
	    canon.kind != HOST_NAME) {
		policy_reader_error(r, path, "not a host name%s%s",
				    why ? ": " : "", why ? why : "");
		return;
	}
	for (i = 0; i < n; i++) {
		json_t *a = json_is_array(v) ? json_array_get(v, i) : v;
		struct sockaddr_in6 probe;

		if (!json_is_string(a) ||
		    (inet_pton(AF_INET, json_string_value(a), &probe) != 1 &&
		     inet_pton(AF_INET6, json_string_value(a), &probe) != 1)) {
			policy_reader_error(r, path,
					    "expected an IP address or an "
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
static void add_parent_https(struct policy_reader *r, const char *path,
			     const char *entry)
{
	set_string(&r->m->p->parent_proxy, entry);
	r->m->parent_https_set = true;
}

static void add_parent_http(struct policy_reader *r, const char *path,
			    const char *entry)
{
	if (!r->m->parent_https_set)
		set_string(&r->m->p->parent_proxy, entry);
}

static void add_audit_file(struct policy_reader *r, const char *path,
			   const char *entry)
{
	set_string(&r->m->p->audit_file, entry);
}

/* ---- the schema ---- */

static const char *const credential_modes[] = { "deny", "mask", NULL };
static const char *const credential_uses[] = { "placeholder", "inject", NULL };
static const char *const inject_schemes[] = {
	"bearer", "basic", "raw", NULL,
};

static const struct key_spec mitm_proxy_keys[] = {
	{ .name = "socketPath", .type = KEY_STRING, .required = true,
	  .entry = POLICY_ENTRY_NONEMPTY },
	{ .name = "domains", .type = KEY_STRINGS, .required = true,
	  .entry = POLICY_ENTRY_ALLOW_DOMAIN },
	{ .name = NULL },
};

static const struct key_spec tls_terminate_keys[] = {
	{ .name = "caCertPath", .type = KEY_STRING,
	  .entry = POLICY_ENTRY_PATH },
	{ .name = "caKeyPath", .type = KEY_STRING,
	  .entry = POLICY_ENTRY_PATH },
	{ .name = "excludeDomains", .type = KEY_STRINGS,
	  .entry = POLICY_ENTRY_ALLOW_DOMAIN, FIELD(tls_exclude) },
	{ .name = "extraCaCertPaths", .type = KEY_STRINGS,
	  .entry = POLICY_ENTRY_PATH, FIELD(tls_extra_ca) },
	{ .name = "upstreamCaCertPaths", .type = KEY_STRINGS,
	  .entry = POLICY_ENTRY_PATH, FIELD(upstream_ca) },
	{ .name = NULL },
};

static const struct key_spec request_rule_keys[] = {
	{ .name = "host", .type = KEY_STRING, .required = true,
	  .entry = POLICY_ENTRY_ALLOW_DOMAIN },
	{ .name = "methods", .type = KEY_STRINGS,
	  .entry = POLICY_ENTRY_METHOD },
	{ .name = "paths", .type = KEY_STRINGS,
	  .entry = POLICY_ENTRY_URL_PATH },
	{ .name = "reason", .type = KEY_STRING,
	  .entry = POLICY_ENTRY_NONEMPTY },
	{ .name = NULL },
};

static const struct key_spec route_keys[] = {
	{ .name = "name", .type = KEY_STRING, .required = true,
	  .entry = POLICY_ENTRY_NAME },
	{ .name = "upstream", .type = KEY_STRING, .required = true,
	  .entry = POLICY_ENTRY_UPSTREAM },
	{ .name = "env", .type = KEY_STRING, .entry = POLICY_ENTRY_ENV_NAME },
	{ .name = "port", .type = KEY_WHOLE, .min = 1, .max = 65535 },
	{ .name = NULL },
};

static const struct key_spec parent_proxy_keys[] = {
	{ .name = "http", .type = KEY_STRING, .entry = POLICY_ENTRY_PROXY_URL,
	  .add = add_parent_http },
	{ .name = "https", .type = KEY_STRING, .entry = POLICY_ENTRY_PROXY_URL,
	  .add = add_parent_https },
	{ .name = "noProxy", .type = KEY_STRING },
	{ .name = NULL },
};

static const struct key_spec network_keys[] = {
	{ .name = "allowedDomains", .type = KEY_STRINGS,
	  .entry = POLICY_ENTRY_ALLOW_DOMAIN, FIELD(allowed_domains) },
	{ .name = "deniedDomains", .type = KEY_STRINGS,
	  .entry = POLICY_ENTRY_DENY_DOMAIN, FIELD(denied_domains) },
	{ .name = "deniedDomainReasons", .type = KEY_STRING_MAP,
	  .apply = apply_denied_reason },
	{ .name = "allowUnixSockets", .type = KEY_STRINGS,
	  .entry = POLICY_ENTRY_PATH, FIELD(allow_unix_sockets) },
	{ .name = "allowAllUnixSockets", .type = KEY_BOOL,
	  FIELD(allow_all_unix_sockets) },
	{ .name = "allowLocalBinding", .type = KEY_BOOL,
	  FIELD(allow_local_binding) },
	{ .name = "strictAllowlist", .type = KEY_BOOL },
	{ .name = "deniedResolvedAddresses", .type = KEY_STRINGS,
	  .entry = POLICY_ENTRY_ADDRESS, FIELD(denied_resolved) },
	{ .name = "allowMachLookup", .type = KEY_STRINGS },
	{ .name = "httpProxyPort", .type = KEY_WHOLE, .min = 1, .max = 65535 },
	{ .name = "socksProxyPort", .type = KEY_WHOLE, .min = 1, .max = 65535 },
	{ .name = "mitmProxy", .type = KEY_OBJECT, .fields = mitm_proxy_keys },
	{ .name = "filterRequest", .type = KEY_API_ONLY },
	{ .name = "tlsTerminate", .type = KEY_OBJECT,
	  .fields = tls_terminate_keys, .apply = policy_apply_tls_terminate },
	{ .name = "requestRules", .type = KEY_OBJECTS,
	  .fields = request_rule_keys, .apply = policy_apply_request_rule },
	{ .name = "routes", .type = KEY_OBJECTS, .fields = route_keys,
	  .apply = policy_apply_route },
	{ .name = "parentProxy", .type = KEY_OBJECT,
	  .fields = parent_proxy_keys },
	{ .name = "hosts", .type = KEY_ADDR_MAP, .apply = apply_host },
	{ .name = "allowAddresses", .type = KEY_STRINGS,
	  .entry = POLICY_ENTRY_ADDRESS, FIELD(allow_addresses) },
	{ .name = NULL },
};

static const struct key_spec audit_keys[] = {
	{ .name = "file", .type = KEY_STRING, .entry = POLICY_ENTRY_PATH,
	  .add = add_audit_file },
	{ .name = NULL },
};

static const struct key_spec filesystem_keys[] = {
	{ .name = "denyRead", .type = KEY_STRINGS, .entry = POLICY_ENTRY_PATH,
	  FIELD(deny_read) },
	{ .name = "allowRead", .type = KEY_STRINGS, .entry = POLICY_ENTRY_PATH,
	  FIELD(allow_read) },
	{ .name = "allowWrite", .type = KEY_STRINGS,
	  .entry = POLICY_ENTRY_WRITE_PATH, FIELD(allow_write) },
	{ .name = "denyWrite", .type = KEY_STRINGS,
	  .entry = POLICY_ENTRY_WRITE_PATH, FIELD(deny_write) },
	{ .name = "allowGitConfig", .type = KEY_BOOL,
	  FIELD(allow_git_config) },
	{ .name = "disabled", .type = KEY_BOOL },
	{ .name = "mask", .type = KEY_STRINGS, .entry = POLICY_ENTRY_MASK,
	  FIELD(mask) },
	{ .name = "unmask", .type = KEY_STRINGS, .entry = POLICY_ENTRY_MASK,
	  .add = add_unmask },
	{ .name = "protect", .type = KEY_STRINGS, .entry = POLICY_ENTRY_PROTECT,
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
	  .entry = POLICY_ENTRY_NONEMPTY },
	{ .name = "mode", .type = KEY_ENUM, .required = true,
	  .choices = credential_modes },
	{ .name = "injectHosts", .type = KEY_STRINGS,
	  .entry = POLICY_ENTRY_ALLOW_DOMAIN },
	{ .name = "maskDuplicates", .type = KEY_STRUCTURED },
	STRUCTURED_KEYS,
	{ .name = NULL },
};

static const struct key_spec credential_env_keys[] = {
	{ .name = "name", .type = KEY_STRING, .required = true,
	  .entry = POLICY_ENTRY_ENV_NAME },
	{ .name = "mode", .type = KEY_ENUM, .required = true,
	  .choices = credential_modes },
	{ .name = "injectHosts", .type = KEY_STRINGS,
	  .entry = POLICY_ENTRY_ALLOW_DOMAIN },
	STRUCTURED_KEYS,
	{ .name = NULL },
};

static const struct key_spec secret_from_keys[] = {
	{ .name = "env", .type = KEY_STRING, .entry = POLICY_ENTRY_ENV_NAME },
	{ .name = "file", .type = KEY_STRING, .entry = POLICY_ENTRY_PATH },
	{ .name = "command", .type = KEY_STRINGS, .entry = POLICY_ENTRY_ANY },
	{ .name = NULL },
};

static const struct key_spec secret_keys[] = {
	{ .name = "name", .type = KEY_STRING, .required = true,
	  .entry = POLICY_ENTRY_NAME },
	{ .name = "from", .type = KEY_OBJECT, .required = true,
	  .fields = secret_from_keys },
	{ .name = "optional", .type = KEY_BOOL },
	{ .name = "hosts", .type = KEY_STRINGS, .required = true,
	  .entry = POLICY_ENTRY_CRED_HOST },
	{ .name = "use", .type = KEY_ENUM, .choices = credential_uses },
	{ .name = "env", .type = KEY_STRING, .entry = POLICY_ENTRY_ENV_NAME },
	{ .name = "file", .type = KEY_STRING, .entry = POLICY_ENTRY_PATH },
	{ .name = "body", .type = KEY_BOOL },
	{ .name = "header", .type = KEY_STRING, .entry = POLICY_ENTRY_HEADER },
	{ .name = "scheme", .type = KEY_ENUM, .choices = inject_schemes },
	{ .name = NULL },
};

static const struct key_spec credentials_keys[] = {
	{ .name = "files", .type = KEY_OBJECTS, .fields = credential_file_keys,
	  .apply = policy_apply_credential_file },
	{ .name = "envVars", .type = KEY_OBJECTS,
	  .fields = credential_env_keys, .apply = policy_apply_credential_env },
	{ .name = "secrets", .type = KEY_OBJECTS, .fields = secret_keys,
	  .apply = policy_apply_secret },
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
	  .entry = POLICY_ENTRY_NONEMPTY },
	{ .name = NULL },
};

static const struct key_spec windows_keys[] = {
	{ .name = "sandboxUser", .type = KEY_STRING,
	  .entry = POLICY_ENTRY_NONEMPTY },
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
	{ .name = "pass", .type = KEY_STRINGS, .entry = POLICY_ENTRY_ENV_NAME,
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
	{ .name = "bwrapPath", .type = KEY_STRING,
	  .entry = POLICY_ENTRY_NONEMPTY },
	{ .name = "socatPath", .type = KEY_STRING,
	  .entry = POLICY_ENTRY_NONEMPTY },
	{ .name = "javaAgentJarPath", .type = KEY_STRING,
	  .entry = POLICY_ENTRY_NONEMPTY },
	{ .name = "windows", .type = KEY_OBJECT, .fields = windows_keys },
	{ .name = "git", .type = KEY_OBJECT, .fields = git_keys },
	{ .name = NULL },
};

/* ---- messages ---- */

void policy_reader_error(struct policy_reader *r, const char *path,
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

char *policy_path_child(const char *parent, const char *name)
{
	if (!*parent)
		return xstrdup(name);
	return xasprintf("%s.%s", parent, name);
}

static char *path_element(const char *parent, size_t i)
{
	return xasprintf("%s[%zu]", parent, i);
}

static void *field_of(struct policy_reader *r, const struct key_spec *k)
{
	return (char *)r->m->p + k->offset;
}

/* ---- numbers ---- */

int policy_whole_read(json_t *v, long long min, long long max, long long *out)
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

static void check_members(struct policy_reader *r, const struct key_spec *keys,
			  json_t *obj, const char *path);

/* Checks one string of a KEY_STRING or KEY_STRINGS key and merges it. */
static void entry_take(struct policy_reader *r, const struct key_spec *k,
		       json_t *v, const char *path)
{
	_cleanup_free_ char *e = NULL;
	const char *s = json_string_value(v);
	const char *why = "invalid";

	if (strlen(s) != json_string_length(v)) {
		policy_reader_error(r, path, "must not contain NUL");
		return;
	}
	e = policy_entry_convert(r->m->p, k->entry, s, &why);
	if (!e) {
		policy_reader_error(r, path, "%s", why);
		return;
	}
	if (k->stored && k->type == KEY_STRINGS)
		strv_push_unique(field_of(r, k), e);
	if (k->add)
		k->add(r, path, e);
}

static void check_bool(struct policy_reader *r, const struct key_spec *k,
		       json_t *v, const char *path)
{
	bool *slot;

	if (!json_is_boolean(v)) {
		policy_reader_error(r, path, "expected true or false");
		return;
	}
	if (!k->stored)
		return;
	slot = field_of(r, k);
	*slot = json_is_true(v);
}

static void check_string(struct policy_reader *r, const struct key_spec *k,
			 json_t *v, const char *path)
{
	if (!json_is_string(v)) {
		policy_reader_error(r, path, "expected a string");
		return;
	}
	entry_take(r, k, v, path);
}

static void check_enum(struct policy_reader *r, const struct key_spec *k,
		       json_t *v, const char *path)
{
	const char *s = json_string_value(v);

	for (size_t i = 0; s && k->choices[i]; i++)
		if (streq(s, k->choices[i]))
			return;
	if (k->choices[1] && k->choices[2])
		policy_reader_error(r, path,
				    "expected \"%s\", \"%s\" or \"%s\"",
				    k->choices[0], k->choices[1],
				    k->choices[2]);
	else if (k->choices[1])
		policy_reader_error(r, path, "expected \"%s\" or \"%s\"",
				    k->choices[0], k->choices[1]);
	else
		policy_reader_error(r, path, "expected \"%s\"", k->choices[0]);
}

static void check_whole(struct policy_reader *r, const struct key_spec *k,
			json_t *v, const char *path)
{
	long long n;
	uint64_t *slot;
	int e = policy_whole_read(v, k->min, k->max, &n);

	if (e == -EINVAL) {
		policy_reader_error(r, path, "expected a whole number");
		return;
	}
	if (e == -ERANGE && k->max == WHOLE_MAX_VALUE) {
		policy_reader_error(r, path,
				    "must be a whole number from %lld up",
				    k->min);
		return;
	}
	if (e == -ERANGE) {
		policy_reader_error(r, path, "must be from %lld to %lld",
				    k->min, k->max);
		return;
	}
	if (!k->stored)
		return;
	slot = field_of(r, k);
	*slot = (uint64_t)n;
}

static void check_size(struct policy_reader *r, const struct key_spec *k,
		       json_t *v, const char *path)
{
	uint64_t bytes = 0, *slot;
	long long n = 0;
	int e;

	if (json_is_string(v)) {
		e = size_parse(json_string_value(v), &bytes);
	} else {
		e = policy_whole_read(v, 0, WHOLE_MAX_VALUE, &n);
		bytes = (uint64_t)n;
	}
	if (e == -ERANGE) {
		policy_reader_error(r, path, "size is too large or negative");
		return;
	}
	if (e < 0) {
		policy_reader_error(r, path,
				    "expected a size: a number of bytes or a "
				    "string such as \"512M\" or \"2G\"");
		return;
	}
	if (!k->stored)
		return;
	slot = field_of(r, k);
	*slot = bytes;
}

static void check_strings(struct policy_reader *r, const struct key_spec *k,
			  json_t *v, const char *path)
{
	size_t i;
	json_t *item;

	if (!json_is_array(v)) {
		policy_reader_error(r, path, "expected an array of strings");
		return;
	}
	if (json_array_size(v) > ARRAY_MAX_ENTRIES) {
		policy_reader_error(r, path, "more than %d entries",
				    ARRAY_MAX_ENTRIES);
		return;
	}
	json_array_foreach(v, i, item) {
		_cleanup_free_ char *p = path_element(path, i);

		if (!json_is_string(item))
			policy_reader_error(r, p, "expected a string");
		else
			entry_take(r, k, item, p);
	}
}

static void check_object(struct policy_reader *r, const struct key_spec *k,
			 json_t *v, const char *path)
{
	size_t before = r->m->errs->len;

	if (!json_is_object(v)) {
		policy_reader_error(r, path, "expected an object");
		return;
	}
	check_members(r, k->fields, v, path);
	if (k->apply && r->m->errs->len == before)
		k->apply(r, path, NULL, v);
}

static void check_objects(struct policy_reader *r, const struct key_spec *k,
			  json_t *v, const char *path)
{
	size_t i;
	json_t *item;

	if (!json_is_array(v)) {
		policy_reader_error(r, path, "expected an array of objects");
		return;
	}
	if (json_array_size(v) > ARRAY_MAX_ENTRIES) {
		policy_reader_error(r, path, "more than %d entries",
				    ARRAY_MAX_ENTRIES);
		return;
	}
	json_array_foreach(v, i, item) {
		_cleanup_free_ char *p = path_element(path, i);
		size_t before = r->m->errs->len;

		if (!json_is_object(item)) {
			policy_reader_error(r, p, "expected an object");
			continue;
		}
		check_members(r, k->fields, item, p);
		if (k->apply && r->m->errs->len == before)
			k->apply(r, p, NULL, item);
	}
}

static void check_string_map(struct policy_reader *r, const struct key_spec *k,
			     json_t *v, const char *path)
{
	const char *name;
	json_t *item;

	if (!json_is_object(v)) {
		policy_reader_error(r, path, "expected an object of strings");
		return;
	}
	json_object_foreach(v, name, item) {
		_cleanup_free_ char *p = policy_path_child(path, name);

		if (!json_is_string(item))
			policy_reader_error(r, p, "expected a string");
		else if (k->apply)
			k->apply(r, p, name, item);
	}
}

static void check_strings_map(struct policy_reader *r, const struct key_spec *k,
			      json_t *v, const char *path)
{
	const char *name;
	json_t *item;

	if (!json_is_object(v)) {
		policy_reader_error(r, path,
				    "expected an object of string arrays");
		return;
	}
	json_object_foreach(v, name, item) {
		_cleanup_free_ char *p = policy_path_child(path, name);

		check_strings(r, k, item, p);
	}
}

static void check_addr_map(struct policy_reader *r, const struct key_spec *k,
			   json_t *v, const char *path)
{
	const char *name;
	json_t *item;

	if (!json_is_object(v)) {
		policy_reader_error(r, path,
				    "expected an object: host name to an "
				    "address or an array of addresses");
		return;
	}
	if (json_object_size(v) > ARRAY_MAX_ENTRIES) {
		policy_reader_error(r, path, "more than %d entries",
				    ARRAY_MAX_ENTRIES);
		return;
	}
	json_object_foreach(v, name, item) {
		_cleanup_free_ char *p = policy_path_child(path, name);

		if (json_is_array(item) && json_array_size(item) > 8)
			policy_reader_error(r, p,
					    "at most 8 addresses per name");
		else
			k->apply(r, p, name, item);
	}
}

static void check_port_range(struct policy_reader *r, const struct key_spec *k,
			     json_t *v, const char *path)
{
	long long lo, hi;

	if (!json_is_array(v) || json_array_size(v) != 2 ||
	    policy_whole_read(json_array_get(v, 0), 1, 65535, &lo) < 0 ||
	    policy_whole_read(json_array_get(v, 1), 1, 65535, &hi) < 0) {
		policy_reader_error(r, path,
				    "expected [low, high], two port numbers");
		return;
	}
	if (lo > hi || hi - lo > PORT_RANGE_MAX_WIDTH)
		policy_reader_error(r, path,
				    "low must not exceed high, and the "
				    "range must span at most %d ports",
				    PORT_RANGE_MAX_WIDTH);
}

static void check_value(struct policy_reader *r, const struct key_spec *k,
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
		policy_reader_error(r, path,
				    "srt takes this from its library API only; "
				    "it cannot be set in a settings file");
		break;
	case KEY_STRUCTURED:
		policy_reader_error(r, path,
				    "\"%s\" is part of srt's structured "
				    "masking, which airlock does not support "
				    "yet; mask the whole value or file instead",
				    k->name);
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

static void unknown_key(struct policy_reader *r, const struct key_spec *keys,
			const char *name, const char *path)
{
	_cleanup_free_ const char **names = NULL;
	const char *near, *home;
	size_t n = 0;

	if (policy_errors_full(r->m->errs)) {
		policy_reader_error(r, path, "unknown key");
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
		policy_reader_error(r, path,
				    "unknown key; did you mean \"%s\"?", near);
	else if (home)
		policy_reader_error(r, path,
				    "unknown key here; it belongs in \"%s\"",
				    home);
	else
		policy_reader_error(r, path, "unknown key");
}

static void check_members(struct policy_reader *r, const struct key_spec *keys,
			  json_t *obj, const char *path)
{
	const char *name;
	json_t *v;

	json_object_foreach(obj, name, v) {
		_cleanup_free_ char *p = policy_path_child(path, name);
		const struct key_spec *k = key_find(keys, name);

		if (k)
			check_value(r, k, v, p);
		else
			unknown_key(r, keys, name, p);
	}
	for (const struct key_spec *k = keys; k->name; k++)
		if (k->required && !json_object_get(obj, k->name))
			policy_reader_error(r, path,
					    "missing required key \"%s\"",
					    k->name);
}

/* ---- the file as a whole ---- */

/*
 * unmask takes effect once the whole file is read, so that its place
 * among the keys does not matter; it removes what the profile and the
 * earlier sources masked.
 */
static void reader_apply_unmask(struct policy_reader *r)
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
			policy_reader_error(r, r->unmask_paths.items[i],
					    "\"%s\" is not in the mask list; "
					    "did you mean \"%s\"?",
					    e, near);
		else
			policy_reader_error(r, r->unmask_paths.items[i],
					    "\"%s\" is not in the mask list",
					    e);
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
	struct policy_reader r = { .m = m, .file = file };
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
