/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The sandbox's root file system: planned by the supervisor from the
 * policy (mount_plan_build, plain data, also printed by --dry-run) and
 * applied by the sandbox's init inside its own mount namespace
 * (mount_plan_apply), which still holds every capability of its user
 * namespace at that point and none on the host.
 *
 * Trust notes. Every host path is opened with RESOLVE_NO_SYMLINKS and bound
 * from that descriptor (open_tree + move_mount), and every mount point is
 * reached the same way beneath the new root, so a symlink planted by an
 * earlier run in a writable tree cannot redirect a bind. Sources are all
 * opened before the new root covers /tmp. Every bind is nosuid and nodev
 * except the few device nodes of /dev, which are noexec instead.
 */
#include "config.h"

#include "sandbox/sandbox.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <glob.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/log.h"
#include "common/path.h"
#include "common/util.h"

/* How deep masks given as bare names are looked for in writable trees. */
#define MASK_SEARCH_DEPTH 3
/* Where the new root is assembled, inside the private mount namespace. */
#define NEW_ROOT "/tmp"
#define EMPTY_FILE ".airlock-empty"

static const char *const system_essentials[] = {
	"usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "etc", NULL,
};

/* Top-level host entries that the sandbox gets fresh, never bound. */
static const char *const root_skipped[] = {
	"proc", "dev", "sys", "tmp", "run", NULL,
};

/* Kernel knobs under /proc that stay read-only. */
static const char *const proc_readonly[] = {
	"sys", "sysrq-trigger", "irq", "bus", "fs", "latency_stats",
	"timer_list", "acpi", "scsi", NULL,
};

static const char *const dev_nodes[] = {
	"null", "zero", "full", "random", "urandom", "tty", NULL,
};

static const char *const dev_links[][2] = {
	{ "ptmx", "pts/ptmx" },
	{ "fd", "/proc/self/fd" },
	{ "stdin", "/proc/self/fd/0" },
	{ "stdout", "/proc/self/fd/1" },
	{ "stderr", "/proc/self/fd/2" },
};

static const char *const mount_kind_names[] = {
	[MOUNT_BIND_RO] = "ro-bind",
	[MOUNT_BIND_RW] = "rw-bind",
	[MOUNT_MASK] = "mask",
	[MOUNT_TMPFS] = "tmpfs",
	[MOUNT_PROC] = "proc",
	[MOUNT_DEV] = "dev",
	[MOUNT_SYS] = "sysfs",
	[MOUNT_SYMLINK] = "symlink",
	[MOUNT_FILE] = "file",
	[MOUNT_OVERLAY] = "overlay",
};

static int tree_open(const char *path, bool rw);
static int overlay_mount(const struct mount_plan *plan, int lower, bool clone);

/* ---- planning (supervisor) ---- */

static bool plan_has(const struct mount_plan *plan, enum mount_kind kind,
		     const char *path)
{
	for (size_t i = 0; i < plan->len; i++)
		if (plan->items[i].kind == kind && streq(plan->items[i].path, path))
			return true;
	return false;
}

