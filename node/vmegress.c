/*
 * A QEMU pod's egress streams, on the host (mux.h): the guest's proxy
 * multiplexes its connections on the VM's second virtio serial port,
 * whose host end is <dir>/vm/egress.sock (QEMU listens, the node
 * connects once the guest said hello).  Each stream the guest opens is
 * asked of the pod's gateway exactly as a local pod's proxy asks it: its
 * request on the gateway's SOCK_SEQPACKET connection (the id the node's,
 * the stream's), the gateway's answer back to the guest, and the
 * socketpair end the gateway hands over relayed as the stream's frames.
 * A node that takes the pod back after a restart connects again and
 * begins a new session (mux.h: its SYNC), so that nothing of the old
 * one is taken for the new.
 * The gateway checks, resolves, records and dials as for any pod: the
 * guest is trusted with nothing.  A guest that breaks the frames' rules
 * gets its stream or its channel closed and an egress.violation record;
 * the node goes on.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fdmsg.h"
#include "serve.h"
#include "mux.h"
#include "sockaddr.h"

#define VMEGRESS_CONNECT_MS	2000	/* QEMU's port socket, at most */

struct vmegress {
	char	 pod[POD_NAME_MAX + 1];
	struct mux m;
	int	 gw;		/* the gateway: SOCK_SEQPACKET */
	ev_io	 gio;
};

static void
refusal(struct mux *m, struct mux_stream *s, const char *kind,
    const char *why)
{
	json_t *a = json_pack("{s:b, s:s, s:s}", "ok", 0, "kind", kind,
	    "reason", why);
	char *t = a != NULL ? json_dumps(a, JSON_COMPACT) : NULL;

	json_decref(a);
	mux_answer(m, s, t != NULL ? t : "", t != NULL ? strlen(t) : 0, -1);
	free(t);
}

static void
violation(struct mux *m, uint32_t id, const char *why, int fatal)
{
	struct vmegress *v = m->arg;

	node_record(NULL, json_pack("{s:s, s:s, s:I, s:s, s:s}", "event",
	    "egress.violation", "pod", v->pod, "stream", (json_int_t)id,
	    "reason", why, "closed", fatal ? "channel" : "stream"), NULL);
}

/* The guest asks: the gateway is asked, under the stream's id. */
static void
on_open(struct mux *m, struct mux_stream *s, const char *json, size_t len)
{
	struct vmegress *v = m->arg;
	json_t *q = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL);
	char *t = NULL;
	ssize_t n = -1;

	if (!json_is_object(q)) {
		json_decref(q);
		violation(m, s->id, "a request that is not a JSON object", 0);
		refusal(m, s, "bad_request", "the request is not a JSON "
		    "object");
		return;
	}
	json_object_set_new(q, "id", json_integer((json_int_t)s->id));
	t = json_dumps(q, JSON_COMPACT);
	json_decref(q);
	if (t != NULL && strlen(t) > MUX_MSG_MAX) {
		free(t);
		violation(m, s->id, "a request over MUX_MSG_MAX bytes", 0);
		refusal(m, s, "bad_request", "the request is too long");
		return;
	}
	if (t != NULL && v->gw >= 0)
		n = send(v->gw, t, strlen(t), MSG_NOSIGNAL | MSG_DONTWAIT);
	free(t);
	if (n < 0)
		refusal(m, s, "unavailable", "the host's gateway is gone");
}

static void
on_gone(struct mux *m)
{
	(void)m;	/* new streams have no way in; the gateway stays */
}

static const struct mux_ops host_ops = {
	.open = on_open, .violation = violation, .gone = on_gone,
};

