/*
 * A QEMU pod's way out, in the guest (-E fd: the VM's egress port, a
 * virtio serial port whose host end is the node).  egress.c asks its
 * gateway as on the local driver, over a SOCK_SEQPACKET pair; this side
 * of the pair stands for the gateway: each request becomes a stream
 * opened on the port (mux.h), the host's answer comes back as the
 * gateway's, and a yes carries a socketpair end whose other end is the
 * stream's, multiplexed on the port with its own credit.
 *
 * Under Firecracker (-e port) there is no port to multiplex on, and no
 * need: each request is a vsock connection of its own to the host (CID
 * 2) on that port, which Firecracker makes a connection to the node's
 * <vm>/fc.sock_<port> (fcegress.c): the request as one line, the answer
 * as one line, then the connection is the stream, handed to egress.c as
 * it is.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#include "fdmsg.h"
#include "proxy.h"
#include "mux.h"

#define EGRESS_VSOCK_MS	15000	/* for the host's answer: past its
				   GATEWAY_CONNECT_MS */

/* A vsock stream until its answer. */
struct vconn {
	struct vconn *next;
	uint64_t id;
	int	 fd, sent;
	ev_io	 io;
	ev_timer deadline;
	char	 line[MUX_MSG_MAX + 2];
	size_t	 len;
};

static struct {
	struct mux m;
	int	 ctl;		/* egress.c's gateway, as we stand for it */
	ev_io	 cio, cwo;
	struct fdmsg_q told;	/* answers ctl could not take yet: a
				   request is answered once, so egress.c's
				   EGRESS_CLIENTS_MAX bounds them */
	struct ev_loop *loop;
	int	 vsock_port;	/* -e, or -1: the port (mux) */
	struct vconn *vconns;
} X = { .ctl = -1, .vsock_port = -1 };

static void
ctl_watch(int waiting)
{
	if (waiting)
		ev_io_start(X.loop, &X.cwo);
	else
		ev_io_stop(X.loop, &X.cwo);
}

static void
ctl_write(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	ctl_watch(fdmsg_q_flush(&X.told, w->fd));
}

/*
 * To egress.c: an answer under its own id, with fd when a yes (the
 * caller's still).  What the pair cannot take now waits and goes in
 * order when it can: an answer is never lost (the host gone with every
 * stream unanswered tells them all at once).
 */
static void
tell(uint64_t id, json_t *a, int fd)
{
	char *t;

	json_object_set_new(a, "id", json_integer((json_int_t)id));
	if ((t = json_dumps(a, JSON_COMPACT)) == NULL)
		return;
	(void)fdmsg_q_send(&X.told, X.ctl, t, strlen(t), fd);
	free(t);
	ctl_watch(X.told.n > 0);
}

static void
tell_no(uint64_t id, const char *why)
{
	json_t *a = json_pack("{s:b, s:s, s:s}", "ok", 0, "kind",
	    "unavailable", "reason", why);

	if (a != NULL)
		tell(id, a, -1);
	json_decref(a);
}

/* The host answered: a yes is a stream, relayed from here. */
static void
on_answer(struct mux *m, struct mux_stream *s, const char *json, size_t len)
{
	json_t *a = json_loadb(json, len, 0, NULL);
	int sv[2];

	(void)m;
	if (!json_is_object(a)) {
		json_decref(a);
		tell_no(s->tag, "the host's answer is not JSON");
		mux_reset(s);
		return;
	}
	if (!json_is_true(json_object_get(a, "ok"))) {
		s->answered = 1;	/* told now; the stream is done */
		tell(s->tag, a, -1);
		json_decref(a);
		mux_reset(s);
		return;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		json_decref(a);
		tell_no(s->tag, "no socketpair for the stream");
		mux_reset(s);
		return;
	}
	tell(s->tag, a, sv[1]);
	close(sv[1]);
	json_decref(a);
	mux_attach(s, sv[0]);
}

/* A stream the host never answered: egress.c is told no. */
static void
on_unanswered(struct mux *m, struct mux_stream *s)
{
	(void)m;
	tell_no(s->tag, "the host's egress port closed");
}

static void
on_violation(struct mux *m, uint32_t id, const char *why, int fatal)
{
	(void)m;
	fprintf(stderr, "nucleus-proxy: egress port: stream %u: %s: %s\n",
	    (unsigned)id, why, fatal ? "out of step, until the host's next "
	    "SYNC" : "stream reset");
}

static void
on_gone(struct mux *m)
{
	(void)m;
}

static const struct mux_ops guest_ops = {
	.answer = on_answer, .unanswered = on_unanswered,
	.violation = on_violation, .gone = on_gone,
};

/*
 * egress.c's next request on w, into buf, and its id; -1 when there is
 * none (nothing yet, or egress.c gone: then w is stopped).
 */
static ssize_t
ctl_request(struct ev_loop *loop, ev_io *w, char *buf, size_t size,
    uint64_t *id)
{
	ssize_t n = recv(w->fd, buf, size, MSG_DONTWAIT);
	json_t *q;

	if (n == 0)
		ev_io_stop(loop, w);
	if (n <= 0)
		return -1;
	q = json_loadb(buf, (size_t)n, 0, NULL);
	*id = (uint64_t)json_integer_value(json_object_get(q, "id"));
	json_decref(q);
	return n;
}

/* egress.c asks: a stream opened with its request. */
static void
ctl_read(struct ev_loop *loop, ev_io *w, int revents)
{
	char buf[MUX_MSG_MAX];
	ssize_t n;
	uint64_t id;

	(void)revents;
	if ((n = ctl_request(loop, w, buf, sizeof(buf), &id)) < 0)
		return;
	if (mux_open(&X.m, buf, (size_t)n, id) == NULL)
		tell_no(id, X.m.dead ? "the host's egress port closed" :
		    X.m.hostless ? "the host's egress port has no host" :
		    "more streams than MUX_STREAMS_MAX at once");
}

