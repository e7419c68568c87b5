/*
 * A line server (lines.h): newline-delimited JSON in, one JSON line per
 * answer out, over Unix sockets, bounded per connection.
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

#include "lines.h"
#include "sockaddr.h"

#define LINES_BUF_KEEP	65536	/* bytes of a drained answer buffer kept;
				   a larger one is freed */
#define LINES_SLACK	0.001	/* seconds a deadline may come early by */

static void conn_read(struct ev_loop *, ev_io *, int);
static void conn_write(struct ev_loop *, ev_io *, int);
static void pump(struct lines_conn *);
static void arm(struct lines_conn *);

/* Said to a peer turned away, or cut off, just before it is closed. */
static const char busy[] = "{\"error\":{\"kind\":\"unavailable\","
    "\"message\":\"too many connections\"},\"ok\":false,"
    "\"type\":\"response\",\"v\":1}\n";
static const char busy_uid[] = "{\"error\":{\"kind\":\"unavailable\","
    "\"message\":\"too many connections of this uid\"},\"ok\":false,"
    "\"type\":\"response\",\"v\":1}\n";
static const char slow[] = "{\"error\":{\"kind\":\"unavailable\","
    "\"message\":\"the line did not end in time\"},\"ok\":false,"
    "\"type\":\"response\",\"v\":1}\n";

/*
 * The clock, not the loop's time: that is when this iteration began,
 * and after a slow one a deadline counted from it would come early.
 */
static void
touch(struct lines_conn *c)
{
	c->active = ev_time();
}

/*
 * The server's count of unsent bytes follows c's.  Past outbuf_shed the
 * biggest holders are closed, but from the loop (shed_cb): a send may
 * come from a walk of the connections that a close would upset.
 */
static void
account(struct lines_conn *c)
{
	struct lines *srv = c->srv;
	size_t n = c->closed ? 0 : c->out.len - c->outoff;

	srv->outbuf_held = srv->outbuf_held - c->unsent + n;
	c->unsent = n;
	if (srv->outbuf_shed > 0 && srv->outbuf_held > srv->outbuf_shed &&
	    !ev_is_active(&srv->shed)) {
		ev_timer_set(&srv->shed, 0., 0.);
		ev_timer_start(srv->loop, &srv->shed);
	}
}

static void
conn_free(struct lines_conn *c)
{
	free(c->in);
	audit_buf_free(&c->out);
	free(c);
}

static void
reap_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct lines *srv = w->data;
	struct lines_conn *c;

	(void)loop;
	(void)revents;
	while ((c = srv->dead) != NULL) {
		srv->dead = c->next;
		c->reaping = 0;
		if (c->inflight == 0)	/* else the last release frees it */
			conn_free(c);
	}
}

