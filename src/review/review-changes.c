/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What an overlay run changed: the run's upper layer walked side by side
 * with the real workspace, so that each entry is classified against what
 * the workspace holds now (added, modified, deleted, type changed), and
 * an entry that overlayfs merely copied up is no change at all.
 *
 * overlayfs's own marks are read as the kernel documents them
 * (Documentation/filesystems/overlayfs.rst): a whiteout is a character
 * device 0/0, or an empty regular file with the "overlay.whiteout" xattr
 * in a folder whose "overlay.opaque" is "x"; a folder whose
 * "overlay.opaque" is "y" hides the lower folder. The run mounts with
 * userxattr, so the marks are user.overlay.*; trusted.overlay.* is read
 * too. Its other xattrs (origin, impure...) are internal, and redirect_dir
 * is off: a renamed folder is a new folder plus a whiteout.
 *
 * Trust position: runs with the rights of the user who reviews. Every
 * name and symlink target in the upper layer was chosen by the agent;
 * both trees are entered only through folders opened with O_NOFOLLOW, and
 * names are kept as bytes (escaping is the printer's job).
 */
#include "config.h"

#include "review/review.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/log.h"
#include "common/path.h"
#include "common/util.h"

/* Bytes compared at a time when two files have the same size. */
#define COMPARE_CHUNK_BYTES (64 * 1024)
/* Room for an xattr value that is a single letter. */
#define OVERLAY_MARK_MAX_BYTES 8

#define MODE_PERM_MASK 07777
#define MODE_PRIV_MASK (S_ISUID | S_ISGID)

/* The trees at one folder of the walk. */
struct walk {
	struct review_changes *out;
	int upper_fd;
	int real_fd;       /* -1 when the real tree has no folder here */
	const char *prefix; /* the folder's path, "" at the top */
	bool hidden;       /* under an opaque folder: the real one is hidden */
	bool xwhiteouts;   /* opaque "x": files may be whiteouts */
};

/* One entry, as both trees have it. */
struct entry {
	const char *name;
	char *path;
	struct stat up;
	struct stat real;
	bool has_real;
};

static int collect_dir(const struct walk *w);

/* ---- small helpers ---- */

static void log_path_errno(int err, const char *what, const char *path)
{
	char clean[PATH_MAX];

	review_diff_clean_path(clean, sizeof(clean), path);
	log_error_errno(err, "%s %s", what, clean[0] ? clean : ".");
}

/* The path of name in the folder prefix ("" at the top). */
static char *child_path(const char *prefix, const char *name)
{
	return prefix[0] ? path_join(prefix, name) : xstrdup(name);
}

static bool name_is_reserved(const char *name)
{
	return strncmp(name, REVIEW_TEMP_PREFIX,
		       strlen(REVIEW_TEMP_PREFIX)) == 0;
}

/*
 * The one-letter value of overlayfs's xattr name (without the "user." or
 * "trusted." namespace) on fd, or '\0' when it has none.
 */
static char overlay_mark(int fd, const char *name)
{
	static const char *const spaces[] = { "user.overlay.",
					      "trusted.overlay." };
	char key[64], value[OVERLAY_MARK_MAX_BYTES];

	for (size_t i = 0; i < ARRAY_SIZE(spaces); i++) {
		ssize_t n;

		snprintf(key, sizeof(key), "%s%s", spaces[i], name);
		n = fgetxattr(fd, key, value, sizeof(value));
		if (n >= 0)
			return n > 0 ? value[0] : 'y';
	}
	return '\0';
}

static bool entry_is_whiteout(const struct walk *w, const struct entry *e)
{
	_cleanup_close_ int fd = -1;

	if (S_ISCHR(e->up.st_mode))
		return e->up.st_rdev == makedev(0, 0);
	if (!w->xwhiteouts || !S_ISREG(e->up.st_mode) || e->up.st_size != 0)
		return false;
	fd = openat(w->upper_fd, e->name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
		    O_CLOEXEC);
	return fd >= 0 && overlay_mark(fd, "whiteout") != '\0';
}

/* 1 when the two open regular files differ, 0 when equal, or -errno. */
static int files_differ(int a, int b)
{
	_cleanup_free_ char *buf_a = xmalloc(COMPARE_CHUNK_BYTES);
	_cleanup_free_ char *buf_b = xmalloc(COMPARE_CHUNK_BYTES);

	for (;;) {
		ssize_t na = read_full(a, buf_a, COMPARE_CHUNK_BYTES);
		ssize_t nb = read_full(b, buf_b, COMPARE_CHUNK_BYTES);

		if (na < 0 || nb < 0)
			return (int)(na < 0 ? na : nb);
		if (na != nb || memcmp(buf_a, buf_b, (size_t)na) != 0)
			return 1;
		if (na < COMPARE_CHUNK_BYTES)
			return 0;
	}
}

static int entry_content_differs(const struct walk *w, const struct entry *e)
{
	_cleanup_close_ int up = -1, real = -1;

	if (e->up.st_size != e->real.st_size)
		return 1;
	up = openat(w->upper_fd, e->name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
		    O_CLOEXEC);
	if (up < 0)
		return -errno;
	real = openat(w->real_fd, e->name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
		      O_CLOEXEC);
	if (real < 0)
		return -errno;
	return files_differ(up, real);
}

/* ---- the list ---- */

static struct review_change *change_add(const struct walk *w,
					const struct entry *e,
					enum review_status status)
{
	struct review_changes *c = w->out;
	struct review_change *ch;

	if (c->len == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 64;
		c->items = xreallocarray(c->items, c->cap, sizeof(*c->items));
	}
	ch = &c->items[c->len++];
	*ch = (struct review_change){ .path = xstrdup(e->path),
				      .status = status,
				      .under_opaque = w->hidden };
	if (e->has_real) {
		ch->old_mode = e->real.st_mode;
		ch->old_size = e->real.st_size;
		if (S_ISLNK(e->real.st_mode))
			ch->old_target = review_tree_read_link(w->real_fd,
							       e->name);
	}
	if (status != REVIEW_DELETED) {
		ch->new_mode = e->up.st_mode & ~(mode_t)MODE_PRIV_MASK;
		ch->new_size = e->up.st_size;
		ch->suid_dropped = (e->up.st_mode & MODE_PRIV_MASK) != 0;
		if (S_ISLNK(e->up.st_mode))
			ch->new_target = review_tree_read_link(w->upper_fd,
							       e->name);
	}
	return ch;
}

static bool entry_mode_differs(const struct entry *e)
{
	mode_t up = e->up.st_mode & MODE_PERM_MASK & ~(mode_t)MODE_PRIV_MASK;

	return up != (e->real.st_mode & MODE_PERM_MASK);
}

/* ---- one entry ---- */

/* A file, a symlink or a fifo of the upper layer. */
static int collect_leaf(const struct walk *w, const struct entry *e)
{
	_cleanup_free_ char *old_target = NULL, *new_target = NULL;
	bool content = false, mode = false;
	int r;

	if (!e->has_real) {
		change_add(w, e, REVIEW_ADDED);
		return 0;
	}
	if ((e->up.st_mode & S_IFMT) != (e->real.st_mode & S_IFMT)) {
		change_add(w, e, REVIEW_TYPE);
		return 0;
	}

	if (S_ISREG(e->up.st_mode)) {
		r = entry_content_differs(w, e);
		if (r < 0) {
			log_path_errno(-r, "cannot compare", e->path);
			return r;
		}
		content = r > 0;
	} else if (S_ISLNK(e->up.st_mode)) {
		old_target = review_tree_read_link(w->real_fd, e->name);
		new_target = review_tree_read_link(w->upper_fd, e->name);
		content = !old_target || !new_target ||
			  !streq(old_target, new_target);
	}
	if (!S_ISLNK(e->up.st_mode))
		mode = entry_mode_differs(e);
	if (content || mode)
		change_add(w, e, REVIEW_MODIFIED)->content = content;
	return 0;
}

/* A folder of the upper layer: itself, then what it holds. */
static int collect_folder(const struct walk *w, const struct entry *e)
{
	_cleanup_close_ int up_fd = -1, real_fd = -1;
	struct walk sub = *w;
	char opaque;

	up_fd = openat(w->upper_fd, e->name, O_RDONLY | O_DIRECTORY |
		       O_NOFOLLOW | O_CLOEXEC);
	if (up_fd < 0) {
		log_path_errno(errno, "cannot open the layer's", e->path);
		return -errno;
	}
	opaque = overlay_mark(up_fd, "opaque");

	if (!e->has_real) {
		change_add(w, e, REVIEW_ADDED);
	} else if (!S_ISDIR(e->real.st_mode)) {
		change_add(w, e, REVIEW_TYPE);
	} else {
		if (entry_mode_differs(e))
			change_add(w, e, REVIEW_MODIFIED);
		real_fd = openat(w->real_fd, e->name, O_RDONLY | O_DIRECTORY |
				 O_NOFOLLOW | O_CLOEXEC);
		if (real_fd < 0) {
			log_path_errno(errno, "cannot open", e->path);
			return -errno;
		}
	}

	sub.upper_fd = up_fd;
	sub.real_fd = real_fd;
	sub.prefix = e->path;
	sub.hidden = w->hidden || opaque == 'y';
	sub.xwhiteouts = opaque == 'x';
	return collect_dir(&sub);
}

static int collect_entry(const struct walk *w, const char *name,
			 bool in_upper, bool in_real)
{
	_cleanup_free_ char *path = child_path(w->prefix, name);
	struct entry e = { .name = name, .path = path };

	if (in_upper && fstatat(w->upper_fd, name, &e.up,
				AT_SYMLINK_NOFOLLOW) < 0) {
		log_path_errno(errno, "cannot read the layer's", path);
		return -errno;
	}
	if (in_real) {
		e.has_real = fstatat(w->real_fd, name, &e.real,
				     AT_SYMLINK_NOFOLLOW) == 0;
		if (!e.has_real && errno != ENOENT) {
			log_path_errno(errno, "cannot read", path);
			return -errno;
		}
	}

	if (!in_upper || entry_is_whiteout(w, &e)) {
		if (e.has_real)
			change_add(w, &e, REVIEW_DELETED);
		return 0;
	}
	if (S_ISDIR(e.up.st_mode))
		return collect_folder(w, &e);
	if (S_ISREG(e.up.st_mode) || S_ISLNK(e.up.st_mode) ||
	    S_ISFIFO(e.up.st_mode))
		return collect_leaf(w, &e);
	log_debug("skipped %s: neither a file, a folder, a symlink nor a "
		  "fifo", path);
	return 0;
}

/*
 * The entries of one folder in name order: the upper layer's, and where
 * the real folder is hidden by an opaque one, also the real folder's,
 * which are deletions unless the upper layer has them too.
 */
static int collect_dir(const struct walk *w)
{
	_cleanup_(strv_clear) struct strv up = { 0 }, real = { 0 };
	size_t i = 0, j = 0;
	int r;

	r = review_tree_list(w->upper_fd, &up);
	if (r == 0 && w->hidden && w->real_fd >= 0)
		r = review_tree_list(w->real_fd, &real);
	if (r < 0) {
		log_path_errno(-r, "cannot list", w->prefix);
		return r;
	}

	while (r == 0 && (i < up.len || j < real.len)) {
		int cmp = i == up.len ? 1 : j == real.len ? -1 :
			  strcmp(up.items[i], real.items[j]);
		const char *name = cmp <= 0 ? up.items[i] : real.items[j];

		if (!name_is_reserved(name))
			r = collect_entry(w, name, cmp <= 0,
					  w->real_fd >= 0);
		else if (cmp <= 0)
			log_warn("skipped %s in the layer: the name is "
				 "reserved for apply", name);
		i += cmp <= 0;
		j += cmp >= 0;
	}
	return r;
}

/* ---- walking the real tree ---- */

struct real_walk {
	int (*visit)(const char *path, const struct stat *st, void *data);
	void *data;
};

static int walk_real_dir(const struct real_walk *rw, int dir_fd,
			 const char *prefix)
{
	_cleanup_(strv_clear) struct strv names = { 0 };
	int r = review_tree_list(dir_fd, &names);

	for (size_t i = 0; r == 0 && i < names.len; i++) {
		_cleanup_free_ char *path = child_path(prefix, names.items[i]);
		_cleanup_close_ int sub = -1;
		struct stat st;

		if (fstatat(dir_fd, names.items[i], &st,
			    AT_SYMLINK_NOFOLLOW) < 0)
			return -errno;
		r = rw->visit(path, &st, rw->data);
		if (r != 0 || !S_ISDIR(st.st_mode))
			continue;
		sub = openat(dir_fd, names.items[i], O_RDONLY | O_DIRECTORY |
			     O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0)
			return -errno;
		r = walk_real_dir(rw, sub, path);
	}
	return r;
}

/* ---- exported ---- */

int review_changes_collect(int upper_fd, int real_fd,
			   struct review_changes *out)
{
	struct walk w = {
		.out = out,
		.upper_fd = upper_fd,
		.real_fd = real_fd,
		.prefix = "",
	};

	w.hidden = overlay_mark(upper_fd, "opaque") == 'y';
	w.xwhiteouts = overlay_mark(upper_fd, "opaque") == 'x';
	return collect_dir(&w);
}

void review_changes_free(struct review_changes *c)
{
	for (size_t i = 0; i < c->len; i++) {
		free(c->items[i].path);
		free(c->items[i].old_target);
		free(c->items[i].new_target);
	}
	free(c->items);
	*c = (struct review_changes){ 0 };
}

bool review_change_makes_dir(const struct review_change *c)
{
	return c->status != REVIEW_DELETED && S_ISDIR(c->new_mode);
}

bool review_change_removes(const struct review_change *c)
{
	return c->status == REVIEW_DELETED || c->status == REVIEW_TYPE;
}

int review_changes_walk_real(int real_fd, const char *rel,
			     int (*visit)(const char *path,
					  const struct stat *st, void *data),
			     void *data)
{
	struct real_walk rw = { .visit = visit, .data = data };
	_cleanup_close_ int fd = review_tree_open_dir(real_fd, rel);

	if (fd < 0)
		return fd;
	return walk_real_dir(&rw, fd, rel);
}
