/* runtime/kernels/threads.c — the session's worker pool: n-1 pthreads created once with the
 * session, plus the calling thread.
 *
 * afk_parallel(ctx, n_tasks, fn, arg) runs fn(arg, t) for every t in [0, n_tasks) and returns
 * when all are done. Each thread first claims tasks from its own contiguous share (so an op
 * tends to read what the same core wrote in the op before: measured 2-5% faster at 2 threads
 * than one shared counter), then from the fronts of the others' shares, so which thread runs a
 * task varies, but what a task computes never depends on the thread count: kernels cut their
 * work into tasks by a rule that keeps every output's arithmetic the same for any N.
 * Nothing is allocated per call. Idle workers spin for a while, then sleep on a condition variable.
 */
#include "internal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

/* Spin rounds before sleeping (~0.1-0.3 ms): long enough to span the single-threaded ops
 * between two parallel calls of a run (a futex wake per node cost ~10% at 2 threads). */
enum { SPIN_ROUNDS = 400000 };

struct afk_pool {
    int n_workers;
    pthread_t *threads;
    struct worker_arg {
        afk_pool *pool;
        int tid;
    } *args;
    pthread_mutex_t mu;
    pthread_cond_t go, done;
    atomic_uint gen;        /* bumped once per parallel call */
    atomic_int busy;        /* workers still inside the current call */
    struct cursor {         /* thread t's share of tasks: [next, end), claimed from next */
        _Alignas(64) atomic_llong next;
        int64_t end;
    } *cur;
    int quit;
    afk_task_fn fn;
    void *arg;
};

/* Thread tid runs its own contiguous share first (consecutive ops then tend to find their
 * data in the same core's cache), then helps the others from the front of their shares. */
static void drain(afk_pool *p, int tid)
{
    const int n = p->n_workers + 1;
    for (int k = 0; k < n; k++) {
        struct cursor *c = &p->cur[(tid + k) % n];
        for (;;) {
            int64_t t = atomic_fetch_add(&c->next, 1);
            if (t >= c->end) break;
            p->fn(p->arg, t, tid);
        }
    }
}

/* Waits for a generation other than seen; returns 0 when the pool is shutting down. */
static int wait_work(afk_pool *p, unsigned seen)
{
    for (int i = 0; i < SPIN_ROUNDS; i++)
        if (atomic_load(&p->gen) != seen) return 1;
    pthread_mutex_lock(&p->mu);
    while (!p->quit && atomic_load(&p->gen) == seen) pthread_cond_wait(&p->go, &p->mu);
    int quit = p->quit;
    pthread_mutex_unlock(&p->mu);
    return !quit;
}

static void *worker(void *arg)
{
    const struct worker_arg *wa = arg;
    afk_pool *p = wa->pool;
    unsigned seen = 0;
    while (wait_work(p, seen)) {
        seen = atomic_load(&p->gen);
        drain(p, wa->tid);
        if (atomic_fetch_sub(&p->busy, 1) == 1) {
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->done);
            pthread_mutex_unlock(&p->mu);
        }
    }
    return NULL;
}

af_status afk_pool_create(int n_threads, afk_pool **out, af_err *err)
{
    *out = NULL;
    if (n_threads <= 1) return AF_OK;
    afk_pool *p = calloc(1, sizeof *p);
    if (!p || !(p->threads = calloc((size_t)n_threads - 1, sizeof(pthread_t))) ||
        !(p->args = calloc((size_t)n_threads - 1, sizeof *p->args)) ||
        !(p->cur = aligned_alloc(64, ((size_t)n_threads * sizeof *p->cur + 63) / 64 * 64))) {
        if (p) free(p->threads), free(p->args);
        free(p);
        return af_err_set(err, AF_ERR_NOMEM, "out of memory for a %d-thread pool", n_threads);
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->go, NULL);
    pthread_cond_init(&p->done, NULL);
    for (int i = 0; i < n_threads - 1; i++) {
        p->args[i].pool = p;
        p->args[i].tid = i + 1;
        if (pthread_create(&p->threads[i], NULL, worker, &p->args[i]) != 0) {
            afk_pool_free(p);
            return af_err_set(err, AF_ERR_INTERNAL, "cannot start worker thread %d of %d", i + 1,
                              n_threads);
        }
        p->n_workers++;
    }
    *out = p;
    return AF_OK;
}

void afk_pool_free(afk_pool *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->quit = 1;
    pthread_cond_broadcast(&p->go);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->n_workers; i++) pthread_join(p->threads[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->go);
    pthread_cond_destroy(&p->done);
    free(p->threads);
    free(p->args);
    free(p->cur);
    free(p);
}

void afk_parallel(const af_kctx *ctx, int64_t n_tasks, afk_task_fn fn, void *arg)
{
    afk_pool *p = ctx ? ctx->pool : NULL;
    if (!p || n_tasks <= 1) {
        for (int64_t t = 0; t < n_tasks; t++) fn(arg, t, 0);
        return;
    }
    p->fn = fn;
    p->arg = arg;
    const int n = p->n_workers + 1;
    for (int i = 0; i < n; i++) { /* contiguous shares, differing by at most one task */
        atomic_store(&p->cur[i].next, n_tasks * i / n);
        p->cur[i].end = n_tasks * (i + 1) / n;
    }
    atomic_store(&p->busy, p->n_workers);
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add(&p->gen, 1);
    pthread_cond_broadcast(&p->go);
    pthread_mutex_unlock(&p->mu);
    drain(p, 0);
    for (int i = 0; i < SPIN_ROUNDS && atomic_load(&p->busy) > 0; i++) {
    }
    pthread_mutex_lock(&p->mu);
    while (atomic_load(&p->busy) > 0) pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
}
