/* SPDX-License-Identifier: Apache-2.0 */
/* Lexical path helpers: no file system access, no symlink resolution. */
#ifndef AIRLOCK_PATH_H
#define AIRLOCK_PATH_H

#include <stdbool.h>

/*
 * Returns a new absolute, lexically normal form of path: "~" and "~/..."
 * expand to home, relative paths are taken from base, "." and empty
 * components are dropped and ".." removes the previous component (never
 * above "/"). Returns NULL when path is empty or "~" is used without a
 * home. The caller frees the result.
 */
char *path_absolute(const char *path, const char *base, const char *home);

/* Returns a new string "a/b" with exactly one slash between the parts. */
char *path_join(const char *a, const char *b);

/*
 * True when path equals dir or lies beneath it. Both must be absolute and
 * lexically normal.
 */
bool path_is_within(const char *path, const char *dir);

/* Returns a pointer to the last component of an absolute normal path. */
const char *path_basename(const char *path);

/* Returns a new copy of the parent directory of an absolute normal path. */
char *path_dirname(const char *path);

/*
 * Returns the new path of airlock's file name in the user's state folder:
 * state_home/airlock/name when state_home ($XDG_STATE_HOME) is absolute,
 * else home/.local/state/airlock/name when home is. A relative or empty
 * state_home is ignored, as the XDG base directory rules ask. Returns NULL
 * when neither is absolute. The caller frees the result; nothing is
 * created.
 */
char *path_state_file(const char *state_home, const char *home,
		      const char *name);

#endif
