#!/bin/sh
test_description='scripts/guest-initramfs: the initramfs around the static proxy, and the directory the node is pointed at'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-guest.sh"

test_have_prereq SANITIZE &&
    test_skip_all "no static build under SANITIZE=1"
static=$NUCLEUS_BUILD/static/nucleus-proxy
[ -x "$static" ] || test_skip_all "no $static: run make static"

guest_image

# The entries as "mode uid gid name[ -> target]", and their times.
entries() {
	cpio -itv --numeric-uid-gid <"$1" >listing 2>/dev/null &&
	awk '{ $2 = ""; $5 = ""; $6 = ""; $7 = ""; $8 = ""; print }' listing |
	    tr -s " " &&
	! awk '$6 " " $7 " " $8 != "Jan 1 1970"' listing | grep .
}

test_expect_success 'setup: the image is made' '
	test -n "$dir" &&
	"$top/scripts/guest-initramfs" -o g1 "$static" "$dir" >out 2>err &&
	echo "$PWD/g1" >expect &&
	test_cmp expect out &&
	ls g1 >actual &&
	printf "%s\n" SHA256SUMS initramfs.cpio root.squashfs vmlinux >expect &&
	test_cmp expect actual
'

test_expect_success 'the archive holds exactly the expected entries, owned by root, times 0' '
	{
		for d in dev etc etc/nucleus; do echo "drwxr-xr-x 0 0 $d"; done &&
		echo "-rwxr-xr-x 0 0 init" &&
		echo "lrwxrwxrwx 0 0 lib -> usr/lib" &&
		echo "lrwxrwxrwx 0 0 lib64 -> usr/lib64" &&
		echo "drwxr-xr-x 0 0 modules" &&
		for f in $(sed "s/$/.ko/" "$dir/modules/load") load; do
			echo "$f"
		done | sort | sed "s|^|-rw-r--r-- 0 0 modules/|" &&
		for d in proc; do echo "drwxr-xr-x 0 0 $d"; done &&
		echo "lrwxrwxrwx 0 0 sbin -> usr/sbin" &&
		for d in scratch sys; do echo "drwxr-xr-x 0 0 $d"; done &&
		echo "drwxrwxrwt 0 0 tmp" &&
		for d in usr var var/lib var/lib/nucleus work; do
			echo "drwxr-xr-x 0 0 $d"
		done
	} >expect.body &&
	{ echo "lrwxrwxrwx 0 0 bin -> usr/bin" && cat expect.body; } >expect &&
	entries g1/initramfs.cpio >actual &&
	test_cmp expect actual &&
	! grep -e "sh$" -e busybox listing
'

test_expect_success '/init is the static proxy, the modules and load the cache'\''s' '
	mkdir x && (cd x && cpio -id --quiet <../g1/initramfs.cpio) &&
	cmp "$static" x/init &&
	cmp "$dir/modules/load" x/modules/load &&
	for m in $(cat "$dir/modules/load"); do
		cmp "$dir/modules/$m.ko" "x/modules/$m.ko" || return 1
	done
'

test_expect_success 'vmlinux and root.squashfs are the cache'\''s; SHA256SUMS holds all three' '
	cmp "$dir/vmlinux" g1/vmlinux &&
	cmp "$dir/root.squashfs" g1/root.squashfs &&
	(cd g1 && sha256sum --strict -c SHA256SUMS) >out &&
	printf "%s: OK\n" initramfs.cpio root.squashfs vmlinux >expect &&
	test_cmp expect out
'

test_expect_success 'the same bytes from another run, elsewhere, under another umask' '
	mkdir elsewhere &&
	(cd elsewhere && umask 077 &&
	    "$top/scripts/guest-initramfs" -o ../g2 "$static" "$dir") >out 2>err &&
	cmp g1/initramfs.cpio g2/initramfs.cpio &&
	cmp g1/SHA256SUMS g2/SHA256SUMS &&
	test "$(stat -c %a g2)" = 755
'

test_expect_success 'a run that changes nothing keeps the directory as it was' '
	touch -d @1000 g1/initramfs.cpio &&
	"$top/scripts/guest-initramfs" -o g1 "$static" "$dir" >out 2>err &&
	grep "g1: unchanged" err &&
	test "$(stat -c %Y g1/initramfs.cpio)" = 1000 &&
	! ls | grep "tmp\."
'

test_expect_success 'another proxy makes another archive' '
	cp "$static" proxy2 && printf x >>proxy2 &&
	"$top/scripts/guest-initramfs" -o g1 "$PWD/proxy2" "$dir" >out 2>err &&
	grep "g1: made from" err &&
	! cmp -s g1/initramfs.cpio g2/initramfs.cpio &&
	rm -rf x && mkdir x && (cd x && cpio -id --quiet <../g1/initramfs.cpio) &&
	cmp proxy2 x/init &&
	(cd g1 && sha256sum --quiet --strict -c SHA256SUMS)
'

test_expect_success 'a proxy that is not static is refused (exit 2)' '
	test_expect_code 2 "$top/scripts/guest-initramfs" -o g3 \
	    "$NUCLEUS_BUILD/nucleus-proxy" "$dir" >out 2>err &&
	grep "nucleus-proxy: not static" err &&
	! test -e g3
'

test_expect_success 'a changed file in the cache is refused (exit 1)' '
	cp -r "$dir" cache &&
	echo x >>cache/modules/virtio.ko &&
	test_expect_code 1 "$top/scripts/guest-initramfs" -o g3 "$static" \
	    "$PWD/cache" >out 2>err &&
	grep "cache: a file does not match SHA256SUMS" err &&
	test_line_count = 0 out &&
	! test -e g3
'

# The kernel unpacks the archive and runs /init: the proxy's init mode
# mounts, loads every module, then finds no drive here and powers off,
# saying so (t5021 boots it with its drives).
# Under TCG the kernel's TSC calibration against the PIT fails at times
# and the boot then stalls: tsc_early_khz skips it.
test_expect_success QEMU 'the kernel boots it and runs the proxy as /init' '
	timeout 60 qemu-system-x86_64 -M microvm,acpi=on -accel tcg -cpu max \
	    -m 256 -nodefaults -no-user-config -nographic -display none \
	    -no-reboot -kernel g2/vmlinux -initrd g2/initramfs.cpio \
	    -append "console=ttyS0 panic=-1 tsc_early_khz=1000000 rdinit=/init -- -I" \
	    -serial file:serial.log &&
	grep "Trying to unpack rootfs image as initramfs" serial.log &&
	! grep -i "initramfs unpacking failed" serial.log &&
	grep "Run /init as init process" serial.log &&
	grep "nucleus-proxy init: no root image (squashfs) drive within 10000 ms; powering off" serial.log &&
	grep "reboot: Power down" serial.log
'

test_done
