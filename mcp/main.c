/*
 * nucleus-mcp: an MCP server for one pod, on stdin and stdout (one
 * JSON-RPC message a line; stderr is the log).  One thread: it reads the
 * client's lines and answers at once what needs no pod; tool calls are
 * queued and sent in order, each a signed request to the node (link.c),
 * up to MCP_INFLIGHT_MAX of them in flight on its connection, and each
 * is answered as the node's answer comes.  While a call waits for an
 * operator the client's lines are read on (link.c calls wake()), so that
 * a ping is answered, more calls queue, and a cancellation stops the
 * wait; and the node's answers to the calls in flight (node_ready()).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "mcp.h"
#include "num.h"
#include "usage.h"

#define NODE_DIR_DEFAULT "/var/lib/nucleus-node"	/* nucleus-node(8)'s */
#define IN_CHUNK	65536	/* bytes read from stdin at a time */

static const char *const prog = "nucleus-mcp";

static const char usage_text[] =
    "usage: nucleus-mcp [-A authority-socket] [-N] [-l node-socket] "
    "[-w seconds] -k keyfile pod\n"
    "       nucleus-mcp --help | --version\n";

/* The client's input, the calls waiting, the one running. */
static struct {
	struct mcp_server s;
	char	*buf;		/* MCP_LINE_MAX + IN_CHUNK bytes */
	size_t	 len;
	size_t	 skip;		/* bytes of an overlong line read so far */
	int	 eof;
	struct mcp_call *head, *tail;
	size_t	 queued;
	struct mcp_call *flying;	/* sent to the node, not yet ended */
	size_t	 nflying;
	struct mcp_call *running;	/* the one being ended */
} In;

static void __attribute__((noreturn))
usage(void)
{
	usage_fail(usage_text);
}

/*
 * Bytes out, a whole message and its newline, in one write (a reader is
 * woken once a message, not once per stdio buffer); the client gone, the
 * end.  b is freed.
 */
static void
send_buf(struct audit_buf *b)
{
	if (audit_buf_add(b, "\n", 1) != 0) {
		fprintf(stderr, "%s: stdout: out of memory\n", prog);
		exit(0);
	}
	if (audit_writeall(STDOUT_FILENO, b->p, b->len) != 0) {
		fprintf(stderr, "%s: stdout: %s\n", prog, strerror(errno));
		exit(0);
	}
	audit_buf_free(b);
}

/* One message out, whole, on its own line. */
static void
send_msg(json_t *m)
{
	struct audit_buf b = { 0 };

	if (m == NULL)
		return;
	if (mcp_encode(m, &b) != 0) {
		fprintf(stderr, "%s: stdout: out of memory\n", prog);
		exit(0);
	}
	send_buf(&b);
	json_decref(m);
}

static void
progress(void *arg, int64_t done, int64_t total, const char *msg)
{
	const struct mcp_call *c = arg;

	send_msg(mcp_notification("notifications/progress", json_pack(
	    "{s:O, s:I, s:I, s:s}", "progressToken", c->progress, "progress",
	    (json_int_t)done, "total", (json_int_t)total, "message", msg)));
}

static void
enqueue(struct mcp_call *c)
{
	if (In.queued >= MCP_QUEUE_MAX) {
		send_msg(mcp_call_end(c, mcp_tool_error("unavailable",
		    "%d tool calls are waiting already; the limit is %d",
		    MCP_QUEUE_MAX, MCP_QUEUE_MAX)));
		return;
	}
	if (In.tail != NULL)
		In.tail->next = c;
	else
		In.head = c;
	In.tail = c;
	In.queued++;
}

/* notifications/cancelled: the call with that id, waiting, sent, ending. */
static void
cancel(const json_t *id)
{
	for (struct mcp_call *c = In.head; c != NULL; c = c->next)
		if (json_equal(c->id, id))
			c->cancelled = 1;
	for (struct mcp_call *c = In.flying; c != NULL; c = c->next)
		if (json_equal(c->id, id))
			c->cancelled = 1;
	if (In.running != NULL && json_equal(In.running->id, id))
		In.running->cancelled = 1;
}

