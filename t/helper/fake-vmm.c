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
 *	anything else	says nothing, ever
 *
 * Then it waits to be killed.
 */
#define _GNU_SOURCE
#include <err.h>
#include <stdio.h>
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
