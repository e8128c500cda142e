/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of src/review: an upper layer built by hand (whiteouts as
 * overlayfs makes them, opaque folders by xattr) compared with a real
 * tree, the protected-name rules, apply's selection, conflicts and
 * atomic replacement, and the tree helpers. Whiteouts need mknod, so the
 * tests that make them are skipped unless run as root.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "review/review.h"

#define NS_PER_SEC INT64_C(1000000000)

/* A run's folder, its layer and a real tree, all under one temp folder. */
struct fixture {
	char base[64];
	int run_fd;
	int upper_fd;
	int real_fd;
	struct review_changes changes;
	struct strv protect;
};

static int open_dir(const char *base, const char *name)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", base, name);

	if (mkdir(path, 0755) < 0)
		return -1;
	return open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

static int fixture_setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));

	snprintf(f->base, sizeof(f->base), "/var/tmp/test-review.XXXXXX");
	if (!mkdtemp(f->base))
		return -1;
	f->run_fd = open_dir(f->base, "run");
	f->upper_fd = open_dir(f->base, "upper");
	f->real_fd = open_dir(f->base, "real");
	*state = f;
	return f->run_fd < 0 || f->upper_fd < 0 || f->real_fd < 0 ? -1 : 0;
}

static int fixture_teardown(void **state)
{
	struct fixture *f = *state;
	_cleanup_close_ int tmp = open("/var/tmp", O_RDONLY | O_DIRECTORY);

	review_changes_free(&f->changes);
	strv_clear(&f->protect);
	close(f->run_fd);
	close(f->upper_fd);
	close(f->real_fd);
	assert_int_equal(review_tree_remove(tmp, f->base + strlen("/var/tmp/")),
			 0);
	free(f);
	return 0;
}

/* ---- building trees ---- */

static void put(int root, const char *path, const char *text, mode_t mode)
{
	_cleanup_close_ int fd = -1;

	fd = openat(root, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write_all(fd, text, strlen(text)), 0);
	assert_int_equal(fchmodat(root, path, mode, 0), 0);
}

static void dir(int root, const char *path)
{
	assert_int_equal(mkdirat(root, path, 0755), 0);
}

static void whiteout(int root, const char *path)
{
	assert_int_equal(mknodat(root, path, S_IFCHR, makedev(0, 0)), 0);
}