static void plan_add(struct mount_plan *plan, enum mount_kind kind,
		     const char *path, const char *source, bool is_dir)
{
	struct mount_entry *e;

	if (plan_has(plan, kind, path))
		return;
	if (plan->len == plan->cap) {
		plan->cap = plan->cap ? plan->cap * 2 : 32;
		plan->items = xreallocarray(plan->items, plan->cap,
					    sizeof(*plan->items));
	}
	e = &plan->items[plan->len++];
	*e = (struct mount_entry){
		.kind = kind,
		.path = xstrdup(path),
		.source = source ? xstrdup(source) : NULL,
		.is_dir = is_dir,
		.tree_fd = -1,
	};
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_depth(const void *a, const void *b)
{
	const char *x = *(char *const *)a, *y = *(char *const *)b;
	size_t lx = strlen(x), ly = strlen(y);

	return lx < ly ? -1 : lx > ly ? 1 : strcmp(x, y);
}

static bool name_in(const char *name, const char *const *list)
{
	for (size_t i = 0; list[i]; i++)
		if (streq(name, list[i]))
			return true;
	return false;
}

/* Binds the host's top level read-only, entry by entry. */
static void plan_root_entries(struct mount_plan *plan, bool whole_system)
{
	struct strv names = { 0 };
	DIR *d = opendir("/");
	struct dirent *de;

	if (!d) {
		log_warn_errno(errno, "cannot list /");
		return;
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || name_in(de->d_name, root_skipped))
			continue;
		if (!whole_system && !name_in(de->d_name, system_essentials))
			continue;
		strv_push(&names, de->d_name);
	}
	closedir(d);
	if (names.len)
		qsort(names.items, names.len, sizeof(char *), cmp_str);

	for (size_t i = 0; i < names.len; i++) {
		_cleanup_free_ char *path = path_join("/", names.items[i]);
		char target[PATH_MAX];
		struct stat st;
		ssize_t n;

		if (lstat(path, &st) < 0)
			continue;
		if (!S_ISLNK(st.st_mode)) {
			plan_add(plan, MOUNT_BIND_RO, path, path, S_ISDIR(st.st_mode));
			continue;
		}
		n = readlink(path, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		plan_add(plan, MOUNT_SYMLINK, path, target, false);
	}
	strv_clear(&names);
}

/* Adds a mask for path if it exists; masks apply to the real target. */
static void plan_mask_one(struct mount_plan *plan, const char *path)
{
	char real[PATH_MAX];
	struct stat st;

	if (!realpath(path, real) || stat(real, &st) < 0)
		return;
	if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
		return;
	plan_add(plan, MOUNT_MASK, real, NULL, S_ISDIR(st.st_mode));
}

static void plan_mask_glob(struct mount_plan *plan, const char *pattern)
{
	glob_t g;

	if (!strpbrk(pattern, "*?[")) {
		plan_mask_one(plan, pattern);
		return;
	}
	if (glob(pattern, GLOB_NOSORT, NULL, &g) != 0)
		return;
	for (size_t i = 0; i < g.gl_pathc; i++)
		plan_mask_one(plan, g.gl_pathv[i]);
	globfree(&g);
}

static bool mask_name_matches(const struct strv *names, const char *entry)
{
	for (size_t i = 0; i < names->len; i++)
		if (fnmatch(names->items[i], entry, FNM_PERIOD) == 0)
			return true;
	return false;
}

/*
 * Masks the entries under dir, down to depth levels, whose names match one
 * of names; a masked folder is not searched further. Each folder is read
 * once, whatever the number of names.
 */
static void plan_mask_search(struct mount_plan *plan, const char *dir,
			     const struct strv *names, int depth)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		_cleanup_free_ char *path = NULL;

		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		path = path_join(dir, de->d_name);
		if (mask_name_matches(names, de->d_name)) {
			plan_mask_one(plan, path);
			continue;
		}
		if (depth <= 1 || de->d_type != DT_DIR ||
		    streq(de->d_name, ".git") || streq(de->d_name, "node_modules"))
			continue;
		plan_mask_search(plan, path, names, depth - 1);
	}
	closedir(d);
}

/* Absolute masks are globs; the others are names searched for. */
static void plan_masks(struct mount_plan *plan, const struct policy *p)
{
	struct strv names = { 0 };

	for (size_t i = 0; i < p->mask.len; i++) {
		const char *m = p->mask.items[i];

		if (m[0] == '/')
			plan_mask_glob(plan, m);
		else
			strv_push(&names, m);
	}
	if (names.len) {
		plan_mask_search(plan, p->home, &names, 1);
		for (size_t w = 0; w < plan->writable.len; w++)
			plan_mask_search(plan, plan->writable.items[w], &names,
					 MASK_SEARCH_DEPTH);
	}
	strv_clear(&names);
}

/* Protects root/name: read-only if it exists, never creatable. */
static void plan_protect_one(struct mount_plan *plan, const char *root,
			     const char *name)
{
	_cleanup_free_ char *path = name[0] == '/' ? xstrdup(name) :
						      path_join(root, name);
	char real[PATH_MAX], *parent;
	struct stat st;

	if (!path_is_within(path, root))
		return;
	strv_push_unique(&plan->protected_paths, path);
	parent = path_dirname(path);
	while (strlen(parent) > strlen(root)) {
		char *up = path_dirname(parent);

		strv_push_unique(&plan->protected_parents, parent);
		free(parent);
		parent = up;
	}
	free(parent);

	if (lstat(path, &st) < 0)
		return;
	if (!S_ISLNK(st.st_mode)) {
		plan_add(plan, MOUNT_BIND_RO, path, path, S_ISDIR(st.st_mode));
		return;
	}
	/* a protected name that is a symlink: protect what it points to */
	if (!realpath(path, real) || stat(real, &st) < 0)
		return;
	for (size_t w = 0; w < plan->writable.len; w++) {
		if (!path_is_within(real, plan->writable.items[w]))
			continue;
		strv_push_unique(&plan->protected_paths, real);
		plan_add(plan, MOUNT_BIND_RO, real, real, S_ISDIR(st.st_mode));
		return;
	}
}

