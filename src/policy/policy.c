/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Loading the effective policy: find the workspace and the home folder,
 * start from a built-in profile, merge the settings files in order,
 * resolve every path against those two folders, and check what spans
 * sources (route ports, variables claimed twice). Also the error list
 * that the load fills and its printing.
 *
 * Runs in the unprivileged parent before anything is set up. The files it
 * reads are the user's, but one named on the command line may come from a
 * repository; they are read with a size cap and parsed by policy-json.c.
 */
#include "config.h"

#include "policy/policy.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/path.h"
#include "common/strv.h"
#include "common/util.h"
#include "gateway/host.h"
#include "policy/policy-internal.h"

/* Limits every built-in profile starts from. */
#define PROFILE_PROCESSES 4096
#define PROFILE_MEMORY_BYTES (8ULL * 1024 * 1024 * 1024)

/* Keys longer than this get no suggestion (the work is quadratic). */
#define SUGGEST_MAX_CHARS 128

/* A route without a port listens on this plus its index, or the next free. */
#define ROUTE_PORT_BASE 3300

/* Room for "profile NAME" in messages about a profile's own settings. */
#define PROFILE_SOURCE_MAX_BYTES 64

/* The user's settings files, relative to the home folder, first found wins. */
static const char *const user_settings_files[] = {
	".config/airlock/settings.json",
	".srt-settings.json",
	NULL,
};

struct profile {
	const char *name;
	bool workspace_writable;
	const char *settings; /* merged after the shared base, or NULL */
};

static const struct profile profiles[] = {
	{ .name = "workspace", .workspace_writable = true },
	{ .name = "readonly", .workspace_writable = false },
	{ .name = "claude-code", .workspace_writable = true,
	  .settings = policy_claude_code_settings },
};

static const char *const profile_names[] = {
	"workspace", "readonly", "claude-code", NULL,
};

/*
 * Ports of the gateway's other listeners inside the sandbox: DNS, the
 * transparent capture of web traffic, SOCKS5 and the HTTP proxy.
 */
static const uint16_t route_reserved_ports[] = { 53, 80, 443, 1080, 3128 };

/* ---- errors ---- */

void policy_error_add(struct policy_errors *errs, const char *file, int line,
		      int column, const char *key, const char *fmt, ...)
{
	struct policy_error *e;
	va_list ap;
	char *msg;
	int n;

	if (errs->len > POLICY_ERRORS_MAX)
		return;
	if (errs->len == POLICY_ERRORS_MAX) {
		file = NULL;
		key = NULL;
		line = column = 0;
		fmt = "too many errors; the rest are not shown";
	}

	va_start(ap, fmt);
	n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		msg = xstrdup(fmt);

	errs->items = xreallocarray(errs->items, errs->len + 1,
				    sizeof(*errs->items));
	e = &errs->items[errs->len++];
	*e = (struct policy_error){
		.file = file ? xstrdup(file) : NULL,
		.line = line > 0 ? line : 0,
		.column = line > 0 && column > 0 ? column : 0,
		.key = key && *key ? xstrdup(key) : NULL,
		.message = msg,
	};
}

bool policy_errors_full(const struct policy_errors *errs)
{
	return errs->len >= POLICY_ERRORS_MAX;
}

bool policy_merge_failed(const struct policy_merge *m)
{
	return m->errs->len > m->errs_start;
}

void policy_error_at(struct policy_errors *errs, const struct policy_origin *o,
		     const char *fmt, ...)
{
	_cleanup_free_ char *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	policy_error_add(errs, o->file, o->line, o->column, o->key, "%s",
			 msg ? msg : "invalid value");
}

char *policy_origin_text(const struct policy_origin *o)
{
	if (o->line > 0 && o->column > 0)
		return xasprintf("%s:%d:%d", o->file, o->line, o->column);
	if (o->line > 0)
		return xasprintf("%s:%d", o->file, o->line);
	return xstrdup(o->file);
}

static void origins_free(struct policy_origin **v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free((*v)[i].file);
		free((*v)[i].key);
	}
	free(*v);
	*v = NULL;
}

