#!/bin/sh
test_description='egress: real curl in a local pod, through the pod'"'"'s HTTP proxy and SOCKS5, out through the host'"'"'s gateway: names and ports allowed, refused classes of address, cidr entries, no way out without the proxy or without network, a hostile proxy, every connection recorded before it is made'
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
net=p-net-$suffix
cidr=p-cidr-$suffix
none=p-none-$suffix
test_cleanup() {
	[ -f server.pid ] && kill "$(cat server.pid)"
	pods_gone "p-*-$suffix*"
}

test_expect_success 'setup: test hosts in the namespace, a node whose gateways resolve from the hosts file, three pods' '
	egress_hosts &&
	node_setup &&
	node_start -H "$PWD/hosts" &&
	egress_pod $net "{\"allow\":[{\"host\":\"ok.test\",\"ports\":[8080]},{\"host\":\"*.ok.test\",\"ports\":[8080]},{\"host\":\"lo.test\",\"ports\":[8080]},{\"host\":\"meta.test\",\"ports\":[8080]},{\"host\":\"private.test\",\"ports\":[8080]}]}" &&
	egress_pod $cidr "{\"allow\":[{\"cidr\":\"127.0.0.0/8\",\"ports\":[8080]},{\"cidr\":\"169.254.169.254/32\",\"ports\":[8080]},{\"cidr\":\"10.0.0.0/8\",\"ports\":[8080]}]}" &&
	egress_pod $none
'

test_expect_success 'an allowed name and port, through the HTTP proxy (plain HTTP)' '
	egress_curl $net -f http://ok.test:8080/ &&
	test "$status" = 0 &&
	test "$(cat out)" = "hello from 198.18.0.1:8080"
'

test_expect_success 'the same, through CONNECT' '
	egress_curl $net -f -p http://ok.test:8080/ &&
	test "$(cat out)" = "hello from 198.18.0.1:8080"
'

test_expect_success 'the same, through SOCKS5 (the name resolved by the gateway), and a "*." pattern' '
	egress_curl $net -f -x socks5h://127.0.0.1:3128 http://www.ok.test:8080/ &&
	test "$(cat out)" = "hello from 198.18.0.1:8080"
'

test_expect_success 'the same name on another port: HTTP 403 with the reason, and SOCKS5 refused' '
	egress_curl $net http://ok.test:8081/ -w "%{http_code}" &&
	grep -q "^egress_denied: no entry of the pod'"'"'s network.allow admits ok.test port 8081" out &&
	grep -q "^403$" out &&
	egress_curl $net -x socks5h://127.0.0.1:3128 http://ok.test:8081/ &&
	test "$status" = 97 &&
	! grep -q " 198.18.0.1 8081$" seen
'

test_expect_success 'a name not on the list is refused by the proxy, and the refusal recorded in the pod'"'"'s log' '
	egress_curl $net -p http://other.test:8080/ &&
	test "$status" != 0 &&
	pod_log $net | jq -e -s "[.[] | select(.event == \"decision\" and .op == \"connect\" and .host == \"other.test\" and .decision == \"deny\" and .kind == \"egress_denied\")] | length == 1" >/dev/null &&
	! grep -q " 198.18.0.2 " seen
'

