/* SPDX-License-Identifier: Apache-2.0 */
/* Lexical path helpers. Paths come from the policy and the command line. */
#include "config.h"

#include "common/path.h"

#include <string.h>

#include "common/util.h"

char *path_join(const char *a, const char *b)
{
	size_t la = strlen(a);

	while (la > 0 && a[la - 1] == '/')
		la--;
	while (*b == '/')
		b++;
	return xasprintf("%.*s/%s", (int)la, a, b);
}

static char *path_expand(const char *path, const char *base, const char *home)
{
	if (path[0] == '~' && (path[1] == '\0' || path[1] == '/')) {
		if (!home || home[0] != '/')
			return NULL;
		return path_join(home, path + 1);
	}
	if (path[0] == '/')
		return xstrdup(path);
	if (!base || base[0] != '/')
		return NULL;
	return path_join(base, path);
}

char *path_absolute(const char *path, const char *base, const char *home)
{
	_cleanup_free_ char *full = NULL;
	char *out, *o;
	const char *p;

	if (!path || !*path)
		return NULL;
	full = path_expand(path, base, home);
	if (!full)
		return NULL;

	out = xmalloc(strlen(full) + 2);
	o = out;
	for (p = full; *p;) {
		const char *start;
		size_t len;

		while (*p == '/')
			p++;
		start = p;
		while (*p && *p != '/')
			p++;
		len = (size_t)(p - start);
		if (len == 0 || (len == 1 && start[0] == '.'))
			continue;
		if (len == 2 && start[0] == '.' && start[1] == '.') {
			while (o > out && *--o != '/')
				;
			continue;
		}
		*o++ = '/';
		memcpy(o, start, len);
		o += len;
	}
	if (o == out)
		*o++ = '/';
	*o = '\0';
	return out;
}

bool path_is_within(const char *path, const char *dir)
{
	size_t ld = strlen(dir);

	if (streq(dir, "/"))
		return path[0] == '/';
	if (strncmp(path, dir, ld) != 0)
		return false;
	return path[ld] == '\0' || path[ld] == '/';
}

const char *path_basename(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

char *path_dirname(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash || slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

char *path_state_file(const char *state_home, const char *home,
		      const char *name)
{
	_cleanup_free_ char *rel = xasprintf("airlock/%s", name);
	_cleanup_free_ char *base = NULL;

	if (state_home && state_home[0] == '/')
		return path_absolute(rel, state_home, NULL);
	if (!home || home[0] != '/')
		return NULL;
	base = path_join(home, ".local/state");
	return path_absolute(rel, base, NULL);
}