static void plan_protect(struct mount_plan *plan, const struct policy *p)
{
	for (size_t w = 0; w < plan->writable.len; w++) {
		const char *root = plan->writable.items[w];

		for (size_t i = 0; i < p->protect.len; i++) {
			if (p->allow_git_config &&
			    streq(p->protect.items[i], ".git/config"))
				continue;
			plan_protect_one(plan, root, p->protect.items[i]);
		}
		/* the settings files in use are never writable from inside */
		for (size_t i = 0; i < p->sources.len; i++)
			plan_protect_one(plan, root, p->sources.items[i]);
	}
}

static void plan_writable(struct mount_plan *plan, const struct policy *p)
{
	struct strv sorted = { 0 };

	strv_copy(&sorted, &p->allow_write);
	if (sorted.len)
		qsort(sorted.items, sorted.len, sizeof(char *), cmp_depth);
	for (size_t i = 0; i < sorted.len; i++) {
		const char *w = sorted.items[i];
		struct stat st;

		if (lstat(w, &st) < 0) {
			log_warn("allowWrite path %s does not exist; skipped", w);
			continue;
		}
		plan_add(plan, MOUNT_BIND_RW, w, w, S_ISDIR(st.st_mode));
		if (S_ISDIR(st.st_mode))
			strv_push_unique(&plan->writable, w);
	}
	strv_clear(&sorted);
}

static void plan_reads(struct mount_plan *plan, const struct policy *p)
{
	for (size_t i = 0; i < p->deny_read.len; i++)
		plan_mask_glob(plan, p->deny_read.items[i]);
	for (size_t i = 0; i < p->allow_read.len; i++) {
		struct stat st;

		if (stat(p->allow_read.items[i], &st) == 0)
			plan_add(plan, MOUNT_BIND_RO, p->allow_read.items[i],
				 p->allow_read.items[i], S_ISDIR(st.st_mode));
	}
}

static void plan_deny_write(struct mount_plan *plan, const struct policy *p)
{
	for (size_t i = 0; i < p->deny_write.len; i++) {
		glob_t g;

		if (glob(p->deny_write.items[i], GLOB_NOSORT | GLOB_NOCHECK, NULL,
			 &g) != 0)
			continue;
		for (size_t j = 0; j < g.gl_pathc; j++) {
			struct stat st;

			if (lstat(g.gl_pathv[j], &st) == 0 && !S_ISLNK(st.st_mode))
				plan_add(plan, MOUNT_BIND_RO, g.gl_pathv[j],
					 g.gl_pathv[j], S_ISDIR(st.st_mode));
		}
		globfree(&g);
	}
}

int mount_plan_build(struct mount_plan *plan, const struct policy *p,
		     const struct sandbox_ids *ids)
{
	*plan = (struct mount_plan){ .uid = ids->inside_uid,
				     .gid = ids->inside_gid,
				     };

	plan_root_entries(plan, p->read_system);
	for (size_t i = 0; i < p->allow_read.len && !p->read_system; i++)
		plan_add(plan, MOUNT_BIND_RO, p->allow_read.items[i],
			 p->allow_read.items[i], true);
	plan_add(plan, MOUNT_DEV, "/dev", NULL, true);
	plan_add(plan, MOUNT_PROC, "/proc", NULL, true);
	plan_add(plan, MOUNT_SYS, "/sys", NULL, true);
	plan_add(plan, MOUNT_TMPFS, "/tmp", NULL, true);
	plan_add(plan, MOUNT_TMPFS, "/run", NULL, true);
	/* root's home is out of reach of the sandbox's uid: give it scratch */
	if (ids->as_root && !streq(p->home, "/"))
		plan_add(plan, MOUNT_TMPFS, p->home, NULL, true);

	/* the workspace is always visible, read-only unless made writable */
	if (!strv_contains(&p->allow_write, p->workspace))
		plan_add(plan, MOUNT_BIND_RO, p->workspace, p->workspace, true);
	plan_writable(plan, p);
	plan_reads(plan, p);
	plan_deny_write(plan, p);
	plan_masks(plan, p);
	plan_protect(plan, p);
	return 0;
}

