#!/bin/sh
test_description='rotated audit logs: log.close and the successor'"'"'s log.open chain the files, and nucleus-audit-verify follows the chain'
. "$(dirname "$0")/test-lib.sh"

test_expect_success 'setup: a writer key and its keyring' '
	audit-tool keygen w1 w.secret authority >ring
'

test_expect_success 'a log rotates by size while four threads append' '
	mkdir size &&
	audit-tool append -t 4 -r 4000 size/a.log log-a w.secret 400 >acks &&
	test_line_count = 400 acks &&
	test -f size/a.log.0 && test -f size/a.log.1 && test -f size/a.log.2 &&
	for f in size/a.log.*; do
		tail -n 1 "$f" | jq -e ".event == \"log.close\" and .reason == \"size\"" >/dev/null || return 1
	done &&
	! ls size/.a.log.next 2>/dev/null &&
	head -n 1 size/a.log.1 >first &&
	jq -e ".event == \"log.open\" and .log == \"log-a.1\" and .predecessor.log == \"log-a\" and .predecessor.file == \"a.log.0\"" first &&
	tail -n 1 size/a.log.0 >close0 &&
	jq -e ".next == \"log-a.1\"" close0 &&
	test "$(jq .predecessor.seq first)" = "$(jq .seq close0)" &&
	test "$(jq -r .predecessor.hash first)" = "$(tr -d "\n" <close0 | b2sum -l 256 | cut -d" " -f1)"
'

test_expect_success 'the files verify as one chain, in any order' '
	nucleus-audit-verify -j -k ring size/a.log* >out &&
	test "$(jq -s "map(select(.ok)) | length" out)" = "$(ls size/a.log* | wc -l)" &&
	test "$(jq -s "map(.records) | add" out)" -gt 400 &&
	nucleus-audit-verify -q -k ring $(ls size/a.log* | sort -r) &&
	test "$(cat size/a.log* | grep -c "\"event\":\"test\"")" = 400
'

test_expect_success 'a log rotates on demand while records flow' '
	mkdir asked &&
	audit-tool append -t 4 -R 3 asked/a.log log-b w.secret 400 >acks &&
	test_line_count = 400 acks &&
	test -f asked/a.log.2 &&
	tail -n 1 asked/a.log.0 | jq -e ".reason == \"asked\"" &&
	nucleus-audit-verify -q -k ring asked/a.log*
'

test_expect_success 'a missing middle file is a fault (exit 1)' '
	cp -r size gap &&
	rm gap/a.log.1 &&
	test_expect_code 1 nucleus-audit-verify -k ring gap/a.log* >out 2>err &&
	grep "^log-a.1: missing: the predecessor of log-a.2 (gap/a.log.2) is not among the logs given" err &&
	test_expect_code 1 nucleus-audit-verify -j -k ring gap/a.log* >out &&
	jq -s -e "map(select(.name == \"missing\" and .fault == 9 and .log == \"log-a.1\")) | length == 1" out
'

test_expect_success 'a tampered predecessor is a fault' '
	cp -r size edit &&
	sed "2s/\"i\":[0-9]*,/\"i\":999,/" size/a.log.0 >edit/a.log.0 &&
	test_expect_code 1 nucleus-audit-verify -k ring edit/a.log* 2>err &&
	grep "^edit/a.log.0:2: bad-signature: " err
'

test_expect_success 'a predecessor replaced by another valid chain'"'"'s file is a fault' '
	mkdir other &&
	audit-tool append -r 4000 other/a.log log-a w.secret 100 >/dev/null &&
	cp -r size splice &&
	cp other/a.log.1 splice/a.log.1 &&
	nucleus-audit-verify -q -k ring splice/a.log.1 &&
	test_expect_code 1 nucleus-audit-verify -k ring splice/a.log* 2>err &&
	grep "^splice/a.log.1:1: broken-chain: log.open names log-a as its predecessor, which does not end in a log.close naming this log at that seq and hash" err
'

test_expect_success 'a state file follows the chain across rotations without reading it again' '
	mkdir run &&
	audit-tool append -r 4000 run/a.log log-c w.secret 60 >/dev/null &&
	nucleus-audit-verify -j -s state -k ring run/a.log* >out &&
	jq -s -e "all(.ok and .verified == .records)" out &&
	n=$(ls run/a.log.* | wc -l) &&
	audit-tool append -r 4000 run/a.log log-c w.secret 60 >/dev/null &&
	nucleus-audit-verify -j -s state -k ring run/a.log* >out &&
	jq -s -e "all(.ok)" out &&
	for f in $(seq 0 $((n - 1))); do
		jq -s -e "map(select(.file == \"run/a.log.$f\"))[0].verified == 0" out >/dev/null || return 1
	done &&
	jq -s -e "map(select(.file == \"run/a.log.$n\"))[0] | .verified < .records and .verified > 0" out &&
	jq -s -e "map(select(.log == \"log-c\"))[0] | .retired == true and .next == \"log-c.1\"" state
