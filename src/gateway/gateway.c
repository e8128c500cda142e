/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The gateway process of one `airlock run`. The supervisor forks it before
 * the sandbox exists; it gives itself up as far as it can (its own
 * session, so the terminal's signals do not reach it; not dumpable, so the
 * sandbox's uid could not read its memory even if it could see it; no
 * capabilities when started by root; death with the supervisor), then
 * waits for the listeners that the sandbox's init hands over and serves
 * them until the supervisor ends it with SIGTERM.
 *
 * The listener message is the only input from the sandbox side that is not
 * a connection; it comes from init, before CMD runs, and is checked by
 * handoff.c all the same.
 */
#include "config.h"

#include "gateway/gateway.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <linux/close_range.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "gateway/gw.h"
#include "gateway/handoff.h"
#include "policy/policy.h"
#include "sandbox/sandbox.h"

struct gw_process {
	struct gw gw;
	struct loop_watch chan;
};

static void on_listener(struct loop_watch *w, uint32_t events)
{
	struct gw_listener *l = container_of(w, struct gw_listener, w);

	gw_conn_accept(l);
}

int gw_listener_add(struct gw *gw, struct gw_run *run, uint16_t kind,
		    uint16_t port, uint32_t index, int fd)
{
	struct gw_listener *l;

	if (kind == HANDOFF_DNS_UDP) {
		struct gw_dns_udp *u = xcalloc(1, sizeof(*u));

		u->run = run;
		u->next = run->dns_udp;
		run->dns_udp = u;
		return loop_watch_add(&gw->loop, &u->w, fd, EPOLLIN,
				      gw_dns_udp_on_event);
	}
	if ((kind < HANDOFF_HTTP || kind > HANDOFF_ROUTE) &&
	    kind != GW_LISTEN_TCP) {
		close(fd);
		return -EBADMSG;
	}
	l = xcalloc(1, sizeof(*l));
	l->run = run;
	l->kind = kind;
	l->port = port;
	l->index = index;
	l->next = run->listeners;
	run->listeners = l;
	return loop_watch_add(&gw->loop, &l->w, fd, gw->paused ? 0 : EPOLLIN,
			      on_listener);
}

int gw_receive_listeners(struct gw *gw, struct gw_run *run, int chan)
{
	struct handoff_entry e[HANDOFF_FDS_MAX];
	int fds[HANDOFF_FDS_MAX];
	size_t n;
	int r = handoff_recv(chan, e, fds, HANDOFF_FDS_MAX, &n);

	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		int rr = gw_listener_add(gw, run, e[i].kind, e[i].port,
					 e[i].index, fds[i]);

		if (rr < 0 && r == 0)
			r = rr;
	}
	log_debug("gateway: %zu listeners from run %s", n, run->id);
	return r;
}

static void on_channel(struct loop_watch *w, uint32_t events)
{
	struct gw_process *p = container_of(w, struct gw_process, chan);
	int r = gw_receive_listeners(&p->gw, p->gw.runs, w->fd);

	if (r == 0)
		r = handoff_ack_send(w->fd);
	if (r < 0 && r != -EPIPE)
		log_error_errno(-r, "gateway: bad listener hand-over");
	/* one message per run; init closes its end after it */
	loop_watch_del(&p->gw.loop, w);
	close(w->fd);
}

static void on_signal(struct loop_watch *w, uint32_t events)
{
	struct gw *gw = container_of(w, struct gw, signals);
	struct signalfd_siginfo si;

	while (read(w->fd, &si, sizeof(si)) == sizeof(si))
		if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
			loop_stop(&gw->loop);
}

/* The round's audit records go out together, one write per round. */
static void on_round_end(struct loop *l)
{
	struct gw *gw = container_of(l, struct gw, loop);

	gw_audit_flush(&gw->audit);
}

