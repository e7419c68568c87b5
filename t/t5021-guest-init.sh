#!/bin/sh
test_description='nucleus-proxy -I in a real guest, without the node: its channel outlives the host end, and a guest that cannot set up powers off'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-proxy.sh"

guest=${NUCLEUS_GUEST:-$NUCLEUS_BUILD/guest}
if test_have_prereq SANITIZE; then
	test_skip_all "the guest's proxy is static, and never sanitized: see make check"
fi
if ! command -v qemu-system-x86_64 >/dev/null; then
	test_skip_all "no qemu-system-x86_64 (scripts/install-deps installs it)"
fi
if ! [ -r "$guest/initramfs.cpio" ]; then
	test_skip_all "no guest image in $guest (make guest; t5001 says why it could not be made)"
fi

test_cleanup() {
	[ -f qemu.pid ] && kill -KILL "$(cat qemu.pid)" 2>/dev/null
	:
}

# initrd: the guest's initramfs and, appended, a pod file and the trust.
make_initrd() {
	mkdir -p conf/etc/nucleus &&
	cat >conf/etc/nucleus/pod.json <<-EOF &&
	{"v":1,"pod":"p-0001","policy":"local_dev","root":"/work",
	 "state":"/var/lib/nucleus","trust":"/etc/nucleus/trust",
	 "path":["/usr/bin","/bin"],"run_as":{"uid":1000,"gid":1000}}
	EOF
	grep "^authority-1 " "$TEST_DIRECTORY/vectors/keyring" >conf/etc/nucleus/trust &&
	chmod 600 conf/etc/nucleus/* &&
	cp "$guest/initramfs.cpio" initrd &&
	(cd conf && find etc | LC_ALL=C sort | cpio -o -H newc --quiet) >>initrd
}

# boot [DRIVES...]: the guest as the qemu driver starts it, in the
# background; its console in console.log, its channel at chan.sock.
boot() {
	rm -f chan.sock console.log
	khz=$(awk -F': ' '/^cpu MHz/ { printf "%d", $2 * 1000; exit }' /proc/cpuinfo)
	qemu-system-x86_64 -M microvm,acpi=on,rtc=on -accel tcg -cpu max \
	    -m 256 -smp 1 -nodefaults -no-user-config -nographic -no-reboot \
	    -kernel "$guest/vmlinux" -initrd initrd \
	    -append "console=ttyS0 quiet panic=-1 random.trust_cpu=on rdinit=/init tsc=reliable tsc_early_khz=$khz -- -I" \
	    -serial file:console.log "$@" \
	    -device virtio-serial-device,max_ports=2 \
	    -chardev socket,id=chan,path=chan.sock,server=on,wait=off \
	    -device virtserialport,chardev=chan,name=org.nucleus.channel \
	    >qemu.out 2>&1 &
	echo $! >qemu.pid
}

drive() {
	echo "-drive file=$1,if=none,id=$2,format=raw${3:+,$3} -device virtio-blk-device,drive=$2"
}

test_expect_success 'setup: an initrd with a pod file, a scratch drive' '
	make_initrd &&
	mkdir -p stage/work stage/tmp && chmod 1777 stage/tmp &&
	chown 1000:1000 stage/work &&
	mke2fs -q -F -t ext4 -O ^has_journal -d stage scratch.img 16M
'

test_expect_success 'the guest says hello on its port, and serves' '
	boot $(drive "$guest/root.squashfs" root readonly=on) $(drive scratch.img scratch) &&
	req w1 write "{\"path\":\"a.txt\",\"content\":\"kept\"}" >req1 &&
	chan-peer -H -p "{\"type\":\"request\",\"v\":1,\"id\":\"half" chan.sock <req1 >out1 &&
	head -n 1 out1 | jq -e ".type == \"hello\" and .pod == \"p-0001\"" &&
	resp w1 out1 | jq -e ".ok and .result.created" &&
	jq -s -e "[.[] | select(.type == \"audit\")] | length >= 2" out1
'

# resume OUT: the line a host that comes back says first: the last
# record it holds, from the lines of its last connection.
resume() {
	log=$(jq -r "select(.type == \"audit\") | .log" "$1" | head -n 1) &&
	seq=$(jq -s "[.[] | select(.type == \"audit\") | .seq] | max" "$1") &&
	printf "{\"log\":\"%s\",\"seq\":%s,\"type\":\"audit.resume\",\"v\":1}\n" "$log" "$seq"
}

test_expect_success 'the host end goes and comes back: the half line is dropped, the proxy serves on' '
	resume out1 >req2 &&
	req r2 read "{\"path\":\"a.txt\"}" >>req2 &&
	chan-peer chan.sock <req2 >out2 &&
	resp r2 out2 | jq -e ".ok and .result.data == \"kept\"" &&
	! grep "half" out2 &&
	resume out2 >req3 &&
	req r3 stat "{\"path\":\"a.txt\"}" >>req3 &&
	chan-peer chan.sock <req3 >out3 &&
	resp r3 out3 | jq -e ".ok" &&
	kill -0 "$(cat qemu.pid)"
'

test_expect_success 'the audit lines go on from the record after the last the host said it holds' '
	jq -s "[.[] | select(.type == \"audit\") | .seq] | max" out1 >seq1 &&
	jq -s "[.[] | select(.type == \"audit\") | .seq] | min" out2 >seq2 &&
	test "$(cat seq2)" = "$(($(cat seq1) + 1))"
'

test_expect_success 'a host that comes back and says nothing of its copy is not served' '
	req r4 stat "{\"path\":\"a.txt\"}" >req4 &&
	test_expect_code 1 chan-peer -t 2 chan.sock <req4 >out4 &&
	! test -s out4 &&
	resume out3 >req5 &&
	req r5 stat "{\"path\":\"a.txt\"}" >>req5 &&
	chan-peer chan.sock <req5 >out5 &&
	resp r5 out5 | jq -e ".ok"
'

test_expect_success 'stopping the guest: the proxy ends, the VM powers off' '
	kill -TERM "$(cat qemu.pid)" &&
	test_wait_for "QEMU to power off" 10 test_pid_ended "$(cat qemu.pid)" &&
	rm qemu.pid
'

test_expect_success 'no scratch drive: the guest says so on its console and powers off by itself' '
	boot $(drive "$guest/root.squashfs" root readonly=on) &&
	test_wait_for "QEMU to power off by itself" 60 test_pid_ended "$(cat qemu.pid)" &&
	rm qemu.pid &&
	grep "nucleus-proxy init: no scratch (ext4) drive within 10000 ms; powering off" console.log &&
	grep "reboot: Power down" console.log
'

test_done
