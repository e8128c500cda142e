/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the settings parser: each input is one settings
 * file, loaded over the default profile with a fixed workspace and home
 * so that nothing is read from the file system or the environment. The
 * effective policy and the errors are printed to /dev/null to exercise
 * the printers as well. The position index is also fed the raw bytes,
 * valid JSON or not, since it promises never to read past its input.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "policy/policy-internal.h"
#include "policy/policy.h"
#include "fuzz.h"

static FILE *sink(void)
{
	static FILE *null_out;

	if (!null_out)
		null_out = fopen("/dev/null", "w");
	return null_out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct policy_load_opts opts = {
		.workspace = "/work/project",
		.home = "/home/fuzz",
	};
	struct policy_errors errs = { 0 };
	struct policy_index idx = { 0 };
	struct policy p;
	FILE *out = sink();
	int line, column;

	policy_index_build(&idx, (const char *)data, size);
	(void)policy_index_find(&idx, "network.allowedDomains[0]", &line,
				&column);
	policy_index_free(&idx);

	if (policy_load_buffer(&p, &opts, "fuzz.json", (const char *)data,
			       size, &errs) == 0) {
		if (out)
			policy_print(&p, out);
		policy_free(&p);
	}
	if (out)
		policy_errors_print(&errs, out);
	policy_errors_free(&errs);
	return 0;
}
