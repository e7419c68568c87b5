/*
 * pod-tamper: a hostile pod for the node's tests.  Run by the node as a
 * pod's proxy (nucleus-node serve -P), it runs the real nucleus-proxy
 * with its own socketpair as descriptor 3, takes the node's connection
 * on the listening socket it was given as descriptor 3 (the node's first
 * line, audit.resume, is not passed on: the proxy sends its log from the
 * start on a socketpair), and carries the channel between the node and
 * it, misbehaving on the way back to the node as
 * its configuration says.  The configuration is a directory bound into
 * the pod (serve -B) holding pod-tamper.conf (one word, the mode) and
 * nucleus-proxy (the real one); it is found through the pod's mounts.
 * Not installed.
 *
 *	flip		one byte of the pod's third audit line changed
 *	early		each answer sent ahead of the audit lines before it
 *	junk		a line that is not JSON, after the third audit line
 *	overlong	a line of 80 MiB and one byte, after the third
 *	hello POD LOG	no proxy at all: a hello of its own for pod POD
 *			naming log LOG, then on standard error "pod-tamper:
 *			key-cert: " and the line the node answered with, or
 *			"pod-tamper: no key-cert"
 *	mute		no proxy at all, and no hello: it waits to be killed
 *	endless		after the third, a line that never ends
 *	flood		after the third, 200000 answers for requests the
 *			node never sent (half of them with ids it cannot
 *			have made), then the pod's own lines again
 *	deaf		the node's channel is never read
 *	noisy		first NOISE bytes on its standard error (proxy.err),
 *			then as none
 *	sip		the node's channel is read slowly (64 KiB each
 *			20 ms), what comes thrown away
 *
 * Answers that lie about their records (each answer rewritten, its
 * records passed on as they are):
 *
 *	noaudit		its audit member taken out
 *	seq0		naming record 0 (log.open) with a hash of zeros
 *	other		naming the record the first answer named (the
 *			first answer is passed on as it is)
 *	badhash		naming its own record with one digit of the hash
 *			changed
 *	okdenied	an error answer made ok, with an empty result
 *	mangle		each request changed on its way to the proxy (its
 *			type misspelt), its answer passed on as it is
 */
#define _GNU_SOURCE
#include <err.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define NODE_FD		3
#define OVERLONG	(80 * 1024 * 1024 + 1)
#define FLOOD		200000
#define NOISE		(3 * 1024 * 1024)

static char mode[32], proxy[4096], hello_pod[80], hello_log[160];
static int audit_seen;

/* The bound directory that holds pod-tamper.conf. */
static void
configure(void)
{
	char line[8192], path[4200];
	FILE *f = fopen("/proc/self/mountinfo", "re");

	if (f == NULL)
		err(2, "mountinfo");
	while (fgets(line, sizeof(line), f) != NULL) {
		char *mp = NULL, *save = NULL, *t = strtok_r(line, " ", &save);
		FILE *c;

		for (int i = 0; t != NULL && i < 4; i++)
			mp = t = strtok_r(NULL, " ", &save);
		if (mp == NULL)
			continue;
		snprintf(path, sizeof(path), "%s/pod-tamper.conf", mp);
		if ((c = fopen(path, "re")) == NULL)
			continue;
		if (fscanf(c, "%31s", mode) != 1)
			errx(2, "%s: no mode", path);
		if (strcmp(mode, "hello") == 0 && fscanf(c, "%79s %159s",
		    hello_pod, hello_log) != 2)
			errx(2, "%s: hello POD LOG", path);
		fclose(c);
		snprintf(proxy, sizeof(proxy), "%s/nucleus-proxy", mp);
		fclose(f);
		return;
	}
	errx(2, "no pod-tamper.conf in any mount");
}

static void
put(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w <= 0)
			exit(0);
		p += w;
		n -= (size_t)w;
	}
}

/* Lines held back (early): the audit lines since the last answer. */
static char *held;
static size_t heldlen;

