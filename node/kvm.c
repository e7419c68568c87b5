/*
 * The KVM probe, for doctor and for serve -G: does a plain guest run on
 * /dev/kvm here, at the processor's speed?  In a child of its own
 * (doctor_probe), under a timer.
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

#include <linux/kvm.h>

#include "node.h"
#include "doctor.h"

/*
 * The KVM probe: a real-mode guest counts a loop down, writes a byte to
 * a port and halts.  Run by the processor, the loop takes well under a
 * millisecond; a KVM that emulates a plain guest's instructions (one
 * built for PVM guests only) takes hundreds.
 */
#define KVM_API		12
#define KVM_GUEST_ADDR	0x1000
#define KVM_PAGE	0x1000
#define KVM_PORT	0x10
#define KVM_START	0x01
#define KVM_VALUE	0x42
#define KVM_LOOPS	(1U << 18)
#define KVM_LOOP_MS_MAX	25	/* of CPU time, for KVM_LOOPS */
#define KVM_RUN_MS	2000	/* then KVM_RUN is interrupted */

static void
on_alarm(int sig)
{
	(void)sig;
}

/*
 * The guest: out KVM_START to KVM_PORT (an exit that the timing leaves
 * out: the first entry's setup is not the guest's speed), count
 * KVM_LOOPS down, out KVM_VALUE, hlt.
 */
static void
kvm_guest(uint8_t *mem)
{
	static const uint8_t code[] = {
		0xb0, KVM_START,	/* mov $KVM_START, %al */
		0xe6, KVM_PORT,		/* out %al, $KVM_PORT */
		0x66, 0xb9, 0, 0, 0, 0,	/* mov $KVM_LOOPS, %ecx */
		0x66, 0x49,		/* 1: dec %ecx */
		0x75, 0xfc,		/* jnz 1b */
		0xb0, KVM_VALUE,	/* mov $KVM_VALUE, %al */
		0xe6, KVM_PORT,		/* out %al, $KVM_PORT */
		0xf4,			/* hlt */
	};
	uint32_t loops = KVM_LOOPS;

	memcpy(mem, code, sizeof(code));
	memcpy(mem + 6, &loops, sizeof(loops));
}

/* KVM_RUN until the guest exits, or KVM_RUN_MS have passed. */
static int
kvm_run(int vcpu, char *msg, size_t msgsz)
{
	struct itimerval it = { .it_value = { KVM_RUN_MS / 1000,
	    KVM_RUN_MS % 1000 * 1000 } };

	setitimer(ITIMER_REAL, &it, NULL);
	if (ioctl(vcpu, KVM_RUN, 0) != 0)
		return errno == EINTR ? say(msg, msgsz, "it did not reach its "
		    "hlt in %d ms", KVM_RUN_MS) : say(msg, msgsz, "KVM_RUN: "
		    "%s", strerror(errno));
	memset(&it, 0, sizeof(it));
	setitimer(ITIMER_REAL, &it, NULL);
	return 0;
}

/* How a guest's exit other than the one expected reads. */
static int
kvm_exit_why(const struct kvm_run *run, char *msg, size_t msgsz)
{
	switch (run->exit_reason) {
	case KVM_EXIT_INTERNAL_ERROR:
		return say(msg, msgsz, "KVM_EXIT_INTERNAL_ERROR, suberror %u%s",
		    run->internal.suberror, run->internal.suberror ==
		    KVM_INTERNAL_ERROR_EMULATION ? " (an instruction it "
		    "cannot emulate)" : "");
	case KVM_EXIT_FAIL_ENTRY:
		return say(msg, msgsz, "KVM_EXIT_FAIL_ENTRY, reason %#llx",
		    (unsigned long long)
		    run->fail_entry.hardware_entry_failure_reason);
	case KVM_EXIT_SHUTDOWN:
		return say(msg, msgsz, "KVM_EXIT_SHUTDOWN (a triple fault)");
	default:
		return say(msg, msgsz, "unexpected exit %u", run->exit_reason);
	}
}

/* Run the guest to its next exit: an out of value to KVM_PORT? */
static int
kvm_out(int vcpu, struct kvm_run *run, uint8_t value, char *msg,
    size_t msgsz)
{
	if (kvm_run(vcpu, msg, msgsz) != 0)
		return -1;
	if (run->exit_reason != KVM_EXIT_IO)
		return kvm_exit_why(run, msg, msgsz);
	if (run->io.direction != KVM_EXIT_IO_OUT || run->io.port !=
	    KVM_PORT || run->io.size != 1 ||
	    ((uint8_t *)run)[run->io.data_offset] != value)
		return say(msg, msgsz, "it wrote something else than %#x to "
		    "port %#x", value, KVM_PORT);
	return 0;
}

/*
 * A VM with the guest's page at KVM_GUEST_ADDR and one vcpu about to
 * run it in real mode: the vcpu's fd, its run area in *run.
 */
