/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The sandbox: what `airlock run` builds around a command. The supervisor
 * (outside) plans the root, creates the namespaces and relays the terminal;
 * the sandbox's init (pid 1 inside) assembles the root, serves the
 * protected-path checks and reaps; CMD runs with nothing left to give up.
 */
#ifndef AIRLOCK_SANDBOX_H
#define AIRLOCK_SANDBOX_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "common/strv.h"
#include "policy/policy.h"

/* Exit statuses of `airlock run` that are not CMD's own. */
#define AIRLOCK_EXIT_TIMEOUT 124
#define AIRLOCK_EXIT_SETUP 125
#define AIRLOCK_EXIT_NOEXEC 126
#define AIRLOCK_EXIT_NOTFOUND 127

/* Inside uid and gid when airlock is started by root. */
#define SANDBOX_ROOT_INSIDE_ID 1000
/* The host uid and gid they stand for (the overflow "nobody"). */
#define SANDBOX_ROOT_OUTSIDE_ID 65534

/* One step of assembling the root, in the order they are applied. */
enum mount_kind {
	MOUNT_BIND_RO,  /* host path, read-only, nosuid, nodev */
	MOUNT_BIND_RW,  /* host path, writable, nosuid, nodev */
	MOUNT_MASK,     /* replaced by an empty file or folder */
	MOUNT_TMPFS,    /* fresh writable tmpfs */
	MOUNT_PROC,     /* fresh proc, kernel knobs read-only */
	MOUNT_DEV,      /* minimal /dev */
	MOUNT_SYS,      /* fresh sysfs, read-only */
	MOUNT_SYMLINK,  /* a symlink recreated on the root tmpfs */
	MOUNT_FILE,     /* a generated read-only file (source: its text) */
	MOUNT_OVERLAY,  /* host path as the lower layer of a fresh overlay */
};

struct mount_entry {
	enum mount_kind kind;
	char *path;     /* where it appears inside (absolute) */
	char *source;   /* host path for binds, target for symlinks */
	bool is_dir;    /* for masks: folder rather than file */
	int tree_fd;    /* root mode: idmapped detached tree, else -1 */
};

struct mount_plan {
	struct mount_entry *items;
	size_t len;
	size_t cap;
	/* writable roots, inside paths, for the protected-path checks */
	struct strv writable;
	/* protected paths (existing or not) and their ancestors, inside */
	struct strv protected_paths;
	struct strv protected_parents;
	/* owner of the fresh tmpfs mounts, as CMD sees it */
	uid_t uid;
	gid_t gid;
	/*
	 * The folder holding the overlay's upper/ and work/ (NULL: a tmpfs
	 * that dies with the sandbox); overlay_ready when the supervisor
	 * made the overlay mount itself (root), so init only attaches it.
	 */
	char *layers;
	bool overlay_ready;
};

/* Identity of CMD and how it maps to the host. */
struct sandbox_ids {
	bool as_root;       /* started by root: remap, idmap writable binds */
	uid_t outside_uid;  /* the caller's uid */
	gid_t outside_gid;
	uid_t inside_uid;   /* what CMD sees */
	gid_t inside_gid;
};

/* Ports inside the sandbox where the gateway listens (net.c). */
#define NET_HTTP_PROXY_PORT 3128
#define NET_SOCKS_PORT 1080
#define NET_DNS_PORT 53
#define NET_CAPTURE_PORTS_MAX 32
#define NET_ROUTES_MAX 16

/* The sandbox's way out, as init sets it up. */
struct net_config {
	int gateway_fd;   /* channel to the gateway; -1: loopback only */
	uint16_t http_port;
	uint16_t socks_port;
	uint16_t capture[NET_CAPTURE_PORTS_MAX]; /* transparent ports */
	size_t n_capture;
	uint16_t routes[NET_ROUTES_MAX];         /* base-URL route ports */
	size_t n_routes;
};

/* How CMD's writes reach the workspace (--workspace-mode). */
enum workspace_mode {
	WORKSPACE_LIVE,    /* straight into the real tree */
	WORKSPACE_OVERLAY, /* into an upper layer kept for review */
	WORKSPACE_TMPFS,   /* into an upper layer thrown away at exit */
	WORKSPACE_RO,      /* nowhere: the workspace is read-only */
};

