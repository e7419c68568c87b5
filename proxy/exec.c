/*
 * Commands, the proxy's side: argv only, never a shell.  The proxy opens
 * the command's pipes and working directory, hands them to the spawner
 * (spawn.c), and watches the rest from its event loop: output captured up
 * to a cap per stream (the rest read and thrown away, and said so), a
 * timeout that kills the command and all it started, and the exit.  A
 * command that ends leaves nothing behind: it runs in a PID namespace of
 * its own, which ends with it (spawn.c).
 */
#define _GNU_SOURCE
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "exec.h"
#include "members.h"
#include "pstate.h"
#include "spawn.h"

struct stream {
	int	 fd;
	ev_io	 w;
	struct audit_buf buf;
	size_t	 total;		/* bytes the command wrote */
	int	 open;
};

struct job {
	struct job *next;
	uint32_t id;
	struct req *r;
	pid_t	 pid;
	struct stream out, err;
	int	 in_fd;
	ev_io	 in_w;
	char	*in_data;
	size_t	 in_len, in_off;
	ev_timer timer, grace;
	int	 timeout, started, exited, status, failed, timed_out;
	double	 t0;
};

static int spawn_sock = -1;
static ev_io spawn_io;
static struct job *jobs;
static uint32_t next_job = 1;

/* argv as C strings pointing into args, whose shape args_check took. */
void
exec_argv(const json_t *args, const char **argv, size_t *argc)
{
	const json_t *a = json_object_get(args, "argv"), *v;
	size_t i;

	json_array_foreach(a, i, v)
		argv[i] = json_string_value(v);
	argv[i] = NULL;
	*argc = i;
}

/* What of a run's args the pod's limits bound: timeout and stdin. */
int
exec_check(const json_t *args, char *why, size_t whysz)
{
	const json_t *t = json_object_get(args, "timeout");
	const json_t *in = json_object_get(args, "stdin");

	if (t != NULL && json_integer_value(t) > P->cfg.lim.timeout_max) {
		audit_fmt(why, whysz, "args.timeout: expected 1 to %d seconds",
		    P->cfg.lim.timeout_max);
		return -1;
	}
	if (in != NULL && json_string_length(in) > STDIN_MAX) {
		audit_fmt(why, whysz, "args.stdin: expected a string of at "
		    "most %d bytes", STDIN_MAX);
		return -1;
	}
	return 0;
}

static int
timeout_of(const json_t *args)
{
	const json_t *t = json_object_get(args, "timeout");

	if (json_is_integer(t) && json_integer_value(t) >= 1 &&
	    json_integer_value(t) <= P->cfg.lim.timeout_max)
		return (int)json_integer_value(t);
	return P->cfg.lim.timeout_default;
}

/* What a run reserves: a base cost and each second it may take. */
int64_t
exec_cost(const json_t *args)
{
	return P->cfg.cost.base + P->cfg.cost.run_second * timeout_of(args);
}

static struct job *
find(uint32_t id)
{
	for (struct job *j = jobs; j != NULL; j = j->next)
		if (j->id == id)
			return j;
	return NULL;
}

static void
unlink_job(struct job *j)
{
	for (struct job **p = &jobs; *p != NULL; p = &(*p)->next)
		if (*p == j) {
			*p = j->next;
			return;
		}
}

static void
close_stream(struct stream *s)
{
	if (!s->open)
		return;
	ev_io_stop(P->loop, &s->w);
	close(s->fd);
	s->open = 0;
}

static json_t *
stream_json(const struct stream *s, const char **enc)
{
	json_t *j = s->buf.len > 0 && memchr(s->buf.p, '\0', s->buf.len) ==
	    NULL ? json_stringn(s->buf.p, s->buf.len) : NULL;
	char *b;

	if (j != NULL || s->buf.len == 0) {
		*enc = "text";
		return j != NULL ? j : json_string("");
	}
	*enc = "base64";
	if ((b = malloc(audit_b64_len(s->buf.len))) == NULL)
		return json_string("");
	audit_b64(b, audit_b64_len(s->buf.len), (uint8_t *)s->buf.p,
	    s->buf.len);
	j = json_string(b);
	free(b);
	return j;
}

