/*
 * fake-fc: a test helper standing in for Firecracker and for its guest's
 * init, so that a Firecracker pod runs without a VM (t5060).  Not
 * installed.
 *
 *	fake-fc --no-api --config-file CONF
 *		as firecracker, found on the node's PATH, run by the node as
 *		the VMM: takes the pod's files from the configuration's
 *		initrd (the archive the node appends: etc/nucleus/pod.json
 *		and etc/nucleus/trust) into $FAKE_FC_GUEST, then serves the
 *		hybrid vsock on the configuration's uds_path as Firecracker
 *		does: "CONNECT <port>\n", "OK <n>\n", then the stream of
 *		$FAKE_FC_GUEST/guest.sock (the guest's port), or the
 *		connection closed when nothing listens there.  Each
 *		connection made is said on standard error.  It outlives
 *		the node.
 *
 *	fake-fc guest DIR PROGRAM [ARG...]
 *		as the guest's init (nucleus-proxy -I -v): listens on
 *		DIR/guest.sock, takes the first connection as PROGRAM's
 *		standard input and output (the hello and the key-cert) and
 *		gives the listener as its descriptor 3, for the node's
 *		channel, PROGRAM in a PID namespace of its own so that the
 *		connections it takes come from outside (as the host's do
 *		into a VM); PROGRAM's pid (on the host) in DIR/proxy.pid.
 *		Run as root by the test.
 */
#define _GNU_SOURCE
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define LINE_MAX_	64
#define RELAY_BUF	65536
#define CPIO_HDR	110

static void
addr(struct sockaddr_un *sa, const char *path)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		errx(2, "%s: too long for a socket", path);
	strcpy(sa->sun_path, path);
}

static int
listen_on(const char *path, mode_t mode)
{
	struct sockaddr_un sa;
	int fd;

	addr(&sa, path);
	unlink(path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    chmod(path, mode) != 0 || listen(fd, 16) != 0)
		err(2, "%s", path);
	return fd;
}

static void
put(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w <= 0)
			_exit(0);
		p += w;
		n -= (size_t)w;
	}
}

/* One file of the node's appended archive: its data, by its name. */
static void
extract(const char *img, size_t len, const char *name, const char *out)
{
	size_t nlen = strlen(name) + 1;
	const char *best = NULL;
	char hex[9];
	unsigned long size;
	size_t hdr, data;
	FILE *f;

	for (const char *p = img; (p = memmem(p, len - (size_t)(p - img),
	    name, nlen)) != NULL; p++)
		best = p;
	if (best == NULL || (size_t)(best - img) < CPIO_HDR)
		errx(2, "no %s in the initrd", name);
	hdr = (size_t)(best - img) - CPIO_HDR;
	if (memcmp(img + hdr, "070701", 6) != 0)
		errx(2, "%s: not a newc header", name);
	memcpy(hex, img + hdr + 6 + 6 * 8, 8);
	hex[8] = '\0';
	size = strtoul(hex, NULL, 16);
	data = hdr + ((CPIO_HDR + nlen + 3) & ~(size_t)3);
	if (data + size > len)
		errx(2, "%s: cut short", name);
	if ((f = fopen(out, "w")) == NULL ||
	    fwrite(img + data, 1, size, f) != size || fclose(f) != 0)
		err(2, "%s", out);
}

static void
take_files(const char *initrd, const char *guest)
{
	char path[4096], to[4096], *img;
	struct stat st;
	int fd;

	if ((fd = open(initrd, O_RDONLY)) < 0 || fstat(fd, &st) != 0)
		err(2, "%s", initrd);
	if ((img = malloc((size_t)st.st_size)) == NULL ||
	    read(fd, img, (size_t)st.st_size) != st.st_size)
		err(2, "%s", initrd);
	close(fd);
	snprintf(path, sizeof(path), "%s/trust", guest);
	extract(img, (size_t)st.st_size, "etc/nucleus/trust", path);
	/* The pod file last, whole: the test waits for it. */
	snprintf(path, sizeof(path), "%s/pod.json.new", guest);
	extract(img, (size_t)st.st_size, "etc/nucleus/pod.json", path);
	snprintf(to, sizeof(to), "%s/pod.json", guest);
	if (rename(path, to) != 0)
		err(2, "%s", to);
	free(img);
}

