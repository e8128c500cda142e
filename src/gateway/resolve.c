/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Name resolution for the gateway, off the event loop: getaddrinfo blocks,
 * so a few worker threads run it and hand results back through an
 * eventfd. The workers touch only their job (a name in, addresses out);
 * the policy checks on the result happen back on the loop thread.
 *
 * A connection closed while its job runs is not freed: it is marked a
 * zombie and released when the job comes back, so a worker never writes
 * into freed memory.
 */
#include "config.h"

#include "gateway/gw.h"

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"

#define RESOLVER_THREADS 4

struct gw_resolver {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct gw_resolve_job *todo, *todo_tail;
	struct gw_resolve_job *done;
	bool stopping;
	int efd;
	struct loop_watch w;
	pthread_t threads[RESOLVER_THREADS];
	size_t n_threads;
	struct gw *gw;
};

void gw_conn_resolved(struct gw_conn *c, struct gw_resolve_job *job);

static void job_run(struct gw_resolve_job *job)
{
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_ADDRCONFIG,
	};
	struct addrinfo *res = NULL;

	job->n = 0;
	job->err = getaddrinfo(job->name, NULL, &hints, &res);
	for (struct addrinfo *ai = res; ai && job->n < GW_ADDRS_MAX;
	     ai = ai->ai_next) {
		if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
			continue;
		memset(&job->addrs[job->n], 0, sizeof(job->addrs[0]));
		memcpy(&job->addrs[job->n++], ai->ai_addr, ai->ai_addrlen);
	}
	if (res)
		freeaddrinfo(res);
}

static void *worker(void *arg)
{
	struct gw_resolver *r = arg;
	uint64_t one = 1;

	pthread_mutex_lock(&r->lock);
	for (;;) {
		struct gw_resolve_job *job;

		while (!r->todo && !r->stopping)
			pthread_cond_wait(&r->wake, &r->lock);
		if (r->stopping)
			break;
		job = r->todo;
		r->todo = job->next;
		if (!r->todo)
			r->todo_tail = NULL;
		pthread_mutex_unlock(&r->lock);

		job_run(job);

		pthread_mutex_lock(&r->lock);
		job->next = r->done;
		r->done = job;
		if (write(r->efd, &one, sizeof(one)) < 0)
			log_debug_errno(errno, "resolver: cannot wake the loop");
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

static void on_done(struct loop_watch *w, uint32_t events)
{
	struct gw_resolver *r = container_of(w, struct gw_resolver, w);
	struct gw_resolve_job *list;
	uint64_t count;

	if (read(r->efd, &count, sizeof(count)) < 0)
		return;
	pthread_mutex_lock(&r->lock);
	list = r->done;
	r->done = NULL;
	pthread_mutex_unlock(&r->lock);

	while (list) {
		struct gw_resolve_job *job = list;

		list = job->next;
		gw_conn_resolved(job->conn, job);
		free(job);
	}
}

int gw_resolver_start(struct gw *gw)
{
	struct gw_resolver *r = xcalloc(1, sizeof(*r));
	int e;

	r->gw = gw;
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->wake, NULL);
	r->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (r->efd < 0 ||
	    loop_watch_add(&gw->loop, &r->w, r->efd, EPOLLIN, on_done) < 0) {
		e = errno;
		free(r);
		return -e;
	}
	gw->resolver = r;
	return 0;
}

/* Threads start on first use: a run that names only pinned hosts or IP
 * literals never has any. */
static void threads_start(struct gw_resolver *r)
{
	while (r->n_threads < RESOLVER_THREADS) {
		if (pthread_create(&r->threads[r->n_threads], NULL, worker, r)) {
			log_warn("resolver: cannot start a worker thread");
			break;
		}
		r->n_threads++;
	}
}

void gw_resolver_submit(struct gw *gw, struct gw_conn *c)
{
	struct gw_resolver *r = gw->resolver;
	struct gw_resolve_job *job = xcalloc(1, sizeof(*job));

	snprintf(job->name, sizeof(job->name), "%s", c->host.text);
	job->conn = c;
	c->resolving = true;
	pthread_mutex_lock(&r->lock);
	if (!r->n_threads)
		threads_start(r);
	if (r->todo_tail)
		r->todo_tail->next = job;
	else
		r->todo = job;
	r->todo_tail = job;
	pthread_cond_signal(&r->wake);
	pthread_mutex_unlock(&r->lock);
}

void gw_resolver_stop(struct gw *gw)
{
	struct gw_resolver *r = gw->resolver;

	if (!r)
		return;
	pthread_mutex_lock(&r->lock);
	r->stopping = true;
	pthread_cond_broadcast(&r->wake);
	pthread_mutex_unlock(&r->lock);
	/* a worker inside getaddrinfo cannot be interrupted: let it be */
	for (size_t i = 0; i < r->n_threads; i++)
		pthread_detach(r->threads[i]);
	loop_watch_del(&gw->loop, &r->w);
	gw->resolver = NULL;
	if (r->n_threads == 0) {
		/* no worker can still hold it */
		close(r->efd);
		pthread_mutex_destroy(&r->lock);
		pthread_cond_destroy(&r->wake);
		free(r);
	}
}
