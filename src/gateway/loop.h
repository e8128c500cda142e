/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The gateway's event loop: one epoll instance, level-triggered watches
 * whose interest is changed only when it differs, timers kept in lists of
 * equal duration (so each list stays sorted by appending) behind one
 * timerfd, and a deferred-free queue so that nothing an event batch may
 * still point at is released inside a callback.
 */
#ifndef AIRLOCK_GATEWAY_LOOP_H
#define AIRLOCK_GATEWAY_LOOP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>

struct loop;
struct loop_watch;

typedef void loop_watch_fn(struct loop_watch *w, uint32_t events);

/* One fd in the loop; embed it in the object that owns the fd. */
struct loop_watch {
	int fd;
	uint32_t events; /* the interest registered with epoll, 0 if none */
	bool added;
	loop_watch_fn *cb;
};

struct loop_timer;
typedef void loop_timer_fn(struct loop_timer *t);

/* A timer; it belongs to at most one loop_timer_list at a time. */
struct loop_timer {
	struct loop_timer *prev, *next;
	struct loop_timer_list *list;
	int64_t deadline_ms;
	loop_timer_fn *cb;
};

/* Timers of one duration, oldest first. */
struct loop_timer_list {
	struct loop_timer *head, *tail;
	int64_t duration_ms;
	struct loop_timer_list *next_list; /* the loop's chain of lists */
};

/* An object whose release waits for the end of the current batch. */
struct loop_deferred {
	struct loop_deferred *next;
	void (*release)(struct loop_deferred *d);
};

struct loop {
	int epfd;
	int timerfd;
	struct loop_watch timer_watch;
	struct loop_timer_list *lists;
	int64_t armed_ms; /* deadline the timerfd is set to, 0 when unset */
	struct loop_deferred *deferred;
	void (*round_end)(struct loop *l); /* after each round, or NULL */
	bool stopping;
};

/* Monotonic milliseconds. */
int64_t loop_now_ms(void);

/* Creates the epoll instance and timerfd. 0 or -errno. */
int loop_init(struct loop *l);
void loop_destroy(struct loop *l);

/*
 * Starts watching fd with interest events (EPOLLIN, EPOLLOUT, ...); cb is
 * called with the events that happened. 0 or -errno.
 */
int loop_watch_add(struct loop *l, struct loop_watch *w, int fd,
		   uint32_t events, loop_watch_fn *cb);
/* Changes the interest; a no-op when it is unchanged. 0 or -errno. */
int loop_watch_set(struct loop *l, struct loop_watch *w, uint32_t events);
/* Stops watching (the fd stays open; the caller closes it). */
void loop_watch_del(struct loop *l, struct loop_watch *w);

/* Registers a list of timers that all last duration_ms. */
void loop_timer_list_init(struct loop *l, struct loop_timer_list *list,
			  int64_t duration_ms);
/* (Re)starts t in list: it fires duration_ms from now unless cancelled. */
void loop_timer_arm(struct loop_timer_list *list, struct loop_timer *t,
		    loop_timer_fn *cb);
void loop_timer_cancel(struct loop_timer *t);
static inline bool loop_timer_armed(const struct loop_timer *t)
{
	return t->list != 0;
}

/* Releases d once the current batch of events has been handled. */
void loop_defer(struct loop *l, struct loop_deferred *d,
		void (*release)(struct loop_deferred *d));

/*
 * Runs until loop_stop. Each round: wait, dispatch every event of the
 * batch, fire expired timers, release deferred objects, call round_end
 * (where the gateway writes the round's audit records in one go), re-arm
 * the timerfd. Returns 0, or -errno when epoll itself fails.
 */
int loop_run(struct loop *l);
/* Runs what loop_defer queued (loop_run does at the end of each round). */
void loop_release_deferred(struct loop *l);
void loop_stop(struct loop *l);

#endif