/* After the third audit line: endless, flood. */
static void
misbehave(void)
{
	static const char stray[] = "{\"id\":\"n99999999999\",\"ok\":true,"
	    "\"type\":\"response\",\"v\":1}\n";
	static const char odd[] = "{\"id\":\"zz-never\",\"ok\":true,"
	    "\"type\":\"response\",\"v\":1}\n";
	char chunk[65536];

	if (strcmp(mode, "endless") == 0) {
		memset(chunk, 'x', sizeof(chunk));
		for (;;)
			put(NODE_FD, chunk, sizeof(chunk));	/* to EPIPE */
	}
	if (strcmp(mode, "flood") == 0)
		for (int i = 0; i < FLOOD; i++)
			put(NODE_FD, i % 2 ? odd : stray, i % 2 ?
			    sizeof(odd) - 1 : sizeof(stray) - 1);
}

/* The lying modes: an answer rewritten; 0 when mode is not one. */
static int
lie(const char *p, size_t n)
{
	static json_t *first;	/* other: the first answer's audit */
	json_t *r, *a;
	char *line;

	if (strcmp(mode, "noaudit") != 0 && strcmp(mode, "seq0") != 0 &&
	    strcmp(mode, "other") != 0 && strcmp(mode, "badhash") != 0 &&
	    strcmp(mode, "okdenied") != 0)
		return 0;
	if ((r = json_loadb(p, n, 0, NULL)) == NULL)
		errx(2, "an answer that is not JSON");
	a = json_object_get(r, "audit");
	if (strcmp(mode, "noaudit") == 0)
		json_object_del(r, "audit");
	else if (strcmp(mode, "seq0") == 0) {
		json_object_set_new(a, "seq", json_integer(0));
		json_object_set_new(a, "hash", json_string("0000000000000000"
		    "000000000000000000000000000000000000000000000000"));
	} else if (strcmp(mode, "other") == 0 && first == NULL)
		first = json_deep_copy(a);
	else if (strcmp(mode, "other") == 0)
		json_object_set(r, "audit", first);
	else if (strcmp(mode, "badhash") == 0) {
		char h[65];

		snprintf(h, sizeof(h), "%s", json_string_value(
		    json_object_get(a, "hash")));
		h[10] = h[10] == '0' ? '1' : '0';
		json_object_set_new(a, "hash", json_string(h));
	} else if (json_is_false(json_object_get(r, "ok"))) {
		json_object_del(r, "error");
		json_object_set_new(r, "ok", json_true());
		json_object_set_new(r, "result", json_object());
	}
	if ((line = json_dumps(r, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
		errx(2, "out of memory");
	put(NODE_FD, line, strlen(line));
	put(NODE_FD, "\n", 1);
	free(line);
	json_decref(r);
	return 1;
}

static void
line_out(const char *p, size_t n)
{
	int audit = n > 20 && memmem(p, n, "\"type\":\"audit\"", 14) != NULL;

	if (!audit && memmem(p, n, "\"type\":\"response\"", 17) != NULL &&
	    lie(p, n))
		return;
	if (audit)
		audit_seen++;
	if (strcmp(mode, "flip") == 0 && audit && audit_seen == 3) {
		char *c = malloc(n);

		memcpy(c, p, n);
		c[n / 2] = c[n / 2] == 'a' ? 'b' : 'a';
		put(NODE_FD, c, n);
		free(c);
		return;
	}
	if (strcmp(mode, "early") == 0 && audit_seen > 2) {
		if (audit) {
			held = realloc(held, heldlen + n);
			memcpy(held + heldlen, p, n);
			heldlen += n;
			return;
		}
		put(NODE_FD, p, n);
		put(NODE_FD, held, heldlen);
		heldlen = 0;
		return;
	}
	put(NODE_FD, p, n);
	if (audit && audit_seen == 3 && strcmp(mode, "junk") == 0)
		put(NODE_FD, "{not json\n", 10);
	if (audit && audit_seen == 3)
		misbehave();
	if (audit && audit_seen == 3 && strcmp(mode, "overlong") == 0) {
		char *big = malloc(OVERLONG + 1);

		memset(big, 'x', OVERLONG);
		big[OVERLONG] = '\n';
		put(NODE_FD, big, OVERLONG + 1);
		free(big);
	}
}

/* mangle: what the node sends, its requests' type misspelt. */
static void
mangle(char *buf, size_t n)
{
	static const char type[] = "\"type\":\"request\"";
	char *s = buf;

	while ((s = memmem(s, n - (size_t)(s - buf), type,
	    sizeof(type) - 1)) != NULL) {
		s[sizeof(type) - 3] = 'x';
		s += sizeof(type) - 1;
	}
}

/* A proxy hostile from its start: its hello names the log it likes. */
static int
hello(void)
{
	struct pollfd p = { 0, POLLIN, 0 };
	char line[8192];
	ssize_t n = 0;

	/* Any 32 bytes make a key the node would certify. */
	printf("{\"type\":\"hello\",\"v\":1,\"pod\":\"%s\",\"log\":\"%s\","
	    "\"pubkey\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"}\n",
	    hello_pod, hello_log);
	fflush(stdout);
	if (poll(&p, 1, 5000) == 1)
		n = read(0, line, sizeof(line) - 1);
	if (n > 0) {
		line[n] = '\0';
		fprintf(stderr, "pod-tamper: key-cert: %s", line);
	} else
		fprintf(stderr, "pod-tamper: no key-cert\n");
	return 0;
}

/* The node's connection, as NODE_FD; its first line read and dropped. */
static void
node_accept(void)
{
	char c;
	int fd;

	if ((fd = accept(NODE_FD, NULL, NULL)) < 0)
		err(2, "accept");
	if (dup2(fd, NODE_FD) != NODE_FD)
		err(2, "dup2");
	close(fd);
	do
		if (read(NODE_FD, &c, 1) != 1)
			exit(0);
	while (c != '\n');
}

int
main(int argc, char **argv)
{
	static char in[1 << 20];
	size_t inlen = 0;
	struct pollfd pfd[2];
	char buf[65536];
	int sv[2];
	ssize_t n;

	(void)argc;
	configure();
	if (strcmp(mode, "hello") == 0)
		return hello();
	if (strcmp(mode, "mute") == 0)
		for (;;)
			pause();
	if (strcmp(mode, "noisy") == 0) {
		memset(buf, 'e', sizeof(buf));
		for (size_t k = 0; k < NOISE; k += sizeof(buf))
			put(2, buf, sizeof(buf));
	}
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		err(2, "socketpair");
	switch (fork()) {
	case -1:
		err(2, "fork");
	case 0:
		if (dup2(sv[1], NODE_FD) != NODE_FD)
			err(2, "dup2");
		close(sv[0]);
		close(sv[1]);
		argv[0] = proxy;
		execv(proxy, argv);
		err(2, "%s", proxy);
	}
	close(sv[1]);
	node_accept();
	pfd[0].fd = NODE_FD;
	pfd[1].fd = sv[0];
	pfd[0].events = pfd[1].events = POLLIN;
	if (strcmp(mode, "deaf") == 0)
		pfd[0].events = 0;	/* what the node sends waits */
	for (;;) {
		if (poll(pfd, 2, -1) < 0)
			continue;
		if (pfd[0].revents) {
			if ((n = read(NODE_FD, buf, sizeof(buf))) <= 0)
				return 0;
			if (strcmp(mode, "sip") == 0)
				usleep(20000);
			else {
				if (strcmp(mode, "mangle") == 0)
					mangle(buf, (size_t)n);
				put(sv[0], buf, (size_t)n);
			}
		}
		if (pfd[1].revents) {
			char *nl, *s;

			if ((n = read(sv[0], in + inlen, sizeof(in) - inlen)) <= 0)
				return 0;
			inlen += (size_t)n;
			s = in;
			while ((nl = memchr(s, '\n', inlen - (size_t)(s - in))) !=
			    NULL) {
				line_out(s, (size_t)(nl - s) + 1);
				s = nl + 1;
			}
			memmove(in, s, inlen - (size_t)(s - in));
			inlen -= (size_t)(s - in);
			if (inlen == sizeof(in))
				errx(2, "a line over 1 MiB from the proxy");
		}
	}
}