/* The gateway's answer, with the stream when it is yes. */
static void
gateway_read(struct ev_loop *loop, ev_io *w, int revents)
{
	struct vmegress *v = w->data;
	char buf[MUX_MSG_MAX];
	struct mux_stream *s;
	int fd;
	ssize_t n = fdmsg_recv(w->fd, buf, sizeof(buf), &fd);
	json_t *a;

	(void)revents;
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		ev_io_stop(loop, w);
		close(v->gw);
		v->gw = -1;
		return;
	}
	a = json_loadb(buf, (size_t)n, 0, NULL);
	s = v->m.dead ? NULL : mux_find(&v->m, (uint32_t)json_integer_value(
	    json_object_get(a, "id")));
	if (s == NULL || s->answered) {
		/* the stream ended meanwhile: so does the connection */
		if (fd >= 0)
			close(fd);
	} else if (json_is_true(json_object_get(a, "ok")) && fd < 0)
		refusal(&v->m, s, "unavailable", "the gateway gave no stream");
	else
		mux_answer(&v->m, s, buf, (size_t)n, json_is_true(
		    json_object_get(a, "ok")) ? fd : -1);
	json_decref(a);
}

/* QEMU's socket for the port (the pods' uid's, as QEMU made it): there
 * once the guest said hello. */
static int
port_connect(const char *dir, const struct local_env *env,
    struct audit_err *err)
{
	char path[PATH_MAX];
	int fd;

	if (vm_sock_path(dir, "vm/egress.sock", path, sizeof(path),
	    err) != 0)
		return -1;
	for (int waited = 0; waited <= VMEGRESS_CONNECT_MS;
	    waited += VM_START_POLL_MS) {
		if ((fd = vm_sock_connect(path, env->uid, err)) >= 0)
			return fd;
		if (errno == EPERM)
			return -1;	/* not QEMU's socket: err says so */
		usleep(VM_START_POLL_MS * 1000);
	}
	return audit_errf(err, "%s: QEMU's egress port takes no connection: "
	    "%s", path, strerror(errno));
}

static void
fc_record(json_t *rec, void *arg)
{
	(void)arg;
	node_record(NULL, rec, NULL);
}

/* Firecracker: <vm>/fc.sock_<port>, the pod's uid's, as Firecracker
 * connects there. */
static int
fc_start(const struct podspec *spec, const struct local_env *env,
    struct local_pod *lp, int gw, struct audit_err *err)
{
	char path[PATH_MAX], name[32];

	snprintf(name, sizeof(name), "vm/fc.sock_%d", VM_EGRESS_VSOCK_PORT);
	if (vm_sock_path(lp->dir, name, path, sizeof(path), err) != 0 ||
	    (lp->fcegress = fcegress_start(N->loop, path, gw, spec->name,
	    fc_record, NULL, err)) == NULL) {
		close(gw);
		return -1;
	}
	if (fcegress_chown(lp->fcegress, env->uid, env->gid) != 0)
		return audit_errf(err, "%s: %s", path, strerror(errno));
	return 0;
}

int
vmegress_start(const struct podspec *spec, const struct local_env *env,
    struct local_pod *lp, struct audit_err *err)
{
	struct vmegress *v;
	int gw = -1, fd;

	if (spec->network == NULL || strcmp(spec->driver, "local") == 0)
		return 0;
	if (egress_start(spec, env, lp->dir, &lp->egress, &gw, err) != 0)
		return -1;
	if (strcmp(spec->driver, "firecracker") == 0)
		return fc_start(spec, env, lp, gw, err);
	if ((fd = port_connect(lp->dir, env, err)) < 0) {
		close(gw);
		return -1;
	}
	if ((v = calloc(1, sizeof(*v))) == NULL ||
	    mux_init(&v->m, N->loop, fd, 1, &host_ops, v) != 0) {
		free(v);
		close(fd);
		close(gw);
		return audit_errf(err, "the egress port: %s", strerror(errno));
	}
	memcpy(v->pod, spec->name, sizeof(v->pod));
	v->gw = gw;
	ev_io_init(&v->gio, gateway_read, gw, EV_READ);
	v->gio.data = v;
	ev_io_start(N->loop, &v->gio);
	lp->vmegress = v;
	return 0;
}

void
vmegress_stop(struct local_pod *lp)
{
	struct vmegress *v = lp->vmegress;

	fcegress_stop(lp->fcegress);
	lp->fcegress = NULL;
	lp->vmegress = NULL;
	if (v == NULL)
		return;
	mux_close(&v->m);
	ev_io_stop(N->loop, &v->gio);
	if (v->gw >= 0)
		close(v->gw);
	free(v);
}