test_expect_success 'names that resolve to loopback, to 169.254.169.254 and to a private address are refused, the address said' '
	for h in lo.test:127.0.0.2:loopback meta.test:169.254.169.254:link-local private.test:10.0.0.1:private; do
		name=${h%%:*} && rest=${h#*:} && addr=${rest%%:*} && class=${rest#*:} &&
		egress_curl $net http://$name:8080/ || return 1
		grep -q "^forbidden_address: $name resolves to $addr, a $class address" out &&
		node_events egress.refused | jq -e -s "[.[] | select(.host == \"$name\" and .address == \"$addr\" and .address_class == \"$class\" and .pod == \"$net\")] | length == 1" >/dev/null &&
		! grep -q " $addr 8080$" seen || return 1
	done
'

test_expect_success 'the same addresses are reached where a cidr entry names them, by name and by address' '
	egress_curl $cidr -f http://lo.test:8080/ &&
	test "$(cat out)" = "hello from 127.0.0.2:8080" &&
	egress_curl $cidr -f http://169.254.169.254:8080/ &&
	test "$(cat out)" = "hello from 169.254.169.254:8080" &&
	egress_curl $cidr -f -x socks5h://127.0.0.1:3128 http://private.test:8080/ &&
	test "$(cat out)" = "hello from 10.0.0.1:8080" &&
	egress_curl $cidr http://ok.test:8080/ &&
	grep -q "^egress_denied: no entry" out
'

test_expect_success 'a program that ignores the proxy variables has no route' '
	egress_curl $net --noproxy "*" http://198.18.0.1:8080/ &&
	test "$status" != 0 &&
	egress_curl $net --noproxy "*" http://127.0.0.2:8080/ &&
	test "$status" != 0
'

test_expect_success 'a pod without network has no way out at all: no proxy listening, no variables' '
	egress_curl $none http://ok.test:8080/ &&
	test "$status" != 0 &&
	egress_curl $none -x http://127.0.0.1:3128 http://ok.test:8080/ &&
	test "$status" != 0 &&
	call $none run "{\"argv\":[\"env\"]}" >resp &&
	jq -r .result.stdout resp >env &&
	grep -q "^PATH=" env &&
	! grep -qi "_proxy=" env &&
	call $net run "{\"argv\":[\"env\"]}" >resp &&
	jq -r .result.stdout resp >env &&
	grep -q "^http_proxy=http://127.0.0.1:3128$" env &&
	! test -e n/pods/$none/egress.sock
'

test_expect_success 'a hostile proxy asking the gateway directly for what the spec does not allow is refused and recorded' '
	python3 "$TEST_DIRECTORY/helper/egress-ask.py" n/pods/$net/egress.sock "{\"id\":1,\"host\":\"ok.test\",\"port\":8081}" >ans &&
	jq -e ".ok == false and .kind == \"egress_denied\"" ans >/dev/null &&
	python3 "$TEST_DIRECTORY/helper/egress-ask.py" n/pods/$net/egress.sock "{\"id\":2,\"host\":\"198.18.0.1\",\"port\":8080}" >ans &&
	jq -e ".ok == false and .kind == \"egress_denied\"" ans >/dev/null &&
	python3 "$TEST_DIRECTORY/helper/egress-ask.py" n/pods/$net/egress.sock "{\"id\":3,\"host\":\"lo.test\",\"port\":8080}" >ans &&
	jq -e ".ok == false and .kind == \"forbidden_address\"" ans >/dev/null &&
	node_events egress.refused | jq -e -s "[.[] | select(.pod == \"$net\" and .port == 8081 and .kind == \"egress_denied\")] | length == 1" >/dev/null &&
	! grep -q " 198.18.0.1 8081$" seen
'

opens_closed() {
	test "$(node_events egress.open | wc -l)" = "$(node_events egress.close | wc -l)"
}

test_expect_success 'every connection a test host saw has its egress.open before it, and an egress.close after' '
	test_wait_for "a close record for each open one" 10 opens_closed &&
	node_events egress.open >opens &&
	test "$(wc -l <opens)" = "$(wc -l <seen)" &&
	while read -r ms addr port; do
		jq -e -s "[.[] | select(.address == \"$addr\" and .port == $port and .ts <= $ms)] | length >= 1" opens >/dev/null || return 1
	done <seen
'

test_expect_success 'every log verifies: the node'"'"'s, each pod'"'"'s' '
	nucleus-audit-verify -q -k node.pub n/audit.log n/pods/*/*.log
'

test_expect_success 'the node stops cleanly (under SANITIZE, nothing reported: the gateways write to its standard error)' '
	node_stop
'

test_done
