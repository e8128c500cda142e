/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of CMD's seccomp filters (src/sandbox/seccomp.c) and of the
 * protected-path notifier behind the second one (src/sandbox/protect.c).
 *
 * A filter cannot be removed once loaded, so every filter is loaded in a
 * forked child and the test process itself stays unfiltered. The child
 * makes raw syscall(2) calls, whose arguments are chosen so that an
 * unfiltered call would harm nothing and answer with another errno, and
 * writes one line per wrong answer to a pipe the test reads. Children
 * leave with _exit: no leak check or atexit handler runs under a filter.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/strv.h"
#include "common/util.h"
#include "policy/policy.h"
#include "sandbox/sandbox.h"

/* A child that hangs (a notification nobody answers) is killed. */
#define CHILD_TIMEOUT_SECONDS 20
#define REPORT_MAX_BYTES 8192
#define TREE_FDS_MAX 16
/* x86_64: syscall numbers with this bit set are the x32 ABI's. */
#define X32_SYSCALL_BIT 0x40000000L
#define X32_NR_MOUNT 165L
/* i386 number of getpid, reached with int $0x80. */
#define I386_NR_GETPID 20L

/* One raw call and the errno the filter must answer (0: must succeed). */
struct probe {
	const char *what;
	long nr;
	long args[6];
	int want;
	bool returns_fd;
};

/* ---- helpers shared by parent and children ---- */

static void tmp_dir_make(char *out, const char *tag)
{
	char tmpl[64];

	snprintf(tmpl, sizeof(tmpl), "/tmp/airlock-%s-XXXXXX", tag);
	if (!mkdtemp(tmpl))
		fail_msg("mkdtemp %s: %s", tmpl, strerror(errno));
	if (!realpath(tmpl, out))
		fail_msg("realpath %s: %s", tmpl, strerror(errno));
}

static int remove_entry(const char *path, const struct stat *st, int type,
			struct FTW *ftw)
{
	return remove(path) < 0 ? -1 : 0;
}

static void tmp_dir_remove(const char *dir)
{
	if (nftw(dir, remove_entry, TREE_FDS_MAX, FTW_DEPTH | FTW_PHYS) < 0)
		fprintf(stderr, "cannot remove %s: %s\n", dir, strerror(errno));
}

/* In a child: writes one line about a wrong answer and counts it. */
__attribute__((format(printf, 3, 4)))
static void note(int fd, int *failures, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	(void)write_all(fd, line, (size_t)n);
	(*failures)++;
}

/* Ends a child with a status telling whether anything was noted. */
__attribute__((noreturn)) static void child_end(int failures)
{
	_exit(failures ? 1 : 0);
}

/* In a child: checks that a call returned 0 or more. */
static void check_ok(int fd, int *failures, const char *what, long r)
{
	if (r < 0)
		note(fd, failures, "%s: failed with %s, want success", what,
		     strerror(errno));
}

/* In a child: checks that a call failed with errno want. */
static void check_errno(int fd, int *failures, const char *what, long r,
			int want)
{
	if (r >= 0)
		note(fd, failures, "%s: succeeded (%ld), want %s", what, r,
		     strerror(want));
	else if (errno != want)
		note(fd, failures, "%s: failed with %s, want %s", what,
		     strerror(errno), strerror(want));
}

static void run_probes(int fd, int *failures, const struct probe *probes,
		       size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct probe *pr = &probes[i];
		long r;

		errno = 0;
		r = syscall(pr->nr, pr->args[0], pr->args[1], pr->args[2],
			    pr->args[3], pr->args[4], pr->args[5]);
		if (pr->want == 0)
			check_ok(fd, failures, pr->what, r);
		else
			check_errno(fd, failures, pr->what, r, pr->want);
		if (r >= 0 && pr->returns_fd)
			close((int)r);
	}
}

/* In a fresh child: no core file, no hanging past the timeout. */
static void child_begin(void)
{
	struct rlimit none = { 0, 0 };

	(void)setrlimit(RLIMIT_CORE, &none);
	alarm(CHILD_TIMEOUT_SECONDS);
}

