/*
 * chan-peer: a test helper.  Be the node's end of a VM pod's channel
 * (QEMU's Unix socket) for a while, then go away.  Not installed.
 *
 *	chan-peer [-H] [-p text] [-t seconds] SOCKET < requests > lines
 *
 * Connects to SOCKET (retrying for up to 30 s while nothing listens).
 * With -H, first reads the proxy's hello, prints it, and answers with a
 * key-cert naming its log and key (unsigned: the proxy checks only that
 * it names them; verifiers check the signature).  Then sends the lines
 * of standard input, prints every line that comes back, and stops once
 * as many responses as requests have come (a line of stdin that is the
 * node's audit.resume is not a request), or after 30 s (-t: seconds).
 * With -p, it
 * then sends text with no newline, the start of a line it never ends,
 * and closes.
 * Exit 0 when every response came, 1 otherwise.
 */
#define _GNU_SOURCE
#include <err.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define WAIT_S	30

static int fd;
static char buf[1 << 20];
static size_t len;

/* The next line from the peer, NUL-terminated, or NULL at the end. */
static char *
next_line(time_t end)
{
	static size_t used;
	char *nl;
	ssize_t n;

	if (used > 0) {
		memmove(buf, buf + used, len - used);
		len -= used;
		used = 0;
	}
	while ((nl = memchr(buf, '\n', len)) == NULL) {
		struct pollfd p = { fd, POLLIN, 0 };
		int left = (int)(end - time(NULL));

		if (left <= 0 || len == sizeof(buf) - 1 ||
		    poll(&p, 1, left * 1000) <= 0 ||
		    (n = read(fd, buf + len, sizeof(buf) - 1 - len)) <= 0)
			return NULL;
		len += (size_t)n;
	}
	*nl = '\0';
	used = (size_t)(nl - buf) + 1;
	return buf;
}

/* The string member name of a JSON line, crudely: enough here. */
static void
member(const char *line, const char *name, char *out, size_t sz)
{
	char key[64];
	const char *p, *q;

	snprintf(key, sizeof(key), "\"%s\":\"", name);
	if ((p = strstr(line, key)) == NULL ||
	    (q = strchr(p + strlen(key), '"')) == NULL)
		errx(1, "no %s in %s", name, line);
	if ((size_t)(q - p) - strlen(key) >= sz)
		errx(1, "%s in %s is too long", name, line);
	memcpy(out, p + strlen(key), (size_t)(q - p) - strlen(key));
	out[(size_t)(q - p) - strlen(key)] = '\0';
}

int
main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *partial = NULL;
	char *line = NULL, log[256], pk[128], cert[1024];
	size_t cap = 0;
	int hello = 0, ch, requests = 0, responses = 0;
	time_t end = time(NULL) + WAIT_S;

	while ((ch = getopt(argc, argv, "Hp:t:")) != -1)
		switch (ch) {
		case 'H': hello = 1; break;
		case 'p': partial = optarg; break;
		case 't': end = time(NULL) + atoi(optarg); break;
		default: errx(2, "usage: chan-peer [-H] [-p text] [-t s] "
		    "socket");
		}
	if (optind + 1 != argc)
		errx(2, "usage: chan-peer [-H] [-p text] [-t s] socket");
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", argv[optind]);
	for (;;) {
		if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0)
			err(2, "socket");
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			break;
		close(fd);
		if (time(NULL) > end)
			err(2, "%s", sa.sun_path);
		usleep(20000);
	}
	if (hello) {
		char *h = next_line(end);

		if (h == NULL)
			errx(1, "no hello");
		printf("%s\n", h);
		member(h, "log", log, sizeof(log));
		member(h, "pubkey", pk, sizeof(pk));
		snprintf(cert, sizeof(cert), "{\"type\":\"key-cert\",\"v\":1,"
		    "\"log\":\"%s\",\"pubkey\":\"%s\"}\n", log, pk);
		if (write(fd, cert, strlen(cert)) != (ssize_t)strlen(cert))
			err(1, "key-cert");
	}
	while (getline(&line, &cap, stdin) > 0) {
		if (write(fd, line, strlen(line)) != (ssize_t)strlen(line))
			err(1, "send");
		if (strstr(line, "\"type\":\"audit.resume\"") == NULL)
			requests++;
	}
	while (responses < requests) {
		char *l = next_line(end);

		if (l == NULL)
			break;
		printf("%s\n", l);
		if (strstr(l, "\"type\":\"response\"") != NULL)
			responses++;
	}
	if (partial != NULL &&
	    write(fd, partial, strlen(partial)) != (ssize_t)strlen(partial))
		err(1, "send");
	close(fd);
	free(line);
	return responses == requests ? 0 : 1;
}
