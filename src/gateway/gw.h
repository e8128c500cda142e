/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the gateway's files share: the policy as the gateway uses it, the
 * state of one sandbox (a run), the connections and their states, and the
 * functions each file provides to the others. Everything here lives in
 * the gateway process, outside the sandbox, and handles bytes from it.
 */
#ifndef AIRLOCK_GATEWAY_GW_H
#define AIRLOCK_GATEWAY_GW_H

#include <netinet/in.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "gateway/buf.h"
#include "gateway/host.h"
#include "gateway/http.h"
#include "gateway/loop.h"

struct policy;
struct gw_run;

/* Addresses kept per resolved name. */
#define GW_ADDRS_MAX 8
/* Names the DNS stub maps to addresses, per run. */
#define GW_DNS_MAP_MAX 16384
/* A request head may fill the client queue up to this. */
#define GW_QUEUE_MAX_BYTES HTTP_HEAD_MAX_BYTES
/* Bodies and tunnels move through queues of this size. */
#define GW_XFER_MAX_BYTES 65536

/* Time limits. */
#define GW_HEAD_TIMEOUT_MS 30000
#define GW_CONNECT_TIMEOUT_MS 10000
#define GW_IDLE_TIMEOUT_MS 600000
/* A refusal is flushed for at most this long before the close. */
#define GW_LINGER_TIMEOUT_MS 5000
/* A tunnel closed one way is closed for good after this long quiet: the
 * side that ended may be gone, and only a write would tell. */
#define GW_HALF_CLOSED_TIMEOUT_MS 30000
/* accept() out of descriptors: listening pauses this long. */
#define GW_ACCEPT_RETRY_MS 200

/* Concurrent connections per gateway; accepting pauses beyond it. */
#define GW_CONNS_MAX 16384

/* ---- policy (decide.c) ---- */

struct gw_rule {
	struct host_pattern pat;
	char *text;   /* as written in the settings */
	char *reason; /* deniedDomainReasons, deny rules only */
};

struct gw_pin {
	struct host host;
	struct sockaddr_storage addrs[GW_ADDRS_MAX];
	size_t n;
};

struct gw_policy {
	struct gw_rule *allow, *deny;
	size_t n_allow, n_deny;
	struct host_addr_range *addr_ok; /* network.allowAddresses */
	size_t n_addr_ok;
	struct host_addr_range *addr_no; /* deniedResolvedAddresses */
	size_t n_addr_no;
	struct gw_pin *pins;             /* network.hosts */
	size_t n_pins;
	struct sockaddr_storage *own;    /* the host's interface addresses */
	size_t n_own;
	bool has_parent;                 /* network.parentProxy */
	struct sockaddr_storage parent;
	char *parent_text;
};

/* The outcome of a policy check. */
struct gw_verdict {
	bool allow;
	const char *rule;   /* the pattern that decided, or a built-in name */
	const char *reason; /* for refusals: text the agent sees */
	bool addr_named;    /* an allowed IP literal: its address is vetted */
};

int gw_policy_build(struct gw_policy *gp, const struct policy *p);
/*
 * The checks of a run: its own policy, then the ceiling of a shared
 * gateway when there is one (both must allow; an address must be named
 * by both to pass a check it would fail).
 */
void gw_run_decide(const struct gw_run *run, const struct host *h,
		   uint16_t port, struct gw_verdict *v);
bool gw_run_name_allowed(const struct gw_run *run, const struct host *h);
const struct gw_pin *gw_run_pin(const struct gw_run *run,
				const struct host *h);
size_t gw_run_vet(const struct gw_run *run, const struct gw_verdict *v,
		  struct sockaddr_storage *addrs, size_t n, const char **why);
void gw_policy_free(struct gw_policy *gp);
/* Decides host:port against the deny list, then the allow list. */
void gw_policy_decide(const struct gw_policy *gp, const struct host *h,
		      uint16_t port, struct gw_verdict *v);
/* The DNS stub's question: may name be connected to on some port? */
bool gw_policy_name_allowed(const struct gw_policy *gp, const struct host *h);
/* Pinned addresses of a name (network.hosts), or NULL. */
const struct gw_pin *gw_policy_pin(const struct gw_policy *gp,
				   const struct host *h);
/*
 * Drops from addrs every address that must not be dialled (loopback,
 * private, metadata, the host's own, ...) unless the policy names it.
 * Returns how many are left; when none, *why says why.
 */
