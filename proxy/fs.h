/*
 * File operations (fs.c), and what they share with path resolution
 * (resolve.c) and the searches (search.c): one operation in progress.
 */
#ifndef NUCLEUS_FS_H
#define NUCLEUS_FS_H

#include <stddef.h>

#include <jansson.h>

#include "config.h"
#include "policy.h"
#include "resolve.h"

struct req;

/*
 * An operation: where it happens, under which limits, its request, its
 * normalized path, and why it failed.
 */
struct fsop {
	const struct resolve_root *root;
	const struct config *cfg;	/* limits, and run_as for ownership */
	struct req *r;
	enum policy_kind *kind;
	char	*why;
	size_t	 whysz;
	char	 norm[POLICY_PATH_MAX + 1];	/* the request's path */
	size_t	 normlen;
	int	 exact;		/* under an approval token: the path as
				   named, no symbolic link on its way */
};

int	 fs_fail(struct fsop *, enum policy_kind, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
#ifdef __clang_analyzer__
/* Always -1, for scan-build (see audit_errf() in audit.h). */
#define fs_fail(...)	(fs_fail(__VA_ARGS__), -1)
#endif
json_t	*fs_do(struct req *, enum policy_kind *, char *, size_t);
int	 fs_precheck(struct req *, enum policy_kind *, char *, size_t);

#endif /* NUCLEUS_FS_H */
