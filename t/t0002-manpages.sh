#!/bin/sh
test_description='man pages: lint-clean, and each program'"'"'s usage matches its SYNOPSIS'
. "$(dirname "$0")/test-lib.sh"

man=$TEST_DIRECTORY/../man

test_expect_success MANDOC 'every page is lint-clean under mandoc -Tlint' '
	mandoc -Tlint -Wwarning "$man"/*.[1-8]
'

# The SYNOPSIS as mandoc renders it: one line per command form.
synopsis() {
	MANWIDTH=400 mandoc -Tascii -Owidth=400 "$1" | col -b |
	    sed -n "/^SYNOPSIS/,/^[A-Z]/p" | sed "1d;\$d" |
	    sed "s/^ *//" | grep .
}

test_expect_success MANDOC 'usage() of every program matches its SYNOPSIS' '
	for page in "$man"/*.1 "$man"/*.8; do
		[ -e "$page" ] || continue
		prog=$(basename "$page" | sed "s/\.[18]$//")
		[ -x "$NUCLEUS_BUILD/$prog" ] || continue
		synopsis "$page" >expect.$prog &&
		"$NUCLEUS_BUILD/$prog" 2>&1 >/dev/null </dev/null |
		    sed "s/^usage: //; s/^ *//" >actual.$prog
		test_cmp expect.$prog actual.$prog || return 1
	done
'

# The closed list of error kinds, as the formats define it.
kinds="bad_request too_large auth_failed replayed forbidden unknown_pod
insufficient_capability path_denied sandbox_escape command_denied
approval_required invalid_approval budget_exhausted time_window
egress_denied timeout io_error unavailable internal unknown_request
not_pending quota_exceeded"

test_expect_success 'nucleus-protocol(7) documents every error kind, and no other' '
	for k in $kinds; do echo $k; done | sort >expect &&
	sed -n "/^\.Ss Error kinds/,/^\.Ss/p" "$man/nucleus-protocol.7" |
	    sed -n "s/^\.It Cm //p" | sort >actual &&
	test_cmp expect actual
'

# Every kind in an answer or a record of OUT files, one per line.
kinds_in() {
	cat "$@" | jq -r '.. | objects | (.kind?, .error?.kind?) | strings' 2>/dev/null
}

test_expect_success 'every error kind the programs answer with is one nucleus-protocol(7) documents' '
	sed -n "/^\.Ss Error kinds/,/^\.Ss/p" "$man/nucleus-protocol.7" |
	    sed -n "s/^\.It Cm //p" | sort >documented &&
	# nucleus-policy eval: denials of each kind, and bad lines.
	cat >ops <<-\EOF &&
	{"op":"read","args":{"path":"/etc/passwd"}}
	{"op":"write","args":{"path":".env"}}
	{"op":"run","args":{"argv":["git","push"]}}
	{"op":"run","args":{"argv":["sh","-c","x"]}}
	{"op":"run","args":{"argv":["ls"]},"cost_microusd":99999999999}
	{"op":"fly"}
	not json
	EOF
	test_expect_code 2 nucleus-policy eval -t 1000 codegen <ops >eval.out &&
	test_expect_code 2 nucleus-policy eval -t 1 pr_approve <ops >>eval.out &&
	echo "{\"profile\":\"release\",\"time\":{\"not_before\":5,\"not_after\":6}}" >tw.json &&
	test_expect_code 2 nucleus-policy eval -t 1000 tw.json <ops >>eval.out &&
	# The proxy: refusals and malformed requests, and its log.
	. "$TEST_DIRECTORY/lib-proxy.sh" &&
	proxy_setup codegen &&
	proxy_start &&
	test_when_finished proxy_stop &&
	{
		req a read "{\"path\":\"../x\"}" &&
		req b read "{\"path\":\".env\"}" &&
		req c read "{\"path\":\"missing\"}" &&
		req d run "{\"argv\":[\"git\",\"push\"]}" &&
		req e run "{\"argv\":[\"git\",\"push\"]}" "{\"type\":\"approval\"}" &&
		req f frobnicate "{}" &&
		echo "not json" &&
		req g write "{\"path\":\"x\",\"content\":\"y\"}" | sed "s/p-0001/p-9999/"
	} | send >proxy.answers &&
	proxy_stop &&
	# The authority: a bad line, an unknown key, a replay.
	. "$TEST_DIRECTORY/lib-authority.sh" &&
	authority_setup &&
	authority_start &&
	test_when_finished authority_stop &&
	areq agent-7 p-0001 run "{\"argv\":[\"make\"]}" | asign agent.key >signed &&
	echo "not json" | asend >auth.answers &&
	areq agent-9 p-0001 run "{\"argv\":[\"make\"]}" | asign intruder.key |
	    asend >>auth.answers &&
	cat signed signed | asend >>auth.answers &&
	test_expect_code 1 nucleus-authority grant -d auth 99 2>grant.err &&
	authority_stop &&
	kinds_in eval.out proxy.answers auth.answers state/audit/*.log auth/audit.log |
	    sort -u >seen &&
	# The test proves nothing unless the programs said many kinds.
	test_line_count -ge 10 seen &&
	comm -23 seen documented >undocumented &&
	test_line_count = 0 undocumented
'

test_expect_success 'nucleus-protocol(7) documents every operation the proxy serves' '
	for op in read stat list write mkdir delete edit glob grep run; do
		grep -q "^\.It Ic $op Bq" "$man/nucleus-protocol.7" || {
			echo "missing: $op"; return 1; }
	done
'

test_done
