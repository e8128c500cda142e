/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The effective policy of one run: built from a built-in profile and the
 * settings files, in that order, then resolved against the workspace and
 * the home folder. Everything here is plain data owned by struct policy;
 * the sandbox reads it, the gateway will read its network part.
 */
#ifndef AIRLOCK_POLICY_H
#define AIRLOCK_POLICY_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "common/strv.h"

/* Exit status for usage and policy errors, distinct from CMD's status. */
#define AIRLOCK_EXIT_USAGE 2

struct policy_env_var {
	char *name;
	char *value;
};

/* network.hosts: a name pinned to addresses, like curl's --resolve. */
struct policy_host {
	char *name;
	struct strv addrs;
};

/*
 * A credential the agent may use but never read (credentials.secrets, or
 * sandbox-runtime's credentials.envVars and .files with mode "mask"). The
 * gateway alone reads the real value, from source; the sandbox sees a
 * placeholder of the same shape, or nothing at all when the gateway adds
 * the header itself.
 */
enum policy_cred_source {
	POLICY_CRED_FROM_ENV,     /* from: the caller's variable */
	POLICY_CRED_FROM_FILE,    /* from: an absolute path */
	POLICY_CRED_FROM_COMMAND, /* command: argv; its standard output */
};

enum policy_cred_use {
	POLICY_CRED_PLACEHOLDER, /* env and/or file hold a placeholder */
	POLICY_CRED_INJECT,      /* the gateway adds header itself */
};

enum policy_inject_scheme {
	POLICY_INJECT_RAW,    /* header: VALUE */
	POLICY_INJECT_BEARER, /* header: Bearer VALUE */
	POLICY_INJECT_BASIC,  /* header: Basic base64(VALUE), VALUE "user:pass" */
};

struct policy_credential {
	char *name;    /* unique; named in logs and audit records, never the value */
	enum policy_cred_source source;
	char *from;    /* variable name, or absolute file path */
	struct strv command;
	bool optional; /* a source that is unset or missing skips it */
	/*
	 * Where it may go: "host", "*.domain", "host:port", each optionally
	 * followed by a path prefix ("api.example.com/v1/"). Empty: every
	 * host of network.allowedDomains (sandbox-runtime's default).
	 */
	struct strv hosts;
	enum policy_cred_use use;
	char *env;     /* placeholder: the variable set inside, or NULL */
	char *file;    /* placeholder: absolute path shown holding it, or NULL */
	bool body;     /* placeholder: replaced in request bodies as well */
	char *header;  /* inject: the header's name */
	enum policy_inject_scheme scheme;
};

/*
 * Limits the loader enforces: the gateway keeps one bit per credential on
 * each connection, and the sandbox hands over a fixed number of route
 * listeners.
 */
#define POLICY_CREDENTIALS_MAX 64
#define POLICY_ROUTES_MAX 16

/* network.requestRules: what requests to a host may do. */
struct policy_request_rule {
	char *host;          /* a pattern as in allowedDomains */
	struct strv methods; /* upper case; empty: any */
	struct strv paths;   /* path prefixes starting with '/'; empty: any */
	char *reason;        /* the text a refused request gets, or NULL */
};

/*
 * network.routes: a plain-HTTP listener inside the sandbox, on
 * 127.0.0.1:port, that forwards to an HTTPS upstream (for clients that
 * take a base URL); env is set to "http://127.0.0.1:port".
 */
struct policy_route {
	char *name;
	char *env;      /* e.g. ANTHROPIC_BASE_URL; may be NULL */
	char *upstream; /* "https://host[:port][/base]" */
	uint16_t port;  /* inside the sandbox; never 0 after loading */
};

struct policy_limits {
	uint64_t memory_bytes;    /* per process (RLIMIT_DATA) or cgroup; 0 = none */
	uint64_t processes;       /* tasks in the sandbox; 0 = none */
	uint64_t cpu_seconds;     /* CPU time per process; 0 = none */
	uint64_t open_files;      /* descriptors per process; 0 = inherited */
	uint64_t file_size_bytes; /* largest file written; 0 = none */
	uint64_t timeout_seconds; /* wall clock for the whole run; 0 = none */
};

struct policy {
	char *profile;   /* name of the built-in profile it started from */
	char *workspace; /* absolute, lexically normal */
	char *home;      /* absolute, lexically normal */
	struct strv sources; /* settings files merged, in order */