/* Where a generated file for path must go, following one symlink. */
static char *file_target(const char *path)
{
	char link[PATH_MAX], real[PATH_MAX];
	_cleanup_free_ char *dir = NULL;
	struct stat st;
	ssize_t n;

	if (lstat(path, &st) < 0 || !S_ISLNK(st.st_mode))
		return xstrdup(path);
	n = readlink(path, link, sizeof(link) - 1);
	if (n <= 0)
		return xstrdup(path);
	link[n] = '\0';
	dir = path_dirname(path);
	{
		_cleanup_free_ char *abs = path_absolute(link, dir, NULL);

		if (abs && (path_is_within(abs, "/run") ||
			    path_is_within(abs, "/tmp")))
			return steal_ptr(&abs);
	}
	if (realpath(path, real))
		return xstrdup(real);
	return NULL;
}

void mount_plan_add_file(struct mount_plan *plan, const char *path,
			 const char *text)
{
	_cleanup_free_ char *target = file_target(path);

	if (!target) {
		log_warn("%s is a dangling symlink; not replaced in the sandbox",
			 path);
		return;
	}
	plan_add(plan, MOUNT_FILE, target, text, false);
}

/* Whether an entry binds a host tree, and whether CMD writes through it. */
static bool kind_binds(enum mount_kind k)
{
	return k == MOUNT_BIND_RO || k == MOUNT_BIND_RW || k == MOUNT_OVERLAY;
}

static bool kind_writes(enum mount_kind k)
{
	return k == MOUNT_BIND_RW || k == MOUNT_OVERLAY;
}

int mount_plan_use_overlay(struct mount_plan *plan, const char *workspace,
			   const char *layers)
{
	for (size_t i = 0; i < plan->len; i++) {
		struct mount_entry *e = &plan->items[i];

		if (e->kind != MOUNT_BIND_RW || !streq(e->path, workspace))
			continue;
		e->kind = MOUNT_OVERLAY;
		plan->layers = layers ? xstrdup(layers) : NULL;
		return 0;
	}
	return -ENOENT;
}

int mount_plan_open_trees(struct mount_plan *plan)
{
	for (size_t i = 0; i < plan->len; i++) {
		struct mount_entry *e = &plan->items[i];

		if (!kind_binds(e->kind))
			continue;
		/* an overlay's lower layer is idmapped like a writable bind */
		e->tree_fd = kind_writes(e->kind) ?
				     userns_open_idmapped_tree(e->source) :
				     tree_open(e->source, false);
		if (e->tree_fd == -ELOOP) {
			log_error("cannot bind %s: a symlink is in its path; "
				  "name the real path in the settings", e->source);
			return -ELOOP;
		}
		if (e->tree_fd < 0) {
			log_error_errno(-e->tree_fd, "cannot open %s for %s binding",
					e->source, kind_writes(e->kind) ?
					"an idmapped" : "a read-only");
			if (kind_writes(e->kind))
				log_error("hint: as root, airlock needs idmapped "
					  "mounts (Linux 5.12+, a file system "
					  "that supports them); or run it as an "
					  "ordinary user");
			return e->tree_fd;
		}
		if (e->kind == MOUNT_OVERLAY) {
			int mnt = overlay_mount(plan, e->tree_fd, false);

			close(e->tree_fd);
			e->tree_fd = mnt;
			if (mnt < 0) {
				log_error_errno(-mnt, "cannot make the overlay "
						"of %s", e->source);
				return mnt;
			}
			plan->overlay_ready = true;
		}
	}
	return 0;
}

void mount_plan_print(const struct mount_plan *plan, FILE *f)
{
	fprintf(f, "mounts (in order):\n");
	for (size_t i = 0; i < plan->len; i++) {
		const struct mount_entry *e = &plan->items[i];

		fprintf(f, "  %-8s %s", mount_kind_names[e->kind], e->path);
		if (e->kind == MOUNT_SYMLINK)
			fprintf(f, " -> %s", e->source);
		else if (e->kind == MOUNT_FILE)
			fprintf(f, " (generated, %zu bytes)", strlen(e->source));
		else if (e->source && !streq(e->source, e->path))
			fprintf(f, " <- %s", e->source);
		if (e->kind == MOUNT_MASK)
			fprintf(f, " (empty %s)", e->is_dir ? "folder" : "file");
		fputc('\n', f);
	}
	fprintf(f, "protected, never writable or creatable:\n");
	for (size_t i = 0; i < plan->protected_paths.len; i++)
		fprintf(f, "  %s\n", plan->protected_paths.items[i]);
}

void mount_plan_free(struct mount_plan *plan)
{
	for (size_t i = 0; i < plan->len; i++) {
		free(plan->items[i].path);
		free(plan->items[i].source);
		if (plan->items[i].tree_fd >= 0)
			close(plan->items[i].tree_fd);
	}
	free(plan->items);
	free(plan->layers);
	strv_clear(&plan->writable);
	strv_clear(&plan->protected_paths);
	strv_clear(&plan->protected_parents);
	*plan = (struct mount_plan){ 0 };
}