size_t gw_policy_vet(const struct gw_policy *gp, const struct gw_verdict *v,
		     struct sockaddr_storage *addrs, size_t n,
		     const char **why);

/* ---- audit (audit.c) ---- */

struct gw_audit {
	int fd;          /* -1: no log */
	struct buf pending;
};

/* One record; unset strings are left out, as are zero counts. */
struct gw_record {
	const char *run;      /* the run's id */
	const char *event;    /* "allow", "deny", "close", "request", "dns" */
	const char *proto;    /* "http", "connect", "socks5", "capture", "dns" */
	const char *client;
	const char *who;      /* --listen: the token's name */
	const char *host;
	uint16_t port;
	const char *sni;
	const char *method;
	const char *path;     /* without the query */
	const char *decision; /* "allow" or "deny" */
	const char *rule;
	const char *reason;
	const char *addr;     /* the address dialled or answered */
	const char *credential;
	const char *error;
	int status;
	uint64_t bytes_up, bytes_down;
	int64_t duration_ms;  /* -1: not a finished connection */
};

int gw_audit_open(struct gw_audit *a, const char *path);
void gw_audit_write(struct gw_audit *a, const struct gw_record *r);
/* Writes what is pending; called once per loop round. */
void gw_audit_flush(struct gw_audit *a);
void gw_audit_close(struct gw_audit *a);

/* ---- the gateway and its runs ---- */

struct gw;

struct gw_listener;
struct gw_dns_udp;
struct gw_creds;

/* One sandbox attached to the gateway, with its own policy and DNS map. */
struct gw_run {
	struct gw *gw;
	struct gw_policy pol;
	const struct gw_policy *ceiling; /* a shared gateway's own policy */
	struct gw_listener *listeners;
	struct gw_dns_udp *dns_udp;
	bool ended;             /* its sandbox is gone; freed at refs 0 */
	struct gw_audit *audit; /* the gateway's log, shared by its runs */
	char *id;
	struct host *dns_names; /* index i answers 198.18.0.0 + 1 + i */
	size_t n_dns;
	size_t dns_next;        /* next slot to reuse once the map is full */
	int refs;               /* listeners and connections using it */
	struct gw_creds *creds; /* credentials, rules, routes; NULL: none */
	struct gw_tls *tls;     /* termination and routes; NULL: none */
	struct gw_run *next;
};

/* Internal listener kind: `airlock gateway --listen` (HTTP or SOCKS5). */
#define GW_LISTEN_TCP 100

struct gw_listener {
	struct loop_watch w;
	struct gw_run *run;
	uint16_t kind; /* enum handoff_kind, or GW_LISTEN_TCP */
	uint16_t port;
	uint32_t index;
	struct gw_listener *next;
};

/* Client tokens of `airlock gateway --listen`. */
struct gw_token {
	char *name;
	char *token;
};

struct gw_resolver;
struct gw_pipe_pool;

struct gw {
	struct loop loop;
	struct loop_watch signals; /* SIGTERM, SIGINT: stop */
	struct gw_audit audit;
	struct gw_resolver *resolver;
	struct gw_pipe_pool *pipes;
	struct loop_timer_list t_head, t_connect, t_idle, t_linger, t_half;
	struct loop_timer_list t_accept;
	struct loop_timer accept_retry; /* listening resumes */
	struct gw_run *runs;
	struct gw_conn *conns;
	struct gw_token *tokens; /* NULL: no client authentication */
	size_t n_tokens;
	size_t n_conns;
	bool paused; /* accepting stopped: GW_CONNS_MAX, or no descriptors */
	int64_t accept_warned_ms; /* when "cannot accept" was last said */
};

/* ---- connections (conn.c) ---- */

enum gw_conn_kind {
	GW_CONN_HTTP,    /* explicit proxy */
	GW_CONN_ROUTE,   /* a base-URL route: plain HTTP to an HTTPS host */
	GW_CONN_SOCKS,
	GW_CONN_CAPTURE, /* transparent */
	GW_CONN_DNS_TCP,
};