'

test_expect_success 'a predecessor pruned once its successor was verified is no fault, and is forgotten' '
	rm run/a.log.0 run/a.log.1 &&
	nucleus-audit-verify -q -s state -k ring run/a.log* &&
	! grep "\"log\":\"log-c\"," state &&
	! grep "\"log\":\"log-c.1\"," state &&
	nucleus-audit-verify -q -s state -k ring run/a.log*
'

test_expect_success 'a verified log deleted is a fault, run after run' '
	audit-tool append solo.log log-d w.secret 5 >/dev/null &&
	nucleus-audit-verify -q -s state -k ring run/a.log* solo.log &&
	rm solo.log &&
	test_expect_code 1 nucleus-audit-verify -q -s state -k ring run/a.log* 2>err &&
	grep "^log-d: missing: verified before in $PWD/solo.log (6 records, to seq 5), now gone from it" err &&
	test_expect_code 1 nucleus-audit-verify -q -s state -k ring run/a.log* 2>err &&
	grep "^log-d: missing: " err
'

test_expect_success 'a log not given but still in its file is no fault' '
	audit-tool append kept.log log-e w.secret 5 >/dev/null &&
	nucleus-audit-verify -q -s state2 -k ring kept.log run/a.log &&
	nucleus-audit-verify -q -s state2 -k ring run/a.log
'

test_expect_success 'a closed log pruned before its successor was ever verified is a fault' '
	mkdir early &&
	audit-tool append early/a.log log-f w.secret 5 >/dev/null &&
	nucleus-audit-verify -q -s state3 -k ring early/a.log &&
	audit-tool append -R 1 early/a.log log-f w.secret 0 >/dev/null &&
	rm early/a.log.0 &&
	test_expect_code 1 nucleus-audit-verify -s state3 -k ring early/a.log* 2>err &&
	grep "^log-f: missing: " err
'

test_expect_success 'a rotation cut short after its log.close is finished at the next open' '
	mkdir cut &&
	cp size/a.log.1 cut/a.log &&
	audit-tool append cut/a.log log-a w.secret 3 >/dev/null &&
	cmp size/a.log.1 cut/a.log.1 &&
	head -n 1 cut/a.log | jq -e ".log == \"log-a.2\" and .predecessor.log == \"log-a.1\"" &&
	sed -n 2p cut/a.log | jq -e ".event == \"log.resume\"" &&
	nucleus-audit-verify -q -k ring cut/a.log cut/a.log.1
'

# Every acknowledged "SEQ HASH" of acks is a line of the files.
acked_all_there() {
	python3 - "$@" <<-\PY
	import hashlib, sys
	have = set()
	for f in sys.argv[2:]:
	    for line in open(f, "rb"):
	        if line.endswith(b"\n"):
	            have.add(hashlib.blake2b(line[:-1], digest_size=32).hexdigest())
	missing = [l for l in open(sys.argv[1]) if l.split()[1] not in have]
	sys.exit(1 if missing else 0)
	PY
}

test_expect_success 'killed (-9) while it rotates, a writer loses no acknowledged record, and reopened its files chain' '
	mkdir kill &&
	for t in 1 2 3 4 5 6; do
		{ audit-tool append -t 4 -r 3000 kill/a.log log-k w.secret 1000000 >>kill/acks & } &&
		pid=$! &&
		sleep 0.$((t * 7 % 5 + 1)) &&
		kill -KILL $pid &&
		test_wait_for "the writer killed" 10 test_child_ended $pid &&
		# Its threads may outlive its main one a moment, and the lock.
		test_wait_for "the killed writer'"'"'s lock gone" 10 flock -n kill/a.log true &&
		audit-tool append -r 3000 kill/a.log log-k w.secret 0 >/dev/null &&
		! ls kill/.a.log.next 2>/dev/null &&
		nucleus-audit-verify -q -k ring kill/a.log* || return 1
	done &&
	test "$(ls kill/a.log.* | wc -l)" -gt 6 &&
	test_line_count -gt 0 kill/acks &&
	acked_all_there kill/acks kill/a.log*
'

test_expect_success 'a log that must be written with a key-cert does not rotate' '
	audit-tool keygen n1 n.secret authority >nring &&
	audit-tool cert n.secret log-g w.secret >cert &&
	test_expect_code 2 audit-tool append -c cert -R 1 certed.log log-g w.secret 1 2>err &&
	grep "a log opened with a key-cert cannot rotate" err
'

test_done
