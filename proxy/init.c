/*
 * Init mode (-I): nucleus-proxy as the first process of a VM pod.
 *
 * The guest's initramfs holds this program, the kernel modules it loads
 * (INIT_MODULES/load names them in order), empty mount points, and the
 * pod's own two files, which the node appends as a second archive:
 * /etc/nucleus/pod.json and /etc/nucleus/trust.  No shell, no other
 * program.  PID 1:
 *
 *	mounts /proc, /sys and /dev (devtmpfs), and takes /dev/console
 *	as its standard error;
 *	loads the modules with finit_module(2);
 *	finds its two drives by what is on them: the root image of
 *	commands (squashfs), mounted read-only at /usr, and the pod's
 *	scratch (ext4), mounted at /scratch, whose work and tmp are bound
 *	at /work and /tmp: the only writable places a command has;
 *	mounts a tmpfs of INIT_STATE_MIB at /var/lib/nucleus, the proxy's
 *	state, which no command can fill;
 *	makes the initramfs itself read-only;
 *	sets the loopback interface up (the only one there is);
 *	opens its channel: the virtio serial port named INIT_PORT_NAME,
 *	or, with -v, the first connection to that vsock port;
 *	with -E fd, opens the port INIT_EGRESS_PORT_NAME too, the pod's
 *	egress streams (egress_mux.c), at fd for the proxy proper;
 *	forks the proxy proper, which says hello on the channel, takes
 *	the node's key-cert from it, writes its boot record and serves;
 *	with -v it serves the node's later connections to the port, one
 *	at a time, each from the host and taken once it has said what
 *	the node's copy holds (audit.resume), as the local driver's
 *	proxy serves chan.sock: a Firecracker VM outlives its node;
 *	and then only reaps orphans, until the proxy ends, when it powers
 *	the VM off.
 *
 * Any step that fails is said on the console, and the VM powers off:
 * a pod never runs half set up.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/vm_sockets.h>
#include <net/if.h>

#include "proxy.h"

#define INIT_MODULES	"/modules"	/* *.ko and load, in the initramfs */
#define INIT_DEVICE_MS	10000	/* for the drives and the port to show */
#define INIT_STATE_MIB	64	/* the proxy's state tmpfs */
#define INIT_PORT_NAME	"org.nucleus.channel"
#define INIT_EGRESS_PORT_NAME "org.nucleus.egress"	/* with -E */
#define INIT_PODFILE	"/etc/nucleus/pod.json"
#define INIT_CHANNEL_FD	3

static void __attribute__((noreturn))
power_off(void)
{
	sync();
	reboot(RB_POWER_OFF);
	/* Only PID 1 gets here, and the kernel stops if it exits. */
	for (;;)
		pause();
}

static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "nucleus-proxy init: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "; powering off\n");
	power_off();
}

static void
must_mount(const char *src, const char *dst, const char *type,
    unsigned long flags, const char *data)
{
	if (mount(src, dst, type, flags, data) != 0)
		die("mount %s on %s (%s): %s", src, dst, type != NULL ? type :
		    "bind", strerror(errno));
}

static void
nap(void)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };

	nanosleep(&ts, NULL);
}

/* /proc, /sys, /dev; then the console is our standard error. */
static void
mount_base(void)
{
	int fd;

	/* Nothing to say anything with yet: a failure here is silent. */
	if (mount("devtmpfs", "/dev", "devtmpfs", MS_NOSUID | MS_NOEXEC,
	    "mode=0755") != 0)
		power_off();
	if ((fd = open("/dev/console", O_RDWR | O_NOCTTY)) >= 0) {
		for (int i = 0; i < 3; i++)
			if (fd != i && dup2(fd, i) != i)
				power_off();
		if (fd > 2)
			close(fd);
	}
	setvbuf(stderr, NULL, _IONBF, 0);
	must_mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
	    NULL);
	must_mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
	    NULL);
}

/* Each module of INIT_MODULES/load, in its order. */
static void
load_modules(void)
{
	char name[256], path[sizeof(name) + 32];
	FILE *f;

	if ((f = fopen(INIT_MODULES "/load", "re")) == NULL)
		die(INIT_MODULES "/load: %s", strerror(errno));
	while (fgets(name, sizeof(name), f) != NULL) {
		int fd;

		name[strcspn(name, "\n")] = '\0';
		if (name[0] == '\0' || name[0] == '#')
			continue;
		if (strchr(name, '/') != NULL)
			die(INIT_MODULES "/load: %s: not a module name", name);
		snprintf(path, sizeof(path), INIT_MODULES "/%s.ko", name);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			die("%s: %s", path, strerror(errno));
		if (syscall(SYS_finit_module, fd, "", 0) != 0 &&
		    errno != EEXIST)
			die("loading %s: %s", path, strerror(errno));
		close(fd);
	}
	fclose(f);
}