/* Loads the filter of p in the calling child, or leaves it. */
static void child_filter(int fd, const struct policy *p)
{
	int failures = 0;
	int r = seccomp_apply_filter(p);

	if (r < 0) {
		note(fd, &failures, "seccomp_apply_filter: %s", strerror(-r));
		_exit(2);
	}
}

/*
 * Runs body in a child with a report pipe, then fails the test with
 * what the child wrote when it wrote anything or did not exit 0.
 */
static void run_child(void (*body)(int report, const void *arg),
		      const void *arg)
{
	char report[REPORT_MAX_BYTES];
	size_t len = 0;
	int pipefd[2], status;
	ssize_t n;
	pid_t pid;

	assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(pipefd[0]);
		child_begin();
		body(pipefd[1], arg);
		_exit(0);
	}
	close(pipefd[1]);
	while (len < sizeof(report) - 1 &&
	       (n = read(pipefd[0], report + len, sizeof(report) - 1 - len)) > 0)
		len += (size_t)n;
	report[len] = '\0';
	close(pipefd[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (WIFSIGNALED(status))
		fail_msg("child killed by signal %d\n%s", WTERMSIG(status),
			 report);
	if (len > 0 || WEXITSTATUS(status) != 0)
		fail_msg("child exited %d\n%s", WEXITSTATUS(status), report);
}

/* ---- the deny-list filter ---- */

static void body_mounts_namespaces(int fd, const void *arg)
{
	/*
	 * Unfiltered, these answer EFAULT, EINVAL, EBADF or succeed inside
	 * this child only; none of them touches the host.
	 */
	const struct probe probes[] = {
		{ "mount", SYS_mount, { 0 }, EPERM, false },
		{ "umount2", SYS_umount2, { (long)"/", 0xffff }, EPERM, false },
		{ "unshare(CLONE_NEWUSER)", SYS_unshare, { CLONE_NEWUSER }, EPERM,
		  false },
		{ "unshare(CLONE_NEWNS)", SYS_unshare, { CLONE_NEWNS }, EPERM,
		  false },
		{ "unshare(CLONE_NEWNET|CLONE_FILES)", SYS_unshare,
		  { CLONE_NEWNET | CLONE_FILES }, EPERM, false },
		{ "unshare(CLONE_NEWPID)", SYS_unshare, { CLONE_NEWPID }, EPERM,
		  false },
		{ "setns", SYS_setns, { -1, 0 }, EPERM, false },
		{ "pivot_root", SYS_pivot_root, { 0, 0 }, EPERM, false },
		{ "chroot", SYS_chroot, { 0 }, EPERM, false },
		{ "open_tree", SYS_open_tree, { -1, 0, 0 }, EPERM, true },
	};
	int failures = 0;
	long r;

	child_filter(fd, arg);
	run_probes(fd, &failures, probes, ARRAY_SIZE(probes));

	/* clone with a namespace flag; if it went through, the copy leaves */
	errno = 0;
	r = syscall(SYS_clone, (long)(CLONE_NEWUSER | SIGCHLD), 0L, 0L, 0L, 0L);
	if (r == 0)
		_exit(0);
	if (r > 0)
		(void)waitpid((pid_t)r, NULL, 0);
	check_errno(fd, &failures, "clone(CLONE_NEWUSER)", r, EPERM);
	child_end(failures);
}

static void test_filter_mounts_namespaces(void **state)
{
	struct policy p = { 0 };

	run_child(body_mounts_namespaces, &p);
}

static void body_kernel_surfaces(int fd, const void *arg)
{
	const struct probe probes[] = {
		{ "keyctl", SYS_keyctl, { 9999 }, EPERM, false },
		{ "add_key", SYS_add_key, { 0 }, EPERM, false },
		{ "request_key", SYS_request_key, { 0 }, EPERM, false },
		{ "bpf", SYS_bpf, { -1, 0, 0 }, EPERM, true },
		{ "perf_event_open", SYS_perf_event_open, { 0, 0, -1, -1, 0 },
		  EPERM, true },
		{ "io_uring_setup", SYS_io_uring_setup, { 0, 0 }, EPERM, true },
		{ "ptrace(PTRACE_ATTACH)", SYS_ptrace,
		  { PTRACE_ATTACH, INT_MAX }, EPERM, false },
		{ "process_vm_readv", SYS_process_vm_readv,
		  { INT_MAX, 0, 0, 0, 0, 0 }, EPERM, false },
		/* a foreign architecture in the flags: EINVAL when unfiltered */
		{ "kexec_load", SYS_kexec_load, { 0, 0, 0, (long)0xffff0000L },
		  EPERM, false },
		{ "init_module", SYS_init_module, { 0, 0, 0 }, EPERM, false },
		{ "userfaultfd", SYS_userfaultfd, { -1 }, EPERM, true },
		{ "fanotify_init", SYS_fanotify_init, { -1, 0 }, EPERM, true },
	};
	int failures = 0;

	child_filter(fd, arg);
	run_probes(fd, &failures, probes, ARRAY_SIZE(probes));
	child_end(failures);
}

static void test_filter_kernel_surfaces(void **state)
{
	struct policy p = { 0 };

	run_child(body_kernel_surfaces, &p);
}

static void body_sockets(int fd, const void *arg)
{
	const struct probe probes[] = {
		{ "socket(AF_PACKET)", SYS_socket, { AF_PACKET, SOCK_RAW, 0 },
		  EAFNOSUPPORT, true },
		{ "socket(AF_INET, SOCK_RAW)", SYS_socket,
		  { AF_INET, SOCK_RAW, IPPROTO_ICMP }, EPERM, true },
		{ "socket(AF_INET, SOCK_RAW|SOCK_CLOEXEC)", SYS_socket,
		  { AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP }, EPERM, true },
		{ "socket(AF_INET6, SOCK_RAW)", SYS_socket,
		  { AF_INET6, SOCK_RAW, IPPROTO_ICMPV6 }, EPERM, true },
		{ "socket(AF_UNIX)", SYS_socket, { AF_UNIX, SOCK_STREAM, 0 },
		  EAFNOSUPPORT, true },
		{ "socket(AF_VSOCK)", SYS_socket, { AF_VSOCK, SOCK_STREAM, 0 },
		  EAFNOSUPPORT, true },
		{ "socket(AF_ALG)", SYS_socket, { AF_ALG, SOCK_SEQPACKET, 0 },
		  EAFNOSUPPORT, true },
		{ "socket(AF_INET, SOCK_STREAM)", SYS_socket,
		  { AF_INET, SOCK_STREAM, 0 }, 0, true },
		{ "socket(AF_INET, SOCK_DGRAM)", SYS_socket,
		  { AF_INET, SOCK_DGRAM, 0 }, 0, true },
		{ "socket(AF_NETLINK)", SYS_socket,
		  { AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, 0 }, 0, true },
	};
	int failures = 0;

	child_filter(fd, arg);
	run_probes(fd, &failures, probes, ARRAY_SIZE(probes));
	child_end(failures);
}

static void test_filter_sockets(void **state)
{
	struct policy p = { 0 };

	run_child(body_sockets, &p);
}

/*
 * socket(2) takes an int family and the kernel drops the upper half of
 * the register: a family with a high bit set must be refused as well,
 * or AF_UNIX | 1<<32 would reach the kernel as AF_UNIX.
 */
static void body_socket_upper_bits(int fd, const void *arg)
{
	const long high = 1L << 32;
	const struct probe probes[] = {
		{ "socket(AF_UNIX | 1<<32)", SYS_socket,
		  { high | AF_UNIX, SOCK_STREAM, 0 }, EAFNOSUPPORT, true },
		{ "socket(AF_UNIX | 1<<40)", SYS_socket,
		  { (1L << 40) | AF_UNIX, SOCK_DGRAM, 0 }, EAFNOSUPPORT, true },
		{ "socket(AF_PACKET | 1<<32)", SYS_socket,
		  { high | AF_PACKET, SOCK_RAW, 0 }, EAFNOSUPPORT, true },
		{ "socket(-1)", SYS_socket, { -1L, SOCK_STREAM, 0 },
		  EAFNOSUPPORT, true },
	};
	int failures = 0;

	child_filter(fd, arg);
	run_probes(fd, &failures, probes, ARRAY_SIZE(probes));
	child_end(failures);
}

static void test_filter_socket_upper_bits(void **state)
{
	struct policy p = { 0 };

	run_child(body_socket_upper_bits, &p);
}

static void body_ioctl(int fd, const void *arg)
{
	int failures = 0, null_fd;
	char c = 'x';
	int on = 1;

	/* not a terminal: unfiltered, TIOCSTI answers ENOTTY and types nothing */
	null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null_fd < 0) {
		note(fd, &failures, "open /dev/null: %s", strerror(errno));
		child_end(failures);
	}
	child_filter(fd, arg);
	errno = 0;
	check_errno(fd, &failures, "ioctl(TIOCSTI)",
		    syscall(SYS_ioctl, null_fd, (long)TIOCSTI, &c), EPERM);
	check_errno(fd, &failures, "ioctl(TIOCSTI | 1<<32)",
		    syscall(SYS_ioctl, null_fd, (1L << 32) | TIOCSTI, &c), EPERM);
	check_errno(fd, &failures, "ioctl(TIOCLINUX)",
		    syscall(SYS_ioctl, null_fd, (long)TIOCLINUX, &c), EPERM);
	check_ok(fd, &failures, "ioctl(FIONBIO)",
		 syscall(SYS_ioctl, null_fd, (long)FIONBIO, &on));
	close(null_fd);
	child_end(failures);
}

