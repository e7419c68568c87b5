/*
 * nucleus-node doctor's parts: the probe machinery and the report
 * (doctor.c), the checks (checks.c), the KVM probe (kvm.c).
 */
#ifndef NUCLEUS_NODE_DOCTOR_H
#define NUCLEUS_NODE_DOCTOR_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <stdint.h>
#include <time.h>
#include <sys/types.h>

#include <jansson.h>

#define PROBE_MS	5000	/* for any child: a probe, a program */
#define TEXT_MAX	512	/* what one check says */
#define VERDICT_MAX	(2 * TEXT_MAX)	/* a driver's verdict: its checks' */
#define OUTPUT_MAX	65536	/* of a program's output, kept */

enum {
	C_NAMESPACES, C_PIDFD, C_CGROUP, C_SECCOMP, C_LANDLOCK, C_KVM,
	C_VSOCK, C_QEMU, C_FIRECRACKER, C_COUNT
};

struct check {
	const char *name;
	void	(*run)(struct check *);
	int	 ok;
	char	 text[TEXT_MAX];	/* what was found, or why not */
	json_t	*facts;			/* more, for -j */
};

typedef int (*probe_fn)(const void *, char *, size_t);

/* Append to buf, cut at its size; -1, so that a probe can fail with it. */
static inline int __attribute__((format(printf, 3, 4)))
say(char *buf, size_t size, const char *fmt, ...)
{
	size_t len = strnlen(buf, size);
	va_list ap;

	if (len + 1 >= size)
		return -1;
	va_start(ap, fmt);
	(void)vsnprintf(buf + len, size - len, fmt, ap);
	va_end(ap);
	return -1;
}
#ifdef __clang_analyzer__
/* Always -1, for scan-build (see audit_errf() in audit.h). */
#define say(...)	(say(__VA_ARGS__), -1)
#endif

/* doctor.c: the probe machinery */
int	 doctor_probe(probe_fn, const void *, char *, size_t);
int	 doctor_run_program(const char *, char *const [], char *, size_t,
	    char *, size_t);
int	 doctor_version_of(const char *, char *, size_t, char *, size_t);

struct audit_keyring;

/* What serve checks before it starts, and serve -n (precheck.c). */
struct precheck {
	const char *dir, *keyfile, *keyring, *trust, *proxy;
	const char *guest;	/* -G, or NULL */
};

size_t	 node_precheck(const struct precheck *);
size_t	 node_roles_check(const char *, const struct audit_keyring *, int);

/* checks.c, kvm.c: one function per check */
void	 doctor_check_namespaces(struct check *);
void	 doctor_check_pidfd(struct check *);
void	 doctor_check_cgroup(struct check *);
void	 doctor_check_seccomp(struct check *);
void	 doctor_check_landlock(struct check *);
void	 doctor_check_kvm(struct check *);
void	 doctor_check_vsock(struct check *);
void	 doctor_check_qemu(struct check *);
void	 doctor_check_firecracker(struct check *);

#endif /* NUCLEUS_NODE_DOCTOR_H */
