/*
 * A Firecracker pod's egress streams, on the host.  Under Firecracker a
 * guest's connection to the host (CID 2) on vsock port VM_EGRESS_VSOCK_PORT
 * becomes, by Firecracker's convention, a connection to the Unix socket
 * <vm>/fc.sock_<port>, where the node listens: one connection per stream.
 *
 *	guest -> host	the gateway request, one line of JSON (MUX_MSG_MAX
 *			bytes at most), then nothing until
 *	host -> guest	the gateway's answer, one line; on "ok": true the
 *			connection is the stream from here on
 *
 * The request goes to the pod's gateway exactly as a local proxy's does
 * (the id the node's), and the gateway's stream is relayed (relay.h) with
 * the connection.  The gateway checks everything again: the guest is
 * trusted with nothing.  A connection that breaks the rules (a line too
 * long, not JSON, bytes before the answer, no line within
 * FC_EGRESS_LINE_MS, more than FC_EGRESS_STREAMS_MAX at once) is closed
 * and recorded (egress.violation); past FC_EGRESS_VIOLATIONS_MAX the
 * socket is closed too: no more streams, no more records.  The node goes
 * on.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "fdmsg.h"
#include "node.h"
#include "mux.h"
#include "relay.h"
#include "sockaddr.h"

struct fc_conn {
	struct fc_conn *next;
	struct fcegress *f;
	int	 fd;
	uint32_t id;
	int	 asked;
	ev_io	 rio;
	ev_timer deadline;
	char	 buf[MUX_MSG_MAX + 1];
	size_t	 len;
	struct relay relay;
	int	 relaying;
};

struct fcegress {
	struct ev_loop *loop;
	char	 pod[POD_NAME_MAX + 1];
	char	 path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int	 lfd, gw;
	ev_io	 lio, gio;
	struct fc_conn *conns;
	int	 nconns, violations;
	uint32_t next_id;
	void	(*record)(json_t *, void *);
	void	*arg;
};

/* A broken rule, recorded; past FC_EGRESS_VIOLATIONS_MAX the pod gets
 * no more streams (and makes no more records). */
static void
violation(struct fcegress *f, uint32_t id, const char *why)
{
	const char *closed = "stream";

	if (++f->violations > FC_EGRESS_VIOLATIONS_MAX + 1)
		return;
	if (f->violations > FC_EGRESS_VIOLATIONS_MAX) {
		why = "more broken rules than FC_EGRESS_VIOLATIONS_MAX";
		closed = "channel";
		ev_io_stop(f->loop, &f->lio);
		close(f->lfd);
		f->lfd = -1;
		(void)unlink(f->path);
	}
	f->record(json_pack("{s:s, s:s, s:I, s:s, s:s}", "event",
	    "egress.violation", "pod", f->pod, "stream", (json_int_t)id,
	    "reason", why, "closed", closed), f->arg);
}

static void
conn_free(struct fc_conn *c)
{
	struct fcegress *f = c->f;

	if (f->conns == c)
		f->conns = c->next;
	else
		for (struct fc_conn *p = f->conns; p != NULL; p = p->next)
			if (p->next == c) {
				p->next = c->next;
				break;
			}
	c->next = NULL;
	f->nconns--;
	ev_io_stop(f->loop, &c->rio);
	ev_timer_stop(f->loop, &c->deadline);
	if (c->relaying) {
		c->f = NULL;
		relay_stop(&c->relay);	/* closes fd; relayed() frees */
	} else {
		if (c->fd >= 0)
			close(c->fd);
		free(c);
	}
}

static void
relayed(struct relay *r, void *arg)
{
	struct fc_conn *c = arg;

	(void)r;
	c->relaying = 0;
	c->fd = -1;	/* the relay closed it */
	if (c->f != NULL)
		conn_free(c);	/* it ended by itself */
	else
		free(c);
}

/* The answer line to the guest: a few hundred bytes into a fresh
 * socket, whole or the connection is broken. */
static int
say(struct fc_conn *c, const char *text, size_t len)
{
	char line[MUX_MSG_MAX + 2];

	if (len > MUX_MSG_MAX)
		return -1;
	memcpy(line, text, len);
	line[len] = '\n';
	return send(c->fd, line, len + 1, MSG_NOSIGNAL | MSG_DONTWAIT) ==
	    (ssize_t)(len + 1) ? 0 : -1;
}

static void
refuse(struct fc_conn *c, const char *kind, const char *why)
{
	json_t *a = json_pack("{s:b, s:s, s:s}", "ok", 0, "kind", kind,
	    "reason", why);
	char *t = a != NULL ? json_dumps(a, JSON_COMPACT) : NULL;

	if (t != NULL)
		(void)say(c, t, strlen(t));
	free(t);
	json_decref(a);
	conn_free(c);
}

/* The line is whole: the gateway asked, under the node's id. */
static void
ask(struct fc_conn *c, size_t linelen)
{
	struct fcegress *f = c->f;
	json_t *q = json_loadb(c->buf, linelen, JSON_REJECT_DUPLICATES, NULL);
	char *t;
	ssize_t n = -1;

	if (!json_is_object(q)) {
		json_decref(q);
		violation(f, c->id, "a request that is not a JSON object");
		refuse(c, "bad_request", "the request is not a JSON object");
		return;
	}
	json_object_set_new(q, "id", json_integer((json_int_t)c->id));
	t = json_dumps(q, JSON_COMPACT);
	json_decref(q);
	if (t != NULL && f->gw >= 0)
		n = send(f->gw, t, strlen(t), MSG_NOSIGNAL | MSG_DONTWAIT);
	free(t);
	if (n < 0) {
		refuse(c, "unavailable", "the host's gateway is gone");
		return;
	}
	c->asked = 1;
	ev_timer_stop(f->loop, &c->deadline);
}

