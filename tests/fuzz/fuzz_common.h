/* tests/fuzz/fuzz_common.h — shared bits of the libFuzzer harnesses (tests/fuzz/fuzz_*.c).
 *
 * Every harness feeds arbitrary bytes to one parser and checks the library's contract besides
 * "no crash": a refusal carries a non-empty one-line message. FUZZ_REQUIRE traps (a crash the
 * fuzzer reports and minimises) when a contract is broken.
 */
#ifndef AF_FUZZ_COMMON_H
#define AF_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define FUZZ_REQUIRE(cond)                                                                     \
    do {                                                                                       \
        if (!(cond)) __builtin_trap();                                                         \
    } while (0)

/* A failure message is present and is one line. */
static inline void fuzz_check_message(const char *msg)
{
    FUZZ_REQUIRE(msg && msg[0] != '\0');
    FUZZ_REQUIRE(strchr(msg, '\n') == NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