/* ---- applying (sandbox init) ---- */

static int open_nofollow(int dirfd, const char *path, int flags)
{
	struct open_how how = {
		.flags = (unsigned long long)(flags | O_CLOEXEC),
		.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	int fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));

	return fd < 0 ? -errno : fd;
}

/* Clones the host tree at path for binding; read-only unless rw. */
static int tree_open(const char *path, bool rw)
{
	struct mount_attr attr = {
		.attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
			    (rw ? 0 : MOUNT_ATTR_RDONLY),
	};
	_cleanup_close_ int fd = -1, tree = -1;

	fd = open_nofollow(AT_FDCWD, path, O_PATH);
	if (fd < 0)
		return fd;
	tree = open_tree(fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC |
			 AT_EMPTY_PATH | AT_RECURSIVE);
	if (tree < 0)
		return -errno;
	if (mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr,
			  sizeof(attr)) < 0)
		return -errno;
	return steal_fd(&tree);
}

/*
 * Opens the mount point for path beneath root (rfd), creating what is
 * missing when it lies on a tmpfs of ours. Never follows a symlink.
 */
static int target_open(int rfd, const char *path, bool is_dir)
{
	_cleanup_close_ int dir = -1;
	char buf[PATH_MAX];
	char *save = NULL, *comp, *next;
	int fd;

	if (strlen(path) >= sizeof(buf))
		return -ENAMETOOLONG;
	strcpy(buf, path);
	dir = fcntl(rfd, F_DUPFD_CLOEXEC, 3);
	if (dir < 0)
		return -errno;

	comp = strtok_r(buf, "/", &save);
	if (!comp)
		return steal_fd(&dir);
	for (; comp; comp = next) {
		bool last;

		next = strtok_r(NULL, "/", &save);
		last = next == NULL;
		fd = open_nofollow(dir, comp, O_PATH);
		if (fd == -ENOENT) {
			int r;

			if (last && !is_dir) {
				r = openat(dir, comp, O_CREAT | O_EXCL | O_WRONLY |
					   O_CLOEXEC | O_NOFOLLOW, 0644);
				if (r >= 0)
					close(r);
			} else {
				r = mkdirat(dir, comp, 0755);
			}
			if (r < 0 && errno != EEXIST)
				return -errno;
			fd = open_nofollow(dir, comp, O_PATH);
		}
		if (fd < 0)
			return fd;
		close(dir);
		dir = fd;
	}
	return steal_fd(&dir);
}

