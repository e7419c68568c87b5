/*
 * The node's web settings, checked where they are set and again where
 * they are read (webconf.h).
 */
#define _GNU_SOURCE
#include <string.h>
#include <strings.h>

#include "audit.h"
#include "webconf.h"

/* A search template: http(s), one placeholder, no space, bounded. */
int
webconf_search_check(const char *t, char *why, size_t whysz)
{
	size_t n = strlen(t);
	const char *p = strstr(t, SEARCH_PLACEHOLDER);

	if (n > SEARCH_TEMPLATE_MAX) {
		audit_fmt(why, whysz, "search URL: longer than %d bytes",
		    SEARCH_TEMPLATE_MAX);
		return -1;
	}
	if (strncasecmp(t, "http://", 7) != 0 &&
	    strncasecmp(t, "https://", 8) != 0) {
		audit_fmt(why, whysz, "search URL: expected an http:// or "
		    "https:// URL");
		return -1;
	}
	if (p == NULL || strstr(p + 1, SEARCH_PLACEHOLDER) != NULL) {
		audit_fmt(why, whysz, "search URL: expected "
		    SEARCH_PLACEHOLDER " exactly once");
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)t[i] <= ' ' || t[i] == 0x7f) {
			audit_fmt(why, whysz, "search URL: a space or a "
			    "control character at byte %zu", i);
			return -1;
		}
	return 0;
}

/* Extra CAs: PEM text, bounded, holding a certificate. */
int
webconf_ca_check(const char *pem, size_t len, char *why, size_t whysz)
{
	if (len > FETCH_CA_MAX) {
		audit_fmt(why, whysz, "CA bundle: longer than %d bytes",
		    FETCH_CA_MAX);
		return -1;
	}
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)pem[i] >= 0x80 || pem[i] == '\0') {
			audit_fmt(why, whysz, "CA bundle: expected PEM text "
			    "(a byte that is not ASCII at %zu)", i);
			return -1;
		}
	if (memmem(pem, len,
	    "-----BEGIN CERTIFICATE-----", 27) == NULL) {
		audit_fmt(why, whysz, "CA bundle: expected PEM certificates");
		return -1;
	}
	return 0;
}
