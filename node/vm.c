/*
 * The VM drivers: a pod is a microVM under QEMU (its microvm machine) or
 * Firecracker, booting the guest image (-G: vmlinux, initramfs.cpio,
 * <image>.squashfs), whose PID 1 is nucleus-proxy -I.
 *
 *	<dir>/vm/		owned by the pod's host uid, mode 0700
 *	<dir>/vm/initrd		the guest's initramfs, with a second archive
 *				appended: /etc/nucleus/pod.json and trust
 *	<dir>/vm/scratch.img	the scratch drive: ext4 of scratch_mib,
 *				made here with work and tmp (and work.copy)
 *	<dir>/vm/chan.sock	qemu: the channel: QEMU listens, the node
 *				connects; the guest's virtio serial port
 *	<dir>/vm/console.log	qemu: the guest's serial console
 *	<dir>/vm/firecracker.json  firecracker: its configuration
 *	<dir>/vm/fc.sock	firecracker: its hybrid vsock, which the node
 *				connects to guest port VM_VSOCK_PORT through:
 *				once for the hello, then for the channel (again
 *				when a new node takes the VM back)
 *	<dir>/vmm.err		what the VMM says (Firecracker: the guest's
 *				console too)
 *
 * The VMM gets no network device at all, the root image read-only, its
 * own cgroup (the pod's memory and CPU, plus room for the VMM itself), a
 * seccomp filter of the node's, loaded before it is executed, on top of
 * its own (QEMU's -sandbox, Firecracker's built-in filters); it runs as
 * the pod's host uid, never as root.  QEMU uses KVM only where a plain
 * guest runs on it (doctor's probe), otherwise TCG; Firecracker needs
 * KVM.
 *
 * Starting is in two halves: vm_launch() makes the files and starts the
 * VMM, at once; the guest then takes seconds to boot, during which the
 * node's loop goes on serving (vmstart.c connects and waits for the
 * hello).
 *
 * This file holds what the drivers share: the pod's files (initramfs,
 * scratch image), the VMM's start (cgroup, uid, seccomp), and the choice
 * of driver.  QEMU's command line is built in qemu.c; Firecracker's
 * configuration and command line in firecracker.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cpio.h"
#include "node.h"
#include "sockaddr.h"
#include "syscalls.h"

/* The guest's own uid and gid for commands: see the pod file. */
#define VM_RUN_UID	1000
#define VM_RUN_GID	1000
#define VM_VSOCK_PORT	1024	/* the guest's proxy, under Firecracker */

/* An entry of the initramfs (cpio.c), its time 0. */
static int
cpio_add(struct audit_buf *b, const char *name, unsigned mode,
    const void *data, size_t len)
{
	return cpio_newc_add(b, name, mode, 0, data, len);
}

