/* BATCH_MATMUL, bit-exact with TFLite's reference BatchMatMul: out[b][i][j] =
 * requantize(sum_k (lhs[i][k] - lhs_zp) * (rhs[k][j] - rhs_zp)), int32 sums for int8 (which wrap
 * as TFLite's do) and int64 sums for int16.
 *
 * Per output batch the lhs rows and the rhs columns are copied, whatever adj_x / adj_y say, into
 * scratch as contiguous int16 rows with the zero points subtracted (K rounded up to even with a
 * zero), so every output is one dot product of two rows read a word (two values) at a time: SMLAD
 * (int8 operands, int32 sums) or SMLALD (int16 operands, exact int64 sums) on DSP cores.
 */
/* A hot kernel: built for speed even when the firmware is built for size (-Os). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O2")
#endif
#include "tk_batch_matmul.h"

#include "tk_dsp.h"

static int32_t even_depth(const tk_batch_matmul_params *p)
{
    return (p->depth + 1) & ~1;
}

size_t tk_batch_matmul_buffer_size(const tk_batch_matmul_params *params)
{
    return (size_t)(params->rows + params->cols) * (size_t)even_depth(params) * 2u;
}

/* count rows of the matrix at src (element size `s8 ? 1 : 2`) into dst as [row][kp] int16, value
 * k of row r at src[r * row_step + k * k_step], minus the zero point (+ offset). */
static void pack(const void *src, int32_t s8, int32_t count, int32_t depth, int32_t kp, int32_t row_step,
                 int32_t k_step, int32_t offset, int16_t *dst)
{
    for (int32_t r = 0; r < count; ++r, dst += kp) {
        const size_t base = (size_t)r * (size_t)row_step;
        for (int32_t k = 0; k < depth; ++k) {
            const size_t at = base + (size_t)k * (size_t)k_step;
            const int32_t v = s8 ? ((const int8_t *)src)[at] : ((const int16_t *)src)[at];
            dst[k] = (int16_t)(v + offset);
        }
        if (depth < kp) {
            dst[depth] = 0;
        }
    }
}

/* a . b over kp (even) int16 values, int32 sum with wrap-around (int8 operands). */
static int32_t dot32(const int16_t *a, const int16_t *b, int32_t kp)
{
    int32_t acc = 0;
#ifdef TK_USE_DSP
    for (int32_t k = 0; k < kp; k += 2) {
        acc = tk_smlad(tk_read_s32(a + k), tk_read_s32(b + k), acc);
    }
#else
    for (int32_t k = 0; k < kp; ++k) {
        acc = (int32_t)((uint32_t)acc + (uint32_t)(a[k] * b[k]));
    }
#endif
    return acc;
}

/* a . b over kp (even) int16 values, exact int64 sum (int16 operands). */
static int64_t dot64(const int16_t *a, const int16_t *b, int32_t kp)
{
    int64_t acc = 0;
#ifdef TK_USE_DSP
    for (int32_t k = 0; k < kp; k += 2) {
        acc = tk_smlald(tk_read_s32(a + k), tk_read_s32(b + k), acc);
    }
#else
    for (int32_t k = 0; k < kp; ++k) {
        acc += (int32_t)a[k] * b[k];
    }
#endif
    return acc;
}

static tk_status batch_matmul(const tk_batch_matmul_params *params, const void *lhs, const void *rhs, void *output,
                              void *scratch, int32_t s8)
{
    const tk_batch_matmul_params local = *params;
    const tk_batch_matmul_params *p = &local;
    const int32_t m = p->rows, n = p->cols, k = p->depth, kp = even_depth(p);
    const size_t elem = s8 ? 1u : 2u;
    int16_t *pl = (int16_t *)scratch;
    int16_t *pr = pl + (size_t)m * (size_t)kp;
    if (scratch == NULL) {
        return TK_ERROR;
    }
    for (int32_t b = 0; b < p->batches; ++b) {
        const void *l = (const int8_t *)lhs + (size_t)p->lhs_offsets[b] * elem;
        const void *r = (const int8_t *)rhs + (size_t)p->rhs_offsets[b] * elem;
        pack(l, s8, m, k, kp, p->adj_x ? 1 : k, p->adj_x ? m : 1, p->lhs_offset, pl);
        pack(r, s8, n, k, kp, p->adj_y ? k : 1, p->adj_y ? 1 : n, p->rhs_offset, pr);
        for (int32_t i = 0; i < m; ++i) {
            const size_t row = ((size_t)b * (size_t)m + (size_t)i) * (size_t)n;
            for (int32_t j = 0; j < n; ++j) {
                const int16_t *a = pl + (size_t)i * (size_t)kp, *c = pr + (size_t)j * (size_t)kp;
                if (s8) {
                    const int32_t v = tk_requantize(dot32(a, c, kp), p->multiplier, p->shift) + p->output_offset;
                    ((int8_t *)output)[row + (size_t)j] = (int8_t)tk_clamp_s32(v, TK_INT8_MIN, TK_INT8_MAX);
                } else {
                    const int32_t v = tk_requantize_s64(dot64(a, c, kp), p->multiplier, p->shift);
                    ((int16_t *)output)[row + (size_t)j] = (int16_t)tk_clamp_s32(v, TK_INT16_MIN, TK_INT16_MAX);
                }
            }
        }
    }
    return TK_OK;
}

tk_status tk_batch_matmul_s8(const tk_batch_matmul_params *params, const int8_t *lhs, const int8_t *rhs,
                             int8_t *output, void *scratch)
{
    return batch_matmul(params, lhs, rhs, output, scratch, 1);
}

tk_status tk_batch_matmul_s16(const tk_batch_matmul_params *params, const int16_t *lhs, const int16_t *rhs,
                              int16_t *output, void *scratch)
{
    return batch_matmul(params, lhs, rhs, output, scratch, 0);
}