static void
digest(const struct stream *s, char *hex)
{
	uint8_t h[AUDIT_HASH_LEN];

	audit_hash(h, s->buf.p != NULL ? s->buf.p : "", s->buf.len);
	audit_hex(hex, h, AUDIT_HASH_LEN);
}

/* Both streams closed and the process gone: the outcome, and go on. */
static void
finish(struct job *j)
{
	struct req *r = j->r;
	char dout[AUDIT_HEX_LEN + 1], derr[AUDIT_HEX_LEN + 1], msg[160];
	const char *eout, *eerr;
	json_t *res, *sout, *serr;
	double secs = ev_now(P->loop) - j->t0;
	int64_t used;

	ev_timer_stop(P->loop, &j->timer);
	ev_timer_stop(P->loop, &j->grace);
	close_stream(&j->out);
	close_stream(&j->err);
	if (j->in_fd >= 0) {
		ev_io_stop(P->loop, &j->in_w);
		close(j->in_fd);
	}
	digest(&j->out, dout);
	digest(&j->err, derr);
	sout = stream_json(&j->out, &eout);
	serr = stream_json(&j->err, &eerr);
	res = json_pack("{s:o, s:o, s:b, s:o, s:s, s:b, s:o, s:s, s:b, s:I}",
	    "exit", WIFEXITED(j->status) && !j->timed_out ?
	    json_integer(WEXITSTATUS(j->status)) : json_null(),
	    "signal", WIFSIGNALED(j->status) ?
	    json_integer(WTERMSIG(j->status)) : json_null(),
	    "timed_out", j->timed_out,
	    "stdout", sout, "stdout_encoding", eout,
	    "stdout_truncated", j->out.total > j->out.buf.len,
	    "stderr", serr, "stderr_encoding", eerr,
	    "stderr_truncated", j->err.total > j->err.buf.len,
	    "duration_ms", (json_int_t)(secs * 1000));
	r->outcome = json_pack("{s:s, s:O, s:O, s:b, s:I, s:I, s:s, s:s, "
	    "s:I}", "status", j->timed_out ? "timeout" : "ok", "exit",
	    json_object_get(res, "exit"), "signal",
	    json_object_get(res, "signal"), "timed_out", j->timed_out,
	    "stdout_bytes", (json_int_t)j->out.total, "stderr_bytes",
	    (json_int_t)j->err.total, "stdout_digest", dout, "stderr_digest",
	    derr, "duration_ms", (json_int_t)(secs * 1000));
	if (j->timed_out && r->outcome != NULL)
		json_object_set_new(r->outcome, "kind", json_string("timeout"));
	if (j->timed_out) {
		audit_fmt(msg, sizeof(msg), "the command ran for longer than %d "
		    "s and was killed, with everything it started", j->timeout);
		r->response = respond_error(r, "timeout", msg);
		json_object_update(json_object_get(r->response, "error"), res);
		json_decref(res);
	} else
		r->response = respond_ok(r, res);
	used = P->cfg.cost.base + P->cfg.cost.run_second *
	    (int64_t)ceil(secs);
	pstate_settle(P->state, r->reserved, used);
	r->reserved = 0;
	P->commands--;
	audit_buf_free(&j->out.buf);
	audit_buf_free(&j->err.buf);
	free(j->in_data);
	unlink_job(j);
	free(j);
	request_advance(r);
}

static void
maybe_finish(struct job *j)
{
	if (j->exited && !j->out.open && !j->err.open)
		finish(j);
}

static void
stream_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct job *j = w->data;
	struct stream *s = w == &j->out.w ? &j->out : &j->err;
	char buf[65536];
	ssize_t n;

	(void)loop;
	(void)revents;
	n = read(s->fd, buf, sizeof(buf));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		close_stream(s);
		maybe_finish(j);
		return;
	}
	s->total += (size_t)n;
	if (s->buf.len < P->cfg.lim.output) {
		size_t keep = P->cfg.lim.output - s->buf.len;

		audit_buf_add(&s->buf, buf, (size_t)n < keep ? (size_t)n :
		    keep);
	}
}

