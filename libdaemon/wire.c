/*
 * The client's side of the wire: what a program that talks to a Nucleus
 * daemon needs, once, for every such program (wire.h).  Library code:
 * nothing here exits; errors come back in a struct audit_err.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "sockaddr.h"
#include "wire.h"

int
wire_connect(const char *path, struct audit_err *err)
{
	struct sockaddr_un sa;
	int fd;

	if (sockaddr_un_fill(&sa, path, err) != 0)
		return -1;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return audit_errf(err, "socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		int saved = errno;

		close(fd);
		return audit_errf(err, "%s: %s", path, strerror(saved));
	}
	return fd;
}

/*
 * All of p on the socket fd, never raising SIGPIPE: a daemon that
 * refuses a client (an operator's uid, a full queue) answers and closes
 * at once, maybe before the client's line is written.  0 then too: what
 * the daemon said before it closed is the client's next read, and an
 * end without it is the reader's to report.
 */
static int
send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EPIPE || errno == ECONNRESET))
			return 0;
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* v as one canonical line. */
int
wire_send(int fd, const json_t *v, struct audit_err *err)
{
	struct audit_buf b = { 0 };
	int rc = -1;

	if (cjson_encode(v, &b, err) != 0)
		goto out;
	if (audit_buf_add(&b, "\n", 1) != 0 ||
	    send_all(fd, b.p, b.len) != 0) {
		audit_errf(err, "cannot send: %s", strerror(errno));
		goto out;
	}
	rc = 0;
out:
	audit_buf_free(&b);
	return rc;
}

/* A deadline that many seconds from now, for wire_read; 0: none. */
int64_t
wire_deadline(int seconds)
{
	return seconds > 0 ? audit_now_ms(CLOCK_MONOTONIC) +
	    (int64_t)seconds * 1000 : 0;
}

/* More bytes, waiting no later than the deadline. */
static int
fill(struct wire_reader *r, int64_t deadline, struct audit_err *err)
{
	ssize_t n;

	if (r->len == r->cap) {
		size_t cap = r->cap != 0 ? 2 * r->cap : 65536;
		char *p;

		if (r->cap >= r->max + 1)
			return audit_errf(err, "an answer is over %zu bytes",
			    r->max);
		if (cap > r->max + 1)
			cap = r->max + 1;
		if ((p = realloc(r->buf, cap)) == NULL)
			return audit_errf(err, "out of memory");
		r->buf = p;
		r->cap = cap;
	}
	/*
	 * Without a deadline, read at once (a blocking read waits as poll
	 * would, one system call fewer an answer); poll first otherwise, and
	 * after an interruption or EAGAIN.
	 */
	for (int now = deadline == 0;; now = 0) {
		struct pollfd pfd = { .fd = r->fd, .events = POLLIN };
		int64_t left = deadline != 0 ? deadline -
		    audit_now_ms(CLOCK_MONOTONIC) : -1;

		if (deadline != 0 && left <= 0)
			return audit_errf(err, "no answer in time");
		if (!now && poll(&pfd, 1, left > INT32_MAX ? INT32_MAX :
		    (int)left) < 0) {
			if (errno == EINTR)
				continue;
			return audit_errf(err, "poll: %s", strerror(errno));
		}
		if (!now && pfd.revents == 0)
			continue;
		n = read(r->fd, r->buf + r->len, r->cap - r->len);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return audit_errf(err, "read: %s", strerror(errno));
		if (n == 0)
			return audit_errf(err, "the other end closed the "
			    "connection");
		r->len += (size_t)n;
		return 0;
	}
}

/*
 * The next line, unparsed: at most r->max bytes, no NUL byte, by the
 * deadline (0: none).  Its text is in r->line (NUL-terminated), its
 * length in *len, until the next call.
 */
int
wire_read_line(struct wire_reader *r, int64_t deadline, size_t *len,
    struct audit_err *err)
{
	char *nl;
	size_t n;

	free(r->line);
	r->line = NULL;
	while ((nl = r->len > 0 ? memchr(r->buf, '\n', r->len) : NULL) ==
	    NULL)
		if (fill(r, deadline, err) != 0)
			return -1;
	n = (size_t)(nl - r->buf);
	if (n > r->max)
		return audit_errf(err, "an answer is over %zu bytes", r->max);
	if ((r->line = strndup(r->buf, n)) == NULL)
		return audit_errf(err, "out of memory");
	r->len -= n + 1;
	memmove(r->buf, nl + 1, r->len);
	if (strlen(r->line) != n)
		return audit_errf(err, "an answer holds a NUL byte");
	*len = n;
	return 0;
}

