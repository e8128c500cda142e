/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The network policy as the gateway applies it: the allow and deny
 * patterns parsed once, the pinned names (network.hosts), the addresses
 * the policy names explicitly (network.allowAddresses), and the host's
 * own addresses, which are never dialled unless named.
 *
 * Order of a decision: the deny list first (any match refuses, whatever
 * the allow list says), then the allow list (no match refuses: an empty
 * allow list means no network). Then, once the name is resolved, every
 * address is vetted; the ones that survive are the only ones dialled.
 */
#include "config.h"

#include "gateway/gw.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "policy/policy.h"

static int rules_build(struct gw_rule **out, size_t *n,
		       const struct strv *list, bool deny,
		       const struct policy *p)
{
	*out = xcalloc(list->len ? list->len : 1, sizeof(**out));
	*n = 0;
	for (size_t i = 0; i < list->len; i++) {
		struct gw_rule *r = &(*out)[*n];
		const char *why;

		if (host_pattern_parse(list->items[i], deny, &r->pat, &why) < 0) {
			log_error("network.%s: \"%s\": %s",
				  deny ? "deniedDomains" : "allowedDomains",
				  list->items[i], why);
			return -EINVAL;
		}
		r->text = xstrdup(list->items[i]);
		for (size_t j = 0; deny && j < p->n_denied_domain_reasons; j++)
			if (streq(p->denied_domain_reasons[j].name, r->text))
				r->reason = xstrdup(
					p->denied_domain_reasons[j].value);
		(*n)++;
	}
	return 0;
}

/* Parses an IP address (no brackets, no port) into ss; 0 or -EINVAL. */
static int addr_parse(const char *s, struct sockaddr_storage *ss)
{
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, s, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		return 0;
	}
	return -EINVAL;
}

static int pins_build(struct gw_policy *gp, const struct policy *p)
{
	gp->pins = xcalloc(p->n_hosts ? p->n_hosts : 1, sizeof(*gp->pins));
	for (size_t i = 0; i < p->n_hosts; i++) {
		struct gw_pin *pin = &gp->pins[gp->n_pins];
		const struct policy_host *ph = &p->hosts[i];
		const char *why;

		if (host_canon(ph->name, strlen(ph->name), &pin->host, &why) < 0 ||
		    pin->host.kind != HOST_NAME) {
			log_error("network.hosts: \"%s\" is not a host name",
				  ph->name);
			return -EINVAL;
		}
		for (size_t j = 0; j < ph->addrs.len && pin->n < GW_ADDRS_MAX;
		     j++)
			if (addr_parse(ph->addrs.items[j], &pin->addrs[pin->n++]) < 0) {
				log_error("network.hosts.%s: \"%s\" is not an "
					  "IP address", ph->name,
					  ph->addrs.items[j]);
				return -EINVAL;
			}
		gp->n_pins++;
	}
	return 0;
}

/* Parses the address ranges of the list named key into *out. */
static int ranges_build(struct host_addr_range **out, size_t *n,
			const struct strv *list, const char *key)
{
	*out = xcalloc(list->len ? list->len : 1, sizeof(**out));
	*n = 0;
	for (size_t i = 0; i < list->len; i++) {
		const char *why;

		if (host_addr_range_parse(list->items[i], &(*out)[i], &why) < 0) {
			log_error("network.%s: \"%s\": %s", key, list->items[i],
				  why);
			return -EINVAL;
		}
		(*n)++;
	}
	return 0;
}

/* The host's own addresses: a service on any of them is a host service. */
static void own_addrs_build(struct gw_policy *gp)
{
	struct ifaddrs *list, *ifa;
	size_t n = 0;

	if (getifaddrs(&list) < 0) {
		log_warn_errno(errno, "cannot list the host's addresses");
		return;
	}
	for (ifa = list; ifa; ifa = ifa->ifa_next)
		if (ifa->ifa_addr && (ifa->ifa_addr->sa_family == AF_INET ||
				      ifa->ifa_addr->sa_family == AF_INET6))
			n++;
	gp->own = xcalloc(n ? n : 1, sizeof(*gp->own));
	for (ifa = list; ifa; ifa = ifa->ifa_next) {
		int family = ifa->ifa_addr ? ifa->ifa_addr->sa_family : 0;

		if (family != AF_INET && family != AF_INET6)
			continue;
		memcpy(&gp->own[gp->n_own++], ifa->ifa_addr,
		       family == AF_INET ? sizeof(struct sockaddr_in) :
					   sizeof(struct sockaddr_in6));
	}
	freeifaddrs(list);
}

