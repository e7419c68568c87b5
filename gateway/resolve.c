/*
 * Names, resolved on the host, never in the pod.  With -H, from that
 * hosts file alone (the tests', so that they never need DNS): lines of
 * an address and its names, '#' to the end of a line a comment; answered
 * at once.  Without it, the host's /etc/hosts as it was at start (the
 * filter refuses the file after), then getaddrinfo(3), off the loop: GATEWAY_RESOLVERS threads, started before the seccomp filter,
 * take lookups from a queue (GATEWAY_LOOKUPS_MAX waiting or under way)
 * and hand the answers back through an ev_async; a lookup not answered
 * within GATEWAY_RESOLVE_MS is given up (its thread's answer, when it
 * comes, is dropped), so that a slow name delays no other.
 */
#define _GNU_SOURCE
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "gateway.h"

struct lookup {
	struct lookup *next;
	char	 name[NET_HOST_MAX + 1];
	void	(*done)(void *, const struct net_addr *, int);
	void	*arg;		/* NULL once given up */
	struct net_addr addrs[GATEWAY_ADDRS_MAX];
	int	 n;
	int	 running;	/* a thread has it */
};

static struct {
	pthread_mutex_t mu;
	pthread_cond_t	cv;
	struct lookup	*queue, **tail;	/* for the threads */
	struct lookup	*answered;	/* for the loop */
	ev_async	 wake;
	int		 count;		/* waiting or under way, not given up */
	int		 started;	/* threads running, before the filter */
} R = {
	.mu = PTHREAD_MUTEX_INITIALIZER,
	.cv = PTHREAD_COND_INITIALIZER,
};

static int
from_hosts(const char *p, const char *name, struct net_addr *out, int max)
{
	int n = 0;

	while (*p != '\0' && n < max) {
		size_t len = strcspn(p, "\n");
		char line[1024], *save = NULL, *tok, *addr;
		struct net_addr a;

		if (len < sizeof(line)) {
			memcpy(line, p, len);
			line[len] = '\0';
			line[strcspn(line, "#")] = '\0';
			addr = strtok_r(line, " \t\r", &save);
			if (addr != NULL && netspec_literal(addr, &a))
				while ((tok = strtok_r(NULL, " \t\r",
				    &save)) != NULL)
					if (strcasecmp(tok, name) == 0 &&
					    n < max) {
						out[n++] = a;
						break;
					}
		}
		p += len;
		if (*p == '\n')
			p++;
	}
	return n;
}

static int
from_system(const char *name, struct net_addr *out, int max)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM };
	struct addrinfo *res, *ai;
	int n = 0;

	if (getaddrinfo(name, NULL, &hints, &res) != 0)
		return 0;
	for (ai = res; ai != NULL && n < max; ai = ai->ai_next) {
		if (ai->ai_family == AF_INET) {
			out[n].family = AF_INET;
			memcpy(out[n].a, &((struct sockaddr_in *)(void *)
			    ai->ai_addr)->sin_addr, 4);
			n++;
		} else if (ai->ai_family == AF_INET6) {
			out[n].family = AF_INET6;
			memcpy(out[n].a, &((struct sockaddr_in6 *)(void *)
			    ai->ai_addr)->sin6_addr, 16);
			n++;
		}
	}
	freeaddrinfo(res);
	return n;
}

/* A resolver thread: a lookup at a time, each answer to the loop. */
static void *
resolver(void *unused)
{
	(void)unused;
	pthread_mutex_lock(&R.mu);
	R.started++;
	pthread_cond_broadcast(&R.cv);
	for (;;) {
		struct lookup *l;

		while (R.queue == NULL)
			pthread_cond_wait(&R.cv, &R.mu);
		l = R.queue;
		if ((R.queue = l->next) == NULL)
			R.tail = &R.queue;
		l->running = 1;
		pthread_mutex_unlock(&R.mu);
		l->n = from_system(l->name, l->addrs, GATEWAY_ADDRS_MAX);
		pthread_mutex_lock(&R.mu);
		l->next = R.answered;
		R.answered = l;
		ev_async_send(G->loop, &R.wake);
	}
	return NULL;
}

