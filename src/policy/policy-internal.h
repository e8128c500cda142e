/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the policy files share among themselves, with the unit tests and
 * with the fuzz target: the state of one load, error recording, path
 * resolution, the settings parser and its position index. The rest of
 * airlock uses policy.h only.
 */
#ifndef AIRLOCK_POLICY_INTERNAL_H
#define AIRLOCK_POLICY_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "policy/policy.h"

/* A settings file is small; anything larger is a mistake or an attack. */
#define POLICY_FILE_MAX_BYTES (1024 * 1024)

/* Errors kept per load; one more entry says that the rest were dropped. */
#define POLICY_ERRORS_MAX 100

/* Positions are recorded down to this nesting depth (the schema's is 4). */
#define POLICY_INDEX_MAX_DEPTH 6

/* Where an entry of a list was written: for checks that span sources. */
struct policy_origin {
	char *file;
	int line;   /* 0 when unknown */
	int column;
	char *key;  /* "credentials.secrets[2]"; NULL when none */
};

/* One load in progress: the policy being built and where errors go. */
struct policy_merge {
	struct policy *p;
	struct policy_errors *errs;
	size_t errs_start;     /* errs->len when the load began */
	bool parent_https_set; /* parentProxy.https seen: it wins over http */
	struct policy_origin *cred_origins;  /* one per p->credentials */
	struct policy_origin *route_origins; /* one per p->routes */
};

/*
 * Appends one error to errs. file and key may be NULL; line and column
 * are 0 when unknown. Past POLICY_ERRORS_MAX errors only a single "too
 * many errors" entry is added.
 */
