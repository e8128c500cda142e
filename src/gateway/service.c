/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `airlock gateway`: the gateway as a long-lived service.
 *
 * On a Unix socket (mode 0600), `airlock run --gateway SOCKET` attaches a
 * run: it sends its network settings, the service checks that the peer
 * runs as the service's own user (or root), builds the run's policy under
 * the service's own as a ceiling (both must allow), answers, and then
 * takes the listeners that the run's sandbox hands over on the same
 * socket. When the run's supervisor closes the socket, the run ends.
 *
 * On TCP (`--listen HOST:PORT`), it is an ordinary HTTP and SOCKS5 proxy
 * (told apart by the first byte) under the service's policy, for
 * containers and VMs; beyond loopback it refuses to start without client
 * tokens.
 */
#include "config.h"

#include "gateway/gateway.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "gateway/gw.h"
#include "gateway/handoff.h"
#include "policy/policy.h"

#define ATTACH_MAGIC 0x41475731u /* "AGW1" */
#define ATTACH_TEXT_MAX_BYTES (192 * 1024)
#define ATTACH_REPLY_MAX_BYTES 512
#define ATTACH_TIMEOUT_SECONDS 10
#define TOKENS_FILE_MAX_BYTES (1024 * 1024)
#define SERVICE_BACKLOG 4096 /* the kernel caps it at somaxconn */

struct attach_header {
	uint32_t magic;
	uint32_t text_len;
	char run_id[64];
};

/* ---- the run's side ---- */

static int attach_reply(int fd)
{
	char reply[ATTACH_REPLY_MAX_BYTES + 1];
	ssize_t n = recv(fd, reply, sizeof(reply) - 1, 0);

	if (n < 0)
		return -errno;
	if (n == 0) {
		log_error("the shared gateway closed the connection");
		return -EPIPE;
	}
	reply[n] = '\0';
	if (streq(reply, "OK"))
		return 0;
	log_error("the shared gateway refused this run: %s",
		  strncmp(reply, "ERR ", 4) == 0 ? reply + 4 : "bad reply");
	return -EPERM;
}

int gateway_attach(const char *socket_path, const struct gateway_run_opts *o,
		   int *channel)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = ATTACH_TIMEOUT_SECONDS };
	_cleanup_free_ char *text = policy_network_settings(o->policy);
	_cleanup_free_ char *msg = NULL;
	_cleanup_close_ int fd = -1;
	struct attach_header h = { .magic = ATTACH_MAGIC };
	size_t len = strlen(text);
	int r;

	if (strlen(socket_path) >= sizeof(sa.sun_path) ||
	    len > ATTACH_TEXT_MAX_BYTES) {
		log_error("--gateway: socket path or settings too long");
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, socket_path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		log_error_errno(errno, "cannot reach the gateway at %s; is "
				"`airlock gateway --socket %s` running?",
				socket_path, socket_path);
		return -errno;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	h.text_len = (uint32_t)len;
	snprintf(h.run_id, sizeof(h.run_id), "%s", o->run_id ? o->run_id : "-");
	msg = xmalloc(sizeof(h) + len);
	memcpy(msg, &h, sizeof(h));
	memcpy(msg + sizeof(h), text, len);
	if (send(fd, msg, sizeof(h) + len, MSG_NOSIGNAL) < 0) {
		log_error_errno(errno, "cannot send the settings to the gateway");
		return -errno;
	}
	r = attach_reply(fd);
	if (r < 0)
		return r;
	tv.tv_sec = 0;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	*channel = steal_fd(&fd);
	return 0;
}

/* ---- the service ---- */

enum attach_phase {
	ATTACH_HELLO,     /* waiting for the run's settings */
	ATTACH_LISTENERS, /* waiting for the sandbox's listeners */
	ATTACH_RUNNING,   /* until the supervisor closes the socket */
};

struct service;

struct attachment {
	struct loop_watch w;
	struct service *srv;
	enum attach_phase phase;
	struct gw_run *run;
	uid_t uid;
	struct attachment *next; /* the service's list */
};

struct service {
	struct gw gw;
	struct gw_policy ceiling;
	const struct policy *policy;
	struct loop_watch unix_listen;
	struct attachment *attachments;
	const char *socket_path;
	bool stop;
};

static void attach_send(int fd, const char *text)
{
	if (send(fd, text, strlen(text), MSG_NOSIGNAL) < 0)
		log_debug_errno(errno, "gateway: cannot answer a run");
}

static void attachment_close(struct attachment *a)
{
	struct attachment **pp = &a->srv->attachments;

	while (*pp && *pp != a)
		pp = &(*pp)->next;
	if (*pp)
		*pp = a->next;
	if (a->run)
		gw_run_end(a->run);
	loop_watch_del(&a->srv->gw.loop, &a->w);
	close(a->w.fd);
	free(a);
}

