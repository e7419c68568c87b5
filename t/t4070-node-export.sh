#!/bin/sh
test_description='nucleus-node: pod export and pod diff: a local pod'"'"'s /work out as a tar archive (what its policy blocks left out, links not followed, recorded with its BLAKE2b), and its change as a patch git apply takes'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-authority.sh"
. "$TEST_DIRECTORY/lib-node.sh"

if ! test_have_prereq ROOT; then
	test_skip_all "the local driver needs root (namespaces and cgroups)"
fi

pod=p-x-$$
test_cleanup() {
	nucleus-node pod -j -k admin.key -l n/node.sock stop $pod >/dev/null 2>&1
}

nadmin() {
	nucleus-node pod -k admin.key -l n/node.sock "$@"
}

# in_pod ARGV...: one command in the pod, which must succeed.
in_pod() {
	ncall $pod run "$(jq -cn "{argv: \$ARGS.positional}" --args "$@")" >run.out &&
	jq -e ".ok and .result.exit == 0" run.out >/dev/null
}

test_expect_success 'setup: a work root with a project, a pod with it copied in' '
	authority_setup &&
	node_setup &&
	mkdir -p root/proj/src root/proj/empty &&
	printf "int main(void)\n{\n\treturn 0;\n}\n" >root/proj/src/main.c &&
	printf "one\ntwo\nthree\n" >root/proj/README &&
	printf "gone\n" >root/proj/old.txt &&
	printf "\000\001\002bin" >root/proj/blob.bin &&
	printf "latin1\n" >"root/proj/$(printf "caf\351")" &&
	echo "SECRET=1" >root/proj/.env &&
	ln -s src/main.c root/proj/main.c &&
	ln -s /etc/passwd root/proj/passwd &&
	node_start -W "$PWD/root" &&
	printf "{\"v\":1,\"name\":\"%s\",\"policy\":\"local_dev\",\"agents\":[\"agent-7\"],\"resources\":{\"scratch_mib\":64},\"work\":{\"copy\":\"proj\"}}\n" $pod >spec.json &&
	nucleus-node pod -j -k admin.key -l n/node.sock create spec.json >create.out &&
	jq -e .ok create.out
'

test_expect_success 'pod export: /work as a tar archive, recorded with its size and BLAKE2b' '
	nadmin export $pod >work.tar &&
	tar -tvf work.tar >list &&
	mkdir x && tar -C x -xf work.tar &&
	test_cmp root/proj/src/main.c x/src/main.c &&
	test_cmp root/proj/blob.bin x/blob.bin &&
	test "$(readlink x/main.c)" = src/main.c &&
	test "$(readlink x/passwd)" = /etc/passwd &&
	test -d x/empty &&
	test_cmp "root/proj/$(printf "caf\351")" "x/$(printf "caf\351")" &&
	jq -s -e "[.[] | select(.event == \"pod.export\" and .pod == \"$pod\")] | length == 1" n/audit.log &&
	jq -c "select(.event == \"pod.export\")" n/audit.log >rec &&
	jq -e ".bytes == $(stat -c %s work.tar) and .signer == \"ops-1\" and .path == \"\"" rec &&
	jq -e ".blake2b == \"$(b2sum -l 256 work.tar | cut -d" " -f1)\"" rec
'

test_expect_success 'what the pod'"'"'s policy blocks is not in it, even made inside by a command' '
	! grep "\.env" list &&
	in_pod cp README .env &&
	in_pod mkdir deep &&
	in_pod cp README deep/id_rsa &&
	nadmin export $pod >blocked.tar &&
	tar -tf blocked.tar >list2 &&
	! grep -e "\.env" -e id_rsa list2 &&
	jq -c "select(.event == \"pod.export\")" n/audit.log | tail -n 1 >rec &&
	jq -e ".left_out == 2" rec &&
	in_pod rm .env deep/id_rsa &&
	in_pod rmdir deep
'

test_expect_success 'a path beneath /work: only it; a climbing path is refused, a blocked one denied' '
	nadmin export $pod src >src.tar &&
	test "$(tar -tf src.tar | sort | paste -sd" " -)" = "src/ src/main.c" &&
	nadmin export $pod /work/README >readme.tar &&
	test "$(tar -tf readme.tar)" = README &&
	test_expect_code 2 nadmin export $pod ../etc >out 2>err &&
	test ! -s out &&
	grep "^nucleus-node: bad_request: " err &&
	test_expect_code 1 nadmin export $pod .env >out 2>err &&
	test ! -s out &&
	grep "^nucleus-node: path_denied: " err &&
	test_expect_code 2 nadmin export $pod passwd/x >out 2>err &&
	test ! -s out
'

test_expect_success 'an agent may not export: the operation is an admin'"'"'s' '
	test_expect_code 1 nucleus-node pod -k agent.key -l n/node.sock export $pod >out 2>err &&
	test ! -s out
'

test_expect_success 'names with newlines, hard links, fifos: safely' '
	in_pod cp README "$(printf "a\nb")" &&
	in_pod ln README hard &&
	in_pod mkfifo fifo &&
	nadmin export $pod >w2.tar &&
	mkdir y && tar -C y -xf w2.tar &&
	test_cmp root/proj/README "y/$(printf "a\nb")" &&
	test_cmp root/proj/README y/hard &&
	test ! -e y/fifo &&
	jq -c "select(.event == \"pod.export\")" n/audit.log | tail -n 1 >rec &&
	jq -e ".skipped == 1" rec &&
	in_pod rm fifo hard "$(printf "a\nb")"
'

test_expect_success 'pod diff: the agent'"'"'s change as a patch git apply takes on the original' '
	ncall $pod write "{\"path\":\"src/main.c\",\"content\":\"int main(void)\\n{\\n\\treturn 1;\\n}\\n\"}" >out &&
	jq -e .ok out &&
	in_pod rm old.txt &&
	ncall $pod write "{\"path\":\"new.txt\",\"content\":\"new\\n\"}" >out &&
	ncall $pod write "{\"path\":\"README\",\"content\":\"one\\n2\\nthree\\n\"}" >out &&
	in_pod cp /work/src/main.c blob.bin &&
	nadmin diff $pod >change.diff 2>err &&
	grep "^nucleus-node: 1 added, 1 removed, 3 modified$" err &&
	grep "^diff --git a/src/main.c b/src/main.c$" change.diff &&
	cp -R root/proj orig &&
	(cd orig && GIT_CEILING_DIRECTORIES="$(cd .. && pwd)" git apply ../change.diff) &&
	nadmin export $pod >after.tar &&
	mkdir after && tar -C after -xf after.tar &&
	rm orig/.env &&
	diff -r orig after &&
	jq -c "select(.event == \"pod.diff\")" n/audit.log >rec &&
	jq -e ".added == 1 and .removed == 1 and .modified == 3 and .bytes == $(stat -c %s change.diff)" rec &&
	jq -e ".blake2b == \"$(b2sum -l 256 change.diff | cut -d" " -f1)\"" rec
'

test_expect_success 'the original is the snapshot at copy-in: a change on the host since does not count' '
	echo "changed on the host" >root/proj/README &&
	nadmin diff $pod >change2.diff &&
	test_cmp change.diff change2.diff
'

test_expect_success 'pod diff -j: the lists' '
	nucleus-node pod -j -k admin.key -l n/node.sock diff $pod >out &&
	jq -e ".result.added == [\"new.txt\"] and .result.removed == [\"old.txt\"] and .result.modified == [\"README\", \"blob.bin\", \"src/main.c\"]" out
'

test_expect_success 'the node stops' '
	node_stop
'

test_done
