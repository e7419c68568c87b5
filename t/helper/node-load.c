/*
 * node-load: many clients sending signed requests to nucleus-node at
 * once.  A test helper; not installed.
 *
 *	node-load [-bp] [-c CONNS] [-n N] [-o OP] [-a ARGS] [-P POD]
 *	    SOCKET KEY...
 *	node-load -w [-n N] [-o OP] [-a ARGS] [-P POD] KEY
 *
 * Opens CONNS connections (16), each a client signing with the next KEY
 * file in turn, and sends N requests (1000) spread over them: OP (stat)
 * on POD (p-0001) with ARGS (a JSON object, {"path":"."}), each with
 * its own nonce and the id "r-C-I".  One at a time per connection, each
 * waiting for its answer, or with -p all at once.  With -b every
 * connection is made before any sends, and none is closed before every
 * one is done, so that all of them are open together.  With -w the requests are printed, signed, one per line,
 * instead of sent.
 *
 * Prints one line: conns, refused (connections the node turned away
 * with its one line "too many connections"), sent and answered on the
 * others (exactly once each: an answer for an id never sent, or twice,
 * counts as dups), ok, errors and their kinds, seconds.  Exits 0 when
 * every request sent was answered exactly once, 1 otherwise.
 */
#define _GNU_SOURCE
#include <err.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "xnum.h"

static const char *sock_path, *op = "stat", *pod = "p-0001";
static json_t *args;
static int pipelined, barrier, nconns = 16, total = 1000, nkeys;
static struct audit_seckey **keys;
static pthread_barrier_t connected;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static long sent, answered, oks, errors, dups, refused;
static char kinds[1024];

struct conn {
	int	 index, fd, n, sent;
	struct audit_seckey *key;
	int	*seen;
	char	*buf;
	size_t	 len, cap;
};

static int
dial(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		err(2, "%s", sock_path);
	return fd;
}

static void
make_request(const struct audit_seckey *key, int conn, int i,
    struct audit_buf *out)
{
	uint8_t nonce[AUDIT_NONCE_LEN];
	char hex[2 * AUDIT_NONCE_LEN + 1], id[64];
	struct audit_err e;
	json_t *o;

	randombytes_buf(nonce, sizeof(nonce));
	audit_hex(hex, nonce, sizeof(nonce));
	snprintf(id, sizeof(id), "r-%d-%d", conn, i);
	o = json_pack("{s:s, s:i, s:s, s:s, s:I, s:s, s:s, s:s, s:O}", "type",
	    "request", "v", 1, "id", id, "kid", key->kid, "ts",
	    (json_int_t)time(NULL), "nonce", hex, "pod", pod, "op", op,
	    "args", args);
	if (o == NULL || audit_sign(o, "request", key, &e) != 0 ||
	    cjson_encode(o, out, &e) != 0 || audit_buf_add(out, "\n", 1) != 0)
		errx(2, "cannot make a request");
	json_decref(o);
}