/* The settings of a run; 0, or -1 after answering why not. */
static int attach_hello(struct attachment *a, const char *msg, size_t n)
{
	struct attach_header h;
	struct policy p = { 0 };
	struct policy_errors errs = { 0 };
	char id[sizeof(h.run_id) + 1], why[ATTACH_REPLY_MAX_BYTES];

	if (n < sizeof(h))
		return -1;
	memcpy(&h, msg, sizeof(h));
	if (h.magic != ATTACH_MAGIC || h.text_len != n - sizeof(h))
		return -1;
	memcpy(id, h.run_id, sizeof(h.run_id));
	id[sizeof(h.run_id)] = '\0';
	log_sanitize(id, sizeof(id), id);
	if (policy_load_text(&p, id, msg + sizeof(h), h.text_len, &errs) < 0) {
		snprintf(why, sizeof(why), "ERR settings: %s",
			 errs.len ? errs.items[0].message : "invalid");
		policy_errors_free(&errs);
		attach_send(a->w.fd, why);
		return -1;
	}
	a->run = gw_run_new(&a->srv->gw, &p, id);
	policy_free(&p);
	if (!a->run) {
		attach_send(a->w.fd, "ERR the settings cannot be applied");
		return -1;
	}
	a->run->ceiling = &a->srv->ceiling;
	attach_send(a->w.fd, "OK");
	log_info("gateway: run %s attached (uid %u)", id, a->uid);
	return 0;
}

static void on_attachment(struct loop_watch *w, uint32_t events)
{
	struct attachment *a = container_of(w, struct attachment, w);
	_cleanup_free_ char *msg = NULL;
	ssize_t n;

	if (a->phase == ATTACH_LISTENERS) {
		int r = gw_receive_listeners(&a->srv->gw, a->run, w->fd);

		if (r == 0)
			r = handoff_ack_send(w->fd);
		if (r < 0) {
			log_warn_errno(-r, "gateway: run %s: bad hand-over",
				       a->run->id);
			attachment_close(a);
			return;
		}
		a->phase = ATTACH_RUNNING;
		return;
	}
	msg = xmalloc(sizeof(struct attach_header) + ATTACH_TEXT_MAX_BYTES);
	n = recv(w->fd, msg, sizeof(struct attach_header) +
		 ATTACH_TEXT_MAX_BYTES, MSG_DONTWAIT);
	if (n < 0 && errno == EAGAIN)
		return;
	if (n <= 0 || a->phase == ATTACH_RUNNING) {
		if (a->run)
			log_info("gateway: run %s ended", a->run->id);
		attachment_close(a);
		return;
	}
	if (attach_hello(a, msg, (size_t)n) < 0) {
		attachment_close(a);
		return;
	}
	a->phase = ATTACH_LISTENERS;
}

/* Only the service's own user, or root, may attach a run. */
static bool peer_allowed(int fd, uid_t *uid)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return false;
	*uid = cred.uid;
	return cred.uid == geteuid() || cred.uid == 0;
}

static void on_unix_listen(struct loop_watch *w, uint32_t events)
{
	struct service *srv = container_of(w, struct service, unix_listen);
	struct attachment *a;
	uid_t uid = 0;
	int fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0)
		return;
	if (!peer_allowed(fd, &uid)) {
		log_warn("gateway: refused a run of uid %u", uid);
		attach_send(fd, "ERR not the gateway's user");
		close(fd);
		return;
	}
	a = xcalloc(1, sizeof(*a));
	a->srv = srv;
	a->uid = uid;
	if (loop_watch_add(&srv->gw.loop, &a->w, fd, EPOLLIN, on_attachment) < 0) {
		close(fd);
		free(a);
		return;
	}
	a->next = srv->attachments;
	srv->attachments = a;
}

/* True when something accepts connections on the socket at sa. */
static bool socket_answers(const struct sockaddr_un *sa)
{
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC,
					0);

	return fd >= 0 &&
	       connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0;
}

static int unix_listen_open(struct service *srv, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	mode_t old;
	int fd, r;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		log_error("--socket: path too long");
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	/* a socket left by a service that died is replaced; nothing else */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			log_error("--socket: %s exists and is not a socket", path);
			return -EEXIST;
		}
		if (socket_answers(&sa)) {
			log_error("--socket: another gateway serves %s", path);
			return -EADDRINUSE;
		}
		unlink(path);
	}
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	old = umask(0177);
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0 || listen(fd, SERVICE_BACKLOG) < 0) {
		r = -errno;
		log_error_errno(-r, "cannot listen on %s", path);
		close(fd);
		return r;
	}
	srv->socket_path = path;
	return loop_watch_add(&srv->gw.loop, &srv->unix_listen, fd, EPOLLIN,
			      on_unix_listen);
}