static void origin_push(struct policy_origin **v, size_t n,
			struct policy_origin *o)
{
	*v = xreallocarray(*v, n + 1, sizeof(**v));
	(*v)[n] = *o;
	*o = (struct policy_origin){ 0 };
}

/* Copies s with control and non-ASCII bytes escaped, for a terminal. */
static char *sanitize_dup(const char *s)
{
	size_t size = strlen(s) * 4 + 1;
	char *out = xmalloc(size);

	log_sanitize(out, size, s);
	return out;
}

static void error_print(const struct policy_error *e, FILE *f)
{
	_cleanup_free_ char *msg = sanitize_dup(e->message);

	if (e->file) {
		_cleanup_free_ char *file = sanitize_dup(e->file);

		fprintf(f, "%s:", file);
		if (e->line > 0)
			fprintf(f, "%d:", e->line);
		if (e->line > 0 && e->column > 0)
			fprintf(f, "%d:", e->column);
		fputc(' ', f);
	}
	if (e->key) {
		_cleanup_free_ char *key = sanitize_dup(e->key);

		fprintf(f, "%s: ", key);
	}
	fprintf(f, "%s\n", msg);
}

void policy_errors_print(const struct policy_errors *errs, FILE *f)
{
	for (size_t i = 0; i < errs->len; i++)
		error_print(&errs->items[i], f);
}

/* Releases every error and leaves *errs empty and reusable. */
void policy_errors_free(struct policy_errors *errs)
{
	for (size_t i = 0; i < errs->len; i++) {
		free(errs->items[i].file);
		free(errs->items[i].key);
		free(errs->items[i].message);
	}
	free(errs->items);
	errs->items = NULL;
	errs->len = 0;
}

/* ---- suggestions ---- */

static int tolower_ascii(char c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : (unsigned char)c;
}

static size_t min3(size_t a, size_t b, size_t c)
{
	size_t m = a < b ? a : b;

	return m < c ? m : c;
}

/*
 * Edit distance counting insertions, deletions, substitutions and swaps
 * of two neighbours (the "optimal string alignment" form), comparing
 * letters without regard to case. Three rolling rows of lb + 1 cells.
 */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	_cleanup_free_ size_t *rows = xcalloc(3 * (lb + 1), sizeof(size_t));
	size_t *two = rows, *one = rows + lb + 1, *cur = rows + 2 * (lb + 1);

	for (size_t j = 0; j <= lb; j++)
		one[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t *t;

		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			int ai = tolower_ascii(a[i - 1]);
			int bj = tolower_ascii(b[j - 1]);
			size_t cost = ai == bj ? 0 : 1;

			cur[j] = min3(one[j] + 1, cur[j - 1] + 1,
				      one[j - 1] + cost);
			if (i > 1 && j > 1 && ai == tolower_ascii(b[j - 2]) &&
			    tolower_ascii(a[i - 2]) == bj &&
			    two[j - 2] + 1 < cur[j])
				cur[j] = two[j - 2] + 1;
		}
		t = two;
		two = one;
		one = cur;
		cur = t;
	}
	return one[lb];
}

const char *policy_suggest_key(const char *key, const char *const *candidates)
{
	size_t len = key ? strlen(key) : 0;
	size_t limit = len / 3 > 2 ? len / 3 : 2;
	size_t best_distance = (size_t)-1;
	const char *best = NULL;

	if (len == 0 || len > SUGGEST_MAX_CHARS || !candidates)
		return NULL;
	for (size_t i = 0; candidates[i]; i++) {
		size_t lc = strlen(candidates[i]), d;

		/* the distance is at least the difference in length */
		if (lc > SUGGEST_MAX_CHARS || lc + limit < len || len + limit < lc)
			continue;
		d = edit_distance(key, candidates[i]);
		if (d < best_distance) {
			best_distance = d;
			best = candidates[i];
		}
	}
	if (best_distance > limit)
		return NULL;
	return best;
}

/* ---- name/value lists ---- */