static void test_filter_ioctl(void **state)
{
	struct policy p = { 0 };

	run_child(body_ioctl, &p);
}

static void body_enosys(int fd, const void *arg)
{
	/* unfiltered, both answer EINVAL or EFAULT for these arguments */
	const struct probe probes[] = {
		{ "clone3", SYS_clone3, { 0, 0 }, ENOSYS, false },
		{ "openat2", SYS_openat2, { AT_FDCWD, 0, 0, 0 }, ENOSYS, true },
	};
	int failures = 0;

	child_filter(fd, arg);
	run_probes(fd, &failures, probes, ARRAY_SIZE(probes));
	child_end(failures);
}

static void test_filter_enosys(void **state)
{
	struct policy p = { 0 };

	run_child(body_enosys, &p);
}

static void *thread_main(void *arg)
{
	return arg;
}

struct allowed_arg {
	const struct policy *policy;
	const char *dir;
};

/* Reads back what it wrote to a new file in the temporary folder. */
static void check_file_io(int fd, int *failures, const char *dir)
{
	_cleanup_free_ char *path = xasprintf("%s/file", dir);
	char buf[8] = { 0 };
	int f;

	f = open(path, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
	check_ok(fd, failures, "open(O_CREAT)", f);
	if (f < 0)
		return;
	if (write(f, "abc", 3) != 3 || pread(f, buf, sizeof(buf), 0) != 3 ||
	    !streq(buf, "abc"))
		note(fd, failures, "write/read %s: %s", path, strerror(errno));
	close(f);
	check_ok(fd, failures, "unlink", unlink(path));
}

static void check_fork(int fd, int *failures)
{
	int status = -1;
	pid_t pid = fork();

	check_ok(fd, failures, "fork", pid);
	if (pid == 0)
		_exit(7);
	if (pid > 0 && (waitpid(pid, &status, 0) != pid ||
			!WIFEXITED(status) || WEXITSTATUS(status) != 7))
		note(fd, failures, "waitpid: status %d", status);
}

static void body_allowed(int fd, const void *arg)
{
	const struct allowed_arg *a = arg;
	const struct probe probes[] = {
		{ "getpid", SYS_getpid, { 0 }, 0, false },
		{ "unshare(0)", SYS_unshare, { 0 }, 0, false },
	};
	int failures = 0, pair[2];
	pthread_t t;
	void *ret = NULL;
	int r;

	child_filter(fd, a->policy);
	run_probes(fd, &failures, probes, ARRAY_SIZE(probes));

	r = socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair);
	check_ok(fd, &failures, "socketpair(AF_UNIX)", r);
	if (r == 0) {
		close(pair[0]);
		close(pair[1]);
	}
	check_fork(fd, &failures);
	/* threads start through clone3 first: ENOSYS must send libc to clone */
	r = pthread_create(&t, NULL, thread_main, &failures);
	if (r != 0)
		note(fd, &failures, "pthread_create: %s", strerror(r));
	else if (pthread_join(t, &ret) != 0 || ret != &failures)
		note(fd, &failures, "pthread_join failed");
	check_file_io(fd, &failures, a->dir);
	child_end(failures);
}

