/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `airlock gateway`: the gateway alone, as a long-lived service for runs
 * started with `airlock run --gateway SOCKET`, and as an HTTP and SOCKS5
 * egress proxy on a TCP address for containers and VMs. Its settings are
 * the ceiling of every run attached to it.
 */
#include "config.h"

#include <getopt.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli.h"
#include "common/log.h"
#include "common/util.h"
#include "gateway/gateway.h"
#include "policy/policy.h"

static const struct option gateway_options[] = {
	{ "socket", required_argument, NULL, 'S' },
	{ "listen", required_argument, NULL, 'l' },
	{ "tokens", required_argument, NULL, 't' },
	{ "settings", required_argument, NULL, 's' },
	{ "no-user-settings", no_argument, NULL, 'n' },
	{ "audit", required_argument, NULL, 'a' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

struct gateway_request {
	struct gateway_serve_opts serve;
	struct policy_load_opts load;
	struct strv files;
	int verbosity;
};

static int gateway_option(struct gateway_request *rq, int c)
{
	switch (c) {
	case 'S':
		rq->serve.socket_path = optarg;
		return 0;
	case 'l':
		rq->serve.listen = optarg;
		return 0;
	case 't':
		rq->serve.tokens_path = optarg;
		return 0;
	case 's':
		strv_push(&rq->files, optarg);
		return 0;
	case 'n':
		rq->load.no_user_settings = true;
		return 0;
	case 'a':
		rq->serve.audit_path = optarg;
		return 0;
	case 'v':
		rq->verbosity++;
		return 0;
	case 'h':
		cli_print_usage(stdout);
		exit(0);
	default:
		return AIRLOCK_EXIT_USAGE;
	}
}

int cli_gateway(int argc, char **argv)
{
	struct gateway_request rq = { 0 };
	struct policy_errors errs = { 0 };
	struct policy p = { 0 };
	_cleanup_free_ char *audit = NULL;
	int c, r = 0;

	/* a long-lived service keeps nothing its starter left open (a pipe
	 * its starter waits on to close, say) */
	close_range(3, ~0U, 0);
	optind = 1;
	while (r == 0 &&
	       (c = getopt_long(argc, argv, "+vh", gateway_options, NULL)) != -1)
		r = gateway_option(&rq, c);
	if (r == 0 && optind < argc)
		r = cli_usage_error("gateway takes no command ('%s')",
				    argv[optind]);
	if (r != 0)
		goto out;
	log_set_level(rq.verbosity > 1 ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO);
	rq.load.files = rq.files.len ? (const char *const *)rq.files.items :
				       NULL;
	if (policy_load(&p, &rq.load, &errs) < 0) {
		policy_errors_print(&errs, stderr);
		policy_errors_free(&errs);
		r = AIRLOCK_EXIT_USAGE;
		goto out;
	}
	if (p.n_credentials || p.n_request_rules || p.n_routes) {
		/* the service applies none of them: fail rather than pass
		 * requests the settings meant to rule */
		log_error("credentials, request rules and routes are applied "
			  "only by a run's own gateway, not by airlock "
			  "gateway; remove them from its settings");
		policy_free(&p);
		r = AIRLOCK_EXIT_USAGE;
		goto out;
	}
	rq.serve.policy = &p;
	audit = cli_audit_file(rq.serve.audit_path ? rq.serve.audit_path :
			       p.audit_file, p.home, true);
	rq.serve.audit_path = audit;
	r = gateway_serve(&rq.serve);
	policy_free(&p);
out:
	strv_clear(&rq.files);
	return r;
}