enum gw_state {
	GW_ST_HTTP_HEAD,     /* reading a request head */
	GW_ST_SOCKS_HELLO,
	GW_ST_SOCKS_AUTH,
	GW_ST_SOCKS_REQUEST,
	GW_ST_RESOLVING,
	GW_ST_CONNECTING,
	GW_ST_PARENT,        /* CONNECT sent to the parent proxy */
	GW_ST_TUNNEL,        /* both ways; the first flight is inspected */
	GW_ST_HTTP_REQ_BODY, /* forwarding a request body */
	GW_ST_HTTP_RESP,     /* reading the response head */
	GW_ST_HTTP_RESP_BODY,
	GW_ST_DNS,
	GW_ST_SNIFF,         /* --listen: SOCKS5 or HTTP, by the first byte */
	GW_ST_LINGER,        /* flushing a refusal, then closing */
	GW_ST_CAPTURE_DENIED, /* refused before a byte: waiting to see HTTP */
	GW_ST_TLS,           /* TLS handshakes with the client and upstream */
	GW_ST_DEAD,
};

/* What was refused, which each protocol answers in its own way. */
enum gw_refusal {
	GW_REFUSE_POLICY,      /* 403, SOCKS "not allowed by ruleset" */
	GW_REFUSE_MISMATCH,    /* SNI, Host and target disagree: 403 */
	GW_REFUSE_BAD_REQUEST, /* 400 */
	GW_REFUSE_TOO_LARGE,   /* 431 */
	GW_REFUSE_VERSION,     /* 505 */
	GW_REFUSE_UNREACHABLE, /* 502, SOCKS "host unreachable" */
	GW_REFUSE_REFUSED,     /* 502, SOCKS "connection refused" */
	GW_REFUSE_TIMEOUT,     /* 504, SOCKS "TTL expired" */
	GW_REFUSE_UNSUPPORTED, /* 501, SOCKS "command not supported" */
	GW_REFUSE_AUTH,        /* 407: --listen wants a client token */
};

struct gw_side {
	struct loop_watch w;
	bool eof;    /* read side at end of file */
	bool shut;   /* our write side shut down */
	SSL *ssl;    /* terminated: bytes on this side go through TLS */
	bool tls_up; /* its handshake is done */
	struct buf *prefix; /* bytes read before TLS began (the ClientHello) */
	uint32_t want; /* events TLS waits for besides the engine's own */
};

/* One direction of a tunnel, moved with splice through a pooled pipe. */
struct gw_tunnel_dir {
	int pipe[2];      /* borrowed from the pool while bytes are in it */
	size_t in_pipe;
	bool blocked;     /* the destination refused more: wait for POLLOUT */
	bool done;        /* source at EOF and pipe drained: shut down */
};

enum gw_http_phase {
	GW_HTTP_IDLE,  /* response side: no request outstanding */
	GW_HTTP_HEAD,  /* waiting for (or routing) a head */
	GW_HTTP_BODY,  /* moving a body */
	GW_HTTP_DONE,
};

/* One request and its response at a time; see http-proxy.c. */
struct gw_http {
	enum gw_http_phase req, resp;
	enum http_framing req_framing, resp_framing;
	uint64_t req_left, resp_left;
	struct http_chunked req_chunk, resp_chunk;
	size_t req_approved;  /* bytes at the head of c->in cleared to send */
	size_t resp_approved; /* bytes at the head of c->up_in cleared */
	bool resp_started;    /* a byte of the response reached the client */
	char method[24];
	char *path;           /* for the audit, without the query */
	bool is_connect;      /* the request was CONNECT */
	bool per_request;     /* plain HTTP: each request is logged */
	bool client_keep_alive;
	bool resp_keep_alive;
	bool fixed_target;    /* capture or CONNECT: every Host must agree */
	bool close_after;     /* close once the response has been sent */
	int status;
	int64_t start_ms;
	uint64_t bytes_up, bytes_down;
};

struct gw_conn {
	struct loop_deferred dead;
	struct gw *gw;
	struct gw_run *run;
	enum gw_conn_kind kind;
	enum gw_state state;
	struct gw_side client, up;
	struct buf in;      /* from the client, not yet consumed */
	struct buf out;     /* to the client */
	struct buf up_in;   /* from upstream, not yet consumed */
	struct buf up_out;  /* to upstream */
	struct loop_timer timer;

	/* the target */
	struct host host;
	uint16_t port;
	char sni[256];
	struct gw_verdict verdict;
	struct sockaddr_storage addrs[GW_ADDRS_MAX];
	size_t n_addrs, addr_next;
	char addr_text[64];   /* the address dialled */
	char up_key[HOST_TEXT_MAX + 8]; /* host:port the upstream serves */