static void test_filter_allows(void **state)
{
	char dir[PATH_MAX];
	struct policy p = { 0 };
	struct allowed_arg a = { &p, dir };

	tmp_dir_make(dir, "seccomp");
	run_child(body_allowed, &a);
	tmp_dir_remove(dir);
}

static void body_unix_allowed(int fd, const void *arg)
{
	const struct probe probes[] = {
		{ "socket(AF_UNIX)", SYS_socket, { AF_UNIX, SOCK_STREAM, 0 }, 0,
		  true },
		{ "socket(AF_UNIX, SOCK_DGRAM)", SYS_socket,
		  { AF_UNIX, SOCK_DGRAM, 0 }, 0, true },
		{ "socket(AF_PACKET)", SYS_socket, { AF_PACKET, SOCK_RAW, 0 },
		  EAFNOSUPPORT, true },
	};
	int failures = 0;

	child_filter(fd, arg);
	run_probes(fd, &failures, probes, ARRAY_SIZE(probes));
	child_end(failures);
}

static void test_filter_unix_allowed(void **state)
{
	struct policy all = { .allow_all_unix_sockets = true };
	struct policy listed = { 0 };

	run_child(body_unix_allowed, &all);
	strv_push(&listed.allow_unix_sockets, "/run/app.sock");
	run_child(body_unix_allowed, &listed);
	strv_clear(&listed.allow_unix_sockets);
}