/* Bytes both ways until either side ends. */
static void __attribute__((noreturn))
relay(int a, int b)
{
	char *buf = malloc(RELAY_BUF);

	for (;;) {
		struct pollfd p[2] = { { a, POLLIN, 0 }, { b, POLLIN, 0 } };

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			_exit(0);
		}
		for (int i = 0; i < 2; i++) {
			ssize_t n;

			if (p[i].revents == 0)
				continue;
			n = read(p[i].fd, buf, RELAY_BUF);
			if (n <= 0)
				_exit(0);
			put(i == 0 ? b : a, buf, (size_t)n);
		}
	}
}

/* One host connection: CONNECT, then the guest's port, as Firecracker. */
static void __attribute__((noreturn))
serve_one(int c, const char *guest)
{
	char line[LINE_MAX_], path[4096];
	struct sockaddr_un sa;
	unsigned port;
	size_t n = 0;
	int g;

	while (n + 1 < sizeof(line)) {
		if (read(c, line + n, 1) != 1)
			_exit(0);
		if (line[n] == '\n')
			break;
		n++;
	}
	line[n] = '\0';
	if (sscanf(line, "CONNECT %u", &port) != 1)
		_exit(0);
	snprintf(path, sizeof(path), "%s/guest.sock", guest);
	addr(&sa, path);
	if ((g = socket(AF_UNIX, SOCK_STREAM, 0)) < 0 ||
	    connect(g, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		_exit(0);	/* nothing listens in the guest yet */
	put(c, "OK 1073741824\n", 14);
	fprintf(stderr, "fake-fc: connected to port %u\n", port);
	relay(c, g);
}

static int
vmm(int argc, char **argv)
{
	const char *conf = NULL, *guest = getenv("FAKE_FC_GUEST");
	const char *uds, *initrd;
	json_error_t je;
	json_t *cfg;
	int l;

	for (int i = 1; i + 1 < argc; i++)
		if (strcmp(argv[i], "--config-file") == 0)
			conf = argv[i + 1];
	if (conf == NULL || guest == NULL)
		errx(2, "usage: FAKE_FC_GUEST=DIR fake-fc --no-api "
		    "--config-file CONF");
	if ((cfg = json_load_file(conf, 0, &je)) == NULL)
		errx(2, "%s: %s", conf, je.text);
	if (json_unpack(cfg, "{s:{s:s}, s:{s:s}}", "vsock", "uds_path", &uds,
	    "boot-source", "initrd_path", &initrd) != 0)
		errx(2, "%s: no vsock.uds_path or initrd_path", conf);
	take_files(initrd, guest);
	l = listen_on(uds, 0600);
	/* Firecracker (Rust) ignores SIGPIPE; its children are reaped. */
	signal(SIGPIPE, SIG_IGN);
	signal(SIGCHLD, SIG_IGN);
	for (;;) {
		int c = accept(l, NULL, NULL);

		if (c < 0)
			continue;
		if (fork() == 0) {
			close(l);
			serve_one(c, guest);
		}
		close(c);
	}
}

static int
guest_init(int argc, char **argv)
{
	char path[4096];
	int l, c, status;
	pid_t pid;
	FILE *f;

	if (argc < 4)
		errx(2, "usage: fake-fc guest DIR PROGRAM [ARG...]");
	snprintf(path, sizeof(path), "%s/guest.sock", argv[2]);
	l = listen_on(path, 0777);
	while ((c = accept(l, NULL, NULL)) < 0)
		if (errno != EINTR)
			err(2, "accept");
	if (unshare(CLONE_NEWPID) != 0)
		err(2, "unshare");
	if ((pid = fork()) < 0)
		err(2, "fork");
	if (pid == 0) {
		if (dup2(c, 0) != 0 || dup2(c, 1) != 1 || dup2(l, 3) != 3)
			err(2, "dup2");
		execv(argv[3], argv + 3);
		err(127, "%s", argv[3]);
	}
	close(c);
	close(l);
	snprintf(path, sizeof(path), "%s/proxy.pid", argv[2]);
	if ((f = fopen(path, "w")) == NULL || fprintf(f, "%d\n", (int)pid) < 0 ||
	    fclose(f) != 0)
		err(2, "%s", path);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			err(2, "waitpid");
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int
main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "guest") == 0)
		return guest_init(argc, argv);
	return vmm(argc, argv);
}
