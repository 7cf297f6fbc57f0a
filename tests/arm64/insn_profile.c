/* tests/arm64/insn_profile.c — a QEMU TCG plugin: guest instructions executed per function.
 *
 *   qemu-aarch64 -plugin ./insn_profile.so,out=PROFILE.tsv PROGRAM ARGS...
 *
 * Every translated block gets an inline counter (no callback per execution); at exit each
 * block's executions x its instruction count is added to the symbol of its first instruction
 * (QEMU resolves names from the program's own ELF symbol table, so a statically linked runtime
 * is named function by function; shared libraries come out as "?"). Writes "instructions<TAB>
 * symbol" lines, most first. Speed cannot be read from this: it counts instructions, not time.
 *
 * QEMU ships no plugin header in Debian's qemu-user, so the few API entry points used are
 * declared here from the documented TCG plugin API (QEMU docs, "QEMU TCG Plugins"; API
 * version 1, QEMU 7.x); they resolve against the qemu-aarch64 binary at load time.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef uint64_t qemu_plugin_id_t;
typedef struct qemu_info_t qemu_info_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 };

#define EXPORT __attribute__((visibility("default")))
EXPORT extern int qemu_plugin_version;
EXPORT int qemu_plugin_version = 1;

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id,
                                           void (*cb)(qemu_plugin_id_t, struct qemu_plugin_tb *));
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, void (*cb)(qemu_plugin_id_t, void *),
                                    void *userdata);
void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb *tb, enum qemu_plugin_op op,
                                              void *ptr, uint64_t imm);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
const char *qemu_plugin_insn_symbol(const struct qemu_plugin_insn *insn);

/* one translated block: executions (inline counter), instructions, symbol */
typedef struct block {
    uint64_t count;
    uint64_t n_insns;
    const char *sym;
} block;

enum { CHUNK = 4096 };
typedef struct chunk {
    block b[CHUNK];
    int used;
    struct chunk *next;
} chunk;

static chunk *chunks;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char out_path[4096] = "insn_profile.tsv";

static block *new_block(void)
{
    pthread_mutex_lock(&lock);
    if (!chunks || chunks->used == CHUNK) {
        chunk *c = calloc(1, sizeof *c);
        if (!c) {
            pthread_mutex_unlock(&lock);
            return NULL;
        }
        c->next = chunks, chunks = c;
    }
    block *b = &chunks->b[chunks->used++];
    pthread_mutex_unlock(&lock);
    return b;
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    size_t n = qemu_plugin_tb_n_insns(tb);
    block *b = n ? new_block() : NULL;
    if (!b) return;
    const char *s = qemu_plugin_insn_symbol(qemu_plugin_tb_get_insn(tb, 0));
    b->n_insns = n, b->sym = s ? s : "?";
    qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &b->count, 1);
}

typedef struct total {
    const char *sym;
    uint64_t insns;
} total;

static int by_insns(const void *a, const void *b)
{
    uint64_t x = ((const total *)a)->insns, y = ((const total *)b)->insns;
    return x < y ? 1 : x > y ? -1 : 0;
}

static void on_exit_cb(qemu_plugin_id_t id, void *p)
{
    (void)id, (void)p;
    size_t n = 0, cap = 1024;
    total *t = malloc(cap * sizeof *t);
    for (chunk *c = chunks; c && t; c = c->next)
        for (int i = 0; i < c->used; i++) {
            const block *b = &c->b[i];
            size_t j = 0; /* few distinct symbols: a linear search is enough */
            while (j < n && strcmp(t[j].sym, b->sym)) j++;
            if (j == n) {
                if (n == cap && !(t = realloc(t, (cap *= 2) * sizeof *t))) return;
                t[n].sym = b->sym, t[n].insns = 0, n++;
            }
            t[j].insns += b->count * b->n_insns;
        }
    if (!t) return;
    qsort(t, n, sizeof *t, by_insns);
    FILE *f = fopen(out_path, "w");
    if (f) {
        for (size_t j = 0; j < n; j++)
            if (t[j].insns) fprintf(f, "%llu\t%s\n", (unsigned long long)t[j].insns, t[j].sym);
        fclose(f);
    }
    free(t);
}

EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc,
                               char **argv);
EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc,
                               char **argv)
{
    (void)info;
    for (int i = 0; i < argc; i++)
        if (!strncmp(argv[i], "out=", 4)) snprintf(out_path, sizeof out_path, "%s", argv[i] + 4);
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
    qemu_plugin_register_atexit_cb(id, on_exit_cb, NULL);
    return 0;
}
