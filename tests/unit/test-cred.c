/* SPDX-License-Identifier: Apache-2.0 */
/* Placeholders and the path checks of request rules and credentials. */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gateway/gw.h"

static int char_class(char c)
{
	if (c >= '0' && c <= '9')
		return 1;
	if (c >= 'a' && c <= 'z')
		return 2;
	if (c >= 'A' && c <= 'Z')
		return 3;
	return 0;
}

static void placeholder_keeps_shape(void **state)
{
	static const char *const values[] = {
		"sk-ant-api03-AbCdEfGh0123456789ZyXwVuTsRqPoNmLkJi-_xyz",
		"ghp_0123456789abcdefABCDEF0123456789abcd",
		"xoxb-1234567890-abcdefghijklmnopqrstuvwx",
		"AKIAIOSFODNN7EXAMPLEKEY",
		"github_pat_11ABCDEFG0123456789abcdefghijklmnopqrstuvwxyzABCDEFGH",
		/* the key's own text is not taken for a prefix */
		"sk-ant-api03-abc_defghijklmnopqrstuvwxyz0123456789ABCDEFGHIJ",
		"Xk-ant-api03-abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJ",
	};
	static const char *const prefixes[] = {
		"sk-ant-api03-", "ghp_", "xoxb-", "", "github_pat_",
		"sk-ant-api03-", "",
	};

	for (size_t i = 0; i < sizeof(values) / sizeof(*values); i++) {
		const char *v = values[i];
		size_t len = strlen(v), keep = strlen(prefixes[i]);
		char *p = NULL, *q = NULL;

		assert_int_equal(gw_placeholder_make(v, len,
						     GW_PLACEHOLDER_RANDOM_MIN,
						     &p), 0);
		assert_int_equal(gw_placeholder_make(v, len,
						     GW_PLACEHOLDER_RANDOM_MIN,
						     &q), 0);
		assert_int_equal(strlen(p), len);
		assert_memory_equal(p, v, keep);
		/* after the prefix, letters and digits are drawn anew */
		size_t same = 0, drawn = 0;

		for (size_t j = keep; j < len; j++) {
			if (!char_class(v[j]))
				continue;
			drawn++;
			same += p[j] == v[j];
		}
		assert_true(same * 2 < drawn);
		assert_string_not_equal(p, v);
		assert_string_not_equal(p, q); /* drawn anew each time */
		for (size_t j = 0; j < len; j++)
			assert_int_equal(char_class(p[j]), char_class(v[j]));
		free(p);
		free(q);
	}
}

static void placeholder_needs_randomness(void **state)
{
	char *p = NULL;

	/* a prefix and too few letters or digits after it */
	assert_int_equal(gw_placeholder_make("sk-ant-api03-abc", 16,
					     GW_PLACEHOLDER_RANDOM_MIN, &p),
			 -EINVAL);
	assert_int_equal(gw_placeholder_make("short", 5,
					     GW_PLACEHOLDER_RANDOM_MIN, &p),
			 -EINVAL);
	assert_int_equal(gw_placeholder_make("----------------------", 22, 1,
					     &p),
			 -EINVAL);
	assert_null(p);
	/* a mask for an injected value's echoes needs one random draw */
	assert_int_equal(gw_placeholder_make("short", 5, 1, &p), 0);
	assert_int_equal(strlen(p), 5);
	assert_string_not_equal(p, "short");
	free(p);
}

static bool plain(const char *p)
{
	return gw_path_plain(p, strlen(p));
}

static void paths_that_mean_one_thing(void **state)
{
	assert_true(plain("/v1/messages"));
	assert_true(plain("/v1/messages?beta=true"));
	assert_true(plain("/a.b/c..d/.e"));
	assert_true(plain("/v1/x?next=/../..//")); /* the query is not a path */
	assert_false(plain("/v1/../admin"));
	assert_false(plain("/v1/.."));
	assert_false(plain("/v1/./messages"));
	assert_false(plain("/v1/."));
	assert_false(plain("/v1//messages"));
	assert_false(plain("/v1/%2e%2e/admin"));
	assert_false(plain("/v1%2Fmessages"));
	assert_false(plain("/v1/%5cadmin"));
	assert_false(plain("/v1\\admin"));
}

static bool under(const char *p, const char *prefix)
{
	return gw_path_under(p, strlen(p), prefix);
}

static void prefixes_end_at_segments(void **state)
{
	assert_true(under("/v1/messages", "/v1/messages"));
	assert_true(under("/v1/messages/count_tokens", "/v1/messages"));
	assert_true(under("/v1/messages?x=1", "/v1/messages"));
	assert_true(under("/v1/anything", "/v1/"));
	assert_false(under("/v1/messagesX", "/v1/messages"));
	assert_false(under("/v1/message", "/v1/messages"));
	assert_false(under("/v2/messages", "/v1/"));
	assert_true(under("/", "/"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(placeholder_keeps_shape),
		cmocka_unit_test(placeholder_needs_randomness),
		cmocka_unit_test(paths_that_mean_one_thing),
		cmocka_unit_test(prefixes_end_at_segments),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
