/*
 * Serving: listeners and connections on the event loop.  Requests are
 * newline-delimited; each line is bounded before it is parsed (a longer
 * one is read to its end, counted and hashed, never kept).  Many requests
 * may be in flight on one connection; responses go out as each is ready,
 * matched by id.  A connection whose peer stops reading stops being read.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#include "fdmsg.h"
#include "proxy.h"
#include "sockaddr.h"

static void conn_read(struct ev_loop *, ev_io *, int);
static void conn_write(struct ev_loop *, ev_io *, int);

static void
conn_free(struct conn *c)
{
	for (struct conn **p = &P->conns; *p != NULL; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			break;
		}
	P->nconns--;
	if (P->copy_conn == c)
		P->copy_conn = NULL;
	free(c->in);
	audit_buf_free(&c->out);
	free(c);
	/* Served only an inherited connection, now gone: nothing is left. */
	if (P->nlisten == 0 && P->nconns == 0)
		ev_break(P->loop, EVBREAK_ALL);
}

static void
conn_close(struct conn *c)
{
	if (c->closed)
		return;
	ev_io_stop(P->loop, &c->rio);
	ev_io_stop(P->loop, &c->wio);
	close(c->fd);
	c->closed = 1;
	if (c->pending == 0)
		conn_free(c);
}

/* A connection that is no longer wanted (a node's that another took). */
void
serve_drop(struct conn *c)
{
	if (P->copy_conn == c)
		P->copy_conn = NULL;
	conn_close(c);
}

static int pump(struct conn *);
static void host_gone(struct conn *);

/* A peer that said all it had to say, and has all its answers: done. */
static void
maybe_done(struct conn *c)
{
	if (c->eof && !c->closed && c->pending == 0 &&
	    c->roff == c->rlen && c->outoff == c->out.len)
		conn_close(c);
}

/* A request of c is answered (or abandoned). */
void
serve_release(struct conn *c)
{
	c->pending--;
	if (c->closed && c->pending == 0)
		conn_free(c);
	else if (pump(c) == 0)
		maybe_done(c);
}

/*
 * Send what c has queued: 0 when all of it went, 1 when the socket is
 * full (the rest waits for EV_WRITE), -1 when the peer is gone (c is
 * closed, and freed if nothing holds it).
 */
static int
flush(struct conn *c)
{
	ssize_t n;

	while (c->outoff < c->out.len) {
		/* write(2), not send(2): a VM's port is not a socket.
		 * SIGPIPE is ignored. */
		n = write(c->fd, c->out.p + c->outoff, c->out.len - c->outoff);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 1;
		if (n <= 0 && c->persists) {
			host_gone(c);
			return 1;
		}
		if (n <= 0) {
			conn_close(c);
			return -1;
		}
		c->outoff += (size_t)n;
	}
	c->out.len = c->outoff = 0;
	return 0;
}

/*
 * Queue one response line, and send it now when nothing is waiting
 * before it; a gone peer gets nothing.  Never frees c: the request being
 * answered still holds it.
 */
static void queued(struct conn *);

void
serve_send(struct conn *c, json_t *resp)
{
	struct audit_err e;
	size_t at;

	/* A node that has not said what its copy holds gets nothing. */
	if (c->closed || c->node_wait || resp == NULL)
		return;
	/* What was read is given back (a peer may never read all). */
	(void)audit_buf_compact(&c->out, &c->outoff);
	at = c->out.len;
	/* Straight into the buffer, as compact (canonical) JSON. */
	if (cjson_encode(resp, &c->out, &e) != 0 ||
	    audit_buf_add(&c->out, "\n", 1) != 0) {
		c->out.len = at;
		return;
	}
	queued(c);
}

/* Lines made elsewhere (the audit records of -A), as they are. */
void
serve_send_raw(struct conn *c, const char *p, size_t len)
{
	if (c->closed || c->node_wait || len == 0)
		return;
	(void)audit_buf_compact(&c->out, &c->outoff);
	if (audit_buf_add(&c->out, p, len) != 0) {
		/* A gap in the node's copy would be worse than no copy. */
		conn_close(c);
		return;
	}
	queued(c);
}

/* What was just queued goes now, or when the socket takes it. */
static void
queued(struct conn *c)
{
	if (c->hostless)
		return;		/* written once the host is back */
	if (!ev_is_active(&c->wio) && flush(c) != 1)
		return;
	if (c->hostless)
		return;
	ev_io_start(P->loop, &c->wio);
	/* A peer that does not read its answers is not read either. */
	if (c->out.len - c->outoff > OUTBUF_MAX)
		ev_io_stop(P->loop, &c->rio);
}

