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