static void env_var_clear(struct policy_env_var *v)
{
	free(v->name);
	if (v->value) {
		explicit_bzero(v->value, strlen(v->value));
		free(v->value);
	}
}

void policy_env_var_put(struct policy_env_var **vars, size_t *n,
			const char *name, const char *value)
{
	for (size_t i = 0; i < *n; i++) {
		if (!streq((*vars)[i].name, name))
			continue;
		env_var_clear(&(*vars)[i]);
		(*vars)[i].name = xstrdup(name);
		(*vars)[i].value = xstrdup(value);
		return;
	}
	*vars = xreallocarray(*vars, *n + 1, sizeof(**vars));
	(*vars)[*n] = (struct policy_env_var){
		.name = xstrdup(name),
		.value = xstrdup(value),
	};
	(*n)++;
}

static void env_vars_free(struct policy_env_var **vars, size_t *n)
{
	for (size_t i = 0; i < *n; i++)
		env_var_clear(&(*vars)[i]);
	free(*vars);
	*vars = NULL;
	*n = 0;
}

/* ---- credentials and routes ---- */

void policy_credential_clear(struct policy_credential *c)
{
	free(c->name);
	free(c->from);
	strv_clear(&c->command);
	strv_clear(&c->hosts);
	free(c->env);
	free(c->file);
	free(c->header);
	*c = (struct policy_credential){ 0 };
}

void policy_route_clear(struct policy_route *rt)
{
	free(rt->name);
	free(rt->env);
	free(rt->upstream);
	*rt = (struct policy_route){ 0 };
}

static void request_rule_clear(struct policy_request_rule *r)
{
	free(r->host);
	strv_clear(&r->methods);
	strv_clear(&r->paths);
	free(r->reason);
}

void policy_credential_append(struct policy_merge *m,
			      struct policy_credential *c,
			      struct policy_origin *o)
{
	struct policy *p = m->p;

	origin_push(&m->cred_origins, p->n_credentials, o);
	p->credentials = xreallocarray(p->credentials, p->n_credentials + 1,
				       sizeof(*p->credentials));
	p->credentials[p->n_credentials++] = *c;
	*c = (struct policy_credential){ 0 };
}

void policy_route_append(struct policy_merge *m, struct policy_route *rt,
			 struct policy_origin *o)
{
	struct policy *p = m->p;

	origin_push(&m->route_origins, p->n_routes, o);
	p->routes = xreallocarray(p->routes, p->n_routes + 1,
				  sizeof(*p->routes));
	p->routes[p->n_routes++] = *rt;
	*rt = (struct policy_route){ 0 };
}

bool policy_route_port_reserved(unsigned int port)
{
	for (size_t i = 0; i < ARRAY_SIZE(route_reserved_ports); i++)
		if (route_reserved_ports[i] == port)
			return true;
	return false;
}

/* ---- path resolution ---- */

char *policy_resolve_path(const struct policy *p, const char *entry,
			  const char **why)
{
	char *out;

	if (!*entry) {
		*why = "a path must not be empty";
		return NULL;
	}
	out = path_absolute(entry, p->workspace, p->home);
	if (!out)
		*why = "cannot be made an absolute path";
	return out;
}

char *policy_resolve_mask(const struct policy *p, const char *entry,
			  const char **why)
{
	if (*entry && !strchr(entry, '/') && !streq(entry, "~")) {
		if (streq(entry, ".") || streq(entry, "..")) {
			*why = "a mask name must not be \".\" or \"..\"";
			return NULL;
		}
		return xstrdup(entry);
	}
	return policy_resolve_path(p, entry, why);
}

/* True when a relative name has a ".." component. */
static bool has_dotdot(const char *s)
{
	while (*s) {
		size_t n = strcspn(s, "/");

		if (n == 2 && s[0] == '.' && s[1] == '.')
			return true;
		s += n;
		s += strspn(s, "/");
	}
	return false;
}

