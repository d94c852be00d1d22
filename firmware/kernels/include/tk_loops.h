/* Loop nests computed at generation time: broadcasting and reductions over any axes.
 *
 * tk_broadcast: the output of a broadcasting op (ADD, SUB, MUL, comparisons, SELECT_V2, ...) is
 * walked as a nest of at most TK_LOOPS_MAX_DIMS loops, loop 0 innermost. The generator drops
 * extent-1 dimensions and fuses neighbours that are contiguous for every operand, as TFLite's
 * BroadcastBinaryOpSimple does, so a same-shape op is one loop of `size` elements. Each operand
 * advances by its own element stride per loop, 0 along a broadcast dimension; in loop 0 every
 * stride is 0 or 1. The output is always contiguous.
 *
 * tk_loops: a strided nest over one tensor (a reduction's kept or reduced axes), loop 0 innermost.
 */
#ifndef TK_LOOPS_H
#define TK_LOOPS_H

#include "tk_types.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TK_LOOPS_MAX_DIMS 6
#define TK_BROADCAST_OPERANDS 3

typedef struct {
    int32_t dims;                                             /* loops in the nest, >= 1 */
    int32_t rows;                                             /* product of extent[1..dims-1] */
    int32_t extent[TK_LOOPS_MAX_DIMS];                        /* loop 0 innermost */
    int32_t stride[TK_BROADCAST_OPERANDS][TK_LOOPS_MAX_DIMS]; /* per operand, elements */
} tk_broadcast;

typedef struct {
    int32_t dims;  /* loops in the nest, >= 1 (a single element is one loop of extent 1) */
    int32_t rows;  /* product of extent[1..dims-1] */
    int32_t extent[TK_LOOPS_MAX_DIMS];
    int32_t stride[TK_LOOPS_MAX_DIMS];
} tk_loops;

/* Advance the operand offsets of a broadcast walk to the next row (loops 1 and up, odometer). */
TK_INLINE void tk_broadcast_next(const tk_broadcast *b, int32_t *index, int32_t *off)
{
    for (int32_t d = 1; d < b->dims; ++d) {
        off[0] += b->stride[0][d];
        off[1] += b->stride[1][d];
        off[2] += b->stride[2][d];
        if (++index[d] < b->extent[d]) {
            return;
        }
        index[d] = 0;
        off[0] -= b->stride[0][d] * b->extent[d];
        off[1] -= b->stride[1][d] * b->extent[d];
        off[2] -= b->stride[2][d] * b->extent[d];
    }
}

/* The offset of the next row of a strided nest (loops 1 and up, odometer). */
TK_INLINE int32_t tk_loops_next(const tk_loops *l, int32_t *index, int32_t off)
{
    for (int32_t d = 1; d < l->dims; ++d) {
        off += l->stride[d];
        if (++index[d] < l->extent[d]) {
            return off;
        }
        index[d] = 0;
        off -= l->stride[d] * l->extent[d];
    }
    return off;
}

/* A row function of a two-operand op: out[i] = ELEM(ctx, a[i * s1], b[i * s2]) for i < n, loop-0
 * strides 0 or 1, specialised into four tight loops with the element function inlined. It is kept
 * out of line so its loop gets the registers to itself (the walk around it holds the odometer). A
 * generic "template" for every binary kernel: T1/T2 operand types, TO the output type, CTX_T the
 * element function's context type (passed by value). */
#define TK_DEFINE_BROADCAST_ROW(NAME, T1, T2, TO, ELEM, CTX_T)                                         \
    static TK_NOINLINE void NAME(CTX_T c, const T1 *a, int32_t s1, const T2 *b, int32_t s2, TO *out,    \
                                 int32_t n)                                                            \
    {                                                                                                  \
        (void)c; /* element macros may ignore their context */                                         \
        if (s1 && s2) {                                                                                \
            for (int32_t i = 0; i < n; ++i) out[i] = ELEM(c, a[i], b[i]);                              \
        } else if (s1) {                                                                               \
            const T2 bv = *b;                                                                          \
            for (int32_t i = 0; i < n; ++i) out[i] = ELEM(c, a[i], bv);                                \
        } else if (s2) {                                                                               \
            const T1 av = *a;                                                                          \
            for (int32_t i = 0; i < n; ++i) out[i] = ELEM(c, av, b[i]);                                \
        } else {                                                                                       \
            const TO v = ELEM(c, *a, *b);                                                              \
            for (int32_t i = 0; i < n; ++i) out[i] = v;                                                \
        }                                                                                              \
    }

/* Walk a two-operand broadcast row by row, calling ROW (made by TK_DEFINE_BROADCAST_ROW) with the
 * operands' offsets; OUT (a local pointer) advances over the contiguous output. */
#define TK_BROADCAST_BINARY(B, IN1, IN2, OUT, ROW, CTX)                                                \
    do {                                                                                               \
        const tk_broadcast *b_ = (B);                                                                  \
        int32_t index_[TK_LOOPS_MAX_DIMS] = {0};                                                       \
        int32_t off_[TK_BROADCAST_OPERANDS] = {0, 0, 0};                                               \
        for (int32_t r_ = 0; r_ < b_->rows; ++r_) {                                                    \
            ROW((CTX), (IN1) + off_[0], b_->stride[0][0], (IN2) + off_[1], b_->stride[1][0], (OUT),     \
                b_->extent[0]);                                                                        \
            (OUT) += b_->extent[0];                                                                    \
            tk_broadcast_next(b_, index_, off_);                                                       \
        }                                                                                              \
    } while (0)

#ifdef __cplusplus
}
#endif

#endif /* TK_LOOPS_H */
