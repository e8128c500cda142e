/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The supervisor of `airlock run`: outside the sandbox, with the caller's
 * privileges. It plans the root, creates the sandbox's init in new user,
 * mount, pid, net, ipc, uts and cgroup namespaces, writes its id maps,
 * relays the terminal, forwards signals, enforces the wall-clock timeout
 * and returns CMD's exit status. If the supervisor dies, even by SIGKILL,
 * init dies with it (parent-death signal) and the kernel ends every process
 * of the pid namespace; nothing was written outside, so nothing is left.
 */
#include "config.h"

#include "sandbox/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "gateway/gateway.h"

#define SANDBOX_NAMESPACES (CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | \
			    CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | \
			    CLONE_NEWCGROUP)

/*
 * cfg->started runs once CMD has run this long: a command that ends sooner
 * never pays for it (its record is written once, at the end).
 */
#define SUPERVISOR_STARTED_DELAY_MS 50

static const int supervisor_signals[] = {
	SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCHLD,
};

struct supervisor {
	struct sandbox_config *cfg;
	struct sandbox_ids ids;
	struct mount_plan plan;
	struct limits_state limits;
	struct pty_relay pty;
	int sigfd;
	int sync_wr; /* open while we live: init watches it */
	pid_t init;    /* -1 once reaped */
	int ended_rd;  /* init's report of CMD's exit code, or -1 */
	pid_t gateway; /* -1: none, or a shared one */
	int gateway_peer; /* the gateway's channel end until it is forked */
	int gateway_keep; /* a shared gateway's channel: our run while open */
	char run_id[RUN_ID_MAX_BYTES]; /* made here unless the CLI gave one */
	sigset_t old_mask;
};

static pid_t clone_init(int cgroup_fd)
{
	struct clone_args args = {
		.flags = SANDBOX_NAMESPACES,
		.exit_signal = SIGCHLD,
	};

	if (cgroup_fd >= 0) {
		args.flags |= CLONE_INTO_CGROUP;
		args.cgroup = (uint64_t)cgroup_fd;
	}
	return (pid_t)syscall(SYS_clone3, &args, sizeof(args));
}

static int block_signals(struct supervisor *s)
{
	sigset_t mask;

	sigemptyset(&mask);
	for (size_t i = 0; i < ARRAY_SIZE(supervisor_signals); i++)
		sigaddset(&mask, supervisor_signals[i]);
	if (sigprocmask(SIG_BLOCK, &mask, &s->old_mask) < 0)
		return -errno;
	s->sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	return s->sigfd < 0 ? -errno : 0;
}

static const char *clone_hint(int err)
{
	if (err == EPERM || err == ENOSPC)
		return "; user namespaces may be disabled: check "
		       "/proc/sys/user/max_user_namespaces and "
		       "kernel.unprivileged_userns_clone or AppArmor's "
		       "apparmor_restrict_unprivileged_userns";
	return "";
}

/* Starts init and hands it its id maps. Returns 0 or an exit status. */
static int start_init(struct supervisor *s, int *ready_rd)
{
	int sync[2], ready[2];
	_cleanup_free_ char *cwd = getcwd(NULL, 0);
	struct init_args args = {
		.cfg = s->cfg, .plan = &s->plan, .ids = &s->ids,
		.pty_slave = s->pty.slave, .with_cgroup = !s->limits.use_rlimits,
	};

	if (!cwd || pipe2(sync, O_CLOEXEC) < 0 || pipe2(ready, O_CLOEXEC) < 0) {
		log_error_errno(errno, "cannot prepare the sandbox");
		return AIRLOCK_EXIT_SETUP;
	}
	args.cwd = cwd;
	args.sync_fd = sync[0];
	args.ready_fd = ready[1];

	s->init = clone_init(s->limits.cgroup_fd);
	if (s->init < 0) {
		int e = errno;

		log_error_errno(e, "cannot create the sandbox's namespaces%s",
				clone_hint(e));
		return AIRLOCK_EXIT_SETUP;
	}
	if (s->init == 0) {
		close(sync[1]);
		close(ready[0]);
		init_main(&args);
	}
	close(sync[0]);
	close(ready[1]);
	*ready_rd = ready[0];

	if (userns_write_maps(s->init, &s->ids) < 0 ||
	    write(sync[1], "M", 1) != 1) {
		log_error("cannot map the sandbox's user and group ids");
		kill(s->init, SIGKILL);
		close(sync[1]);
		return AIRLOCK_EXIT_SETUP;
	}
	s->sync_wr = sync[1];
	return 0;
}