#ifdef __x86_64__
static long i386_getpid(void)
{
	long r = I386_NR_GETPID;

	__asm__ volatile("int $0x80"
			 : "+a"(r)
			 :
			 : "r8", "r9", "r10", "r11", "memory");
	return r;
}

/* Waits for a child and returns its raw status. */
static int fork_wait(void (*body)(const struct policy *),
		     const struct policy *p)
{
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		child_begin();
		/* no core file and no sanitizer report for a deadly signal */
		(void)prctl(PR_SET_DUMPABLE, 0);
		signal(SIGSEGV, SIG_DFL);
		body(p);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static void body_i386_unfiltered(const struct policy *p)
{
	_exit(i386_getpid() == getpid() ? 0 : 1);
}

static void body_i386_filtered(const struct policy *p)
{
	if (seccomp_apply_filter(p) < 0)
		_exit(2);
	(void)i386_getpid();
	_exit(3);
}

static void body_x32_filtered(const struct policy *p)
{
	long r;

	if (seccomp_apply_filter(p) < 0)
		_exit(2);
	/* mount through the x32 table: EFAULT would mean it was reached */
	r = syscall(X32_SYSCALL_BIT | X32_NR_MOUNT, 0L, 0L, 0L, 0L, 0L);
	_exit(r < 0 && (errno == ENOSYS || errno == EPERM) ? 0 : 3);
}

/* Calls of another architecture kill the process instead of passing. */
static void test_filter_foreign_arch(void **state)
{
	struct policy p = { 0 };
	int status;

	status = fork_wait(body_x32_filtered, &p);
	if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS) &&
	    !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
		fail_msg("x32 mount: status %#x, want SIGSYS or a refusal",
			 status);

	status = fork_wait(body_i386_unfiltered, &p);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		skip(); /* this kernel runs no i386 calls at all */
	status = fork_wait(body_i386_filtered, &p);
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGSYS)
		fail_msg("i386 getpid: status %#x, want death by SIGSYS",
			 status);
}
#else
static void test_filter_foreign_arch(void **state)
{
	skip();
}
#endif

