/* bundle/crc32_fast.c (PCLMUL folding) against zlib's crc32: every length 0..700 at several
 * alignments and running CRCs, and one large buffer; the values must be equal. */
#include <stdint.h>
#include <stdlib.h>
#include <zlib.h>

#include "bundle/format.h"
#include "check.h"

int main(void)
{
    size_t n = (size_t)5 << 20;
    unsigned char *b = malloc(n);
    CHECK(b != NULL, "allocation");
    if (!b) return check_report("crc32");
    uint32_t s = 1;
    for (size_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        b[i] = (unsigned char)(s >> 24);
    }
    int bad = 0;
    for (uint32_t len = 0; len < 700; len++)
        for (int off = 0; off < 5; off++) {
            uint32_t init = len * 2654435761u;
            bad += afb_crc32_fast(init, b + off, len) != (uint32_t)crc32(init, b + off, len);
        }
    CHECK(bad == 0, "%d of 3500 short buffers differ from zlib", bad);
    CHECK(afb_crc32_fast(0, b + 3, n - 3) == (uint32_t)crc32(0, b + 3, (uInt)(n - 3)),
          "5 MiB buffer differs from zlib");
    CHECK(afb_crc32(0, b, n) == (uint32_t)crc32(0, b, (uInt)n), "afb_crc32 differs from zlib");
    free(b);
    return check_report("crc32");
}