char *policy_resolve_protect(const struct policy *p, const char *entry,
			     const char **why)
{
	_cleanup_free_ char *abs = NULL;

	if (!*entry) {
		*why = "a name must not be empty";
		return NULL;
	}
	if (entry[0] == '/' || streq(entry, "~") ||
	    strncmp(entry, "~/", 2) == 0)
		return policy_resolve_path(p, entry, why);
	if (has_dotdot(entry)) {
		*why = "a protected name must not contain \"..\"";
		return NULL;
	}

	/* Normalise by making it absolute under "/" and dropping the '/'. */
	abs = path_absolute(entry, "/", NULL);
	if (!abs || streq(abs, "/")) {
		*why = "names no file";
		return NULL;
	}
	return xstrdup(abs + 1);
}

/* ---- the workspace and the home folder ---- */

static char *current_dir(void)
{
	char *cwd = getcwd(NULL, 0);
	char *out;

	if (!cwd)
		return NULL;
	out = path_absolute(cwd, "/", NULL);
	free(cwd);
	return out;
}

static int resolve_workspace(struct policy_merge *m, const char *given)
{
	_cleanup_free_ char *cwd = NULL;

	if (given && given[0] == '/') {
		m->p->workspace = path_absolute(given, "/", NULL);
		return 0;
	}
	cwd = current_dir();
	if (!cwd) {
		policy_error_add(m->errs, NULL, 0, 0, NULL,
				 "cannot find the current directory: %s",
				 strerror(errno));
		return -EINVAL;
	}
	if (!given || !*given) {
		m->p->workspace = steal_ptr(&cwd);
		return 0;
	}
	m->p->workspace = path_absolute(given, cwd, NULL);
	return 0;
}

static const char *home_from_passwd(void)
{
	struct passwd *pw = getpwuid(getuid());

	return pw && pw->pw_dir && pw->pw_dir[0] == '/' ? pw->pw_dir : NULL;
}

static int resolve_home(struct policy_merge *m, const char *given)
{
	_cleanup_free_ char *cwd = NULL;
	const char *home = given;

	if (!home || !*home) {
		home = getenv("HOME");
		if (!home || home[0] != '/')
			home = home_from_passwd();
	}
	if (!home || !*home) {
		policy_error_add(m->errs, NULL, 0, 0, NULL,
				 "cannot find the home folder: "
				 "set HOME to an absolute path");
		return -EINVAL;
	}
	if (home[0] == '/') {
		m->p->home = path_absolute(home, "/", NULL);
		return 0;
	}
	cwd = current_dir();
	if (!cwd) {
		policy_error_add(m->errs, NULL, 0, 0, NULL,
				 "cannot find the current directory: %s",
				 strerror(errno));
		return -EINVAL;
	}
	m->p->home = path_absolute(home, cwd, NULL);
	return 0;
}

/* ---- profiles ---- */

static const struct profile *profile_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(profiles); i++)
		if (streq(profiles[i].name, name))
			return &profiles[i];
	return NULL;
}

static void profile_unknown(struct policy_merge *m, const char *name)
{
	const char *near = policy_suggest_key(name, profile_names);
	char list[128] = "";

	for (size_t i = 0; profile_names[i]; i++) {
		size_t n = strlen(list);

		snprintf(list + n, sizeof(list) - n, "%s%s", i ? ", " : "",
			 profile_names[i]);
	}
	if (near)
		policy_error_add(m->errs, NULL, 0, 0, NULL,
				 "unknown profile \"%s\"; did you mean \"%s\"? "
				 "(profiles: %s)", name, near, list);
	else
		policy_error_add(m->errs, NULL, 0, 0, NULL,
				 "unknown profile \"%s\" (profiles: %s)", name,
				 list);
}

static void profile_apply_masks(struct policy *p)
{
	for (size_t i = 0; policy_default_masks[i]; i++) {
		const char *why;
		char *m = policy_resolve_mask(p, policy_default_masks[i], &why);

		if (!m)
			continue;
		if (strv_contains(&p->mask, m))
			free(m);
		else
			strv_push_owned(&p->mask, m);
	}
}

