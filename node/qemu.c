/*
 * The QEMU driver: a pod is a microVM under qemu-system-x86_64.  Its
 * command line is built here (qemu_launch), from the files vm.c makes
 * (vm_files), and started as vm.c starts every VMM (vmm_start).
 *
 *	<dir>/vm/chan.sock	the channel: QEMU listens, the node connects;
 *				the guest's virtio serial port VM_PORT_NAME
 *	<dir>/vm/console.log	the guest's serial console, through the node
 *	<dir>/vm/egress.sock	with "network": the egress streams (QEMU
 *				listens, the node connects: vmegress.c); the
 *				guest's port VM_EGRESS_PORT_NAME
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
#include "sockaddr.h"

#define VM_PORT_NAME	"org.nucleus.channel"	/* the guest's serial port */
#define VM_EGRESS_PORT_NAME "org.nucleus.egress"	/* its egress streams */
#define VM_EGRESS_FD	"4"	/* where the guest's proxy has that port */

/* The host's TSC rate, which a guest under TCG must be told. */
unsigned
qemu_tsc_khz(void)
{
	char line[256];
	unsigned khz = 0;
	double mhz;
	FILE *f;

	if ((f = fopen("/sys/devices/system/cpu/cpu0/tsc_freq_khz", "re")) !=
	    NULL) {
		if (fscanf(f, "%u", &khz) != 1)
			khz = 0;
		fclose(f);
		if (khz > 0)
			return khz;
	}
	if ((f = fopen("/proc/cpuinfo", "re")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "cpu MHz : %lf", &mhz) == 1) {
			khz = (unsigned)(mhz * 1000);
			break;
		}
	fclose(f);
	return khz;
}

/* The formatted words of QEMU's command line, each sized for its path. */
struct qemu_words {
	char	 mem[32], smp[32], append[512], accel[32];
	char	 drive_root[LOCAL_PATH_MAX + POD_IMAGE_MAX + 16 + 64];
	char	 drive_scratch[LOCAL_PATH_MAX + 24 + 64];
	char	 chardev[LOCAL_PATH_MAX + 16 + 64];	/* vm_paths.sock */
	char	 console[LOCAL_PATH_MAX + 8 + 32];	/* vm_paths.vm */
	char	 egress[LOCAL_PATH_MAX + 16 + 64];	/* vm_paths.vm */
};

/*
 * The kernel's arguments.  loglevel=3: the console is a log, which only
 * what is critical or worse reaches (not each OOM kill a command
 * provokes), and init's own lines; panic=-1 with -no-reboot: QEMU ends
 * when the guest does.  Under TCG the TSC must be given, and the CPU's
 * random numbers trusted, or the boot stalls.
 */
static int
qemu_append(const struct podspec *spec, const struct local_env *env,
    char *append, size_t size, struct audit_err *err)
{
	const char *egress = spec->network != NULL ? " -E " VM_EGRESS_FD : "";
	int rc;

	if (env->kvm)
		rc = snprintf(append, size, "%s -- -I%s", VM_APPEND, egress);
	else
		rc = snprintf(append, size, "%s tsc=reliable "
		    "tsc_early_khz=%u -- -I%s", VM_APPEND, env->tsc_khz,
		    egress);
	if (rc < 0 || (size_t)rc >= size)
		return audit_errf(err, "the kernel's arguments are too long");
	return 0;
}

static int
qemu_words_fill(const struct podspec *spec, const struct local_env *env,
    const struct vm_paths *vp, struct qemu_words *w, struct audit_err *err)
{
	unsigned cpus = (spec->lim.cpus_milli + 999) / 1000;
	char path[PATH_MAX];

	if (audit_fit(w->mem, sizeof(w->mem), err, "%llu",
	    (unsigned long long)spec->lim.memory_mib) != 0 ||
	    audit_fit(w->smp, sizeof(w->smp), err, "%u", cpus > 0 ? cpus :
	    1) != 0 ||
	    qemu_append(spec, env, w->append, sizeof(w->append), err) != 0)
		return -1;
	if (audit_fit(w->drive_root, sizeof(w->drive_root), err, "file=%s,"
	    "if=none,id=root,format=raw,readonly=on", vp->root) != 0 ||
	    audit_fit(w->drive_scratch, sizeof(w->drive_scratch), err,
	    "file=%s,if=none,id=scratch,format=raw,discard=unmap",
	    vp->scratch) != 0 ||
	    audit_fit(w->chardev, sizeof(w->chardev), err, "socket,id=chan,"
	    "path=%s,server=on,wait=off", vp->sock) != 0 ||
	    audit_fit(w->console, sizeof(w->console), err, "%s/console.log",
	    vp->vm) != 0 ||
	    audit_fit(w->egress, sizeof(w->egress), err, "socket,id=egress,"
	    "path=%s/egress.sock,server=on,wait=off", vp->vm) != 0)
		return -1;
	/* Its socket's path whole, or the pod refused, as the channel's. */
	if (spec->network != NULL && vm_sock_path(vp->vm, "egress.sock",
	    path, sizeof(path), err) != 0)
		return -1;
	if (env->kvm)
		return audit_fit(w->accel, sizeof(w->accel), err, "kvm");
	return audit_fit(w->accel, sizeof(w->accel), err, "tcg,tb-size=%d",
	    QEMU_TB_MIB);
}

