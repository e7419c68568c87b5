#!/bin/sh
test_description='nucleus-node: work.export: a pod'"'"'s /work, as an archive and a patch, written beneath the work root when the pod ends (stopped, timed out, its proxy ended), recorded'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-authority.sh"
. "$TEST_DIRECTORY/lib-node.sh"

if ! test_have_prereq ROOT; then
	test_skip_all "the local driver needs root (namespaces and cgroups)"
fi

pod=p-we-$$
test_cleanup() {
	for p in $pod $pod-t $pod-k; do
		nucleus-node pod -j -k admin.key -l n/node.sock stop $p >/dev/null 2>&1
	done
}

# spec NAME [RESOURCES]: a pod of proj, exported into out/ at its end.
spec() {
	printf "{\"v\":1,\"name\":\"%s\",\"policy\":\"local_dev\",\"agents\":[\"agent-7\"],\"resources\":{\"scratch_mib\":32%s},\"work\":{\"copy\":\"proj\",\"export\":\"out\"}}\n" "$1" "$2" >"spec-$1.json"
}

# exported POD: its archive and patch, by the names the record gives.
exported() {
	node_wait_event ".event == \"pod.work_export\" and .pod == \"$1\"" &&
	jq -c "select(.event == \"pod.work_export\" and .pod == \"$1\")" n/audit.log >rec-$1 &&
	tar=root/out/$(jq -r .archive.name rec-$1) &&
	patch=root/out/$(jq -r .diff.name rec-$1) &&
	test "$(jq -r .archive.bytes rec-$1)" = "$(stat -c %s "$tar")" &&
	test "$(jq -r .archive.blake2b rec-$1)" = "$(b2sum -l 256 "$tar" | cut -d" " -f1)" &&
	test "$(jq -r .diff.blake2b rec-$1)" = "$(b2sum -l 256 "$patch" | cut -d" " -f1)"
}

test_expect_success 'setup: a work root with a project and a directory to export into' '
	authority_setup &&
	node_setup &&
	mkdir -p root/proj root/out &&
	printf "one\ntwo\n" >root/proj/README &&
	node_start -W "$PWD/root"
'

test_expect_success 'pod.stop: the archive and the patch are written, and apply on the original' '
	spec $pod &&
	nucleus-node pod -j -k admin.key -l n/node.sock create spec-$pod.json >out &&
	jq -e .ok out &&
	ncall $pod write "{\"path\":\"README\",\"content\":\"one\\n2\\n\"}" >out &&
	ncall $pod write "{\"path\":\"NEW\",\"content\":\"new\\n\"}" >out &&
	nucleus-node pod -j -k admin.key -l n/node.sock stop $pod >out &&
	exported $pod &&
	mkdir x && tar -C x -xf "$tar" &&
	printf "one\n2\n" >expect && test_cmp expect x/README &&
	cp -R root/proj orig &&
	(cd orig && GIT_CEILING_DIRECTORIES="$(cd .. && pwd)" git apply "../$patch") &&
	diff -r orig x &&
	jq -e ".diff.added == 1 and .diff.modified == 1 and .dir == \"out\"" rec-$pod &&
	test "$(stat -c %a "$tar")" = 600
'

test_expect_success 'a timeout: exported too' '
	spec $pod-t ",\"timeout_s\":1" &&
	nucleus-node pod -j -k admin.key -l n/node.sock create spec-$pod-t.json >out &&
	jq -e .ok out &&
	exported $pod-t &&
	jq -s -e "[.[] | select(.pod == \"$pod-t\") | .event] == [\"pod.create\", \"pod.timeout\", \"pod.exit\", \"pod.work_export\"]" n/audit.log
'

test_expect_success 'the proxy killed (the pod ends on its own): exported too' '
	spec $pod-k &&
	nucleus-node pod -j -k admin.key -l n/node.sock create spec-$pod-k.json >out &&
	jq -e .ok out &&
	kill -9 $(pod_proxy $pod-k) &&
	exported $pod-k
'

test_expect_success 'the node stopping: exported too' '
	spec $pod &&
	nucleus-node pod -j -k admin.key -l n/node.sock create spec-$pod.json >out &&
	jq -e .ok out &&
	node_stop &&
	test "$(jq -s "[.[] | select(.event == \"pod.work_export\" and .pod == \"$pod\")] | length" n/audit.log)" = 2 &&
	node_start -W "$PWD/root"
'

test_expect_success 'work.export is checked with the spec: beneath the work root, a directory' '
	for bad in "\"../x\"" "\"/tmp\"" "\"\"" "1"; do
		printf "{\"v\":1,\"name\":\"p-bad\",\"policy\":\"local_dev\",\"agents\":[\"agent-7\"],\"work\":{\"export\":%s}}\n" "$bad" >bad.json &&
		test_expect_code 2 nucleus-node pod -j -k admin.key -l n/node.sock create bad.json >out &&
		jq -e ".error.kind == \"bad_request\" and (.error.message | startswith(\"work.export: \"))" out || return 1
	done &&
	printf "{\"v\":1,\"name\":\"p-bad\",\"policy\":\"local_dev\",\"agents\":[\"agent-7\"],\"work\":{\"export\":\"nosuch\"}}\n" >bad.json &&
	test_expect_code 2 nucleus-node pod -j -k admin.key -l n/node.sock create bad.json >out &&
	jq -e ".error.message == \"work.export: nosuch: no such directory beneath the node'"'"'s work root\"" out &&
	printf "{\"v\":1,\"name\":\"p-bad\",\"policy\":\"local_dev\",\"agents\":[\"agent-7\"],\"work\":{\"keep\":\"out\"}}\n" >bad.json &&
	test_expect_code 2 nucleus-node pod -j -k admin.key -l n/node.sock create bad.json >out &&
	jq -e ".error.kind == \"bad_request\" and (.error.message | startswith(\"work: \"))" out
'

test_expect_success 'the node stops' '
	node_stop
'

test_done
