#!/bin/sh
test_description='web_fetch (t7004, redirects in t7005): GET and HEAD through the pod'"'"'s own egress (each connection a CONNECT decided and recorded, made by the gateway), the body capped, redirects re-checked hop by hop, TLS verified, no fetch without network'
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
net=p-fnet-$suffix
none=p-fnone-$suffix
test_cleanup() {
	for f in server.pid fetch.pid; do
		[ -f $f ] && kill "$(cat $f)"
	done
	pods_gone "p-*-$suffix*"
}

# fetch POD ARGS-JSON: web_fetch as agent-1; the response in resp.
# refused CODE POD ARGS-JSON: the same, refused; nucleus-node call exits
# CODE (1 for a refusal, 2 for an error: nucleus-node(8)).
fetch() {
	call "$1" web_fetch "$2" >resp
}
refused() {
	test_expect_code "$1" call "$2" web_fetch "$3" >resp
}

web_start() {
	openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=ok.test \
	    -keyout tls.key -out tls.pem 2>/dev/null &&
	python3 "$TEST_DIRECTORY/helper/fetch-server.py" "$PWD/fetched" \
	    198.18.0.1:8090 198.18.0.1:8443 tls.pem tls.key 2>fetch.err &
	echo $! >fetch.pid &&
	test_wait_for "the web server" 10 test -f fetched.ready
}

test_expect_success 'setup: test hosts, a web server on ok.test (8090, and TLS on 8443 with a certificate no system CA signed), a node, two pods' '
	egress_hosts &&
	web_start &&
	node_setup &&
	node_start -H "$PWD/hosts" -B /etc/ssl/certs &&
	egress_pod $net "{\"allow\":[{\"host\":\"ok.test\",\"ports\":[8090,8443]},{\"host\":\"www.ok.test\",\"ports\":[8090]}]}" &&
	egress_pod $none
'

test_expect_success 'GET of an allowed host: status, the headers that matter, the body, the final URL' '
	fetch $net "{\"url\":\"http://ok.test:8090/hello\"}" &&
	jq -e ".ok and .result.status == 200 and .result.url == \"http://ok.test:8090/hello\" and .result.body == \"hello from web_fetch\n\" and .result.bytes == 21 and .result.truncated == false and .result.headers[\"content-type\"] == \"text/plain\" and .result.headers[\"content-length\"] == \"21\" and (.result.headers | has(\"x-ignored\") | not) and .result.redirects == []" resp >/dev/null
'

test_expect_success 'the fetch is recorded: its decision and outcome, and the connection it made as a connect decision, an egress.open and an egress.close' '
	pod_log $net >log &&
	jq -e -s "[.[] | select(.event == \"decision\" and .op == \"web_fetch\" and .decision == \"allow\")] | length == 1" log >/dev/null &&
	jq -e -s "[.[] | select(.event == \"outcome\" and .status == \"ok\" and .http_status == 200 and .url == \"http://ok.test:8090/hello\")] | length == 1" log >/dev/null &&
	jq -e -s "[.[] | select(.event == \"decision\" and .op == \"connect\" and .host == \"ok.test\" and .port == 8090 and .decision == \"allow\")] | length == 1" log >/dev/null &&
	node_events egress.open | jq -e -s "[.[] | select(.host == \"ok.test\" and .port == 8090)] | length == 1" >/dev/null &&
	test_wait_for "its close record" 10 node_has_event_ ".event == \"egress.close\""
'

test_expect_success 'HEAD: the status and headers, no body' '
	fetch $net "{\"url\":\"http://ok.test:8090/bytes/5000\",\"method\":\"HEAD\"}" &&
	jq -e ".ok and .result.status == 200 and .result.headers[\"content-length\"] == \"5000\" and .result.bytes == 0 and (.result | has(\"body\") | not)" resp >/dev/null &&
	grep -q "^8090 HEAD /bytes/5000$" fetched
'

test_expect_success 'the body is kept up to max_bytes and said to be truncated; a body that is not UTF-8 comes as base64' '
	fetch $net "{\"url\":\"http://ok.test:8090/bytes/5000\",\"max_bytes\":100}" &&
	jq -e ".ok and .result.bytes == 100 and .result.truncated == true and (.result.body | length) == 100" resp >/dev/null &&
	fetch $net "{\"url\":\"http://ok.test:8090/bytes/100\",\"max_bytes\":100}" &&
	jq -e ".ok and .result.bytes == 100 and .result.truncated == false" resp >/dev/null &&
	fetch $net "{\"url\":\"http://ok.test:8090/binary\"}" &&
	jq -e ".ok and .result.body_base64 == \"//4AAQ==\" and (.result | has(\"body\") | not)" resp >/dev/null
