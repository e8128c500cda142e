/* SPDX-License-Identifier: Apache-2.0 */
/*
 * airlock: a sandbox for AI agents. This file only dispatches to the
 * subcommands; `airlock CMD` without `run` is refused with a hint rather
 * than guessed, so that a typo never runs anything unsandboxed or twice.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "common/log.h"
#include "common/util.h"
#include "policy/policy.h"

static const char usage_text[] =
	"usage: airlock run [OPTIONS] [--] CMD [ARGS...]\n"
	"       airlock run [OPTIONS] -c 'COMMAND STRING'\n"
	"       airlock check [--settings FILE]... [--profile NAME]\n"
	"       airlock gateway [--socket PATH] [--listen HOST:PORT] [OPTIONS]\n"
	"       airlock audit [--summary] [--denied] [--run ID] [FILE]\n"
	"       airlock runs [--prune [--older-than DAYS] [--force]]\n"
	"       airlock diff [RUN] [-p | --patch | --stat]\n"
	"       airlock apply [RUN] [PATH...] [--force]\n"
	"       airlock discard [RUN]\n"
	"       airlock ca [show | path | export [FILE] | rotate]\n"
	"       airlock help | -h | --help | --version\n"
	"\n"
	"Runs CMD in a sandbox: its own user, mount, pid, net, ipc, uts and\n"
	"cgroup namespaces; the system read-only, the workspace (the current\n"
	"folder) writable, credential files masked, protected files read-only;\n"
	"no capabilities, no_new_privs, seccomp, Landlock, resource limits.\n"
	"\n"
	"run options:\n"
	"  --settings FILE     settings file (JSON); may be repeated, later wins\n"
	"  -c STRING           run STRING with /bin/sh -c\n"
	"  --profile NAME      built-in profile: workspace (default), readonly,\n"
	"                      claude-code\n"
	"  --workspace DIR     the writable folder (default: the current one)\n"
	"  --no-user-settings  ignore ~/.config/airlock/settings.json and\n"
	"                      ~/.srt-settings.json\n"
	"  --env NAME          pass NAME from the environment, even if it looks\n"
	"                      like a secret\n"
	"  --env NAME=VALUE    set NAME inside\n"
	"  --memory SIZE       memory limit (e.g. 512M, 4G)\n"
	"  --processes N       process limit\n"
	"  --cpu SECONDS       CPU time limit per process\n"
	"  --open-files N      open file limit per process\n"
	"  --file-size SIZE    largest file CMD may write\n"
	"  --timeout SECONDS   wall-clock limit for the whole run\n"
	"  --workspace-mode MODE  live (default): writes land in the workspace;\n"
	"                      overlay: they are kept for review (diff, apply,\n"
	"                      discard); tmpfs: they vanish at exit; ro: none\n"
	"  --gateway SOCKET    use a shared `airlock gateway` instead of starting\n"
	"                      one for this run\n"
	"  --audit FILE        append the gateway's audit records (JSON lines)\n"
	"                      to FILE instead of the default,\n"
	"                      $XDG_STATE_HOME/airlock/audit.jsonl or\n"
	"                      ~/.local/state/airlock/audit.jsonl; 'none': no log\n"
	"  --dry-run           print the mount plan and filters; run nothing\n"
	"  -v, --verbose       notes on stderr (twice: debug)\n"
	"\n"
	"gateway options (the gateway alone, as a service):\n"
	"  --socket PATH       serve runs started with --gateway PATH\n"
	"  --listen HOST:PORT  also serve as an HTTP and SOCKS5 proxy there\n"
	"  --tokens FILE       client tokens for --listen (NAME TOKEN lines);\n"
	"                      required beyond loopback\n"
	"  --settings FILE, --no-user-settings, --audit FILE, -v: as for run;\n"
	"                      the settings are the ceiling of every run\n"
	"\n"
	"audit options (FILE: by default, the log that run writes; '-': stdin):\n"
	"  --summary           per host and port: connections, requests, denials,\n"
	"                      bytes up and down, and a total\n"
	"  --denied            only the denials\n"
	"  --run ID            only the records of run ID\n"
	"\n"
	"ca (the CA that signs the certificates the gateway shows where it\n"
	"terminates TLS; made on first use in $XDG_STATE_HOME/airlock/ca or\n"
	"~/.local/state/airlock/ca):\n"
	"  show                its path, subject, SHA-256 fingerprint and\n"
	"                      validity (the default)\n"
	"  path                the certificate's path\n"
	"  export [FILE]       the certificate (PEM) on stdout or into FILE\n"
	"  rotate              a new key and certificate replace the old; runs\n"
	"                      started earlier keep the old one until they end\n"
	"\n";

/* Split from usage_text: C17 compilers need not take longer literals. */
static const char usage_review_text[] =
	"review (of an overlay run; RUN: an id that 'airlock runs' lists, or its\n"
	"last 8 hex digits; by default the latest overlay run of the current\n"
	"folder that is finished and neither applied nor discarded):\n"
	"  runs                list the runs: id, status, mode, pending changes,\n"
	"                      start, command\n"
	"  --prune             runs: remove the finished runs that have no\n"
	"                      pending changes\n"
	"  --older-than DAYS   runs --prune: only those started DAYS days ago or\n"
	"                      earlier\n"
	"  --force             runs --prune: pending changes or not; apply:\n"
	"                      protected paths too\n"
	"  -p, --patch         diff: unified diffs (text), not just the list\n"
	"  --stat              diff: lines added and removed per file\n"
	"  apply               writes the changes (or those at and beneath each\n"
	"                      PATH) into the workspace, each file atomically;\n"
	"                      refuses everything if the workspace changed there\n"
	"                      since the run started; skips protected paths\n"
	"  discard             drops the changes\n"
	"\n"
	"Exit status: CMD's own; 128+N if CMD was killed by signal N; 2 for a\n"
	"usage or settings error; 124 when --timeout expired; 125 when the\n"
	"sandbox could not be set up; 126 when CMD cannot be executed; 127 when\n"
	"CMD is not found. audit: 0; 1 when malformed lines were skipped; 2 for\n"
	"a usage error or a log that cannot be read. runs, diff, apply, discard:\n"
	"0; 1 when refused or not finished (an active run, a conflict, protected\n"
	"paths skipped, a workspace moved); 2 for a usage error or no such run.\n"
	"ca: 0; 1 when the CA cannot be made, read or written; 2 for a usage\n"
	"error.\n";

