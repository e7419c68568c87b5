#!/bin/sh
test_description='nucleus-audit-verify: the vectors'"'"' verdicts, output, exit statuses'
. "$(dirname "$0")/test-lib.sh"

vectors=$TEST_DIRECTORY/vectors

test_expect_success 'setup: the vectors, the keyring made private' '
	cp "$vectors"/audit-*.log "$vectors"/audit-verdicts.json . &&
	cp "$vectors"/keyring keyring &&
	chmod 600 keyring
'

# Every verdict of audit-verdicts.json, in a loop: new vectors dropped in
# t/vectors are picked up without a change here.
test_expect_success 'every verdict of audit-verdicts.json is reproduced' '
	n=$(jq length audit-verdicts.json) &&
	test "$n" -gt 0 &&
	i=0 &&
	while [ $i -lt $n ]; do
		v=$(jq -c ".[$i]" audit-verdicts.json) &&
		file=$(echo "$v" | jq -r .file) &&
		nucleus-audit-verify -j -k keyring "$file" >out 2>err
		status=$?
		if [ "$(echo "$v" | jq .ok)" = true ]; then
			test $status -eq 0 &&
			test "$(jq .records out)" = "$(echo "$v" | jq .records)" &&
			test "$(jq -r .head.hash out)" = "$(echo "$v" | jq -r .head)"
		else
			test $status -eq 1 &&
			test "$(jq .fault out)" = "$(echo "$v" | jq .fault)" &&
			test "$(jq .line out)" = "$(echo "$v" | jq .line)"
		fi || { echo "verdict $i ($file):"; cat out err; return 1; }
		i=$((i + 1))
	done
'

test_expect_success 'a good log: one line on stdout, exit 0' '
	nucleus-audit-verify -k keyring audit-valid.log >out 2>err &&
	echo "audit-valid.log: ok, 9 records, head 8 2c5debd97d664ece74c6ad3e8808b667792f772521b75b6c21502ec5a381e6d2" >expect &&
	test_cmp expect out &&
	test_line_count = 0 err
'

test_expect_success '-q is quiet on success' '
	nucleus-audit-verify -q -k keyring audit-valid.log >out 2>err &&
	test_line_count = 0 out &&
	test_line_count = 0 err
'

test_expect_success 'a fault: FILE:LINE: NAME: detail on stderr, exit 1' '
	test_expect_code 1 nucleus-audit-verify -q -k keyring audit-edited.log >out 2>err &&
	test_line_count = 0 out &&
	echo "audit-edited.log:3: bad-signature: bad signature" >expect &&
	test_cmp expect err &&
	test_expect_code 1 nucleus-audit-verify -k keyring audit-torn.log 2>err &&
	grep "^audit-torn.log:9: torn: " err
'

test_expect_success 'several logs: each reported, the worst status wins' '
	test_expect_code 1 nucleus-audit-verify -k keyring audit-valid.log audit-spliced.log >out 2>err &&
	test_line_count = 1 out &&
	grep "^audit-spliced.log:8: wrong-log: " err &&
	test_expect_code 2 nucleus-audit-verify -k keyring audit-spliced.log nosuch.log 2>err &&
	grep "^nucleus-audit-verify: nosuch.log: No such file or directory" err
'

test_expect_success '-j: one JSON object per log' '
	test_expect_code 1 nucleus-audit-verify -j -k keyring audit-valid.log audit-deleted.log >out &&
	test_line_count = 2 out &&
	sed -n 1p out | jq -e ".ok == true and .log == \"pod-p-0001\" and .records == 9 and .head.seq == 8" &&
	sed -n 2p out | jq -e ".ok == false and .fault == 4 and .name == \"bad-seq\" and .line == 5"
'

test_expect_success '- reads standard input' '
	nucleus-audit-verify -k keyring - <audit-valid.log >out &&
	grep "^-: ok, 9 records" out
'

test_expect_success 'trust: the writer key must be in the keyring or certified' '
	echo "# nobody" >empty && chmod 600 empty &&
	test_expect_code 1 nucleus-audit-verify -k empty audit-valid.log 2>err &&
	grep "^audit-valid.log:1: bad-signature: the key-cert does not verify" err &&
	grep -v "^node-1" keyring >nonode && chmod 600 nonode &&
	test_expect_code 1 nucleus-audit-verify -k nonode audit-valid.log 2>err &&
	grep ":1: bad-signature" err &&
	echo "pod-key ed25519 OzXLVPdhsk+3t8xO+L0mZ3PffOmyKRpFHcID/ays0iU=" >podonly &&
	nucleus-audit-verify -q -k podonly audit-valid.log
'