static void
conn_close(struct lines_conn *c)
{
	struct lines_conn **pp;

	if (c->closed)
		return;
	c->closed = 1;
	ev_io_stop(c->srv->loop, &c->rio);
	ev_io_stop(c->srv->loop, &c->wio);
	ev_timer_stop(c->srv->loop, &c->tio);
	account(c);
	audit_buf_free(&c->out);	/* nothing more is sent */
	c->outoff = 0;
	close(c->fd);
	c->fd = -1;
	if (c->srv->ops->gone != NULL)
		c->srv->ops->gone(c);
	for (pp = &c->srv->conns; *pp != NULL; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	c->srv->nconns--;
	/* Not freed here: the callback that closed it may still look. */
	if (c->inflight == 0) {
		c->reaping = 1;
		c->next = c->srv->dead;
		c->srv->dead = c;
		if (!ev_is_active(&c->srv->reap)) {
			ev_timer_set(&c->srv->reap, 0., 0.);
			ev_timer_start(c->srv->loop, &c->srv->reap);
		}
	}
}

/* Nothing more to read, answer or wait for: the connection ends. */
static void
maybe_done(struct lines_conn *c)
{
	if (!c->closed && c->eof && c->inflight == 0 && c->holds == 0 &&
	    c->outoff == c->out.len && c->roff == c->rlen)
		conn_close(c);
	else
		arm(c);
}

/* The server dropped a hold: the connection may be done, or idle. */
void
lines_check(struct lines_conn *c)
{
	if (!c->closed)
		touch(c);
	maybe_done(c);
}

/* A line is being answered: the connection stays until it is. */
void
lines_hold(struct lines_conn *c)
{
	c->inflight++;
}

void
lines_release(struct lines_conn *c)
{
	if (--c->inflight == 0 && c->closed) {
		if (!c->reaping)
			conn_free(c);
		return;
	}
	if (!c->closed) {
		touch(c);
		pump(c);
		maybe_done(c);
	}
}

static void
flush(struct lines_conn *c)
{
	while (c->outoff < c->out.len) {
		ssize_t n = write(c->fd, c->out.p + c->outoff,
		    c->out.len - c->outoff);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			ev_io_start(c->srv->loop, &c->wio);
			return;
		}
		if (n <= 0) {
			conn_close(c);
			return;
		}
		c->outoff += (size_t)n;
		touch(c);
		account(c);
	}
	/* What a burst of answers grew is given back once it is sent. */
	if (c->out.cap > LINES_BUF_KEEP)
		audit_buf_free(&c->out);
	c->out.len = c->outoff = 0;
	account(c);
	ev_io_stop(c->srv->loop, &c->wio);
}

/* A line was queued (or not: its bytes dropped): send what can go. */
static void
queued(struct lines_conn *c, size_t before, int failed)
{
	if (failed) {
		c->out.len = before;
		return;
	}
	touch(c);
	account(c);
	flush(c);
	if (!c->closed) {
		pump(c);
		maybe_done(c);
	}
}

/* Queue one answer line; v is not consumed. */
void
lines_send(struct lines_conn *c, const json_t *v)
{
	struct audit_err e;
	size_t before;

	if (c->closed || v == NULL)
		return;
	(void)audit_buf_compact(&c->out, &c->outoff);
	before = c->out.len;
	queued(c, before, cjson_encode(v, &c->out, &e) != 0 ||
	    audit_buf_add(&c->out, "\n", 1) != 0);
}

/* A line made elsewhere, as it is; the newline is added. */
void
lines_send_raw(struct lines_conn *c, const char *p, size_t len)
{
	size_t before;

	if (c->closed)
		return;
	(void)audit_buf_compact(&c->out, &c->outoff);
	before = c->out.len;
	queued(c, before, audit_buf_add(&c->out, p, len) != 0 ||
	    audit_buf_add(&c->out, "\n", 1) != 0);
}

static void
conn_write(struct ev_loop *loop, ev_io *w, int revents)
{
	struct lines_conn *c = w->data;

	(void)loop;
	(void)revents;
	flush(c);
	if (!c->closed) {
		pump(c);
		maybe_done(c);
	}
}

/*
 * Another line may be read: not too many in flight, not too much unsent
 * to this peer, nor past outbuf_total to all of them if this one holds
 * any.
 */
static int
can_take(const struct lines_conn *c)
{
	const struct lines *srv = c->srv;

	return !c->closed && c->inflight <
	    srv->ops->inflight_max[c->listener] &&
	    c->out.len - c->outoff <= srv->outbuf_max &&
	    (srv->outbuf_total == 0 || c->out.len == c->outoff ||
	    srv->outbuf_held <= srv->outbuf_total);
}

/* A line has begun and not ended. */
static int
begun(const struct lines_conn *c)
{
	return c->inlen > 0 || c->overlong;
}

/*
 * When the connection is closed for waiting on its peer alone: a line
 * begun and read must end within line_s; one with nothing in flight,
 * held or lingering goes after idle_s quiet (nothing read, sent or
 * answered: a peer that takes none of its answers is quiet too).  0:
 * never, while it waits on the server.
 */
static ev_tstamp
deadline(const struct lines_conn *c)
{
	const struct lines *srv = c->srv;

	if (begun(c) && ev_is_active(&c->rio))
		return srv->line_s > 0 ? c->line_start + srv->line_s : 0;
	if (c->inflight > 0 || c->holds > 0 || c->lingers)
		return 0;
	return srv->idle_s > 0 ? c->active + srv->idle_s : 0;
}

