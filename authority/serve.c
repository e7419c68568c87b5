/*
 * Connections on the request and the admin socket: newline-delimited
 * JSON in, one JSON line per answer out.  A connection is bounded: at
 * most CONN_INFLIGHT_MAX lines in flight (an admin's: one) and OUTBUF_MAX
 * unsent bytes; past either, it is not read until it drains.  A line
 * longer than LINE_MAX_BYTES is read to its end, hashed, refused and
 * recorded, and the next line is served.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "authority.h"

static void conn_read(struct ev_loop *, ev_io *, int);
static void conn_write(struct ev_loop *, ev_io *, int);
static void pump(struct conn *);

static ev_io listen_io[2];

static void
conn_free(struct conn *c)
{
	free(c->in);
	audit_buf_free(&c->out);
	free(c);
}

static void
conn_close(struct conn *c)
{
	struct conn **pp;

	if (c->closed)
		return;
	c->closed = 1;
	ev_io_stop(A->loop, &c->rio);
	ev_io_stop(A->loop, &c->wio);
	close(c->fd);
	c->fd = -1;
	waiters_drop(c);
	for (pp = &A->conns; *pp != NULL; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	A->nconns--;
	if (c->inflight == 0)
		conn_free(c);
}

/* Nothing more to read, answer or wait for: the connection ends. */
static void
maybe_done(struct conn *c)
{
	if (!c->closed && c->eof && c->inflight == 0 && c->waiting == 0 &&
	    c->outoff == c->out.len && c->roff == c->rlen)
		conn_close(c);
}

void
conn_hold(struct conn *c)
{
	c->inflight++;
}

void
conn_release(struct conn *c)
{
	if (--c->inflight == 0 && c->closed) {
		conn_free(c);
		return;
	}
	if (!c->closed) {
		pump(c);
		maybe_done(c);
	}
}

static void
flush(struct conn *c)
{
	while (c->outoff < c->out.len) {
		ssize_t n = write(c->fd, c->out.p + c->outoff,
		    c->out.len - c->outoff);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			ev_io_start(A->loop, &c->wio);
			return;
		}
		if (n <= 0) {
			conn_close(c);
			return;
		}
		c->outoff += (size_t)n;
	}
	c->out.len = c->outoff = 0;
	ev_io_stop(A->loop, &c->wio);
}

/* Queue one answer line; v is not consumed. */
void
conn_send(struct conn *c, json_t *v)
{
	struct audit_err e;
	size_t before;

	if (c->closed || v == NULL)
		return;
	before = c->out.len;
	if (cjson_encode(v, &c->out, &e) != 0 ||
	    audit_buf_add(&c->out, "\n", 1) != 0) {
		c->out.len = before;
		return;
	}
	flush(c);
	if (!c->closed) {
		pump(c);
		maybe_done(c);
	}
}

static void
conn_write(struct ev_loop *loop, ev_io *w, int revents)
{
	struct conn *c = w->data;

	(void)loop;
	(void)revents;
	flush(c);
	if (!c->closed) {
		pump(c);
		maybe_done(c);
	}
}

/*
 * An agent may have CONN_INFLIGHT_MAX lines in flight; an admin one
 * command at a time (a list can be large: one is built at a time).
 */
static int
can_take(const struct conn *c)
{
	return !c->closed && c->inflight < (c->kind == CONN_ADMIN ? 1 :
	    CONN_INFLIGHT_MAX) && c->out.len - c->outoff <= OUTBUF_MAX;
}

static void
line(struct conn *c, const char *p, size_t n)
{
	if (c->kind == CONN_ADMIN)
		admin_line(c, p, n);
	else
		agent_line(c, p, n);
}

static void
overlong_end(struct conn *c)
{
	uint8_t h[AUDIT_HASH_LEN];

	crypto_generichash_final(&c->overlong_hash, h, sizeof(h));
	c->overlong = 0;
	if (c->kind == CONN_ADMIN)
		admin_overlong(c, c->overlong_bytes, h);
	else
		agent_overlong(c, c->overlong_bytes, h);
}

/* Take one line, or what there is of one, from the read buffer. */
static void
take(struct conn *c)
{
	char *p = c->rbuf + c->roff, *nl;
	size_t avail = c->rlen - c->roff, n;

	nl = memchr(p, '\n', avail);
	n = nl != NULL ? (size_t)(nl - p) : avail;
	c->roff += n + (nl != NULL);
	if (!c->overlong && c->inlen + n > LINE_MAX_BYTES) {
		crypto_generichash_init(&c->overlong_hash, NULL, 0,
		    AUDIT_HASH_LEN);
		crypto_generichash_update(&c->overlong_hash,
		    (const uint8_t *)c->in, c->inlen);
		c->overlong = 1;
		c->overlong_bytes = c->inlen;
		free(c->in);
		c->in = NULL;
		c->inlen = 0;
	}
	if (c->overlong) {
		crypto_generichash_update(&c->overlong_hash, (uint8_t *)p, n);
		c->overlong_bytes += n;
		if (nl != NULL)
			overlong_end(c);
		return;
	}
	if (nl != NULL && c->inlen == 0) {
		line(c, p, n);
		return;
	}
	if (n > 0) {
		char *q = realloc(c->in, c->inlen + n);

		if (q == NULL) {
			conn_close(c);
			return;
		}
		memcpy(q + c->inlen, p, n);
		c->in = q;
		c->inlen += n;
	}
	if (nl != NULL) {
		char *whole = c->in;
		size_t len = c->inlen;

		c->in = NULL;
		c->inlen = 0;
		line(c, whole, len);
		free(whole);
	}
}