void cli_print_usage(FILE *f)
{
	fputs(usage_text, f);
	fputs(usage_review_text, f);
}

int cli_usage_error(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_error("%s (see 'airlock --help')", msg);
	return AIRLOCK_EXIT_USAGE;
}

int main(int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : NULL;

	if (!sub) {
		cli_print_usage(stderr);
		return AIRLOCK_EXIT_USAGE;
	}
	if (streq(sub, "run"))
		return cli_run(argc - 1, argv + 1);
	if (streq(sub, "check"))
		return cli_check(argc - 1, argv + 1);
	if (streq(sub, "gateway"))
		return cli_gateway(argc - 1, argv + 1);
	if (streq(sub, "audit"))
		return cli_audit(argc - 1, argv + 1);
	if (streq(sub, "ca"))
		return cli_ca(argc - 1, argv + 1);
	if (streq(sub, "runs") || streq(sub, "diff") || streq(sub, "apply") ||
	    streq(sub, "discard"))
		return cli_review(argc - 1, argv + 1);
	if (streq(sub, "help") || streq(sub, "--help") || streq(sub, "-h")) {
		cli_print_usage(stdout);
		return 0;
	}
	if (streq(sub, "--version") || streq(sub, "version")) {
		printf("airlock %s\n", AIRLOCK_VERSION);
		return 0;
	}
	if (sub[0] == '-')
		return cli_usage_error("unknown option '%s'", sub);
	{
		char safe[256];

		log_sanitize(safe, sizeof(safe), sub);
		return cli_usage_error("'%s' is not an airlock command; to run it "
				       "in the sandbox, write: airlock run -- %s",
				       safe, safe);
	}
}
