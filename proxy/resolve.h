/*
 * Paths beneath the work root (resolve.c): openat2 that cannot leave the
 * root, and the policy checked again on what was really opened, so that
 * no symbolic link leads to a blocked file.
 */
#ifndef NUCLEUS_RESOLVE_H
#define NUCLEUS_RESOLVE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "audit.h"
#include "policy.h"

struct fsop;

/* The work root, as every path beneath it is resolved and checked. */
struct resolve_root {
	int	 fd;		/* O_PATH, the start of every resolution */
	const char *path;	/* absolute, as /proc/self/fd names it */
	const struct policy *policy;	/* whose path rules apply */
};

int	 resolve_open_root(struct resolve_root *, const char *,
	    const struct policy *, struct audit_err *);
int	 resolve_open(const struct resolve_root *, const char *, uint64_t,
	    mode_t);
int	 resolve_error(struct fsop *, const char *);
int	 resolve_recheck(struct fsop *, int, char *);
int	 resolve_recheck_fd(const struct resolve_root *, int, const char *,
	    char *, enum policy_kind *, char *, size_t);
int	 resolve_checked(struct fsop *, uint64_t, char *);
int	 resolve_normalize(struct fsop *, const json_t *, int);
int	 resolve_exists(const struct resolve_root *, const char *,
	    size_t);
int	 resolve_join(char *, size_t, const char *, const char *)
	    __attribute__((warn_unused_result));
int	 resolve_hidden(const struct resolve_root *, const char *);
int	 resolve_parent(struct fsop *, char *, const char **);
int	 resolve_target(struct fsop *, const char *, const char *, char *);
int	 resolve_dangling(struct fsop *, int, const char *, const char *,
	    char *, char *, size_t);
int	 resolve_append(struct fsop *, int, const char *, const char *,
	    char *, int *);
int	 resolve_change(struct fsop *, int);

#endif /* NUCLEUS_RESOLVE_H */
