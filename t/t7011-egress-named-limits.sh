#!/bin/sh
test_description='egress: the named limits each crossed: EGRESS_MSG_MAX (a hostile gateway), EGRESS_CLIENTS_MAX, GATEWAY_ADDRS_MAX, GATEWAY_HOSTS_MAX, FETCH_URL_MAX'
. "$(dirname "$0")/lib-egress.sh"
egress_netns "$@"
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-pod.sh"
. "$TEST_DIRECTORY/lib-egress.sh"

if ! test_have_prereq ROOT; then
	test_skip_all "the local driver needs root (namespaces and cgroups)"
fi
if [ -z "$NUCLEUS_EGRESS_NETNS" ]; then
	test_skip_all "no network namespace of its own (unshare -n)"
fi

suffix=$(od -An -N4 -tx1 /dev/urandom | tr -d " \n")
pod=p-named-$suffix
test_cleanup() {
	[ -f server.pid ] && kill "$(cat server.pid)"
	pods_gone "p-*-$suffix*"
}

fits_() {
	node_events egress.refused | grep -q "\"reason\":\"fitsxx"
}

test_expect_success 'EGRESS_MSG_MAX (2048): a gateway message of 2048 bytes is taken, one of 2049 ignored, said on standard error' '
	egress_hosts &&
	node_setup &&
	mkdir fake &&
	cp "$NUCLEUS_BUILD/nucleus-proxy" fake/nucleus-proxy &&
	cp "$TEST_DIRECTORY/helper/egress-fake-gateway.py" fake/nucleus-gateway &&
	chmod 755 fake fake/nucleus-gateway &&
	node_start -P "$PWD/fake/nucleus-proxy" &&
	egress_pod p-fake-$suffix "{\"allow\":[{\"host\":\"ok.test\",\"ports\":[8080]}]}" &&
	test_wait_for "the message that fits" 10 fits_ &&
	node_events egress.refused | jq -e -s "[.[] | select(.pod == \"p-fake-$suffix\")] | length == 1" >/dev/null &&
	! node_events egress.refused | grep -q "\"reason\":\"long" &&
	grep -q "pod p-fake-$suffix: a gateway message over 2048 bytes: ignored" node.err &&
	nucleus-node pod -j -k admin.key -l n/node.sock stop p-fake-$suffix >/dev/null &&
	node_stop
'

test_expect_success 'setup: names of 17 and of 16 addresses, a node with the real gateway, a pod that may run python3' '
	for n in $(seq 3 18); do printf "127.0.0.%s\tmany.test few.test\n" $n; done >>hosts &&
	printf "198.18.0.1\tmany.test\n" >>hosts &&
	sed -i "0,/few.test/s/ few.test//" hosts &&
	printf "198.18.0.1\tfew.test\n" >>hosts &&
	test "$(grep -c many.test hosts)" = 17 &&
	test "$(grep -c few.test hosts)" = 16 &&
	node_start -H "$PWD/hosts" &&
	egress_policy=$(echo "$egress_policy" | jq -c ".commands.allow += [{\"program\":\"python3\"}] | .capabilities.write_files = \"always\"") &&
	egress_pod $pod "{\"allow\":[{\"host\":\"ok.test\",\"ports\":[8080]},{\"host\":\"many.test\",\"ports\":[8080]},{\"host\":\"few.test\",\"ports\":[8080]}]}"
'

test_expect_success 'GATEWAY_ADDRS_MAX (16): the 16th address of a name is dialled, the 17th never looked at' '
	egress_curl $pod -f http://few.test:8080/ &&
	test "$(cat out)" = "hello from 198.18.0.1:8080" &&
	egress_curl $pod http://many.test:8080/ &&
	grep -q "^forbidden_address: many.test resolves to 127.0.0.3, a loopback address" out &&
	node_events egress.refused | jq -e -s "[.[] | select(.pod == \"$pod\" and .host == \"many.test\" and .kind == \"forbidden_address\")] | length == 1" >/dev/null
'

test_expect_success 'EGRESS_CLIENTS_MAX (256): with 256 clients held, one more is closed unanswered; once they go, a client is answered again' '
	jq -n --rawfile py "$TEST_DIRECTORY/helper/egress-clients.py" "{path: \"clients.py\", content: \$py}" >args.json &&
	call $pod write - <args.json >resp &&
	call $pod run "{\"argv\":[\"python3\",\"/work/clients.py\",\"256\"]}" >resp &&
	jq -j .result.stdout resp >out &&
	printf "full\nagain\n" >expect &&
	test_cmp expect out
'

test_expect_success 'FETCH_URL_MAX (2048): a web_fetch of a 2048-byte URL goes, of 2049 is refused bad_request' '
	url=http://ok.test:8080/$(head -c 2028 /dev/zero | tr "\0" a) &&
	test ${#url} = 2048 &&
	call $pod web_fetch "{\"url\":\"$url\"}" >resp &&
	jq -e ".ok and .result.status == 200 and .result.body == \"hello from 198.18.0.1:8080\n\"" resp >/dev/null &&
	test_expect_code 2 call $pod web_fetch "{\"url\":\"${url}b\"}" >resp &&
	jq -e ".error.kind == \"bad_request\" and .error.message == \"args.url: longer than 2048 bytes\"" resp >/dev/null
'

# gateway HOSTS: nucleus-gateway run by hand, as nobody, with hosts file
# HOSTS, and asked for a connection: its answer (it started) or, when it
# ends instead, its exit status; its standard error in gw.err.
gateway() {
	python3 -c "
import os, signal, socket, subprocess, sys
a = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
c = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
h = os.open(sys.argv[2], os.O_RDONLY)
p = subprocess.Popen([sys.argv[1], '-p', 'p-hand', '-s', '{\"allow\":[]}',
    '-a', str(a[1].fileno()), '-c', str(c[1].fileno()), '-H', str(h)],
    pass_fds=(a[1].fileno(), c[1].fileno(), h),
    preexec_fn=lambda: (os.setgid(65534), os.setuid(65534)))
a[1].close(); c[1].close(); os.close(h)
c[0].settimeout(30)
try:
    c[0].send(b'{\"id\":1,\"host\":\"ok.test\",\"port\":80}')
    answer = c[0].recv(4096)
except (ConnectionResetError, BrokenPipeError):
    answer = b''
if answer:
    print(answer.decode())
    p.kill()
    p.wait()
    sys.exit(0)
sys.exit(p.wait(30))
" "$NUCLEUS_BUILD/nucleus-gateway" "$1" 2>gw.err
}

test_expect_success 'GATEWAY_HOSTS_MAX (1 MiB): a hosts file of 1 MiB - 1 bytes is read, of 1 MiB refused at start' '
	head -c 1048575 /dev/zero | tr "\0" "#" >hosts.big &&
	gateway hosts.big >answer &&
	jq -e ".id == 1 and .ok == false and .kind == \"egress_denied\"" answer >/dev/null &&
	echo "#" >>hosts.big &&
	test_expect_code 2 gateway hosts.big &&
	grep -q "longer than GATEWAY_HOSTS_MAX" gw.err
'

test_expect_success 'every log verifies; the node stops cleanly' '
	nucleus-audit-verify -q -k node.pub n/audit.log n/pods/*/*.log &&
	node_stop
'

test_done
