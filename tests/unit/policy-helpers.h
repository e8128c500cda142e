/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the unit tests of the policy loader share (test-policy.c and
 * test-policy-credentials.c): loading settings, from the files of
 * $AIRLOCK_TEST_DATA or from text, with the workspace WS and the home
 * folder HOME, and checking the errors, lists and output that result.
 * The checks fail the running cmocka test.
 */
#ifndef AIRLOCK_TESTS_POLICY_HELPERS_H
#define AIRLOCK_TESTS_POLICY_HELPERS_H

#include <stddef.h>

#include "common/strv.h"
#include "policy/policy.h"

#define WS "/w/proj"
#define HOME "/home/u"

/* The path of name in $AIRLOCK_TEST_DATA (tests/unit/data). Caller frees. */
char *data_path(const char *name);

/* The number of entries of a NULL-terminated list. */
size_t count_of(const char *const *list);

/*
 * Loads the named data files (NULL-terminated, at most 7) over profile
 * (NULL for the workspace profile). Returns what policy_load returns.
 */
int load_files(struct policy *p, struct policy_errors *errs,
	       const char *profile, const char *first, ...);

/* Loads text as the only settings, named "test.json" in messages. */
int load_text(struct policy *p, struct policy_errors *errs, const char *text);

/* The error recorded for key, or NULL. */
const struct policy_error *error_for(const struct policy_errors *errs,
				     const char *key);

/* Fails unless the error for key stands at line:column and holds text. */
void assert_error(const struct policy_errors *errs, const char *key, int line,
		  int column, const char *text);

/* errs, and p, as airlock prints them. Caller frees. */
char *errors_text(const struct policy_errors *errs);
char *policy_text(const struct policy *p);

/* Fails unless v holds exactly the NULL-terminated list want, in order. */
void assert_list(const struct strv *v, const char *const *want);

#endif
