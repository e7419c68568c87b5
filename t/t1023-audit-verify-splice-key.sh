#!/bin/sh
test_description='nucleus-audit-verify: a rotated log'"'"'s successor must be opened by the key that wrote its predecessor, so another trusted writer cannot stand in for a successor taken away'
. "$(dirname "$0")/test-lib.sh"

test_expect_success 'setup: a node key and an authority key in one keyring, a node log rotated once' '
	audit-tool keygen n1 n.secret node >ring &&
	audit-tool keygen a1 a.secret authority >>ring &&
	audit-tool append -R 1 a.log log-a n.secret 5 >/dev/null &&
	nucleus-audit-verify -q -k ring a.log a.log.0 &&
	head -n 1 a.log | jq -e ".predecessor.log == \"log-a\"" >/dev/null
'

# What a holder of the authority key can make without the node key: the
# successor'"'"'s log.open, word for word, opened by its own key instead.
forge() {
	pk=$(awk "\$1 == \"a1\" { print \$3 }" ring) &&
	head -n 1 a.log | jq -c --arg pk "$pk" \
	    "del(.sig) | .kid = \"a1\" | .pubkey = \$pk" |
	audit-tool sign audit a.secret | jq -cS . >"$1"
}

test_expect_success 'a successor by another trusted key in place of the real one is a fault' '
	forge forged.log &&
	nucleus-audit-verify -q -k ring forged.log &&
	mkdir cut && cp a.log.0 cut/ && cp forged.log cut/a.log &&
	test_expect_code 1 nucleus-audit-verify -k ring cut/a.log cut/a.log.0 \
	    >out 2>err &&
	grep "^cut/a.log:1: broken-chain: log.open names log-a as its predecessor, which another key wrote$" err &&
	grep "^cut/a.log.0: ok" out
'

test_expect_success 'with -s, the same against the predecessor the state remembers' '
	mkdir run && cp a.log.0 run/ &&
	test_expect_code 1 nucleus-audit-verify -q -s state -k ring \
	    run/a.log.0 2>err &&
	grep "^log-a.1: missing: " err &&
	cp forged.log run/a.log &&
	test_expect_code 1 nucleus-audit-verify -q -s state -k ring run/a.log \
	    2>err &&
	grep "^run/a.log:1: broken-chain: .*which another key wrote$" err
'

test_done