/*
 * "http://HOST:PORT". A name is resolved here, once, when the gateway
 * starts: the parent proxy is the user's own choice, not the sandbox's.
 */
static int parent_build(struct gw_policy *gp, const struct policy *p)
{
	const char *s = p->parent_proxy, *host, *colon;
	_cleanup_free_ char *h = NULL;
	unsigned long long port;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;

	if (!s)
		return 0;
	if (strncmp(s, "http://", 7) == 0)
		s += 7;
	host = s;
	colon = strrchr(s, ':');
	if (!colon || parse_u64(colon + 1, &port) < 0 || port == 0 ||
	    port > 65535)
		goto bad;
	if (*host == '[' && colon > host + 1 && colon[-1] == ']')
		h = xstrndup(host + 1, (size_t)(colon - host - 2));
	else
		h = xstrndup(host, (size_t)(colon - host));
	if (addr_parse(h, &gp->parent) < 0) {
		if (getaddrinfo(h, NULL, &hints, &res) != 0 || !res) {
			log_error("network.parentProxy: cannot resolve %s", h);
			return -EINVAL;
		}
		memset(&gp->parent, 0, sizeof(gp->parent));
		memcpy(&gp->parent, res->ai_addr, res->ai_addrlen);
		freeaddrinfo(res);
	}
	gw_sockaddr_set_port(&gp->parent, (uint16_t)port);
	gp->has_parent = true;
	gp->parent_text = xstrdup(p->parent_proxy);
	return 0;
bad:
	log_error("network.parentProxy: \"%s\" is not http://ADDRESS:PORT",
		  p->parent_proxy);
	return -EINVAL;
}

int gw_policy_build(struct gw_policy *gp, const struct policy *p)
{
	int r;

	*gp = (struct gw_policy){ 0 };
	r = rules_build(&gp->allow, &gp->n_allow, &p->allowed_domains, false, p);
	if (r == 0)
		r = rules_build(&gp->deny, &gp->n_deny, &p->denied_domains, true,
				p);
	if (r == 0)
		r = pins_build(gp, p);
	if (r == 0)
		r = ranges_build(&gp->addr_ok, &gp->n_addr_ok,
				 &p->allow_addresses, "allowAddresses");
	if (r == 0)
		r = ranges_build(&gp->addr_no, &gp->n_addr_no,
				 &p->denied_resolved, "deniedResolvedAddresses");
	if (r == 0)
		r = parent_build(gp, p);
	if (r == 0)
		own_addrs_build(gp);
	return r;
}

static void rules_free(struct gw_rule *rules, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(rules[i].text);
		free(rules[i].reason);
	}
	free(rules);
}

void gw_policy_free(struct gw_policy *gp)
{
	rules_free(gp->allow, gp->n_allow);
	rules_free(gp->deny, gp->n_deny);
	free(gp->addr_ok);
	free(gp->addr_no);
	free(gp->pins);
	free(gp->own);
	free(gp->parent_text);
	*gp = (struct gw_policy){ 0 };
}

void gw_policy_decide(const struct gw_policy *gp, const struct host *h,
		      uint16_t port, struct gw_verdict *v)
{
	*v = (struct gw_verdict){ .rule = "default-deny" };

	for (size_t i = 0; i < gp->n_deny; i++) {
		if (!host_pattern_match(&gp->deny[i].pat, h, port, true))
			continue;
		v->rule = gp->deny[i].text;
		v->reason = gp->deny[i].reason ? gp->deny[i].reason :
						 "denied by policy";
		return;
	}
	for (size_t i = 0; i < gp->n_allow; i++) {
		if (!host_pattern_match(&gp->allow[i].pat, h, port, false))
			continue;
		v->allow = true;
		v->rule = gp->allow[i].text;
		v->addr_named = h->kind != HOST_NAME;
		return;
	}
	v->reason = gp->n_allow ? "not in the allowed domains" :
				  "no network: the allow list is empty";
}

/* A deny pattern without a port, or "*", refuses the name outright. */
bool gw_policy_name_allowed(const struct gw_policy *gp, const struct host *h)
{
	for (size_t i = 0; i < gp->n_deny; i++)
		if (gp->deny[i].pat.port == 0 &&
		    host_pattern_match(&gp->deny[i].pat, h, 80, true))
			return false;
	for (size_t i = 0; i < gp->n_allow; i++) {
		struct host_pattern any = gp->allow[i].pat;

		any.port = 0;
		if (host_pattern_match(&any, h, 80, false))
			return true;
	}
	return false;
}

