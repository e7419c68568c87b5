#!/bin/sh
test_description='nucleus-node: the bounds of pod export and pod diff (EXPORT_BYTES_MAX, EXPORT_ENTRIES_MAX, a request'"'"'s own max_bytes and max_entries, DIFF_PATCH_MAX): past one, too_large and nothing sent'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-authority.sh"
. "$TEST_DIRECTORY/lib-node.sh"

if ! test_have_prereq ROOT; then
	test_skip_all "the local driver needs root (namespaces and cgroups)"
fi

pod=p-xl-$$
bytes_max=$((32 * 1024 * 1024))
test_cleanup() {
	nucleus-node pod -j -k admin.key -l n/node.sock stop $pod >/dev/null 2>&1
	nucleus-node pod -j -k admin.key -l n/node.sock stop $pod-d >/dev/null 2>&1
}

nadmin() {
	nucleus-node pod -k admin.key -l n/node.sock "$@"
}

# sized BYTES: the pod's file big, made that size (sparse).
sized() {
	ncall $pod run "{\"argv\":[\"truncate\",\"--size=$1\",\"big\"]}" >run.out &&
	jq -e ".ok and .result.exit == 0" run.out >/dev/null
}

# export_args ARGS: pod.export with these args, as ops-1; the answer in out.
export_args() {
	nreq x1 ops-1 admin.key $pod pod.export "$1" | nsend >out
}

test_expect_success 'setup: a pod with more entries copied in than an export holds' '
	authority_setup &&
	node_setup &&
	mkdir -p root/proj/many root/proj/few &&
	(cd root/proj/many && seq 1 49999 | sed "s/^/f/" | xargs touch) &&
	touch root/proj/few/a root/proj/few/b root/proj/few/c &&
	node_start -W "$PWD/root" &&
	# Inodes for them all in the scratch (one per 16 KiB), memory for it.
	printf "{\"v\":1,\"name\":\"%s\",\"policy\":\"local_dev\",\"agents\":[\"agent-7\"],\"resources\":{\"memory_mib\":1024,\"scratch_mib\":900},\"work\":{\"copy\":\"proj\"}}\n" $pod >spec.json &&
	nucleus-node pod -j -k admin.key -l n/node.sock create spec.json >create.out &&
	jq -e .ok create.out
'

test_expect_success 'past EXPORT_ENTRIES_MAX: too_large, nothing on stdout, the refusal recorded' '
	test_expect_code 2 nadmin export $pod >out.tar 2>err &&
	test ! -s out.tar &&
	grep "^nucleus-node: too_large: .*bound of entries" err &&
	jq -c "select(.event == \"pod.refused\" and .pod == \"$pod\")" n/audit.log | tail -n 1 >rec &&
	jq -e ".kind == \"too_large\" and .signer == \"ops-1\"" rec &&
	! jq -e "select(.event == \"pod.export\")" n/audit.log
'

test_expect_success 'EXPORT_ENTRIES_MAX entries pass' '
	nadmin export $pod many >many.tar &&
	test "$(tar -tf many.tar | wc -l)" = 50000
'

test_expect_success 'without a snapshot at start (it passed the bounds), pod diff is unavailable' '
	test_expect_code 2 nadmin diff $pod >out 2>err &&
	test ! -s out &&
	grep "^nucleus-node: unavailable: no snapshot" err
'

test_expect_success 'a request'"'"'s own max_entries: at it, the archive; one past, too_large' '
	export_args "{\"path\":\"few\",\"max_entries\":4}" &&
	jq -e ".ok and .result.entries == 4" out &&
	export_args "{\"path\":\"few\",\"max_entries\":3}" &&
	jq -e ".error.kind == \"too_large\"" out &&
	export_args "{\"max_entries\":50001}" &&
	jq -e ".error.kind == \"bad_request\"" out &&
	export_args "{\"max_entries\":0}" &&
	jq -e ".error.kind == \"bad_request\"" out &&
	export_args "{\"path\":\"few\",\"nosuch\":1}" &&
	jq -e ".error.kind == \"bad_request\"" out
'

test_expect_success 'past EXPORT_BYTES_MAX: too_large; just under it, the archive' '
	sized $((bytes_max - 4096)) &&
	nadmin export $pod big >big.tar &&
	test "$(stat -c %s big.tar)" -le $bytes_max &&
	test "$(tar -tvf big.tar | awk "{print \$3}")" = $((bytes_max - 4096)) &&
	sized $bytes_max &&
	test_expect_code 2 nadmin export $pod big >out.tar 2>err &&
	test ! -s out.tar &&
	grep "^nucleus-node: too_large: .*bound of bytes" err
'

test_expect_success 'a request'"'"'s own max_bytes, crossed' '
	export_args "{\"path\":\"few\",\"max_bytes\":4096}" &&
	jq -e ".ok" out &&
	export_args "{\"path\":\"few\",\"max_bytes\":2048}" &&
	jq -e ".error.kind == \"too_large\"" out &&
	export_args "{\"max_bytes\":$((bytes_max + 1))}" &&
	jq -e ".error.kind == \"bad_request\"" out
'

test_expect_success 'past DIFF_PATCH_MAX: pod diff is too_large, and nothing is sent' '
	mkdir root/lines &&
	seq 1 2100000 >root/lines/numbers &&
	test "$(stat -c %s root/lines/numbers)" -lt $((16 * 1024 * 1024)) &&
	printf "{\"v\":1,\"name\":\"%s-d\",\"policy\":\"local_dev\",\"agents\":[\"agent-7\"],\"resources\":{\"scratch_mib\":64},\"work\":{\"copy\":\"lines\"}}\n" $pod >spec-d.json &&
	nucleus-node pod -j -k admin.key -l n/node.sock create spec-d.json >create.out &&
	jq -e .ok create.out &&
	ncall $pod-d run "{\"argv\":[\"rm\",\"numbers\"]}" >run.out &&
	jq -e ".result.exit == 0" run.out &&
	test_expect_code 2 nadmin diff $pod-d >out 2>err &&
	test ! -s out &&
	grep "^nucleus-node: too_large: the patch would pass 16777216 bytes" err
'

test_expect_success 'the node stops' '
	node_stop
'

test_done