	/* tunnel */
	struct gw_tunnel_dir c2u, u2c;
	bool inspecting;      /* first client bytes not yet checked */

	/* HTTP */
	struct gw_http http;

	/* accounting for the audit */
	char client_text[64];
	const char *proto;
	int64_t start_ms;
	uint64_t bytes_up, bytes_down;
	int status;
	bool logged_open;
	const char *error;    /* why it ends early, for its close record */
	char error_text[96];

	/* a captured connection refused before it said anything */
	enum gw_refusal deferred_why;
	char deferred_reason[128];

	/* credentials (cred.c): which ones went upstream on this connection */
	uint64_t creds_used;  /* bit i: credential i */
	const struct gw_route *route; /* a base-URL route's connection */
	bool plain_secrets;   /* plain HTTP where the policy lets them go */
	size_t req_scanned;   /* request bytes checked for placeholders */
	size_t resp_scanned;  /* response bytes checked for real values */
	char tls_error[160];  /* why an upstream handshake failed */

	bool need_auth;       /* --listen with tokens: not yet authenticated */
	char who[64];         /* the token's name once authenticated */

	bool resolving;       /* a resolver job refers to this connection */
	bool zombie;          /* closed while resolving: freed by the job */
	struct gw_conn *prev, *next;
};

/* The gateway's setup and its runs (gateway.c). */
int gw_init(struct gw *gw);
void gw_fini(struct gw *gw);
/* A run with policy p; NULL after logging when p is not usable. */
struct gw_run *gw_run_new(struct gw *gw, const struct policy *p,
			  const char *id);
/* Ends a run: its listeners close, its connections are closed. */
void gw_run_end(struct gw_run *run);
/* Drops a reference; the run is freed once ended and unreferenced. */
void gw_run_unref(struct gw_run *run);
/* Receives a run's listeners from chan (one hand-over message). */
int gw_receive_listeners(struct gw *gw, struct gw_run *run, int chan);
/* Stops the loop on SIGTERM or SIGINT; ignores SIGHUP and SIGPIPE. */
int gw_signals(struct gw *gw);
/* Adds a listening socket fd of kind for run. */
int gw_listener_add(struct gw *gw, struct gw_run *run, uint16_t kind,
		    uint16_t port, uint32_t index, int fd);
/* The token name for a "NAME:TOKEN" or token, or NULL (constant time). */
const char *gw_token_check(const struct gw *gw, const char *user,
			   const char *token);

/* Accepts connections on a listener (conn.c). */
void gw_conn_accept(struct gw_listener *l);
/* Closes both sides and releases the connection after this round. */
void gw_conn_close(struct gw_conn *c);
/*
 * Checks host:port against the run's policy, then resolves, vets and
 * dials it; calls gw_conn_connected or refuses. c->host and c->port must
 * be set.
 */
void gw_conn_route(struct gw_conn *c);
/* Refuses in the way the connection's protocol understands, and logs. */
void gw_conn_refuse(struct gw_conn *c, enum gw_refusal why,
		    const char *reason);
/* Fills r with what c knows: run, client, target, address dialled. */
void gw_conn_record(const struct gw_conn *c, struct gw_record *r,
		    const char *event);
/* Writes a deny record for c with the verdict or reason. */
void gw_conn_log_deny(struct gw_conn *c, const char *rule,
		      const char *reason);
/* Fills client_text and the start time (conn.c). */
void gw_conn_log_close(struct gw_conn *c, const char *error);
/* As many descriptors as allowed: each tunnel needs two, plus pipes. */
void gw_raise_fd_limit(void);
/* Restarts the idle timer (activity seen). */
void gw_conn_touch(struct gw_conn *c);
/* The same for a tunnel that one side has ended. */
void gw_conn_touch_half_closed(struct gw_conn *c);
/* The error pending on socket fd (SO_ERROR), 0 for none. */
int gw_sock_error(int fd);
/* Notes, for the records, that side s (of c) failed with err. */
void gw_conn_side_failed(struct gw_conn *c, const struct gw_side *s, int err);
/* Notes, for the records, why c ends early (text is copied). */
void gw_conn_set_error(struct gw_conn *c, const char *text);
/* (Re)starts the connection's timer in list. */
void gw_conn_arm(struct gw_conn *c, struct loop_timer_list *list);
/*
 * Sends what c->out holds, then shuts the write side and drains what the
 * client still sends until it closes or the linger time ends, so that a
 * refusal is read before the connection goes (a close with unread bytes
 * would reset it and lose the refusal).
 */