'

test_expect_success 'FETCH_BODY_MAX (1 MiB) bounds max_bytes; other args refused by name' '
	fetch $net "{\"url\":\"http://ok.test:8090/hello\",\"max_bytes\":1048576}" &&
	jq -e ".ok" resp >/dev/null &&
	refused 2 $net "{\"url\":\"http://ok.test:8090/hello\",\"max_bytes\":1048577}" &&
	jq -e ".error.kind == \"bad_request\" and (.error.message | test(\"args.max_bytes: expected 1 to 1048576\"))" resp >/dev/null &&
	refused 2 $net "{\"url\":\"ftp://ok.test/x\"}" &&
	jq -e ".error.kind == \"bad_request\" and (.error.message | test(\"args.url\"))" resp >/dev/null &&
	refused 2 $net "{\"url\":\"http://ok.test:8090/hello\",\"method\":\"POST\"}" &&
	jq -e ".error.kind == \"bad_request\" and (.error.message | test(\"args.method\"))" resp >/dev/null &&
	refused 2 $net "{\"url\":\"http://ok.test:8090/hello\",\"body\":\"x\"}" &&
	jq -e ".error.kind == \"bad_request\" and (.error.message | test(\"args.body: unknown member\"))" resp >/dev/null
'

test_expect_success 'a host the network member does not list is refused, the refusal recorded as a connect decision' '
	refused 1 $net "{\"url\":\"http://ok.test:8091/hello\"}" &&
	jq -e ".error.kind == \"egress_denied\"" resp >/dev/null &&
	pod_log $net | jq -e -s "[.[] | select(.event == \"decision\" and .op == \"connect\" and .port == 8091 and .decision == \"deny\")] | length == 1" >/dev/null
'

test_expect_success 'a pod without network cannot fetch' '
	refused 1 $none "{\"url\":\"http://ok.test:8090/hello\"}" &&
	jq -e ".error.kind == \"egress_denied\" and (.error.message | test(\"no network member\"))" resp >/dev/null &&
	! grep -q "^8090 GET /hello$" fetched.none 2>/dev/null
'

test_expect_success 'TLS is verified against the system CAs (bound by serve -B /etc/ssl/certs): a certificate none of them signed is refused' '
	refused 2 $net "{\"url\":\"https://ok.test:8443/hello\"}" &&
	jq -e ".error.kind == \"io_error\" and (.error.message | test(\"SSL certificate problem\"))" resp >/dev/null &&
	! grep -q "^8443 " fetched
'

# mcp_fetch ARGS-JSON: nucleus-mcp for the pod, its tool web_fetch
# called once; the tools/call answer in resp.
mcp_fetch() {
	{
		printf '%s\n' '{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}' \
		    '{"jsonrpc":"2.0","method":"notifications/initialized"}' \
		    '{"jsonrpc":"2.0","id":1,"method":"tools/list"}'
		printf '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"web_fetch","arguments":%s}}\n' "$1"
	} | timeout 60 nucleus-mcp -l "$PWD/n/node.sock" -k agent-1.key $net >mcp.out &&
	jq -c "select(.id == 1)" mcp.out >tools &&
	jq -c "select(.id == 2)" mcp.out >resp
}

test_expect_success 'nucleus-mcp has web_fetch as a tool (open-world, read-only), its result the operation'"'"'s' '
	mcp_fetch "{\"url\":\"http://ok.test:8090/hello\",\"max_bytes\":5}" &&
	jq -e ".result.tools[] | select(.name == \"web_fetch\") | .annotations.openWorldHint and .annotations.readOnlyHint and .inputSchema.required == [\"url\"] and .inputSchema.properties.method.enum == [\"GET\",\"HEAD\"]" tools >/dev/null &&
	jq -e ".result.isError == false and .result.structuredContent.body == \"hello\" and .result.structuredContent.truncated and .result.structuredContent.status == 200" resp >/dev/null &&
	mcp_fetch "{\"url\":\"http://ok.test:8091/hello\"}" &&
	jq -e ".result.isError and (.result.content[0].text | startswith(\"egress_denied: \"))" resp >/dev/null
'

test_expect_success 'the node stops cleanly' '
	nucleus-audit-verify -q -k node.pub n/audit.log n/pods/*/*.log &&
	node_stop
'

test_done
