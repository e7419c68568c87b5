/*
 * approval-load: many agents asking nucleus-authority at once.  A test
 * and benchmark helper; not installed.
 *
 *	approval-load [-p] [-c CONNS] [-n N] [-o OP] [-P POD] [-t TRUST]
 *	    SOCKET KEY...
 *
 * Opens CONNS connections (16), each an agent signing with the next KEY
 * file in turn, and sends N approval-requests (1000) spread over them:
 * one at a time per connection, each waiting for its decision, or with
 * -p all at once, each connection then reading one answer per request.
 * Requests are all different: run ["git","push","origin","b-C-I"], or
 * for a file OP the path "reports/r-C-I".  With -t, every token must
 * verify under the keyring TRUST and be bound to its request.
 *
 * Prints one line: sent, answered (exactly once each: an answer for a
 * nonce never sent, or twice, counts as dups), the states and error kinds,
 * seconds and rate.  Exits 0 when every request was answered exactly
 * once and every token checked out, 1 otherwise.
 */
#define _GNU_SOURCE
#include <err.h>
#include <errno.h>
#include <pthread.h>
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

static const char *sock_path, *op = "run", *pod = "p-0001";
static int pipelined, nconns = 16, total = 1000, nkeys;
static struct audit_seckey **keys;
static struct audit_keyring trust;
static int have_trust;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static long sent, answered, granted, pending, denied, expired, dups,
    badtoken;
static char kinds[1024];

struct conn {
	int	 index, fd, n;
	struct audit_seckey *key;
	char	(*nonces)[2 * AUDIT_NONCE_LEN + 1];
	json_t	**args;
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
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		err(2, "%s", sock_path);
	return fd;
}

