/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `airlock apply`'s work: landing the changes of an overlay run in the
 * real workspace. Everything is checked before anything is changed; then
 * each regular file is written beside its target under a temporary name,
 * fsync'd and renamed over the target, so that an apply interrupted at
 * any instant, even by SIGKILL, leaves every file either old or new.
 *
 * Conflicts. A run folder keeps no copy of the tree the agent started
 * from, so a change since the run started is recognised by its ctime,
 * which no one can set back: an existing target whose ctime is later than
 * the run's start was changed by someone else, and where a target is
 * missing, its folder must not have changed either (something was added
 * or removed there). Apply's own changes would trip the same test on a
 * second apply, so REVIEW_STATE_FILE in the run's folder keeps, for each
 * folder apply has touched, its ctime after apply (the new baseline), or
 * -1 while an apply is under way: an interrupted apply's folders are then
 * not held against the next one, which finishes the work.
 *
 * Trust position: runs with the rights of the user who reviews. The upper
 * layer's names, contents, modes and symlink targets were all chosen by
 * the agent: files are copied by content, setuid and setgid bits are
 * dropped, owners are not copied (the result belongs to the user), no
 * link is followed in either tree, and protected names (review-protect.c)
 * are refused without --force.
 */
#include "config.h"

#include "review/review.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"

/* The state file holds one entry per folder touched. */
#define STATE_FILE_MAX_BYTES (16u << 20)
/* Copied per read and write when copy_file_range cannot be used. */
#define COPY_CHUNK_BYTES (128 * 1024)
/* The state's mark of a folder an apply is touching right now. */
#define STATE_TOUCHING (-1)

#define MODE_PERM_MASK 07777
#define NS_PER_SEC INT64_C(1000000000)

/* A folder of a tree held open while consecutive changes fall in it. */
struct dir_cache {
	int root_fd;
	char *path;
	int fd;
};

/* One apply, from the checks to the state written back. */
struct apply {
	const struct review_apply_opts *o;
	const struct review_changes *changes;
	struct review_apply_result *res;
	bool *selected;
	const struct review_change **by_path; /* sorted, for lookups */
	json_t *state;       /* {"dirs": {escaped path: ctime ns}} */
	struct dir_cache real;
	struct dir_cache upper;
	struct strv modes;   /* folders whose mode is set at the end */
	bool proc_fd;        /* /proc/self/fd links O_TMPFILE files */
};

/* ---- paths ---- */

/* The parent folder of a relative path ("" at the top), new. */
static char *rel_parent(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? xstrndup(path, (size_t)(slash - path)) : xstrdup("");
}