static void
conn_read(struct ev_loop *loop, ev_io *w, int revents)
{
	struct fc_conn *c = w->data;
	char *nl;
	ssize_t n;

	(void)loop;
	(void)revents;
	n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		conn_free(c);	/* gone before its answer */
		return;
	}
	if (c->asked) {
		violation(c->f, c->id, "bytes before the answer");
		conn_free(c);
		return;
	}
	c->len += (size_t)n;
	if ((nl = memchr(c->buf, '\n', c->len)) == NULL) {
		if (c->len == sizeof(c->buf)) {
			violation(c->f, c->id, "a request line over "
			    "MUX_MSG_MAX bytes");
			conn_free(c);
		}
		return;
	}
	if ((size_t)(nl - c->buf) + 1 != c->len) {
		violation(c->f, c->id, "bytes before the answer");
		conn_free(c);
		return;
	}
	ask(c, (size_t)(nl - c->buf));
}

static void
conn_late(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct fc_conn *c = w->data;

	(void)loop;
	(void)revents;
	violation(c->f, c->id, "no request line within FC_EGRESS_LINE_MS");
	conn_free(c);
}

static void
conn_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	struct fcegress *f = w->data;
	int fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	struct fc_conn *c;

	(void)revents;
	if (fd < 0)
		return;
	f->next_id++;
	if (f->nconns >= FC_EGRESS_STREAMS_MAX) {
		violation(f, f->next_id, "more streams than "
		    "FC_EGRESS_STREAMS_MAX at once");
		close(fd);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		return;
	}
	c->f = f;
	c->fd = fd;
	c->id = f->next_id;
	ev_io_init(&c->rio, conn_read, fd, EV_READ);
	c->rio.data = c;
	ev_io_start(loop, &c->rio);
	ev_timer_init(&c->deadline, conn_late, FC_EGRESS_LINE_MS / 1000., 0.);
	c->deadline.data = c;
	ev_timer_start(loop, &c->deadline);
	c->next = f->conns;
	f->conns = c;
	f->nconns++;
}

/* The gateway's answer, with the stream when it is yes. */
static void
gateway_read(struct ev_loop *loop, ev_io *w, int revents)
{
	struct fcegress *f = w->data;
	char buf[MUX_MSG_MAX];
	struct fc_conn *c;
	int fd;
	ssize_t n = fdmsg_recv(w->fd, buf, sizeof(buf), &fd);
	uint32_t id;
	json_t *a;

	(void)revents;
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		ev_io_stop(loop, w);
		close(f->gw);
		f->gw = -1;
		return;
	}
	a = json_loadb(buf, (size_t)n, 0, NULL);
	id = (uint32_t)json_integer_value(json_object_get(a, "id"));
	for (c = f->conns; c != NULL; c = c->next)
		if (c->asked && !c->relaying && c->id == id)
			break;
	if (c == NULL) {
		if (fd >= 0)
			close(fd);	/* the guest went meanwhile */
	} else if (json_is_true(json_object_get(a, "ok")) && fd >= 0) {
		if (say(c, buf, (size_t)n) != 0) {
			close(fd);
			conn_free(c);
		} else {
			ev_io_stop(loop, &c->rio);
			c->relaying = 1;
			relay_start(&c->relay, loop, c->fd, fd, relayed, c);
		}
	} else {
		if (fd >= 0)
			close(fd);
		(void)say(c, buf, (size_t)n);
		conn_free(c);
	}
	json_decref(a);
}

struct fcegress *
fcegress_start(struct ev_loop *loop, const char *path, int gw,
    const char *pod, void (*record)(json_t *, void *), void *arg,
    struct audit_err *err)
{
	struct sockaddr_un sa;
	struct fcegress *f;

	if (sockaddr_un_fill(&sa, path, err) != 0)
		return NULL;
	if ((f = calloc(1, sizeof(*f))) == NULL) {
		audit_errf(err, "out of memory");
		return NULL;
	}
	(void)unlink(path);
	if ((f->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) < 0 ||
	    bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(f->lfd, 64) != 0) {
		audit_errf(err, "%s: %s", path, strerror(errno));
		if (f->lfd >= 0)
			close(f->lfd);
		free(f);
		return NULL;
	}
	f->loop = loop;
	snprintf(f->pod, sizeof(f->pod), "%s", pod);
	snprintf(f->path, sizeof(f->path), "%s", path);
	f->gw = gw;
	f->record = record;
	f->arg = arg;
	ev_io_init(&f->lio, conn_accept, f->lfd, EV_READ);
	f->lio.data = f;
	ev_io_start(loop, &f->lio);
	ev_io_init(&f->gio, gateway_read, gw, EV_READ);
	f->gio.data = f;
	ev_io_start(loop, &f->gio);
	return f;
}

/* The socket's owner: Firecracker connects as the pod's uid.  Its
 * directory is the pod's uid's too: a link put in the socket's place is
 * never followed. */
int
fcegress_chown(struct fcegress *f, uid_t uid, gid_t gid)
{
	return lchown(f->path, uid, gid);
}

void
fcegress_stop(struct fcegress *f)
{
	if (f == NULL)
		return;
	for (struct fc_conn *c = f->conns, *next; c != NULL; c = next) {
		next = c->next;
		conn_free(c);
	}
	ev_io_stop(f->loop, &f->lio);
	ev_io_stop(f->loop, &f->gio);
	if (f->lfd >= 0) {
		close(f->lfd);
		(void)unlink(f->path);
	}
	if (f->gw >= 0)
		close(f->gw);
	free(f);
}
