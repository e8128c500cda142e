/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the lexical path helpers in src/common/path.c, which the
 * policy uses to resolve every path of a settings file.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "common/path.h"
#include "common/util.h"

struct absolute_case {
	const char *path;
	const char *base;
	const char *home;
	const char *want; /* NULL: refused */
};

static void test_absolute(void **state)
{
	static const struct absolute_case cases[] = {
		{ "/a/b", "/base", "/h", "/a/b" },
		{ "/a//b/./c/", "/base", "/h", "/a/b/c" },
		{ "/a/b/../c", NULL, NULL, "/a/c" },
		{ "/../../x", NULL, NULL, "/x" },
		{ "/..", NULL, NULL, "/" },
		{ "/", NULL, NULL, "/" },
		{ "///", NULL, NULL, "/" },
		{ "rel", "/base", "/h", "/base/rel" },
		{ ".", "/base/", "/h", "/base" },
		{ "./x/../y", "/base", "/h", "/base/y" },
		{ "../up", "/base/dir", "/h", "/base/up" },
		{ "../../../up", "/base", "/h", "/up" },
		{ "~", "/base", "/home/u", "/home/u" },
		{ "~/", "/base", "/home/u/", "/home/u" },
		{ "~/.ssh", "/base", "/home/u", "/home/u/.ssh" },
		{ "~/a/../b", "/base", "/home/u", "/home/u/b" },
		{ "~user/x", "/base", "/home/u", "/base/~user/x" },
		{ "src/*.[ch]", "/base", "/h", "/base/src/*.[ch]" },
		{ "~/*/?x", "/base", "/h", "/h/*/?x" },
		{ "...", "/base", "/h", "/base/..." },
		{ "", "/base", "/h", NULL },
		{ NULL, "/base", "/h", NULL },
		{ "~/x", "/base", NULL, NULL },
		{ "~", "/base", "relative", NULL },
		{ "rel", NULL, "/h", NULL },
		{ "rel", "not/absolute", "/h", NULL },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct absolute_case *c = &cases[i];
		char *got = path_absolute(c->path, c->base, c->home);

		if (!c->want && got)
			fail_msg("case %zu (%s): want NULL, got %s", i,
				 c->path, got);
		if (c->want && (!got || !streq(got, c->want)))
			fail_msg("case %zu (%s): want %s, got %s", i,
				 c->path, c->want, got ? got : "NULL");
		free(got);
	}
}

static void test_join(void **state)
{
	char *s;

	s = path_join("/a", "b");
	assert_string_equal(s, "/a/b");
	free(s);
	s = path_join("/a///", "//b/c");
	assert_string_equal(s, "/a/b/c");
	free(s);
	s = path_join("/", "x");
	assert_string_equal(s, "/x");
	free(s);
	s = path_join("/a", "");
	assert_string_equal(s, "/a/");
	free(s);
}

static void test_is_within(void **state)
{
	assert_true(path_is_within("/a/b", "/a/b"));
	assert_true(path_is_within("/a/b/c", "/a/b"));
	assert_false(path_is_within("/a/bc", "/a/b"));
	assert_false(path_is_within("/a", "/a/b"));
	assert_false(path_is_within("/x/a/b", "/a/b"));
	assert_true(path_is_within("/anything", "/"));
	assert_true(path_is_within("/", "/"));
}

static void test_basename_dirname(void **state)
{
	char *d;

	assert_string_equal(path_basename("/a/b/c"), "c");
	assert_string_equal(path_basename("/a"), "a");
	assert_string_equal(path_basename("/"), "");
	assert_string_equal(path_basename("plain"), "plain");

	d = path_dirname("/a/b/c");
	assert_string_equal(d, "/a/b");
	free(d);
	d = path_dirname("/a");
	assert_string_equal(d, "/");
	free(d);
	d = path_dirname("/");
	assert_string_equal(d, "/");
	free(d);
}

struct state_case {
	const char *state_home;
	const char *home;
	const char *want; /* NULL: no state folder */
};

static void test_state_file(void **state)
{
	static const struct state_case cases[] = {
		{ "/xdg", "/home/u", "/xdg/airlock/log" },
		{ "/xdg//state/", "/home/u", "/xdg/state/airlock/log" },
		{ NULL, "/home/u", "/home/u/.local/state/airlock/log" },
		{ "", "/home/u/", "/home/u/.local/state/airlock/log" },
		{ "relative", "/home/u", "/home/u/.local/state/airlock/log" },
		{ "/xdg", NULL, "/xdg/airlock/log" },
		{ NULL, NULL, NULL },
		{ "relative", "also/relative", NULL },
		{ "", "", NULL },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct state_case *c = &cases[i];
		char *got = path_state_file(c->state_home, c->home, "log");

		if (!c->want && got)
			fail_msg("case %zu: want NULL, got %s", i, got);
		if (c->want && (!got || !streq(got, c->want)))
			fail_msg("case %zu: want %s, got %s", i, c->want,
				 got ? got : "NULL");
		free(got);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_absolute),
		cmocka_unit_test(test_join),
		cmocka_unit_test(test_is_within),
		cmocka_unit_test(test_basename_dirname),
		cmocka_unit_test(test_state_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
