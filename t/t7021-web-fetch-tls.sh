#!/bin/sh
test_description='web_fetch over HTTPS with a CA the node adds (serve -A), an untrusted one refused; web_fetch to an approval entry: refused without a token, allowed with connect_approval, the token spent once; web_search on a node without a backend'
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
pod=p-tls-$suffix
test_cleanup() {
	for f in server.pid web.pid web2.pid; do
		[ -f $f ] && kill "$(cat $f)"
	done
	pods_gone "p-*-$suffix*"
}
egress_policy='{"profile":"restrictive","capabilities":{"read_files":"never","glob_search":"never","grep_search":"never","run_bash":"never","web_fetch":"low_risk","web_search":"low_risk"}}'

fetch() {
	call $pod web_fetch "$1" >resp
}
refused() {
	test_expect_code "$1" call $pod web_fetch "$2" >resp
}

# ca NAME: a CA of that name (NAME.pem, NAME.key); cert CA NAME: a
# certificate for ok.test that CA signs (NAME.pem, NAME.key).
ca() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
	    -nodes -days 1 -subj "/CN=$1" -keyout $1.key -out $1.pem 2>/dev/null
}
cert() {
	printf "subjectAltName=DNS:ok.test\n" >san.ext &&
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	    -subj /CN=ok.test -keyout $2.key -out $2.csr 2>/dev/null &&
	openssl x509 -req -in $2.csr -CA $1.pem -CAkey $1.key -CAcreateserial \
	    -days 1 -extfile san.ext -out $2.pem 2>/dev/null
}

# Two web servers: ok.test:8443 with a certificate of the CA the node
# adds (and push.test:8090, an approval entry); ok.test:8444 with one of
# a CA nobody trusts.
web_start() {
	python3 "$TEST_DIRECTORY/helper/fetch-server.py" "$PWD/fetched" \
	    198.18.0.2:8090 198.18.0.1:8443 good.pem good.key 2>fetch.err &
	echo $! >web.pid &&
	python3 "$TEST_DIRECTORY/helper/fetch-server.py" "$PWD/fetched2" \
	    198.18.0.1:8091 198.18.0.1:8444 bad.pem bad.key 2>fetch2.err &
	echo $! >web2.pid &&
	test_wait_for "the web servers" 10 test -f fetched.ready -a -f fetched2.ready
}

# token DIGEST: a token of the vectors' authority for op connect.
token() {
	now=$(date +%s) &&
	printf '{"type":"approval","v":1,"kid":"authority-1","id":"a-%s","pod":"%s","op":"connect","args_digest":"%s","sub":"agent-1","iat":%s,"exp":%s,"nonce":"%s"}' \
	    "$suffix" "$pod" "$1" "$now" $((now + 120)) \
	    "$(od -An -N16 -tx1 /dev/urandom | tr -d " \n")" |
	    audit-tool sign approval authority.secret
}

test_expect_success 'setup: a test CA the node adds (-A), one it does not, web servers, a node, a pod with an approval entry' '
	egress_hosts &&
	ca testca && cert testca good &&
	ca rogueca && cert rogueca bad &&
	web_start &&
	cp "$TEST_DIRECTORY/vectors/authority.secret" authority.secret &&
	chmod 600 authority.secret &&
	node_setup &&
	node_start -H "$PWD/hosts" -B /etc/ssl/certs -A "$PWD/testca.pem" &&
	egress_pod $pod "{\"allow\":[{\"host\":\"ok.test\",\"ports\":[8443,8444]},{\"host\":\"push.test\",\"ports\":[8090],\"approval\":true}]}"
'

test_expect_success 'HTTPS to a host whose certificate the added CA signed: verified, fetched' '
	fetch "{\"url\":\"https://ok.test:8443/hello\"}" &&
	jq -e ".ok and .result.status == 200 and .result.body == \"hello from web_fetch\n\" and .result.url == \"https://ok.test:8443/hello\"" resp >/dev/null &&
	grep -q "^8443 GET /hello$" fetched
'

test_expect_success 'a certificate of a CA nobody trusts is refused: io_error, the server never sees the request' '
	refused 2 "{\"url\":\"https://ok.test:8444/hello\"}" &&
	jq -e ".error.kind == \"io_error\" and (.error.message | test(\"SSL certificate problem\"))" resp >/dev/null &&
	! grep -q "^8444 " fetched2
'

test_expect_success 'an approval entry without a token: approval_required, naming op connect and the args_digest a token must, as the connect decision records it' '
	refused 3 "{\"url\":\"http://push.test:8090/hello\"}" &&
	jq -e ".error.kind == \"approval_required\" and .error.op == \"connect\" and .error.obligation == \"web_fetch\" and (.error.message | test(\"connect_approval\"))" resp >/dev/null &&
	jq -r .error.args_digest resp >digest &&
	pod_log $pod | jq -e -s "[.[] | select(.op == \"connect\" and .host == \"push.test\" and .decision == \"approval_required\" and .args_digest == \"$(cat digest)\")] | length == 1" >/dev/null &&
	! grep -q "^8090 " fetched
'

test_expect_success 'with connect_approval it goes through, the token named by the connect decision; the same token again is refused (rule 7)' '
	token "$(cat digest)" >tok &&
	fetch "{\"url\":\"http://push.test:8090/hello\",\"connect_approval\":$(cat tok)}" &&
	jq -e ".ok and .result.status == 200" resp >/dev/null &&
	pod_log $pod | jq -e -s "[.[] | select(.op == \"connect\" and .host == \"push.test\" and .decision == \"allow\" and .approval.id == \"a-$suffix\")] | length == 1" >/dev/null &&
	refused 1 "{\"url\":\"http://push.test:8090/hello\",\"connect_approval\":$(cat tok)}" &&
	jq -e ".error.kind == \"invalid_approval\"" resp >/dev/null &&
	pod_log $pod | jq -e -s "[.[] | select(.op == \"connect\" and .decision == \"deny\" and (.reason | test(\"rule 7\")))] | length == 1" >/dev/null &&
	test "$(grep -c "^8090 GET /hello$" fetched)" = 1
'

test_expect_success 'a token for another connection does not open this one; connect_approval must be a token object' '
	token "$(cat digest | tr 0-9a-f 1-9a-f0)" >tok2 &&
	refused 1 "{\"url\":\"http://push.test:8090/hello\",\"connect_approval\":$(cat tok2)}" &&
	jq -e ".error.kind == \"invalid_approval\"" resp >/dev/null &&
	refused 2 "{\"url\":\"http://push.test:8090/hello\",\"connect_approval\":\"x\"}" &&
	jq -e ".error.kind == \"bad_request\" and (.error.message | test(\"args.connect_approval: expected a token object\"))" resp >/dev/null &&
	test "$(grep -c "^8090 GET /hello$" fetched)" = 1
'

test_expect_success 'web_search on a node without a search backend: unavailable, saying so' '
	test_expect_code 2 call $pod web_search "{\"query\":\"a\"}" >resp &&
	jq -e ".error.kind == \"unavailable\" and (.error.message | test(\"no search backend\"))" resp >/dev/null
'

test_expect_success 'the logs verify; the node stops cleanly' '
	nucleus-audit-verify -q -k node.pub n/audit.log n/pods/*/*.log &&
	node_stop
'

test_done
