/*
 * nucleus-node doctor: which pod drivers this host can run, and why not.
 *
 * One function per check.  A doctor_probe that could change the process (new
 * namespaces, a seccomp filter, a Landlock domain, a signal timer, a
 * virtual machine) runs in a child of its own, which says why it failed
 * on a pipe; a child that does not finish in PROBE_MS is killed, and so
 * is a program run to ask its version.  Nothing here waits without a
 * deadline.
 *
 *	local		namespaces, pidfd, cgroup, seccomp (Landlock is the
 *			proxy's, where the kernel has it)
 *	qemu		qemu-system-x86_64 with the microvm machine; KVM only
 *			when it runs a plain guest, else TCG; vhost-vsock when
 *			it opens, else virtio-serial
 *	firecracker	firecracker, and a KVM that runs a plain guest
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/kvm.h>
#include <linux/landlock.h>
#include <linux/sched.h>

#include <seccomp.h>

#include "node.h"
#include "doctor.h"

/* Only printable text reaches the terminal: a version string, or what
 * a probe found, is some other program's to choose.  Text already
 * printable (escaped once, say) is left as it is. */
static void
printable(char *s, size_t size)
{
	char copy[TEXT_MAX];

	if (audit_printable(s, strlen(s)))
		return;
	audit_fmt(copy, sizeof(copy), "%s", s);
	audit_escape(s, size, copy, strlen(copy));
}

/*
 * Read fd to its end, keeping up to cap - 1 bytes (the rest is read and
 * dropped) until deadline; *late when it passed.  Returns the bytes kept.
 */
static size_t
read_until(int fd, char *buf, size_t cap, int64_t deadline, int *late)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char sink[4096];
	size_t n = 0;
	ssize_t r;
	int64_t left;

	*late = 0;
	for (;;) {
		if ((left = deadline - audit_now_ms(CLOCK_MONOTONIC)) <= 0) {
			*late = 1;
			break;
		}
		if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR)
			break;
		if (pfd.revents == 0)
			continue;
		if (n + 1 < cap)
			r = read(fd, buf + n, cap - 1 - n);
		else
			r = read(fd, sink, sizeof(sink));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (n + 1 < cap)
			n += (size_t)r;
	}
	buf[n] = '\0';
	return n;
}

/*
 * Reap pid, killed first when late (with its process group: what a
 * program started goes too); doctor_say how it ended unless it exited 0.
 */
static int
reap(pid_t pid, int late, const char *what, char *msg, size_t msgsz)
{
	int status;

	if (late) {
		(void)kill(-pid, SIGKILL);
		(void)kill(pid, SIGKILL);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return say(msg, msgsz, "%s: waitpid: %s", what,
			    strerror(errno));
	if (late)
		return say(msg, msgsz, "%s: did not finish in %d s", what,
		    PROBE_MS / 1000);
	if (WIFSIGNALED(status))
		return say(msg, msgsz, "%s: killed by signal %d (%s)", what,
		    WTERMSIG(status), strsignal(WTERMSIG(status)));
	if (WEXITSTATUS(status) != 0)
		return say(msg, msgsz, "%s: exit status %d", what,
		    WEXITSTATUS(status));
	return 0;
}

/*
 * Run fn in a child, where what it changes stays: 0 when it succeeds,
 * else -1 and why in msg.
 */
int
doctor_probe(probe_fn fn, const void *arg, char *msg, size_t msgsz)
{
	char why[TEXT_MAX];
	int p[2], late;
	pid_t pid;

	msg[0] = '\0';
	if (pipe2(p, O_CLOEXEC) != 0)
		return say(msg, msgsz, "pipe: %s", strerror(errno));
	if ((pid = fork()) < 0) {
		close(p[0]);
		close(p[1]);
		return say(msg, msgsz, "fork: %s", strerror(errno));
	}
	if (pid == 0) {
		int rc;

		(void)setpgid(0, 0);
		close(p[0]);
		why[0] = '\0';
		rc = fn(arg, why, sizeof(why));
		(void)!write(p[1], why, strlen(why));
		_exit(rc == 0 ? 0 : 1);
	}
	close(p[1]);
	(void)read_until(p[0], why, sizeof(why),
	    audit_now_ms(CLOCK_MONOTONIC) + PROBE_MS, &late);
	close(p[0]);
	if (reap(pid, late, "the doctor_probe", msg, msgsz) == 0)
		return 0;
	if (!late && why[0] != '\0') {
		msg[0] = '\0';
		say(msg, msgsz, "%s", why);
	}
	return -1;
}

/*
 * Run path with argv, standard output to out (its first OUTPUT_MAX - 1
 * bytes), nothing in, errors dropped: 0 when it exits 0.
 */
int
doctor_run_program(const char *path, char *const argv[], char *out,
    size_t outsz, char *msg, size_t msgsz)
{
	int p[2], late, null;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) != 0)
		return say(msg, msgsz, "pipe: %s", strerror(errno));
	if ((pid = fork()) < 0) {
		close(p[0]);
		close(p[1]);
		return say(msg, msgsz, "fork: %s", strerror(errno));
	}
	if (pid == 0) {
		(void)setpgid(0, 0);
		if ((null = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0 ||
		    dup2(null, 0) != 0 || dup2(p[1], 1) != 1 ||
		    dup2(null, 2) != 2)
			_exit(127);
		execv(path, argv);
		_exit(127);
	}
	close(p[1]);
	(void)read_until(p[0], out, outsz, audit_now_ms(CLOCK_MONOTONIC) +
	    PROBE_MS, &late);
	close(p[0]);
	return reap(pid, late, path, msg, msgsz);
}