/* "HOST:PORT", "[V6]:PORT"; a loopback host needs no tokens. */
static int tcp_listen_open(struct service *srv, const char *spec,
			   struct gw_run *run)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICHOST | AI_PASSIVE };
	struct addrinfo *res = NULL;
	_cleanup_free_ char *host = NULL;
	const char *colon = strrchr(spec, ':');
	struct host h;
	const char *why;
	int fd, one = 1, r;

	if (!colon || colon == spec) {
		log_error("--listen: expected HOST:PORT, got \"%s\"", spec);
		return -EINVAL;
	}
	host = spec[0] == '[' && colon[-1] == ']' ?
		xstrndup(spec + 1, (size_t)(colon - spec - 2)) :
		xstrndup(spec, (size_t)(colon - spec));
	if (host_canon(host, strlen(host), &h, &why) < 0 || h.kind == HOST_NAME ||
	    getaddrinfo(host, colon + 1, &hints, &res) != 0) {
		log_error("--listen: \"%s\" is not an address and port", spec);
		return -EINVAL;
	}
	if (!srv->gw.n_tokens &&
	    host_addr_classify(h.kind == HOST_IPV4 ? AF_INET : AF_INET6,
			       h.kind == HOST_IPV4 ? (const void *)&h.v4 :
						     (const void *)&h.v6) !=
		    HOST_ADDR_LOOPBACK) {
		freeaddrinfo(res);
		log_error("--listen %s: beyond loopback, clients must "
			  "authenticate: give --tokens FILE", spec);
		return -EPERM;
	}
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
		    0);
	r = fd < 0 ? -errno : 0;
	if (r == 0)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (r == 0 && (bind(fd, res->ai_addr, res->ai_addrlen) < 0 ||
		       listen(fd, SERVICE_BACKLOG) < 0))
		r = -errno;
	freeaddrinfo(res);
	if (r < 0) {
		log_error_errno(-r, "cannot listen on %s", spec);
		if (fd >= 0)
			close(fd);
		return r;
	}
	return gw_listener_add(&srv->gw, run, GW_LISTEN_TCP, 0, 0, fd);
}

/* "NAME TOKEN" per line; '#' starts a comment. */
static int tokens_load(struct gw *gw, const char *path)
{
	_cleanup_free_ char *text = NULL;
	char *save = NULL;
	int r = read_file(path, TOKENS_FILE_MAX_BYTES, &text);

	if (r < 0) {
		log_error_errno(-r, "cannot read the tokens file %s", path);
		return r;
	}
	for (char *line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char name[64], token[256];

		if (line[0] == '#' || line[0] == '\0')
			continue;
		if (sscanf(line, "%63s %255s", name, token) != 2) {
			log_error("%s: each line is NAME TOKEN", path);
			return -EINVAL;
		}
		gw->tokens = xreallocarray(gw->tokens, gw->n_tokens + 1,
					   sizeof(*gw->tokens));
		gw->tokens[gw->n_tokens].name = xstrdup(name);
		gw->tokens[gw->n_tokens++].token = xstrdup(token);
		explicit_bzero(token, sizeof(token));
	}
	explicit_bzero(text, strlen(text));
	if (!gw->n_tokens) {
		log_error("%s holds no token", path);
		return -EINVAL;
	}
	return 0;
}

int gateway_serve(const struct gateway_serve_opts *o)
{
	struct service srv = { .policy = o->policy };
	struct gw_run *listen_run = NULL;
	int r = 0;

	if (!o->socket_path && !o->listen) {
		log_error("airlock gateway: give --socket PATH, --listen "
			  "HOST:PORT, or both");
		return AIRLOCK_EXIT_USAGE;
	}
	gw_raise_fd_limit();
	if (gw_init(&srv.gw) < 0) {
		log_error("gateway: cannot start its event loop");
		return 1;
	}
	if (gw_signals(&srv.gw) < 0 ||
	    gw_audit_open(&srv.gw.audit, o->audit_path) < 0 ||
	    gw_policy_build(&srv.ceiling, o->policy) < 0)
		r = -1;
	else if (o->tokens_path && tokens_load(&srv.gw, o->tokens_path) < 0)
		r = -1;
	else if (o->socket_path && unix_listen_open(&srv, o->socket_path) < 0)
		r = -1;
	if (r == 0 && o->listen) {
		listen_run = gw_run_new(&srv.gw, o->policy, "listen");
		if (!listen_run || tcp_listen_open(&srv, o->listen, listen_run) < 0)
			r = -1;
	}
	if (r == 0) {
		log_info("gateway: serving%s%s%s%s",
			 o->socket_path ? " runs on " : "",
			 o->socket_path ? o->socket_path : "",
			 o->listen ? ", proxy on " : "",
			 o->listen ? o->listen : "");
		r = loop_run(&srv.gw.loop);
	}
	if (srv.socket_path)
		unlink(srv.socket_path);
	while (srv.attachments)
		attachment_close(srv.attachments);
	gw_fini(&srv.gw);
	gw_policy_free(&srv.ceiling);
	return r < 0 ? 1 : 0;
}