static int attach(int tree, int target)
{
	if (move_mount(tree, "", target, "",
		       MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return -errno;
	return 0;
}

/*
 * Mounts a new file system of type (tmpfs, proc, ...) on target. When
 * root_out is given, it receives an fd of the new mount's root, through
 * which what lies on it is reached (target still names what is beneath).
 */
static int mount_fresh_at(const char *type, const char *options,
			  unsigned int attrs, int target, int *root_out)
{
	_cleanup_close_ int fs = -1, mnt = -1;
	char opts[128], *save = NULL;
	int r;

	fs = fsopen(type, FSOPEN_CLOEXEC);
	if (fs < 0)
		return -errno;
	snprintf(opts, sizeof(opts), "%s", options ? options : "");
	for (char *o = strtok_r(opts, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(o, '=');

		if (eq) {
			*eq = '\0';
			r = fsconfig(fs, FSCONFIG_SET_STRING, o, eq + 1, 0);
		} else {
			r = fsconfig(fs, FSCONFIG_SET_FLAG, o, NULL, 0);
		}
		if (r < 0)
			return -errno;
	}
	if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return -errno;
	mnt = fsmount(fs, FSMOUNT_CLOEXEC, attrs);
	if (mnt < 0)
		return -errno;
	r = attach(mnt, target);
	if (r == 0 && root_out)
		*root_out = steal_fd(&mnt);
	return r;
}

static int mount_fresh(const char *type, const char *options, unsigned int attrs,
		       int target)
{
	return mount_fresh_at(type, options, attrs, target, NULL);
}

/* Re-binds the mount point at target onto itself, read-only. */
static int remount_ro_at(int dirfd, const char *rel)
{
	struct mount_attr attr = {
		.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
	};
	_cleanup_close_ int fd = -1, tree = -1;
	int r;

	fd = open_nofollow(dirfd, rel, O_PATH);
	if (fd < 0)
		return fd;
	tree = open_tree(fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC |
			 AT_EMPTY_PATH | AT_RECURSIVE);
	if (tree < 0)
		return -errno;
	r = mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr,
			  sizeof(attr));
	return r < 0 ? -errno : attach(tree, fd);
}

static int apply_proc(int target)
{
	_cleanup_close_ int proc = -1;
	int r = mount_fresh_at("proc", NULL, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
			       MOUNT_ATTR_NOEXEC, target, &proc);

	if (r < 0)
		return r;
	for (size_t i = 0; proc_readonly[i]; i++) {
		r = remount_ro_at(proc, proc_readonly[i]);
		if (r < 0 && r != -ENOENT)
			return r;
	}
	return 0;
}

static int apply_dev(int parent)
{
	_cleanup_close_ int target = -1;
	int r = mount_fresh_at("tmpfs", "mode=0755,size=64k", MOUNT_ATTR_NOSUID |
			       MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, parent, &target);

	if (r < 0)
		return r;
	for (size_t i = 0; dev_nodes[i]; i++) {
		_cleanup_free_ char *src = path_join("/dev", dev_nodes[i]);
		_cleanup_close_ int tree = -1, node = -1;
		struct mount_attr attr = {
			.attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC,
		};

		tree = open_tree(AT_FDCWD, src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
		if (tree < 0)
			return -errno;
		if (mount_setattr(tree, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0)
			return -errno;
		node = target_open(target, dev_nodes[i], false);
		if (node < 0)
			return node;
		r = attach(tree, node);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < ARRAY_SIZE(dev_links); i++)
		if (symlinkat(dev_links[i][1], target, dev_links[i][0]) < 0)
			return -errno;

	for (int i = 0; i < 2; i++) {
		const char *name = i == 0 ? "pts" : "shm";
		_cleanup_close_ int sub = target_open(target, name, true);

		if (sub < 0)
			return sub;
		if (i == 0)
			r = mount_fresh("devpts", "newinstance,ptmxmode=0666,mode=0620",
					MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, sub);
		else
			r = mount_fresh("tmpfs", "mode=1777", MOUNT_ATTR_NOSUID |
					MOUNT_ATTR_NODEV, sub);
		if (r < 0)
			return r;
	}
	return mount_setattr(target, "", AT_EMPTY_PATH, &(struct mount_attr){
		.attr_set = MOUNT_ATTR_RDONLY }, sizeof(struct mount_attr)) < 0 ?
		-errno : 0;
}

static int apply_mask(int rfd, int target)
{
	struct stat st;
	struct mount_attr attr = {
		.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID |
			    MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
	};
	_cleanup_close_ int tree = -1;

	if (fstat(target, &st) < 0)
		return -errno;
	if (S_ISDIR(st.st_mode))
		return mount_fresh("tmpfs", "mode=0755,size=4k,nr_inodes=1",
				   attr.attr_set, target);
	tree = open_tree(rfd, EMPTY_FILE, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (tree < 0)
		return -errno;
	if (mount_setattr(tree, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0)
		return -errno;
	return attach(tree, target);
}

static int apply_tmpfs(const struct mount_plan *plan,
		       const struct mount_entry *e, int target)
{
	char opts[96];

	snprintf(opts, sizeof(opts), "mode=%s,uid=%u,gid=%u",
		 streq(e->path, "/tmp") ? "1777" : "0755", plan->uid, plan->gid);
	return mount_fresh("tmpfs", opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
			   target);
}

/*
 * Writes the text into a file on the new root's tmpfs, binds it read-only
 * over target, then unlinks the file: the bind keeps it alive, and the
 * root shows no trace of it.
 */
static int apply_file(int rfd, const struct mount_entry *e, int target,
		      size_t index)
{
	struct mount_attr attr = {
		.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID |
			    MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
	};
	char name[32];
	_cleanup_close_ int fd = -1, tree = -1;
	int r;

	snprintf(name, sizeof(name), ".airlock-file-%zu", index);
	fd = openat(rfd, name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0444);
	if (fd < 0)
		return -errno;
	r = write_all(fd, e->source, strlen(e->source));
	if (r < 0)
		return r;
	tree = open_tree(rfd, name, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (tree < 0)
		return -errno;
	if (mount_setattr(tree, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0)
		return -errno;
	r = attach(tree, target);
	if (unlinkat(rfd, name, 0) < 0 && r == 0)
		r = -errno;
	return r;
}

/*
 * After a failed fsconfig: logs what the file system said about it (the
 * kernel keeps its messages in the context) and returns -errno.
 */
static int fs_context_error(int fs)
{
	int err = errno;
	char msg[256];
	ssize_t n;

	while ((n = read(fs, msg, sizeof(msg) - 1)) > 0) {
		msg[n] = '\0';
		log_error("%s", msg + (n > 2 && msg[1] == ' ' ? 2 : 0));
	}
	return -err;
}

/*
 * Opens the mount that holds upper/ and work/ (overlay wants both on one):
 * the run's folder itself, or a clone of it (an ordinary user's init must
 * clone what lies in the host's namespace, which overlay refuses as an
 * upper layer), or, without one, a fresh tmpfs that dies with the mount.
 */
static int layers_open(const struct mount_plan *plan, bool clone)
{
	_cleanup_close_ int fs = -1, mnt = -1;

	if (plan->layers && clone)
		return tree_open(plan->layers, true);
	if (plan->layers) {
		mnt = open(plan->layers, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
			   O_CLOEXEC);
		return mnt < 0 ? -errno : steal_fd(&mnt);
	}
	fs = fsopen("tmpfs", FSOPEN_CLOEXEC);
	if (fs < 0 || fsconfig(fs, FSCONFIG_SET_STRING, "mode", "0755", 0) < 0 ||
	    fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return -errno;
	mnt = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
	if (mnt < 0 || mkdirat(mnt, "upper", 0755) < 0 ||
	    mkdirat(mnt, "work", 0755) < 0)
		return -errno;
	/* made by root for the sandbox: the merged root must be CMD's */
	if (!clone && fchownat(mnt, "upper", SANDBOX_ROOT_OUTSIDE_ID,
			       SANDBOX_ROOT_OUTSIDE_ID, 0) < 0)
		return -errno;
	return steal_fd(&mnt);
}

/*
 * Makes a detached overlay mount over the tree lower, with upper/ and
 * work/ from layers_open, and returns its fd or -errno. Layers are given
 * by descriptor, so no path is looked up again. userxattr keeps overlay's
 * marks (whiteouts aside) in user.overlay.* xattrs, which a user namespace
 * may set and `airlock diff` reads. Started by root, the supervisor calls
 * this (the sandbox's id could not reach the run's folder) with an
 * idmapped lower tree; otherwise the sandbox's init does.
 */
static int overlay_mount(const struct mount_plan *plan, int lower, bool clone)
{
	_cleanup_close_ int layers = -1, upper = -1, work = -1, fs = -1;
	int mnt;

	layers = layers_open(plan, clone);
	if (layers < 0)
		return layers;
	upper = openat(layers, "upper", O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		       O_CLOEXEC);
	work = openat(layers, "work", O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		      O_CLOEXEC);
	if (upper < 0 || work < 0)
		return -errno;
	fs = fsopen("overlay", FSOPEN_CLOEXEC);
	if (fs < 0)
		return -errno;
	if (fsconfig(fs, FSCONFIG_SET_FLAG, "userxattr", NULL, 0) < 0 ||
	    fsconfig(fs, FSCONFIG_SET_FD, "lowerdir+", NULL, lower) < 0 ||
	    fsconfig(fs, FSCONFIG_SET_FD, "upperdir", NULL, upper) < 0 ||
	    fsconfig(fs, FSCONFIG_SET_FD, "workdir", NULL, work) < 0 ||
	    fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return fs_context_error(fs);
	mnt = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
	return mnt < 0 ? -errno : mnt;
}

static int apply_overlay(const struct mount_plan *plan, int tree, int target)
{
	_cleanup_close_ int mnt = -1;

	if (plan->overlay_ready)
		return attach(tree, target);
	mnt = overlay_mount(plan, tree, true);
	return mnt < 0 ? mnt : attach(mnt, target);
}

static int apply_entry(const struct mount_plan *plan,
		       const struct mount_entry *e, int rfd, int tree)
{
	_cleanup_close_ int target = -1;
	const char *rel = e->path + 1;

	if (e->kind == MOUNT_SYMLINK)
		return symlinkat(e->source, rfd, rel) < 0 ? -errno : 0;

	target = e->kind == MOUNT_MASK ? open_nofollow(rfd, rel, O_PATH) :
					 target_open(rfd, rel, e->is_dir);
	if (target < 0)
		return target;

	switch (e->kind) {
	case MOUNT_BIND_RO:
	case MOUNT_BIND_RW:
		return attach(tree, target);
	case MOUNT_OVERLAY:
		return apply_overlay(plan, tree, target);
	case MOUNT_MASK:
		return apply_mask(rfd, target);
	case MOUNT_TMPFS:
		return apply_tmpfs(plan, e, target);
	case MOUNT_PROC:
		return apply_proc(target);
	case MOUNT_DEV:
		return apply_dev(target);
	case MOUNT_SYS:
		return mount_fresh("sysfs", NULL, MOUNT_ATTR_RDONLY |
				   MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
				   MOUNT_ATTR_NOEXEC, target);
	case MOUNT_FILE:
		return apply_file(rfd, e, target, (size_t)(e - plan->items));
	case MOUNT_SYMLINK:
		break;
	}
	return 0;
}

/* Opens the source tree of every bind, before /tmp is covered. */
static int open_sources(const struct mount_plan *plan, int *trees)
{
	for (size_t i = 0; i < plan->len; i++) {
		const struct mount_entry *e = &plan->items[i];

		trees[i] = -1;
		if (!kind_binds(e->kind))
			continue;
		if (e->tree_fd >= 0) {
			trees[i] = e->tree_fd;
			continue;
		}
		trees[i] = tree_open(e->source, e->kind == MOUNT_BIND_RW);
		if (trees[i] == -ELOOP) {
			log_error("cannot bind %s: a symlink is in its path; "
				  "name the real path in the settings", e->source);
			return trees[i];
		}
		if (trees[i] < 0) {
			log_error_errno(-trees[i], "cannot open %s for binding",
					e->source);
			return trees[i];
		}
	}
	return 0;
}

static int enter_root(int rfd, const char *cwd, const char *workspace)
{
	if (fchdir(rfd) < 0 || syscall(SYS_pivot_root, ".", ".") < 0) {
		log_error_errno(errno, "cannot enter the new root (pivot_root)");
		return -errno;
	}
	if (umount2(".", MNT_DETACH) < 0 || chdir("/") < 0) {
		log_error_errno(errno, "cannot detach the old root");
		return -errno;
	}
	if (chdir(cwd) == 0)
		return 0;
	log_info("working folder %s is not visible inside; starting in the "
		 "workspace", cwd);
	if (chdir(workspace) < 0) {
		log_error_errno(errno, "workspace %s is not visible inside",
				workspace);
		return -errno;
	}
	return 0;
}

int mount_plan_apply(const struct mount_plan *plan, const char *cwd,
		     const char *workspace)
{
	_cleanup_free_ int *trees = xcalloc(plan->len + 1, sizeof(int));
	_cleanup_close_ int rfd = -1, empty = -1;
	int r;

	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		log_error_errno(errno, "cannot make the mount namespace private");
		return -errno;
	}
	r = open_sources(plan, trees);
	if (r < 0)
		goto out;

	r = mount("tmpfs", NEW_ROOT, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755");
	if (r < 0) {
		r = -errno;
		log_error_errno(-r, "cannot mount the new root's tmpfs");
		goto out;
	}
	rfd = open(NEW_ROOT, O_PATH | O_DIRECTORY | O_CLOEXEC);
	empty = rfd < 0 ? -1 : openat(rfd, EMPTY_FILE, O_CREAT | O_WRONLY |
				      O_CLOEXEC, 0444);
	if (empty < 0) {
		r = -errno;
		log_error_errno(-r, "cannot prepare the new root");
		goto out;
	}
	close(steal_fd(&empty)); /* a writer would keep the root writable */

	for (size_t i = 0; i < plan->len; i++) {
		const struct mount_entry *e = &plan->items[i];

		r = apply_entry(plan, e, rfd, trees[i]);
		if (r == -ENOENT && e->kind == MOUNT_MASK)
			r = 0; /* hidden already by an enclosing mask */
		if (r < 0 && e->kind == MOUNT_SYS) {
			log_debug_errno(-r, "no /sys in the sandbox");
			r = 0;
		}
		if (r < 0) {
			log_error_errno(-r, "cannot mount %s (%s)", e->path,
					mount_kind_names[e->kind]);
			goto out;
		}
	}

	/* the root itself becomes read-only once everything is in place */
	if (unlinkat(rfd, EMPTY_FILE, 0) < 0 ||
	    mount_setattr(rfd, "", AT_EMPTY_PATH, &(struct mount_attr){
		    .attr_set = MOUNT_ATTR_RDONLY }, sizeof(struct mount_attr)) < 0) {
		r = -errno;
		log_error_errno(-r, "cannot make the new root read-only");
		goto out;
	}
	r = enter_root(rfd, cwd, workspace);
out:
	for (size_t i = 0; i < plan->len; i++)
		if (trees[i] >= 0 && trees[i] != plan->items[i].tree_fd)
			close(trees[i]);
	return r;
}
