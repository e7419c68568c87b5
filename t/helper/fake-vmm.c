/*
 * fake-vmm: a test helper standing in for qemu-system-x86_64 (serve -Q),
 * to play a guest that misbehaves before its hello.  Not installed.
 *
 * It takes QEMU's arguments, finds the channel's socket in -chardev's
 * path=, listens there as QEMU does, and once the node connects behaves
 * by the pod's name, which the path holds:
 *
 *	...-long...	sends more than a hello may be, with no newline
 *	...-close...	closes the connection at once
 *	...-chatty...	first writes CHATTER bytes to its standard output
 *			(QEMU's: the guest's console) and as many to its
 *			standard error, then closes the connection
 *	...-liar...	says hello for its pod naming a log the node did
 *			not choose, and says "fake-vmm: key-cert" on its
 *			standard error should the node answer
 *	...-egress...	a guest that comes up: listens on the egress
 *			port's socket too (the second -chardev), says the
 *			right hello (the log read from -initrd's pod file),
 *			takes the key-cert and the node's connection to the
 *			egress port, then listens on vm/peer.sock and
 *			passes the bytes of its first client to and from
 *			that connection: a test plays the guest's side of
 *			the egress frames there (mux.h)
 *	anything else	says nothing, ever
 *
 * Then it waits to be killed.
 */
#define _GNU_SOURCE
#include <err.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define CHATTER	(3 * 1024 * 1024)

/* The hello of a guest hostile from its start: its pod, another log. */
static void
liar(int c, const char *path)
{
	const char *pod = strstr(path, "/pods/"), *end;
	char name[80], line[512], buf[64];
	int n;

	if (pod == NULL)
		errx(2, "%s: no pod in the path", path);
	pod += 6;
	end = strchrnul(pod, '/');
	if ((size_t)(end - pod) >= sizeof(name))
		errx(2, "%s: a pod name too long", path);
	memcpy(name, pod, (size_t)(end - pod));
	name[end - pod] = '\0';
	n = snprintf(line, sizeof(line), "{\"type\":\"hello\",\"v\":1,"
	    "\"pod\":\"%s\",\"log\":\"%s.1.0000\",\"pubkey\":"
	    "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"}\n", name,
	    name);
	if (write(c, line, (size_t)n) != n)
		err(2, "write");
	if (read(c, buf, sizeof(buf)) > 0)
		fprintf(stderr, "fake-vmm: key-cert\n");
}

/* A guest writing to its serial port, a VMM to its standard error. */
static void
chatter(void)
{
	char buf[65536];

	for (int fd = 1; fd <= 2; fd++) {
		memset(buf, fd == 1 ? 'c' : 'e', sizeof(buf));
		for (size_t n = 0; n < CHATTER; n += sizeof(buf))
			if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
				err(2, "write");
	}
}

/* The path= of the n-th -chardev (0: the channel's), into sa. */
static int
chardev_path(int argc, char **argv, int n, struct sockaddr_un *sa)
{
	const char *p, *end;

	for (int i = 1; i + 1 < argc; i++)
		if (strcmp(argv[i], "-chardev") == 0 &&
		    (p = strstr(argv[i + 1], "path=")) != NULL && n-- == 0) {
			p += 5;
			end = strchrnul(p, ',');
			if ((size_t)(end - p) >= sizeof(sa->sun_path))
				errx(2, "a chardev path too long");
			memset(sa, 0, sizeof(*sa));
			sa->sun_family = AF_UNIX;
			memcpy(sa->sun_path, p, (size_t)(end - p));
			return 0;
		}
	return -1;
}

static int
listen_on(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	if (fd < 0 || bind(fd, (const struct sockaddr *)sa, sizeof(*sa)) != 0 ||
	    listen(fd, 1) != 0)
		err(2, "%s", sa->sun_path);
	return fd;
}

/* The log the node chose: the last "log" of -initrd (its pod file is
 * the archive appended last). */
static void
node_log(int argc, char **argv, char *out, size_t outsz)
{
	static char buf[64 * 1024 * 1024];
	const char *path = NULL, *p, *last = NULL;
	ssize_t n;
	size_t len = 0;
	int fd;

	for (int i = 1; i + 1 < argc; i++)
		if (strcmp(argv[i], "-initrd") == 0)
			path = argv[i + 1];
	if (path == NULL || (fd = open(path, O_RDONLY)) < 0)
		err(2, "-initrd");
	while ((n = read(fd, buf + len, sizeof(buf) - len)) > 0)
		len += (size_t)n;
	close(fd);
	for (p = buf; (p = memmem(p, len - (size_t)(p - buf), "\"log\":\"",
	    7)) != NULL; p += 7)
		last = p + 7;
	if (last == NULL || (p = memchr(last, '"', len - (size_t)(last -
	    buf))) == NULL || (size_t)(p - last) >= outsz)
		errx(2, "%s: no pod file with a log", path);
	memcpy(out, last, (size_t)(p - last));
	out[p - last] = '\0';
}