/* Everything `airlock run` needs, prepared by the CLI. */
struct sandbox_config {
	const struct policy *policy;
	char *const *argv;     /* CMD and its arguments */
	struct strv env;       /* CMD's whole environment, NAME=VALUE */
	bool dry_run;
	bool no_network;       /* no gateway: loopback only */
	const char *gateway_socket; /* a shared `airlock gateway`, or NULL */
	const char *audit_path;     /* the audit log, or NULL for none */
	const char *run_id;         /* recorded in the audit log */
	enum workspace_mode workspace_mode;
	const char *layers;         /* overlay: holds upper/ and work/ */
	/* the CA the gateway signs its leaves with; NULL: no termination */
	const char *ca_cert;
	const char *ca_key;
	/*
	 * Called by the supervisor once CMD has run for a moment (not at all
	 * when it ends sooner), while the supervisor would only wait; and
	 * once its exit status is known, while the sandbox is torn down.
	 * Both get hook_ctx.
	 */
	void (*started)(void *ctx);
	void (*ended)(void *ctx, int status);
	void *hook_ctx;
	struct net_config net; /* filled by sandbox_run */
};

/*
 * Runs cfg->argv in a new sandbox and waits for it. Returns the exit status
 * for airlock itself: CMD's code, 128+signal, or one of AIRLOCK_EXIT_*.
 * Every failure is reported on stderr before returning.
 */
int sandbox_run(struct sandbox_config *cfg);

/* ids.c-like helpers living in userns.c */
void sandbox_ids_init(struct sandbox_ids *ids);
/*
 * Writes uid_map, gid_map (and setgroups) of pid's new user namespace.
 * Returns 0 or -errno.
 */
int userns_write_maps(pid_t pid, const struct sandbox_ids *ids);
/*
 * Root only: opens path as a detached, idmapped, writable tree whose files
 * owned by the path's owner appear owned by the sandbox's uid. Returns the
 * tree fd or -errno.
 */
int userns_open_idmapped_tree(const char *path);

/* mount.c */
int mount_plan_build(struct mount_plan *plan, const struct policy *p,
		     const struct sandbox_ids *ids);
/*
 * Root only, in the supervisor: opens every bind's source tree with the
 * caller's privileges (idmapped for the writable ones), so that the
 * sandbox, which runs as an unprivileged id, never needs to reach them.
 */
int mount_plan_open_trees(struct mount_plan *plan);
/*
 * Turns the workspace's writable bind into an overlay: the workspace is
 * the lower layer, and what CMD writes lands in layers/upper (layers/work
 * beside it), or on a private tmpfs when layers is NULL. Returns 0, or
 * -ENOENT when the plan has no writable workspace to overlay.
 */
int mount_plan_use_overlay(struct mount_plan *plan, const char *workspace,
			   const char *layers);
/*
 * Adds a generated file with text bound read-only over path (for
 * /etc/resolv.conf and the CA bundle). When path is a symlink, the file
 * goes where the link points: on the sandbox's fresh /run or /tmp, or the
 * existing target.
 */
void mount_plan_add_file(struct mount_plan *plan, const char *path,
			 const char *text);
void mount_plan_print(const struct mount_plan *plan, FILE *f);
void mount_plan_free(struct mount_plan *plan);
/*
 * In the sandbox's init, with its own mount namespace: assembles the root
 * from plan and enters it with pivot_root, then changes to cwd (else to
 * the workspace, when cwd is not visible inside). Returns 0
 * or -errno after logging what failed.
 */
int mount_plan_apply(const struct mount_plan *plan, const char *cwd,
		     const char *workspace);

/* env.c */
/*
 * Builds CMD's environment from the caller's (envp) and the policy: the
 * keep list, names the policy passes, values it sets, TMPDIR=/tmp.
 * Secret-looking names are dropped unless named; dropped names are
 * reported at debug level (names only).
 */
void env_build(struct strv *out, char *const *envp, const struct policy *p);
/* Sets NAME=value in out, replacing an earlier NAME. */
void env_put(struct strv *out, const char *name, const char *value);
/* Removes NAME from out (its value wiped). */
void env_unset(struct strv *out, const char *name);

/* creds.c */
/*
 * Plans what credentials, request rules and routes need inside: the
 * route ports and their variables, no real value in the environment, and
 * where TLS is terminated (cfg->ca_cert set), the CA trusted: the bundle
 * bound over the system's, the variables tools read. Returns 0 or -errno
 * after logging.
 */
int creds_plan(struct sandbox_config *cfg, struct mount_plan *plan);
/*
 * Puts the gateway's placeholders (gateway_placeholders_wait) where the
 * policy shows them: variables and files. Returns 0 or -EINVAL.
 */
