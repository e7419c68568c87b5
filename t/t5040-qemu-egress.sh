#!/bin/sh
test_description='egress on the qemu driver: a real boot, busybox wget and nc in the VM through the pod'"'"'s proxy, the streams multiplexed on the VM'"'"'s egress port to the host'"'"'s gateway: an allowed host, a refused one (403), two streams at once of which one is never read (flow control: the other completes), every connection recorded'
. "$(dirname "$0")/lib-egress.sh"
egress_netns "$@"
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-pod.sh"
. "$TEST_DIRECTORY/lib-egress.sh"

guest=${NUCLEUS_GUEST:-$NUCLEUS_BUILD/guest}
if test_have_prereq SANITIZE && ! [ -r "$guest/initramfs.cpio" ]; then
	guest=$TEST_DIRECTORY/../build/guest
fi
if ! test_have_prereq ROOT; then
	test_skip_all "the qemu driver makes cgroups and drops to the pods' uid: it needs root"
fi
if [ -z "$NUCLEUS_EGRESS_NETNS" ]; then
	test_skip_all "no network namespace of its own (unshare -n)"
fi
if ! command -v qemu-system-x86_64 >/dev/null; then
	test_skip_all "no qemu-system-x86_64 (scripts/install-deps installs it)"
fi
if ! [ -r "$guest/initramfs.cpio" ]; then
	test_skip_all "no guest image in $guest (make guest; t5001 says why it could not be made)"
fi

pod=p-vmnet-$$
test_cleanup() {
	[ -f server.pid ] && kill "$(cat server.pid)"
	[ -f bulk.pid ] && kill "$(cat bulk.pid)"
	pods_gone "$pod*"
}

# vm_sh SCRIPT: SCRIPT run by sh in the VM (written to a new file: the
# policy's baseline refuses sh -c); its stdout in out, stderr in err, exit
# status in status.
vm_sh() {
	n=$(date +%s%N) &&
	content=$(printf "%s\n" "$1" | jq -Rs .) &&
	call $pod write "{\"path\":\"t$n.sh\",\"content\":$content}" >resp &&
	jq -e .ok resp >/dev/null &&
	call $pod run "{\"argv\":[\"sh\",\"t$n.sh\"]}" >resp &&
	jq -r .result.stdout resp >out &&
	jq -r .result.stderr resp >err &&
	status=$(jq -r .result.exit resp)
}

# bulk_host: files of 2 and 64 MiB served on ok.test:8082.
bulk_host() {
	mkdir www &&
	head -c 67108864 /dev/zero >www/huge &&
	head -c 2097152 /dev/urandom >www/big &&
	(cd www && exec python3 -m http.server --bind 198.18.0.1 8082) >bulk.out 2>bulk.err &
	echo $! >bulk.pid
}

# The VM's commands are busybox's: sh, wget (which honours http_proxy)
# and nc (a CONNECT by hand).
vm_policy='{"profile":"restrictive","capabilities":{"read_files":"never","write_files":"always","glob_search":"never","grep_search":"never","run_bash":"always","web_fetch":"low_risk"},"commands":{"allow":[{"program":"sh"}]}}'

test_expect_success 'setup: test hosts in the namespace (a bulk host of 64 MiB on 8082), a node with the guest image, a qemu pod with network' '
	egress_hosts &&
	bulk_host &&
	node_setup &&
	node_start -G "$guest" -H "$PWD/hosts" &&
	printf "{\"v\":1,\"name\":\"%s\",\"driver\":\"qemu\",\"resources\":{\"memory_mib\":256,\"scratch_mib\":16},\"policy\":%s,\"agents\":[\"agent-1\"],\"network\":%s}\n" \
	    $pod "$vm_policy" "{\"allow\":[{\"host\":\"ok.test\",\"ports\":[8080,8082]}]}" >spec.json &&
	nucleus-node pod -j -k admin.key -l n/node.sock create spec.json >create-$pod.out &&
	jq -e ".ok and .result.state == \"running\" and .result.driver == \"qemu\"" create-$pod.out &&
	test -S n/pods/$pod/vm/egress.sock
'

test_expect_success 'an allowed host and port, through the proxy in the VM' '
	vm_sh "wget -q -O - http://ok.test:8080/" &&
	test "$status" = 0 &&
	test "$(cat out)" = "hello from 198.18.0.1:8080"
'

test_expect_success 'a host not allowed: 403 with the reason, recorded, never reached' '
	vm_sh "wget -O - http://other.test:8080/; printf \"CONNECT ok.test:8081 HTTP/1.1\r\n\r\n\" | nc 127.0.0.1 3128" &&
	grep -q "403 Forbidden" err &&
	grep -q "^HTTP/1.1 403 Forbidden" out &&
	grep -q "^egress_denied: no entry of the pod'"'"'s network.allow admits ok.test port 8081" out &&
	pod_log $pod | jq -e -s "[.[] | select(.event == \"decision\" and .op == \"connect\" and .host == \"other.test\" and .decision == \"deny\")] | length == 1" >/dev/null &&
	! grep -q " 198.18.0.2 " seen
'

closes_8082() {
	test "$(node_events egress.close | jq -s "[.[] | select(.port == 8082)] | length")" = "$1"
}

test_expect_success 'two streams at once, one never read: the other completes whole while it is held (flow control per stream)' '
	vm_sh "{ printf \"CONNECT ok.test:8082 HTTP/1.1\r\n\r\nGET /huge HTTP/1.0\r\n\r\n\"; sleep 120; } | nc 127.0.0.1 3128 2>/dev/null | sleep 120 >/dev/null 2>&1 &
	    sleep 1; wget -q -O - http://ok.test:8082/big | md5sum" &&
	test "$status" = 0 &&
	md5sum <www/big | cut -d" " -f1 >expect &&
	cut -d" " -f1 out | head -n 1 >actual &&
	test_cmp expect actual &&
	test_wait_for "both streams'"'"' close records (the held one ends with the command)" 20 closes_8082 2 &&
	node_events egress.close | jq -s "[.[] | select(.port == 8082)]" >closes &&
	jq -e "[.[] | select(.how == \"eof\" and .bytes_in > $(wc -c <www/big))] | length == 1" closes >/dev/null &&
	jq -e "[.[] | select(.how != \"eof\" and .bytes_in < 67108864)] | length == 1" closes >/dev/null
'

opens_closed() {
	test "$(node_events egress.open | wc -l)" = "$(node_events egress.close | wc -l)"
}

test_expect_success 'each connection an egress.open then an egress.close in the node'"'"'s log' '
	test_wait_for "a close record for each open one" 30 opens_closed &&
	node_events egress.open >opens &&
	test "$(wc -l <opens)" = 3 &&
	jq -e -s "all(.[]; .pod == \"$pod\" and .address == \"198.18.0.1\")" opens >/dev/null &&
	! node_events egress.violation | grep -q .
'

test_expect_success 'every log verifies, and the node stops cleanly' '
	nucleus-audit-verify -q -k node.pub n/audit.log n/pods/*/*.log &&
	node_stop
'

test_done