static void
handle(const char *line, size_t len)
{
	struct mcp_step step;
	struct mcp_call *c;
	const json_t *id;
	size_t i;

	send_msg(mcp_line(&In.s, line, len, &step));
	while ((c = step.calls) != NULL) {
		step.calls = c->next;
		c->next = NULL;
		enqueue(c);
	}
	json_array_foreach(step.cancel, i, id)
		cancel(id);
	json_decref(step.cancel);
}

/*
 * Read what stdin has (one read) and handle each whole line: a line
 * longer than MCP_LINE_MAX is read to its newline and refused by its
 * length alone.  0, or -1 at its end.
 */
static int
read_input(void)
{
	ssize_t n;
	char *nl;

	do
		n = read(STDIN_FILENO, In.buf + In.len, IN_CHUNK);
	while (n < 0 && errno == EINTR);
	if (n <= 0) {
		In.eof = 1;
		return -1;
	}
	In.len += (size_t)n;
	while ((nl = memchr(In.buf, '\n', In.len)) != NULL) {
		size_t l = (size_t)(nl - In.buf);

		if (In.skip > 0 || l > MCP_LINE_MAX)
			handle(In.buf, MCP_LINE_MAX + 1);
		else if (l > 0 && !(l == 1 && In.buf[0] == '\r'))
			handle(In.buf, l);
		In.skip = 0;
		In.len -= l + 1;
		memmove(In.buf, nl + 1, In.len);
	}
	if (In.len > MCP_LINE_MAX) {
		In.skip += In.len;	/* the rest of it, to its newline */
		In.len = 0;
	}
	return 0;
}

/* While a call waits for an operator: the client's lines; is it cancelled? */
static int
wake(void *arg)
{
	(void)arg;
	if (read_input() != 0)
		return -1;
	return In.running != NULL && In.running->cancelled;
}

/*
 * A node's answer (resp, and raw: its result's bytes or NULL; both taken
 * over): to the call in flight it belongs to, or dropped.
 */
static void
node_answer(json_t *resp, char *raw, size_t rawlen)
{
	const char *rid = json_string_value(json_object_get(resp, "id"));

	for (struct mcp_call *c = In.flying; rid != NULL && c != NULL;
	    c = c->next)
		if (c->resp == NULL && strcmp(c->rid, rid) == 0) {
			c->resp = resp;
			c->raw = raw;
			c->rawlen = rawlen;
			return;
		}
	json_decref(resp);
	free(raw);
}

/* A call off the list it is on; its next cleared. */
static struct mcp_call *
unlink_call(struct mcp_call **pp)
{
	struct mcp_call *c = *pp;

	*pp = c->next;
	c->next = NULL;
	return c;
}

/*
 * The connection to the node ended: the calls in flight on it are
 * answered unavailable (what the node did of them is in the pod's log).
 */
static void
lost(const char *why)
{
	struct mcp_call *c;

	while (In.flying != NULL) {
		c = unlink_call(&In.flying);
		In.nflying--;
		send_msg(mcp_call_end(c, c->cancelled ? NULL : mcp_tool_error(
		    "unavailable", "the node: %s", why)));
	}
}

/* The calls waiting sent, in order, while fewer than the bound fly. */
static void
start_calls(struct mcp_link *link)
{
	struct mcp_call *c, **tail;
	struct audit_err e;

	while (In.head != NULL && In.nflying < MCP_INFLIGHT_MAX) {
		c = unlink_call(&In.head);
		if (In.head == NULL)
			In.tail = NULL;
		In.queued--;
		if (c->cancelled) {
			send_msg(mcp_call_end(c, NULL));
			continue;
		}
		if (mcp_link_send(link, c, In.nflying == 0, &e) != 0) {
			send_msg(mcp_call_end(c, mcp_tool_error("unavailable",
			    "the node: %s", e.msg)));
			if (mcp_link_fd(link) < 0)
				lost(e.msg);
			continue;
		}
		for (tail = &In.flying; *tail != NULL; tail = &(*tail)->next)
			;
		*tail = c;
		In.nflying++;
	}
}

