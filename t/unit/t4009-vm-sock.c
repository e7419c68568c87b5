/*
 * The VMM's sockets, as the node connects to them (vm.c: vm_sock_pin,
 * vm_sock_connect): in a directory the VMM's uid owns, so what is there
 * may change between a check and a connect.  Only a socket of that uid
 * is connected to, never a link, a file or another uid's socket; and the
 * socket connected to is the one checked, even when another is renamed
 * over its name in between (what a hostile VMM would race).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "node.h"
#include "tap.h"

static char dir[] = "/tmp/t4009-XXXXXX";

/* A listening socket at dir/name. */
static int
listener(const char *name)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", dir, name);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(fd, 4) != 0) {
		perror("listener");
		exit(1);
	}
	return fd;
}

/* Whether l has a connection waiting (taken and closed). */
static int
has_client(int l)
{
	int fl = fcntl(l, F_GETFL), c;

	(void)fcntl(l, F_SETFL, fl | O_NONBLOCK);
	c = accept(l, NULL, NULL);
	(void)fcntl(l, F_SETFL, fl);
	if (c < 0)
		return 0;
	close(c);
	return 1;
}

static const char *
at(const char *name)
{
	static char p[4][256];
	static int i;

	i = (i + 1) % 4;
	snprintf(p[i], sizeof(p[i]), "%s/%s", dir, name);
	return p[i];
}

int
main(void)
{
	struct audit_err e;
	char proc[64];
	int a, b, fd, pin, saved;

	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	a = listener("a.sock");
	b = listener("b.sock");

	fd = vm_sock_connect(at("a.sock"), getuid(), &e);
	ok(fd >= 0 && has_client(a), "a socket of the uid: connected, to it");
	if (fd >= 0)
		close(fd);

	errno = 0;
	fd = vm_sock_connect(at("a.sock"), getuid() + 1, &e);
	saved = errno;
	ok(fd < 0 && saved == EPERM && strstr(e.msg, "not the VMM's socket") !=
	    NULL && !has_client(a), "another uid's socket: EPERM, not "
	    "connected (%s)", e.msg);

	if (symlink(at("a.sock"), at("link.sock")) != 0) {
		perror("symlink");
		return 1;
	}
	errno = 0;
	fd = vm_sock_connect(at("link.sock"), getuid(), &e);
	saved = errno;
	ok(fd < 0 && saved == EPERM && !has_client(a), "a link to a socket "
	    "of the uid: EPERM, not followed");

	close(open(at("file"), O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
	errno = 0;
	fd = vm_sock_connect(at("file"), getuid(), &e);
	saved = errno;
	ok(fd < 0 && saved == EPERM, "a file: EPERM");

	errno = 0;
	fd = vm_sock_connect(at("none.sock"), getuid(), &e);
	saved = errno;
	ok(fd < 0 && saved == ENOENT, "no socket yet: ENOENT (the caller "
	    "tries again)");

	/* Pinned, then another socket renamed over its name: the
	 * connection still goes to the socket checked. */
	pin = vm_sock_pin(at("a.sock"), getuid(), proc, sizeof(proc), &e);
	ok(pin >= 0 && rename(at("b.sock"), at("a.sock")) == 0,
	    "pinned a.sock, then b.sock renamed over it");
	{
		struct sockaddr_un sa = { .sun_family = AF_UNIX };

		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", proc);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		ok(fd >= 0 && connect(fd, (struct sockaddr *)&sa,
		    sizeof(sa)) == 0 && has_client(a) && !has_client(b),
		    "the connection reaches the socket checked, not the one "
		    "now at its name");
		if (fd >= 0)
			close(fd);
	}
	if (pin >= 0)
		close(pin);

	close(a);
	close(b);
	unlink(at("a.sock"));
	unlink(at("link.sock"));
	unlink(at("file"));
	rmdir(dir);
	return done_testing();
}