static void
pump(struct conn *c)
{
	while (c->roff < c->rlen && can_take(c))
		take(c);
	if (c->closed)
		return;
	if (c->roff < c->rlen || !can_take(c) || c->eof)
		ev_io_stop(A->loop, &c->rio);
	else
		ev_io_start(A->loop, &c->rio);
}

static void
conn_read(struct ev_loop *loop, ev_io *w, int revents)
{
	struct conn *c = w->data;
	ssize_t n;

	(void)loop;
	(void)revents;
	if (c->roff < c->rlen) {
		pump(c);
		return;
	}
	n = read(c->fd, c->rbuf, sizeof(c->rbuf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		/*
		 * An unfinished last line is a line; an overlong one ends.
		 * A peer that has ended its side waits for no decision: a
		 * closed peer would otherwise hold its slot until they come.
		 */
		c->eof = 1;
		ev_io_stop(A->loop, &c->rio);
		waiters_drop(c);
		if (n < 0) {
			conn_close(c);
			return;
		}
		if (c->overlong)
			overlong_end(c);
		else if (c->inlen > 0) {
			char *whole = c->in;
			size_t len = c->inlen;

			c->in = NULL;
			c->inlen = 0;
			line(c, whole, len);
			free(whole);
		}
		if (!c->closed)
			maybe_done(c);
		return;
	}
	c->roff = 0;
	c->rlen = (size_t)n;
	pump(c);
}

static void
accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	enum conn_kind kind = w == &listen_io[1] ? CONN_ADMIN : CONN_AGENT;
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	struct conn *c;
	int fd;

	(void)revents;
	if ((fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK |
	    SOCK_CLOEXEC)) < 0)
		return;
	if (A->nconns >= CONNS_MAX || (c = calloc(1, sizeof(*c))) == NULL) {
		static const char busy[] = "{\"error\":{\"kind\":"
		    "\"unavailable\",\"message\":\"too many connections\"},"
		    "\"ok\":false,\"type\":\"response\",\"v\":1}\n";

		(void)!write(fd, busy, sizeof(busy) - 1);
		close(fd);
		return;
	}
	c->kind = kind;
	c->fd = fd;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0) {
		c->uid = cred.uid;
		c->pid = cred.pid;
	} else {
		c->uid = (uid_t)-1;
		c->pid = 0;
	}
	ev_io_init(&c->rio, conn_read, fd, EV_READ);
	ev_io_init(&c->wio, conn_write, fd, EV_WRITE);
	c->rio.data = c->wio.data = c;
	c->next = A->conns;
	A->conns = c;
	A->nconns++;
	if (kind == CONN_ADMIN && admin_accept(c) != 0) {
		/* refused: the answer is queued; no line is read */
		c->eof = 1;
		maybe_done(c);
		return;
	}
	ev_io_start(loop, &c->rio);
}

static int
listener(const char *path, gid_t gid, struct audit_err *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return audit_errf(err, "%s: socket path too long", path);
	memcpy(sa.sun_path, path, strlen(path));
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return audit_errf(err, "%s: exists and is not a "
			    "socket", path);
		if (unlink(path) != 0)
			return audit_errf(err, "%s: %s", path,
			    strerror(errno));
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) < 0)
		return audit_errf(err, "socket: %s", strerror(errno));
	/* Made 0600 and then opened to the group: never wider. */
	mode_t old = umask(0177);
	int rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));

	umask(old);
	if (rc != 0 || (gid != (gid_t)-1 && (chown(path, (uid_t)-1, gid) != 0 ||
	    chmod(path, 0660) != 0)) || listen(fd, 128) != 0) {
		audit_errf(err, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * The admin socket, then the request socket, mode 0600 or 0660 to gid:
 * once the request socket is there, both are.
 */
int
serve_listen(const char *request_path, const char *admin_path, gid_t gid,
    struct audit_err *err)
{
	const char *paths[2] = { request_path, admin_path };

	for (int i = 1; i >= 0; i--) {
		int fd = listener(paths[i], gid, err);

		if (fd < 0)
			return -1;
		ev_io_init(&listen_io[i], accept_cb, fd, EV_READ);
		ev_io_start(A->loop, &listen_io[i]);
	}
	return 0;
}
