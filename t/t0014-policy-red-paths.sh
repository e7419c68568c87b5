#!/bin/sh
test_description='nucleus-policy eval: the sensitive preset covers where the pod'"'"'s tools keep credentials (HOME is the work root)'
. "$(dirname "$0")/test-lib.sh"

# decide PROFILE OP PATH KIND: KIND is the decision's kind, or "allow".
decide() {
	echo "{\"op\":\"$2\",\"args\":{\"path\":\"$3\"}}" >in &&
	if test "$4" = allow
	then
		nucleus-policy eval -t 1000 "$1" <in >out &&
		jq -e ".decision == \"allow\"" out
	else
		test_expect_code 1 nucleus-policy eval -t 1000 "$1" <in >out &&
		jq -e ".kind == \"$4\"" out
	fi
}

test_expect_success 'credential stores in HOME are blocked, for every operation' '
	for p in .git-credentials .config/gh/hosts.yml .docker/config.json \
	    .kube/config .config/gcloud/credentials.db .azure/msal_token_cache.json \
	    .gnupg/private-keys-v1.d/k.key .pgpass .vault-token sub/.git-credentials
	do
		for op in read stat write delete edit; do
			decide local_dev $op "$p" path_denied || return 1
		done
	done &&
	decide fix_issue grep .gnupg path_denied &&
	decide fix_issue list .config/gh path_denied
'

test_expect_success 'what is near them is not' '
	decide local_dev read .config/other/x allow &&
	decide local_dev read docker/config.json allow &&
	decide local_dev read sub/.kube/config allow &&
	decide default read .git-credentials allow
'

test_done