static int profile_apply(struct policy_merge *m, const char *name)
{
	const struct profile *prof = profile_find(name);
	struct policy *p = m->p;

	if (!prof) {
		profile_unknown(m, name);
		return -EINVAL;
	}
	p->profile = xstrdup(prof->name);
	if (prof->workspace_writable)
		strv_push(&p->allow_write, p->workspace);
	p->read_system = true;
	profile_apply_masks(p);
	for (size_t i = 0; policy_default_protected[i]; i++)
		strv_push_unique(&p->protect, policy_default_protected[i]);
	p->limits = (struct policy_limits){
		.processes = PROFILE_PROCESSES,
		.memory_bytes = PROFILE_MEMORY_BYTES,
	};
	if (prof->settings) {
		char source[PROFILE_SOURCE_MAX_BYTES];

		snprintf(source, sizeof(source), "profile %s", prof->name);
		return policy_json_merge(m, source, prof->settings,
					 strlen(prof->settings));
	}
	return 0;
}

/* ---- settings files ---- */

/* Reads a regular file of at most POLICY_FILE_MAX_BYTES; -errno on error. */
static int settings_read(const char *path, char **text, size_t *len)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	struct stat st;
	ssize_t n;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if (st.st_size > POLICY_FILE_MAX_BYTES)
		return -EFBIG;

	buf = xmalloc(POLICY_FILE_MAX_BYTES + 1);
	n = read_full(fd, buf, POLICY_FILE_MAX_BYTES + 1);
	if (n < 0)
		return (int)n;
	if (n > POLICY_FILE_MAX_BYTES)
		return -EFBIG;
	buf[n] = '\0';
	*len = (size_t)n;
	*text = steal_ptr(&buf);
	return 0;
}

static void settings_read_error(struct policy_merge *m, const char *path,
				int r)
{
	if (r == -EFBIG)
		policy_error_add(m->errs, path, 0, 0, NULL,
				 "settings file is larger than %d bytes",
				 POLICY_FILE_MAX_BYTES);
	else if (r == -EINVAL)
		policy_error_add(m->errs, path, 0, 0, NULL,
				 "settings file is not a regular file");
	else
		policy_error_add(m->errs, path, 0, 0, NULL,
				 "cannot read settings file: %s",
				 strerror(-r));
}

/* Records a source as an absolute, normal path: the sandbox protects it. */
static void settings_add_source(struct policy_merge *m, const char *path)
{
	_cleanup_free_ char *cwd = NULL;
	char *abs;

	if (path[0] != '/')
		cwd = current_dir();
	abs = path_absolute(path, cwd, NULL);
	strv_push_owned(&m->p->sources, abs ? abs : xstrdup(path));
}

/* Messages name the file as the user wrote it. */
static void settings_merge_file(struct policy_merge *m, const char *path)
{
	char *text = NULL;
	size_t len = 0;
	int r;

	r = settings_read(path, &text, &len);
	if (r < 0) {
		settings_read_error(m, path, r);
		return;
	}
	settings_add_source(m, path);
	(void)policy_json_merge(m, path, text, len);

	/* The text may hold env.set values; do not leave them in the heap. */
	explicit_bzero(text, len);
	free(text);
}

/*
 * The user's own settings file, if one exists. One that lies inside the
 * workspace is skipped: what runs in the sandbox could have written it.
 */
static char *settings_find_user_file(const struct policy *p)
{
	for (size_t i = 0; user_settings_files[i]; i++) {
		_cleanup_free_ char *f = path_join(p->home,
						   user_settings_files[i]);
		struct stat st;

		if (stat(f, &st) < 0)
			continue;
		if (path_is_within(f, p->workspace)) {
			log_warn("not loading %s: it lies inside the "
				 "workspace; name it with --settings to use it",
				 f);
			continue;
		}
		return steal_ptr(&f);
	}
	return NULL;
}

static void settings_merge_all(struct policy_merge *m,
			       const struct policy_load_opts *opts)
{
	_cleanup_free_ char *user = NULL;

	if (opts->files) {
		for (size_t i = 0; opts->files[i]; i++)
			settings_merge_file(m, opts->files[i]);
		return;
	}
	if (opts->no_user_settings)
		return;
	user = settings_find_user_file(m->p);
	if (user)
		settings_merge_file(m, user);
}

