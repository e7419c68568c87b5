#!/bin/sh
test_description='scripts/guest-image: the root image of commands, busybox from the pinned package, reproducible'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-guest.sh"

guest_image

test_expect_success 'setup: the image is made, and is the manifest'\''s' '
	test -n "$dir" &&
	test "$(sha256sum <"$dir/root.squashfs" | cut -d" " -f1)" = "$(value root_sha256)" &&
	grep " root.squashfs$" "$dir/SHA256SUMS" &&
	unsquashfs -lls "$dir/root.squashfs" >list &&
	sed -n "s|^\([^ ]*\) *\([^ ]*\) *[0-9]* \([^ ]*\) \([^ ]*\) squashfs-root|\1 \2 \3 \4 |p" \
	    list >entries &&
	test_line_count -gt 100 entries
'

test_expect_success 'it holds bin/busybox, owned by root, and nothing but bin/' '
	grep -x "drwxr-xr-x root/root 1970-01-01 00:00 " entries &&
	grep -x "drwxr-xr-x root/root 1970-01-01 00:00 /bin" entries &&
	grep -x -- "-rwxr-xr-x root/root 1970-01-01 00:00 /bin/busybox" entries &&
	! grep -v " /bin/" entries | grep -v " /bin$" | grep -v " $"
'

test_expect_success 'every other entry is a link bin/<applet> -> busybox' '
	grep -v -e " /bin/busybox$" -e " /bin$" -e " $" entries >links &&
	! grep -v "^lrwxrwxrwx root/root 1970-01-01 00:00 /bin/[^/]* -> busybox$" links &&
	for c in sh ls cat cp mv rm mkdir grep sed awk find tar gzip; do
		grep -x "lrwxrwxrwx root/root 1970-01-01 00:00 /bin/$c -> busybox" links ||
		return 1
	done
'

test_expect_success 'the links are exactly busybox'\''s applets' '
	unsquashfs -q -d x "$dir/root.squashfs" bin/busybox >/dev/null &&
	x/bin/busybox --list | grep -vx busybox | sort >expect &&
	sed "s|.* /bin/\(.*\) -> busybox$|\1|" links | sort >actual &&
	test_cmp expect actual
'

test_expect_success 'nothing is writable but by its owner, nothing set-id' '
	! grep -v "^l" entries | grep "^.....w" &&
	! grep -v "^l" entries | grep "^........w" &&
	! grep "^...[sS]" entries &&
	! grep "^......[sS]" entries
'

test_expect_success 'the same bytes from two caches, under another umask' '
	own_cache a && own_cache b &&
	GUEST_CACHE=$PWD/a "$top/scripts/guest-image" >out.a 2>err.a &&
	(umask 077 && GUEST_CACHE=$PWD/b "$top/scripts/guest-image") >out.b 2>err.b &&
	! grep -i download err.a err.b &&
	cmp "$dir/root.squashfs" "$(cat out.a)/root.squashfs" &&
	cmp "$dir/root.squashfs" "$(cat out.b)/root.squashfs" &&
	cmp "$(cat out.a)/SHA256SUMS" "$(cat out.b)/SHA256SUMS"
'

test_expect_success 'a changed root image in the cache is noticed and made again' '
	v=$(value kernel_version) &&
	printf x | dd of="a/$v/root.squashfs" bs=1 seek=1000 conv=notrunc 2>/dev/null &&
	! cmp -s "$dir/root.squashfs" "a/$v/root.squashfs" &&
	GUEST_CACHE=$PWD/a "$top/scripts/guest-image" >out 2>err &&
	grep "does not match SHA256SUMS; making it again" err &&
	cmp "$dir/root.squashfs" "a/$v/root.squashfs"
'

test_expect_success 'a root image that is not the manifest'\''s is refused (exit 1)' '
	rm -rf c && own_cache c &&
	sed "s/^root_sha256.*/root_sha256	$(printf %064d 0)/" "$manifest" >bad.manifest &&
	test_expect_code 1 env GUEST_CACHE=$PWD/c \
	    "$top/scripts/guest-image" -m bad.manifest >out 2>err &&
	grep "root.squashfs: SHA256 is $(value root_sha256), the manifest says 0000" err &&
	test_line_count = 0 out &&
	test "$(ls c)" = debs
'

test_expect_success 'a busybox .deb without the manifest'\''s hash is refused (exit 1)' '
	rm -rf c && own_cache c &&
	printf x | dd of="c/debs/$bb_deb" bs=1 seek=1000 conv=notrunc 2>/dev/null &&
	sed "/^root_package/s/[0-9a-f]\{64\}$/$(printf %064d 0)/" "$manifest" >bad.manifest &&
	test_expect_code 1 env GUEST_CACHE=$PWD/c \
	    "$top/scripts/guest-image" -m bad.manifest >out 2>err &&
	grep "busybox-static_.*_amd64.deb: SHA256 is [0-9a-f]*, the manifest says 0000" err &&
	test_line_count = 0 out &&
	! test -e "c/$(value kernel_version)"
'

test_expect_success 'a root_package line without its hash is refused (exit 2)' '
	sed "/^root_package/s/[[:space:]][0-9a-f]\{64\}$//" "$manifest" >short.manifest &&
	! grep "^root_package.*[0-9a-f]\{64\}" short.manifest &&
	test_expect_code 2 env GUEST_CACHE=$PWD/c \
	    "$top/scripts/guest-image" -m short.manifest 2>err &&
	grep "is not \"root_package name version sha256\"" err
'

test_done
