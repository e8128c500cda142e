/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The sandbox's init: pid 1 of the new pid namespace. It starts with every
 * capability of the new user namespace and none on the host. It assembles
 * the root, brings up loopback, then gives up all capabilities but
 * CAP_SYS_PTRACE, becomes non-dumpable, enters the Landlock domain that CMD
 * will share, and starts CMD. Afterwards it reaps, forwards signals to CMD,
 * answers the protected-path checks (protect.c) and exits with CMD's
 * status; when pid 1 exits, the kernel kills everything left inside.
 *
 * The fds at CMD's exec: 0-2 (the pty slave where the outer stream is a
 * terminal, else the caller's), nothing else: every other fd is
 * close-on-exec or closed.
 */
#include "config.h"

#include "sandbox/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <grp.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"

#define SANDBOX_HOSTNAME "airlock"

static const int forwarded_signals[] = {
	SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH,
};

static __attribute__((noreturn)) void die_setup(void)
{
	_exit(AIRLOCK_EXIT_SETUP);
}

/* Exits at once if the supervisor is gone (its end of sync_fd closed). */
static void check_parent(int sync_fd)
{
	struct pollfd p = { .fd = sync_fd, .events = POLLIN };

	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		die_setup();
	if (poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLERR)))
		_exit(AIRLOCK_EXIT_SETUP);
}

static void wait_for_maps(int sync_fd)
{
	char c;

	if (read(sync_fd, &c, 1) != 1)
		_exit(AIRLOCK_EXIT_SETUP); /* the supervisor failed or died */
}

/* Takes the sandbox's ids inside, keeping this namespace's capabilities. */
static int become_inside_ids(const struct sandbox_ids *ids)
{
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return -errno;
	if (ids->as_root && setgroups(0, NULL) < 0)
		return -errno;
	if (setresgid(ids->inside_gid, ids->inside_gid, ids->inside_gid) < 0 ||
	    setresuid(ids->inside_uid, ids->inside_uid, ids->inside_uid) < 0)
		return -errno;
	/* a uid change clears the effective set: raise it again */
	return caps_raise_all();
}