/* ---- the load ---- */

/*
 * Finds the two folders and applies the profile. Only a missing folder
 * stops the load here: with an unknown profile the settings files are
 * still checked, so that every error is reported in one go.
 */
static int load_begin(struct policy_merge *m,
		      const struct policy_load_opts *opts)
{
	const char *profile = opts->profile ? opts->profile : "workspace";

	if (resolve_workspace(m, opts->workspace) < 0)
		return -EINVAL;
	if (resolve_home(m, opts->home) < 0)
		return -EINVAL;
	(void)profile_apply(m, profile);
	return 0;
}

static bool env_set_has(const struct policy *p, const char *name)
{
	for (size_t i = 0; i < p->n_env_set; i++)
		if (streq(p->env_set[i].name, name))
			return true;
	return false;
}

/*
 * A variable that a credential or a route sets inside must not be set by
 * env.set as well: which of the two the command saw would be a guess.
 */
static void env_check_claims(struct policy_merge *m)
{
	const struct policy *p = m->p;

	for (size_t i = 0; i < p->n_credentials; i++)
		if (p->credentials[i].env &&
		    env_set_has(p, p->credentials[i].env))
			policy_error_at(m->errs, &m->cred_origins[i],
					"env.set sets %s too, which holds this "
					"credential's placeholder",
					p->credentials[i].env);
	for (size_t i = 0; i < p->n_routes; i++)
		if (p->routes[i].env && env_set_has(p, p->routes[i].env))
			policy_error_at(m->errs, &m->route_origins[i],
					"env.set sets %s too, which holds this "
					"route's address", p->routes[i].env);
}

/*
 * A variable denied, holding a credential's value on the host, or set by
 * a credential or a route inside is never passed through, even if
 * env.pass lists it. The sandbox passes only env.pass and a short list of
 * harmless names, so dropping it from env.pass is enough.
 */
static void env_drop_passed(struct policy *p)
{
	for (size_t i = 0; i < p->deny_env.len; i++)
		strv_remove(&p->env_pass, p->deny_env.items[i]);
	for (size_t i = 0; i < p->n_credentials; i++) {
		const struct policy_credential *c = &p->credentials[i];

		if (c->source == POLICY_CRED_FROM_ENV)
			strv_remove(&p->env_pass, c->from);
		if (c->env)
			strv_remove(&p->env_pass, c->env);
	}
	for (size_t i = 0; i < p->n_routes; i++)
		if (p->routes[i].env)
			strv_remove(&p->env_pass, p->routes[i].env);
}

/* True when an allowedDomains entry names port: capture listens there. */
static bool port_of_allowed_domain(const struct policy *p, unsigned int port)
{
	for (size_t i = 0; i < p->allowed_domains.len; i++) {
		struct host_pattern pat;
		const char *why;

		if (host_pattern_parse(p->allowed_domains.items[i], false, &pat,
				       &why) == 0 && pat.port == port)
			return true;
	}
	return false;
}

static bool port_of_route(const struct policy *p, unsigned int port)
{
	for (size_t i = 0; i < p->n_routes; i++)
		if (p->routes[i].port == port)
			return true;
	return false;
}

/*
 * Routes get their ports once every source is read: one written in a
 * later file must not be taken by an earlier route's default.
 */
static void routes_finish(struct policy_merge *m)
{
	struct policy *p = m->p;

	for (size_t i = 0; i < p->n_routes; i++)
		if (p->routes[i].port &&
		    port_of_allowed_domain(p, p->routes[i].port))
			policy_error_at(m->errs, &m->route_origins[i],
					"port %u is named in "
					"network.allowedDomains, where the "
					"gateway listens already; choose "
					"another", p->routes[i].port);
	for (size_t i = 0; i < p->n_routes; i++) {
		unsigned int port = ROUTE_PORT_BASE + (unsigned int)i;

		if (p->routes[i].port)
			continue;
		while (policy_route_port_reserved(port) ||
		       port_of_route(p, port) ||
		       port_of_allowed_domain(p, port))
			port++;
		p->routes[i].port = (uint16_t)port;
	}
}