static void
conn_write(struct ev_loop *loop, ev_io *w, int revents)
{
	struct conn *c = w->data;

	(void)revents;
	if (flush(c) != 0)
		return;
	ev_io_stop(loop, w);
	if (pump(c) == 0)
		maybe_done(c);
}

/* Bytes of a line too long to keep: count and hash them. */
static void
overlong(struct conn *c, const char *p, size_t n)
{
	if (!c->overlong) {
		c->overlong = 1;
		c->overlong_bytes = 0;
		crypto_generichash_init(&c->overlong_hash, NULL, 0,
		    AUDIT_HASH_LEN);
		crypto_generichash_update(&c->overlong_hash,
		    (const uint8_t *)c->in, c->inlen);
		c->overlong_bytes = c->inlen;
		c->inlen = 0;
	}
	crypto_generichash_update(&c->overlong_hash, (const uint8_t *)p, n);
	c->overlong_bytes += n;
}

/*
 * May c's next line be taken?  Not while it has REQS_MAX requests in
 * flight, nor while its peer has left OUTBUF_MAX bytes of answers
 * unread: what the proxy holds for one connection stays bounded.
 */
static int
can_take(const struct conn *c)
{
	return !c->closed && c->pending < REQS_MAX &&
	    c->out.len - c->outoff <= OUTBUF_MAX;
}

/* One line, or the start of one, from what was read. */
static void
take(struct conn *c)
{
	const char *p = c->rbuf + c->roff;
	size_t n = c->rlen - c->roff;
	const char *nl = memchr(p, '\n', n);
	size_t part = nl != NULL ? (size_t)(nl - p) : n;

	if (c->overlong || c->inlen + part > P->cfg.lim.line)
		overlong(c, p, part);
	else {
		memcpy(c->in + c->inlen, p, part);
		c->inlen += part;
	}
	c->roff += nl != NULL ? part + 1 : part;
	if (nl == NULL)
		return;
	if (c->overlong) {
		uint8_t h[AUDIT_HASH_LEN];

		crypto_generichash_final(&c->overlong_hash, h, AUDIT_HASH_LEN);
		c->overlong = 0;
		c->inlen = 0;
		request_overlong(c, c->overlong_bytes, h);
	} else {
		size_t len = c->inlen;

		c->inlen = 0;
		request_line(c, c->in, len);
	}
}

/*
 * Take the lines read while c may take them; read more once all are
 * taken.  A request answered at once may release c inside request_line:
 * the pump holds c (as one more pending request) so it outlives that.
 * 1 when c was closed meanwhile and is now gone.
 */
static int
pump(struct conn *c)
{
	if (c->pumping || c->closed)
		return 0;
	c->pumping = 1;
	c->pending++;
	while (c->roff < c->rlen && can_take(c))
		take(c);
	if (c->roff == c->rlen)
		c->roff = c->rlen = 0;
	if (c->rlen == 0 && !c->eof && !c->hostless && can_take(c))
		ev_io_start(P->loop, &c->rio);
	else
		ev_io_stop(P->loop, &c->rio);
	c->pumping = 0;
	c->pending--;
	if (c->closed && c->pending == 0) {
		conn_free(c);
		return 1;
	}
	return 0;
}

/*
 * A VM's port whose host end went away (the node restarted, say): the
 * line being read is dropped, answers not yet written wait, and the
 * port is looked at every CHANNEL_RETRY_MS until a host is there again;
 * a port says only POLLHUP meanwhile, which no watcher could wait on.
 */
static void
host_back(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct conn *c = w->data;
	struct pollfd pf = { c->fd, POLLIN, 0 };

	(void)revents;
	if (poll(&pf, 1, 0) < 0 || (pf.revents & POLLHUP))
		return;
	ev_timer_stop(loop, w);
	c->hostless = 0;
	/*
	 * -A: a new node, whose first line says what its copy holds
	 * (record_resume); what waited for the old one is not its.
	 */
	if (c == P->copy_conn) {
		c->node_wait = 1;
		c->out.len = c->outoff = 0;
	}
	if (c->outoff < c->out.len)
		ev_io_start(loop, &c->wio);
	if (pump(c) == 0)
		maybe_done(c);
}

