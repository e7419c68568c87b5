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
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(fd, 1) != 0 || (c = accept(fd, NULL, NULL)) < 0)
		err(2, "%s", sa.sun_path);
	if (strstr(sa.sun_path, "-long") != NULL) {
		memset(junk, 'x', sizeof(junk));
		if (write(c, junk, sizeof(junk)) < 0)
			err(2, "write");
	} else if (strstr(sa.sun_path, "-close") != NULL)
		close(c);
	for (;;)
		pause();
}
