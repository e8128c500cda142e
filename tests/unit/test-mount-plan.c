/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the mount plan (mount_plan_build in src/sandbox/mount.c):
 * which credentials are masked, what is bound writable or read-only, and
 * which protected names end up in the lists the seccomp notifier checks.
 * Planning reads the file system and changes nothing; every file the
 * tests make lives in two temporary folders removed afterwards.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/path.h"
#include "common/strv.h"
#include "common/util.h"
#include "policy/policy.h"
#include "sandbox/sandbox.h"

#define TREE_FDS_MAX 16

/* The workspace and home folders of one test and the policy over them. */
struct fixture {
	char ws[PATH_MAX];
	char home[PATH_MAX];
	struct policy p;
	struct sandbox_ids ids;
	struct mount_plan plan;
};

/* Makes a fresh folder under /tmp and stores its real path in out. */
static void tmp_dir_make(char *out, const char *tag)
{
	char tmpl[64];

	snprintf(tmpl, sizeof(tmpl), "/tmp/airlock-%s-XXXXXX", tag);
	if (!mkdtemp(tmpl))
		fail_msg("mkdtemp %s: %s", tmpl, strerror(errno));
	if (!realpath(tmpl, out))
		fail_msg("realpath %s: %s", tmpl, strerror(errno));
}

static int remove_entry(const char *path, const struct stat *st, int type,
			struct FTW *ftw)
{
	return remove(path) < 0 ? -1 : 0;
}

/* Removes a tree made by the tests, never following a symlink. */
static void tmp_dir_remove(const char *dir)
{
	if (dir[0] && nftw(dir, remove_entry, TREE_FDS_MAX,
			   FTW_DEPTH | FTW_PHYS) < 0)
		fprintf(stderr, "cannot remove %s: %s\n", dir, strerror(errno));
}

/* Creates dir/rel with its missing parents: a folder when rel ends in '/'. */
static void make_at(const char *dir, const char *rel)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", dir, rel);
	size_t len = strlen(path);
	bool folder = path[len - 1] == '/';
	int fd;

	for (char *s = strchr(path + strlen(dir) + 1, '/'); s;
	     s = strchr(s + 1, '/')) {
		*s = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			fail_msg("mkdir %s: %s", path, strerror(errno));
		*s = '/';
	}
	if (folder)
		return;
	fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0)
		fail_msg("create %s: %s", path, strerror(errno));
	close(fd);
}

static void link_at(const char *dir, const char *rel, const char *target)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", dir, rel);

	if (symlink(target, path) < 0)
		fail_msg("symlink %s: %s", path, strerror(errno));
}

static int setup(void **state)
{
	static const char *const ws_files[] = {
		".env", "sub/a/.env", "sub/a/b/c/.env", "x.pem", ".git/config",
		".bashrc", "dotfiles/profile", "notes.txt", "custom.json",
	};
	static const char *const protect[] = {
		".bashrc", ".git/config", ".git/hooks", ".vscode", ".profile",
		".zshrc",
	};
	struct fixture *f = xcalloc(1, sizeof(*f));

	tmp_dir_make(f->ws, "ws");
	tmp_dir_make(f->home, "home");
	for (size_t i = 0; i < ARRAY_SIZE(ws_files); i++)
		make_at(f->ws, ws_files[i]);
	make_at(f->home, ".ssh/id_rsa");
	make_at(f->home, ".env");
	make_at(f->home, "deep/.env");
	make_at(f->home, "zshrc");
	make_at(f->home, "settings.json");
	/* a protected name pointing inside the workspace, and one outside */
	link_at(f->ws, ".profile", "dotfiles/profile");
	_cleanup_free_ char *outside = path_join(f->home, "zshrc");
	link_at(f->ws, ".zshrc", outside);

	f->p.workspace = xstrdup(f->ws);
	f->p.home = xstrdup(f->home);
	f->p.read_system = true;
	strv_push(&f->p.allow_write, f->ws);
	strv_push(&f->p.mask, ".env");
	strv_push(&f->p.mask, "*.pem");
	strv_push_owned(&f->p.mask, path_join(f->home, ".ssh"));
	for (size_t i = 0; i < ARRAY_SIZE(protect); i++)
		strv_push(&f->p.protect, protect[i]);
	strv_push_owned(&f->p.sources, path_join(f->ws, "custom.json"));
	strv_push_owned(&f->p.sources, path_join(f->home, "settings.json"));

	f->ids = (struct sandbox_ids){
		.as_root = false,
		.outside_uid = 4321,
		.outside_gid = 8765,
		.inside_uid = 4321,
		.inside_gid = 8765,
	};
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	mount_plan_free(&f->plan);
	free(f->p.workspace);
	free(f->p.home);
	strv_clear(&f->p.allow_write);
	strv_clear(&f->p.mask);
	strv_clear(&f->p.protect);
	strv_clear(&f->p.sources);
	tmp_dir_remove(f->ws);
	tmp_dir_remove(f->home);
	free(f);
	return 0;
}