static json_t *
read_answer(struct conn *c)
{
	json_error_t jerr;
	char *nl;
	json_t *v;

	while (c->len == 0 || (nl = memchr(c->buf, '\n', c->len)) == NULL) {
		ssize_t n;

		if (c->len == c->cap) {
			c->cap = c->cap ? 2 * c->cap : 65536;
			if ((c->buf = realloc(c->buf, c->cap)) == NULL)
				err(2, "realloc");
		}
		n = read(c->fd, c->buf + c->len, c->cap - c->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return NULL;
		c->len += (size_t)n;
	}
	v = json_loadb(c->buf, (size_t)(nl - c->buf), 0, &jerr);
	c->len -= (size_t)(nl - c->buf) + 1;
	memmove(c->buf, nl + 1, c->len);
	return v;
}

static void
count_kind(const char *kind)
{
	char item[80];

	snprintf(item, sizeof(item), "%s,", kind != NULL ? kind : "?");
	if (strstr(kinds, item) == NULL && strlen(kinds) + strlen(item) <
	    sizeof(kinds))
		strcat(kinds, item);
}

/* The node's line for a connection past its limit: no id. */
static int
turned_away(const json_t *a)
{
	const char *msg = json_string_value(json_object_get(json_object_get(a,
	    "error"), "message"));

	return json_object_get(a, "id") == NULL && msg != NULL &&
	    strcmp(msg, "too many connections") == 0;
}

/* Take one answer; -1 when the connection was turned away. */
static int
take(struct conn *c, json_t *a)
{
	const char *id = json_string_value(json_object_get(a, "id"));
	char want[64];
	int i;

	if (turned_away(a)) {
		pthread_mutex_lock(&mu);
		refused++;
		pthread_mutex_unlock(&mu);
		return -1;
	}
	for (i = 0; i < c->n; i++) {
		snprintf(want, sizeof(want), "r-%d-%d", c->index, i);
		if (id != NULL && strcmp(id, want) == 0)
			break;
	}
	pthread_mutex_lock(&mu);
	if (i == c->n || c->seen[i]) {
		dups++;
		pthread_mutex_unlock(&mu);
		return 0;
	}
	c->seen[i] = 1;
	answered++;
	if (json_is_true(json_object_get(a, "ok")))
		oks++;
	else {
		errors++;
		count_kind(json_string_value(json_object_get(json_object_get(a,
		    "error"), "kind")));
	}
	pthread_mutex_unlock(&mu);
	return 0;
}

static void
sent_more(struct conn *c, int n)
{
	c->sent += n;
	__atomic_add_fetch(&sent, n, __ATOMIC_SEQ_CST);
}

/*
 * A connection turned away is closed: a write to it may fail, and its
 * one line is still there to read.  What it was sent is not counted.
 */
static void *
run(void *arg)
{
	struct conn *c = arg;
	struct audit_buf b = { 0 };
	json_t *a;
	int rc = 0;

	c->fd = dial();
	if (barrier)
		pthread_barrier_wait(&connected);
	if (pipelined) {
		for (int i = 0; i < c->n; i++)
			make_request(c->key, c->index, i, &b);
		if (audit_writeall(c->fd, b.p, b.len) == 0)
			sent_more(c, c->n);
		for (int got = 0; got < c->n && rc == 0 &&
		    (a = read_answer(c)) != NULL; got++) {
			rc = take(c, a);
			json_decref(a);
		}
	} else {
		for (int i = 0; i < c->n && rc == 0; i++) {
			b.len = 0;
			make_request(c->key, c->index, i, &b);
			if (audit_writeall(c->fd, b.p, b.len) == 0)
				sent_more(c, 1);
			if ((a = read_answer(c)) == NULL)
				break;
			rc = take(c, a);
			json_decref(a);
		}
	}
	if (rc < 0)
		__atomic_sub_fetch(&sent, c->sent, __ATOMIC_SEQ_CST);
	audit_buf_free(&b);
	/* Open together until the last is answered or turned away: the
	 * node accepts while it serves, so one closed early would make
	 * room for the last. */
	if (barrier)
		pthread_barrier_wait(&connected);
	close(c->fd);
	return NULL;
}

static int
print_requests(void)
{
	struct audit_buf b = { 0 };

	for (int i = 0; i < total; i++)
		make_request(keys[0], 0, i, &b);
	if (audit_writeall(1, b.p, b.len) != 0)
		err(2, "stdout");
	audit_buf_free(&b);
	return 0;
}

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: node-load [-bp] [-c conns] [-n n] [-o op] "
	    "[-a args] [-P pod] socket key...\n"
	    "       node-load -w [-n n] [-o op] [-a args] [-P pod] key\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct timespec t0, t1;
	struct audit_err e;
	json_error_t jerr;
	pthread_t *th;
	struct conn *cs;
	int ch, print = 0;

	if (sodium_init() < 0)
		errx(2, "sodium_init");
	/* A connection turned away is closed under our writes. */
	signal(SIGPIPE, SIG_IGN);
	while ((ch = getopt(argc, argv, "a:bc:n:o:pP:w")) != -1) {
		switch (ch) {
		case 'a':
			if ((args = json_loads(optarg, JSON_REJECT_DUPLICATES,
			    &jerr)) == NULL || !json_is_object(args))
				errx(2, "-a: expected a JSON object");
			break;
		case 'b': barrier = 1; break;
		case 'c': nconns = (int)xnum(optarg, 1, INT_MAX); break;
		case 'n': total = (int)xnum(optarg, 1, INT_MAX); break;
		case 'o': op = optarg; break;
		case 'p': pipelined = 1; break;
		case 'P': pod = optarg; break;
		case 'w': print = 1; break;
		default: usage();
		}
	}
	if (args == NULL)
		args = json_pack("{s:s}", "path", ".");
	if (nconns < 1 || total < (print ? 1 : nconns) ||
	    argc - optind < (print ? 1 : 2))
		usage();
	if (!print)
		sock_path = argv[optind++];
	nkeys = argc - optind;
	if ((keys = calloc((size_t)nkeys, sizeof(*keys))) == NULL)
		err(2, "calloc");
	for (int i = 0; i < nkeys; i++)
		if (audit_seckey_load(&keys[i], argv[optind + i], &e) != 0)
			errx(2, "%s", e.msg);
	if (print)
		return print_requests();
	cs = calloc((size_t)nconns, sizeof(*cs));
	th = calloc((size_t)nconns, sizeof(*th));
	if (cs == NULL || th == NULL)
		err(2, "calloc");
	if (barrier && pthread_barrier_init(&connected, NULL,
	    (unsigned)nconns) != 0)
		errx(2, "pthread_barrier_init");
	for (int i = 0; i < nconns; i++) {
		cs[i].index = i;
		cs[i].key = keys[i % nkeys];
		cs[i].n = total / nconns + (i < total % nconns);
		cs[i].seen = calloc((size_t)cs[i].n + 1, sizeof(int));
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < nconns; i++)
		if (pthread_create(&th[i], NULL, run, &cs[i]) != 0)
			errx(2, "pthread_create");
	for (int i = 0; i < nconns; i++)
		pthread_join(th[i], NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	for (int i = 0; i < nconns; i++) {
		free(cs[i].seen);
		free(cs[i].buf);
	}
	free(cs);
	free(th);
	for (int i = 0; i < nkeys; i++)
		audit_seckey_free(keys[i]);
	free(keys);
	json_decref(args);
	if (kinds[0] != '\0')
		kinds[strlen(kinds) - 1] = '\0';
	printf("conns=%d refused=%ld sent=%ld answered=%ld ok=%ld errors=%ld "
	    "kinds=%s dups=%ld seconds=%.3f\n", nconns, refused, sent,
	    answered, oks, errors, kinds[0] ? kinds : "-", dups,
	    (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec -
	    t0.tv_nsec) / 1e9);
	return answered == sent && dups == 0 ? 0 : 1;
}