test_expect_success 'key errors exit 2: an unreadable or world-readable secret keyring' '
	test_expect_code 2 nucleus-audit-verify -k nosuch audit-valid.log 2>err &&
	grep "nosuch: No such file" err &&
	cp keyring open && chmod 644 open &&
	test_expect_code 2 nucleus-audit-verify -k open audit-valid.log 2>err &&
	grep "hmac-sha256 key is a secret" err
'

test_expect_success 'usage errors exit 2 with the synopsis' '
	test_expect_code 2 nucleus-audit-verify audit-valid.log 2>err &&
	grep "^usage: nucleus-audit-verify \[-jq\] -k keyring \[-s statefile\] log ...$" err &&
	test_expect_code 2 nucleus-audit-verify -k keyring 2>err &&
	test_expect_code 2 nucleus-audit-verify -x -k keyring audit-valid.log 2>err
'

test_expect_success 'logs from the writer verify, with a key-cert from the node' '
	audit-tool keygen node-2 node.secret node >ring &&
	audit-tool keygen pod-9 pod.secret >/dev/null &&
	chmod 600 ring &&
	audit-tool cert node.secret pod-9-log pod.secret >cert.json &&
	audit-tool append -c cert.json -t 4 w.log pod-9-log pod.secret 40 >durable &&
	test_line_count = 40 durable &&
	nucleus-audit-verify -k ring w.log >out &&
	grep "^w.log: ok, 41 records, head 40 $(sort -n durable | tail -1 | cut -d" " -f2)$" out
'

test_expect_success 'a key-cert for another log does not vouch for this one' '
	audit-tool cert node.secret other-log pod.secret >cert2.json &&
	audit-tool append -c cert2.json w2.log pod-9-log pod.secret 1 >/dev/null &&
	test_expect_code 1 nucleus-audit-verify -k ring w2.log 2>err &&
	grep "^w2.log:1: bad-signature: the key-cert is for another log" err
'

test_expect_success 'roles: a key-cert vouches only when its signer has the role node' '
	audit-tool keygen auth-3 auth.secret authority >authring &&
	audit-tool keygen node-3 node3.secret node >>authring &&
	chmod 600 authring &&
	grep "^auth-3 ed25519 .* authority$" authring &&
	audit-tool cert auth.secret pod-9-log pod.secret >authcert.json &&
	audit-tool append -c authcert.json a3.log pod-9-log pod.secret 2 >/dev/null &&
	test_expect_code 1 nucleus-audit-verify -k authring a3.log 2>err &&
	echo "a3.log:1: bad-signature: the key-cert'"'"'s signer may not vouch for this log: auth-3 has the role authority: only a key with the role node certifies another key'"'"'s log" >expect &&
	test_cmp expect err &&
	audit-tool cert node3.secret pod-9-log pod.secret >nodecert.json &&
	audit-tool append -c nodecert.json n3.log pod-9-log pod.secret 2 >/dev/null &&
	nucleus-audit-verify -q -k authring n3.log
'

test_expect_success 'roles: a key with no role, or an agent, certifies no log' '
	sed "s/ authority\$//" authring >norole && chmod 600 norole &&
	test_expect_code 1 nucleus-audit-verify -k norole a3.log 2>err &&
	grep "^a3.log:1: bad-signature: .*auth-3 has the role (none): only a key with the role node" err &&
	sed "s/ authority\$/ agent/" authring >agentring && chmod 600 agentring &&
	test_expect_code 1 nucleus-audit-verify -k agentring a3.log 2>err &&
	grep "auth-3 has the role agent" err
'

test_expect_success 'roles: a daemon'"'"'s key verifies its own log; an agent'"'"'s key opens none' '
	audit-tool append a4.log authority-log auth.secret 3 >/dev/null &&
	nucleus-audit-verify -k authring a4.log >out &&
	grep "^a4.log: ok, 4 records" out &&
	nucleus-audit-verify -q -k norole a4.log &&
	sed "s/ authority\$/ proxy/" authring >proxyring && chmod 600 proxyring &&
	nucleus-audit-verify -q -k proxyring a4.log &&
	test_expect_code 1 nucleus-audit-verify -k agentring a4.log 2>err &&
	echo "a4.log:1: bad-signature: the writer'"'"'s key may not open a log: auth-3 has the role agent, which writes no log (node, authority, proxy or no role do)" >expect &&
	test_cmp expect err
'

test_expect_success 'the verifier holds no signing code' '
	nm "$NUCLEUS_BUILD/nucleus-audit-verify" >syms &&
	! grep -E " (crypto_sign_detached|crypto_sign_seed_keypair|crypto_sign_keypair|crypto_auth_hmacsha256)(@|$)" syms &&
	! grep -E " T (audit_sign|audit_record|audit_seckey_load|audit_log_open)$" syms &&
	grep -E "crypto_sign_verify_detached" syms
'

test_done
