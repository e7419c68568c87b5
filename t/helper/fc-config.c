/*
 * fc-config: a test helper.  Print the Firecracker configuration the
 * node makes for a pod spec (fc_config), or write it into a directory
 * (fc_config_write) and print the file's path.  Not installed.
 *
 *	fc-config [-w dir] [-k kernel] [-i initrd] [-r root] [-s scratch]
 *	    [-v socket] [-b boot-args] spec.json
 *
 * Exit status: 0 made, 1 refused (the reason on standard error), 2 usage
 * or I/O error.
 */
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "node.h"

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: fc-config [-w dir] [-k kernel] [-i initrd] "
	    "[-r root] [-s scratch] [-v socket] [-b boot-args] spec.json\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct fc_files f = {
		.kernel = "/var/lib/nucleus/guest/vmlinux",
		.initrd = "/var/lib/nucleus/pods/p-1/initrd.cpio",
		.root = "/var/lib/nucleus/guest/root.squashfs",
		.scratch = "/var/lib/nucleus/pods/p-1/scratch.ext4",
		.vsock = "/var/lib/nucleus/pods/p-1/vsock.sock",
		.boot_args = "console=ttyS0 reboot=k panic=1 quiet",
	};
	const char *dir = NULL;
	struct podspec spec;
	struct audit_err e;
	json_error_t jerr;
	json_t *o, *config;
	char path[FC_PATH_MAX];
	int c;

	while ((c = getopt(argc, argv, "w:k:i:r:s:v:b:")) != -1) {
		switch (c) {
		case 'w': dir = optarg; break;
		case 'k': f.kernel = optarg; break;
		case 'i': f.initrd = optarg; break;
		case 'r': f.root = optarg; break;
		case 's': f.scratch = optarg; break;
		case 'v': f.vsock = optarg; break;
		case 'b': f.boot_args = optarg; break;
		default: usage();
		}
	}
	if (argc - optind != 1)
		usage();
	if ((o = json_load_file(argv[optind], JSON_REJECT_DUPLICATES,
	    &jerr)) == NULL)
		errx(2, "%s: %s", argv[optind], jerr.text);
	if (podspec_parse(&spec, o, &e) != 0)
		errx(1, "%s: %s", argv[optind], e.msg);
	json_decref(o);
	if ((config = fc_config(&spec, &f, &e)) == NULL)
		errx(1, "%s", e.msg);
	if (dir != NULL) {
		if (fc_config_write(dir, config, getuid(), getgid(), path,
		    sizeof(path), &e) != 0)
			errx(2, "%s", e.msg);
		printf("%s\n", path);
	} else if (json_dumpf(config, stdout, JSON_INDENT(2) |
	    JSON_SORT_KEYS) != 0 || printf("\n") < 0)
		errx(2, "stdout");
	json_decref(config);
	podspec_free(&spec);
	return 0;
}
