/* graph/names.h — "did you mean" support: the nearest of a set of names by edit distance. */
#ifndef AF_GRAPH_NAMES_H
#define AF_GRAPH_NAMES_H

#include <stddef.h>

/* Edit distance counting inserts, deletes, substitutions and swaps of neighbours
 * (case-insensitive), capped at 255. */
int af_edit_distance(const char *a, const char *b);

/* The candidate nearest to word, if it is close enough to be a plausible misspelling
 * (distance ≤ max(1, strlen(word) / 3)); else NULL. Candidates may contain NULLs. */
const char *af_nearest_name(const char *word, const char *const *candidates, size_t n);

#endif