static void
make_request(struct conn *c, int i, struct audit_buf *out)
{
	uint8_t nonce[AUDIT_NONCE_LEN];
	char name[64];
	struct audit_err e;
	json_t *o, *args;

	snprintf(name, sizeof(name), "%s-%d-%d", strcmp(op, "run") == 0 ?
	    "b" : "reports/r", c->index, i);
	/* Arguments a pod would take (args.c): a write has its content. */
	if (strcmp(op, "run") == 0)
		args = json_pack("{s:[s,s,s,s]}", "argv", "git", "push",
		    "origin", name);
	else if (strcmp(op, "write") == 0)
		args = json_pack("{s:s, s:s}", "path", name, "content",
		    "load");
	else
		args = json_pack("{s:s}", "path", name);
	randombytes_buf(nonce, sizeof(nonce));
	audit_hex(c->nonces[i], nonce, sizeof(nonce));
	o = json_pack("{s:s, s:i, s:s, s:I, s:s, s:s, s:s, s:O, s:s}", "type",
	    "approval-request", "v", 1, "kid", c->key->kid, "ts",
	    (json_int_t)time(NULL), "nonce", c->nonces[i], "pod", pod, "op",
	    op, "args", args, "reason", "load");
	c->args[i] = args;
	if (o == NULL || audit_sign(o, "approval-request", c->key, &e) != 0 ||
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

	snprintf(item, sizeof(item), "%s,", kind);
	if (strstr(kinds, item) == NULL && strlen(kinds) + strlen(item) <
	    sizeof(kinds))
		strcat(kinds, item);
}

/* The token must verify and name this request. */
static int
token_ok(struct conn *c, int i, const json_t *t)
{
	struct audit_buf b = { 0 };
	struct audit_err e;
	uint8_t h[AUDIT_HASH_LEN];
	char hex[AUDIT_HEX_LEN + 1];
	const struct audit_pubkey *signer;
	int ok;

	if (!have_trust)
		return 1;
	if (audit_verify(t, "approval", &trust, &signer, &e) != 0 ||
	    cjson_encode(c->args[i], &b, &e) != 0)
		return 0;
	audit_hash(h, b.p, b.len);
	audit_hex(hex, h, sizeof(h));
	audit_buf_free(&b);
	ok = strcmp(json_string_value(json_object_get(t, "args_digest")),
	    hex) == 0 && strcmp(json_string_value(json_object_get(t, "sub")),
	    c->key->kid) == 0 && strcmp(json_string_value(json_object_get(t,
	    "op")), op) == 0 && strcmp(json_string_value(json_object_get(t,
	    "pod")), pod) == 0;
	return ok;
}

/* Take one answer; 1 when it is final for its request. */
static int
take(struct conn *c, json_t *a)
{
	const char *id = json_string_value(json_object_get(a, "id"));
	const json_t *res = json_object_get(a, "result");
	const char *state = json_string_value(json_object_get(res, "state"));
	int i;

	for (i = 0; i < c->n; i++)
		if (id != NULL && strcmp(id, c->nonces[i]) == 0)
			break;
	pthread_mutex_lock(&mu);
	if (i == c->n || c->seen[i]) {
		dups++;
		pthread_mutex_unlock(&mu);
		return 1;
	}
	if (!json_is_true(json_object_get(a, "ok"))) {
		count_kind(json_string_value(json_object_get(json_object_get(a,
		    "error"), "kind")));
	} else if (state != NULL && strcmp(state, "pending") == 0) {
		pending++;
		if (!pipelined) {
			pthread_mutex_unlock(&mu);
			return 0;	/* the decision follows */
		}
	} else if (state != NULL && strcmp(state, "granted") == 0) {
		granted++;
		if (!token_ok(c, i, json_object_get(res, "token")))
			badtoken++;
	} else if (state != NULL && strcmp(state, "denied") == 0)
		denied++;
	else if (state != NULL && strcmp(state, "expired") == 0)
		expired++;
	c->seen[i] = 1;
	answered++;
	pthread_mutex_unlock(&mu);
	return 1;
}

static void *
run(void *arg)
{
	struct conn *c = arg;
	struct audit_buf b = { 0 };
	json_t *a;

	c->fd = dial();
	if (pipelined) {
		for (int i = 0; i < c->n; i++)
			make_request(c, i, &b);
		if (audit_writeall(c->fd, b.p, b.len) != 0)
			err(2, "write");
		__atomic_add_fetch(&sent, c->n, __ATOMIC_SEQ_CST);
		for (int got = 0; got < c->n && (a = read_answer(c)) != NULL;
		    json_decref(a))
			got += take(c, a);
	} else {
		for (int i = 0; i < c->n; i++) {
			b.len = 0;
			make_request(c, i, &b);
			if (audit_writeall(c->fd, b.p, b.len) != 0)
				err(2, "write");
			__atomic_add_fetch(&sent, 1, __ATOMIC_SEQ_CST);
			while ((a = read_answer(c)) != NULL) {
				int final = take(c, a);

				json_decref(a);
				if (final)
					break;
			}
			if (a == NULL)
				break;
		}
	}
	audit_buf_free(&b);
	close(c->fd);
	return NULL;
}

int
main(int argc, char **argv)
{
	struct timespec t0, t1;
	struct audit_err e;
	pthread_t *th;
	struct conn *cs;
	double secs;
	int ch;

	if (sodium_init() < 0)
		errx(2, "sodium_init");
	while ((ch = getopt(argc, argv, "c:n:o:pP:t:")) != -1) {
		switch (ch) {
		case 'c': nconns = (int)xnum(optarg, 1, INT_MAX); break;
		case 'n': total = (int)xnum(optarg, 1, INT_MAX); break;
		case 'o': op = optarg; break;
		case 'p': pipelined = 1; break;
		case 'P': pod = optarg; break;
		case 't':
			if (audit_keyring_load(&trust, optarg, &e) != 0)
				errx(2, "%s", e.msg);
			have_trust = 1;
			break;
		default:
			errx(2, "usage: approval-load [-p] [-c conns] [-n n] "
			    "[-o op] [-P pod] [-t trust] socket key...");
		}
	}
	if (argc - optind < 2 || nconns < 1 || total < 1)
		errx(2, "usage: approval-load [-p] [-c conns] [-n n] [-o op] "
		    "[-P pod] [-t trust] socket key...");
	sock_path = argv[optind++];
	nkeys = argc - optind;
	if ((keys = calloc((size_t)nkeys, sizeof(*keys))) == NULL)
		err(2, "calloc");
	for (int i = 0; i < nkeys; i++)
		if (audit_seckey_load(&keys[i], argv[optind + i], &e) != 0)
			errx(2, "%s", e.msg);
	cs = calloc((size_t)nconns, sizeof(*cs));
	th = calloc((size_t)nconns, sizeof(*th));
	if (cs == NULL || th == NULL)
		err(2, "calloc");
	for (int i = 0; i < nconns; i++) {
		cs[i].index = i;
		cs[i].key = keys[i % nkeys];
		cs[i].n = total / nconns + (i < total % nconns);
		cs[i].nonces = calloc((size_t)cs[i].n + 1,
		    sizeof(*cs[i].nonces));
		cs[i].args = calloc((size_t)cs[i].n + 1, sizeof(json_t *));
		cs[i].seen = calloc((size_t)cs[i].n + 1, sizeof(int));
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < nconns; i++)
		if (pthread_create(&th[i], NULL, run, &cs[i]) != 0)
			errx(2, "pthread_create");
	for (int i = 0; i < nconns; i++)
		pthread_join(th[i], NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec -
	    t0.tv_nsec) / 1e9;
	for (int i = 0; i < nconns; i++) {
		for (int j = 0; j < cs[i].n; j++)
			json_decref(cs[i].args[j]);
		free(cs[i].args);
		free(cs[i].nonces);
		free(cs[i].seen);
		free(cs[i].buf);
	}
	free(cs);
	free(th);
	for (int i = 0; i < nkeys; i++)
		audit_seckey_free(keys[i]);
	free(keys);
	if (have_trust)
		audit_keyring_free(&trust);
	if (kinds[0] != '\0')
		kinds[strlen(kinds) - 1] = '\0';
	printf("sent=%ld answered=%ld granted=%ld pending=%ld denied=%ld "
	    "expired=%ld errors=%ld kinds=%s dups=%ld badtoken=%ld "
	    "seconds=%.3f rate=%.1f\n", sent, answered, granted,
	    pipelined ? pending : 0L, denied, expired, answered - granted -
	    (pipelined ? pending : 0L) - denied - expired, kinds[0] ? kinds :
	    "-", dups, badtoken, secs, (double)answered / secs);
	return answered == total && dups == 0 && badtoken == 0 ? 0 : 1;
}
