/* graph/shape_impl.h — private helpers shared by the graph/shape*.c files (not a public API). */
#ifndef AF_GRAPH_SHAPE_IMPL_H
#define AF_GRAPH_SHAPE_IMPL_H

#include "shape.h"

/* One shape function per op; n is node index i of g. */
typedef af_status (*af_shape_fn)(af_graph *g, af_node *n, af_err *err);

/* Fills err with "node 'NAME' (op): <message>". Returns code. */
af_status sh_err(const af_node *n, af_err *err, af_status code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Input k of n, or NULL when absent (k >= n_in or index -1). */
af_tensor *sh_in(af_graph *g, const af_node *n, int k);
/* Sets dtype and shape of output k. */
void sh_set_out(af_graph *g, const af_node *n, int k, af_dtype dt, int rank, const int64_t *dims);
/* Reads the constant integer (i32/i64, rank <= 1) input k into vals (at most max).
 * what names the input in messages ("shape", "axes"). */
af_status sh_const_ints(af_graph *g, const af_node *n, int k, const char *what, int64_t *vals,
                        int max, int *count, af_err *err);
/* Same for a constant float (any dtype) input; rank <= 1. */
af_status sh_const_floats(af_graph *g, const af_node *n, int k, const char *what, double *vals,
                          int max, int *count, af_err *err);
/* Reads the constant axes input k into a bit mask normalised against rank r (repeats are an
 * error); count = number of axes. */
af_status sh_axes_mask(af_graph *g, af_node *n, int k, int r, uint32_t *mask, int *count,
                       af_err *err);
/* Normalises axis in [-rank, rank) to [0, rank); returns 0, or -1 when out of range. */
int sh_axis(int64_t axis, int rank, int *out);
/* "[1,3,224,224]" of a tensor into buf (size 96 is enough for rank 8). */
const char *sh_str(const af_tensor *t, char *buf);
/* Product of dims[a..b), overflow-checked; -1 on overflow. */
int64_t sh_prod(const int64_t *dims, int a, int b);

/* shape_dyn.c: data-dependent extents (af_tensor.dyn) and values (capval/dynel) */
int sh_is_dyn(const af_tensor *t);                    /* dyn extents or dyn values */
int sh_any_dyn_input(af_graph *g, const af_node *n);
int64_t sh_int_at(const af_tensor *t, const void *data, int64_t i); /* i32/i64 element */
/* sh_const_ints that also takes a data-dependent value: its values at capacity, and *dynel
 * the bits of the elements that depend on the data (0 for a constant). */
af_status sh_cap_ints(af_graph *g, const af_node *n, int k, const char *what, int64_t *vals,
                      int max, int *count, uint64_t *dynel, af_err *err);
/* Before an op's shape function: refuses data-dependent extents the op has no rule for. */
af_status af_dyn_check(af_graph *g, af_node *n, af_err *err);
/* After it: which output axes are data-dependent. */
af_status af_dyn_infer(af_graph *g, af_node *n, af_err *err);
af_status af_shape_select(af_graph *g, af_node *n, af_err *err);

af_status af_shape_conv(af_graph *g, af_node *n, af_err *err);
af_status af_shape_conv_transpose(af_graph *g, af_node *n, af_err *err);
af_status af_shape_pool(af_graph *g, af_node *n, af_err *err);
af_status af_shape_global_pool(af_graph *g, af_node *n, af_err *err);

af_status af_shape_reshape(af_graph *g, af_node *n, af_err *err);
af_status af_shape_transpose(af_graph *g, af_node *n, af_err *err);
af_status af_shape_concat(af_graph *g, af_node *n, af_err *err);
af_status af_shape_split(af_graph *g, af_node *n, af_err *err);
af_status af_shape_slice(af_graph *g, af_node *n, af_err *err);
af_status af_shape_gather(af_graph *g, af_node *n, af_err *err);

af_status af_shape_reduce(af_graph *g, af_node *n, af_err *err);
af_status af_shape_pad(af_graph *g, af_node *n, af_err *err);
af_status af_shape_resize(af_graph *g, af_node *n, af_err *err);
af_status af_shape_shape(af_graph *g, af_node *n, af_err *err);
af_status af_shape_const_of_shape(af_graph *g, af_node *n, af_err *err);

af_status af_shape_instance_norm(af_graph *g, af_node *n, af_err *err); /* shape_norm.c */
af_status af_shape_group_norm(af_graph *g, af_node *n, af_err *err);
af_status af_shape_layer_norm(af_graph *g, af_node *n, af_err *err);
af_status af_shape_attention(af_graph *g, af_node *n, af_err *err);

af_status af_shape_expand(af_graph *g, af_node *n, af_err *err); /* shape_extra.c */
af_status af_shape_where(af_graph *g, af_node *n, af_err *err);
af_status af_shape_tile(af_graph *g, af_node *n, af_err *err);
af_status af_shape_cumsum(af_graph *g, af_node *n, af_err *err);
af_status af_shape_d2s(af_graph *g, af_node *n, af_err *err);
af_status af_shape_gather_elements(af_graph *g, af_node *n, af_err *err);
af_status af_shape_lrn(af_graph *g, af_node *n, af_err *err);
af_status af_shape_trilu(af_graph *g, af_node *n, af_err *err);
af_status af_shape_range(af_graph *g, af_node *n, af_err *err);
af_status af_shape_size(af_graph *g, af_node *n, af_err *err);

/* recurrent ops */
af_status af_shape_rnn(af_graph *g, af_node *n, af_err *err); /* shape_rnn.c: LSTM, GRU, RNN */
/* shape_signal.c */
af_status af_shape_grid_sample(af_graph *g, af_node *n, af_err *err);
af_status af_shape_roi_align(af_graph *g, af_node *n, af_err *err);
af_status af_shape_dft(af_graph *g, af_node *n, af_err *err);
af_status af_shape_stft(af_graph *g, af_node *n, af_err *err);
af_status af_shape_mel_weight_matrix(af_graph *g, af_node *n, af_err *err);
/* shape_indexing.c */
af_status af_shape_topk(af_graph *g, af_node *n, af_err *err);
af_status af_shape_scatter(af_graph *g, af_node *n, af_err *err); /* SCATTER_ND, _ELEMENTS */
af_status af_shape_gather_nd(af_graph *g, af_node *n, af_err *err);
af_status af_shape_one_hot(af_graph *g, af_node *n, af_err *err);
af_status af_shape_reverse_sequence(af_graph *g, af_node *n, af_err *err);
af_status af_shape_max_unpool(af_graph *g, af_node *n, af_err *err);
/* shape_ops1.c */
af_status af_shape_nll_loss(af_graph *g, af_node *n, af_err *err);
af_status af_shape_eye_like(af_graph *g, af_node *n, af_err *err);
af_status af_shape_det(af_graph *g, af_node *n, af_err *err);
af_status af_shape_window(af_graph *g, af_node *n, af_err *err);
af_status af_shape_nms(af_graph *g, af_node *n, af_err *err);
af_status af_shape_nonzero(af_graph *g, af_node *n, af_err *err);
af_status af_shape_compress(af_graph *g, af_node *n, af_err *err);

#endif
