/* lowering/memplan.h — internals of the memory plan shared by memplan.c and memplan_concat.c
 * (not a public interface: af_lower_plan in lower.h is the entry point). */
#ifndef AF_LOWERING_MEMPLAN_H
#define AF_LOWERING_MEMPLAN_H

#include <stdint.h>

#include "../graph/graph.h"

/* In-place Concat: an input x of a Concat whose axis has outer extent 1 is a contiguous chunk
 * of the output y, so its producer can write it straight into y's block and the Concat skips
 * it (the kernel skips a part whose data already sits at its destination).
 *
 * For every tensor t, on return parent[t] is the Concat output t lives inside (-1: none) and
 * off[t] the byte offset of t inside parent[t]. An input is aliased only when it is an arena
 * activation produced by a node that is not a reshape/identity (those may themselves alias
 * their input), not a graph input or output, read by exactly one input slot of that Concat,
 * and that Concat is its last reader (so the output's block, live from the earliest aliased
 * producer to the output's last reader, covers its lifetime). A Concat output may itself be
 * aliased into a later Concat (chains resolve through parent). last_use[t] is the index of the
 * last node reading t (n_nodes for graph outputs, -1 when unread). Returns the number of
 * inputs aliased. */
int af_plan_concat_aliases(const af_graph *g, const int *last_use, int *parent, int64_t *off);

#endif
