/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The helpers of the policy loader's unit tests (policy-helpers.h): loads
 * with a fixed workspace and home folder, and checks of what comes out.
 */
#include "config.h"

#include "policy-helpers.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "policy/policy-internal.h"
#include "policy/policy.h"

static const char *data_dir(void)
{
	const char *d = getenv("AIRLOCK_TEST_DATA");

	return d ? d : "tests/unit/data";
}

char *data_path(const char *name)
{
	return xasprintf("%s/%s", data_dir(), name);
}

size_t count_of(const char *const *list)
{
	size_t n = 0;

	while (list[n])
		n++;
	return n;
}

int load_files(struct policy *p, struct policy_errors *errs,
	       const char *profile, const char *first, ...)
{
	const char *files[8] = { NULL };
	char *owned[8] = { NULL };
	struct policy_load_opts opts = {
		.profile = profile,
		.files = files,
		.workspace = WS,
		.home = HOME,
	};
	size_t n = 0;
	va_list ap;
	int r;

	va_start(ap, first);
	for (const char *f = first; f && n < 7; f = va_arg(ap, const char *)) {
		owned[n] = data_path(f);
		files[n] = owned[n];
		n++;
	}
	va_end(ap);
	r = policy_load(p, &opts, errs);
	for (size_t i = 0; i < n; i++)
		free(owned[i]);
	return r;
}

int load_text(struct policy *p, struct policy_errors *errs, const char *text)
{
	struct policy_load_opts opts = { .workspace = WS, .home = HOME };

	return policy_load_buffer(p, &opts, "test.json", text, strlen(text),
				  errs);
}

const struct policy_error *error_for(const struct policy_errors *errs,
				     const char *key)
{
	for (size_t i = 0; i < errs->len; i++)
		if (errs->items[i].key && streq(errs->items[i].key, key))
			return &errs->items[i];
	return NULL;
}

void assert_error(const struct policy_errors *errs, const char *key, int line,
		  int column, const char *text)
{
	const struct policy_error *e = error_for(errs, key);

	/* cmocka's failures are not marked noreturn: return explicitly */
	if (!e) {
		fail_msg("no error for key %s", key);
		return;
	}
	if (e->line != line || e->column != column)
		fail_msg("%s: at %d:%d, not %d:%d (%s)", key, e->line,
			 e->column, line, column, e->message);
	if (!strstr(e->message, text))
		fail_msg("%s: \"%s\" lacks \"%s\"", key, e->message, text);
}

char *errors_text(const struct policy_errors *errs)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	policy_errors_print(errs, f);
	fclose(f);
	return buf;
}

char *policy_text(const struct policy *p)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	policy_print(p, f);
	fclose(f);
	return buf;
}

void assert_list(const struct strv *v, const char *const *want)
{
	size_t n = count_of(want);

	for (size_t i = 0; i < n && i < v->len; i++)
		assert_string_equal(v->items[i], want[i]);
	assert_int_equal(v->len, n);
}