	/* filesystem: absolute, lexically normal paths after resolution */
	struct strv allow_read;  /* re-allowed inside deny_read regions */
	struct strv deny_read;   /* hidden (empty) inside the sandbox */
	struct strv allow_write; /* bound read-write (workspace included) */
	struct strv deny_write;  /* read-only even inside allow_write */
	struct strv mask;        /* credential masks: defaults + additions */
	struct strv protect;     /* protected names: defaults + additions */
	bool allow_git_config;   /* .git/config writable */
	bool read_system;        /* the host's file system readable at all */

	/* network: enforced by the gateway; kept here for it and for check */
	struct strv allowed_domains;
	struct strv denied_domains;
	struct policy_env_var *denied_domain_reasons;
	size_t n_denied_domain_reasons;
	struct strv allow_unix_sockets;
	bool allow_all_unix_sockets;
	bool allow_local_binding;
	struct policy_host *hosts;    /* network.hosts (airlock) */
	size_t n_hosts;
	struct strv allow_addresses;  /* network.allowAddresses (airlock) */
	struct strv denied_resolved;  /* network.deniedResolvedAddresses */
	char *parent_proxy;           /* network.parentProxy.https or .http */
	char *audit_file;             /* audit.file (airlock) */

	/* credentials and TLS termination: enforced by the gateway */
	struct policy_credential *credentials;
	size_t n_credentials;
	bool allow_plaintext_inject;  /* credentials.allowPlaintextInject */
	struct strv deny_env;         /* credentials.envVars, mode "deny" */
	struct policy_request_rule *request_rules;
	size_t n_request_rules;
	struct policy_route *routes;
	size_t n_routes;
	char *tls_ca_cert;            /* network.tlsTerminate.caCertPath */
	char *tls_ca_key;             /* network.tlsTerminate.caKeyPath */
	struct strv tls_exclude;      /* .excludeDomains: never terminated */
	struct strv tls_extra_ca;     /* .extraCaCertPaths: trusted inside */
	struct strv upstream_ca;      /* .upstreamCaCertPaths: the gateway trusts */

	/* environment */
	struct strv env_pass; /* names passed through even if they look secret */
	struct policy_env_var *env_set;
	size_t n_env_set;

	struct policy_limits limits;
};

/* One problem found while loading, with its position when known. */
struct policy_error {
	char *file;   /* NULL for errors not tied to a file */
	int line;     /* 1-based; 0 when unknown */
	int column;   /* 1-based; 0 when unknown */
	char *key;    /* dotted key path ("filesystem.allowWrite[2]"), or NULL */
	char *message;
};

struct policy_errors {
	struct policy_error *items;
	size_t len;
};

/* What to load. */
struct policy_load_opts {
	const char *profile;        /* NULL: "workspace" */
	const char *const *files;   /* settings files, NULL-terminated; NULL: defaults */
	const char *workspace;      /* NULL: the current directory */
	const char *home;           /* NULL: $HOME, else the passwd entry */
	bool no_user_settings;      /* do not look for the user's default file */
};

/*
 * Loads the effective policy. On success returns 0 and fills *p (which the
 * caller releases with policy_free). On failure returns -EINVAL and adds
 * every problem found to *errs (released with policy_errors_free); *p is
 * then released already. Not for use after fork.
 */
int policy_load(struct policy *p, const struct policy_load_opts *opts,
		struct policy_errors *errs);

void policy_free(struct policy *p);

/* Prints each error as "file:line:column: key: message" on f. */
void policy_errors_print(const struct policy_errors *errs, FILE *f);
void policy_errors_free(struct policy_errors *errs);

/* Writes the effective policy as indented JSON on f. */
void policy_print(const struct policy *p, FILE *f);

/*
 * The network part of the policy as the text of a settings file (the
 * `network` section only), for a shared gateway. Caller frees.
 */
char *policy_network_settings(const struct policy *p);

/*
 * Loads a policy from settings text alone (name is used in messages),
 * touching no file and no environment: for settings that arrive over a
 * socket. Returns 0 or -EINVAL with *errs filled, like policy_load.
 */
int policy_load_text(struct policy *p, const char *name, const char *text,
		     size_t len, struct policy_errors *errs);

/* Names of the built-in profiles, NULL-terminated. */
const char *const *policy_profile_names(void);

/* The built-in lists (NULL-terminated), see policy-defaults.c. */
extern const char *const policy_default_masks[];
extern const char *const policy_default_protected[];
extern const char *const policy_env_keep[];

/*
 * True when an environment variable name looks like it carries a secret
 * (KEY, TOKEN, SECRET, PASSWORD, ... or a known cloud credential).
 */
bool policy_env_name_is_secret(const char *name);

/*
 * Returns the valid key nearest to key among candidates (NULL-terminated),
 * or NULL when none is close enough to be a plausible typo.
 */
const char *policy_suggest_key(const char *key, const char *const *candidates);

#endif