/* Bytes both ways between a and b until either ends. */
static void
splice_both(int a, int b)
{
	char buf[65536];

	for (;;) {
		struct pollfd pf[2] = { { a, POLLIN, 0 }, { b, POLLIN, 0 } };

		if (poll(pf, 2, -1) < 0)
			return;
		for (int i = 0; i < 2; i++) {
			ssize_t n;

			if (pf[i].revents == 0)
				continue;
			n = read(pf[i].fd, buf, sizeof(buf));
			if (n <= 0)
				return;
			for (ssize_t w = 0, k; w < n; w += k)
				if ((k = write(pf[1 - i].fd, buf + w,
				    (size_t)(n - w))) <= 0)
					return;
		}
	}
}

/* A guest that comes up, and whose egress port a test plays. */
static void
egress(int argc, char **argv, int chan_l, const char *chan_path)
{
	struct sockaddr_un sa;
	const char *pod = strstr(chan_path, "/pods/"), *end;
	char name[80], log[256], line[1024], c1;
	int e_l, c, e, peer_l, peer, n;

	if (chardev_path(argc, argv, 1, &sa) != 0)
		errx(2, "no egress -chardev");
	e_l = listen_on(&sa);
	if (pod == NULL || (end = strchr(pod + 6, '/')) == NULL ||
	    (size_t)(end - pod - 6) >= sizeof(name))
		errx(2, "%s: no pod in the path", chan_path);
	memcpy(name, pod + 6, (size_t)(end - pod - 6));
	name[end - pod - 6] = '\0';
	node_log(argc, argv, log, sizeof(log));
	if ((c = accept(chan_l, NULL, NULL)) < 0)
		err(2, "accept");
	n = snprintf(line, sizeof(line), "{\"type\":\"hello\",\"v\":1,"
	    "\"pod\":\"%s\",\"log\":\"%s\",\"pubkey\":"
	    "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"}\n", name, log);
	if (write(c, line, (size_t)n) != n)
		err(2, "write");
	do
		if (read(c, &c1, 1) != 1)
			errx(2, "no key-cert");
	while (c1 != '\n');
	if ((e = accept(e_l, NULL, NULL)) < 0)
		err(2, "accept the egress port");
	memcpy(strrchr(sa.sun_path, '/') + 1, "peer.sock", 10);
	peer_l = listen_on(&sa);
	if ((peer = accept(peer_l, NULL, NULL)) < 0)
		err(2, "accept the peer");
	splice_both(peer, e);
	close(e);
	close(peer);
}

int
main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *p = NULL, *end;
	char junk[4096];
	int fd, c;

	for (int i = 1; i + 1 < argc; i++)
		if (strcmp(argv[i], "-chardev") == 0 &&
		    (p = strstr(argv[i + 1], "path=")) != NULL)
			break;
	if (p == NULL)
		errx(2, "no -chardev with a path");
	p += 5;
	end = strchrnul(p, ',');
	if ((size_t)(end - p) >= sizeof(sa.sun_path))
		errx(2, "the chardev path does not fit in a socket address");
	memcpy(sa.sun_path, p, (size_t)(end - p));
	if (strstr(sa.sun_path, "-chatty") != NULL)
		chatter();
	if (strstr(sa.sun_path, "-egress") != NULL) {
		egress(argc, argv, listen_on(&sa), sa.sun_path);
		for (;;)
			pause();
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(fd, 1) != 0 || (c = accept(fd, NULL, NULL)) < 0)
		err(2, "%s", sa.sun_path);
	if (strstr(sa.sun_path, "-long") != NULL) {
		memset(junk, 'x', sizeof(junk));
		if (write(c, junk, sizeof(junk)) < 0)
			err(2, "write");
	} else if (strstr(sa.sun_path, "-close") != NULL ||
	    strstr(sa.sun_path, "-chatty") != NULL)
		close(c);
	else if (strstr(sa.sun_path, "-liar") != NULL)
		liar(c, sa.sun_path);
	for (;;)
		pause();
}