void gw_conn_linger(struct gw_conn *c);

/* Called by conn.c once upstream is connected: per protocol. */
void gw_http_connected(struct gw_conn *c);
void gw_socks_connected(struct gw_conn *c);
void gw_capture_connected(struct gw_conn *c);

/* Event handlers per state family. */
void gw_http_on_client(struct gw_conn *c, uint32_t events);
void gw_http_on_up(struct gw_conn *c, uint32_t events);
/* True while a request awaits or receives its response. */
static inline bool gw_http_under_way(const struct gw_http *x)
{
	return x->resp == GW_HTTP_HEAD || x->resp == GW_HTTP_BODY;
}
/* Records the request under way on c as cut short, with c->error. */
void gw_http_log_cut(struct gw_conn *c);
void gw_http_refuse(struct gw_conn *c, enum gw_refusal why,
		    const char *reason);
/* Starts the HTTP engine on a connection whose target is fixed. */
void gw_http_begin_fixed(struct gw_conn *c);
void gw_socks_on_client(struct gw_conn *c, uint32_t events);
void gw_socks_refuse(struct gw_conn *c, enum gw_refusal why);
void gw_dns_tcp_on_client(struct gw_conn *c, uint32_t events);
/* Sets the target of a captured connection from its local address. */
bool gw_capture_target(struct gw_conn *c);
/*
 * Refuses a captured connection that has sent nothing yet: its first
 * bytes are awaited (within the head timeout), and a plain HTTP request
 * gets the refusal as a response; anything else is closed.
 */
void gw_capture_refuse(struct gw_conn *c, enum gw_refusal why,
		       const char *reason);
void gw_capture_on_denied(struct gw_conn *c, uint32_t events);

/* ---- tunnels (tunnel.c) ---- */

struct gw_pipe_pool *gw_pipes_new(void);
void gw_pipes_free(struct gw_pipe_pool *pool);
/* Starts moving bytes both ways; inspect: check the first client bytes. */
void gw_tunnel_start(struct gw_conn *c, bool inspect);
void gw_tunnel_on_event(struct gw_conn *c, bool client_side, uint32_t ev);
/* Returns the pipes of a closing connection to the pool. */
void gw_tunnel_release(struct gw_conn *c);
/*
 * True when p starts like an HTTP request line (an upper-case method and
 * a space); *more is set when len bytes are too few to tell.
 */
bool gw_tunnel_looks_like_http(const char *p, size_t len, bool *more);

/* ---- credentials, request rules and routes (cred.c) ---- */

struct gw_route {
	char *name;
	struct host host;
	uint16_t port;
	char *base;       /* the upstream's path prefix, "" for none */
	char *authority;  /* the Host header sent upstream */
};

/*
 * Builds run->creds from the policy: reads each credential's real value
 * (never logged), makes its placeholder, compiles the request rules and
 * routes. Returns 0, or -errno after logging (a credential that cannot be
 * read fails the run unless it is optional).
 */
int gw_creds_load(struct gw_run *run, const struct policy *p);
void gw_creds_free(struct gw_creds *cr);
/*
 * The placeholders for the sandbox, as one message: per credential shown
 * inside, its index in the policy (u32), the length (u32) and the bytes.
 * Returns the length; *out is the caller's to free (and wipe).
 */
size_t gw_creds_placeholders(const struct gw_creds *cr, char **out);
/* True when connections to host:port must be terminated to be checked. */
bool gw_creds_need_tls(const struct gw_run *run, const struct host *h,
		       uint16_t port);
const struct gw_route *gw_creds_route(const struct gw_run *run, uint32_t i);
/*
 * Checks a request head against the request rules and the credentials,
 * and writes it, rewritten, to upstream: placeholders replaced by real
 * values where bound, injected headers added. On a refusal returns false
 * with *rule and *reason set and nothing queued.
 */
bool gw_creds_request(struct gw_conn *c, const struct http_head *h,
		      struct http_slice path, const char **rule,
		      const char **reason, char *reason_buf, size_t size);
/*
 * Scans request body bytes about to go upstream ([c->req_scanned, n) of
 * c->in): placeholders bound here are replaced in place when the policy
 * says so, a placeholder for elsewhere refuses. Returns how many bytes
 * may go (a placeholder may still be arriving at the end), or -1 on a
 * refusal with *reason set.
 */