static const char *rel_base(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

static int compare_change_paths(const void *a, const void *b)
{
	const struct review_change *const *x = a, *const *y = b;

	return strcmp((*x)->path, (*y)->path);
}

static const struct review_change *change_find(const struct apply *a,
					       const char *path)
{
	struct review_change key = { .path = (char *)path };
	const struct review_change *kp = &key, **hit;

	hit = bsearch(&kp, a->by_path, a->changes->len, sizeof(*a->by_path),
		      compare_change_paths);
	return hit ? *hit : NULL;
}

static size_t change_index(const struct apply *a, const struct review_change *c)
{
	return (size_t)(c - a->changes->items);
}

static int64_t ctime_ns(const struct stat *st)
{
	return (int64_t)st->st_ctim.tv_sec * NS_PER_SEC + st->st_ctim.tv_nsec;
}

/* ---- folders held open ---- */

static int dir_cache_get(struct dir_cache *dc, const char *rel)
{
	if (dc->fd >= 0 && streq(dc->path, rel))
		return dc->fd;
	closep(&dc->fd);
	free(dc->path);
	dc->path = xstrdup(rel);
	dc->fd = review_tree_open_dir(dc->root_fd, rel);
	return dc->fd;
}

static void dir_cache_release(struct dir_cache *dc)
{
	closep(&dc->fd);
	dc->fd = -1;
	free(dc->path);
	dc->path = NULL;
}

/* ---- the state file ---- */

/*
 * Paths are kept escaped (\xHH for control bytes, backslashes and bytes
 * above 0x7e, as log_sanitize writes them) because the agent's names need
 * not be UTF-8 and JSON keys must be.
 */
static char *state_key(const char *path)
{
	size_t size = strlen(path) * 4 + 1;
	char *key = xmalloc(size);

	log_sanitize(key, size, path);
	return key;
}

static char *state_key_path(const char *key)
{
	char *path = xmalloc(strlen(key) + 1), *o = path;

	for (const char *k = key; *k; k++) {
		int hi, lo;

		if (k[0] == '\\' && k[1] == 'x' &&
		    (hi = hex_value(k[2])) >= 0 &&
		    (lo = hex_value(k[3])) >= 0) {
			*o++ = (char)(hi << 4 | lo);
			k += 3;
			continue;
		}
		*o++ = *k;
	}
	*o = '\0';
	return path;
}

static json_t *state_dirs(const struct apply *a)
{
	return json_object_get(a->state, "dirs");
}

static void state_load(struct apply *a)
{
	_cleanup_free_ char *text = NULL;
	int r;

	r = review_tree_read_file(a->o->run_fd, REVIEW_STATE_FILE,
				  STATE_FILE_MAX_BYTES, &text);
	if (r == 0)
		a->state = json_loads(text, 0, NULL);
	else if (r != -ENOENT)
		log_warn_errno(-r, "cannot read the run's %s",
			       REVIEW_STATE_FILE);
	if (text && !json_is_object(json_object_get(a->state, "dirs")))
		log_warn("the run's %s is not valid; starting afresh",
			 REVIEW_STATE_FILE);
	if (!json_is_object(json_object_get(a->state, "dirs"))) {
		json_decref(a->state);
		a->state = json_pack("{s:{}}", "dirs");
	}
}

static int state_save(const struct apply *a)
{
	_cleanup_free_ char *text = json_dumps(a->state, JSON_INDENT(1) |
					       JSON_SORT_KEYS);
	_cleanup_free_ char *line = NULL;
	int r;

	if (!text)
		return -ENOMEM;
	line = xasprintf("%s\n", text);
	r = review_tree_write_atomic(a->o->run_fd, REVIEW_STATE_FILE, line,
				     true);
	if (r < 0)
		log_error_errno(-r, "cannot write the run's %s",
				REVIEW_STATE_FILE);
	return r;
}

static void state_set(struct apply *a, const char *path, int64_t value)
{
	_cleanup_free_ char *key = state_key(path);

	json_object_set_new(state_dirs(a), key, json_integer(value));
}

/*
 * The time after which a change of path is someone else's: the run's
 * start, or the ctime apply left the folder with. INT64_MAX for a folder
 * an interrupted apply was touching.
 */
static int64_t state_baseline(const struct apply *a, const char *path)
{
	_cleanup_free_ char *key = state_key(path);
	json_t *v = json_object_get(state_dirs(a), key);
	int64_t t;

	if (!json_is_integer(v))
		return a->o->started_ns;
	t = json_integer_value(v);
	if (t == STATE_TOUCHING)
		return INT64_MAX;
	return t > a->o->started_ns ? t : a->o->started_ns;
}

/* ---- choosing the changes ---- */

static bool change_wanted(const struct apply *a, const struct review_change *c,
			  bool *hits)
{
	const struct strv *paths = a->o->paths;
	bool wanted = !paths;

	for (size_t i = 0; paths && i < paths->len; i++) {
		if (review_path_within(c->path, paths->items[i])) {
			hits[i] = true;
			wanted = true;
		}
	}
	return wanted;
}

/*
 * The folders that a selected change needs made first (added, or a file
 * there replaced by a folder) are selected too. When one of them is
 * protected, the change cannot be applied without it and is skipped
 * along with it.
 */
static void select_parent_chain(struct apply *a, size_t i,
				const bool *protected)
{
	const char *path = a->changes->items[i].path;
	_cleanup_free_ const struct review_change **chain = NULL;
	_cleanup_free_ char *parent = rel_parent(path);
	size_t n = 0;

	chain = xcalloc(strlen(path) + 1, sizeof(*chain));
	while (parent[0]) {
		const struct review_change *p = change_find(a, parent);
		char *up = rel_parent(parent);

		if (p && review_change_makes_dir(p))
			chain[n++] = p;
		free(parent);
		parent = up;
	}

	for (size_t k = 0; k < n; k++) {
		if (!protected[change_index(a, chain[k])])
			continue;
		a->selected[i] = false;
		strv_push(&a->res->protected_skipped, path);
		return;
	}
	for (size_t k = 0; k < n; k++)
		a->selected[change_index(a, chain[k])] = true;
}

static int select_changes(struct apply *a)
{
	size_t n_paths = a->o->paths ? a->o->paths->len : 0;
	_cleanup_free_ bool *hits = xcalloc(n_paths + 1, sizeof(bool));
	_cleanup_free_ bool *protected = xcalloc(a->changes->len + 1,
						 sizeof(bool));

	for (size_t i = 0; i < a->changes->len; i++) {
		const struct review_change *c = &a->changes->items[i];

		protected[i] = !a->o->force &&
			       review_protect_match(a->o->protect, c);
		if (!change_wanted(a, c, hits))
			continue;
		if (protected[i])
			strv_push(&a->res->protected_skipped, c->path);
		else
			a->selected[i] = true;
	}
	for (size_t i = 0; i < n_paths; i++)
		if (!hits[i])
			strv_push(&a->res->unmatched, a->o->paths->items[i]);
	if (a->res->unmatched.len)
		return -ENOENT;

	for (size_t i = 0; i < a->changes->len; i++)
		if (a->selected[i])
			select_parent_chain(a, i, protected);
	return 0;
}

/* ---- the checks ---- */

static void conflict_add(struct apply *a, const char *path, const char *why)
{
	strv_push_owned(&a->res->conflicts, xasprintf("%s: %s", path, why));
}

struct subtree_check {
	struct apply *a;
	char *first; /* the first entry changed since the run started */
};

static int subtree_visit(const char *path, const struct stat *st, void *data)
{
	struct subtree_check *sc = data;

	if (ctime_ns(st) <= state_baseline(sc->a, path))
		return 0;
	sc->first = xstrdup(path);
	return 1;
}

/* A folder that the change removes: nothing in it may be newer either. */
static void check_subtree(struct apply *a, const struct review_change *c)
{
	struct subtree_check sc = { .a = a };
	_cleanup_free_ char *why = NULL;
	int r;

	r = review_changes_walk_real(a->o->real_fd, c->path, subtree_visit,
				     &sc);
	if (r < 0) {
		why = xasprintf("cannot read what the folder holds (%s)",
				strerror(-r));
		conflict_add(a, c->path, why);
	} else if (sc.first) {
		why = xasprintf("%s in it changed in the workspace since the "
				"run started", sc.first);
		conflict_add(a, c->path, why);
	}
	free(sc.first);
}

/* The change's target is missing: its folder must be as it was. */
static void check_missing(struct apply *a, const struct review_change *c,
			  const char *parent, int parent_fd)
{
	const struct review_change *p = change_find(a, parent);
	struct stat st;

	if (c->status == REVIEW_DELETED)
		return;
	if (parent[0] && p && a->selected[change_index(a, p)] &&
	    review_change_makes_dir(p))
		return;
	if (parent_fd < 0)
		conflict_add(a, c->path,
			     "its folder is gone from the workspace");
	else if (fstat(parent_fd, &st) < 0)
		conflict_add(a, c->path, "its folder cannot be read");
	else if (ctime_ns(&st) > state_baseline(a, parent))
		conflict_add(a, c->path, "its folder changed in the workspace "
			     "since the run started");
}

static void check_change(struct apply *a, const struct review_change *c)
{
	_cleanup_free_ char *parent = rel_parent(c->path);
	int parent_fd = dir_cache_get(&a->real, parent);
	struct stat st;

	if (parent_fd < 0 || fstatat(parent_fd, rel_base(c->path), &st,
				     AT_SYMLINK_NOFOLLOW) < 0) {
		check_missing(a, c, parent, parent_fd);
		return;
	}
	if (ctime_ns(&st) > state_baseline(a, c->path))
		conflict_add(a, c->path,
			     "changed in the workspace since the run started");
	else if (S_ISDIR(st.st_mode) && review_change_removes(c))
		check_subtree(a, c);
}

/* The layer's copy of a file that apply will read must be readable. */
static void check_source(struct apply *a, const struct review_change *c)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *why = NULL;

	if (c->status == REVIEW_DELETED || !S_ISREG(c->new_mode) ||
	    (c->status == REVIEW_MODIFIED && !c->content))
		return;
	fd = review_tree_open(a->o->upper_fd, c->path, O_RDONLY | O_NONBLOCK);
	if (fd >= 0)
		return;
	why = xasprintf("cannot read the run's copy (%s)", strerror(errno));
	conflict_add(a, c->path, why);
}