/* What a drive holds, by its first bytes: 'r' squashfs, 's' ext4. */
static int
drive_kind(const char *dev)
{
	unsigned char b[2048];
	int fd = open(dev, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return 0;
	n = pread(fd, b, sizeof(b), 0);
	close(fd);
	if (n >= 4 && memcmp(b, "hsqs", 4) == 0)
		return 'r';
	if (n >= 1082 && b[1080] == 0x53 && b[1081] == 0xef)
		return 's';
	return 0;
}

/* The root image and the scratch drive, by content, not by order. */
static void
find_drives(char *root, char *scratch, size_t sz)
{
	int64_t t0;

	root[0] = scratch[0] = '\0';
	t0 = audit_now_ms(CLOCK_MONOTONIC);
	for (;;) {
		DIR *d = opendir("/sys/block");
		struct dirent *de;

		while (d != NULL && (de = readdir(d)) != NULL) {
			char dev[300];
			int k;

			if (strncmp(de->d_name, "vd", 2) != 0)
				continue;
			snprintf(dev, sizeof(dev), "/dev/%s", de->d_name);
			k = drive_kind(dev);
			if (k == 'r' && root[0] == '\0')
				snprintf(root, sz, "%s", dev);
			else if (k == 's' && scratch[0] == '\0')
				snprintf(scratch, sz, "%s", dev);
		}
		if (d != NULL)
			closedir(d);
		if (root[0] != '\0' && scratch[0] != '\0')
			return;
		if (audit_now_ms(CLOCK_MONOTONIC) - t0 > INIT_DEVICE_MS)
			die("no %s drive within %d ms", root[0] == '\0' ?
			    "root image (squashfs)" : "scratch (ext4)",
			    INIT_DEVICE_MS);
		nap();
	}
}

static void
mount_drives(void)
{
	char root[300], scratch[300], opt[64];
	struct stat st;

	find_drives(root, scratch, sizeof(root));
	must_mount(root, "/usr", "squashfs", MS_RDONLY | MS_NODEV | MS_NOSUID,
	    NULL);
	must_mount(scratch, "/scratch", "ext4", MS_NODEV | MS_NOSUID |
	    MS_NOATIME, "errors=remount-ro");
	/* The node made both; a scratch without them is made here. */
	if (stat("/scratch/work", &st) != 0 &&
	    mkdir("/scratch/work", 0755) != 0)
		die("/scratch/work: %s", strerror(errno));
	if (stat("/scratch/tmp", &st) != 0 &&
	    (mkdir("/scratch/tmp", 01777) != 0 ||
	    chmod("/scratch/tmp", 01777) != 0))
		die("/scratch/tmp: %s", strerror(errno));
	must_mount("/scratch/work", "/work", NULL, MS_BIND, NULL);
	must_mount("/scratch/tmp", "/tmp", NULL, MS_BIND, NULL);
	snprintf(opt, sizeof(opt), "size=%dm,mode=0700", INIT_STATE_MIB);
	must_mount("tmpfs", "/var/lib/nucleus", "tmpfs", MS_NOSUID |
	    MS_NODEV | MS_NOEXEC, opt);
	/* The initramfs itself: read-only from here on. */
	must_mount(NULL, "/", NULL, MS_REMOUNT | MS_RDONLY, NULL);
}

/* The virtio serial port named name, once it shows. */
static int
open_port(const char *want)
{
	int64_t t0;

	t0 = audit_now_ms(CLOCK_MONOTONIC);
	for (;;) {
		DIR *d = opendir("/sys/class/virtio-ports");
		struct dirent *de;
		int fd = -1;

		while (fd < 0 && d != NULL && (de = readdir(d)) != NULL) {
			char path[300], name[64] = "";
			FILE *f;

			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path),
			    "/sys/class/virtio-ports/%s/name", de->d_name);
			if ((f = fopen(path, "re")) == NULL)
				continue;
			if (fgets(name, sizeof(name), f) == NULL)
				name[0] = '\0';
			fclose(f);
			name[strcspn(name, "\n")] = '\0';
			if (strcmp(name, want) != 0)
				continue;
			snprintf(path, sizeof(path), "/dev/%s", de->d_name);
			if ((fd = open(path, O_RDWR | O_NOCTTY)) < 0)
				die("%s: %s", path, strerror(errno));
		}
		if (d != NULL)
			closedir(d);
		if (fd >= 0)
			return fd;
		if (audit_now_ms(CLOCK_MONOTONIC) - t0 > INIT_DEVICE_MS)
			die("no virtio port named %s within %d ms", want,
			    INIT_DEVICE_MS);
		nap();
	}
}