/*
 * A call whose answer is an ok one passed on as bytes (pass.c): its
 * answer written around them, and 0; -1 when it must go the tree's way
 * (a batch's, or an id not written canonically): the result is then
 * parsed into c->resp.
 */
static int
end_raw(struct mcp_call *c)
{
	struct audit_buf b = { 0 };
	json_t *res;

	if (c->batch == NULL && mcp_encode_ok(c->id, c->raw, c->rawlen,
	    In.s.structured, &b) == 0) {
		send_buf(&b);
		mcp_call_free(c);
		return 0;
	}
	audit_buf_free(&b);
	res = mcp_ok_result(c->raw, c->rawlen);
	free(c->raw);
	c->raw = NULL;
	if (res == NULL || json_object_set_new(c->resp, "result", res) != 0) {
		json_decref(c->resp);
		c->resp = json_pack("{s:b, s:{s:s, s:s}}", "ok", 0, "error",
		    "kind", "internal", "message", "out of memory");
	}
	return -1;
}

/* One call whose answer came, ended; w says what to heed meanwhile. */
static void
end_call(struct mcp_link *link, struct mcp_call *c, struct mcp_wake *w)
{
	json_t *res, *resp;

	if (c->raw != NULL && !c->cancelled && end_raw(c) == 0)
		return;
	resp = c->resp;
	c->resp = NULL;
	res = c->cancelled ? NULL : mcp_link_finish(link, c,
	    json_incref(resp), In.nflying == 0, w, progress, c,
	    In.s.structured);
	json_decref(resp);
	if (c->cancelled) {
		json_decref(res);
		res = NULL;	/* a cancelled call is not answered */
	}
	send_msg(mcp_call_end(c, res));
}

/* While a call waits for an operator: what to heed, and the link. */
static struct {
	struct mcp_link *link;
	struct mcp_wake w;
} Waiting = { .w = { .fd = STDIN_FILENO, .fn = wake,
    .answer = node_answer, .node_fn = NULL } };

/* The node's connection to heed while an operator is waited for. */
static int
node_fd(struct mcp_link *link)
{
	return In.flying != NULL ? mcp_link_fd(link) : -1;
}

/*
 * While a call waits for an operator, the node's answers to the others:
 * read, and those calls ended at once, unless they too would wait for
 * an operator (those are ended after it, in turn).
 */
static void
node_ready(void)
{
	struct mcp_link *link = Waiting.link;
	struct mcp_call **pp, *c;
	struct audit_err e;
	json_t *resp;
	size_t rawlen;
	char *raw;

	do {
		if (mcp_link_read(link, &resp, &raw, &rawlen, &e) != 0) {
			lost(e.msg);
			break;
		}
		node_answer(resp, raw, rawlen);
	} while (mcp_link_buffered(link));
	for (pp = &In.flying; *pp != NULL; ) {
		if ((*pp)->resp == NULL || mcp_link_asks(link, (*pp)->resp)) {
			pp = &(*pp)->next;
			continue;
		}
		c = unlink_call(pp);
		In.nflying--;
		end_call(link, c, &Waiting.w);
	}
	if (mcp_link_fd(link) < 0)
		lost("the connection ended");
	Waiting.w.node_fd = node_fd(link);
}

/*
 * The calls whose answer came, each ended in turn (an approval waited
 * for, the others' answers heeded meanwhile; a cancelled call not
 * answered).
 */
static void
end_calls(struct mcp_link *link)
{
	struct mcp_wake *w = &Waiting.w;
	struct mcp_call **pp, *c;

	Waiting.link = link;
	w->node_fn = node_ready;
	for (pp = &In.flying; *pp != NULL; ) {
		if ((*pp)->resp == NULL) {
			pp = &(*pp)->next;
			continue;
		}
		c = unlink_call(pp);
		In.nflying--;
		In.running = c;
		w->fd = In.eof ? -1 : STDIN_FILENO;
		w->node_fd = node_fd(link);
		end_call(link, c, w);
		In.running = NULL;
		if (mcp_link_fd(link) < 0)
			lost("the connection ended");
		pp = &In.flying;	/* more may have come meanwhile */
	}
}

/*
 * Until the client closes stdin (the specification's shutdown) and the
 * calls it made are answered: its lines read, calls sent, the node's
 * answers read and the calls ended.
 */
