/*
 * The state file of nucleus-audit-verify; see statefile.c.
 */
#ifndef NUCLEUS_STATEFILE_H
#define NUCLEUS_STATEFILE_H

#include "audit.h"

struct state_entry {
	char	 log[AUDIT_LOGID_MAX + 1];
	char	 kid[AUDIT_KID_MAX + 1];
	uint8_t	 pk[AUDIT_PK_LEN];
	int64_t	 seq;
	int64_t	 ts;
	uint64_t lines;
	off_t	 end;
	uint8_t	 hash[AUDIT_HASH_LEN];
	uint8_t	 prefix[AUDIT_HASH_LEN];
	char	 pred[AUDIT_LOGID_MAX + 1];	/* log.open's predecessor */
	char	 next[AUDIT_LOGID_MAX + 1];	/* verified to its log.close,
				   which names this successor */
	int	 retired;	/* closed, and its successor verified from
				   its log.open: its file may go */
	char	 file[4096];	/* the file it was last verified in */
	int	 seen;		/* not saved: a file of this run holds it */
	int	 put;		/* not saved: remembered by this run */
};

struct state {
	size_t	 n;
	struct state_entry *v;
};

int	 state_lock(const char *, struct audit_err *);
int	 state_load(struct state *, const char *, struct audit_err *);
int	 state_save(const struct state *, const char *, struct audit_err *);
struct state_entry *state_find(struct state *, const char *);
int	 state_put(struct state *, const struct state_entry *);
void	 state_drop(struct state *, struct state_entry *);
void	 state_free(struct state *);

#endif
