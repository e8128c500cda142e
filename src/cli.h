/* SPDX-License-Identifier: Apache-2.0 */
/* The subcommands of the airlock binary; each returns an exit status. */
#ifndef AIRLOCK_CLI_H
#define AIRLOCK_CLI_H

#include <stdbool.h>
#include <stdio.h>

int cli_run(int argc, char **argv);
int cli_check(int argc, char **argv);
int cli_gateway(int argc, char **argv);

/* The text of `airlock --help`, kept in step with man/airlock.1. */
void cli_print_usage(FILE *f);

/* Reports a usage error with a pointer to --help; returns exit status 2. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Parses a --memory-style size or a count; 0 or -EINVAL. */
int cli_parse_limit(const char *opt, const char *arg, bool is_size,
		    unsigned long long *out);

#endif
