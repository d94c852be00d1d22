/* FULLY_CONNECTED int8 on Helium (MVE): per block of four units, VMLADAVA dot products of the
 * input row with the four weight rows, 16 values per instruction, requantized four lanes at a time.
 *
 * Bit-exact with TFLite's reference FullyConnected as tk_fully_connected.c is: input_offset * sum(w)
 * is folded into the bias at generation time, so each output is bias' + in . w in any order. The
 * layer is one Helium stream (params->filter_data, tinykit/codegen/mve_weights.py): per block,
 * [depth / 16][4 units][16 values] weights with the depth padded with zeros, then the block's bias,
 * multiplier and shift vectors. The input row has no padding and may end the arena, so the last
 * chunk loads under a tail predicate: nothing past the row is read.
 */
/* A hot kernel: built for speed even when the firmware is built for size (-Os). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O2")
#endif
#include "tk_fully_connected_mve.h"

#ifdef TK_USE_MVE

/* The four sums of row x (depth values) with the block's weights at *s, which advances past them. */
TK_INLINE int32x4_t mve_fc_sums(const int8_t *x, int32_t depth, const int8_t **s)
{
    const int8_t *w = *s;
    int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    for (int32_t left = depth; left > 0; left -= TK_MVE_CHUNK, x += TK_MVE_CHUNK, w += 4 * TK_MVE_CHUNK) {
        const int8x16_t v = vldrbq_z_s8(x, vctp8q((uint32_t)left));
        a0 = vmladavaq_s8(a0, v, vldrbq_s8(w));
        a1 = vmladavaq_s8(a1, v, vldrbq_s8(w + TK_MVE_CHUNK));
        a2 = vmladavaq_s8(a2, v, vldrbq_s8(w + 2 * TK_MVE_CHUNK));
        a3 = vmladavaq_s8(a3, v, vldrbq_s8(w + 3 * TK_MVE_CHUNK));
    }
    *s = w;
    {
        int32x4_t acc = vdupq_n_s32(a0);
        acc = vsetq_lane_s32(a1, acc, 1);
        acc = vsetq_lane_s32(a2, acc, 2);
        return vsetq_lane_s32(a3, acc, 3);
    }
}

/* Every unit of one row; `general` selects the requantization (a constant in both callers). */
TK_INLINE void mve_fc_row(const tk_fully_connected_params *p, const int8_t *x, int8_t *out, tk_mve_out o,
                          int general)
{
    const int8_t *s = p->filter_data;
    for (int32_t u = 0; u < p->units; u += TK_MVE_BLOCK) {
        const int32x4_t acc = mve_fc_sums(x, p->depth, &s);
        const tk_mve_rq q = tk_mve_rq_load(&s);
        if (p->units - u >= TK_MVE_BLOCK) {
            tk_mve_store(out + u, acc, q, o, general);
        } else { /* the last 1-3 units */
            tk_mve_store_n(out + u, acc, q, o, general, p->units - u);
        }
    }
}

static void mve_fc_row_fast(const tk_fully_connected_params *p, const int8_t *x, int8_t *out, tk_mve_out o)
{
    mve_fc_row(p, x, out, o, 0);
}

static void mve_fc_row_general(const tk_fully_connected_params *p, const int8_t *x, int8_t *out, tk_mve_out o)
{
    mve_fc_row(p, x, out, o, 1);
}

tk_status tk_fully_connected_s8_mve(const tk_fully_connected_params *params, const int8_t *input, int8_t *output)
{
    /* A local copy: stores through int8_t pointers could alias *params, forcing reloads. */
    const tk_fully_connected_params local = *params;
    const tk_fully_connected_params *p = &local;
    const tk_mve_out o = tk_mve_out_make(p->output_offset, p->act);
    if (p->filter_data == NULL || p->depth < 1) {
        return TK_ERROR;
    }
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *x = input + (size_t)b * (size_t)p->depth;
        int8_t *out = output + (size_t)b * (size_t)p->units;
        if (TK_FAST_REQUANT(p)) {
            mve_fc_row_fast(p, x, out, o);
        } else {
            mve_fc_row_general(p, x, out, o);
        }
    }
    return TK_OK;
}

#else
typedef int tk_fully_connected_mve_unused; /* ISO C: a translation unit declares something */
#endif /* TK_USE_MVE */