/* The first line a program prints when asked its version. */
int
doctor_version_of(const char *path, char *line, size_t linesz, char *msg,
    size_t msgsz)
{
	char *const argv[] = { (char *)path, (char *)"--version", NULL };
	char out[TEXT_MAX];

	if (doctor_run_program(path, argv, out, sizeof(out), msg, msgsz) != 0)
		return -1;
	out[strcspn(out, "\n")] = '\0';
	if (out[0] == '\0')
		return say(msg, msgsz, "%s --version prints nothing", path);
	audit_escape(line, linesz, out, strlen(out));
	return 0;
}

static struct check checks[C_COUNT] = {
	[C_NAMESPACES] = { "namespaces", doctor_check_namespaces, 0, "", NULL },
	[C_PIDFD] = { "pidfd", doctor_check_pidfd, 0, "", NULL },
	[C_CGROUP] = { "cgroup", doctor_check_cgroup, 0, "", NULL },
	[C_SECCOMP] = { "seccomp", doctor_check_seccomp, 0, "", NULL },
	[C_LANDLOCK] = { "landlock", doctor_check_landlock, 0, "", NULL },
	[C_KVM] = { "kvm", doctor_check_kvm, 0, "", NULL },
	[C_VSOCK] = { "vhost-vsock", doctor_check_vsock, 0, "", NULL },
	[C_QEMU] = { "qemu", doctor_check_qemu, 0, "", NULL },
	[C_FIRECRACKER] = { "firecracker", doctor_check_firecracker, 0, "",
	    NULL },
};

#define NEEDS_MAX	4

static const struct driver {
	const char *name;
	int	 needs[NEEDS_MAX + 1];	/* checks; -1 ends */
} drivers[] = {
	{ "local", { C_NAMESPACES, C_PIDFD, C_CGROUP, C_SECCOMP, -1 } },
	{ "qemu", { C_QEMU, -1 } },
	{ "firecracker", { C_FIRECRACKER, C_KVM, -1 } },
};
#define DRIVERS_N	(sizeof(drivers) / sizeof(drivers[0]))

/* "yes" and how it would run, or "no: " and each check it lacks. */
static int
driver_verdict(const struct driver *d, char *text, size_t textsz)
{
	const struct check *c;

	text[0] = '\0';
	for (int i = 0; d->needs[i] >= 0; i++) {
		c = &checks[d->needs[i]];
		if (c->ok)
			continue;
		say(text, textsz, "%s", text[0] ? "; " : "no: ");
		/* The check named for the driver needs no name. */
		if (strcmp(c->name, d->name) != 0)
			say(text, textsz, "%s: ", c->name);
		say(text, textsz, "%s", c->text);
	}
	if (text[0] != '\0')
		return 0;
	say(text, textsz, "yes");
	if (strcmp(d->name, "qemu") == 0)
		say(text, textsz, ": accel %s, channel %s", checks[C_KVM].ok ?
		    "kvm" : "tcg", checks[C_VSOCK].ok ? "vhost-vsock" :
		    "virtio-serial");
	return 1;
}

/* A check's line, less its name: "what was found: ok" or "no: why". */
static void
check_line(const struct check *c, char *line, size_t linesz)
{
	audit_fmt(line, linesz, "%s%s%s", c->ok ? "" : "no: ", c->text,
	    c->ok ? ": ok" : "");
}

static json_t *
report_json(void)
{
	json_t *o = json_object(), *cs = json_object(), *ds = json_object();
	char line[VERDICT_MAX];
	json_t *j;

	for (int i = 0; i < C_COUNT; i++) {
		check_line(&checks[i], line, sizeof(line));
		j = checks[i].facts != NULL ? checks[i].facts : json_object();
		checks[i].facts = NULL;	/* transferred */
		json_object_set_new(j, "ok", json_boolean(checks[i].ok));
		json_object_set_new(j, "text", json_string(line));
		json_object_set_new(cs, checks[i].name, j);
	}
	for (size_t i = 0; i < DRIVERS_N; i++) {
		int ok = driver_verdict(&drivers[i], line, sizeof(line));

		json_object_set_new(ds, drivers[i].name, json_pack("{s:b, s:s}",
		    "ok", ok, "text", line));
	}
	json_object_set_new(o, "checks", cs);
	json_object_set_new(o, "drivers", ds);
	return o;
}

/* The exit status, once the report is out: 2 when it could not be. */
static int
written(int any)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "nucleus-node: doctor: cannot write the "
		    "report: %s\n", strerror(errno));
		return 2;
	}
	return any ? 0 : 1;
}

/*
 * Run every check and print what was found: a line per check and per
 * driver, or (json) one object.  0 when some driver can run here, 1
 * when none can, 2 when the report cannot be written.
 */
int
doctor_run(int json)
{
	char line[VERDICT_MAX];
	int any = 0;
	json_t *o;

	/* The probes' children must not print what is buffered twice. */
	fflush(stdout);
	for (int i = 0; i < C_COUNT; i++) {
		checks[i].run(&checks[i]);
		printable(checks[i].text, sizeof(checks[i].text));
	}
	for (size_t i = 0; i < DRIVERS_N; i++)
		any |= driver_verdict(&drivers[i], line, sizeof(line));
	if (json) {
		o = report_json();
		(void)json_dumpf(o, stdout, JSON_COMPACT);
		putchar('\n');
		json_decref(o);
		return written(any);
	}
	for (int i = 0; i < C_COUNT; i++) {
		check_line(&checks[i], line, sizeof(line));
		printf("%s: %s\n", checks[i].name, line);
		json_decref(checks[i].facts);
		checks[i].facts = NULL;
	}
	for (size_t i = 0; i < DRIVERS_N; i++) {
		driver_verdict(&drivers[i], line, sizeof(line));
		printf("driver %s: %s\n", drivers[i].name, line);
	}
	return written(any);
}
