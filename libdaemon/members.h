/*
 * Strict JSON objects (members.c): a member a reader does not know is an
 * error, never ignored, so that a typo in a limit or a field an attacker
 * slips in is refused.  The caller says what the refusal reads like.
 */
#ifndef NUCLEUS_MEMBERS_H
#define NUCLEUS_MEMBERS_H

#include <stdint.h>

#include <jansson.h>

const char *members_unknown(const json_t *, const char *const *);
int64_t	 members_seq(const json_t *, const char *);

#endif /* NUCLEUS_MEMBERS_H */