/* On the loop: the answers, to those still waiting. */
static void
answered(struct ev_loop *loop, ev_async *w, int revents)
{
	struct lookup *l, *next;

	(void)loop;
	(void)w;
	(void)revents;
	pthread_mutex_lock(&R.mu);
	l = R.answered;
	R.answered = NULL;
	for (struct lookup *p = l; p != NULL; p = p->next)
		if (p->arg != NULL)
			R.count--;
	pthread_mutex_unlock(&R.mu);
	for (; l != NULL; l = next) {
		next = l->next;
		if (l->arg != NULL)
			l->done(l->arg, l->addrs, l->n);
		free(l);
	}
}

int
gw_resolver_start(void)
{
	if (G->hosts != NULL)
		return 0;
	R.tail = &R.queue;
	ev_async_init(&R.wake, answered);
	ev_async_start(G->loop, &R.wake);
	for (int i = 0; i < GATEWAY_RESOLVERS; i++) {
		pthread_t th;

		if (audit_thread_start(&th, NULL, resolver, NULL) != 0)
			return -1;
		(void)pthread_detach(th);
	}
	/* Each has made its first system calls (rseq, the robust list)
	 * before the filter that would refuse them. */
	pthread_mutex_lock(&R.mu);
	while (R.started < GATEWAY_RESOLVERS)
		pthread_cond_wait(&R.cv, &R.mu);
	pthread_mutex_unlock(&R.mu);
	return 0;
}

struct lookup *
gw_resolve(const char *name, int files_only, void (*done)(void *,
    const struct net_addr *, int), void *arg, int *refused)
{
	struct lookup *l;

	*refused = 0;
	if (G->hosts != NULL) {
		struct net_addr addrs[GATEWAY_ADDRS_MAX];

		memset(addrs, 0, sizeof(addrs));
		done(arg, addrs, from_hosts(G->hosts, name, addrs,
		    GATEWAY_ADDRS_MAX));
		return NULL;
	}
	/* The host's /etc/hosts first, as read at start ("files dns"). */
	if (G->etc_hosts != NULL) {
		struct net_addr addrs[GATEWAY_ADDRS_MAX];
		int n;

		memset(addrs, 0, sizeof(addrs));
		if ((n = from_hosts(G->etc_hosts, name, addrs,
		    GATEWAY_ADDRS_MAX)) > 0 || files_only) {
			done(arg, addrs, n);
			return NULL;
		}
	}
	/* A name no host entry admits asks no DNS server anything: the
	 * query itself would carry what the pod put in the name. */
	if (files_only) {
		done(arg, NULL, 0);
		return NULL;
	}
	if (R.count >= GATEWAY_LOOKUPS_MAX ||
	    (l = calloc(1, sizeof(*l))) == NULL) {
		*refused = 1;
		return NULL;
	}
	snprintf(l->name, sizeof(l->name), "%s", name);
	l->done = done;
	l->arg = arg;
	pthread_mutex_lock(&R.mu);
	R.count++;
	*R.tail = l;
	R.tail = &l->next;
	pthread_cond_broadcast(&R.cv);
	pthread_mutex_unlock(&R.mu);
	return l;
}

void
gw_resolve_cancel(struct lookup *l)
{
	pthread_mutex_lock(&R.mu);
	R.count--;
	l->arg = NULL;
	if (!l->running) {
		/* Still queued: out of it. */
		for (struct lookup **p = &R.queue; *p != NULL; p = &(*p)->next)
			if (*p == l) {
				if ((*p = l->next) == NULL)
					R.tail = p;
				break;
			}
		free(l);
	}
	pthread_mutex_unlock(&R.mu);
}
