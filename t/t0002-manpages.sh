#!/bin/sh
test_description='man pages: lint-clean, and each program'"'"'s usage matches its SYNOPSIS'
. "$(dirname "$0")/test-lib.sh"

man=$TEST_DIRECTORY/../man

test_expect_success MANDOC 'every page is lint-clean under mandoc -Tlint' '
	mandoc -Tlint -Wwarning "$man"/*.[1-8]
'

# The SYNOPSIS as mandoc renders it: one line per command form.
synopsis() {
	MANWIDTH=200 mandoc -Tascii -Owidth=200 "$1" | col -b |
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
not_pending"

test_expect_success 'nucleus-protocol(7) documents every error kind, and no other' '
	for k in $kinds; do echo $k; done | sort >expect &&
	sed -n "/^\.Ss Error kinds/,/^\.Ss/p" "$man/nucleus-protocol.7" |
	    sed -n "s/^\.It Cm //p" | sort >actual &&
	test_cmp expect actual
'

test_expect_success 'the code names no error kind outside that list' '
	top=$TEST_DIRECTORY/.. &&
	sed -n "/kind_names\[KIND_COUNT\]/,/};/p" "$top/libpolicy/lattice.c" |
	    grep -oE "\"[a-z_]+\"" | tr -d "\"" | grep -v "^none$" >code &&
	# Lines that build a response or set a kind, less the words
	# around the kind in them.
	grep -hE "kind|respond_error|malformed\(" "$top"/proxy/*.c |
	    grep -oE "\"[a-z_]+\"" | tr -d "\"" |
	    grep -vxE "bytes|decision|deny|error|id|kind|ok|response|type|v" >>code &&
	# The authority names its kinds where it refuses.
	grep -ohE "(fail\(q|refuse\(c, &?q|response_error\([a-zA-Z>.-]+)[,)] *\"[a-z_]+\"" \
	    "$top"/authority/*.c | grep -oE "\"[a-z_]+\"$" | tr -d "\"" >>code &&
	grep -c . code >/dev/null &&
	for k in $kinds; do echo $k; done | sort >known &&
	sort -u code | comm -23 - known >unknown &&
	test_line_count = 0 unknown
'

test_expect_success 'nucleus-protocol(7) documents every operation the proxy serves' '
	for op in read stat list write mkdir delete glob grep run; do
		grep -q "^\.It Ic $op Bq" "$man/nucleus-protocol.7" || {
			echo "missing: $op"; return 1; }
	done
'

test_done