static void
arm(struct lines_conn *c)
{
	struct ev_loop *loop = c->srv->loop;
	ev_tstamp at;

	if (c->closed)
		return;
	ev_timer_stop(loop, &c->tio);
	if ((at = deadline(c)) == 0)
		return;
	ev_timer_set(&c->tio, at > ev_now(loop) ? at - ev_now(loop) : 0.,
	    0.);
	ev_timer_start(loop, &c->tio);
}

/*
 * A deadline passed: a line cut off is told so, unless that would land
 * inside an answer half sent; then it is closed.
 */
static void
conn_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct lines_conn *c = w->data;
	ev_tstamp at;

	(void)revents;
	if (c->closed || (at = deadline(c)) == 0)
		return;
	if (at > ev_now(loop) + LINES_SLACK) {
		arm(c);
		return;
	}
	if (begun(c) && c->outoff == c->out.len)
		(void)!write(c->fd, slow, sizeof(slow) - 1);
	conn_close(c);
}

/* outbuf_shed crossed: those holding the most unsent bytes go. */
static void
shed_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct lines *srv = w->data;
	struct lines_conn *c, *most;

	(void)loop;
	(void)revents;
	while (srv->outbuf_held > srv->outbuf_shed) {
		most = NULL;
		for (c = srv->conns; c != NULL; c = c->next)
			if (most == NULL || c->unsent > most->unsent)
				most = c;
		if (most == NULL || most->unsent == 0)
			break;
		conn_close(most);
	}
}

static void
line(struct lines_conn *c, const char *p, size_t n)
{
	c->srv->ops->line(c, p, n);
}

static void
overlong_end(struct lines_conn *c)
{
	uint8_t h[AUDIT_HASH_LEN];

	crypto_generichash_final(&c->overlong_hash, h, sizeof(h));
	c->overlong = 0;
	c->srv->ops->overlong(c, c->overlong_bytes, h);
}

/* The line gathered in c->in is whole: hand it over. */
static void
gathered(struct lines_conn *c)
{
	char *whole = c->in;
	size_t len = c->inlen;

	c->in = NULL;
	c->inlen = 0;
	line(c, whole, len);
	free(whole);
}

/* Take one line, or what there is of one, from the read buffer. */
static void
take(struct lines_conn *c)
{
	char *p = c->rbuf + c->roff, *nl;
	size_t avail = c->rlen - c->roff, n;

	if (!begun(c))
		c->line_start = ev_time();
	nl = memchr(p, '\n', avail);
	n = nl != NULL ? (size_t)(nl - p) : avail;
	c->roff += n + (nl != NULL);
	if (!c->overlong && c->inlen + n > c->srv->line_max) {
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
	if (nl != NULL)
		gathered(c);
}

static void
pump(struct lines_conn *c)
{
	while (c->roff < c->rlen && can_take(c))
		take(c);
	if (c->closed)
		return;
	if (c->roff < c->rlen || !can_take(c) || c->eof)
		ev_io_stop(c->srv->loop, &c->rio);
	else if (!ev_is_active(&c->rio)) {
		/* A line held up by the server gets its time again. */
		c->line_start = ev_time();
		ev_io_start(c->srv->loop, &c->rio);
	}
	arm(c);
}

static void
conn_read(struct ev_loop *loop, ev_io *w, int revents)
{
	struct lines_conn *c = w->data;
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
	touch(c);
	if (n <= 0) {
		/* An unfinished last line is a line; an overlong one ends. */
		c->eof = 1;
		ev_io_stop(c->srv->loop, &c->rio);
		if (c->srv->ops->eof != NULL)
			c->srv->ops->eof(c);
		if (n < 0) {
			conn_close(c);
			return;
		}
		if (c->overlong)
			overlong_end(c);
		else if (c->inlen > 0)
			gathered(c);
		if (!c->closed)
			maybe_done(c);
		return;
	}
	c->roff = 0;
	c->rlen = (size_t)n;
	pump(c);
}

/* The peer's uid and pid, from SO_PEERCRED, or -1 and 0. */
static void
peer(int fd, uid_t *uid, pid_t *pid)
{
	struct ucred cred;
	socklen_t clen = sizeof(cred);

	*uid = (uid_t)-1;
	*pid = 0;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0) {
		*uid = cred.uid;
		*pid = cred.pid;
	}
}

