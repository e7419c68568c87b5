/*
 * nucleus-mcp: an MCP server for one pod, on stdin and stdout (one
 * JSON-RPC message a line; stderr is the log).  The main thread reads
 * the client and answers at once what needs no pod; tool calls go, in
 * order, to one worker thread that makes each a signed request to the
 * node (link.c).  A cancellation reaches the worker through a pipe.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
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
    "usage: nucleus-mcp [-A authority-socket] [-l node-socket] "
    "[-w seconds] -k keyfile pod\n"
    "       nucleus-mcp --help | --version\n";

static struct {
	pthread_mutex_t lock;	/* all below, and stdout */
	pthread_cond_t cond;
	struct mcp_call *head, *tail;	/* calls waiting */
	size_t	 queued;
	struct mcp_call *running;
	int	 cancel[2];	/* a byte: the running call is cancelled */
	int	 stop;
	int	 structured;
} Q = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER,
    .cancel = { -1, -1 } };

static void __attribute__((noreturn))
usage(void)
{
	usage_fail(usage_text);
}

/* One message out, whole, on its own line; -1 when stdout is gone. */
static int
send_locked(json_t *m)
{
	char *s;
	int rc = 0;

	if (m == NULL)
		return 0;
	if ((s = json_dumps(m, JSON_COMPACT)) == NULL ||
	    fputs(s, stdout) == EOF || fputc('\n', stdout) == EOF ||
	    fflush(stdout) != 0)
		rc = -1;
	free(s);
	json_decref(m);
	return rc;
}

