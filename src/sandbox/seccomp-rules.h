/* SPDX-License-Identifier: Apache-2.0 */
/* Build-time rules of CMD's seccomp filters; see seccomp-rules.c. */
#ifndef AIRLOCK_SECCOMP_RULES_H
#define AIRLOCK_SECCOMP_RULES_H

#include <seccomp.h>
#include <stdbool.h>
#include <stdio.h>

/* The deny filter; unix_sockets allows socket(AF_UNIX). NULL on error. */
scmp_filter_ctx seccomp_rules_deny(bool unix_sockets);
/* The filter that routes calls creating names to init. NULL on error. */
scmp_filter_ctx seccomp_rules_notify(void);
/* Describes both filters in words, for --dry-run. */
void seccomp_rules_describe(bool unix_sockets, FILE *f);

#endif