int gw_init(struct gw *gw)
{
	int r;

	*gw = (struct gw){ 0 };
	r = loop_init(&gw->loop);
	if (r < 0)
		return r;
	loop_timer_list_init(&gw->loop, &gw->t_head, GW_HEAD_TIMEOUT_MS);
	loop_timer_list_init(&gw->loop, &gw->t_connect, GW_CONNECT_TIMEOUT_MS);
	loop_timer_list_init(&gw->loop, &gw->t_idle, GW_IDLE_TIMEOUT_MS);
	loop_timer_list_init(&gw->loop, &gw->t_linger, GW_LINGER_TIMEOUT_MS);
	loop_timer_list_init(&gw->loop, &gw->t_half,
			     GW_HALF_CLOSED_TIMEOUT_MS);
	loop_timer_list_init(&gw->loop, &gw->t_accept, GW_ACCEPT_RETRY_MS);
	gw->pipes = gw_pipes_new();
	gw->audit.fd = -1;
	gw->loop.round_end = on_round_end;
	return gw_resolver_start(gw);
}

void gw_fini(struct gw *gw)
{
	loop_timer_cancel(&gw->accept_retry);
	/* connections close (and are logged), runs end, then both are freed */
	while (gw->conns)
		gw_conn_close(gw->conns);
	for (struct gw_run *run = gw->runs, *next; run; run = next) {
		next = run->next;
		gw_run_end(run);
	}
	loop_release_deferred(&gw->loop);
	gw_audit_close(&gw->audit);
	gw_resolver_stop(gw);
	gw_pipes_free(gw->pipes);
	gw->pipes = NULL;
	for (size_t i = 0; i < gw->n_tokens; i++) {
		explicit_bzero(gw->tokens[i].token, strlen(gw->tokens[i].token));
		free(gw->tokens[i].token);
		free(gw->tokens[i].name);
	}
	free(gw->tokens);
	gw->tokens = NULL;
	gw->n_tokens = 0;
}

struct gw_run *gw_run_new(struct gw *gw, const struct policy *p,
			  const char *id)
{
	struct gw_run *run = xcalloc(1, sizeof(*run));

	if (gw_policy_build(&run->pol, p) < 0) {
		free(run);
		return NULL;
	}
	run->gw = gw;
	run->audit = &gw->audit;
	run->id = xstrdup(id ? id : "-");
	run->refs = 1; /* the attachment's own */
	run->next = gw->runs;
	gw->runs = run;
	return run;
}

void gw_run_end(struct gw_run *run)
{
	struct gw *gw = run->gw;

	if (run->ended)
		return;
	run->ended = true;
	while (run->listeners) {
		struct gw_listener *l = run->listeners;

		run->listeners = l->next;
		loop_watch_del(&gw->loop, &l->w);
		close(l->w.fd);
		free(l);
	}
	while (run->dns_udp) {
		struct gw_dns_udp *u = run->dns_udp;

		run->dns_udp = u->next;
		loop_watch_del(&gw->loop, &u->w);
		close(u->w.fd);
		free(u);
	}
	for (struct gw_conn *c = gw->conns, *next; c; c = next) {
		next = c->next;
		if (c->run == run)
			gw_conn_close(c);
	}
	gw_run_unref(run);
}

void gw_run_unref(struct gw_run *run)
{
	struct gw_run **pp;

	if (--run->refs > 0)
		return;
	for (pp = &run->gw->runs; *pp && *pp != run; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = run->next;
	gw_policy_free(&run->pol);
	gw_creds_free(run->creds);
	gw_tls_free(run->tls);
	free(run->dns_names);
	free(run->id);
	free(run);
}

/* Compares without an early exit, so timing tells nothing of the token. */
static bool secret_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char diff = (unsigned char)(la != lb);

	for (size_t i = 0; i < la; i++)
		diff |= (unsigned char)(a[i] ^ b[i % (lb ? lb : 1)]);
	return diff == 0;
}

