/*
 * The process's long-lived secrets, tracked: secret keys (secret.c) and
 * keyrings' HMAC keys (keyring.c) are allocated here, in sodium_malloc
 * memory, so that a child forked from a daemon can wipe them all.  No
 * signing code: the verifier links it for its keyrings.
 */
#include <pthread.h>
#include <stdlib.h>

#include <sodium.h>

#include "audit.h"

/*
 * Every long-lived secret of the process (secret keys, keyrings' HMAC
 * keys), so that a child forked to become something else, a pod's init,
 * can wipe them all before it runs anything of its own: no pod process
 * may hold a secret of the node.
 */
struct secret {
	void	*p;
	size_t	 n;
	struct secret *next;
};
static struct secret *secrets;
static pthread_mutex_t secrets_lock = PTHREAD_MUTEX_INITIALIZER;

/* n bytes of sodium_malloc memory, tracked; NULL when out of memory. */
void *
audit_secret_alloc(size_t n)
{
	struct secret *s;

	if ((s = malloc(sizeof(*s))) == NULL)
		return NULL;
	if ((s->p = sodium_malloc(n)) == NULL) {
		free(s);
		return NULL;
	}
	s->n = n;
	pthread_mutex_lock(&secrets_lock);
	s->next = secrets;
	secrets = s;
	pthread_mutex_unlock(&secrets_lock);
	return s->p;
}

/* Untrack p and free it (sodium_free wipes it). */
void
audit_secret_free(void *p)
{
	struct secret **sp, *s = NULL;

	if (p == NULL)
		return;
	pthread_mutex_lock(&secrets_lock);
	for (sp = &secrets; *sp != NULL; sp = &(*sp)->next)
		if ((*sp)->p == p) {
			s = *sp;
			*sp = s->next;
			break;
		}
	pthread_mutex_unlock(&secrets_lock);
	free(s);
	sodium_free(p);
}

/*
 * In a child just forked, before anything else: every tracked secret
 * zeroed and made inaccessible, in the child's copy only.  Takes no
 * lock: the child has one thread, and the lock may have been held by
 * another of its parent's at the fork.
 */
void
audit_secrets_wipe(void)
{
	for (struct secret *s = secrets; s != NULL; s = s->next) {
		(void)sodium_mprotect_readwrite(s->p);
		sodium_memzero(s->p, s->n);
		(void)sodium_mprotect_noaccess(s->p);
	}
}