/*
 * Room for one more: conns_max for any peer, and conns_reserve more
 * for those the server calls privileged, which others cannot take; of
 * conns_max, at most conns_per_uid for one unprivileged uid, so that
 * one local user cannot take every slot from the others.  NULL when
 * there is room; else what the peer is told.
 */
static const char *
room(const struct lines *srv, int privileged, uid_t uid)
{
	int max = srv->conns_max, mine = 0;

	if (privileged)
		return srv->nconns < max + srv->conns_reserve ? NULL : busy;
	if (srv->nconns >= max)
		return busy;
	if (srv->conns_per_uid <= 0)
		return NULL;
	for (const struct lines_conn *c = srv->conns; c != NULL; c = c->next)
		if (c->uid == uid && !c->privileged)
			mine++;
	return mine < srv->conns_per_uid ? NULL : busy_uid;
}

static void
accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct lines *srv = w->data;
	struct lines_conn *c = NULL;
	int fd, index = (int)(w - srv->listen), privileged;
	const char *why;
	uid_t uid;
	pid_t pid;

	(void)revents;
	if ((fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK |
	    SOCK_CLOEXEC)) < 0)
		return;
	peer(fd, &uid, &pid);
	privileged = srv->ops->privileged != NULL &&
	    srv->ops->privileged(srv, index, uid);
	if ((why = room(srv, privileged, uid)) != NULL ||
	    (c = calloc(1, sizeof(*c))) == NULL) {
		if (why == NULL)
			why = busy;
		(void)!write(fd, why, strlen(why));
		if (srv->ops->turned_away != NULL)
			srv->ops->turned_away(srv, uid);
		close(fd);
		return;
	}
	c->srv = srv;
	c->listener = index;
	c->fd = fd;
	c->uid = uid;
	c->pid = pid;
	c->privileged = privileged;
	ev_io_init(&c->rio, conn_read, fd, EV_READ);
	ev_io_init(&c->wio, conn_write, fd, EV_WRITE);
	ev_init(&c->tio, conn_timeout);
	c->rio.data = c->wio.data = c->tio.data = c;
	c->next = srv->conns;
	srv->conns = c;
	srv->nconns++;
	touch(c);
	if (srv->ops->accept != NULL && srv->ops->accept(c) != 0) {
		/* refused: the answer is queued; no line is read */
		c->eof = 1;
		maybe_done(c);
		return;
	}
	ev_io_start(loop, &c->rio);
	arm(c);
}

static int
listener(const char *path, gid_t gid, struct audit_err *err)
{
	struct sockaddr_un sa;
	struct stat st;
	int fd;

	if (sockaddr_un_fill(&sa, path, err) != 0)
		return -1;
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

/* Listen on path as listener number index, mode 0600 or 0660 to gid. */
int
lines_listen_unix(struct lines *srv, int index, const char *path, gid_t gid,
    struct audit_err *err)
{
	int fd;

	if (index < 0 || index >= LINES_LISTEN_MAX)
		return audit_errf(err, "%s: no listener %d", path, index);
	if ((fd = listener(path, gid, err)) < 0)
		return -1;
	ev_io_init(&srv->listen[index], accept_cb, fd, EV_READ);
	srv->listen[index].data = srv;
	if (!ev_is_active(&srv->shed)) {
		ev_init(&srv->shed, shed_cb);
		srv->shed.data = srv;
	}
	if (!ev_is_active(&srv->reap)) {
		ev_init(&srv->reap, reap_cb);
		srv->reap.data = srv;
	}
	ev_io_start(srv->loop, &srv->listen[index]);
	return 0;
}