static void
host_gone(struct conn *c)
{
	if (c->hostless)
		return;
	c->hostless = 1;
	c->inlen = 0;
	c->overlong = 0;
	c->rlen = c->roff = 0;
	ev_io_stop(P->loop, &c->rio);
	ev_io_stop(P->loop, &c->wio);
	ev_timer_init(&c->retry, host_back, CHANNEL_RETRY_MS / 1000.0,
	    CHANNEL_RETRY_MS / 1000.0);
	c->retry.data = c;
	ev_timer_start(P->loop, &c->retry);
}

/*
 * The node's connection before its first word: read with what may ride
 * on it (a new gateway's connection, local_connect_gw), which goes to
 * egress.c.
 */
static ssize_t
node_read(struct conn *c)
{
	int fd;
	ssize_t n = fdmsg_recv(c->fd, c->rbuf, sizeof(c->rbuf), &fd);

	if (fd >= 0)
		egress_gateway_again(fd);
	return n;
}

static void
conn_read(struct ev_loop *loop, ev_io *w, int revents)
{
	struct conn *c = w->data;
	ssize_t n;

	(void)loop;
	(void)revents;
	if (c->rlen != 0) {
		ev_io_stop(P->loop, &c->rio);	/* not all taken yet */
		return;
	}
	n = c->node_wait && !c->persists ? node_read(c) : read(c->fd, c->rbuf,
	    sizeof(c->rbuf));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0 && c->persists) {
		host_gone(c);
		return;
	}
	if (n < 0) {
		conn_close(c);
		return;
	}
	if (n == 0) {
		/*
		 * The peer is done sending (a last line without its newline
		 * is not a request); its answers still go out.
		 */
		c->eof = 1;
		ev_io_stop(P->loop, &c->rio);
		maybe_done(c);
		return;
	}
	c->rlen = (size_t)n;
	c->roff = 0;
	if (pump(c) == 0)
		maybe_done(c);
}

/* A blocking read or write would stop the loop, and every request. */
static int
nonblocking(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static int
conn_add(int fd)
{
	struct conn *c = NULL;

	if (P->nconns >= CONNS_MAX || nonblocking(fd) != 0 ||
	    (c = calloc(1, sizeof(*c))) == NULL ||
	    (c->in = malloc(P->cfg.lim.line + 1)) == NULL) {
		if (c != NULL)
			free(c);
		close(fd);
		return -1;
	}
	c->fd = fd;
	ev_io_init(&c->rio, conn_read, fd, EV_READ);
	ev_io_init(&c->wio, conn_write, fd, EV_WRITE);
	c->rio.data = c->wio.data = c;
	ev_io_start(P->loop, &c->rio);
	c->next = P->conns;
	P->conns = c;
	P->nconns++;
	return 0;
}

static void
accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	int fd;

	(void)loop;
	(void)revents;
	while ((fd = accept4(w->fd, NULL, NULL, SOCK_CLOEXEC |
	    SOCK_NONBLOCK)) >= 0)
		conn_add(fd);
}

/*
 * Is fd's peer outside the pod?  A vsock's: the host (the VM's -v
 * listener, under Firecracker), never the guest itself.  A Unix
 * socket's (the local driver's chan.sock): outside the proxy's PID
 * namespace, where SO_PEERCRED names it 0: nothing the pod runs.
 */
static int
peer_outside(int fd)
{
	union {
		struct sockaddr sa;
		struct sockaddr_vm vm;
		struct sockaddr_un un;
	} a;
	socklen_t alen = sizeof(a);
	struct ucred uc;
	socklen_t len = sizeof(uc);

	memset(&a, 0, sizeof(a));
	if (getpeername(fd, &a.sa, &alen) != 0 ||
	    alen < sizeof(a.sa.sa_family))
		return 0;
	if (a.sa.sa_family == AF_VSOCK)
		return alen >= sizeof(a.vm) && a.vm.svm_cid == VMADDR_CID_HOST;
	return a.sa.sa_family == AF_UNIX && getsockopt(fd, SOL_SOCKET,
	    SO_PEERCRED, &uc, &len) == 0 && len == sizeof(uc) && uc.pid == 0;
}

/*
 * -A with a listening -f (the local driver; a Firecracker VM's vsock):
 * only the node may connect.  A local pod's socket is the node's, in a
 * directory the pod cannot see, mode 0600 and the node's uid; and the
 * peer must be outside the pod (peer_outside).  While the node's
 * connection is there another is closed at once; one whose peer has
 * gone (hung up, or done sending) gives way.  The connection is the
 * node's once it says what its copy holds (record_resume).
 */
