#!/bin/sh
test_description='scripts/guest-image: the Debian kernel and modules of the guest, verified and cached'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-guest.sh"

guest_image

test_expect_success 'the image is made, and every file matches its SHA256SUMS' '
	test -n "$dir" &&
	test "$dir" = "${GUEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/nucleus-guest}/$(value kernel_version)" &&
	(cd "$dir" && sha256sum --strict -c SHA256SUMS) >out &&
	test $(wc -l <out) -eq $(($(value module | wc -l) + 6)) &&
	! grep -v ": OK$" out
'

test_expect_success 'vmlinux is the manifest'\''s, an ELF kernel with a PVH entry' '
	test "$(sha256sum <"$dir/vmlinux" | cut -d" " -f1)" = "$(value vmlinux_sha256)" &&
	test "$(head -c 4 "$dir/vmlinux" | od -An -c | tr -d " ")" = "177ELF" &&
	readelf -n "$dir/vmlinux" >notes &&
	grep "Xen.*(0x00000012)" notes &&
	test $(stat -c %s "$dir/vmlinux") -gt $(stat -c %s "$dir/vmlinuz")
'

test_expect_success 'the modules are there, uncompressed, in the manifest'\''s order' '
	value module >expect &&
	test_cmp expect "$dir/modules/load" &&
	for m in $(cat expect); do
		test "$(head -c 4 "$dir/modules/$m.ko" | od -An -c | tr -d " ")" = "177ELF" || return 1
	done &&
	grep -x "CONFIG_VIRTIO_CONSOLE=m" "$dir/config" &&
	grep -x "CONFIG_DEVTMPFS=y" "$dir/config"
'

test_expect_success 'a second run uses the cached image' '
	"$top/scripts/guest-image" >out 2>err &&
	echo "$dir" >expect &&
	test_cmp expect out &&
	grep "cached, hashes verified" err &&
	! grep -i download err
'

test_expect_success 'a changed file in the cache is noticed and the image made again' '
	own_cache cache &&
	cp -r "$dir" cache/ &&
	v=$(value kernel_version) &&
	echo x >>"cache/$v/modules/virtio.ko" &&
	GUEST_CACHE=$PWD/cache "$top/scripts/guest-image" >out 2>err &&
	grep "does not match SHA256SUMS; making it again" err &&
	grep "kept from an earlier run" err &&
	cmp "$dir/modules/virtio.ko" "cache/$v/modules/virtio.ko" &&
	(cd "cache/$v" && sha256sum --quiet --strict -c SHA256SUMS)
'

test_expect_success 'a vmlinux that is not the manifest'\''s is refused (exit 1)' '
	rm -rf cache && own_cache cache &&
	sed "s/^vmlinux_sha256.*/vmlinux_sha256	$(printf %064d 0)/" "$manifest" >bad.manifest &&
	test_expect_code 1 env GUEST_CACHE=$PWD/cache \
	    "$top/scripts/guest-image" -m bad.manifest >out 2>err &&
	grep "vmlinux: SHA256 is $(value vmlinux_sha256), the manifest says 0000" err &&
	test_line_count = 0 out &&
	! test -e "cache/$(value kernel_version)" &&
	test "$(ls cache)" = debs
'

test_expect_success 'a module listed before what it depends on is refused' '
	awk "\$2 == \"jbd2\" { next } { print } \$2 == \"ext4\" { print \"module\tjbd2\" }" \
	    "$manifest" >order.manifest &&
	test_expect_code 2 env GUEST_CACHE=$PWD/cache \
	    "$top/scripts/guest-image" -m order.manifest 2>err &&
	grep "module ext4 needs jbd2 listed before it" err
'

test_expect_success 'a downloaded .deb without the manifest'\''s hash is refused (exit 1)' '
	sed "s/^deb_sha256.*/deb_sha256	$(printf %064d 0)/" "$manifest" >bad.manifest &&
	test_expect_code 1 env GUEST_CACHE=$PWD/cache2 \
	    "$top/scripts/guest-image" -m bad.manifest >out 2>err &&
	grep "downloading" err &&
	grep "_amd64.deb: SHA256 is $(value deb_sha256), the manifest says 0000" err &&
	test "$(ls cache2/debs)" = ""
'

test_done