const struct gw_pin *gw_policy_pin(const struct gw_policy *gp,
				   const struct host *h)
{
	for (size_t i = 0; i < gp->n_pins; i++)
		if (streq(gp->pins[i].host.text, h->text))
			return &gp->pins[i];
	return NULL;
}

static const void *sockaddr_ip(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return &((const struct sockaddr_in *)ss)->sin_addr;
	return &((const struct sockaddr_in6 *)ss)->sin6_addr;
}

static bool same_ip(const struct sockaddr_storage *a,
		    const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	return memcmp(sockaddr_ip(a), sockaddr_ip(b),
		      a->ss_family == AF_INET ? 4 : 16) == 0;
}

static bool addr_in(const struct host_addr_range *ranges, size_t n,
		    const struct sockaddr_storage *ss)
{
	for (size_t i = 0; i < n; i++)
		if (host_addr_range_contains(&ranges[i], ss->ss_family,
					     sockaddr_ip(ss)))
			return true;
	return false;
}

static bool addr_own(const struct gw_policy *gp,
		     const struct sockaddr_storage *ss)
{
	for (size_t i = 0; i < gp->n_own; i++)
		if (same_ip(&gp->own[i], ss))
			return true;
	return false;
}

size_t gw_policy_vet(const struct gw_policy *gp, const struct gw_verdict *v,
		     struct sockaddr_storage *addrs, size_t n,
		     const char **why)
{
	size_t kept = 0;

	*why = NULL;
	for (size_t i = 0; i < n; i++) {
		enum host_addr_class c = host_addr_classify(addrs[i].ss_family,
							    sockaddr_ip(&addrs[i]));
		bool named = v->addr_named ||
			     addr_in(gp->addr_ok, gp->n_addr_ok, &addrs[i]);

		/* the user's own deny list yields only to an allowed literal */
		if (!v->addr_named &&
		    addr_in(gp->addr_no, gp->n_addr_no, &addrs[i])) {
			*why = "deny-listed";
			continue;
		}
		if (!named && c != HOST_ADDR_PUBLIC) {
			*why = host_addr_class_name(c);
			continue;
		}
		if (!named && addr_own(gp, &addrs[i])) {
			*why = "this host's own";
			continue;
		}
		addrs[kept++] = addrs[i];
	}
	return kept;
}

void gw_sockaddr_text(const struct sockaddr_storage *ss, char *out,
		      size_t size)
{
	char ip[INET6_ADDRSTRLEN] = "?";

	inet_ntop(ss->ss_family, sockaddr_ip(ss), ip, sizeof(ip));
	if (ss->ss_family == AF_INET6)
		snprintf(out, size, "[%s]:%u", ip,
			 ntohs(((const struct sockaddr_in6 *)ss)->sin6_port));
	else
		snprintf(out, size, "%s:%u", ip,
			 ntohs(((const struct sockaddr_in *)ss)->sin_port));
}

void gw_sockaddr_set_port(struct sockaddr_storage *ss, uint16_t port)
{
	if (ss->ss_family == AF_INET6)
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
	else
		((struct sockaddr_in *)ss)->sin_port = htons(port);
}

void gw_run_decide(const struct gw_run *run, const struct host *h,
		   uint16_t port, struct gw_verdict *v)
{
	struct gw_verdict ceiling;

	gw_policy_decide(&run->pol, h, port, v);
	if (!v->allow || !run->ceiling)
		return;
	gw_policy_decide(run->ceiling, h, port, &ceiling);
	if (ceiling.allow) {
		v->addr_named = v->addr_named && ceiling.addr_named;
		return;
	}
	*v = ceiling;
	/* a deny rule's own reason is for the agent; a miss says where */
	if (streq(ceiling.rule, "default-deny"))
		v->reason = "not allowed by the shared gateway";
}

bool gw_run_name_allowed(const struct gw_run *run, const struct host *h)
{
	return gw_policy_name_allowed(&run->pol, h) &&
	       (!run->ceiling || gw_policy_name_allowed(run->ceiling, h));
}

const struct gw_pin *gw_run_pin(const struct gw_run *run,
				const struct host *h)
{
	const struct gw_pin *pin = gw_policy_pin(&run->pol, h);

	if (!pin && run->ceiling)
		pin = gw_policy_pin(run->ceiling, h);
	return pin;
}

size_t gw_run_vet(const struct gw_run *run, const struct gw_verdict *v,
		  struct sockaddr_storage *addrs, size_t n, const char **why)
{
	n = gw_policy_vet(&run->pol, v, addrs, n, why);
	if (n && run->ceiling)
		n = gw_policy_vet(run->ceiling, v, addrs, n, why);
	return n;
}