/*
 * The port is chan; *gw is egress.c's end of the pair to give
 * egress_listen.
 */
int
egress_mux_start(struct ev_loop *loop, int chan, int *gw,
    struct audit_err *err)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
		return audit_errf(err, "the egress port's pair: %s",
		    strerror(errno));
	if (mux_init(&X.m, loop, chan, 0, &guest_ops, NULL) != 0) {
		close(sv[0]);
		close(sv[1]);
		return audit_errf(err, "the egress port: %s",
		    strerror(errno));
	}
	X.ctl = sv[1];
	X.loop = loop;
	fdmsg_q_init(&X.told);
	ev_io_init(&X.cwo, ctl_write, X.ctl, EV_WRITE);
	ev_io_init(&X.cio, ctl_read, X.ctl, EV_READ);
	ev_io_start(loop, &X.cio);
	*gw = sv[0];
	return 0;
}

static void
vconn_free(struct vconn *v)
{
	for (struct vconn **p = &X.vconns; *p != NULL; p = &(*p)->next)
		if (*p == v) {
			*p = v->next;
			break;
		}
	ev_io_stop(X.loop, &v->io);
	ev_timer_stop(X.loop, &v->deadline);
	if (v->fd >= 0)
		close(v->fd);
	free(v);
}

/* The answer, a byte at a time: what follows it is the stream's. */
static void
vconn_answer(struct vconn *v)
{
	for (;;) {
		ssize_t n;
		json_t *a;

		if (v->len >= MUX_MSG_MAX) {
			tell_no(v->id, "the host's answer is too long");
			vconn_free(v);
			return;
		}
		n = read(v->fd, v->line + v->len, 1);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			tell_no(v->id, "the host closed the stream before "
			    "its answer");
			vconn_free(v);
			return;
		}
		if (v->line[v->len] != '\n') {
			v->len++;
			continue;
		}
		a = json_loadb(v->line, v->len, 0, NULL);
		if (!json_is_object(a))
			tell_no(v->id, "the host's answer is not JSON");
		else if (json_is_true(json_object_get(a, "ok")))
			tell(v->id, a, v->fd);
		else
			tell(v->id, a, -1);
		json_decref(a);
		vconn_free(v);	/* egress.c has its own descriptor */
		return;
	}
}

static void
vconn_io(struct ev_loop *loop, ev_io *w, int revents)
{
	struct vconn *v = w->data;
	socklen_t sl = sizeof(int);
	int e = 0;

	(void)revents;
	if (v->sent) {
		vconn_answer(v);
		return;
	}
	/* Connected (or not): the request, a line into an empty socket. */
	if (getsockopt(v->fd, SOL_SOCKET, SO_ERROR, &e, &sl) != 0 || e != 0 ||
	    send(v->fd, v->line, v->len, MSG_NOSIGNAL) != (ssize_t)v->len) {
		tell_no(v->id, "the host's egress port takes no connection");
		vconn_free(v);
		return;
	}
	v->sent = 1;
	v->len = 0;
	ev_io_stop(loop, w);
	ev_io_set(w, v->fd, EV_READ);
	ev_io_start(loop, w);
}

static void
vconn_late(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct vconn *v = w->data;

	(void)loop;
	(void)revents;
	tell_no(v->id, "no answer from the host within EGRESS_VSOCK_MS");
	vconn_free(v);
}

/* egress.c asks: a vsock connection to the host with its request. */
static void
vsock_ctl_read(struct ev_loop *loop, ev_io *w, int revents)
{
	struct sockaddr_vm sa = { .svm_family = AF_VSOCK,
	    .svm_cid = VMADDR_CID_HOST, .svm_port = (unsigned)X.vsock_port };
	char buf[MUX_MSG_MAX];
	ssize_t n;
	struct vconn *v;
	uint64_t id;

	(void)revents;
	if ((n = ctl_request(loop, w, buf, sizeof(buf), &id)) < 0)
		return;
	if ((v = calloc(1, sizeof(*v))) == NULL) {
		tell_no(id, "out of memory");
		return;
	}
	v->id = id;
	memcpy(v->line, buf, (size_t)n);
	v->line[n] = '\n';
	v->len = (size_t)n + 1;
	v->fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (v->fd < 0 || (connect(v->fd, (struct sockaddr *)&sa,
	    sizeof(sa)) != 0 && errno != EINPROGRESS)) {
		tell_no(id, "the host's egress port takes no connection");
		if (v->fd >= 0)
			close(v->fd);
		free(v);
		return;
	}
	ev_io_init(&v->io, vconn_io, v->fd, EV_WRITE);
	v->io.data = v;
	ev_io_start(loop, &v->io);
	ev_timer_init(&v->deadline, vconn_late, EGRESS_VSOCK_MS / 1000., 0.);
	v->deadline.data = v;
	ev_timer_start(loop, &v->deadline);
	v->next = X.vconns;
	X.vconns = v;
}

int
egress_vsock_start(struct ev_loop *loop, int port, int *gw,
    struct audit_err *err)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
		return audit_errf(err, "the egress streams' pair: %s",
		    strerror(errno));
	X.loop = loop;
	X.vsock_port = port;
	X.ctl = sv[1];
	fdmsg_q_init(&X.told);
	ev_io_init(&X.cwo, ctl_write, X.ctl, EV_WRITE);
	ev_io_init(&X.cio, vsock_ctl_read, X.ctl, EV_READ);
	ev_io_start(loop, &X.cio);
	*gw = sv[0];
	return 0;
}
