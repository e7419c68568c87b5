/*
 * nucleus-gateway: a pod's one way out, on the host, outside the node's
 * address space.  See nucleus-gateway(8).
 *
 * The node starts one for each pod whose spec has "network", as an
 * unprivileged uid, with the spec's network member (-s), the pod's own
 * connection (-c), a listening socket beside the pod (-l), its channel
 * to the node's log (-a) and, for tests, a hosts file (-H).  main() is
 * the list of steps: options, the allowlist, the hosts file, refuse to
 * run as root, the seccomp allowlist, the loop.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <sodium.h>

#include "gateway.h"
#include "num.h"
#include "syscalls.h"
#include "usage.h"

#define EXIT_ERR	2

struct gateway *G;
static struct gateway gateway;

static const char usage_text[] =
    "usage: nucleus-gateway -p pod -s network -a fd -c fd [-A] [-l fd] "
    "[-H fd] [-T fd]\n"
    "       nucleus-gateway --help | --version\n";

/* What the gateway does once set up; anything else kills it. */
static const char *const allowed[] = {
	/* its sockets, the streams and the remote connections */
	"read", "write", "readv", "writev", "close", "fcntl", "socket",
	"connect", "socketpair", "accept4", "accept", "recvfrom", "recvmsg",
	"sendto", "sendmsg", "shutdown", "getsockopt", "setsockopt",
	"getsockname", "getpeername",
	/* the relay's pipes: bytes from socket to socket, not through
	 * user space (relay.h) */
	"pipe2", "splice",
	/* the event loop (libev makes its epoll set again when it sees an
	 * event of a descriptor closed and reused) */
	"epoll_wait", "epoll_pwait", "epoll_ctl", "epoll_create1", "poll",
	"ppoll",
	/* memory, time, signals, the end */
	"brk", "mmap", "munmap", "mremap", "madvise", "mprotect", "futex",
	"exit", "exit_group", "getrandom", "clock_gettime", "clock_getres",
	"gettimeofday", "getpid", "gettid", "rt_sigprocmask", "rt_sigaction",
	"rt_sigreturn", "restart_syscall", "fstat", "newfstatat", "lseek",
	/* getaddrinfo(3) in the resolver threads, without -H: its files
	 * (refused, not fatal), the sockets above, its A and AAAA queries
	 * sent at once */
	"bind", "uname", "stat", "sendmmsg",
};

/* getaddrinfo(3)'s ioctl(FIONREAD) on its answer's socket, and no other
 * ioctl (the standard error may be the operator's terminal). */
static int
fionread(scmp_filter_ctx ctx)
{
	return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
	    SCMP_A1(SCMP_CMP_EQ, (scmp_datum_t)FIONREAD, 0));
}

static void __attribute__((noreturn))
usage(void)
{
	usage_fail(usage_text);
}

static int
fd_opt(const char *s)
{
	long long v;

	if (num_parse(s, 0, 1024, &v) != NUM_OK)
		usage();
	return (int)v;
}

static void __attribute__((noreturn))
hosts_fail(const char *what, const char *why)
{
	fprintf(stderr, "nucleus-gateway: %s: %s\n", what, why);
	exit(EXIT_ERR);
}

/* A file's text (the hosts file's, the trust's), GATEWAY_HOSTS_MAX bytes
 * at most, no NUL. */