/*
 * The next line, parsed: at most r->max bytes, valid JSON without
 * duplicate members, by the deadline (0: none).  Its text stays in
 * r->line until the next call.
 */
int
wire_read(struct wire_reader *r, int64_t deadline, json_t **out,
    struct audit_err *err)
{
	json_error_t jerr;
	size_t n;

	*out = NULL;
	if (wire_read_line(r, deadline, &n, err) != 0)
		return -1;
	if ((*out = json_loadb(r->line, n, JSON_REJECT_DUPLICATES,
	    &jerr)) == NULL || !json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		return audit_errf(err, "an answer is not a JSON object");
	}
	return 0;
}

void
wire_reader_free(struct wire_reader *r)
{
	free(r->buf);
	free(r->line);
	if (r->fd >= 0)
		close(r->fd);
	memset(r, 0, sizeof(*r));
	r->fd = -1;
}

/*
 * The envelope of a signed object of nucleus-protocol(7): its type, the
 * version, the signer's kid, the time and a fresh nonce, then sig.
 */
int
wire_sign(json_t *o, const char *type, const struct audit_seckey *k,
    struct audit_err *err)
{
	uint8_t nonce[AUDIT_NONCE_LEN];
	char hex[2 * AUDIT_NONCE_LEN + 1];

	randombytes_buf(nonce, sizeof(nonce));
	audit_hex(hex, nonce, sizeof(nonce));
	if (json_object_set_new(o, "type", json_string(type)) != 0 ||
	    json_object_set_new(o, "v", json_integer(1)) != 0 ||
	    json_object_set_new(o, "kid", json_string(k->kid)) != 0 ||
	    json_object_set_new(o, "ts", json_integer((json_int_t)
	    time(NULL))) != 0 ||
	    json_object_set_new(o, "nonce", json_string(hex)) != 0)
		return audit_errf(err, "out of memory");
	return audit_sign(o, type, k, err);
}

/*
 * An agent's or an operator's request of nucleus-protocol(7), signed by
 * k: id, pod ("" for the node's own operations), op, args and, when
 * given, an approval token.  args and approval are taken over, whatever
 * happens.
 */
json_t *
wire_request(const char *id, const char *pod, const char *op, json_t *args,
    json_t *approval, const struct audit_seckey *k, struct audit_err *err)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:o}", "id", id, "pod", pod,
	    "op", op, "args", args);

	if (o == NULL) {
		json_decref(approval);
		audit_errf(err, "pod and op must be UTF-8 text");
		return NULL;
	}
	if (approval != NULL &&
	    json_object_set_new(o, "approval", approval) != 0) {
		json_decref(o);
		audit_errf(err, "out of memory");
		return NULL;
	}
	if (wire_sign(o, "request", k, err) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/*
 * Printable characters as they are (libaudit's text.c), every other byte
 * as \xHH, and the backslash doubled: text that came from elsewhere
 * cannot move a terminal's cursor, change its colours or hide itself.
 */
void
wire_escape(FILE *f, const char *s, size_t n)
{
	size_t len;

	for (size_t i = 0; i < n; i += len) {
		if ((len = audit_glyph(s + i, n - i)) == 0) {
			fprintf(f, "\\x%02x", (unsigned char)s[i]);
			len = 1;
		} else if (s[i] == '\\')
			fputs("\\\\", f);
		else
			fwrite(s + i, 1, len, f);
	}
}

/* An error answer said on stderr as "prog: kind: message"; its kind. */
const char *
wire_error(const char *prog, const json_t *resp)
{
	const json_t *e = json_object_get(resp, "error");
	const char *kind = json_string_value(json_object_get(e, "kind"));
	const json_t *msg = json_object_get(e, "message");

	kind = kind != NULL ? kind : "error";
	fprintf(stderr, "%s: ", prog);
	wire_escape(stderr, kind, strlen(kind));
	fputs(": ", stderr);
	if (json_is_string(msg))
		wire_escape(stderr, json_string_value(msg),
		    json_string_length(msg));
	fputc('\n', stderr);
	return kind;
}

/* A request's args: a JSON object in text, or on stdin for "-". */
json_t *
wire_args(const char *text, struct audit_err *err)
{
	json_error_t jerr;
	json_t *args;

	if (strcmp(text, "-") == 0)
		args = json_loadf(stdin, JSON_REJECT_DUPLICATES, &jerr);
	else
		args = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	if (args == NULL) {
		audit_errf(err, "args: %s", jerr.text);
		return NULL;
	}
	if (!json_is_object(args)) {
		json_decref(args);
		audit_errf(err, "args: expected a JSON object");
		return NULL;
	}
	return args;
}