static int
node_may_connect(int fd)
{
	struct conn *old = P->copy_conn;

	if (!peer_outside(fd))
		return 0;
	if (old != NULL && !old->closed) {
		struct pollfd pf = { old->fd, POLLIN | POLLRDHUP, 0 };

		if (poll(&pf, 1, 0) < 0 ||
		    !(pf.revents & (POLLHUP | POLLERR | POLLRDHUP)))
			return 0;
		serve_drop(old);
	}
	for (struct conn *c = P->conns; c != NULL; c = c->next)
		if (c->node_wait && !c->closed)
			return 0;	/* one that has not spoken yet */
	return 1;
}

static void
node_accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	int fd;

	(void)loop;
	(void)revents;
	while ((fd = accept4(w->fd, NULL, NULL, SOCK_CLOEXEC |
	    SOCK_NONBLOCK)) >= 0) {
		if (!node_may_connect(fd)) {
			close(fd);
			continue;
		}
		if (conn_add(fd) == 0)
			P->conns->node_wait = 1;
	}
}

static int
add_listener(struct proxy *p, int fd)
{
	int n = p->nlisten++;

	p->listen_fds[n] = fd;
	ev_io_init(&p->listen_io[n], p->copy_listener && fd ==
	    p->cfg.listen_fd ? node_accept_cb : accept_cb, fd, EV_READ);
	ev_io_start(p->loop, &p->listen_io[n]);
	return 0;
}

static int
unix_listener(struct proxy *p, const char *path, struct audit_err *err)
{
	struct sockaddr_un sa;
	struct stat st;
	mode_t old;
	int fd, rc;

	if (sockaddr_un_fill(&sa, path, err) != 0)
		return -1;
	/* Replace a stale socket, never anything else. */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return audit_errf(err, "%s: exists and is not a socket",
			    path);
		unlink(path);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) < 0)
		return audit_errf(err, "socket: %s", strerror(errno));
	old = umask(077);	/* mode 0600: only our user connects */
	rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc != 0 || chmod(path, 0600) != 0 || listen(fd, 64) != 0) {
		audit_errf(err, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return add_listener(p, fd);
}

static int
vsock_listener(struct proxy *p, int port, struct audit_err *err)
{
	struct sockaddr_vm sa;
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.svm_family = AF_VSOCK;
	sa.svm_cid = VMADDR_CID_ANY;
	sa.svm_port = (unsigned)port;
	if ((fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) < 0)
		return audit_errf(err, "vsock: %s", strerror(errno));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(fd, 16) != 0) {
		audit_errf(err, "vsock port %d: %s", port, strerror(errno));
		close(fd);
		return -1;
	}
	return add_listener(p, fd);
}

/*
 * An inherited descriptor: a listening socket to accept on, or one end
 * of a socketpair that is already the connection.
 */
static int
fd_listener(struct proxy *p, int fd, struct audit_err *err)
{
	int on = 0;
	socklen_t len = sizeof(on);

	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) != 0 &&
	    !(errno == ENOTSOCK && p->cfg.channel_persists))
		return audit_errf(err, "-f %d: not a socket: %s", fd,
		    strerror(errno));
	/* Commands are started by the spawner, but say it here too. */
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) != 0)
		return audit_errf(err, "-f %d: %s", fd, strerror(errno));
	if (on) {
		if (nonblocking(fd) != 0)
			return audit_errf(err, "-f %d: %s", fd,
			    strerror(errno));
		p->copy_listener = p->cfg.copy_audit;
		return add_listener(p, fd);
	}
	if (conn_add(fd) != 0)
		return audit_errf(err, "-f %d: cannot serve", fd);
	p->conns->persists = p->cfg.channel_persists;
	return 0;
}

int
serve_listen(struct proxy *p, struct audit_err *err)
{
	if (p->cfg.socket_path != NULL &&
	    unix_listener(p, p->cfg.socket_path, err) != 0)
		return -1;
	if (p->cfg.listen_fd >= 0 && fd_listener(p, p->cfg.listen_fd, err) != 0)
		return -1;
	if (p->cfg.vsock_port >= 0 &&
	    vsock_listener(p, p->cfg.vsock_port, err) != 0)
		return -1;
	if (p->nlisten == 0 && p->nconns == 0)
		return audit_errf(err, "nothing to listen on: give -l, -f or "
		    "-v");
	return 0;
}
