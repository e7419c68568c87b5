/*
 * vsock-peer: a test helper.  Listen on a Unix socket and answer as
 * Firecracker's hybrid vsock does, or misbehave as told.  Each CONNECT
 * line it receives is printed on standard output.  Not installed.
 *
 *	vsock-peer SOCKET ok		OK 1073741824 and a first line,
 *					"READY", in one write; then echo
 *	vsock-peer SOCKET refuse-n N	close the first N connections
 *					right after CONNECT; then ok
 *	vsock-peer SOCKET slow-ok MS	wait MS before each OK
 *	vsock-peer SOCKET never-ok	read CONNECT, never answer
 *	vsock-peer SOCKET bad TEXT	answer TEXT and a newline
 *	vsock-peer SOCKET late-listen MS	make the socket after MS; then ok
 *
 * It serves one connection at a time and exits after PEER_LIFE seconds,
 * so that a failed test leaves nothing behind.
 */
#include <err.h>
#include <signal.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "num.h"
#include "xnum.h"

#define PEER_LIFE	60	/* seconds */
#define PEER_LINE_MAX	64
#define PEER_HELD_MAX	64	/* never-ok's connections kept open */

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: vsock-peer socket ok | refuse-n n | "
	    "slow-ok ms | never-ok | bad text | late-listen ms\n");
	exit(2);
}

/* The CONNECT line, printed; 0, or -1 when the client went away. */
static int
read_connect(int fd)
{
	char line[PEER_LINE_MAX];
	size_t n = 0;

	while (n + 1 < sizeof(line)) {
		if (read(fd, line + n, 1) != 1)
			return -1;
		if (line[n] == '\n') {
			line[n] = '\0';
			printf("%s\n", line);
			fflush(stdout);
			return 0;
		}
		n++;
	}
	return -1;
}

/* OK and the first data line in one write, then echo until EOF. */
static void
serve_ok(int fd)
{
	static const char hello[] = "OK 1073741824\nREADY\n";
	char buf[4096];
	ssize_t n;

	if (write(fd, hello, sizeof(hello) - 1) != (ssize_t)sizeof(hello) - 1)
		return;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (write(fd, buf, (size_t)n) != n)
			return;
}

static int
listen_on(const char *path)
{
	struct sockaddr_un sa;
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path))
		errx(2, "%s: path too long", path);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	unlink(path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(fd, 16) != 0)
		err(2, "%s", path);
	return fd;
}

int
main(int argc, char **argv)
{
	const char *mode;
	long arg = 0;
	int lfd, fd, held[PEER_HELD_MAX], nheld = 0;
	long served = 0;

	if (argc < 3)
		usage();
	mode = argv[2];
	if (strcmp(mode, "ok") == 0 || strcmp(mode, "never-ok") == 0) {
		if (argc != 3)
			usage();
	} else if (strcmp(mode, "refuse-n") == 0 ||
	    strcmp(mode, "slow-ok") == 0 || strcmp(mode, "late-listen") == 0) {
		if (argc != 4)
			usage();
		arg = (long)xnum(argv[3], 0, LONG_MAX);
	} else if (strcmp(mode, "bad") == 0) {
		if (argc != 4)
			usage();
	} else
		usage();
	signal(SIGPIPE, SIG_IGN);
	alarm(PEER_LIFE);
	if (strcmp(mode, "late-listen") == 0)
		usleep((useconds_t)arg * 1000);
	lfd = listen_on(argv[1]);
	for (;; served++) {
		if ((fd = accept(lfd, NULL, NULL)) < 0)
			err(2, "accept");
		if (read_connect(fd) != 0) {
			close(fd);
			continue;
		}
		if (strcmp(mode, "never-ok") == 0) {
			/* Hold it open, answering nothing; past
			   PEER_HELD_MAX, the oldest is let go. */
			if (nheld >= PEER_HELD_MAX)
				close(held[nheld % PEER_HELD_MAX]);
			held[nheld++ % PEER_HELD_MAX] = fd;
			continue;
		}
		if (strcmp(mode, "refuse-n") == 0 && served < arg) {
			close(fd);
			continue;
		}
		if (strcmp(mode, "bad") == 0) {
			if (write(fd, argv[3], strlen(argv[3])) < 0 ||
			    write(fd, "\n", 1) < 0)
				warn("write");
			close(fd);
			continue;
		}
		if (strcmp(mode, "slow-ok") == 0)
			usleep((useconds_t)arg * 1000);
		serve_ok(fd);
		close(fd);
	}
}