const char *gw_token_check(const struct gw *gw, const char *user,
			   const char *token)
{
	const char *found = NULL;

	for (size_t i = 0; i < gw->n_tokens; i++) {
		bool name_ok = !user || streq(user, gw->tokens[i].name);

		if (secret_equal(token, gw->tokens[i].token) && name_ok && !found)
			found = gw->tokens[i].name;
	}
	return found;
}

int gw_signals(struct gw *gw)
{
	sigset_t mask;
	int fd;

	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (fd < 0)
		return -errno;
	return loop_watch_add(&gw->loop, &gw->signals, fd, EPOLLIN, on_signal);
}

void gw_raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
}

/* Closes every descriptor from 3 up but keep. */
static void close_others(int keep)
{
	if (keep > 3)
		close_range(3, (unsigned int)keep - 1, 0);
	close_range((unsigned int)keep + 1, ~0U, 0);
}

/*
 * Everything the gateway need not keep: the supervisor's descriptors (the
 * terminal, the sandbox's pty, trees), its session, its capabilities and
 * the right to be dumped or traced. stderr stays, for its log lines.
 */
static int gateway_detach(int chan)
{
	int null;

	close_others(chan);
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (setsid() < 0 || prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return -errno;
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		close(null);
	}
	gw_raise_fd_limit();
	if (geteuid() == 0) {
		int r = caps_drop_all();

		if (r < 0)
			return r;
	}
	return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ? -errno : 0;
}

/*
 * Reads the run's credentials and sets up TLS, then tells the supervisor
 * the placeholders (one message, possibly empty) when the policy has
 * credentials: it waits for them before the sandbox is made.
 */
static int run_secrets(struct gw_run *run, const struct gateway_run_opts *o,
		       int chan)
{
	_cleanup_free_ char *msg = NULL;
	size_t len;
	ssize_t n;

	if (gw_creds_load(run, o->policy) < 0)
		return -EINVAL;
	if (!run->creds)
		return 0;
	run->tls = gw_tls_new(o->policy, o->ca_cert, o->ca_key);
	if (!run->tls)
		return -EINVAL;
	if (!o->policy->n_credentials)
		return 0;
	len = gw_creds_placeholders(run->creds, &msg);
	{
		/* a kind byte first: an empty list is still a message */
		struct iovec iov[2] = {
			{ .iov_base = (void *)"P", .iov_len = 1 },
			{ .iov_base = msg, .iov_len = len },
		};
		struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };

		n = sendmsg(chan, &mh, MSG_NOSIGNAL);
	}
	if (msg)
		explicit_bzero(msg, len);
	return n == (ssize_t)len + 1 ? 0 : -EIO;
}

static __attribute__((noreturn)) void gateway_child(
	const struct gateway_run_opts *o, int chan, pid_t parent)
{
	struct gw_process p = { 0 };
	struct gw_run *run;
	int r;

	log_set_prefix("airlock[gateway]");
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 ||
	    getppid() != parent)
		_exit(1);
	r = gateway_detach(chan);
	if (r < 0) {
		log_error_errno(-r, "gateway: cannot drop privileges");
		_exit(1);
	}
	if (gw_init(&p.gw) < 0 ||
	    gw_signals(&p.gw) < 0) {
		log_error_errno(errno, "gateway: cannot start its event loop");
		_exit(1);
	}
	if (gw_audit_open(&p.gw.audit, o->audit_path) < 0)
		_exit(1);
	run = gw_run_new(&p.gw, o->policy, o->run_id);
	if (!run || run_secrets(run, o, chan) < 0)
		_exit(1);
	if (loop_watch_add(&p.gw.loop, &p.chan, chan, EPOLLIN, on_channel) < 0)
		_exit(1);
	r = loop_run(&p.gw.loop);
	/* the values are wiped before the process goes */
	gw_creds_free(run->creds);
	run->creds = NULL;
	gw_fini(&p.gw);
	leak_check_before_exit();
	_exit(r < 0 ? 1 : 0);
}