/* ---- the notification filter and protect.c ---- */

/*
 * Three processes stand for airlock's: the test (the supervisor), a
 * child (init, which answers) and a grandchild (CMD, filtered). CMD
 * sends its listener to init over a socket, as in init.c.
 */
struct notify_arg {
	const char *dir;
	const struct mount_plan *plan;
	bool answer; /* false: CMD only checks the listener and leaves */
};

static int send_fd(int sock, int fd)
{
	char data = 'L';
	struct iovec iov = { &data, 1 };
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl = { 0 };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = ctl.buf,
		.msg_controllen = sizeof(ctl.buf),
	};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(sock, &msg, MSG_NOSIGNAL) == 1 ? 0 : -errno;
}

static int recv_fd(int sock)
{
	char data;
	struct iovec iov = { &data, 1 };
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl = { 0 };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = ctl.buf,
		.msg_controllen = sizeof(ctl.buf),
	};
	struct cmsghdr *c;
	int fd;

	if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) != 1)
		return -EIO;
	c = CMSG_FIRSTHDR(&msg);
	if (!c || c->cmsg_type != SCM_RIGHTS)
		return -EIO;
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

/* CMD's side: every call that creates a name now goes through init. */
static void cmd_calls(int fd, int *failures, const char *dir)
{
	_cleanup_free_ char *prot = xasprintf("%s/protected", dir);
	_cleanup_free_ char *free_dir = xasprintf("%s/free", dir);
	_cleanup_free_ char *parent = xasprintf("%s/parent", dir);
	_cleanup_free_ char *hooks = xasprintf("%s/parent/hooks", dir);
	_cleanup_free_ char *file = xasprintf("%s/free/file", dir);
	int f;

	errno = 0;
	check_errno(fd, failures, "mkdir protected", mkdir(prot, 0755), EACCES);
	check_ok(fd, failures, "mkdir free", mkdir(free_dir, 0755));
	/* a protected path's parent may be a folder, never a file */
	f = open(parent, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	check_errno(fd, failures, "create file at protected parent", f, EACCES);
	if (f >= 0)
		close(f);
	check_ok(fd, failures, "mkdir protected parent", mkdir(parent, 0755));
	check_errno(fd, failures, "mkdir parent/hooks", mkdir(hooks, 0755),
		    EACCES);
	/* an ordinary file: the fd comes from init */
	f = open(file, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	check_ok(fd, failures, "create free/file", f);
	if (f >= 0) {
		if (write(f, "z", 1) != 1)
			note(fd, failures, "write free/file: %s",
			     strerror(errno));
		close(f);
	}
	check_errno(fd, failures, "rename onto protected",
		    rename(free_dir, prot), EACCES);
	check_errno(fd, failures, "symlink at protected",
		    symlink("free", prot), EACCES);
}

__attribute__((noreturn))
static void cmd_main(int fd, int sock, const struct notify_arg *a)
{
	int failures = 0;
	int listener = seccomp_apply_notify();

	if (listener < 0) {
		note(fd, &failures, "seccomp_apply_notify: %s",
		     strerror(-listener));
		child_end(failures);
	}
	if (fcntl(listener, F_GETFD) < 0)
		note(fd, &failures, "listener %d is not open", listener);
	if (send_fd(sock, listener) < 0)
		note(fd, &failures, "send listener: %s", strerror(errno));
	close(listener);
	close(sock);
	if (a->answer)
		cmd_calls(fd, &failures, a->dir);
	child_end(failures);
}

/* init's side: answers until CMD has gone, then reports CMD's status. */
static void body_notify(int fd, const void *arg)
{
	const struct notify_arg *a = arg;
	int failures = 0, sock[2], done[2], listener, status = -1;
	pid_t cmd;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sock) < 0 ||
	    pipe2(done, O_CLOEXEC) < 0) {
		note(fd, &failures, "socketpair/pipe: %s", strerror(errno));
		child_end(failures);
	}
	cmd = fork();
	if (cmd == 0) {
		close(sock[0]);
		close(done[0]);
		cmd_main(fd, sock[1], a);
	}
	close(sock[1]);
	close(done[1]);
	listener = cmd < 0 ? -1 : recv_fd(sock[0]);
	if (listener < 0)
		note(fd, &failures, "no listener from CMD (%d)", listener);

	while (listener >= 0) {
		struct pollfd fds[2] = {
			{ .fd = listener, .events = POLLIN },
			{ .fd = done[0], .events = POLLIN },
		};

		if (poll(fds, 2, -1) < 0 && errno != EINTR)
			break;
		if (fds[0].revents & POLLIN) {
			int r = protect_handle(listener, a->plan);

			if (r < 0) {
				note(fd, &failures, "protect_handle: %s",
				     strerror(-r));
				break;
			}
			continue;
		}
		if (fds[1].revents || (fds[0].revents & (POLLHUP | POLLERR)))
			break;
	}
	if (cmd > 0 && (waitpid(cmd, &status, 0) != cmd ||
			!WIFEXITED(status) || WEXITSTATUS(status) != 0))
		note(fd, &failures, "CMD ended with status %#x", status);
	child_end(failures);
}