void policy_error_add(struct policy_errors *errs, const char *file, int line,
		      int column, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

/*
 * True when errs holds POLICY_ERRORS_MAX errors or more: further ones are
 * dropped, so work spent on their wording (suggestions) is wasted.
 */
bool policy_errors_full(const struct policy_errors *errs);

/* True when the load has recorded at least one error so far. */
bool policy_merge_failed(const struct policy_merge *m);

/* Adds an error at o, for a check that runs once every source is read. */
void policy_error_at(struct policy_errors *errs, const struct policy_origin *o,
		     const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* "file:line:column" of o (as much of it as is known). Caller frees. */
char *policy_origin_text(const struct policy_origin *o);

/*
 * Appends c to m->p->credentials with o, the place it was written, taking
 * over what both own and leaving them zeroed. The same for routes. The
 * checks against earlier entries are the caller's.
 */
void policy_credential_append(struct policy_merge *m,
			      struct policy_credential *c,
			      struct policy_origin *o);
void policy_route_append(struct policy_merge *m, struct policy_route *rt,
			 struct policy_origin *o);

/* True for the ports the gateway's other listeners use inside. */
bool policy_route_port_reserved(unsigned int port);

/* Release what one entry owns and zero it. */
void policy_credential_clear(struct policy_credential *c);
void policy_route_clear(struct policy_route *rt);

/*
 * What the claude-code profile adds to the workspace profile, as settings
 * text merged like a file (policy-defaults.c).
 */
extern const char policy_claude_code_settings[];

/*
 * Sets name to value in a name/value list, replacing an earlier value of
 * the same name (wiped first). Copies both strings.
 */
void policy_env_var_put(struct policy_env_var **vars, size_t *n,
			const char *name, const char *value);

/*
 * Resolution of list entries against p->workspace and p->home. Each
 * returns a new string owned by the caller, or NULL when the entry cannot
 * be used; then *why (static text) says what is wrong with it.
 *
 * policy_resolve_path: absolute and lexically normal ("~" is the home
 * folder, a relative path starts at the workspace); wildcards are kept.
 * policy_resolve_mask: "~/x" and "/x" as above, a bare name without '/'
 * unchanged, any other relative path taken from the workspace.
 * policy_resolve_protect: a relative name stays relative, normalised
 * ("./a//b/" is "a/b") and without ".." components; "/x" and "~/x" are
 * made absolute as above.
 */
char *policy_resolve_path(const struct policy *p, const char *entry,
			  const char **why);
char *policy_resolve_mask(const struct policy *p, const char *entry,
			  const char **why);
char *policy_resolve_protect(const struct policy *p, const char *entry,
			     const char **why);

/*
 * Parses one settings file, already read into text (len bytes, NUL bytes
 * allowed and refused as JSON), and merges it into m->p. Every problem is
 * added to m->errs with file (used in messages only) as its file name.
 * Returns 0, or -EINVAL when this text produced errors. Touches no file.
 */
int policy_json_merge(struct policy_merge *m, const char *file,
		      const char *text, size_t len);

/*
 * Like policy_load, but the only settings source after the profile is the
 * given text, reported under name. opts->files and no_user_settings are
 * ignored. With opts->workspace and opts->home both set it touches no
 * file and no environment, which is what the fuzz target relies on.
 */
int policy_load_buffer(struct policy *p, const struct policy_load_opts *opts,
		       const char *name, const char *text, size_t len,
		       struct policy_errors *errs);

/* Maps dotted key paths of one JSON text to the position of each key. */
struct policy_index_entry {
	char *path;
	int line;
	int column;
};

struct policy_index {
	struct policy_index_entry *items;
	size_t len;
	size_t cap;
};

/*
 * Builds the index of a text jansson has accepted. Keys are recorded as
 * "a.b", array elements as "a.b[3]", down to POLICY_INDEX_MAX_DEPTH. On
 * text it does not understand it stops early and keeps what it found; it
 * never reads past len.
 */
void policy_index_build(struct policy_index *idx, const char *text,
			size_t len);

/*
 * Finds the position of path, or else of its nearest recorded ancestor.
 * Returns false (and sets 0, 0) when nothing matches.
 */
bool policy_index_find(const struct policy_index *idx, const char *path,
		       int *line, int *column);

void policy_index_free(struct policy_index *idx);

/*
 * Reading one settings file takes three files: policy-json.c walks the
 * JSON with a table of the keys it knows and records each error at the
 * position of its key; policy-entries.c checks each string and gives its
 * stored form; policy-credentials.c merges the entries that are checked
 * against one another (credentials, request rules, routes) and
 * tlsTerminate. What they share follows.
 */

/* Longest name of a credential or a route. */
#define POLICY_NAME_MAX_CHARS 64

/* How a string (alone or in an array) is checked and converted. */
enum policy_entry_kind {
	POLICY_ENTRY_ANY,
	POLICY_ENTRY_NONEMPTY,
	POLICY_ENTRY_PATH,	   /* resolved by policy_resolve_path */
	POLICY_ENTRY_WRITE_PATH,   /* as PATH, minus a final slash-star-star */
	POLICY_ENTRY_MASK,	   /* resolved by policy_resolve_mask */
	POLICY_ENTRY_PROTECT,	   /* normalised by policy_resolve_protect */
	POLICY_ENTRY_ALLOW_DOMAIN, /* host pattern with optional ":port" */
	POLICY_ENTRY_DENY_DOMAIN,  /* the same, or "*" */
	POLICY_ENTRY_ENV_NAME,	   /* [A-Za-z_][A-Za-z0-9_]* */
	POLICY_ENTRY_ADDRESS,	   /* an IP address or CIDR block */
	POLICY_ENTRY_PROXY_URL,	   /* http://ADDRESS:PORT */
	POLICY_ENTRY_NAME,	   /* credential, route: [A-Za-z0-9._-]{1,64} */
	POLICY_ENTRY_CRED_HOST,	   /* as ALLOW_DOMAIN, then an optional path */
	POLICY_ENTRY_URL_PATH,	   /* a path prefix of HTTP requests */
	POLICY_ENTRY_METHOD,	   /* an HTTP method, stored upper-case */
	POLICY_ENTRY_HEADER,	   /* a header a credential may be put in */
	POLICY_ENTRY_UPSTREAM,	   /* https://HOST[:PORT][/PATH], normalised */
};

/* The state of reading one file. */
struct policy_reader {
	struct policy_merge *m;
	const char *file;
	struct policy_index idx;
	struct strv unmask;	  /* resolved entries, applied at the end */
	struct strv unmask_paths; /* their key paths, for messages */
};

/*
 * Adds an error about the key at path ("network.routes[2].port") of the
 * file r reads, at the position of that key or of its nearest recorded
 * ancestor.
 */
void policy_reader_error(struct policy_reader *r, const char *path,
			 const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The key path of member name of parent ("" is the top). Caller frees. */
char *policy_path_child(const char *parent, const char *name);

/*
 * Reads a whole number, which JSON may also spell 1e3 or 4.0. Returns 0,
 * -EINVAL when v is not a whole number, -ERANGE when it is out of range.
 */
int policy_whole_read(json_t *v, long long min, long long max,
		      long long *out);

/*
 * Returns the stored form of s, an entry of the given kind, owned by the
 * caller; or NULL and a reason (static text) in *why. Paths are resolved
 * against p->workspace and p->home.
 */
char *policy_entry_convert(const struct policy *p, enum policy_entry_kind kind,
			   const char *s, const char **why);

/* True for a character of a credential's or a route's name. */
bool policy_name_char(char c);

/* True for an environment variable's name: [A-Za-z_][A-Za-z0-9_]*. */
bool policy_env_name_valid(const char *s);

/*
 * The handlers of credentials.files[], credentials.envVars[],
 * credentials.secrets[], network.requestRules[], network.routes[] and
 * network.tlsTerminate, which the schema calls with an entry (v, at key
 * path path) whose members passed their checks; name is NULL. Each
 * merges the entry into r->m, or adds an error saying why it cannot.
 */
void policy_apply_credential_file(struct policy_reader *r, const char *path,
				  const char *name, json_t *v);
void policy_apply_credential_env(struct policy_reader *r, const char *path,
				 const char *name, json_t *v);
void policy_apply_secret(struct policy_reader *r, const char *path,
			 const char *name, json_t *v);
void policy_apply_request_rule(struct policy_reader *r, const char *path,
			       const char *name, json_t *v);
void policy_apply_route(struct policy_reader *r, const char *path,
			const char *name, json_t *v);
void policy_apply_tls_terminate(struct policy_reader *r, const char *path,
				const char *name, json_t *v);

#endif
