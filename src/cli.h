/* SPDX-License-Identifier: Apache-2.0 */
/* The subcommands of the airlock binary; each returns an exit status. */
#ifndef AIRLOCK_CLI_H
#define AIRLOCK_CLI_H

#include <stdbool.h>
#include <stdio.h>

int cli_run(int argc, char **argv);
int cli_check(int argc, char **argv);
int cli_gateway(int argc, char **argv);
int cli_audit(int argc, char **argv);
/*
 * `airlock runs`, `diff`, `apply` and `discard`: argv[0] names which.
 * Returns 0; 1 when the command was refused or could not finish (a run
 * still active, conflicts, protected paths skipped, a workspace moved);
 * 2 for a usage error or a run that cannot be found.
 */
int cli_review(int argc, char **argv);
/*
 * `airlock ca [show | path | export [FILE] | rotate]`: the user's CA.
 * Returns 0; 1 when the CA cannot be made, read or written; 2 for a
 * usage error.
 */
int cli_ca(int argc, char **argv);

/*
 * The audit log a run or the gateway service appends to, as a new string
 * the caller frees, or NULL for none. given is --audit's value, else
 * audit.file, else NULL; "none" turns the log off. Without one, it is the
 * default file under the user's state folder ($XDG_STATE_HOME, else
 * home/.local/state), and when prepare is true its folders are created
 * (mode 0700) and checked first. If that fails, a warning says why and
 * the result is NULL: the log is a record, not a boundary, so the run
 * goes on without it. Not for use after fork.
 */
char *cli_audit_file(const char *given, const char *home, bool prepare);

/* The text of `airlock --help`, kept in step with man/airlock.1. */
void cli_print_usage(FILE *f);

/* Reports a usage error with a pointer to --help; returns exit status 2. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Parses a --memory-style size or a count; 0 or -EINVAL. */
int cli_parse_limit(const char *opt, const char *arg, bool is_size,
		    unsigned long long *out);

#endif