/* What holds after every source. */
static void load_finish(struct policy_merge *m)
{
	env_check_claims(m);
	routes_finish(m);
	env_drop_passed(m->p);
}

static int load_end(struct policy_merge *m)
{
	if (!policy_merge_failed(m))
		load_finish(m);
	origins_free(&m->cred_origins, m->p->n_credentials);
	origins_free(&m->route_origins, m->p->n_routes);
	if (!policy_merge_failed(m))
		return 0;
	policy_free(m->p);
	return -EINVAL;
}

int policy_load_buffer(struct policy *p, const struct policy_load_opts *opts,
		       const char *name, const char *text, size_t len,
		       struct policy_errors *errs)
{
	struct policy_errors scratch = { 0 };
	struct policy_merge m = {
		.p = p,
		.errs = errs ? errs : &scratch,
	};
	int r;

	m.errs_start = m.errs->len;
	*p = (struct policy){ 0 };
	if (load_begin(&m, opts) == 0) {
		strv_push(&p->sources, name);
		(void)policy_json_merge(&m, name, text, len);
	}
	r = load_end(&m);
	policy_errors_free(&scratch);
	return r;
}

int policy_load_text(struct policy *p, const char *name, const char *text,
		     size_t len, struct policy_errors *errs)
{
	const struct policy_load_opts opts = {
		.profile = "readonly", .workspace = "/", .home = "/",
	};

	return policy_load_buffer(p, &opts, name, text, len, errs);
}

int policy_load(struct policy *p, const struct policy_load_opts *opts,
		struct policy_errors *errs)
{
	static const struct policy_load_opts none = { 0 };
	struct policy_errors scratch = { 0 };
	struct policy_merge m = {
		.p = p,
		.errs = errs ? errs : &scratch,
	};
	int r;

	if (!opts)
		opts = &none;
	m.errs_start = m.errs->len;
	*p = (struct policy){ 0 };
	if (load_begin(&m, opts) == 0)
		settings_merge_all(&m, opts);
	r = load_end(&m);
	policy_errors_free(&scratch);
	return r;
}

/*
 * Releases everything *p owns (env.set values are wiped first) and leaves
 * it zeroed, so a second call is harmless.
 */
void policy_free(struct policy *p)
{
	free(p->profile);
	free(p->workspace);
	free(p->home);
	strv_clear(&p->sources);
	strv_clear(&p->allow_read);
	strv_clear(&p->deny_read);
	strv_clear(&p->allow_write);
	strv_clear(&p->deny_write);
	strv_clear(&p->mask);
	strv_clear(&p->protect);
	strv_clear(&p->allowed_domains);
	strv_clear(&p->denied_domains);
	env_vars_free(&p->denied_domain_reasons, &p->n_denied_domain_reasons);
	strv_clear(&p->allow_unix_sockets);
	for (size_t i = 0; i < p->n_hosts; i++) {
		free(p->hosts[i].name);
		strv_clear(&p->hosts[i].addrs);
	}
	free(p->hosts);
	strv_clear(&p->allow_addresses);
	strv_clear(&p->denied_resolved);
	free(p->parent_proxy);
	free(p->audit_file);
	for (size_t i = 0; i < p->n_credentials; i++)
		policy_credential_clear(&p->credentials[i]);
	free(p->credentials);
	strv_clear(&p->deny_env);
	for (size_t i = 0; i < p->n_request_rules; i++)
		request_rule_clear(&p->request_rules[i]);
	free(p->request_rules);
	for (size_t i = 0; i < p->n_routes; i++)
		policy_route_clear(&p->routes[i]);
	free(p->routes);
	free(p->tls_ca_cert);
	free(p->tls_ca_key);
	strv_clear(&p->tls_exclude);
	strv_clear(&p->tls_extra_ca);
	strv_clear(&p->upstream_ca);
	strv_clear(&p->env_pass);
	env_vars_free(&p->env_set, &p->n_env_set);
	*p = (struct policy){ 0 };
}

const char *const *policy_profile_names(void)
{
	return profile_names;
}