static int loopback_up(void)
{
	struct ifreq ifr = { 0 };
	_cleanup_close_ int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (s < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		return -errno;
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	return ioctl(s, SIOCSIFFLAGS, &ifr) < 0 ? -errno : 0;
}

static int setup_inside(const struct init_args *a)
{
	uint16_t ports[NET_CAPTURE_PORTS_MAX + NET_ROUTES_MAX + 3];
	int r = become_inside_ids(a->ids);
	size_t n;

	if (r < 0) {
		log_error_errno(-r, "cannot take the sandbox's uid and gid");
		return r;
	}
	check_parent(a->sync_fd);

	r = mount_plan_apply(a->plan, a->cwd, a->cfg->policy->workspace);
	if (r < 0)
		return r;
	for (size_t i = 0; i < a->plan->len; i++)
		if (a->plan->items[i].tree_fd >= 0)
			close(a->plan->items[i].tree_fd);

	if (sethostname(SANDBOX_HOSTNAME, strlen(SANDBOX_HOSTNAME)) < 0)
		log_debug_errno(errno, "cannot set the host name");
	r = loopback_up();
	if (r < 0) {
		log_error_errno(-r, "cannot bring up loopback");
		return r;
	}
	if (a->cfg->net.gateway_fd >= 0) {
		r = net_setup_inside(&a->cfg->net);
		close(a->cfg->net.gateway_fd);
		if (r < 0)
			return r;
	}
	if (mkdir("/run/airlock", 0755) < 0 ||
	    mkdir("/run/airlock/git-template", 0555) < 0)
		log_debug_errno(errno, "cannot make the git template folder");

	r = caps_keep_ptrace_only();
	if (r < 0)
		return r;
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return -errno;
	n = net_connect_ports(&a->cfg->net, ports, ARRAY_SIZE(ports));
	r = landlock_apply(a->plan, a->cfg->policy->allow_local_binding, ports,
			   n);
	return r < 0 ? r : 0;
}

static int send_fd(int sock, int fd)
{
	char data = 'L';
	struct iovec iov = { .iov_base = &data, .iov_len = 1 };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u = { 0 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = u.buf, .msg_controllen = sizeof(u.buf),
	};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(sock, &msg, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

static int recv_fd(int sock)
{
	char data;
	struct iovec iov = { .iov_base = &data, .iov_len = 1 };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = u.buf, .msg_controllen = sizeof(u.buf),
	};
	struct cmsghdr *c;
	int fd;

	if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) <= 0)
		return -1;
	c = CMSG_FIRSTHDR(&msg);
	if (!c || c->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

/* Points 0-2 at the inner terminal where the outer stream is one. */
static int attach_terminal(int slave)
{
	if (slave < 0)
		return 0;
	if (ioctl(slave, TIOCSCTTY, 0) < 0)
		return -errno;
	for (int fd = 0; fd < 3; fd++)
		if ((fd == 0 || isatty(fd)) && dup2(slave, fd) < 0)
			return -errno;
	if (slave > 2)
		close(slave);
	return 0;
}

static __attribute__((noreturn)) void cmd_exec(const struct init_args *a,
					       int sock)
{
	const struct sandbox_config *cfg = a->cfg;
	sigset_t none;
	int r, listener;

	sigemptyset(&none);
	for (size_t i = 0; i < ARRAY_SIZE(forwarded_signals); i++)
		signal(forwarded_signals[i], SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	sigprocmask(SIG_SETMASK, &none, NULL);

	if (setsid() < 0 || attach_terminal(a->pty_slave) < 0) {
		log_error_errno(errno, "cannot start a new session");
		_exit(AIRLOCK_EXIT_SETUP);
	}
	r = limits_apply_rlimits(&cfg->policy->limits, a->with_cgroup);
	if (r == 0)
		r = caps_drop_all();
	if (r == 0)
		r = seccomp_apply_filter(cfg->policy);
	if (r < 0)
		_exit(AIRLOCK_EXIT_SETUP);
	listener = seccomp_apply_notify();
	if (listener < 0 || send_fd(sock, listener) < 0)
		_exit(AIRLOCK_EXIT_SETUP);
	close(listener);
	close(sock);
	/* nothing of airlock's, or of whoever started it, goes in: an
	 * inherited folder descriptor alone would be a way out of the root */
	if (close_range(3, ~0U, 0) < 0) {
		log_error_errno(errno, "cannot close the inherited descriptors");
		_exit(AIRLOCK_EXIT_SETUP);
	}

	execvpe(cfg->argv[0], cfg->argv, cfg->env.items);
	r = errno;
	log_error_errno(r, "cannot run %s", cfg->argv[0]);
	_exit(r == ENOENT ? AIRLOCK_EXIT_NOTFOUND : AIRLOCK_EXIT_NOEXEC);
}

static int status_to_exit(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return AIRLOCK_EXIT_SETUP;
}

/* Reaps every child; returns true once CMD itself has ended. */
static bool reap(pid_t cmd, int *exit_code)
{
	bool done = false;
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		if (pid == cmd) {
			*exit_code = status_to_exit(status);
			done = true;
		}
	return done;
}

/*
 * Serves CMD until it ends, then ends everything else inside and tells the
 * supervisor CMD's exit code on report_fd (if open) before exiting, so that
 * the supervisor's own last steps overlap the kernel's teardown of the
 * namespaces.
 */
static __attribute__((noreturn)) void serve(const struct init_args *a,
					    pid_t cmd, int listener, int sigfd,
					    int report_fd)
{
	struct pollfd fds[2] = {
		{ .fd = sigfd, .events = POLLIN },
		{ .fd = listener, .events = POLLIN },
	};
	int exit_code = AIRLOCK_EXIT_SETUP;

	for (;;) {
		struct signalfd_siginfo si;

		if (poll(fds, listener >= 0 ? 2 : 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (fds[1].revents & POLLIN) {
			if (protect_handle(listener, a->plan) < 0)
				fds[1].events = 0;
		} else if (fds[1].revents & (POLLHUP | POLLERR)) {
			close(listener);
			listener = -1;
		}
		if (!(fds[0].revents & POLLIN) ||
		    read(sigfd, &si, sizeof(si)) != sizeof(si))
			continue;
		if (si.ssi_signo != SIGCHLD) {
			kill(cmd, (int)si.ssi_signo);
			continue;
		}
		if (reap(cmd, &exit_code))
			break;
	}
	/* CMD has ended: whatever it left behind ends with the sandbox */
	kill(-1, SIGKILL);
	while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
		;
	if (report_fd >= 0) {
		unsigned char code = (unsigned char)exit_code;

		(void)!write(report_fd, &code, 1);
	}
	_exit(exit_code);
}

void init_main(const struct init_args *a)
{
	int sock[2], listener, sigfd;
	sigset_t mask;
	pid_t cmd;
	char ok = 'R';

	log_set_prefix("airlock[init]");
	check_parent(a->sync_fd);
	wait_for_maps(a->sync_fd);
	if (setup_inside(a) < 0)
		die_setup();

	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	for (size_t i = 0; i < ARRAY_SIZE(forwarded_signals); i++)
		sigaddset(&mask, forwarded_signals[i]);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sigfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (sigfd < 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sock) < 0) {
		log_error_errno(errno, "cannot prepare init's channels");
		die_setup();
	}

	/*
	 * vfork: CMD borrows init's memory until it execs, so no page table
	 * is copied and no page copied on write. Everything cmd_exec changes
	 * is CMD's own (its descriptors, signal dispositions, limits,
	 * credentials, filters); init waits meanwhile.
	 */
	cmd = vfork();
	if (cmd < 0) {
		log_error_errno(errno, "cannot start the command");
		die_setup();
	}
	if (cmd == 0) {
		close(sock[0]);
		cmd_exec(a, sock[1]);
	}
	close(sock[1]);
	if (a->pty_slave >= 0)
		close(a->pty_slave);

	listener = recv_fd(sock[0]);
	close(sock[0]);
	if (listener < 0) {
		/* CMD never started: the supervisor learns why from our exit */
		close(a->ready_fd);
		serve(a, cmd, listener, sigfd, -1);
	}
	if (write(a->ready_fd, &ok, 1) != 1)
		die_setup();
	serve(a, cmd, listener, sigfd, a->ready_fd);
}