static void plan(struct fixture *f)
{
	assert_int_equal(mount_plan_build(&f->plan, &f->p, &f->ids), 0);
}

static const struct mount_entry *find(const struct mount_plan *pl,
				      enum mount_kind kind, const char *path)
{
	for (size_t i = 0; i < pl->len; i++)
		if (pl->items[i].kind == kind && streq(pl->items[i].path, path))
			return &pl->items[i];
	return NULL;
}

/* Asserts that (kind, dir/rel) is planned, or is not when !want. */
static const struct mount_entry *expect(const struct fixture *f,
					enum mount_kind kind, const char *dir,
					const char *rel, bool want)
{
	_cleanup_free_ char *path = rel ? path_join(dir, rel) : xstrdup(dir);
	const struct mount_entry *e = find(&f->plan, kind, path);

	if (want && !e)
		fail_msg("no mount of kind %d at %s", (int)kind, path);
	if (!want && e)
		fail_msg("unexpected mount of kind %d at %s", (int)kind, path);
	return e;
}

static void expect_listed(const struct strv *v, const char *what,
			  const char *dir, const char *rel, bool want)
{
	_cleanup_free_ char *path = path_join(dir, rel);

	if (strv_contains(v, path) != want)
		fail_msg("%s %s %s", path, want ? "missing from" : "wrongly in",
			 what);
}

static void test_masks(void **state)
{
	struct fixture *f = *state;
	const struct mount_entry *e;

	plan(f);
	e = expect(f, MOUNT_MASK, f->ws, ".env", true);
	assert_false(e->is_dir);
	assert_null(e->source);
	expect(f, MOUNT_MASK, f->ws, "sub/a/.env", true);
	expect(f, MOUNT_MASK, f->ws, "x.pem", true);
	/* bare names are looked for three levels down, not four */
	expect(f, MOUNT_MASK, f->ws, "sub/a/b/c/.env", false);
	/* and at the top of the home folder only */
	expect(f, MOUNT_MASK, f->home, ".env", true);
	expect(f, MOUNT_MASK, f->home, "deep/.env", false);
	e = expect(f, MOUNT_MASK, f->home, ".ssh", true);
	assert_true(e->is_dir);
	expect(f, MOUNT_MASK, f->ws, "notes.txt", false);
	expect(f, MOUNT_MASK, f->home, ".ssh/id_rsa", false);
}

static void test_workspace_writable(void **state)
{
	struct fixture *f = *state;
	const struct mount_entry *e;
	size_t rw = 0;

	plan(f);
	e = expect(f, MOUNT_BIND_RW, f->ws, NULL, true);
	assert_string_equal(e->source, f->ws);
	assert_true(e->is_dir);
	assert_int_equal(e->tree_fd, -1);
	for (size_t i = 0; i < f->plan.len; i++)
		rw += f->plan.items[i].kind == MOUNT_BIND_RW;
	assert_int_equal(rw, 1);
	assert_int_equal(f->plan.writable.len, 1);
	assert_string_equal(f->plan.writable.items[0], f->ws);
	assert_int_equal(f->plan.uid, 4321);
	assert_int_equal(f->plan.gid, 8765);
	expect(f, MOUNT_TMPFS, f->home, NULL, false);
}

static void test_system_entries(void **state)
{
	struct fixture *f = *state;
	const struct mount_entry *e;

	plan(f);
	e = find(&f->plan, MOUNT_BIND_RO, "/usr");
	assert_true(e && e->is_dir);
	assert_non_null(find(&f->plan, MOUNT_DEV, "/dev"));
	assert_non_null(find(&f->plan, MOUNT_PROC, "/proc"));
	assert_non_null(find(&f->plan, MOUNT_TMPFS, "/tmp"));
	assert_non_null(find(&f->plan, MOUNT_TMPFS, "/run"));
	/* the host's own /tmp, /proc, /dev are never bound */
	assert_null(find(&f->plan, MOUNT_BIND_RO, "/tmp"));
	assert_null(find(&f->plan, MOUNT_BIND_RO, "/proc"));
	assert_null(find(&f->plan, MOUNT_BIND_RO, "/dev"));
}

static void test_protect_existing(void **state)
{
	struct fixture *f = *state;
	const struct mount_entry *e;

	plan(f);
	e = expect(f, MOUNT_BIND_RO, f->ws, ".bashrc", true);
	assert_false(e->is_dir);
	expect(f, MOUNT_BIND_RO, f->ws, ".git/config", true);
	expect_listed(&f->plan.protected_paths, "protected paths", f->ws,
		      ".bashrc", true);
	expect_listed(&f->plan.protected_paths, "protected paths", f->ws,
		      ".git/config", true);
}