/*
 * QEMU's command line: the microvm machine, no default devices, no
 * network, its -sandbox on; the kernel and the pod's initramfs; the
 * root image read-only and the scratch drive as virtio-blk; the channel
 * a virtio serial port whose other end is a Unix socket QEMU listens on
 * (chan.sock); the console QEMU's standard output, which the node
 * writes to console.log, POD_LOG_MAX bytes at most (drain.c).  KVM where a plain guest runs on it,
 * otherwise TCG with the host's TSC rate given to the guest.  The argv
 * is kept whole, its formatted words made before (qemu_words_fill): the
 * command line reads in one place.
 */
int
qemu_launch(const struct podspec *spec, const struct local_env *env,
    const char *dir, struct local_pod *pod, struct audit_err *err)
{
	struct vm_paths vp;
	struct qemu_words w;
	struct vmm_spec vs;

	if (env->qemu == NULL)
		return audit_errf(err, "the qemu driver needs "
		    "qemu-system-x86_64 on PATH, or serve -Q");
	if (vm_files(spec, env, dir, pod, &vp, err) != 0 ||
	    qemu_words_fill(spec, env, &vp, &w, err) != 0)
		return -1;
	{
		char *argv[] = { (char *)env->qemu,
		    "-M", "microvm,acpi=on,rtc=on",
		    "-accel", w.accel,
		    "-cpu", env->kvm ? "host" : "max",
		    "-m", w.mem, "-smp", w.smp,
		    "-nodefaults", "-no-user-config", "-nographic",
		    "-no-reboot",
		    "-sandbox", "on,obsolete=deny,elevateprivileges=deny,"
		    "spawn=deny,resourcecontrol=deny",
		    "-kernel", vp.kernel, "-initrd", vp.initrd,
		    "-append", w.append,
		    "-serial", "stdio",
		    "-drive", w.drive_root, "-device",
		    "virtio-blk-device,drive=root",
		    "-drive", w.drive_scratch, "-device",
		    "virtio-blk-device,drive=scratch",
		    "-device", "virtio-serial-device,max_ports=3",
		    "-chardev", w.chardev, "-device",
		    "virtserialport,chardev=chan,name=" VM_PORT_NAME,
		    NULL, NULL, NULL, NULL, NULL };
		/* With "network": the egress streams' port, beside it. */
		if (spec->network != NULL) {
			size_t n = sizeof(argv) / sizeof(argv[0]) - 5;

			argv[n] = "-chardev";
			argv[n + 1] = w.egress;
			argv[n + 2] = "-device";
			argv[n + 3] = "virtserialport,chardev=egress,name="
			    VM_EGRESS_PORT_NAME;
		}

		vmm_limits(spec, env, pod, &vp, &vs);
		vs.outpath = w.console;
		vs.outlives = 1;
		return vmm_start(argv, &vs, &pod->sb, err);
	}
}

/* One try at QEMU's channel socket: a descriptor, or -1 while it is not
 * listening yet. */
int
qemu_connect(const struct local_pod *pod, uid_t uid, struct audit_err *err)
{
	char path[PATH_MAX];

	if (vm_sock_path(pod->dir, "vm/chan.sock", path, sizeof(path),
	    err) != 0)
		return -1;
	return vm_sock_connect(path, uid, err);
}

/*
 * A new node's connection to a VM it takes back: QEMU's socket, the
 * pod's uid's as QEMU made it, tried until QEMU listens again (it does
 * once it has seen the old node's connection go), then the node's word
 * on what its copy holds.  A descriptor, non-blocking; or -1.
 */
int
qemu_reconnect(const struct local_pod *pod, const struct local_env *env,
    int64_t seq, struct audit_err *err)
{
	char path[PATH_MAX];
	int fd = -1;

	if (vm_sock_path(pod->dir, "vm/chan.sock", path, sizeof(path),
	    err) != 0)
		return -1;
	for (int waited = 0; (fd = qemu_connect(pod, env->uid, err)) < 0 &&
	    errno != EPERM && waited < QEMU_RECONNECT_MS;
	    waited += VM_START_POLL_MS)
		usleep(VM_START_POLL_MS * 1000);
	if (fd < 0 && errno == EPERM)
		return -1;	/* not QEMU's channel: err says so */
	if (fd < 0)
		return audit_errf(err, "%s: QEMU does not take a connection",
		    path);
	if (local_resume(fd, pod->log, seq, path, err) != 0 ||
	    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}