/* Reaps init; returns its exit status. */
static int wait_init(struct supervisor *s)
{
	int status;
	pid_t r;

	while ((r = waitpid(s->init, &status, 0)) < 0 && errno == EINTR)
		;
	s->init = -1;
	if (r < 0)
		return AIRLOCK_EXIT_SETUP;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Handles one signal; returns true once init has ended. */
static bool on_signal(struct supervisor *s, int signo, int *status)
{
	int st;
	pid_t r;

	if (signo == SIGCHLD) {
		if (s->gateway > 0 && waitpid(s->gateway, &st, WNOHANG) ==
		    s->gateway) {
			log_error("the gateway exited; the sandbox has no way "
				  "out any more");
			s->gateway = -1;
		}
		r = waitpid(s->init, &st, WNOHANG);
		if (r != s->init)
			return false;
		s->init = -1;
		*status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		return true;
	}
	if (signo == SIGWINCH && s->pty.master >= 0) {
		pty_sync_size(&s->pty);
		return false;
	}
	kill(s->init, signo);
	return false;
}

static void drain_pty(struct supervisor *s)
{
	struct pollfd p = { .fd = s->pty.master, .events = POLLIN };

	while (s->pty.master >= 0 && poll(&p, 1, 0) > 0 && (p.revents & POLLIN))
		if (!pty_relay_out(&s->pty))
			break;
}

/*
 * Reads init's report of CMD's exit code into *status; returns false when
 * init closed the pipe without one (its own exit status will tell).
 */
static bool read_ended(struct supervisor *s, int *status)
{
	unsigned char code;
	ssize_t n;

	while ((n = read(s->ended_rd, &code, 1)) < 0 && errno == EINTR)
		;
	close(s->ended_rd);
	s->ended_rd = -1;
	if (n != 1)
		return false;
	*status = code;
	return true;
}

/*
 * Relays, forwards and waits until CMD's end is known (init reports it, or
 * init itself ends) or the timeout expires.
 */
static int supervise(struct supervisor *s)
{
	uint64_t timeout_s = s->cfg->policy->limits.timeout_seconds;
	int64_t deadline = timeout_s ? now_ms() + (int64_t)timeout_s * 1000 : 0;
	int64_t started_at = s->cfg->started ?
		now_ms() + SUPERVISOR_STARTED_DELAY_MS : 0;
	bool stdin_open = s->pty.master >= 0;
	int status = AIRLOCK_EXIT_SETUP;

	for (;;) {
		struct pollfd fds[4] = {
			{ .fd = s->sigfd, .events = POLLIN },
			{ .fd = s->pty.master, .events = POLLIN },
			{ .fd = stdin_open ? STDIN_FILENO : -1, .events = POLLIN },
			{ .fd = s->ended_rd, .events = POLLIN },
		};
		int wait_ms = -1;
		struct signalfd_siginfo si;

		if (deadline) {
			int64_t left = deadline - now_ms();

			if (left <= 0) {
				log_error("timeout: %llu s elapsed; stopping the "
					  "sandbox", (unsigned long long)timeout_s);
				kill(s->init, SIGKILL);
				(void)wait_init(s);
				return AIRLOCK_EXIT_TIMEOUT;
			}
			wait_ms = (int)(left > INT32_MAX ? INT32_MAX : left);
		}
		if (started_at) {
			int64_t left = started_at - now_ms();

			if (left <= 0) {
				s->cfg->started(s->cfg->hook_ctx);
				started_at = 0;
				continue;
			}
			if (wait_ms < 0 || left < wait_ms)
				wait_ms = (int)left;
		}
		if (poll(fds, ARRAY_SIZE(fds), wait_ms) < 0 && errno != EINTR)
			break;
		if ((fds[1].revents & (POLLIN | POLLHUP)) && !pty_relay_out(&s->pty))
			fds[1].fd = -1;
		if ((fds[2].revents & (POLLIN | POLLHUP)) && !pty_relay_in(&s->pty))
			stdin_open = false;
		while (read(s->sigfd, &si, sizeof(si)) == sizeof(si))
			if (on_signal(s, (int)si.ssi_signo, &status)) {
				drain_pty(s);
				return status;
			}
		/* nothing is left inside to write to the terminal */
		if ((fds[3].revents & (POLLIN | POLLHUP)) &&
		    read_ended(s, &status)) {
			drain_pty(s);
			return status;
		}
	}
	log_error_errno(errno, "supervisor loop failed");
	kill(s->init, SIGKILL);
	(void)wait_init(s);
	return AIRLOCK_EXIT_SETUP;
}

/*
 * True once CMD has started (ready_rd then carries its end); else *status
 * is init's (it said why).
 */
static bool wait_ready(struct supervisor *s, int ready_rd, int *status)
{
	char c;
	ssize_t n;

	do
		n = read(ready_rd, &c, 1);
	while (n < 0 && errno == EINTR);
	if (n == 1) {
		s->ended_rd = ready_rd;
		return true;
	}
	close(ready_rd);
	*status = wait_init(s);
	return false;
}

static void print_dry_run_net(const struct supervisor *s)
{
	const struct net_config *nc = &s->cfg->net;

	if (s->cfg->no_network) {
		printf("network: loopback only (no gateway)\n");
		return;
	}
	printf("network: every address routed to loopback; the gateway%s "
	       "serves\n  http proxy 127.0.0.1:%u, socks5 127.0.0.1:%u, dns "
	       "port %u\n  capture ports:", s->cfg->gateway_socket ?
	       " (shared)" : "", nc->http_port, nc->socks_port, NET_DNS_PORT);
	for (size_t i = 0; i < nc->n_capture; i++)
		printf(" %u", nc->capture[i]);
	printf("%s\n", nc->n_capture ? "" : " none");
	printf("  audit log: %s\n", s->cfg->audit_path ? s->cfg->audit_path :
	       "none");
}

static void print_dry_run(struct supervisor *s)
{
	const struct policy *p = s->cfg->policy;

	printf("airlock run --dry-run\nworkspace: %s\ncommand:", p->workspace);
	for (size_t i = 0; s->cfg->argv[i]; i++)
		printf(" %s", s->cfg->argv[i]);
	printf("\nuser: uid %u gid %u inside%s\n", s->ids.inside_uid,
	       s->ids.inside_gid, s->ids.as_root ?
	       " (host id 65534; writable trees idmapped)" : "");
	printf("namespaces: user mount pid net ipc uts cgroup\n");
	print_dry_run_net(s);
	mount_plan_print(&s->plan, stdout);
	seccomp_describe(p, stdout);
	printf("landlock: read /, write the writable roots, /tmp, /run, /dev; "
	       "tcp bind and connect %s\n",
	       p->allow_local_binding ? "not restricted" : "refused");
	printf("environment:\n");
	for (size_t i = 0; i < s->cfg->env.len; i++) {
		const char *eq = strchr(s->cfg->env.items[i], '=');

		printf("  %.*s\n", eq ? (int)(eq - s->cfg->env.items[i]) : 0,
		       s->cfg->env.items[i]);
	}
}

/* Overlay and tmpfs modes: the workspace's bind becomes an overlay. */
static int overlay_plan(struct supervisor *s)
{
	const struct sandbox_config *cfg = s->cfg;
	bool tmpfs = cfg->workspace_mode == WORKSPACE_TMPFS;

	if (cfg->workspace_mode != WORKSPACE_OVERLAY && !tmpfs)
		return 0;
	if (mount_plan_use_overlay(&s->plan, cfg->policy->workspace,
				   tmpfs ? NULL : cfg->layers) < 0) {
		log_error("--workspace-mode %s: the workspace %s is not writable "
			  "under this policy, so there is nothing to overlay",
			  tmpfs ? "tmpfs" : "overlay", cfg->policy->workspace);
		return -EINVAL;
	}
	return 0;
}

/* Plans the way out: ports, environment, the stub's resolv.conf. */
static void net_plan(struct supervisor *s)
{
	static const uint16_t proxy_ports[] = {
		NET_HTTP_PROXY_PORT, NET_SOCKS_PORT, NET_DNS_PORT,
	};
	struct net_config *nc = &s->cfg->net;
	_cleanup_free_ char *no_proxy = NULL;

	*nc = (struct net_config){
		.gateway_fd = -1,
		.http_port = NET_HTTP_PROXY_PORT,
		.socks_port = NET_SOCKS_PORT,
	};
	if (s->cfg->no_network)
		return;
	nc->n_capture = gateway_capture_ports(s->cfg->policy, nc->capture,
					      NET_CAPTURE_PORTS_MAX, proxy_ports,
					      ARRAY_SIZE(proxy_ports));
	no_proxy = gateway_no_proxy(s->cfg->policy);
	env_add_proxy(&s->cfg->env, nc, no_proxy);
	mount_plan_add_file(&s->plan, "/etc/resolv.conf",
			    "# written by airlock: the gateway's DNS stub\n"
			    "nameserver 127.0.0.1\n");
}

/* Takes the placeholders the gateway made, before the sandbox exists. */
static int net_placeholders(struct supervisor *s)
{
	char *msg = NULL;
	size_t len = 0;
	int r;

	if (!s->cfg->policy->n_credentials)
		return 0;
	r = gateway_placeholders_wait(s->cfg->net.gateway_fd, &msg, &len);
	if (r == 0 && creds_place(s->cfg, &s->plan, msg, len) < 0) {
		log_error("the gateway's placeholders make no sense");
		r = -EINVAL;
	}
	if (msg)
		explicit_bzero(msg, len);
	free(msg);
	return r;
}

/* Forks this run's gateway on the channel net_start made. */
static int net_spawn(struct supervisor *s)
{
	struct gateway_run_opts o = {
		.policy = s->cfg->policy,
		.audit_path = s->cfg->audit_path,
		.run_id = s->cfg->run_id ? s->cfg->run_id : s->run_id,
		.ca_cert = s->cfg->ca_cert,
		.ca_key = s->cfg->ca_key,
	};
	int peer = s->gateway_peer;

	s->gateway_peer = -1;
	return gateway_spawn(&o, peer, &s->gateway);
}

/*
 * Attaches to a shared gateway, or makes the channel to this run's own.
 * Its gateway starts here when the policy has credentials (their
 * placeholders go into CMD's environment, which init takes at its birth);
 * otherwise once init exists, while init builds the root.
 */
static int net_start(struct supervisor *s)
{
	const struct policy *p = s->cfg->policy;
	struct gateway_run_opts o = {
		.policy = p,
		.audit_path = s->cfg->audit_path,
		.run_id = s->cfg->run_id,
	};
	int r;

	if (s->cfg->no_network)
		return 0;
	if (!o.run_id) {
		r = run_id_make(s->run_id);
		if (r < 0) {
			log_error_errno(-r, "cannot make a run id");
			return r;
		}
		o.run_id = s->run_id;
	}
	log_info("run %s", o.run_id);
	if (s->cfg->gateway_socket) {
		if (p->n_credentials || p->n_request_rules || p->n_routes) {
			log_error("credentials, request rules and routes need "
				  "the run's own gateway; run without "
				  "--gateway");
			return -EINVAL;
		}
		r = gateway_attach(s->cfg->gateway_socket, &o,
				   &s->cfg->net.gateway_fd);
		s->gateway_keep = r == 0 ? dup(s->cfg->net.gateway_fd) : -1;
		return r;
	}
	r = creds_plan(s->cfg, &s->plan);
	if (r == 0)
		r = gateway_channel(&s->cfg->net.gateway_fd, &s->gateway_peer);
	if (r < 0 || !p->n_credentials)
		return r;
	r = net_spawn(s);
	return r < 0 ? r : net_placeholders(s);
}

/* Tells the gateway to finish; net_wait waits until it has. */
static void net_stop(struct supervisor *s)
{
	if (s->cfg->net.gateway_fd >= 0) {
		close(s->cfg->net.gateway_fd);
		s->cfg->net.gateway_fd = -1;
	}
	if (s->gateway_keep >= 0) {
		close(s->gateway_keep);
		s->gateway_keep = -1;
	}
	if (s->gateway > 0)
		kill(s->gateway, SIGTERM);
}

static void net_wait(struct supervisor *s)
{
	if (s->gateway > 0) {
		while (waitpid(s->gateway, NULL, 0) < 0 && errno == EINTR)
			;
		s->gateway = -1;
	}
}

int sandbox_run(struct sandbox_config *cfg)
{
	struct supervisor s = {
		.cfg = cfg, .sigfd = -1, .sync_wr = -1, .init = -1,
		.ended_rd = -1, .gateway = -1, .gateway_keep = -1,
		.gateway_peer = -1,
	};
	int ready_rd = -1, status;

	sandbox_ids_init(&s.ids);
	mount_plan_build(&s.plan, cfg->policy, &s.ids);
	if (overlay_plan(&s) < 0) {
		mount_plan_free(&s.plan);
		return AIRLOCK_EXIT_SETUP;
	}
	net_plan(&s);
	if (cfg->dry_run) {
		print_dry_run(&s);
		mount_plan_free(&s.plan);
		return 0;
	}

	status = AIRLOCK_EXIT_SETUP;
	if (s.ids.as_root && mount_plan_open_trees(&s.plan) < 0)
		goto out;
	if (limits_prepare(&s.limits, &cfg->policy->limits) < 0 ||
	    pty_open(&s.pty) < 0)
		goto out;
	if (block_signals(&s) < 0) {
		log_error_errno(errno, "cannot set up signal handling");
		goto out;
	}
	if (net_start(&s) < 0)
		goto out;
	status = start_init(&s, &ready_rd);
	if (status != 0)
		goto out;
	if (cfg->net.gateway_fd >= 0) {
		close(cfg->net.gateway_fd); /* init holds the sandbox's copy */
		cfg->net.gateway_fd = -1;
	}
	if (s.pty.slave >= 0) {
		close(s.pty.slave);
		s.pty.slave = -1;
	}
	for (size_t i = 0; i < s.plan.len; i++)
		if (s.plan.items[i].tree_fd >= 0) {
			close(s.plan.items[i].tree_fd);
			s.plan.items[i].tree_fd = -1;
		}
	/* init waits for the gateway before CMD runs: it fails closed */
	if (s.gateway_peer >= 0 && net_spawn(&s) < 0) {
		kill(s.init, SIGKILL);
		close(ready_rd);
		status = AIRLOCK_EXIT_SETUP;
		goto out;
	}

	if (wait_ready(&s, ready_rd, &status))
		status = supervise(&s);
out:
	/*
	 * Once CMD's end is known, the gateway's last audit records, the
	 * run's record and the kernel's teardown of the namespaces overlap;
	 * nothing outlives the supervisor.
	 */
	closep(&s.gateway_peer);
	net_stop(&s);
	if (cfg->ended)
		cfg->ended(cfg->hook_ctx, status);
	net_wait(&s);
	if (s.init > 0)
		(void)wait_init(&s);
	if (s.ended_rd >= 0)
		close(s.ended_rd);
	pty_restore(&s.pty);
	if (s.sync_wr >= 0)
		close(s.sync_wr);
	limits_cleanup(&s.limits);
	mount_plan_free(&s.plan);
	if (s.sigfd >= 0) {
		close(s.sigfd);
		sigprocmask(SIG_SETMASK, &s.old_mask, NULL);
	}
	return status;
}
