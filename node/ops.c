/*
 * The node's operations: each with who may call it, whether it names a
 * pod, and its handler.  The gate (gate.c) refuses a request whose
 * operation is not here, or whose key's role or pod member does not
 * fit its entry; the node (request.c) then calls the entry's handler.
 * Tool operations are one entry: policy's list of them
 * (policy_op_from_name) says which names it covers, and they go to the
 * pod (channel.c).
 */
#define _GNU_SOURCE
#include <string.h>

#include "serve.h"
#include "policy.h"

const struct node_op node_ops[] = {
	{ "pod.create", NODE_ROLE_ADMIN, 0, pods_create },
	{ "pod.list", NODE_ROLE_ADMIN, 0, pods_list },
	{ "pod.status", NODE_ROLE_ADMIN, 1, pods_status },
	{ "pod.stop", NODE_ROLE_ADMIN, 1, pods_stop },
	{ "pod.export", NODE_ROLE_ADMIN, 1, podwork_export },
	{ "pod.diff", NODE_ROLE_ADMIN, 1, podwork_diff },
	{ "approval.request", NODE_ROLE_AGENT, 1, approvals_request },
	{ NULL, NODE_ROLE_AGENT, 1, pods_forward },	/* a tool operation */
};
const size_t node_ops_n = sizeof(node_ops) / sizeof(node_ops[0]);

/* The entry for op, or NULL: no such operation. */
const struct node_op *
node_op_find(const char *op)
{
	enum policy_op pop;

	for (size_t i = 0; i < node_ops_n; i++) {
		if (node_ops[i].name != NULL && strcmp(op,
		    node_ops[i].name) == 0)
			return &node_ops[i];
		if (node_ops[i].name == NULL && policy_op_from_name(op,
		    &pop) == 0)
			return &node_ops[i];
	}
	return NULL;
}
