#!/bin/sh
test_description='egress: git clone over smart HTTP and HTTPS with a CA the test makes, from a local pod, through the pod'"'"'s proxy and the host'"'"'s gateway, each connection recorded'
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
pod=p-git-$suffix
test_cleanup() {
	[ -f server.pid ] && kill "$(cat server.pid)"
	[ -f git.pid ] && kill "$(cat git.pid)"
	[ -f tls.pid ] && kill "$(cat tls.pid)"
	pods_gone "p-*-$suffix*"
}

# git_server: git http-backend as a CGI of Python's server, on
# 198.18.0.1:8090 (ok.test), serving www/repo.git.
git_server() {
	mkdir -p www/cgi-bin &&
	git init -q --bare www/repo.git &&
	git -C www/repo.git config http.receivepack false &&
	git init -q src &&
	echo "hello through the gateway" >src/README &&
	git -C src add README &&
	git -C src -c user.name=t -c user.email=t@t commit -q -m first &&
	git -C src push -q "$PWD/www/repo.git" HEAD:refs/heads/main &&
	git -C www/repo.git symbolic-ref HEAD refs/heads/main &&
	# (Python's server runs a CGI as nobody: the repository is not its.)
	printf "#!/bin/sh\nGIT_PROJECT_ROOT=%s GIT_HTTP_EXPORT_ALL=1 GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=safe.directory GIT_CONFIG_VALUE_0=\"*\" exec git http-backend\n" "$PWD/www" >www/cgi-bin/git &&
	chmod +x www/cgi-bin/git &&
	(cd www && exec python3 -W ignore -m http.server --cgi --bind 198.18.0.1 8090 >../git.log 2>&1) &
	echo $! >git.pid
}

# tls_server: a CA, a certificate for ok.test, and an HTTPS server on
# 198.18.0.1:8443 that answers "hello over TLS".
tls_server() {
	openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=test-ca \
	    -keyout ca.key -out ca.pem 2>/dev/null &&
	openssl req -newkey rsa:2048 -nodes -subj /CN=ok.test \
	    -keyout srv.key -out srv.csr 2>/dev/null &&
	printf "subjectAltName=DNS:ok.test\n" >ext &&
	openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key \
	    -CAcreateserial -days 1 -extfile ext -out srv.pem 2>/dev/null &&
	python3 -c "
import http.server, ssl
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b'hello over TLS\\n'
        self.send_response(200)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)
s = http.server.HTTPServer(('198.18.0.1', 8443), H)
c = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
c.load_cert_chain('srv.pem', 'srv.key')
s.socket = c.wrap_socket(s.socket, server_side=True)
s.serve_forever()
" >tls.log 2>&1 &
	echo $! >tls.pid
}

tls_serving_() {
	curl -sf --noproxy "*" --cacert ca.pem --resolve ok.test:8443:198.18.0.1 https://ok.test:8443/ >/dev/null
}

git_serving_() {
	curl -sf --noproxy "*" http://198.18.0.1:8090/cgi-bin/git/repo.git/info/refs >/dev/null
}

test_expect_success 'setup: test hosts, a git server, a node, a pod that may reach ok.test:8090 and run git' '
	egress_hosts &&
	git_server &&
	test_wait_for "the git server" 10 git_serving_ &&
	node_setup &&
	node_start -H "$PWD/hosts" &&
	tls_server &&
	test_wait_for "the TLS server" 10 tls_serving_ &&
	egress_policy=$(echo "$egress_policy" | sed "s/{\"program\":\"env\"}/{\"program\":\"env\"},{\"program\":\"git\"},{\"program\":\"cat\"}/; s/\"web_fetch\":\"low_risk\"/\"web_fetch\":\"low_risk\",\"write_files\":\"always\"/") &&
	egress_pod $pod "{\"allow\":[{\"host\":\"ok.test\",\"ports\":[8090,8443]}]}"
'

test_expect_success 'git clone over smart HTTP, through the proxy' '
	call $pod run "{\"argv\":[\"git\",\"clone\",\"-q\",\"http://ok.test:8090/cgi-bin/git/repo.git\",\"/tmp/r\"]}" >resp &&
	jq -e ".result.exit == 0" resp >/dev/null &&
	call $pod run "{\"argv\":[\"cat\",\"/tmp/r/README\"]}" >resp &&
	test "$(jq -r .result.stdout resp)" = "hello through the gateway" &&
	grep -q "\"POST /cgi-bin/git/repo.git/git-upload-pack HTTP/1.1\" 200" git.log
'

closed_all_() {
	test "$(node_events egress.open | wc -l)" = "$(node_events egress.close | wc -l)"
}

test_expect_success 'HTTPS through CONNECT: the certificate of the name verified end to end with the test'"'"'s CA' '
	jq -n --rawfile ca ca.pem "{path: \"ca.pem\", content: \$ca}" >args.json &&
	call $pod write - <args.json >resp &&
	jq -e .ok resp >/dev/null &&
	egress_curl $pod -f --cacert /work/ca.pem https://ok.test:8443/ &&
	test "$(cat out)" = "hello over TLS" &&
	# Without it: no trust at all (60), or none to load (77: the pod has
	# no CA store from the host).
	egress_curl $pod https://ok.test:8443/ &&
	{ test "$status" = 60 || test "$status" = 77; }
'

test_expect_success 'each of its connections has an egress.open and an egress.close in the node'"'"'s log, and a decision in the pod'"'"'s' '
	test_wait_for "the close records" 10 closed_all_ &&
	test "$(node_events egress.open | grep -c "\"port\":8090")" -ge 1 &&
	pod_log $pod | jq -e -s "[.[] | select(.op == \"connect\" and .decision == \"allow\" and .host == \"ok.test\" and .port == 8090)] | length >= 1" >/dev/null
'

test_expect_success 'every log verifies, and the node stops cleanly' '
	nucleus-audit-verify -q -k node.pub n/audit.log n/pods/*/*.log &&
	node_stop
'

test_done
