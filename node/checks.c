/*
 * nucleus-node doctor's checks, one function each: what the local
 * driver needs (namespaces, pidfd, cgroup, seccomp; Landlock, the
 * proxy's) and what the VM drivers need (vhost-vsock, QEMU with its
 * microvm machine, Firecracker).  The KVM check is kvm.c's; the report,
 * doctor.c's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
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

#include <linux/landlock.h>
#include <linux/sched.h>

#include <seccomp.h>

#include "node.h"
#include "doctor.h"

/* Debian 12's <linux/landlock.h> stops at ABI 2. */
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE	(1ULL << 14)	/* ABI 3 */
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV	(1ULL << 15)	/* ABI 5 */
#endif
#ifndef LANDLOCK_ACCESS_NET_BIND_TCP
#define LANDLOCK_ACCESS_NET_BIND_TCP	(1ULL << 0)	/* ABI 4 */
#define LANDLOCK_ACCESS_NET_CONNECT_TCP	(1ULL << 1)
#endif
#ifndef LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET
#define LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0)	/* ABI 6 */
#define LANDLOCK_SCOPE_SIGNAL		(1ULL << 1)
#endif
#define LL_FS_ABI1	((1ULL << 13) - 1)	/* execute ... make_sym */

/* The ruleset's attributes as ABI 6 has them. */
struct ll_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;	/* ABI 4 */
	uint64_t scoped;		/* ABI 6 */
};

static const struct ns {
	const char *name;
	int	 flag;
} namespaces[] = {
	{ "user", CLONE_NEWUSER }, { "mount", CLONE_NEWNS },
	{ "pid", CLONE_NEWPID }, { "net", CLONE_NEWNET },
	{ "ipc", CLONE_NEWIPC }, { "uts", CLONE_NEWUTS },
	{ "cgroup", CLONE_NEWCGROUP },
};

/* As the sandbox makes it: with a new user namespace, so needing no
 * privilege where the kernel lets users have one. */
static int
probe_unshare(const void *arg, char *msg, size_t msgsz)
{
	const struct ns *ns = arg;
	int status;
	pid_t pid;

	if (unshare(CLONE_NEWUSER | ns->flag) != 0)
		return say(msg, msgsz, "unshare: %s", strerror(errno));
	if (ns->flag != CLONE_NEWPID)
		return 0;
	/* The next child enters the PID namespace, as its pid 1. */
	if ((pid = fork()) < 0)
		return say(msg, msgsz, "fork: %s", strerror(errno));
	if (pid == 0)
		_exit(getpid() == 1 ? 0 : 1);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		return say(msg, msgsz, "its first process is not pid 1");
	return 0;
}

void
doctor_check_namespaces(struct check *c)
{
	char ok[TEXT_MAX] = "", no[TEXT_MAX] = "", why[TEXT_MAX];

	for (size_t i = 0; i < sizeof(namespaces) / sizeof(namespaces[0]);
	    i++) {
		if (doctor_probe(probe_unshare, &namespaces[i], why,
		    sizeof(why)) == 0)
			say(ok, sizeof(ok), "%s%s", ok[0] ? " " : "",
			    namespaces[i].name);
		else
			say(no, sizeof(no), "%s%s: %s", no[0] ? "; " : "",
			    namespaces[i].name, why);
	}
	c->ok = no[0] == '\0';
	audit_fmt(c->text, sizeof(c->text), "%s", c->ok ? ok : no);
}

/* clone3(2) with CLONE_PIDFD and pidfd_open(2), as the sandbox uses. */
static int
probe_pidfd(const void *arg, char *msg, size_t msgsz)
{
	struct clone_args ca;
	int pidfd = -1, fd, status;
	pid_t pid;

	(void)arg;
	memset(&ca, 0, sizeof(ca));
	ca.flags = CLONE_PIDFD;
	ca.pidfd = (uint64_t)(uintptr_t)&pidfd;
	ca.exit_signal = SIGCHLD;
	pid = (pid_t)syscall(SYS_clone3, &ca, sizeof(ca));
	if (pid == 0)
		_exit(0);
	if (pid < 0)
		return say(msg, msgsz, "clone3: %s", strerror(errno));
	if (pidfd < 0)
		return say(msg, msgsz, "clone3 gave no pidfd");
	if (waitpid(pid, &status, 0) != pid)
		return say(msg, msgsz, "waitpid: %s", strerror(errno));
	close(pidfd);
	if ((fd = (int)syscall(SYS_pidfd_open, getpid(), 0)) < 0)
		return say(msg, msgsz, "pidfd_open: %s", strerror(errno));
	close(fd);
	return 0;
}