static void
stdin_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct job *j = w->data;
	ssize_t n;

	(void)revents;
	n = write(j->in_fd, j->in_data + j->in_off, j->in_len - j->in_off);
	if (n > 0)
		j->in_off += (size_t)n;
	if ((n < 0 && errno != EAGAIN && errno != EINTR) ||
	    j->in_off == j->in_len) {
		ev_io_stop(loop, w);
		close(j->in_fd);
		j->in_fd = -1;
	}
}

static void
send_kill(uint32_t id)
{
	struct spawn_msg m = { SPAWN_KILL, id, 0, 0, 0, 0, 0, 0 };

	(void)!send(spawn_sock, &m, sizeof(m), MSG_NOSIGNAL);
}

static void
timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct job *j = w->data;

	(void)loop;
	(void)revents;
	j->timed_out = 1;
	send_kill(j->id);
}

/*
 * The process is gone but a pipe is still open: something it started
 * holds it.  The spawner kills such things; stop waiting for them.
 */
static void
grace_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct job *j = w->data;

	(void)loop;
	(void)revents;
	close_stream(&j->out);
	close_stream(&j->err);
	maybe_finish(j);
}

/*
 * The spawner could not start j's command (or not in a PID namespace of
 * its own, when contain): an io_error, and go on.
 */
static void
start_failed(struct job *j, int error, int contain)
{
	struct req *r = j->r;
	char msg[200];

	audit_fmt(msg, sizeof(msg), "%s: %s%s",
	    json_string_value(json_array_get(json_object_get(r->args,
	    "argv"), 0)), contain ? "not run: no PID namespace of its own "
	    "could be made for it, to end all it starts when it ends: " : "",
	    error == ENOENT && !contain ? "not found on the pod's search "
	    "path" : strerror(error));
	j->exited = 1;
	close_stream(&j->out);
	close_stream(&j->err);
	r->outcome = json_pack("{s:s, s:s, s:s}", "status", "error",
	    "kind", "io_error", "reason", msg);
	r->response = respond_error(r, "io_error", msg);
	pstate_settle(P->state, r->reserved, P->cfg.cost.base);
	r->reserved = 0;
	P->commands--;
	ev_timer_stop(P->loop, &j->timer);
	if (j->in_fd >= 0) {
		ev_io_stop(P->loop, &j->in_w);
		close(j->in_fd);
	}
	unlink_job(j);
	free(j->in_data);
	free(j);
	request_advance(r);
}

static void
spawner_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct spawn_msg m;
	struct job *j;
	ssize_t n;

	(void)revents;
	n = recv(spawn_sock, &m, sizeof(m), 0);
	if (n <= 0 && errno != EAGAIN && errno != EINTR) {
		/* Without a spawner no command can run: fail closed. */
		ev_io_stop(loop, w);
		for (j = jobs; j != NULL; j = j->next) {
			j->failed = 1;
			j->exited = 1;
			j->status = 0;
		}
		return;
	}
	if (n != sizeof(m) || (j = find(m.job)) == NULL)
		return;
	switch (m.type) {
	case SPAWN_STARTED:
		j->pid = m.pid;
		j->started = 1;
		break;
	case SPAWN_FAILED:
		start_failed(j, m.error, m.status == SPAWN_FAILED_CONTAIN);
		return;
	case SPAWN_EXITED:
		j->exited = 1;
		j->status = m.status;
		if (j->out.open || j->err.open)
			ev_timer_start(loop, &j->grace);
		maybe_finish(j);
		break;
	}
}

