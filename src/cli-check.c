/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `airlock check`: loads the settings exactly as `airlock run` would and
 * prints the effective policy, or every error with its position.
 */
#include "config.h"

#include <getopt.h>
#include <stdlib.h>

#include "cli.h"
#include "common/util.h"
#include "policy/policy.h"

static const struct option check_options[] = {
	{ "settings", required_argument, NULL, 's' },
	{ "profile", required_argument, NULL, 'p' },
	{ "workspace", required_argument, NULL, 'w' },
	{ "no-user-settings", no_argument, NULL, 'n' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

int cli_check(int argc, char **argv)
{
	struct policy_load_opts opts = { 0 };
	struct policy_errors errs = { 0 };
	struct strv files = { 0 };
	struct policy p = { 0 };
	int c, r = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+h", check_options, NULL)) != -1) {
		switch (c) {
		case 's':
			strv_push(&files, optarg);
			break;
		case 'p':
			opts.profile = optarg;
			break;
		case 'w':
			opts.workspace = optarg;
			break;
		case 'n':
			opts.no_user_settings = true;
			break;
		case 'h':
			cli_print_usage(stdout);
			strv_clear(&files);
			return 0;
		default:
			strv_clear(&files);
			return AIRLOCK_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		strv_clear(&files);
		return cli_usage_error("check takes no command ('%s')",
				       argv[optind]);
	}

	opts.files = files.len ? (const char *const *)files.items : NULL;
	if (policy_load(&p, &opts, &errs) < 0) {
		policy_errors_print(&errs, stderr);
		policy_errors_free(&errs);
		r = AIRLOCK_EXIT_USAGE;
	} else {
		policy_print(&p, stdout);
		policy_free(&p);
	}
	strv_clear(&files);
	return r;
}
