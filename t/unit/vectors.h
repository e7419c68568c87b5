/*
 * Helpers for the C unit tests that read t/vectors/.
 */
#ifndef NUCLEUS_T_VECTORS_H
#define NUCLEUS_T_VECTORS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

/* The path of a vector file: $TEST_DIRECTORY/vectors/NAME, or t/vectors/. */
static inline const char *
vector_path(const char *name)
{
	static char buf[4096];
	const char *dir = getenv("TEST_DIRECTORY");

	snprintf(buf, sizeof(buf), "%s/vectors/%s", dir != NULL ? dir : "t",
	    name);
	return buf;
}

static inline json_t *
vector_load(const char *name)
{
	json_error_t e;
	json_t *j = json_load_file(vector_path(name), 0, &e);

	if (j == NULL) {
		printf("Bail out! %s: %s\n", vector_path(name), e.text);
		exit(1);
	}
	return j;
}

/* Decode lowercase hex into a malloc'd buffer; *len gets its length. */
static inline char *
vector_unhex(const char *hex, size_t *len)
{
	size_t n = strlen(hex) / 2;
	char *out = malloc(n + 1);

	for (size_t i = 0; out != NULL && i < n; i++) {
		unsigned v;

		sscanf(hex + 2 * i, "%2x", &v);
		out[i] = (char)v;
	}
	if (out != NULL)
		out[n] = '\0';
	*len = n;
	return out;
}

#endif