static void test_protect_missing(void **state)
{
	struct fixture *f = *state;

	plan(f);
	expect_listed(&f->plan.protected_paths, "protected paths", f->ws,
		      ".git/hooks", true);
	expect_listed(&f->plan.protected_paths, "protected paths", f->ws,
		      ".vscode", true);
	/* nothing to bind where nothing exists; airlock creates nothing */
	expect(f, MOUNT_BIND_RO, f->ws, ".git/hooks", false);
	expect(f, MOUNT_BIND_RO, f->ws, ".vscode", false);
	expect_listed(&f->plan.protected_parents, "protected parents", f->ws,
		      ".git", true);
	assert_false(strv_contains(&f->plan.protected_parents, f->ws));
	assert_int_equal(f->plan.protected_parents.len, 1);
}

static void test_allow_git_config(void **state)
{
	struct fixture *f = *state;

	f->p.allow_git_config = true;
	plan(f);
	expect(f, MOUNT_BIND_RO, f->ws, ".git/config", false);
	expect_listed(&f->plan.protected_paths, "protected paths", f->ws,
		      ".git/config", false);
	/* the hooks stay protected */
	expect_listed(&f->plan.protected_paths, "protected paths", f->ws,
		      ".git/hooks", true);
	expect(f, MOUNT_BIND_RO, f->ws, ".bashrc", true);
}

static void test_protect_symlink(void **state)
{
	struct fixture *f = *state;
	const struct mount_entry *e;

	plan(f);
	/* .profile -> dotfiles/profile: the target is what becomes read-only */
	e = expect(f, MOUNT_BIND_RO, f->ws, "dotfiles/profile", true);
	assert_false(e->is_dir);
	expect(f, MOUNT_BIND_RO, f->ws, ".profile", false);
	expect_listed(&f->plan.protected_paths, "protected paths", f->ws,
		      ".profile", true);
	expect_listed(&f->plan.protected_paths, "protected paths", f->ws,
		      "dotfiles/profile", true);
	/* .zshrc -> <home>/zshrc lies outside every writable root */
	expect(f, MOUNT_BIND_RO, f->home, "zshrc", false);
	expect_listed(&f->plan.protected_paths, "protected paths", f->home,
		      "zshrc", false);
	expect_listed(&f->plan.protected_paths, "protected paths", f->ws,
		      ".zshrc", true);
}

static void test_settings_files_protected(void **state)
{
	struct fixture *f = *state;

	plan(f);
	expect(f, MOUNT_BIND_RO, f->ws, "custom.json", true);
	expect_listed(&f->plan.protected_paths, "protected paths", f->ws,
		      "custom.json", true);
	expect_listed(&f->plan.protected_paths, "protected paths", f->home,
		      "settings.json", false);
}

/* Started by root: the home folder, out of the sandbox's reach, is scratch. */
static void test_as_root(void **state)
{
	struct fixture *f = *state;

	f->ids = (struct sandbox_ids){
		.as_root = true,
		.inside_uid = SANDBOX_ROOT_INSIDE_ID,
		.inside_gid = SANDBOX_ROOT_INSIDE_ID,
	};
	plan(f);
	expect(f, MOUNT_TMPFS, f->home, NULL, true);
	assert_int_equal(f->plan.uid, SANDBOX_ROOT_INSIDE_ID);
	assert_int_equal(f->plan.gid, SANDBOX_ROOT_INSIDE_ID);
}

static void test_ids_init(void **state)
{
	struct sandbox_ids ids;

	sandbox_ids_init(&ids);
	assert_int_equal(ids.outside_uid, getuid());
	assert_int_equal(ids.outside_gid, getgid());
	assert_int_equal(ids.as_root, getuid() == 0);
	if (ids.as_root) {
		assert_int_equal(ids.inside_uid, SANDBOX_ROOT_INSIDE_ID);
	} else {
		assert_int_equal(ids.inside_uid, getuid());
		assert_int_equal(ids.inside_gid, getgid());
	}
}

static void test_print(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *mask_line = NULL, *rw_line = NULL;
	char *text = NULL;
	size_t len = 0;
	FILE *out;

	plan(f);
	out = open_memstream(&text, &len);
	assert_non_null(out);
	mount_plan_print(&f->plan, out);
	assert_int_equal(fclose(out), 0);

	mask_line = xasprintf("mask     %s/.env (empty file)", f->ws);
	rw_line = xasprintf("rw-bind  %s\n", f->ws);
	if (!strstr(text, mask_line) || !strstr(text, rw_line) ||
	    !strstr(text, "protected") || !strstr(text, "/.git/hooks\n"))
		fail_msg("plan printed as:\n%s", text);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_masks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_workspace_writable, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_system_entries, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_protect_existing, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_protect_missing, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_allow_git_config, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_protect_symlink, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_settings_files_protected,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_as_root, setup, teardown),
		cmocka_unit_test(test_ids_init),
		cmocka_unit_test_setup_teardown(test_print, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