static void
serve(struct mcp_link *link)
{
	struct pollfd p[2];
	struct audit_err e;
	json_t *resp;
	size_t rawlen;
	int buffered;
	char *raw;

	for (;;) {
		start_calls(link);
		if (In.eof && In.head == NULL && In.flying == NULL)
			return;
		p[0] = (struct pollfd){ .fd = In.eof ? -1 : STDIN_FILENO,
		    .events = POLLIN };
		p[1] = (struct pollfd){ .fd = In.flying != NULL ?
		    mcp_link_fd(link) : -1, .events = POLLIN };
		/* An answer read already (with none in flight: a late one
		 * of a call given up on, read with the next). */
		buffered = p[1].fd >= 0 && mcp_link_buffered(link);
		if (!buffered && poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "%s: poll: %s\n", prog,
			    strerror(errno));
			exit(1);
		}
		if (p[0].fd >= 0 && p[0].revents != 0)
			(void)read_input();
		if (p[1].fd >= 0 && (p[1].revents != 0 || buffered)) {
			if (mcp_link_read(link, &resp, &raw, &rawlen, &e) == 0)
				node_answer(resp, raw, rawlen);
			else
				lost(e.msg);
		}
		end_calls(link);
	}
}

static int
seconds(const char *s)
{
	long long v;
	int rc;

	if ((rc = num_parse(s, 1, MCP_WAIT_MAX, &v)) != NUM_OK) {
		fprintf(stderr, "%s: -w %s: %s: expected 1 to %d seconds\n",
		    prog, s, num_strerror(rc), MCP_WAIT_MAX);
		usage();
	}
	return (int)v;
}

int
main(int argc, char **argv)
{
	const char *keyfile = NULL, *node = NULL, *authority = NULL;
	static char nodebuf[4096];
	struct audit_seckey *key = NULL;
	struct mcp_link *link;
	struct audit_err e;
	int c, wait = MCP_WAIT_DEFAULT, via_node = 0;

	usage_std(argc, argv, prog, usage_text);
	while ((c = getopt(argc, argv, "A:k:l:Nw:")) != -1) {
		switch (c) {
		case 'A': authority = optarg; break;
		case 'k': keyfile = optarg; break;
		case 'l': node = optarg; break;
		case 'N': via_node = 1; break;
		case 'w': wait = seconds(optarg); break;
		default: usage();
		}
	}
	if (keyfile == NULL || argc - optind != 1 || (via_node &&
	    authority != NULL))
		usage();
	In.s.pod = argv[optind];
	if (!audit_podname_valid(In.s.pod, strlen(In.s.pod))) {
		fprintf(stderr, "%s: %s: not a pod's name (nucleus-pod(5))\n",
		    prog, In.s.pod);
		return USAGE_EXIT;
	}
	if (node == NULL) {
		const char *d = getenv("NUCLEUS_NODE_DIR");

		if (audit_fit(nodebuf, sizeof(nodebuf), &e, "%s/node.sock",
		    d != NULL && *d != '\0' ? d : NODE_DIR_DEFAULT) != 0) {
			fprintf(stderr, "%s: the node's directory: %s\n", prog,
			    e.msg);
			return 1;
		}
		node = nodebuf;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "%s: libsodium cannot start\n", prog);
		return 1;
	}
	if (audit_seckey_load(&key, keyfile, &e) != 0) {
		fprintf(stderr, "%s: %s\n", prog, e.msg);
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	if ((In.buf = malloc(MCP_LINE_MAX + IN_CHUNK)) == NULL ||
	    (link = mcp_link_new(node, authority, In.s.pod, key, wait)) ==
	    NULL) {
		fprintf(stderr, "%s: out of memory\n", prog);
		return 1;
	}
	if (via_node)
		mcp_link_via_node(link);
	/*
	 * Until the client closes stdin (the specification's shutdown);
	 * then the calls it made are answered, and the end.  A client that
	 * cannot wait sends SIGTERM.
	 */
	serve(link);
	mcp_link_free(link);
	audit_seckey_free(key);
	free(In.buf);
	return 0;
}
