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

test_done