static int
kvm_vm(struct kvm_run **run, char *msg, size_t msgsz)
{
	struct kvm_userspace_memory_region region;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	int kvm, vm, vcpu, size;
	uint8_t *mem;

	if ((kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC)) < 0 ||
	    (vm = ioctl(kvm, KVM_CREATE_VM, 0)) < 0)
		return say(msg, msgsz, "KVM_CREATE_VM: %s", strerror(errno));
	mem = mmap(NULL, KVM_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED |
	    MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return say(msg, msgsz, "mmap: %s", strerror(errno));
	kvm_guest(mem);
	memset(&region, 0, sizeof(region));
	region.guest_phys_addr = KVM_GUEST_ADDR;
	region.memory_size = KVM_PAGE;
	region.userspace_addr = (uint64_t)(uintptr_t)mem;
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) != 0)
		return say(msg, msgsz, "KVM_SET_USER_MEMORY_REGION: %s",
		    strerror(errno));
	if ((vcpu = ioctl(vm, KVM_CREATE_VCPU, 0)) < 0)
		return say(msg, msgsz, "KVM_CREATE_VCPU: %s", strerror(errno));
	if ((size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0)) <= 0 ||
	    (*run = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE,
	    MAP_SHARED, vcpu, 0)) == MAP_FAILED)
		return say(msg, msgsz, "the vcpu's run area: %s",
		    strerror(errno));
	/* Real mode, as at reset, but starting at KVM_GUEST_ADDR. */
	if (ioctl(vcpu, KVM_GET_SREGS, &sregs) != 0)
		return say(msg, msgsz, "KVM_GET_SREGS: %s", strerror(errno));
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	memset(&regs, 0, sizeof(regs));
	regs.rip = KVM_GUEST_ADDR;
	regs.rflags = 0x2;	/* bit 1 is always set */
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) != 0 ||
	    ioctl(vcpu, KVM_SET_REGS, &regs) != 0)
		return say(msg, msgsz, "setting the registers: %s",
		    strerror(errno));
	return vcpu;
}

/* Does the guest run, to its hlt, and at the processor's speed? */
static int
probe_kvm(const void *arg, char *msg, size_t msgsz)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	struct kvm_run *run = NULL;
	int64_t t0, ms;
	int vcpu;

	(void)arg;
	/* No SA_RESTART: the timer interrupts KVM_RUN. */
	sigaction(SIGALRM, &sa, NULL);
	if ((vcpu = kvm_vm(&run, msg, msgsz)) < 0 ||
	    kvm_out(vcpu, run, KVM_START, msg, msgsz) != 0)
		return -1;
	t0 = audit_now_ms(CLOCK_THREAD_CPUTIME_ID);
	if (kvm_out(vcpu, run, KVM_VALUE, msg, msgsz) != 0)
		return -1;
	ms = audit_now_ms(CLOCK_THREAD_CPUTIME_ID) - t0;
	if (kvm_run(vcpu, msg, msgsz) != 0)
		return -1;
	if (run->exit_reason != KVM_EXIT_HLT)
		return kvm_exit_why(run, msg, msgsz);
	if (ms >= KVM_LOOP_MS_MAX)
		return say(msg, msgsz, "it is emulated: %u loop iterations "
		    "took %lld ms of CPU, want under %d ms%s",
		    KVM_LOOPS, (long long)ms, KVM_LOOP_MS_MAX,
		    access("/sys/module/kvm_pvm", F_OK) == 0 ?
		    " (kvm_pvm is loaded: it runs PVM guests)" : "");
	return 0;
}

/*
 * For the VM drivers: does a plain guest run on /dev/kvm here?  1 yes,
 * 0 no (and why).
 */
int
kvm_usable(char *why, size_t whysz)
{
	int fd, api;

	if ((fd = open("/dev/kvm", O_RDWR | O_CLOEXEC)) < 0) {
		audit_fmt(why, whysz, "/dev/kvm: %s", strerror(errno));
		return 0;
	}
	api = ioctl(fd, KVM_GET_API_VERSION, 0);
	close(fd);
	if (api != KVM_API) {
		audit_fmt(why, whysz, "/dev/kvm: API %d, want %d", api,
		    KVM_API);
		return 0;
	}
	return doctor_probe(probe_kvm, NULL, why, whysz) == 0;
}

void
doctor_check_kvm(struct check *c)
{
	char why[TEXT_MAX];
	int fd, api;

	if ((fd = open("/dev/kvm", O_RDWR | O_CLOEXEC)) < 0) {
		audit_fmt(c->text, sizeof(c->text), "/dev/kvm: %s",
		    strerror(errno));
		return;
	}
	api = ioctl(fd, KVM_GET_API_VERSION, 0);
	close(fd);
	c->facts = json_pack("{s:i, s:b}", "api", api, "plain_guest", 0);
	if (api != KVM_API) {
		audit_fmt(c->text, sizeof(c->text), "/dev/kvm: API %d, want "
		    "%d", api, KVM_API);
		return;
	}
	if (doctor_probe(probe_kvm, NULL, why, sizeof(why)) != 0) {
		audit_fmt(c->text, sizeof(c->text), "/dev/kvm opens (API %d) "
		    "but a plain guest does not run: %s", api, why);
		return;
	}
	c->ok = 1;
	json_object_set_new(c->facts, "plain_guest", json_true());
	audit_fmt(c->text, sizeof(c->text), "/dev/kvm (API %d) runs a plain "
	    "guest", api);
}