ssize_t gw_creds_request_body(struct gw_conn *c, size_t n, bool last,
			      const char **reason);
/*
 * Replaces real values that a response echoes with their placeholders in
 * [c->resp_scanned, n) of c->up_in; returns how many bytes may go.
 */
size_t gw_creds_response(struct gw_conn *c, size_t n, bool last);
/* The random characters a placeholder the sandbox holds needs. */
#define GW_PLACEHOLDER_RANDOM_MIN 16
/*
 * A placeholder for the value v (len bytes): the same length, the prefix
 * kept, each other letter or digit drawn at random from its class. 0, or
 * -EINVAL when fewer than min_random characters would be random.
 */
int gw_placeholder_make(const char *v, size_t len, size_t min_random,
			char **out);
/*
 * True when a request path (up to '?' or '#') has no dot or empty
 * segments and no escaped '/', '.' or '\': it means the same to every
 * server, so prefixes can be compared.
 */
bool gw_path_plain(const char *p, size_t len);
/* True when path is prefix, or below it ("/v1/messages" and ".../x"). */
bool gw_path_under(const char *path, size_t len, const char *prefix);
/* The names of the credentials used on c, for the audit (or NULL). */
const char *gw_creds_names(const struct gw_conn *c, char *buf, size_t size);

/* ---- TLS termination (tls.c) ---- */

struct gw_tls;
/* The run's TLS contexts; the CA's files come from the policy or the user. */
struct gw_tls *gw_tls_new(const struct policy *p, const char *ca_cert,
			  const char *ca_key);
void gw_tls_free(struct gw_tls *t);
/* Terminates a tunnel whose ClientHello is in c->in. */
void gw_tls_start(struct gw_conn *c);
/* A route: TLS toward upstream only. */
void gw_tls_start_upstream(struct gw_conn *c);
void gw_tls_on_event(struct gw_conn *c, bool client_side, uint32_t events);
/*
 * I/O on a side, through its TLS when it has one. read: bytes read, 0 at
 * end of file, -EAGAIN, -ENOBUFS when b is full, or -errno. send: bytes
 * sent, -EAGAIN, or -errno.
 */
ssize_t gw_side_read(struct gw_side *s, struct buf *b, size_t max);
ssize_t gw_side_send(struct gw_side *s, const void *p, size_t n);
/* True when TLS holds decrypted bytes not yet read. */
bool gw_side_pending(const struct gw_side *s);
/* Sends close_notify (once, without waiting) and frees the TLS state. */
void gw_side_tls_end(struct gw_side *s, bool notify);

/* ---- the DNS stub (dns-stub.c) ---- */

/* One datagram socket of the stub. */
struct gw_dns_udp {
	struct loop_watch w;
	struct gw_run *run;
	struct gw_dns_udp *next;
};
void gw_dns_udp_on_event(struct loop_watch *w, uint32_t events);
/*
 * Answers one DNS query (msg, len) for run into out (cap bytes); returns
 * the response length, or 0 to send nothing.
 */
size_t gw_dns_answer(struct gw_run *run, const uint8_t *msg, size_t len,
		     uint8_t *out, size_t cap, const char *client);
/* The name the stub mapped to a captured IPv4 address, or NULL. */
const struct host *gw_dns_lookup(const struct gw_run *run,
				 const struct in_addr *a);

/* ---- the resolver (resolve.c) ---- */

struct gw_resolve_job {
	struct gw_resolve_job *next;
	char name[HOST_TEXT_MAX + 1];
	int err;          /* 0, or an EAI_* code */
	struct sockaddr_storage addrs[GW_ADDRS_MAX];
	size_t n;
	struct gw_conn *conn;
};

int gw_resolver_start(struct gw *gw);
void gw_resolver_stop(struct gw *gw);
/* Resolves c->host in a worker thread; c->resolving stays set until done. */
void gw_resolver_submit(struct gw *gw, struct gw_conn *c);

/* ---- helpers ---- */

/* "a.b.c.d:port" or "[v6]:port" */
void gw_sockaddr_text(const struct sockaddr_storage *ss, char *out,
		      size_t size);
/* Sets the port of an address. */
void gw_sockaddr_set_port(struct sockaddr_storage *ss, uint16_t port);

#endif