static int
nonblocking(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* Send the run request with its four descriptors. */
static int
send_run(struct job *j, const char *const *argv, size_t argc, int fds[4])
{
	char cbuf[CMSG_SPACE(4 * sizeof(int))];
	struct spawn_msg m = { SPAWN_RUN, j->id, (uint32_t)argc,
	    (uint32_t)j->timeout, 0, 0, 0, 0 };
	struct audit_buf b = { 0 };
	struct msghdr mh = { 0 };
	struct iovec iov;
	struct cmsghdr *cm;
	ssize_t n;

	audit_buf_add(&b, &m, sizeof(m));
	for (size_t i = 0; i < argc; i++)
		audit_buf_add(&b, argv[i], strlen(argv[i]) + 1);
	((struct spawn_msg *)b.p)->len = (uint32_t)(b.len - sizeof(m));
	iov.iov_base = b.p;
	iov.iov_len = b.len;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf;
	mh.msg_controllen = sizeof(cbuf);
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(4 * sizeof(int));
	memcpy(CMSG_DATA(cm), fds, 4 * sizeof(int));
	n = sendmsg(spawn_sock, &mh, MSG_NOSIGNAL);
	audit_buf_free(&b);
	return n > 0 ? 0 : -1;
}

/* The working directory, beneath the root and allowed by the policy. */
static int
open_cwd(struct req *r)
{
	const json_t *cwd = json_object_get(r->args, "cwd");
	char norm[POLICY_PATH_MAX + 1], real[POLICY_PATH_MAX + 1];
	enum policy_kind kind;
	const char *why;
	int fd;

	if (cwd != NULL && !json_is_string(cwd)) {
		audit_fmt(r->d.reason, sizeof(r->d.reason), "args.cwd: expected "
		    "a path");
		return -1;
	}
	if (policy_path_normalize(cwd != NULL ? json_string_value(cwd) : ".",
	    cwd != NULL ? json_string_length(cwd) : 1, norm, sizeof(norm),
	    &kind, &why) != 0) {
		r->kind = policy_kind_name(kind);
		audit_fmt(r->d.reason, sizeof(r->d.reason), "args.cwd: %s", why);
		return -1;
	}
	if ((fd = resolve_open(&P->root, norm, O_RDONLY | O_DIRECTORY,
	    0)) < 0) {
		r->kind = errno == EXDEV ? "sandbox_escape" : "io_error";
		audit_fmt(r->d.reason, sizeof(r->d.reason), "args.cwd: %s: %s",
		    norm, errno == EXDEV ? "leaves the work root" :
		    strerror(errno));
		return -1;
	}
	if (resolve_recheck_fd(&P->root, fd, norm, real, &kind, r->d.reason,
	    sizeof(r->d.reason)) != 0) {
		r->kind = kind == KIND_NONE ? "io_error" : policy_kind_name(kind);
		close(fd);
		return -1;
	}
	/* Approved, the command runs where it was named (resolve.c). */
	if (json_object_get(r->req, "approval") != NULL &&
	    strcmp(real, norm) != 0) {
		r->kind = "path_denied";
		audit_fmt(r->d.reason, sizeof(r->d.reason), "args.cwd: %s: "
		    "approved as named, but a symbolic link on its way leads "
		    "elsewhere", norm);
		close(fd);
		return -1;
	}
	return fd;
}

static int
get_stdin(struct job *j, const json_t *args, char *why, size_t whysz)
{
	const json_t *t = json_object_get(args, "stdin");

	if (t == NULL)
		return 0;
	if (!json_is_string(t) || json_string_length(t) > STDIN_MAX) {
		audit_fmt(why, whysz, "args.stdin: expected a string of at most "
		    "%d bytes", STDIN_MAX);
		return -1;
	}
	j->in_len = json_string_length(t);
	if ((j->in_data = malloc(j->in_len + 1)) == NULL)
		return -1;
	memcpy(j->in_data, json_string_value(t), j->in_len);
	return 0;
}

/*
 * A command's stdout, stderr and stdin.  The proxy's ends never block
 * the loop; the command's stay blocking, as a program expects of its
 * standard streams.  Made before the command starts, so a failure leaves
 * nothing running (the caller closes what was opened).
 */
static int
open_pipes(int po[2], int pe[2], int pi[2])
{
	if (pipe2(po, O_CLOEXEC) != 0 || pipe2(pe, O_CLOEXEC) != 0 ||
	    pipe2(pi, O_CLOEXEC) != 0 || nonblocking(po[0]) != 0 ||
	    nonblocking(pe[0]) != 0 || nonblocking(pi[1]) != 0)
		return -1;
	return 0;
}

/*
 * A started job on the loop: its output and error read, its stdin
 * written (or closed: at end of file), its timeout running.
 */
static void
watch(struct ev_loop *loop, struct job *j, int out, int err, int in)
{
	j->out = (struct stream){ out, { 0 }, { 0 }, 0, 1 };
	j->err = (struct stream){ err, { 0 }, { 0 }, 0, 1 };
	ev_io_init(&j->out.w, stream_cb, out, EV_READ);
	ev_io_init(&j->err.w, stream_cb, err, EV_READ);
	j->out.w.data = j->err.w.data = j;
	ev_io_start(loop, &j->out.w);
	ev_io_start(loop, &j->err.w);
	if (j->in_data != NULL && j->in_len > 0) {
		j->in_fd = in;
		ev_io_init(&j->in_w, stdin_cb, in, EV_WRITE);
		j->in_w.data = j;
		ev_io_start(loop, &j->in_w);
	} else
		close(in);	/* stdin at end of file */
	ev_timer_init(&j->timer, timeout_cb, j->timeout, 0);
	ev_timer_init(&j->grace, grace_cb, 2.0, 0);
	j->timer.data = j->grace.data = j;
	ev_timer_start(loop, &j->timer);
	j->t0 = ev_now(loop);
	j->next = jobs;
	jobs = j;
}

/*
 * Start r's command.  Returns 0 (finish() moves r on later), or -1 with
 * r->kind and r->d.reason saying why it could not start.
 */
int
exec_start(struct req *r)
{
	const char *argv[POLICY_ARGV_MAX + 1];
	int po[2] = { -1, -1 }, pe[2] = { -1, -1 }, pi[2] = { -1, -1 };
	int fds[4], cwd = -1;
	struct job *j;
	size_t argc;

	exec_argv(r->args, argv, &argc);
	if ((j = calloc(1, sizeof(*j))) == NULL)
		return -1;
	j->in_fd = -1;
	j->timeout = timeout_of(r->args);
	if (get_stdin(j, r->args, r->d.reason, sizeof(r->d.reason)) != 0 ||
	    (cwd = open_cwd(r)) < 0)
		goto fail;
	if (open_pipes(po, pe, pi) != 0) {
		audit_fmt(r->d.reason, sizeof(r->d.reason), "pipe: %s",
		    strerror(errno));
		goto fail;
	}
	j->id = next_job++;
	j->r = r;
	fds[0] = po[1];
	fds[1] = pe[1];
	fds[2] = pi[0];
	fds[3] = cwd;
	if (send_run(j, argv, argc, fds) != 0) {
		audit_fmt(r->d.reason, sizeof(r->d.reason), "the spawner is "
		    "gone: no command can run");
		r->kind = "unavailable";
		goto fail;
	}
	close(po[1]);
	close(pe[1]);
	close(pi[0]);
	close(cwd);
	watch(P->loop, j, po[0], pe[0], pi[1]);
	r->job = j;
	return 0;
fail:
	for (int i = 0; i < 2; i++) {
		if (po[i] >= 0)
			close(po[i]);
		if (pe[i] >= 0)
			close(pe[i]);
		if (pi[i] >= 0)
			close(pi[i]);
	}
	if (cwd >= 0)
		close(cwd);
	free(j->in_data);
	free(j);
	P->commands--;
	return -1;
}

/* Watch the spawner's socket from the loop. */
int
exec_init(struct proxy *p, int sock, struct audit_err *err)
{
	(void)err;
	spawn_sock = sock;
	ev_io_init(&spawn_io, spawner_cb, sock, EV_READ);
	ev_io_start(p->loop, &spawn_io);
	return 0;
}