/* The base initramfs, then the pod's own files as a second archive. */
static int
make_initrd(const char *base, const char *path, const char *podfile,
    size_t podlen, const char *trust, size_t trustlen, struct audit_err *err)
{
	struct audit_buf b = { 0 };
	int in = -1, out = -1, rc = -1;
	struct stat st;
	ssize_t n;

	if ((in = open(base, O_RDONLY | O_CLOEXEC)) < 0 || fstat(in, &st) != 0)
		return audit_errf(err, "%s: %s", base, strerror(errno));
	if ((out = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) < 0) {
		audit_errf(err, "%s: %s", path, strerror(errno));
		goto out;
	}
	for (off_t left = st.st_size; left > 0; left -= n)
		if ((n = copy_file_range(in, NULL, out, NULL, (size_t)left,
		    0)) <= 0) {
			audit_errf(err, "%s: %s", path, n < 0 ?
			    strerror(errno) : "short copy");
			goto out;
		}
	/* Kernels take archives one after another, at any 4-byte step. */
	if (audit_buf_add(&b, "\0\0\0\0", (4 - st.st_size % 4) % 4) != 0 ||
	    cpio_add(&b, "etc/nucleus/pod.json", 0100600, podfile,
	    podlen) != 0 ||
	    cpio_add(&b, "etc/nucleus/trust", 0100600, trust, trustlen) != 0 ||
	    cpio_add(&b, "TRAILER!!!", 0, NULL, 0) != 0 ||
	    audit_writeall(out, b.p, b.len) != 0 || fsync(out) != 0) {
		audit_errf(err, "%s: %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (b.p != NULL)
		sodium_memzero(b.p, b.len);
	audit_buf_free(&b);
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	return rc;
}

static int
rm_one(const char *path, const struct stat *st, int type, struct FTW *f)
{
	(void)st;
	(void)f;
	return type == FTW_DP ? rmdir(path) : unlink(path);
}

/* Run a program of the host to its end: 0 when it exited 0. */
static int
run(char *const argv[], const char *errpath, struct audit_err *err)
{
	int status, fd;
	pid_t pid;

	if ((pid = fork()) < 0)
		return audit_errf(err, "fork: %s", strerror(errno));
	if (pid == 0) {
		if ((fd = open("/dev/null", O_RDWR)) >= 0)
			dup2(fd, 0);
		if ((fd = open(errpath, O_WRONLY | O_CREAT | O_APPEND,
		    0600)) >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return audit_errf(err, "%s: %s", argv[0],
			    strerror(errno));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return audit_errf(err, "%s failed (%s %d; see %s)", argv[0],
		    WIFEXITED(status) ? "exit" : "signal", WIFEXITED(status) ?
		    WEXITSTATUS(status) : WTERMSIG(status), errpath);
	return 0;
}

/*
 * The scratch drive: ext4 of scratch_mib holding work (the guest's
 * commands' uid, with work.copy in it) and tmp, made by mke2fs(8) from
 * a directory.  No journal: the drive lives and dies with the pod.
 */
static int
make_scratch(const struct podspec *spec, const struct local_env *env,
    const char *vm, const char *errpath, size_t *nleft,
    struct audit_err *err)
{
	char stage[LOCAL_PATH_MAX + 16], sub[LOCAL_PATH_MAX + 32];
	char img[LOCAL_PATH_MAX + 16], size[32];
	char *argv[] = { "mke2fs", "-q", "-F", "-t", "ext4", "-O",
	    "^has_journal", "-E", "root_owner=0:0", "-d", stage, img, size,
	    NULL };
	int rc = -1, dst;

	if (audit_fit(stage, sizeof(stage), err, "%s/scratch.d", vm) != 0 ||
	    audit_fit(img, sizeof(img), err, "%s/scratch.img", vm) != 0 ||
	    audit_fit(size, sizeof(size), err, "%lluM",
	    (unsigned long long)spec->lim.scratch_mib) != 0)
		return -1;
	(void)nftw(stage, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	if (mkdir(stage, 0755) != 0)
		return audit_errf(err, "%s: %s", stage, strerror(errno));
	if (audit_fit(sub, sizeof(sub), err, "%s/tmp", stage) != 0)
		goto out;
	if (mkdir(sub, 01777) != 0 || chmod(sub, 01777) != 0) {
		audit_errf(err, "%s: %s", sub, strerror(errno));
		goto out;
	}
	if (audit_fit(sub, sizeof(sub), err, "%s/work", stage) != 0)
		goto out;
	if (mkdir(sub, 0755) != 0 || chown(sub, VM_RUN_UID, VM_RUN_GID) != 0) {
		audit_errf(err, "%s: %s", sub, strerror(errno));
		goto out;
	}
	if (spec->work[0] != '\0') {
		if (env->work_root < 0) {
			audit_errf(err, "work.copy: the node has no work root "
			    "(serve -W)");
			goto out;
		}
		if ((dst = open(sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
			audit_errf(err, "%s: %s", sub, strerror(errno));
			goto out;
		}
		if (work_copy(env->work_root, spec, dst, VM_RUN_UID,
		    VM_RUN_GID, nleft, err) != 0)
			goto out;
	}
	if (run(argv, errpath, err) != 0) {
		/* Most likely: what work.copy brought does not fit. */
		audit_errf(err, "the scratch drive cannot be made: %s (does "
		    "work.copy fit in scratch_mib?)", err->msg);
		goto out;
	}
	if (chown(img, env->uid, env->gid) != 0) {
		audit_errf(err, "%s: %s", img, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	(void)nftw(stage, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return rc;
}

/*
 * The node's filter on QEMU, on top of QEMU's own -sandbox: what a VMM
 * has no business doing, refused with EPERM.
 */
static const char *const vmm_denied[] = {
	"ptrace", "mount", "umount2", "pivot_root", "chroot", "kexec_load",
	"kexec_file_load", "init_module", "finit_module", "delete_module",
	"bpf", "perf_event_open", "keyctl", "add_key", "request_key",
	"unshare", "setns", "process_vm_readv", "process_vm_writev",
	"open_by_handle_at", "fanotify_init", "swapon", "swapoff", "reboot",
	"syslog", "acct", "settimeofday", "clock_settime", "adjtimex",
	"quotactl", "mount_setattr", "move_mount", "open_tree", "fsopen",
	"fsmount", "fsconfig", "fspick", "setuid", "setgid", "setreuid",
	"setregid", "setresuid", "setresgid", "setgroups", "personality",
	"userfaultfd", "lookup_dcookie",
};

/*
 * The VMM's socket, vm/name: whole, and short enough for a socket's
 * address, else the pod is refused with the path named (a cut one would
 * be another socket).
 */
int
vm_sock_path(const char *vm, const char *name, char *out, size_t outsz,
    struct audit_err *err)
{
	struct sockaddr_un sa;
	char path[PATH_MAX];

	if (audit_fit(path, sizeof(path), err, "%s/%s", vm, name) != 0 ||
	    sockaddr_un_fill(&sa, path, err) != 0 ||
	    audit_fit(out, outsz, err, "%s", path) != 0)
		return -1;
	return 0;
}

/*
 * The VMM's socket at path, in <dir>/vm, which the VMM's uid owns and
 * so could change between a check and a connect: held by an O_PATH
 * descriptor that follows no link, checked there (a socket of uid), and
 * named for connect(2) and the VMM's own socket protocols through
 * /proc/self/fd (*proc), so that what is checked is what is connected
 * to, never a link or another socket put in its place meanwhile.  The
 * descriptor, which the caller closes once connected, or -1: errno
 * ENOENT while the VMM has made no socket yet, EPERM when what is there
 * is not its socket (err says which).
 */
int
vm_sock_pin(const char *path, uid_t uid, char *proc, size_t procsz,
    struct audit_err *err)
{
	struct stat st;
	int fd, saved;

	if ((fd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		saved = errno;
		audit_errf(err, "%s: %s", path, strerror(saved));
		errno = saved;
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode) || st.st_uid != uid ||
	    audit_fit(proc, procsz, NULL, "/proc/self/fd/%d", fd) != 0) {
		close(fd);
		audit_errf(err, "%s: not the VMM's socket (a socket of the "
		    "pods' uid)", path);
		errno = EPERM;
		return -1;
	}
	return fd;
}

/* A connection to the VMM's socket at path (vm_sock_pin), blocking; or
 * -1, errno as vm_sock_pin's or connect(2)'s (ECONNREFUSED: it does not
 * listen yet). */
int
vm_sock_connect(const char *path, uid_t uid, struct audit_err *err)
{
	struct sockaddr_un sa;
	char proc[64];
	int pin, fd = -1, saved;

	if ((pin = vm_sock_pin(path, uid, proc, sizeof(proc), err)) < 0)
		return -1;
	if (sockaddr_un_fill(&sa, proc, err) == 0 &&
	    ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)) {
		saved = errno;
		if (fd >= 0)
			close(fd);
		fd = -1;
		audit_errf(err, "%s: %s", path, strerror(saved));
		errno = saved;
	}
	saved = errno;
	close(pin);
	errno = saved;
	return fd;
}

static int
vmm_filter(void)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int rc = ctx == NULL ? -ENOMEM : 0;

	for (size_t i = 0; rc == 0 && i < sizeof(vmm_denied) /
	    sizeof(vmm_denied[0]); i++) {
		int nr = seccomp_syscall_resolve_name(vmm_denied[i]);

		if (nr != __NR_SCMP_ERROR)
			rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
	}
	/* Sockets QEMU needs: the channel's (AF_UNIX).  No network. */
	if (rc == 0)
		rc = syscalls_deny_net(ctx);
	if (rc == 0)
		rc = seccomp_load(ctx);
	if (ctx != NULL)
		seccomp_release(ctx);
	return rc;
}

/* In the child, before exec: say why not on errfd, and end. */
static void __attribute__((noreturn))
vmm_fail(int errfd, const char *what)
{
	char msg[256];
	int n = snprintf(msg, sizeof(msg), "%s: %s", what, strerror(errno));

	if (n > 0)
		(void)!write(errfd, msg, (size_t)n < sizeof(msg) ? (size_t)n :
		    sizeof(msg) - 1);
	_exit(127);
}

/* In the child: its cgroup, its session, stdin /dev/null, stdout and
 * stderr the node's pipes to outpath and errpath (logs, drain.c). */
static void
vmm_child_io(const struct vmm_spec *vs, struct sandbox *sb, int errfd,
    const int logs[2])
{
	struct audit_err e;
	int fd;

	if (cgroup_enter(&sb->cg, getpid(), &e) != 0) {
		errno = EPERM;
		vmm_fail(errfd, e.msg);
	}
	if (setsid() < 0)
		vmm_fail(errfd, "setsid");
	if ((fd = open("/dev/null", O_RDWR)) < 0 || dup2(fd, 0) != 0)
		vmm_fail(errfd, "/dev/null");
	if (dup2(logs[0], 1) != 1 || dup2(logs[1], 2) != 2)
		vmm_fail(errfd, vs->errpath);
	if (syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC) != 0)
		vmm_fail(errfd, "close_range");
}

/* In the child: the pod's uid, death with the node unless the VMM
 * outlives it, the filter, exec. */
static void __attribute__((noreturn))
vmm_child(char *const argv[], const struct vmm_spec *vs, struct sandbox *sb,
    int errfd, const int logs[2], pid_t parent)
{
	vmm_child_io(vs, sb, errfd, logs);
	if (geteuid() == 0 && (setgroups(0, NULL) != 0 ||
	    setresgid(vs->gid, vs->gid, vs->gid) != 0 ||
	    setresuid(vs->uid, vs->uid, vs->uid) != 0))
		vmm_fail(errfd, "dropping to the pod's uid");
	if (geteuid() == 0 && vs->uid != 0) {
		errno = EPERM;
		vmm_fail(errfd, "still root");
	}
	/* After the uid changed, which clears it; the node may have
	 * gone before.  A VMM outlives the node, which takes it back. */
	if ((!vs->outlives && prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) ||
	    getppid() != parent)
		vmm_fail(errfd, "the node is gone");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		vmm_fail(errfd, "no_new_privs");
	if ((errno = -vmm_filter()) != 0)
		vmm_fail(errfd, "the node's seccomp filter");
	execv(argv[0], argv);
	vmm_fail(errfd, argv[0]);
}

/*
 * In the parent: the child's pidfd, and its word on errfd: nothing when
 * the exec happened (the pipe closes on exec).  Otherwise it is killed,
 * reaped and its cgroup removed.
 */
static int
vmm_started(const char *prog, pid_t pid, int errfd, struct sandbox *sb,
    struct audit_err *err)
{
	char msg[256];
	ssize_t n;
	int status;

	sb->pid = pid;
	sb->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	while ((n = read(errfd, msg, sizeof(msg) - 1)) < 0 && errno == EINTR)
		;
	close(errfd);
	if (n <= 0 && sb->pidfd >= 0)
		return 0;
	if (n > 0) {
		msg[n] = '\0';
		audit_errf(err, "%s: %s", prog, msg);
	} else
		audit_errf(err, "pidfd_open: %s", strerror(errno));
	kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	sb->pid = 0;
	if (sb->pidfd >= 0)
		close(sb->pidfd);
	sb->pidfd = -1;
	cgroup_remove(&sb->cg);
	return -1;
}

static void
vmm_logs_close(int logs[2])
{
	if (logs[0] >= 0)
		close(logs[0]);
	if (logs[1] >= 0 && logs[1] != logs[0])
		close(logs[1]);
	logs[0] = logs[1] = -1;
}

/*
 * The VMM's stdout and stderr: pipes to outpath and errpath, the node
 * writing at most POD_LOG_MAX of each (drain.c); one pipe to errpath for
 * both when there is no outpath.
 */
static int
vmm_logs(const struct vmm_spec *vs, int logs[2], struct audit_err *err)
{
	if ((logs[1] = drain_open(vs->errpath, vs->dir, err)) < 0)
		return -1;
	if (vs->outpath == NULL) {
		logs[0] = logs[1];
		return 0;
	}
	if ((logs[0] = drain_open(vs->outpath, vs->dir, err)) < 0) {
		vmm_logs_close(logs);
		return -1;
	}
	return 0;
}

/*
 * Fork and execute a VMM: its own cgroup, the pod's uid, no new
 * privileges, the node's filter; stdin /dev/null, stdout and stderr to
 * outpath and errpath, through the node (vmm_logs).  It dies with the
 * node unless vs->outlives.  Filled: vm->sb.
 */
int
vmm_start(char *const argv[], const struct vmm_spec *vs, struct sandbox *sb,
    struct audit_err *err)
{
	int errp[2], logs[2] = { -1, -1 };
	pid_t pid, parent = getpid();

	memset(sb, 0, sizeof(*sb));
	sb->pidfd = -1;
	if (vmm_logs(vs, logs, err) != 0)
		return -1;
	if (cgroup_create(&sb->cg, vs->cgroup, &vs->lim, err) != 0) {
		vmm_logs_close(logs);
		return -1;
	}
	if (pipe2(errp, O_CLOEXEC) != 0) {
		audit_errf(err, "pipe: %s", strerror(errno));
		vmm_logs_close(logs);
		cgroup_remove(&sb->cg);
		return -1;
	}
	if ((pid = fork()) < 0) {
		audit_errf(err, "fork: %s", strerror(errno));
		close(errp[0]);
		close(errp[1]);
		vmm_logs_close(logs);
		cgroup_remove(&sb->cg);
		return -1;
	}
	if (pid == 0) {
		close(errp[0]);
		vmm_child(argv, vs, sb, errp[1], logs, parent);
	}
	close(errp[1]);
	/* The VMM holds the pipes' write ends now: theirs alone. */
	vmm_logs_close(logs);
	return vmm_started(argv[0], pid, errp[0], sb, err);
}

/* Where a VM pod's files go, each path checked to fit. */
static int
vm_paths_fill(const struct podspec *spec, const struct local_env *env,
    const char *dir, struct local_pod *pod, struct vm_paths *vp,
    char *base, size_t basesz, struct audit_err *err)
{
	if (audit_fit(pod->name, sizeof(pod->name), err, "%s",
	    spec->name) != 0 ||
	    audit_fit(pod->cgroup, sizeof(pod->cgroup), err, "%s.%08x",
	    spec->name, (unsigned)randombytes_random()) != 0 ||
	    audit_fit(pod->dir, sizeof(pod->dir), err, "%s", dir) != 0 ||
	    audit_fit(vp->vm, sizeof(vp->vm), err, "%s/vm", dir) != 0 ||
	    audit_fit(vp->errpath, sizeof(vp->errpath), err, "%s/vmm.err",
	    dir) != 0 ||
	    audit_fit(vp->kernel, sizeof(vp->kernel), err, "%s/vmlinux",
	    env->guest) != 0 ||
	    audit_fit(base, basesz, err, "%s/initramfs.cpio",
	    env->guest) != 0 ||
	    audit_fit(vp->root, sizeof(vp->root), err, "%s/%s.squashfs",
	    env->guest, spec->image) != 0 ||
	    audit_fit(vp->initrd, sizeof(vp->initrd), err, "%s/initrd",
	    vp->vm) != 0 ||
	    audit_fit(vp->scratch, sizeof(vp->scratch), err, "%s/scratch.img",
	    vp->vm) != 0 ||
	    vm_sock_path(vp->vm, strcmp(spec->driver, "firecracker") == 0 ?
	    "fc.sock" : "chan.sock", vp->sock, sizeof(vp->sock), err) != 0)
		return -1;
	return 0;
}

/* The pod file, and the authority keys, into the initramfs. */
static int
vm_initrd(const struct podspec *spec, const struct local_env *env,
    const char *base, const struct vm_paths *vp, struct audit_err *err)
{
	char *podfile = NULL;
	size_t podlen;
	int rc;

	if ((podfile = local_pod_file(spec, VM_RUN_UID, VM_RUN_GID, &podlen,
	    err)) == NULL)
		rc = -1;
	else
		rc = make_initrd(base, vp->initrd, podfile, podlen,
		    env->trust_text, env->trust_len, err);
	free(podfile);
	return rc;
}

/* What both drivers make: the directory, the initramfs, the scratch. */
int
vm_files(const struct podspec *spec, const struct local_env *env,
    const char *dir, struct local_pod *pod, struct vm_paths *vp,
    struct audit_err *err)
{
	char base[LOCAL_PATH_MAX + 32];

	memset(pod, 0, sizeof(*pod));
	pod->chan = -1;
	pod->sb.pidfd = -1;
	if (env->guest == NULL)
		return audit_errf(err, "the VM drivers need serve -G (the guest "
		    "image)");
	if (vm_paths_fill(spec, env, dir, pod, vp, base, sizeof(base), err) != 0)
		return -1;
	if ((mkdir(dir, 0711) != 0 && errno != EEXIST) || chmod(dir, 0711) !=
	    0)
		return audit_errf(err, "%s: %s", dir, strerror(errno));
	(void)nftw(vp->vm, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	if (mkdir(vp->vm, 0700) != 0)
		return audit_errf(err, "%s: %s", vp->vm, strerror(errno));
	if (access(vp->kernel, R_OK) != 0 || access(base, R_OK) != 0)
		return audit_errf(err, "%s: the guest image is not there (make "
		    "guest)", env->guest);
	if (access(vp->root, R_OK) != 0)
		return audit_errf(err, "image: %s: %s", vp->root,
		    strerror(errno));
	if (vm_initrd(spec, env, base, vp, err) != 0 ||
	    make_scratch(spec, env, vp->vm, vp->errpath,
	    &pod->work_left_out, err) != 0)
		return -1;
	if (chown(vp->initrd, env->uid, env->gid) != 0 ||
	    chown(vp->vm, env->uid, env->gid) != 0)
		return audit_errf(err, "%s: %s", vp->vm, strerror(errno));
	return 0;
}

/* The VMM's cgroup and uid: the pod's, and room for the VMM itself. */
void
vmm_limits(const struct podspec *spec, const struct local_env *env,
    const struct local_pod *pod, const struct vm_paths *vp,
    struct vmm_spec *vs)
{
	memset(vs, 0, sizeof(*vs));
	vs->cgroup = pod->cgroup;
	vs->lim = spec->lim;
	vs->lim.memory_mib += VMM_OVERHEAD_MIB;
	vs->lim.pids = VMM_PIDS;
	vs->uid = env->uid;
	vs->gid = env->gid;
	vs->errpath = vp->errpath;
	vs->dir = pod->dir;
}

/*
 * Firecracker, alone (not under its jailer: see nucleus-pod(5)), from
 * the configuration file the node writes, its API socket off.
 */
static int
fc_launch(const struct podspec *spec, const struct local_env *env,
    const char *dir, struct local_pod *pod, struct audit_err *err)
{
	struct vm_paths vp;
	struct fc_files ff;
	struct fc_exec fx = { 0 };
	struct fc_cmd cmd;
	struct vmm_spec vs;
	char uds[sizeof(vp.vm) + 16], conf[sizeof(vp.vm) + 32];
	char append[512];
	json_t *cfg;
	int rc;

	if (env->firecracker == NULL || !env->kvm)
		return audit_errf(err, "the firecracker driver needs firecracker "
		    "on PATH and a /dev/kvm that runs a plain guest");
	if (vm_files(spec, env, dir, pod, &vp, err) != 0)
		return -1;
	if (audit_fit(uds, sizeof(uds), err, "%s", vp.sock) != 0)
		return -1;
	/* With "network": the guest's streams to the host's vsock port
	 * (fcegress.c). */
	if (spec->network != NULL)
		rc = snprintf(append, sizeof(append), "%s -- -I -v %d -e %d",
		    VM_APPEND, VM_VSOCK_PORT, VM_EGRESS_VSOCK_PORT);
	else
		rc = snprintf(append, sizeof(append), "%s -- -I -v %d",
		    VM_APPEND, VM_VSOCK_PORT);
	if (rc < 0 || (size_t)rc >= sizeof(append))
		return audit_errf(err, "the kernel's arguments are too long");
	ff.kernel = vp.kernel;
	ff.initrd = vp.initrd;
	ff.root = vp.root;
	ff.scratch = vp.scratch;
	ff.vsock = uds;
	ff.boot_args = append;
	if ((cfg = fc_config(spec, &ff, err)) == NULL)
		return -1;
	rc = fc_config_write(vp.vm, cfg, env->uid, env->gid, conf,
	    sizeof(conf), err);
	json_decref(cfg);
	fx.firecracker = env->firecracker;
	fx.uid = env->uid;
	fx.gid = env->gid;
	if (rc != 0 || fc_argv(&cmd, &fx, spec->name, conf, err) != 0)
		return -1;
	vmm_limits(spec, env, pod, &vp, &vs);
	vs.outlives = 1;
	return vmm_start(cmd.argv, &vs, &pod->sb, err);
}

/*
 * Make the pod's files and start its VMM.  On success pod->sb is the VMM
 * and pod->chan is -1: pods.c connects (vm_connect) once the guest
 * listens.
 */
int
vm_launch(const struct podspec *spec, const struct local_env *env,
    const char *dir, struct local_pod *pod, struct audit_err *err)
{
	if (strcmp(spec->driver, "firecracker") == 0)
		return fc_launch(spec, env, dir, pod, err);
	return qemu_launch(spec, env, dir, pod, err);
}

/*
 * One try at the guest's channel, within about ms: QEMU's socket, or
 * Firecracker's hybrid vsock to the guest's port.  A descriptor, or -1
 * while there is none yet.
 */
int
vm_connect(const struct podspec *spec, const struct local_pod *pod,
    uid_t uid, int ms)
{
	char path[PATH_MAX], proc[64];
	struct audit_err e;
	int pin, fd;

	if (strcmp(spec->driver, "firecracker") == 0) {
		if (vm_sock_path(pod->dir, "vm/fc.sock", path, sizeof(path),
		    &e) != 0 || (pin = vm_sock_pin(path, uid, proc,
		    sizeof(proc), &e)) < 0)
			return -1;
		fd = fc_vsock_connect(proc, path, VM_VSOCK_PORT, ms, &e);
		close(pin);
		return fd;
	}
	return qemu_connect(pod, uid, &e);
}

/*
 * The node's channel to a Firecracker guest's proxy: a connection to
 * its port through the VMM's socket (the pods' uid's, as Firecracker
 * made it), then the node's word on what its copy holds, as on a local
 * pod's chan.sock.  The proxy takes it once the node's connection
 * before has gone.  A descriptor, non-blocking; or -1.
 */
static int
fc_channel(const struct local_pod *pod, const struct local_env *env,
    int64_t seq, struct audit_err *err)
{
	char path[PATH_MAX], proc[64];
	int fd, pin;

	if (vm_sock_path(pod->dir, "vm/fc.sock", path, sizeof(path),
	    err) != 0 || (pin = vm_sock_pin(path, env->uid, proc,
	    sizeof(proc), err)) < 0)
		return -1;
	fd = fc_vsock_connect(proc, path, VM_VSOCK_PORT,
	    FC_RECONNECT_MS, err);
	close(pin);
	if (fd < 0)
		return -1;
	if (local_resume(fd, pod->log, seq, path, err) != 0 ||
	    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * The channel of a VM the node takes back (seq: the last record its
 * copy holds), or, under Firecracker, of one whose guest has just said
 * hello (seq -1): QEMU's socket again, or a new connection to the
 * Firecracker guest's port.  A descriptor, non-blocking; or -1.
 */
int
vm_reconnect(const struct podspec *spec, const struct local_pod *pod,
    const struct local_env *env, int64_t seq, struct audit_err *err)
{
	if (strcmp(spec->driver, "firecracker") == 0)
		return fc_channel(pod, env, seq, err);
	return qemu_reconnect(pod, env, seq, err);
}

/* For the node's start: how this host runs guests. */
void
vm_probe(struct local_env *env)
{
	env->tsc_khz = qemu_tsc_khz();
}