/* The loopback interface up: the pod's proxy listens there (a local
 * pod's is up in its namespace; the VM's kernel leaves it down). */
static void
loopback_up(void)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr) != 0)
		die("lo: %s", strerror(errno));
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) != 0)
		die("lo up: %s", strerror(errno));
	close(fd);
}

/* With -v: the first connection to the vsock port (the host's); the
 * listener stays, for the node's later ones. */
static int
accept_vsock(int port, int *listener)
{
	struct sockaddr_vm sa;
	int fd, c;

	memset(&sa, 0, sizeof(sa));
	sa.svm_family = AF_VSOCK;
	sa.svm_cid = VMADDR_CID_ANY;
	sa.svm_port = (unsigned)port;
	if ((fd = socket(AF_VSOCK, SOCK_STREAM, 0)) < 0)
		die("vsock: %s", strerror(errno));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(fd, 4) != 0)
		die("vsock port %d: %s", port, strerror(errno));
	while ((c = accept(fd, NULL, NULL)) < 0)
		if (errno != EINTR)
			die("vsock port %d: accept: %s", port,
			    strerror(errno));
	*listener = fd;
	return c;
}

/*
 * PID 1's work.  Returns only in the proxy proper, with its options
 * set: -C and -A on the channel, which is descriptor 3 and, for the
 * hello and the key-cert, standard input and output too.
 */
void
init_pid1(struct config *c)
{
	sigset_t all;
	pid_t proxy;
	int chan, listener = -1, egress = -1;

	if (getpid() != 1)
		errx(2, "-I: only the first process of a VM runs as its init");
	umask(022);
	mount_base();
	load_modules();
	mount_drives();
	loopback_up();
	chan = c->vsock_port >= 0 ? accept_vsock(c->vsock_port, &listener) :
	    open_port(INIT_PORT_NAME);
	if (c->egress_port_fd > 2 && c->egress_port_fd != INIT_CHANNEL_FD)
		egress = open_port(INIT_EGRESS_PORT_NAME);
	else
		c->egress_port_fd = -1;
	if ((proxy = fork()) < 0)
		die("fork: %s", strerror(errno));
	if (proxy == 0) {
		/* Out of the way of the channel's numbers first. */
		if (egress >= 0) {
			int high = fcntl(egress, F_DUPFD_CLOEXEC, 64);

			if (high < 0)
				die("the egress port: %s", strerror(errno));
			close(egress);
			egress = high;
		}
		/*
		 * A port is the channel, hello and requests alike, and stays
		 * when its host goes.  A vsock connection does not: the first
		 * carries the hello and the key-cert only, and the listener
		 * is the channel's, for the node's connections (-f 3).
		 */
		if (dup2(listener >= 0 ? listener : chan, INIT_CHANNEL_FD) !=
		    INIT_CHANNEL_FD || dup2(chan, 0) != 0 || dup2(chan, 1) != 1)
			die("the channel: %s", strerror(errno));
		if (chan != INIT_CHANNEL_FD)
			close(chan);
		/* No command's: close-on-exec. */
		if (egress >= 0 && (dup3(egress, c->egress_port_fd,
		    O_CLOEXEC) != c->egress_port_fd || close(egress) != 0))
			die("the egress port: %s", strerror(errno));
		if (listener >= 0 && listener != INIT_CHANNEL_FD)
			close(listener);
		/* The key-cert is one line; what follows it is requests. */
		setvbuf(stdin, NULL, _IONBF, 0);
		c->listen_fd = INIT_CHANNEL_FD;
		c->channel_persists = c->vsock_port < 0;
		c->vsock_port = -1;
		c->want_cert = 1;
		c->copy_audit = 1;
		if (c->podfile == NULL)
			c->podfile = INIT_PODFILE;
		return;
	}
	close(chan);
	if (egress >= 0)
		close(egress);
	if (listener >= 0)
		close(listener);
	/* Orphans come here; signals do not: PID 1 ignores them all. */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	for (;;) {
		int status;
		pid_t pid = wait(&status);

		if (pid == proxy) {
			fprintf(stderr, "nucleus-proxy init: the proxy ended "
			    "(%s %d); powering off\n", WIFEXITED(status) ?
			    "exit" : "signal", WIFEXITED(status) ?
			    WEXITSTATUS(status) : WTERMSIG(status));
			power_off();
		}
		if (pid < 0 && errno == ECHILD)
			power_off();
	}
}