static void test_notify_listener(void **state)
{
	struct mount_plan plan = { 0 };
	struct notify_arg a = { .dir = "/nonexistent", .plan = &plan };

	run_child(body_notify, &a);
}

static void expect_kind(const char *dir, const char *rel, mode_t kind,
			off_t size)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", dir, rel);
	struct stat st;

	if (lstat(path, &st) < 0) {
		if (kind)
			fail_msg("%s: %s", path, strerror(errno));
		return;
	}
	if (!kind)
		fail_msg("%s exists, want it never created", path);
	if ((st.st_mode & S_IFMT) != kind)
		fail_msg("%s: mode %o", path, (unsigned int)st.st_mode);
	if (size >= 0 && st.st_size != size)
		fail_msg("%s: size %lld, want %lld", path, (long long)st.st_size,
			 (long long)size);
}

static void test_notify_protect(void **state)
{
	char dir[PATH_MAX];
	struct mount_plan plan = { 0 };
	struct notify_arg a = { .dir = dir, .plan = &plan, .answer = true };

	tmp_dir_make(dir, "protect");
	strv_push_owned(&plan.protected_paths, xasprintf("%s/protected", dir));
	strv_push_owned(&plan.protected_paths,
			xasprintf("%s/parent/hooks", dir));
	strv_push_owned(&plan.protected_parents, xasprintf("%s/parent", dir));

	run_child(body_notify, &a);
	expect_kind(dir, "protected", 0, -1);
	expect_kind(dir, "parent", S_IFDIR, -1);
	expect_kind(dir, "parent/hooks", 0, -1);
	expect_kind(dir, "free", S_IFDIR, -1);
	expect_kind(dir, "free/file", S_IFREG, 1);

	mount_plan_free(&plan);
	tmp_dir_remove(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_filter_mounts_namespaces),
		cmocka_unit_test(test_filter_kernel_surfaces),
		cmocka_unit_test(test_filter_sockets),
		cmocka_unit_test(test_filter_socket_upper_bits),
		cmocka_unit_test(test_filter_ioctl),
		cmocka_unit_test(test_filter_enosys),
		cmocka_unit_test(test_filter_allows),
		cmocka_unit_test(test_filter_unix_allowed),
		cmocka_unit_test(test_filter_foreign_arch),
		cmocka_unit_test(test_notify_listener),
		cmocka_unit_test(test_notify_protect),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