static void mark(int root, const char *path, const char *key,
		 const char *value)
{
	_cleanup_close_ int fd = openat(root, path, O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(fsetxattr(fd, key, value, strlen(value), 0), 0);
}

static char *text_of(int root, const char *path)
{
	_cleanup_close_ int fd = openat(root, path, O_RDONLY | O_CLOEXEC);
	char buf[256];
	ssize_t n;

	if (fd < 0)
		return NULL;
	n = read_full(fd, buf, sizeof(buf) - 1);
	assert_true(n >= 0);
	return xstrndup(buf, (size_t)n);
}

static bool skip_unless_root(void)
{
	if (geteuid() == 0)
		return false;
	skip();
	return true;
}

static void recollect(struct fixture *f)
{
	review_changes_free(&f->changes);
	assert_int_equal(review_changes_collect(f->upper_fd, f->real_fd,
						&f->changes), 0);
}

/* The changes as "S path" lines, one string. */
static char *changes_text(struct fixture *f)
{
	size_t size = 1;
	char *out;

	recollect(f);
	for (size_t i = 0; i < f->changes.len; i++)
		size += strlen(f->changes.items[i].path) + 4;
	out = xcalloc(size, 1);
	for (size_t i = 0; i < f->changes.len; i++) {
		size_t n = strlen(out);

		snprintf(out + n, size - n, "%c %s\n",
			 f->changes.items[i].status, f->changes.items[i].path);
	}
	return out;
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * NS_PER_SEC + ts.tv_nsec;
}

/* Waits out the file system clock's granularity. */
static void settle(void)
{
	struct timespec ts = { .tv_nsec = 30 * 1000 * 1000 };

	nanosleep(&ts, NULL);
}

/* ---- collecting changes ---- */

static void test_collect_kinds(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *text = NULL;

	if (skip_unless_root())
		return;
	put(f->real_fd, "same", "s\n", 0644);
	put(f->real_fd, "edit", "old\n", 0644);
	put(f->real_fd, "mode", "m\n", 0644);
	put(f->real_fd, "gone", "g\n", 0644);
	dir(f->real_fd, "tree");
	put(f->real_fd, "tree/a", "a\n", 0644);
	put(f->real_fd, "tree/b", "b\n", 0644);
	dir(f->real_fd, "merged");
	put(f->real_fd, "merged/x", "x\n", 0644);
	put(f->real_fd, "merged/y", "y\n", 0644);
	assert_int_equal(symlinkat("same", f->real_fd, "link"), 0);

	put(f->upper_fd, "same", "s\n", 0644);  /* copied up, unchanged */
	put(f->upper_fd, "edit", "new\n", 0644);
	put(f->upper_fd, "mode", "m\n", 04755); /* setuid is dropped */
	whiteout(f->upper_fd, "gone");
	dir(f->upper_fd, "tree");
	mark(f->upper_fd, "tree", "user.overlay.opaque", "y");
	put(f->upper_fd, "tree/b", "b\n", 0644);
	put(f->upper_fd, "tree/c", "c\n", 0644);
	dir(f->upper_fd, "merged");
	mark(f->upper_fd, "merged", "trusted.overlay.opaque", "x");
	put(f->upper_fd, "merged/x", "", 0644);
	mark(f->upper_fd, "merged/x", "trusted.overlay.whiteout", "y");
	put(f->upper_fd, "merged/z", "", 0644); /* empty, not a whiteout */
	assert_int_equal(symlinkat("edit", f->upper_fd, "link"), 0);
	dir(f->upper_fd, "empty");
	put(f->upper_fd, ".airlock-apply.0123", "stale", 0600);

	text = changes_text(f);
	assert_string_equal(text,
			    "M edit\n"
			    "A empty\n"
			    "D gone\n"
			    "M link\n"
			    "D merged/x\n"
			    "A merged/z\n"
			    "M mode\n"
			    "D tree/a\n"
			    "A tree/c\n");
	assert_true(f->changes.items[6].suid_dropped);
	assert_false(f->changes.items[6].content);
	assert_int_equal(f->changes.items[6].new_mode, S_IFREG | 0755);
	assert_string_equal(f->changes.items[3].new_target, "edit");
	assert_string_equal(f->changes.items[3].old_target, "same");
	assert_true(f->changes.items[7].under_opaque);
}

static void test_collect_types(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *text = NULL;

	if (skip_unless_root())
		return;
	put(f->real_fd, "f2d", "f\n", 0644);
	dir(f->real_fd, "d2f");
	put(f->real_fd, "d2f/inner", "i\n", 0644);
	dir(f->real_fd, "wiped");
	put(f->real_fd, "wiped/deep", "d\n", 0644);

	dir(f->upper_fd, "f2d");
	put(f->upper_fd, "f2d/in", "i\n", 0644);
	put(f->upper_fd, "d2f", "now a file\n", 0644);
	whiteout(f->upper_fd, "wiped");

	text = changes_text(f);
	assert_string_equal(text, "T d2f\nT f2d\nA f2d/in\nD wiped\n");
	assert_true(S_ISDIR(f->changes.items[0].old_mode));
	assert_true(review_change_makes_dir(&f->changes.items[1]));
	assert_true(review_change_removes(&f->changes.items[3]));
}

/* ---- protected names ---- */

static void test_protect_match(void **state)
{
	struct strv protect = { 0 };
	struct review_change c = { .status = REVIEW_ADDED };

	(void)state;
	strv_push(&protect, ".bashrc");
	strv_push(&protect, ".git/hooks");

	c.path = (char *)".bashrc";
	assert_string_equal(review_protect_match(&protect, &c), ".bashrc");
	c.path = (char *)".bashrc.bak";
	assert_null(review_protect_match(&protect, &c));
	c.path = (char *)".git/hooks/pre-commit";
	assert_string_equal(review_protect_match(&protect, &c), ".git/hooks");
	c.path = (char *)".git";
	assert_null(review_protect_match(&protect, &c));
	c.status = REVIEW_DELETED; /* removing .git removes its hooks */
	assert_string_equal(review_protect_match(&protect, &c), ".git/hooks");
	c.path = (char *)"sub/.bashrc";
	assert_null(review_protect_match(&protect, &c));
	strv_clear(&protect);
}

static void test_protect_load(void **state)
{
	struct fixture *f = *state;

	put(f->run_fd, RUN_POLICY_FILE,
	    "{\"sources\": [\"/w/.airlock.json\", \"/elsewhere/s.json\"],"
	    " \"filesystem\": {\"protect\": [\".husky\", \"/w/tools/x\","
	    " \"/other/y\", 7]}}", 0600);
	review_protect_load(f->run_fd, "/w", &f->protect);
	assert_true(strv_contains(&f->protect, ".bashrc"));
	assert_true(strv_contains(&f->protect, ".husky"));
	assert_true(strv_contains(&f->protect, "tools/x"));
	assert_true(strv_contains(&f->protect, ".airlock.json"));
	assert_false(strv_contains(&f->protect, "/other/y"));
	assert_false(strv_contains(&f->protect, "/elsewhere/s.json"));
}

/* ---- apply ---- */

static int apply(struct fixture *f, int64_t started_ns, const char *path,
		 bool force, struct review_apply_result *res)
{
	struct strv paths = { 0 };
	struct review_apply_opts o = {
		.run_fd = f->run_fd,
		.upper_fd = f->upper_fd,
		.real_fd = f->real_fd,
		.started_ns = started_ns,
		.paths = path ? &paths : NULL,
		.protect = &f->protect,
		.force = force,
	};
	int r;

	if (path)
		strv_push(&paths, path);
	recollect(f);
	r = review_apply(&o, &f->changes, res);
	strv_clear(&paths);
	return r;
}

static void test_apply_files(void **state)
{
	struct fixture *f = *state;
	struct review_apply_result res = { 0 };
	_cleanup_free_ char *edit = NULL, *sub = NULL;
	char target[16] = "";
	struct stat st;
	int64_t start;

	put(f->real_fd, "edit", "old\n", 0644);
	settle();
	start = now_ns();
	settle();
	put(f->upper_fd, "edit", "new\n", 0600);
	dir(f->upper_fd, "sub");
	put(f->upper_fd, "sub/file", "s\n", 04755);
	assert_int_equal(symlinkat("edit", f->upper_fd, "link"), 0);

	assert_int_equal(apply(f, start, NULL, false, &res), 0);
	assert_int_equal(res.n_applied, 4);
	assert_true(res.complete);
	edit = text_of(f->real_fd, "edit");
	sub = text_of(f->real_fd, "sub/file");
	assert_string_equal(edit, "new\n");
	assert_string_equal(sub, "s\n");
	assert_int_equal(fstatat(f->real_fd, "sub/file", &st, 0), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	assert_int_equal(fstatat(f->real_fd, "edit", &st, 0), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_true(readlinkat(f->real_fd, "link", target, sizeof(target)) > 0);
	assert_string_equal(target, "edit");
	/* applied entries leave the layer */
	assert_int_equal(faccessat(f->upper_fd, "edit", F_OK,
				   AT_SYMLINK_NOFOLLOW), -1);
	review_apply_result_free(&res);
}

static void test_apply_conflict_changes_nothing(void **state)
{
	struct fixture *f = *state;
	struct review_apply_result res = { 0 };
	_cleanup_free_ char *a = NULL;
	int64_t start;

	put(f->real_fd, "a", "real\n", 0644);
	dir(f->real_fd, "d");
	settle();
	start = now_ns();
	settle();
	put(f->upper_fd, "a", "agent\n", 0644);
	dir(f->upper_fd, "d");
	put(f->upper_fd, "d/new", "n\n", 0644);
	put(f->upper_fd, "b", "b\n", 0644);
	put(f->real_fd, "a", "user\n", 0644);   /* edited after the start */
	put(f->real_fd, "d/mine", "m\n", 0644); /* its folder changed */

	assert_int_equal(apply(f, start, NULL, false, &res), -EBUSY);
	assert_int_equal(res.conflicts.len, 2);
	assert_string_equal(res.conflicts.items[0],
			    "a: changed in the workspace since the run started");
	assert_string_equal(res.conflicts.items[1],
			    "d/new: its folder changed in the workspace since "
			    "the run started");
	a = text_of(f->real_fd, "a");
	assert_string_equal(a, "user\n");
	assert_int_equal(faccessat(f->real_fd, "b", F_OK, 0), -1);
	review_apply_result_free(&res);
}

static void test_apply_protected_and_paths(void **state)
{
	struct fixture *f = *state;
	struct review_apply_result res = { 0 };
	int64_t start;

	strv_push(&f->protect, ".bashrc");
	settle();
	start = now_ns();
	settle();
	put(f->upper_fd, ".bashrc", "evil\n", 0644);
	put(f->upper_fd, "one", "1\n", 0644);
	put(f->upper_fd, "two", "2\n", 0644);

	assert_int_equal(apply(f, start, "nowhere", false, &res), -ENOENT);
	assert_string_equal(res.unmatched.items[0], "nowhere");
	review_apply_result_free(&res);

	assert_int_equal(apply(f, start, "one", false, &res), 0);
	assert_int_equal(res.n_applied, 1);
	assert_false(res.complete);
	review_apply_result_free(&res);

	/* the first apply changed the top folder: not held against the next */
	assert_int_equal(apply(f, start, NULL, false, &res), 0);
	assert_int_equal(res.protected_skipped.len, 1);
	assert_string_equal(res.protected_skipped.items[0], ".bashrc");
	assert_int_equal(faccessat(f->real_fd, ".bashrc", F_OK, 0), -1);
	review_apply_result_free(&res);

	assert_int_equal(apply(f, start, NULL, true, &res), 0);
	assert_true(res.complete);
	assert_int_equal(faccessat(f->real_fd, ".bashrc", F_OK, 0), 0);
	review_apply_result_free(&res);
}

/* ---- the tree helpers ---- */

static void test_tree_remove_and_sweep(void **state)
{
	struct fixture *f = *state;
	struct stat st;

	dir(f->real_fd, ".airlock-apply.1");
	dir(f->real_fd, ".airlock-apply.1/locked");
	put(f->real_fd, ".airlock-apply.1/locked/f", "f", 0644);
	assert_int_equal(fchmodat(f->real_fd, ".airlock-apply.1/locked", 0, 0),
			 0);
	put(f->real_fd, ".airlock-apply.2", "t", 0600);
	put(f->real_fd, "keep", "k", 0644);
	assert_int_equal(symlinkat("/", f->real_fd, "root-link"), 0);

	assert_int_equal(review_tree_sweep(f->real_fd), 2);
	assert_int_equal(fstatat(f->real_fd, "keep", &st, 0), 0);
	assert_int_equal(review_tree_remove(f->real_fd, "root-link"), 0);
	assert_int_equal(stat("/", &st), 0); /* the link, not its target */
	assert_int_equal(review_tree_remove(f->real_fd, "missing"), 0);
}

static void test_tree_open_refuses_links(void **state)
{
	struct fixture *f = *state;
	_cleanup_close_ int fd = -1;

	dir(f->real_fd, "d");
	assert_int_equal(symlinkat("d", f->real_fd, "l"), 0);
	assert_int_equal(symlinkat("/etc", f->real_fd, "out"), 0);
	/* a symlink at the end fails as not a folder, on the way as a loop */
	assert_int_equal(review_tree_open_dir(f->real_fd, "l"), -ENOTDIR);
	assert_int_equal(review_tree_open_dir(f->real_fd, "out"), -ENOTDIR);
	assert_int_equal(review_tree_open_dir(f->real_fd, "l/x"), -ELOOP);
	assert_int_equal(review_tree_open_dir(f->real_fd, "../.."), -EXDEV);
	fd = review_tree_open_dir(f->real_fd, "d");
	assert_true(fd >= 0);
}

#define TEST(t) cmocka_unit_test_setup_teardown(t, fixture_setup, \
						fixture_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_collect_kinds),
		TEST(test_collect_types),
		cmocka_unit_test(test_protect_match),
		TEST(test_protect_load),
		TEST(test_apply_files),
		TEST(test_apply_conflict_changes_nothing),
		TEST(test_apply_protected_and_paths),
		TEST(test_tree_remove_and_sweep),
		TEST(test_tree_open_refuses_links),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