int gateway_channel(int *channel, int *peer)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		log_error_errno(errno, "cannot create the gateway's channel");
		return -errno;
	}
	*peer = sv[0];
	*channel = sv[1];
	return 0;
}

int gateway_spawn(const struct gateway_run_opts *o, int peer, pid_t *pid)
{
	pid_t parent = getpid(), child = fork();

	if (child < 0) {
		int e = errno;

		log_error_errno(e, "cannot start the gateway");
		close(peer);
		return -e;
	}
	if (child == 0)
		gateway_child(o, peer, parent); /* closes every other fd */
	close(peer);
	*pid = child;
	return 0;
}

int gateway_placeholders_wait(int channel, char **msg, size_t *len)
{
	/* big enough for every credential's placeholder with its header */
	size_t cap = 64 * (16384 + 8);
	char *buf = xmalloc(cap);
	ssize_t n;

	do
		n = recv(channel, buf, cap, MSG_TRUNC);
	while (n < 0 && errno == EINTR);
	if (n <= 0 || (size_t)n > cap || buf[0] != 'P') {
		free(buf);
		log_error("the gateway could not read the credentials (see "
			  "above); the command does not run without them");
		return n < 0 ? -errno : -EIO;
	}
	*len = (size_t)n - 1;
	memmove(buf, buf + 1, *len);
	*msg = buf;
	return 0;
}

/* ---- what the supervisor asks of the policy ---- */

static bool port_listed(const uint16_t *ports, size_t n, uint16_t port)
{
	for (size_t i = 0; i < n; i++)
		if (ports[i] == port)
			return true;
	return false;
}

static void port_add(uint16_t *ports, size_t *n, size_t max, uint16_t port,
		     const uint16_t *skip, size_t n_skip)
{
	if (*n < max && !port_listed(ports, *n, port) &&
	    !port_listed(skip, n_skip, port))
		ports[(*n)++] = port;
}

size_t gateway_capture_ports(const struct policy *p, uint16_t *ports,
			     size_t max, const uint16_t *skip, size_t n_skip)
{
	size_t n = 0;

	for (size_t i = 0; i < p->allowed_domains.len; i++) {
		struct host_pattern pat;
		const char *why;

		if (host_pattern_parse(p->allowed_domains.items[i], false, &pat,
				       &why) < 0)
			continue;
		if (pat.port) {
			port_add(ports, &n, max, pat.port, skip, n_skip);
			continue;
		}
		port_add(ports, &n, max, 80, skip, n_skip);
		port_add(ports, &n, max, 443, skip, n_skip);
	}
	return n;
}

char *gateway_no_proxy(const struct policy *p)
{
	static const char *const loopback[] = {
		"localhost", "127.0.0.1", "::1", NULL,
	};
	struct strv keep = { 0 };
	char *out;
	size_t len = 1;

	for (size_t i = 0; loopback[i]; i++) {
		struct host h;
		const char *why;
		bool allowed = false;

		host_canon(loopback[i], strlen(loopback[i]), &h, &why);
		for (size_t j = 0; j < p->allowed_domains.len && !allowed; j++) {
			struct host_pattern pat;

			if (host_pattern_parse(p->allowed_domains.items[j], false,
					       &pat, &why) == 0 &&
			    pat.kind == HOST_PATTERN_EXACT &&
			    streq(pat.host.text, h.text))
				allowed = true;
		}
		if (!allowed)
			strv_push(&keep, loopback[i]);
	}
	for (size_t i = 0; i < keep.len; i++)
		len += strlen(keep.items[i]) + 1;
	out = xcalloc(1, len);
	for (size_t i = 0; i < keep.len; i++) {
		if (i)
			strcat(out, ",");
		strcat(out, keep.items[i]);
	}
	strv_clear(&keep);
	return out;
}
