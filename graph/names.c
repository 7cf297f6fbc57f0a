#include "names.h"

#include <ctype.h>
#include <string.h>

#define MAX_LEN 255

static int lower_eq(char x, char y) { return tolower((unsigned char)x) == tolower((unsigned char)y); }

/* Optimal string alignment: insert, delete, substitute, and swap of two neighbours. */
int af_edit_distance(const char *a, const char *b)
{
    size_t n = strlen(a), m = strlen(b);
    if (n > MAX_LEN || m > MAX_LEN) return MAX_LEN;
    unsigned char prev2[MAX_LEN + 1], prev[MAX_LEN + 1], cur[MAX_LEN + 1];
    for (size_t j = 0; j <= m; j++) prev[j] = (unsigned char)j;
    for (size_t i = 1; i <= n; i++) {
        cur[0] = (unsigned char)i;
        for (size_t j = 1; j <= m; j++) {
            int best = prev[j - 1] + !lower_eq(a[i - 1], b[j - 1]);
            if (prev[j] + 1 < best) best = prev[j] + 1;
            if (cur[j - 1] + 1 < best) best = cur[j - 1] + 1;
            if (i > 1 && j > 1 && lower_eq(a[i - 1], b[j - 2]) && lower_eq(a[i - 2], b[j - 1]) &&
                prev2[j - 2] + 1 < best)
                best = prev2[j - 2] + 1;
            cur[j] = (unsigned char)(best > MAX_LEN ? MAX_LEN : best);
        }
        memcpy(prev2, prev, m + 1);
        memcpy(prev, cur, m + 1);
    }
    return prev[m];
}

const char *af_nearest_name(const char *word, const char *const *candidates, size_t n)
{
    const char *best = NULL;
    int best_d = MAX_LEN;
    for (size_t i = 0; i < n; i++) {
        if (!candidates[i]) continue;
        int d = af_edit_distance(word, candidates[i]);
        if (d < best_d) {
            best_d = d;
            best = candidates[i];
        }
    }
    int limit = (int)strlen(word) / 3;
    return best_d <= (limit > 1 ? limit : 1) ? best : NULL;
}
