/*
 * What the node gives pods for web_search and web_fetch (webconf.c),
 * checked alike by the node when it starts (serve -S, -A) and by the
 * proxy when it reads its pod file (search_url, fetch_ca).
 */
#ifndef NUCLEUS_WEBCONF_H
#define NUCLEUS_WEBCONF_H

#include <stddef.h>

#define SEARCH_TEMPLATE_MAX	512	/* bytes of the URL template */
#define SEARCH_PLACEHOLDER	"{query}"
#define FETCH_CA_MAX		65536	/* bytes of the node's extra CAs (-A) */

int	 webconf_search_check(const char *, char *, size_t);
int	 webconf_ca_check(const char *, size_t, char *, size_t);

#endif /* NUCLEUS_WEBCONF_H */
