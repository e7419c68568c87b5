/*
 * keygen (keygen.c): a daemon's own signing key, made and saved, and its
 * keyring line printed.  nucleus-node keygen and nucleus-authority
 * keygen are both this, with their own names.
 */
#ifndef NUCLEUS_KEYGEN_H
#define NUCLEUS_KEYGEN_H

struct keygen {
	const char *prog;	/* who says what went wrong, on stderr */
	const char *dir;	/* -d's default */
	const char *file;	/* the key's name in dir: "node.key" */
	const char *role;	/* in the keyring line, unless -r: "node" */
	void	(*usage)(void);	/* does not return */
};

int	 keygen_main(const struct keygen *, int, char **);

#endif /* NUCLEUS_KEYGEN_H */