int creds_place(struct sandbox_config *cfg, struct mount_plan *plan,
		const char *msg, size_t len);

/* caps.c */
/* Empties every capability set of the calling thread. 0 or -errno. */
int caps_drop_all(void);
/*
 * Keeps only CAP_SYS_PTRACE (permitted and effective) and drops the
 * bounding set and ambient set: what init needs to read CMD's memory.
 */
int caps_keep_ptrace_only(void);
/* Raises every permitted capability into the effective set. */
int caps_raise_all(void);

/* limits.c */
struct limits_state {
	int cgroup_fd;     /* delegated cgroup for the run, or -1 */
	char *cgroup_path; /* its path, to remove at the end */
	bool use_rlimits;
};
/* Decides between a delegated cgroup v2 and rlimits; logs which at -v. */
int limits_prepare(struct limits_state *st, const struct policy_limits *l);
/* In CMD before exec: applies the rlimits. 0 or -errno. */
int limits_apply_rlimits(const struct policy_limits *l, bool with_cgroup);
/* Kills what is left in the cgroup and removes it. */
void limits_cleanup(struct limits_state *st);

/* landlock.c */
/*
 * Restricts the calling process with Landlock: read everywhere the plan
 * allows, write only to the writable roots, /tmp and /dev; no TCP bind,
 * and TCP connect only to the n ports given (the gateway's listeners).
 * With local_network, TCP is not restricted. Returns the ABI used (0 when
 * the kernel has no Landlock, after a note at -v), or -errno.
 */
int landlock_apply(const struct mount_plan *plan, bool local_network,
		   const uint16_t *ports, size_t n);

/* net.c */
/*
 * In init, with the capabilities of the sandbox's user namespace: routes
 * every address to loopback, creates the gateway's listeners and hands
 * them over on nc->gateway_fd. Returns 0 or -errno after logging.
 */
int net_setup_inside(const struct net_config *nc);
/* The TCP ports CMD may connect to (for Landlock); returns the count. */
size_t net_connect_ports(const struct net_config *nc, uint16_t *ports,
			 size_t max);
/*
 * Adds the variables that point clients at the gateway (HTTP_PROXY and
 * friends, and the ones tools read on their own) to env. no_proxy is the
 * NO_PROXY list; the caller leaves out of it every loopback name the
 * policy allows, so that such a target still goes through the proxy
 * rather than into the sandbox's own empty loopback.
 */
void env_add_proxy(struct strv *env, const struct net_config *nc,
		   const char *no_proxy);

/* seccomp.c */
/* Installs the deny-list filter. 0 or -errno. */
int seccomp_apply_filter(const struct policy *p);
/*
 * Installs the user-notification filter for calls that create names and
 * returns its listener fd, or -errno.
 */
int seccomp_apply_notify(void);
/* Writes a description of both filters for --dry-run. */
void seccomp_describe(const struct policy *p, FILE *f);

/* protect.c */
/*
 * init's side of the protected-path check: answers one pending
 * notification on listener. Returns 0, or -errno when the listener is
 * gone.
 */
int protect_handle(int listener, const struct mount_plan *plan);

/* pty.c */
struct pty_relay {
	int master;      /* -1 when no terminal */
	int slave;
	bool raw_set;    /* outer terminal switched to raw mode */
	char saved[64];  /* struct termios, opaque here */
};
/* Opens a pty pair sized like stdin's terminal when stdin is a tty. */
int pty_open(struct pty_relay *pty);
/* Copies the outer window size to the inner terminal. */
void pty_sync_size(struct pty_relay *pty);
/* Moves available bytes; returns false when the inner side closed. */
bool pty_relay_in(struct pty_relay *pty);
bool pty_relay_out(struct pty_relay *pty);
void pty_restore(struct pty_relay *pty);

/* init.c */
struct init_args {
	const struct sandbox_config *cfg;
	const struct mount_plan *plan;
	const struct sandbox_ids *ids;
	const char *cwd;
	int sync_fd;   /* supervisor -> init: maps written */
	int ready_fd;  /* init -> supervisor: 'R' when CMD has started, then
			  CMD's exit code once nothing is left inside */
	int pty_slave; /* -1 without a terminal */
	bool with_cgroup; /* memory and processes limited by a cgroup */
};
/* Body of pid 1 in the sandbox; never returns. */
__attribute__((noreturn)) void init_main(const struct init_args *a);

#endif