void
doctor_check_pidfd(struct check *c)
{
	char why[TEXT_MAX];

	c->ok = doctor_probe(probe_pidfd, NULL, why, sizeof(why)) == 0;
	audit_fmt(c->text, sizeof(c->text), "%s", c->ok ?
	    "clone3 with CLONE_PIDFD, pidfd_open" : why);
}

/* A pod's cgroup is made where cgroup_create makes it: writable there? */
void
doctor_check_cgroup(struct check *c)
{
	static const char *const v1[CG_V1_N] = { "/sys/fs/cgroup/memory",
	    "/sys/fs/cgroup/pids", "/sys/fs/cgroup/cpu" };
	struct cgroup_facts f;
	const char *dirs[CG_V1_N] = { NULL, NULL, NULL };
	char what[TEXT_MAX];

	cgroup_probe(&f);
	if (f.v2) {
		dirs[0] = f.v2_root;
		audit_fmt(what, sizeof(what), "v2 at %s (controllers: %s)",
		    f.v2_root, f.v2_controllers);
	} else if (f.v1) {
		memcpy(dirs, v1, sizeof(dirs));
		audit_fmt(what, sizeof(what), "v1 memory pids cpu "
		    "hierarchies");
	} else {
		audit_fmt(c->text, sizeof(c->text), "neither v2 with memory "
		    "pids cpu (controllers: %s) nor v1 memory pids cpu "
		    "hierarchies (found:%s%s%s)", f.v2_controllers[0] ?
		    f.v2_controllers : "none", f.v1_has[0] ? " memory" : "",
		    f.v1_has[1] ? " pids" : "", f.v1_has[2] ? " cpu" : "");
		return;
	}
	c->facts = json_pack("{s:i}", "version", f.v2 ? 2 : 1);
	for (int i = 0; i < CG_V1_N && dirs[i] != NULL; i++)
		if (faccessat(AT_FDCWD, dirs[i], W_OK, AT_EACCESS) != 0) {
			audit_fmt(c->text, sizeof(c->text), "%s, but %s: %s "
			    "(cgroups need root)", what, dirs[i],
			    strerror(errno));
			return;
		}
	c->ok = 1;
	audit_fmt(c->text, sizeof(c->text), "%s", what);
}

/* A trivial filter, loaded with libseccomp: does it act? */
static int
probe_seccomp(const void *arg, char *msg, size_t msgsz)
{
	scmp_filter_ctx ctx;
	int rc;

	(void)arg;
	if ((ctx = seccomp_init(SCMP_ACT_ALLOW)) == NULL)
		return say(msg, msgsz, "seccomp_init failed");
	if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EXDEV),
	    SCMP_SYS(getppid), 0)) != 0)
		return say(msg, msgsz, "seccomp_rule_add: %s", strerror(-rc));
	if ((rc = seccomp_load(ctx)) != 0)
		return say(msg, msgsz, "seccomp_load: %s", strerror(-rc));
	if (syscall(SYS_getppid) != -1 || errno != EXDEV)
		return say(msg, msgsz, "a loaded filter does not act");
	return 0;
}

void
doctor_check_seccomp(struct check *c)
{
	const struct scmp_version *v = seccomp_version();
	char why[TEXT_MAX];

	c->ok = doctor_probe(probe_seccomp, NULL, why, sizeof(why)) == 0;
	if (c->ok)
		audit_fmt(c->text, sizeof(c->text), "libseccomp %u.%u.%u, "
		    "a filter loads and acts", v->major, v->minor, v->micro);
	else
		audit_fmt(c->text, sizeof(c->text), "libseccomp %u.%u.%u: %s",
		    v->major, v->minor, v->micro, why);
}

/*
 * Enforce a ruleset handling every right the ABI knows and allowing
 * none: listing / must then be refused.
 */
static int
probe_landlock(const void *arg, char *msg, size_t msgsz)
{
	int abi = *(const int *)arg, fd;
	struct ll_attr attr;
	size_t size = sizeof(attr.handled_access_fs);

	memset(&attr, 0, sizeof(attr));
	attr.handled_access_fs = LL_FS_ABI1;
	if (abi >= 2)
		attr.handled_access_fs |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		attr.handled_access_fs |= LANDLOCK_ACCESS_FS_TRUNCATE;
	if (abi >= 4) {
		attr.handled_access_net = LANDLOCK_ACCESS_NET_BIND_TCP |
		    LANDLOCK_ACCESS_NET_CONNECT_TCP;
		size = offsetof(struct ll_attr, scoped);
	}
	if (abi >= 5)
		attr.handled_access_fs |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
	if (abi >= 6) {
		attr.scoped = LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET |
		    LANDLOCK_SCOPE_SIGNAL;
		size = sizeof(attr);
	}
	if ((fd = (int)syscall(SYS_landlock_create_ruleset, &attr, size,
	    0)) < 0)
		return say(msg, msgsz, "landlock_create_ruleset: %s",
		    strerror(errno));
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
	    syscall(SYS_landlock_restrict_self, fd, 0) != 0)
		return say(msg, msgsz, "landlock_restrict_self: %s",
		    strerror(errno));
	if (open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC) >= 0 ||
	    errno != EACCES)
		return say(msg, msgsz, "an enforced ruleset does not refuse");
	return 0;
}