static void check_all(struct apply *a)
{
	for (size_t i = 0; i < a->changes->len; i++) {
		if (!a->selected[i])
			continue;
		check_change(a, &a->changes->items[i]);
		check_source(a, &a->changes->items[i]);
	}
}

/* ---- the steps that change the workspace ---- */

/*
 * Removes dir_fd/name. A folder is first renamed to a temporary name, so
 * that it vanishes at once, and then emptied; an interruption leaves the
 * temporary name for the next sweep.
 */
static int remove_real(int dir_fd, const char *name)
{
	char temp[REVIEW_TEMP_NAME_MAX_BYTES];
	struct stat st;
	int r;

	if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(dir_fd, name, 0) < 0 && errno != ENOENT ?
		       -errno : 0;
	r = review_tree_temp_name(temp, REVIEW_TEMP_PREFIX);
	if (r == 0 && renameat(dir_fd, name, dir_fd, temp) < 0)
		r = -errno;
	return r < 0 ? r : review_tree_remove(dir_fd, temp);
}

/* Puts the finished temporary entry in place of name, whatever was there. */
static int replace_with(int dir_fd, const char *temp, const char *name)
{
	struct stat st;
	int r = 0;

	if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISDIR(st.st_mode))
		r = remove_real(dir_fd, name);
	if (r == 0 && renameat(dir_fd, temp, dir_fd, name) < 0)
		r = -errno;
	if (r < 0)
		unlinkat(dir_fd, temp, 0);
	return r;
}