static int
send_msg(json_t *m)
{
	int rc;

	pthread_mutex_lock(&Q.lock);
	rc = send_locked(m);
	pthread_mutex_unlock(&Q.lock);
	return rc;
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
drain_cancel(void)
{
	char buf[64];

	while (read(Q.cancel[0], buf, sizeof(buf)) > 0)
		;
}

/* The worker: each call in turn, answered unless cancelled. */
static void *
worker(void *arg)
{
	struct mcp_link *link = arg;
	struct mcp_call *c;
	json_t *res;
	int cancelled, structured;

	for (;;) {
		pthread_mutex_lock(&Q.lock);
		while (Q.head == NULL && !Q.stop)
			pthread_cond_wait(&Q.cond, &Q.lock);
		if (Q.head == NULL) {	/* stopped, and nothing left */
			pthread_mutex_unlock(&Q.lock);
			return NULL;
		}
		c = Q.head;
		Q.head = c->next;
		if (Q.head == NULL)
			Q.tail = NULL;
		Q.queued--;
		Q.running = c;
		drain_cancel();
		cancelled = c->cancelled;
		structured = Q.structured;
		pthread_mutex_unlock(&Q.lock);
		res = cancelled ? NULL : mcp_link_call(link, c, Q.cancel[0],
		    progress, c, structured);
		pthread_mutex_lock(&Q.lock);
		Q.running = NULL;
		/* A cancelled request is not answered (the specification). */
		if (res != NULL && !c->cancelled)
			send_locked(mcp_result(c->id, res));
		else
			json_decref(res);
		pthread_mutex_unlock(&Q.lock);
		mcp_call_free(c);
	}
}

static void
enqueue(struct mcp_call *c)
{
	pthread_mutex_lock(&Q.lock);
	if (Q.queued >= MCP_QUEUE_MAX) {
		send_locked(mcp_result(c->id, mcp_tool_error("unavailable",
		    "%d tool calls are waiting already; the limit is %d",
		    MCP_QUEUE_MAX, MCP_QUEUE_MAX)));
		pthread_mutex_unlock(&Q.lock);
		mcp_call_free(c);
		return;
	}
	if (Q.tail != NULL)
		Q.tail->next = c;
	else
		Q.head = c;
	Q.tail = c;
	Q.queued++;
	pthread_cond_signal(&Q.cond);
	pthread_mutex_unlock(&Q.lock);
}

/* notifications/cancelled: the call with that id, waiting or running. */
static void
cancel(json_t *id)
{
	struct mcp_call *c;

	pthread_mutex_lock(&Q.lock);
	for (c = Q.head; c != NULL; c = c->next)
		if (json_equal(c->id, id))
			c->cancelled = 1;
	if (Q.running != NULL && json_equal(Q.running->id, id)) {
		Q.running->cancelled = 1;
		if (write(Q.cancel[1], "c", 1) < 0)
			fprintf(stderr, "%s: cancel: %s\n", prog,
			    strerror(errno));
	}
	pthread_mutex_unlock(&Q.lock);
	json_decref(id);
}

static void
handle(struct mcp_server *s, const char *line, size_t len)
{
	struct mcp_step step;
	json_t *ans;

	ans = mcp_line(s, line, len, &step);
	if (ans != NULL && send_msg(ans) != 0)
		exit(0);	/* the client is gone */
	pthread_mutex_lock(&Q.lock);
	Q.structured = s->structured;
	pthread_mutex_unlock(&Q.lock);
	if (step.call != NULL)
		enqueue(step.call);
	if (step.cancel != NULL)
		cancel(step.cancel);
}

/*
 * stdin, line by line, to its end: a line longer than MCP_LINE_MAX is
 * read to its newline and refused by its length alone.
 */
static void
serve(struct mcp_server *s)
{
	char *buf = malloc(MCP_LINE_MAX + IN_CHUNK), *nl;
	size_t len = 0, skip = 0;
	ssize_t n;

	if (buf == NULL) {
		fprintf(stderr, "%s: out of memory\n", prog);
		return;
	}
	for (;;) {
		n = read(STDIN_FILENO, buf + len, IN_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		while ((nl = memchr(buf, '\n', len)) != NULL) {
			size_t l = (size_t)(nl - buf);

			if (skip > 0 || l > MCP_LINE_MAX)
				handle(s, buf, MCP_LINE_MAX + 1);
			else if (l > 0 && !(l == 1 && buf[0] == '\r'))
				handle(s, buf, l);
			skip = 0;
			len -= l + 1;
			memmove(buf, nl + 1, len);
		}
		if (len > MCP_LINE_MAX) {
			skip += len;	/* the rest of it, to its newline */
			len = 0;
		}
	}
	free(buf);
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
	struct mcp_server s = { 0 };
	struct audit_seckey *key = NULL;
	struct mcp_link *link;
	struct audit_err e;
	pthread_t th;
	int c, wait = MCP_WAIT_DEFAULT;

	usage_std(argc, argv, prog, usage_text);
	while ((c = getopt(argc, argv, "A:k:l:w:")) != -1) {
		switch (c) {
		case 'A': authority = optarg; break;
		case 'k': keyfile = optarg; break;
		case 'l': node = optarg; break;
		case 'w': wait = seconds(optarg); break;
		default: usage();
		}
	}
	if (keyfile == NULL || argc - optind != 1)
		usage();
	s.pod = argv[optind];
	if (!audit_podname_valid(s.pod, strlen(s.pod))) {
		fprintf(stderr, "%s: %s: not a pod's name (nucleus-pod(5))\n",
		    prog, s.pod);
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
	if (sodium_init() < 0 || audit_seckey_load(&key, keyfile, &e) != 0) {
		fprintf(stderr, "%s: %s\n", prog, sodium_init() < 0 ?
		    "libsodium cannot start" : e.msg);
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	if (pipe2(Q.cancel, O_CLOEXEC | O_NONBLOCK) != 0 ||
	    (link = mcp_link_new(node, authority, s.pod, key, wait)) == NULL ||
	    pthread_create(&th, NULL, worker, link) != 0) {
		fprintf(stderr, "%s: cannot start: %s\n", prog,
		    strerror(errno));
		return 1;
	}
	serve(&s);
	/*
	 * The client closed stdin (the specification's shutdown): the calls
	 * it made are answered, then the end.  A client that cannot wait
	 * sends SIGTERM.
	 */
	pthread_mutex_lock(&Q.lock);
	Q.stop = 1;
	pthread_cond_signal(&Q.cond);
	pthread_mutex_unlock(&Q.lock);
	pthread_join(th, NULL);
	mcp_link_free(link);
	audit_seckey_free(key);
	return 0;
}