static char *
slurp(int fd, size_t *len, const char *what)
{
	char *buf = malloc(GATEWAY_HOSTS_MAX + 1);
	size_t n = 0;
	ssize_t r;

	if (buf == NULL)
		hosts_fail(what, "out of memory");
	while (n < GATEWAY_HOSTS_MAX && (r = read(fd, buf + n,
	    GATEWAY_HOSTS_MAX - n)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			hosts_fail(what, strerror(errno));
		n += (size_t)r;
	}
	if (n == GATEWAY_HOSTS_MAX)
		hosts_fail(what, "longer than GATEWAY_HOSTS_MAX");
	if (memchr(buf, '\0', n) != NULL)
		hosts_fail(what, "holds a NUL byte");
	buf[n] = '\0';
	close(fd);
	*len = n;
	return buf;
}

static void
options(int argc, char **argv)
{
	const char *spec = NULL;
	struct audit_err e;
	json_t *v;
	int ch;

	int conn = -1, hosts = -1, trust = -1;
	size_t len;
	char *text;

	G->audit_fd = G->listen_fd = -1;
	while ((ch = getopt(argc, argv, "Aa:c:H:l:p:s:T:")) != -1) {
		switch (ch) {
		case 'A': G->every_approval = 1; break;
		case 'a': G->audit_fd = fd_opt(optarg); break;
		case 'c': conn = fd_opt(optarg); break;
		case 'H': hosts = fd_opt(optarg); break;
		case 'l': G->listen_fd = fd_opt(optarg); break;
		case 'p':
			if (audit_fit(G->pod, sizeof(G->pod), &e, "%s",
			    optarg) != 0)
				usage();
			break;
		case 's': spec = optarg; break;
		case 'T': trust = fd_opt(optarg); break;
		default: usage();
		}
	}
	if (optind != argc || spec == NULL || G->pod[0] == '\0' ||
	    G->audit_fd < 0 || conn < 0)
		usage();
	if ((v = json_loads(spec, JSON_REJECT_DUPLICATES, NULL)) == NULL ||
	    netspec_parse(&G->spec, v, &e) != 0) {
		fprintf(stderr, "nucleus-gateway: -s: %s\n", v == NULL ?
		    "not JSON" : e.msg);
		exit(EXIT_ERR);
	}
	json_decref(v);
	if (hosts >= 0)
		G->hosts = slurp(hosts, &len, "-H");
	else if ((hosts = open("/etc/hosts", O_RDONLY | O_CLOEXEC)) >= 0)
		G->etc_hosts = slurp(hosts, &len, "/etc/hosts");
	/* The authority keys: without them no approval entry is reached. */
	if (trust >= 0) {
		text = slurp(trust, &len, "-T");
		if (audit_keyring_parse(&G->trust, text, len, 0, &e) != 0) {
			fprintf(stderr, "nucleus-gateway: -T: %s\n", e.msg);
			exit(EXIT_ERR);
		}
		free(text);
	}
	G->budget = G->spec.max_bytes;
	if ((G->nonces = calloc(GATEWAY_NONCES_MAX,
	    sizeof(*G->nonces))) == NULL ||
	    (G->opened = calloc((size_t)G->spec.per_minute,
	    sizeof(*G->opened))) == NULL)
		hosts_fail("its limits", "out of memory");
	gw_add_conn(conn);
}

int
main(int argc, char **argv)
{
	struct audit_err e;

	usage_std(argc, argv, "nucleus-gateway", usage_text);
	if (sodium_init() < 0) {
		fprintf(stderr, "nucleus-gateway: libsodium cannot start\n");
		return EXIT_ERR;
	}
	G = &gateway;
	G->loop = ev_default_loop(EVFLAG_NOENV);
	options(argc, argv);
	/* Never as root: the node drops to the pod's uid before exec. */
	if (geteuid() == 0 || getuid() == 0) {
		fprintf(stderr, "nucleus-gateway: refusing to run as root\n");
		return EXIT_ERR;
	}
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	signal(SIGPIPE, SIG_IGN);
	if (G->hosts == NULL) {
		/* The resolver's modules loaded before the filter. */
		struct addrinfo *res;

		if (getaddrinfo("localhost", NULL, NULL, &res) == 0)
			freeaddrinfo(res);
	}
	if (gw_resolver_start() != 0) {
		fprintf(stderr, "nucleus-gateway: the resolver threads cannot "
		    "start\n");
		return EXIT_ERR;
	}
	if (syscalls_confine_more("gateway", allowed, sizeof(allowed) /
	    sizeof(allowed[0]), G->hosts == NULL ? fionread : NULL, &e) != 0) {
		fprintf(stderr, "nucleus-gateway: %s\n", e.msg);
		return EXIT_ERR;
	}
	ev_io_init(&G->audit_io, gw_audit_read, G->audit_fd, EV_READ);
	ev_io_start(G->loop, &G->audit_io);
	if (G->listen_fd >= 0) {
		ev_io_init(&G->listen_io, gw_accept, G->listen_fd, EV_READ);
		ev_io_start(G->loop, &G->listen_io);
	}
	ev_run(G->loop, 0);
	return 0;
}
