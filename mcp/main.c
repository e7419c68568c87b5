/*
 * nucleus-mcp: an MCP server for one pod, on stdin and stdout (one
 * JSON-RPC message a line; stderr is the log).  One thread: it reads the
 * client's lines and answers at once what needs no pod; tool calls are
 * queued and made in order, each a signed request to the node (link.c),
 * and while one waits the client's lines are read on (link.c calls
 * wake()), so that a ping is answered, more calls queue, and a
 * cancellation stops the wait.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
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
	struct mcp_call *running;
} In;

static void __attribute__((noreturn))
usage(void)
{
	usage_fail(usage_text);
}

/* One message out, whole, on its own line; the client gone, the end. */
static void
send_msg(json_t *m)
{
	char *s;

	if (m == NULL)
		return;
	if ((s = json_dumps(m, JSON_COMPACT)) == NULL ||
	    fputs(s, stdout) == EOF || fputc('\n', stdout) == EOF ||
	    fflush(stdout) != 0) {
		fprintf(stderr, "%s: stdout: %s\n", prog, s == NULL ?
		    "out of memory" : strerror(errno));
		exit(0);
	}
	free(s);
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
		send_msg(mcp_result(c->id, mcp_tool_error("unavailable",
		    "%d tool calls are waiting already; the limit is %d",
		    MCP_QUEUE_MAX, MCP_QUEUE_MAX)));
		mcp_call_free(c);
		return;
	}
	if (In.tail != NULL)
		In.tail->next = c;
	else
		In.head = c;
	In.tail = c;
	In.queued++;
}

/* notifications/cancelled: the call with that id, waiting or running. */
static void
cancel(json_t *id)
{
	for (struct mcp_call *c = In.head; c != NULL; c = c->next)
		if (json_equal(c->id, id))
			c->cancelled = 1;
	if (In.running != NULL && json_equal(In.running->id, id))
		In.running->cancelled = 1;
	json_decref(id);
}

static void
handle(const char *line, size_t len)
{
	struct mcp_step step;

	send_msg(mcp_line(&In.s, line, len, &step));
	if (step.call != NULL)
		enqueue(step.call);
	if (step.cancel != NULL)
		cancel(step.cancel);
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

/* While a call waits: the client's lines; is the call cancelled? */
static int
wake(void *arg)
{
	(void)arg;
	if (read_input() != 0)
		return -1;
	return In.running != NULL && In.running->cancelled;
}

/* The calls waiting, in order; a cancelled one is not answered. */
static void
run_calls(struct mcp_link *link)
{
	struct mcp_wake w = { .fd = STDIN_FILENO, .fn = wake };
	struct mcp_call *c;
	json_t *res;

	while ((c = In.head) != NULL) {
		In.head = c->next;
		if (In.head == NULL)
			In.tail = NULL;
		In.queued--;
		In.running = c;
		w.fd = In.eof ? -1 : STDIN_FILENO;
		res = c->cancelled ? NULL : mcp_link_call(link, c, &w, progress,
		    c, In.s.structured);
		In.running = NULL;
		if (res != NULL && !c->cancelled)
			send_msg(mcp_result(c->id, res));
		else
			json_decref(res);
		mcp_call_free(c);
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
	while (!In.eof) {
		(void)read_input();
		run_calls(link);
	}
	mcp_link_free(link);
	audit_seckey_free(key);
	free(In.buf);
	return 0;
}
