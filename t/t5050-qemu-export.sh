#!/bin/sh
test_description='nucleus-node: pod export, pod diff and work.export of a qemu pod, booted once for real: its proxy packs /work in the guest (what the policy blocks left out, links kept as links) and hands it over in pieces, the node makes the same tar of it, the patch applies on the host, and work.export is written at pod.stop before the VM ends'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-authority.sh"
. "$TEST_DIRECTORY/lib-pod.sh"

guest=${NUCLEUS_GUEST:-$NUCLEUS_BUILD/guest}
if test_have_prereq SANITIZE && ! [ -r "$guest/initramfs.cpio" ]; then
	guest=$TEST_DIRECTORY/../build/guest
fi
if ! test_have_prereq ROOT; then
	test_skip_all "the qemu driver makes cgroups and drops to the pods' uid: it needs root"
fi
if ! command -v qemu-system-x86_64 >/dev/null; then
	test_skip_all "no qemu-system-x86_64 (scripts/install-deps installs it)"
fi
if ! [ -r "$guest/initramfs.cpio" ]; then
	test_skip_all "no guest image in $guest (make guest; t5001 says why it could not be made)"
fi

pod=p-vx-$$
test_cleanup() {
	pods_gone "$pod*"
}

nadmin() {
	nucleus-node pod -k admin.key -l n/node.sock "$@"
}

# in_vm ARGV...: one command in the VM, which must succeed.
in_vm() {
	call $pod run "$(jq -cn "{argv: \$ARGS.positional}" --args "$@")" >run.out &&
	jq -e ".ok and .result.exit == 0" run.out >/dev/null
}

test_expect_success 'setup: a node with the guest image; a project holding a secret, copied into a qemu pod exported at its end' '
	node_setup &&
	mkdir -p root/proj/src root/out &&
	printf "int x;\n" >root/proj/src/x.c &&
	printf "one\ntwo\nthree\n" >root/proj/README &&
	printf "gone\n" >root/proj/old.txt &&
	echo "SECRET=1" >root/proj/.env &&
	head -c 600000 /dev/urandom >root/proj/big.bin &&
	node_start -G "$guest" -W "$PWD/root" &&
	pod_create $pod "\"driver\":\"qemu\",\"resources\":{\"memory_mib\":256,\"scratch_mib\":16},\"work\":{\"copy\":\"proj\",\"export\":\"out\"}" &&
	test -s n/pods/$pod/work.orig.tar
'

test_expect_success 'pod export: the guest'"'"'s /work as a tar, what the policy blocks left out, a link kept, recorded' '
	call $pod write "{\"path\":\"README\",\"content\":\"one\\n2\\nthree\\n\"}" >out &&
	jq -e .ok out &&
	call $pod write "{\"path\":\"src/new.c\",\"content\":\"int y;\\n\"}" >out &&
	jq -e .ok out &&
	in_vm rm old.txt &&
	call $pod run "{\"argv\":[\"ln\",\"-s\",\"src/x.c\",\"x.c\"]}" >out &&
	jq -e ".ok and .result.exit == 0" out &&
	in_vm cp README .env.local &&
	nadmin export $pod >work.tar &&
	mkdir x && tar -C x -xf work.tar &&
	printf "one\n2\nthree\n" >expect && test_cmp expect x/README &&
	test_cmp root/proj/src/x.c x/src/x.c &&
	test_cmp root/proj/big.bin x/big.bin &&
	test "$(readlink x/x.c)" = src/x.c &&
	test ! -e x/old.txt && test ! -e x/.env && test ! -e x/.env.local &&
	jq -c "select(.event == \"pod.export\")" n/audit.log >rec &&
	jq -e ".bytes == $(stat -c %s work.tar) and .left_out >= 1 and .path == \"\"" rec &&
	jq -e ".blake2b == \"$(b2sum -l 256 work.tar | cut -d" " -f1)\"" rec
'

test_expect_success 'a path beneath /work: only it; a climbing path refused, a blocked one denied' '
	nadmin export $pod src >src.tar &&
	tar -tf src.tar | sort >list &&
	printf "src/\nsrc/new.c\nsrc/x.c\n" >expect && test_cmp expect list &&
	test_expect_code 2 nadmin export $pod ../etc >out 2>err &&
	test ! -s out && grep "^nucleus-node: bad_request:" err &&
	test_expect_code 1 nadmin export $pod .env.local >out 2>err &&
	test ! -s out && grep "^nucleus-node: path_denied:" err
'

test_expect_success 'bounds asked for, crossed where the guest packs: too_large, and no archive' '
	nreq x1 ops-1 admin.key $pod pod.export "{\"path\":\"src\",\"max_entries\":3}" | nsend >out &&
	jq -e ".ok and .result.entries == 3" out &&
	nreq x2 ops-1 admin.key $pod pod.export "{\"path\":\"src\",\"max_entries\":2}" | nsend >out &&
	jq -e ".error.kind == \"too_large\" and (.result | not)" out &&
	nreq x3 ops-1 admin.key $pod pod.export "{\"max_bytes\":600000}" | nsend >out &&
	jq -e ".error.kind == \"too_large\"" out
'

test_expect_success 'two exports at once: each its own archive (the proxy packs one at a time; the second waits its turn)' '
	{ nadmin export $pod >all2.tar & } &&
	nadmin export $pod src >src2.tar &&
	wait $! &&
	cmp src.tar src2.tar &&
	tar -tf all2.tar >list2 &&
	grep "^big.bin$" list2 &&
	cmp work.tar all2.tar
'

test_expect_success 'pod diff: the change as a patch git apply takes on the host'"'"'s original' '
	nadmin diff $pod >change.diff 2>err &&
	grep "^nucleus-node: 2 added, 1 removed, 1 modified$" err &&
	cp -R root/proj orig &&
	(cd orig && GIT_CEILING_DIRECTORIES="$(cd .. && pwd)" git apply ../change.diff) &&
	rm orig/.env x/x.c &&
	diff -r orig x &&
	jq -e "select(.event == \"pod.diff\") | .added == 2 and .removed == 1 and .modified == 1" n/audit.log
'

test_expect_success 'pod.stop: work.export written while the guest runs, then the VM stopped' '
	nadmin stop $pod >/dev/null &&
	node_wait_event ".event == \"pod.exit\" and .pod == \"$pod\"" &&
	jq -s -e "[.[] | select(.pod == \"$pod\") | .event] | index(\"pod.work_export\") < index(\"pod.exit\")" n/audit.log &&
	jq -c "select(.event == \"pod.work_export\")" n/audit.log >rec &&
	! jq -e .kind rec &&
	tar=root/out/$(jq -r .archive.name rec) &&
	test "$(jq -r .archive.blake2b rec)" = "$(b2sum -l 256 "$tar" | cut -d" " -f1)" &&
	mkdir y && tar -C y -xf "$tar" &&
	test_cmp x/README y/README &&
	jq -e ".diff.added == 2 and .diff.removed == 1" rec
'

test_expect_success 'the node stops' '
	node_stop
'

test_done
