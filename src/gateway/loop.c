/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The gateway's event loop (see loop.h). Runs in the gateway process,
 * outside the sandbox; it handles no bytes itself.
 *
 * Ordering within one round matters and is fixed: first every event of
 * the epoll batch (a callback may close a connection, which then only
 * marks it and defers its release, so later events of the same batch
 * still point at valid memory), then the timers that have expired, then
 * the deferred releases, and last the timerfd is re-armed for the
 * earliest deadline left.
 */
#include "config.h"

#include "gateway/loop.h"

#include <errno.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"

#define LOOP_BATCH_EVENTS 256

int64_t loop_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void timer_unlink(struct loop_timer *t)
{
	struct loop_timer_list *list = t->list;

	if (!list)
		return;
	if (t->prev)
		t->prev->next = t->next;
	else
		list->head = t->next;
	if (t->next)
		t->next->prev = t->prev;
	else
		list->tail = t->prev;
	t->prev = t->next = NULL;
	t->list = NULL;
}

void loop_timer_cancel(struct loop_timer *t)
{
	timer_unlink(t);
}

void loop_timer_arm(struct loop_timer_list *list, struct loop_timer *t,
		    loop_timer_fn *cb)
{
	timer_unlink(t);
	t->cb = cb;
	t->deadline_ms = loop_now_ms() + list->duration_ms;
	t->list = list;
	t->prev = list->tail;
	if (list->tail)
		list->tail->next = t;
	else
		list->head = t;
	list->tail = t;
}

void loop_timer_list_init(struct loop *l, struct loop_timer_list *list,
			  int64_t duration_ms)
{
	*list = (struct loop_timer_list){ .duration_ms = duration_ms };
	list->next_list = l->lists;
	l->lists = list;
}

static void timers_fire(struct loop *l)
{
	int64_t now = loop_now_ms();

	for (struct loop_timer_list *list = l->lists; list;
	     list = list->next_list) {
		while (list->head && list->head->deadline_ms <= now) {
			struct loop_timer *t = list->head;

			timer_unlink(t);
			t->cb(t);
		}
	}
}

static void timerfd_rearm(struct loop *l)
{
	int64_t next = 0;
	struct itimerspec its = { 0 };

	for (struct loop_timer_list *list = l->lists; list;
	     list = list->next_list)
		if (list->head && (!next || list->head->deadline_ms < next))
			next = list->head->deadline_ms;
	if (next == l->armed_ms)
		return;
	l->armed_ms = next;
	if (next) {
		/* CLOCK_MONOTONIC absolute: the same clock as loop_now_ms */
		its.it_value.tv_sec = next / 1000;
		its.it_value.tv_nsec = (next % 1000) * 1000000;
	}
	timerfd_settime(l->timerfd, next ? TFD_TIMER_ABSTIME : 0, &its, NULL);
}

static void on_timerfd(struct loop_watch *w, uint32_t events)
{
	uint64_t ticks;

	if (read(w->fd, &ticks, sizeof(ticks)) < 0)
		return; /* EAGAIN: re-armed before it fired */
}

int loop_init(struct loop *l)
{
	*l = (struct loop){ .epfd = -1, .timerfd = -1 };
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0)
		return -errno;
	l->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (l->timerfd < 0)
		return -errno;
	return loop_watch_add(l, &l->timer_watch, l->timerfd, EPOLLIN,
			      on_timerfd);
}

void loop_destroy(struct loop *l)
{
	if (l->timerfd >= 0)
		close(l->timerfd);
	if (l->epfd >= 0)
		close(l->epfd);
	l->timerfd = l->epfd = -1;
}

int loop_watch_add(struct loop *l, struct loop_watch *w, int fd,
		   uint32_t events, loop_watch_fn *cb)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };

	w->fd = fd;
	w->cb = cb;
	w->events = events;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		w->added = false;
		return -errno;
	}
	w->added = true;
	return 0;
}

int loop_watch_set(struct loop *l, struct loop_watch *w, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };

	if (!w->added || w->events == events)
		return 0;
	if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, w->fd, &ev) < 0)
		return -errno;
	w->events = events;
	return 0;
}

void loop_watch_del(struct loop *l, struct loop_watch *w)
{
	if (!w->added)
		return;
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, w->fd, NULL);
	w->added = false;
	w->events = 0;
}

void loop_defer(struct loop *l, struct loop_deferred *d,
		void (*release)(struct loop_deferred *d))
{
	d->release = release;
	d->next = l->deferred;
	l->deferred = d;
}

void loop_release_deferred(struct loop *l)
{
	while (l->deferred) {
		struct loop_deferred *d = l->deferred;

		l->deferred = d->next;
		d->release(d);
	}
}

void loop_stop(struct loop *l)
{
	l->stopping = true;
}

int loop_run(struct loop *l)
{
	struct epoll_event events[LOOP_BATCH_EVENTS];

	while (!l->stopping) {
		int n = epoll_wait(l->epfd, events, LOOP_BATCH_EVENTS, -1);

		if (n < 0 && errno != EINTR)
			return -errno;
		for (int i = 0; i < n; i++) {
			struct loop_watch *w = events[i].data.ptr;

			/* a watch removed earlier in this batch is skipped */
			if (w->added)
				w->cb(w, events[i].events);
		}
		timers_fire(l);
		loop_release_deferred(l);
		if (l->round_end)
			l->round_end(l);
		timerfd_rearm(l);
	}
	loop_release_deferred(l);
	return 0;
}