void
doctor_check_landlock(struct check *c)
{
	char why[TEXT_MAX];
	int abi;

	abi = (int)syscall(SYS_landlock_create_ruleset, NULL, 0,
	    LANDLOCK_CREATE_RULESET_VERSION);
	if (abi <= 0) {
		audit_fmt(c->text, sizeof(c->text), "%s (the proxy runs "
		    "commands without it)", errno == ENOSYS ? "not in this "
		    "kernel" : errno == EOPNOTSUPP ? "disabled at boot" :
		    strerror(errno));
		return;
	}
	c->facts = json_pack("{s:i}", "abi", abi);
	c->ok = doctor_probe(probe_landlock, &abi, why, sizeof(why)) == 0;
	if (c->ok)
		audit_fmt(c->text, sizeof(c->text), "ABI %d, a ruleset is "
		    "enforced", abi);
	else
		audit_fmt(c->text, sizeof(c->text), "ABI %d: %s", abi, why);
}

void
doctor_check_vsock(struct check *c)
{
	int fd;

	if ((fd = open("/dev/vhost-vsock", O_RDWR | O_CLOEXEC)) < 0) {
		audit_fmt(c->text, sizeof(c->text), "/dev/vhost-vsock: %s",
		    strerror(errno));
		return;
	}
	close(fd);
	c->ok = 1;
	audit_fmt(c->text, sizeof(c->text), "/dev/vhost-vsock opens");
}

/* Does "-machine help" list microvm (a line "microvm  description")? */
static int
has_microvm(const char *path, char *msg, size_t msgsz)
{
	char *const argv[] = { (char *)path, (char *)"-machine",
	    (char *)"help", NULL };
	char *out, *line;
	int found = 0;

	if ((out = malloc(OUTPUT_MAX)) == NULL)
		return say(msg, msgsz, "out of memory");
	if (doctor_run_program(path, argv, out, OUTPUT_MAX, msg, msgsz) != 0) {
		free(out);
		return -1;
	}
	for (line = out; line != NULL && !found; line = strchr(line, '\n'),
	    line = line != NULL ? line + 1 : NULL)
		found = strncmp(line, "microvm", 7) == 0 && (line[7] == ' ' ||
		    line[7] == '\t' || line[7] == '\n' || line[7] == '\0');
	free(out);
	return found ? 0 : say(msg, msgsz, "no microvm machine in its "
	    "-machine help");
}

void
doctor_check_qemu(struct check *c)
{
	char path[LOCAL_PATH_MAX], version[TEXT_MAX], why[TEXT_MAX] = "";
	int microvm;

	if (vm_which("qemu-system-x86_64", path,
	    sizeof(path)) != 0) {
		audit_fmt(c->text, sizeof(c->text), "qemu-system-x86_64 not "
		    "found on PATH");
		return;
	}
	if (doctor_version_of(path, version, sizeof(version), why,
	    sizeof(why)) != 0) {
		audit_fmt(c->text, sizeof(c->text), "%s", why);
		return;
	}
	microvm = has_microvm(path, why, sizeof(why)) == 0;
	c->facts = json_pack("{s:s, s:s, s:b}", "path", path, "version",
	    version, "microvm", microvm);
	c->ok = microvm;
	audit_fmt(c->text, sizeof(c->text), "%s (%s)%s%s", path, version,
	    microvm ? ", machine microvm" : ": ", microvm ? "" : why);
}

void
doctor_check_firecracker(struct check *c)
{
	char path[LOCAL_PATH_MAX], jailer[LOCAL_PATH_MAX], version[TEXT_MAX];
	char why[TEXT_MAX] = "";

	if (vm_which("firecracker", path, sizeof(path)) != 0) {
		audit_fmt(c->text, sizeof(c->text), "firecracker not found on "
		    "PATH");
		return;
	}
	if (doctor_version_of(path, version, sizeof(version), why,
	    sizeof(why)) != 0) {
		audit_fmt(c->text, sizeof(c->text), "%s", why);
		return;
	}
	/* The jailer is optional: without it, the node's sandbox jails. */
	(void)vm_which("jailer", jailer, sizeof(jailer));
	c->facts = json_pack("{s:s, s:s, s:s?}", "path", path, "version",
	    version, "jailer", jailer[0] ? jailer : NULL);
	c->ok = 1;
	audit_fmt(c->text, sizeof(c->text), "%s (%s), jailer %s", path,
	    version, jailer[0] ? jailer : "not found (optional)");
}