/*
 * Copies the whole of from into to: in the kernel when it can, else
 * through a buffer (a different file system, or one without support).
 */
static int copy_data(int from, int to)
{
	_cleanup_free_ char *buf = NULL;
	bool copied = false;
	ssize_t n;

	while ((n = copy_file_range(from, NULL, to, NULL, SSIZE_MAX, 0)) != 0) {
		if (n > 0) {
			copied = true;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (copied || (errno != EXDEV && errno != EINVAL &&
			       errno != ENOSYS && errno != EOPNOTSUPP))
			return -errno;
		break;
	}
	if (n == 0)
		return 0;

	buf = xmalloc(COPY_CHUNK_BYTES);
	while ((n = read_full(from, buf, COPY_CHUNK_BYTES)) > 0) {
		int r = write_all(to, buf, (size_t)n);

		if (r < 0)
			return r;
	}
	return (int)n;
}

/*
 * A new file in dir_fd with no name yet (O_TMPFILE), or when the file
 * system or a missing /proc cannot link one later, with a temporary name.
 * name is then set, else empty.
 */
static int temp_file_open(const struct apply *a, int dir_fd,
			  char name[REVIEW_TEMP_NAME_MAX_BYTES])
{
	int fd = -1, r;

	name[0] = '\0';
	if (a->proc_fd)
		fd = openat(dir_fd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC,
			    0600);
	if (fd >= 0)
		return fd;
	r = review_tree_temp_name(name, REVIEW_TEMP_PREFIX);
	if (r < 0)
		return r;
	fd = openat(dir_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, 0600);
	return fd < 0 ? -errno : fd;
}

/* Gives an O_TMPFILE file its temporary name in dir_fd. */
static int temp_file_link(int fd, int dir_fd,
			  char name[REVIEW_TEMP_NAME_MAX_BYTES])
{
	char proc[64];
	int r;

	if (name[0])
		return 0;
	r = review_tree_temp_name(name, REVIEW_TEMP_PREFIX);
	if (r < 0)
		return r;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (linkat(AT_FDCWD, proc, dir_fd, name, AT_SYMLINK_FOLLOW) < 0) {
		name[0] = '\0';
		return -errno;
	}
	return 0;
}

/* Fills the new file from the layer's copy: data, mode, times, fsync. */
static int file_fill(int fd, int src, const struct review_change *c)
{
	struct stat st;
	struct timespec times[2];
	int r;

	if (fstat(src, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	r = copy_data(src, fd);
	if (r < 0)
		return r;
	times[0] = st.st_atim;
	times[1] = st.st_mtim;
	if (fchmod(fd, c->new_mode & MODE_PERM_MASK) < 0 ||
	    futimens(fd, times) < 0 || fsync(fd) < 0)
		return -errno;
	return 0;
}

static int apply_file(struct apply *a, int dir_fd,
		      const struct review_change *c)
{
	char temp[REVIEW_TEMP_NAME_MAX_BYTES];
	_cleanup_close_ int src = -1, fd = -1;
	int r;

	src = review_tree_open(a->o->upper_fd, c->path, O_RDONLY | O_NONBLOCK);
	if (src < 0)
		return src;
	fd = temp_file_open(a, dir_fd, temp);
	if (fd < 0)
		return fd;
	r = file_fill(fd, src, c);
	if (r == 0)
		r = temp_file_link(fd, dir_fd, temp);
	if (r == 0)
		return replace_with(dir_fd, temp, rel_base(c->path));
	if (temp[0])
		unlinkat(dir_fd, temp, 0);
	return r;
}

/* A symlink or a fifo, made under a temporary name, then renamed. */
static int apply_node(int dir_fd, const struct review_change *c)
{
	char temp[REVIEW_TEMP_NAME_MAX_BYTES];
	int r = review_tree_temp_name(temp, REVIEW_TEMP_PREFIX);

	if (r < 0)
		return r;
	if (S_ISLNK(c->new_mode) && !c->new_target)
		return -EINVAL; /* its target could not be read */
	if (S_ISLNK(c->new_mode))
		r = symlinkat(c->new_target, dir_fd, temp);
	else
		r = mknodat(dir_fd, temp, S_IFIFO | (c->new_mode &
						     MODE_PERM_MASK), 0);
	if (r < 0)
		return -errno;
	if (!S_ISLNK(c->new_mode) &&
	    fchmodat(dir_fd, temp, c->new_mode & MODE_PERM_MASK, 0) < 0) {
		r = -errno;
		unlinkat(dir_fd, temp, 0);
		return r;
	}
	return replace_with(dir_fd, temp, rel_base(c->path));
}

/* A folder: made (mode 0700 while it fills), or a file there replaced. */
static int apply_dir(struct apply *a, int dir_fd,
		     const struct review_change *c)
{
	const char *name = rel_base(c->path);
	struct stat st;
	int r = 0;

	if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    !S_ISDIR(st.st_mode))
		r = remove_real(dir_fd, name);
	if (r == 0 && mkdirat(dir_fd, name, 0700) < 0 && errno != EEXIST)
		r = -errno;
	if (r == 0)
		strv_push(&a->modes, c->path);
	return r;
}

/* A mode alone: chmod is atomic by itself. */
static int apply_mode(int dir_fd, const char *name, mode_t mode)
{
	if (fchmodat(dir_fd, name, mode & MODE_PERM_MASK, 0) < 0)
		return -errno;
	return 0;
}

static int apply_change(struct apply *a, const struct review_change *c)
{
	_cleanup_free_ char *parent = rel_parent(c->path);
	int dir_fd = dir_cache_get(&a->real, parent);

	if (dir_fd < 0)
		return dir_fd;
	if (c->status == REVIEW_DELETED)
		return remove_real(dir_fd, rel_base(c->path));
	if (S_ISDIR(c->new_mode))
		return apply_dir(a, dir_fd, c);
	if (c->status == REVIEW_MODIFIED && !c->content)
		return apply_mode(dir_fd, rel_base(c->path), c->new_mode);
	if (S_ISREG(c->new_mode))
		return apply_file(a, dir_fd, c);
	return apply_node(dir_fd, c);
}

/* Folder modes last, deepest first, so a read-only folder still fills. */
static int apply_modes(struct apply *a)
{
	for (size_t i = a->modes.len; i-- > 0;) {
		const char *path = a->modes.items[i];
		const struct review_change *c = change_find(a, path);
		_cleanup_free_ char *parent = rel_parent(path);
		int dir_fd = dir_cache_get(&a->real, parent);
		int r;

		r = dir_fd < 0 ? dir_fd :
		    apply_mode(dir_fd, rel_base(path), c->new_mode);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- before and after ---- */

/*
 * Marks the folders this apply will touch in the state file before the
 * first change, so that an interruption is recognised next time.
 */
static int journal_begin(struct apply *a)
{
	for (size_t i = 0; i < a->changes->len; i++) {
		_cleanup_free_ char *parent = NULL;

		if (!a->selected[i])
			continue;
		parent = rel_parent(a->changes->items[i].path);
		state_set(a, parent, STATE_TOUCHING);
		if (review_change_makes_dir(&a->changes->items[i]))
			state_set(a, a->changes->items[i].path,
				  STATE_TOUCHING);
	}
	return state_save(a);
}

/* Each touched folder: flushed, and its ctime kept as the new baseline. */
static int journal_end(struct apply *a)
{
	json_t *dirs = state_dirs(a);
	const char *key;
	json_t *v;

	json_object_foreach(dirs, key, v) {
		_cleanup_free_ char *path = NULL;
		_cleanup_close_ int fd = -1;
		struct stat st;

		if (json_integer_value(v) != STATE_TOUCHING)
			continue;
		path = state_key_path(key);
		fd = review_tree_open_dir(a->o->real_fd, path);
		if (fd < 0 || fsync(fd) < 0 || fstat(fd, &st) < 0)
			continue; /* gone or unreadable: stays exempt */
		json_integer_set(v, ctime_ns(&st));
	}
	return state_save(a);
}

/* Sweeps stale temporary names where an apply has been or will be. */
static int sweep(struct apply *a)
{
	_cleanup_(strv_clear) struct strv done = { 0 };
	json_t *dirs = state_dirs(a);
	const char *key;
	json_t *v;
	int n = 0;

	json_object_foreach(dirs, key, v) {
		_cleanup_free_ char *path = state_key_path(key);

		strv_push_unique(&done, path);
	}
	for (size_t i = 0; i < a->changes->len; i++) {
		_cleanup_free_ char *parent = rel_parent(
			a->changes->items[i].path);

		strv_push_unique(&done, parent);
	}
	for (size_t i = 0; i < done.len; i++) {
		_cleanup_close_ int fd = review_tree_open_dir(a->o->real_fd,
							      done.items[i]);
		int r;

		if (fd < 0)
			continue;
		r = review_tree_sweep(fd);
		if (r < 0)
			return r;
		n += r;
	}
	return n;
}

/*
 * The layer forgets what has been applied, so that a later edit of the
 * same path in the workspace is not taken for a change of the run's.
 * Folders stay, harmlessly, and so does what an opaque folder holds,
 * since there its absence would mean a deletion.
 */
static void upper_forget(struct apply *a)
{
	for (size_t i = 0; i < a->changes->len; i++) {
		const struct review_change *c = &a->changes->items[i];
		_cleanup_free_ char *parent = NULL;
		int fd;

		if (!a->selected[i] || review_change_makes_dir(c) ||
		    c->under_opaque)
			continue;
		parent = rel_parent(c->path);
		fd = dir_cache_get(&a->upper, parent);
		if (fd >= 0)
			unlinkat(fd, rel_base(c->path), 0);
	}
}

static int apply_all(struct apply *a)
{
	int r = 0;

	for (size_t i = 0; r == 0 && i < a->changes->len; i++) {
		const struct review_change *c = &a->changes->items[i];
		char clean[PATH_MAX];

		if (!a->selected[i])
			continue;
		r = apply_change(a, c);
		if (r < 0) {
			review_diff_clean_path(clean, sizeof(clean), c->path);
			log_error_errno(-r, "cannot apply %s", clean);
			return r;
		}
		a->res->n_applied++;
	}
	r = apply_modes(a);
	if (r < 0)
		log_error_errno(-r, "cannot set the mode of a folder");
	return r;
}

static void apply_release(struct apply *a)
{
	free(a->selected);
	free(a->by_path);
	json_decref(a->state);
	dir_cache_release(&a->real);
	dir_cache_release(&a->upper);
	strv_clear(&a->modes);
}

static void apply_init(struct apply *a, const struct review_apply_opts *o,
		       const struct review_changes *changes,
		       struct review_apply_result *res)
{
	*a = (struct apply){
		.o = o,
		.changes = changes,
		.res = res,
		.real = { .root_fd = o->real_fd, .fd = -1 },
		.upper = { .root_fd = o->upper_fd, .fd = -1 },
		.proc_fd = access("/proc/self/fd", X_OK) == 0,
	};
	a->selected = xcalloc(changes->len + 1, sizeof(bool));
	a->by_path = xcalloc(changes->len + 1, sizeof(*a->by_path));
	for (size_t i = 0; i < changes->len; i++)
		a->by_path[i] = &changes->items[i];
	qsort(a->by_path, changes->len, sizeof(*a->by_path),
	      compare_change_paths);
	state_load(a);
}

/* ---- exported ---- */

int review_apply(const struct review_apply_opts *opts,
		 const struct review_changes *changes,
		 struct review_apply_result *result)
{
	_cleanup_(apply_release) struct apply a;
	int r;

	apply_init(&a, opts, changes, result);
	r = select_changes(&a);
	if (r < 0)
		return r;
	check_all(&a);
	if (result->conflicts.len)
		return -EBUSY;

	/* the checks' folders may be replaced by the changes: open afresh */
	dir_cache_release(&a.real);
	r = journal_begin(&a);
	if (r == 0 && (r = sweep(&a)) > 0)
		log_info("removed %d temporary file%s of an interrupted apply",
			 r, r == 1 ? "" : "s");
	if (r >= 0)
		r = apply_all(&a);
	if (r < 0)
		return r;
	r = journal_end(&a);
	upper_forget(&a);
	result->complete = result->n_applied == changes->len;
	return r;
}

void review_apply_result_free(struct review_apply_result *r)
{
	strv_clear(&r->conflicts);
	strv_clear(&r->protected_skipped);
	strv_clear(&r->unmatched);
	*r = (struct review_apply_result){ 0 };
}

int review_apply_sweep(int run_fd, int real_fd,
		       const struct review_changes *changes)
{
	struct review_apply_opts o = { .run_fd = run_fd, .real_fd = real_fd,
				       .upper_fd = -1 };
	struct review_apply_result res = { 0 };
	_cleanup_(apply_release) struct apply a;

	apply_init(&a, &o, changes, &res);
	return sweep(&a);
}
