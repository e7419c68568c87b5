/*
 * The QEMU driver: a pod is a microVM under qemu-system-x86_64.  Its
 * command line is built here (qemu_launch), from the files vm.c makes
 * (vm_files), and started as vm.c starts every VMM (vmm_start).
 *
 *	<dir>/vm/chan.sock	the channel: QEMU listens, the node connects;
 *				the guest's virtio serial port VM_PORT_NAME
 *	<dir>/vm/console.log	the guest's serial console
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "node.h"
#include "sockaddr.h"

#define VM_PORT_NAME	"org.nucleus.channel"	/* the guest's serial port */

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

/*
 * QEMU's command line: the microvm machine, no default devices, no
 * network, its -sandbox on; the kernel and the pod's initramfs; the
 * root image read-only and the scratch drive as virtio-blk; the channel
 * a virtio serial port whose other end is a Unix socket QEMU listens on
 * (chan.sock); the console a file.  KVM where a plain guest runs on it,
 * otherwise TCG with the host's TSC rate given to the guest.  Long, for
 * the argv is kept whole: QEMU's command line reads in one place.
 */
int
qemu_launch(const struct podspec *spec, const struct local_env *env,
    const char *dir, struct local_pod *pod, struct audit_err *err)
{
	struct vm_paths vp;
	char mem[32], smp[32], append[512], accel[32];
	char drive_root[sizeof(vp.root) + 64];
	char drive_scratch[sizeof(vp.scratch) + 64];
	char chardev[sizeof(vp.vm) + 64], serial[sizeof(vp.vm) + 32];
	unsigned cpus = (spec->lim.cpus_milli + 999) / 1000;
	struct vmm_spec vs;
	int rc;

	if (env->qemu == NULL)
		return audit_errf(err, "the qemu driver needs "
		    "qemu-system-x86_64 on PATH, or serve -Q");
	if (vm_files(spec, env, dir, pod, &vp, err) != 0)
		return -1;
	if (audit_fit(mem, sizeof(mem), err, "%llu",
	    (unsigned long long)spec->lim.memory_mib) != 0 ||
	    audit_fit(smp, sizeof(smp), err, "%u", cpus > 0 ? cpus : 1) != 0)
		return -1;
	/* loglevel=3: the console is a file, which only what is critical
	 * or worse reaches (not each OOM kill a command provokes), and
	 * init's own lines; panic=-1 with -no-reboot: QEMU
	 * ends when the guest does.  Under TCG the TSC must be given, and
	 * the CPU's random numbers trusted, or the boot stalls. */
	if (env->kvm)
		rc = snprintf(append, sizeof(append), "%s -- -I", VM_APPEND);
	else
		rc = snprintf(append, sizeof(append), "%s tsc=reliable "
		    "tsc_early_khz=%u -- -I", VM_APPEND, env->tsc_khz);
	if (rc < 0 || (size_t)rc >= sizeof(append))
		return audit_errf(err, "the kernel's arguments are too long");
	if (audit_fit(drive_root, sizeof(drive_root), err, "file=%s,if=none,"
	    "id=root,format=raw,readonly=on", vp.root) != 0 ||
	    audit_fit(drive_scratch, sizeof(drive_scratch), err, "file=%s,"
	    "if=none,id=scratch,format=raw,discard=unmap", vp.scratch) != 0 ||
	    audit_fit(chardev, sizeof(chardev), err, "socket,id=chan,path=%s,"
	    "server=on,wait=off", vp.sock) != 0 ||
	    audit_fit(serial, sizeof(serial), err, "file:%s/console.log",
	    vp.vm) != 0)
		return -1;
	if (env->kvm)
		rc = audit_fit(accel, sizeof(accel), err, "kvm");
	else
		rc = audit_fit(accel, sizeof(accel), err, "tcg,tb-size=%d",
		    QEMU_TB_MIB);
	if (rc != 0)
		return -1;
	{
		char *argv[] = { (char *)env->qemu,
		    "-M", "microvm,acpi=on,rtc=on",
		    "-accel", accel,
		    "-cpu", env->kvm ? "host" : "max",
		    "-m", mem, "-smp", smp,
		    "-nodefaults", "-no-user-config", "-nographic",
		    "-no-reboot",
		    "-sandbox", "on,obsolete=deny,elevateprivileges=deny,"
		    "spawn=deny,resourcecontrol=deny",
		    "-kernel", vp.kernel, "-initrd", vp.initrd,
		    "-append", append,
		    "-serial", serial,
		    "-drive", drive_root, "-device",
		    "virtio-blk-device,drive=root",
		    "-drive", drive_scratch, "-device",
		    "virtio-blk-device,drive=scratch",
		    "-device", "virtio-serial-device,max_ports=2",
		    "-chardev", chardev, "-device",
		    "virtserialport,chardev=chan,name=" VM_PORT_NAME,
		    NULL };

		vmm_limits(spec, env, pod, &vp, &vs);
		return vmm_start(argv, &vs, &pod->sb, err);
	}
}

/* One try at QEMU's channel socket: a descriptor, or -1 while it is not
 * listening yet. */
int
qemu_connect(const struct local_pod *pod)
{
	struct sockaddr_un sa;
	struct audit_err e;
	char path[PATH_MAX];
	int fd;

	if (vm_sock_path(pod->dir, "vm/chan.sock", path, sizeof(path),
	    &e) != 0 || sockaddr_un_fill(&sa, path, &e) != 0)
		return -1;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}
