/*
 * The spawner (spawn.c): a process forked before the proxy has threads or
 * a seccomp filter, which starts commands for it.  They talk over a
 * SOCK_SEQPACKET socketpair: one message a request or an event, the
 * command's pipes and working directory passed as file descriptors.
 */
#ifndef NUCLEUS_SPAWN_H
#define NUCLEUS_SPAWN_H

#include <stdint.h>
#include <sys/types.h>

#include "config.h"

#define SPAWN_MSG_MAX	(POLICY_ARGV_BYTES_MAX + 1024)

enum spawn_type {
	SPAWN_RUN = 1,		/* proxy: start a command */
	SPAWN_KILL,		/* proxy: kill a job's processes */
	SPAWN_STARTED,		/* spawner: the command runs, as pid */
	SPAWN_FAILED,		/* spawner: it could not be started */
	SPAWN_EXITED		/* spawner: its process ended */
};

/* FAILED's status: no PID namespace of its own for the command. */
#define SPAWN_FAILED_CONTAIN	1

/* A run request: the header, then argv as NUL-terminated strings. */
struct spawn_msg {
	uint32_t type;
	uint32_t job;
	uint32_t argc;
	uint32_t timeout;	/* seconds, for RLIMIT_CPU */
	int32_t	 pid;		/* events */
	int32_t	 status;	/* EXITED: the wait(2) status; FAILED: */
				/* SPAWN_FAILED_CONTAIN, or 0 */
	int32_t	 error;		/* FAILED: an errno value */
	uint32_t len;		/* bytes of argv that follow */
};

struct spawn_facts {
	pid_t	 pid;
	int	 landlock_abi;	/* 0: commands run without Landlock */
	int	 seccomp;	/* 1: commands run under the filter */
};

int	 spawn_start(const struct config *, int *, struct spawn_facts *,
	    struct audit_err *);

#endif
