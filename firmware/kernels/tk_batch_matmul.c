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

/* count rows of the matrix at src into dst as [row][kp] int16: value k of row r is
 * src[r * row_step + k * k_step] + offset (the zero point subtracted); a zero pads K to even. */
static void pack_s8(const int8_t *src, int32_t count, int32_t depth, int32_t kp, int32_t row_step, int32_t k_step,
                    int32_t offset, int16_t *dst)
{
    for (int32_t r = 0; r < count; ++r, dst += kp) {
        const int8_t *x = src + (size_t)r * (size_t)row_step;
        for (int32_t k = 0; k < depth; ++k, x += k_step) {
            dst[k] = (int16_t)(*x + offset);
        }
        if (depth < kp) {
            dst[depth] = 0;
        }
    }
}

/* The same for int16 operands (zero point 0). */
static void pack_s16(const int16_t *src, int32_t count, int32_t depth, int32_t kp, int32_t row_step, int32_t k_step,
                     int16_t *dst)
{
    for (int32_t r = 0; r < count; ++r, dst += kp) {
        const int16_t *x = src + (size_t)r * (size_t)row_step;
        for (int32_t k = 0; k < depth; ++k, x += k_step) {
            dst[k] = *x;
        }
        if (depth < kp) {
            dst[depth] = 0;
        }
    }
}

/* Both operands of one batch: lhs rows, rhs columns. */
static void pack(const tk_batch_matmul_params *p, int32_t s8, const void *l, const void *r, int32_t kp, int16_t *pl,
                 int16_t *pr)
{
    const int32_t m = p->rows, n = p->cols, k = p->depth;
    const int32_t l_row = p->adj_x ? 1 : k, l_k = p->adj_x ? m : 1;
    const int32_t r_row = p->adj_y ? k : 1, r_k = p->adj_y ? 1 : n;
    if (s8) {
        pack_s8((const int8_t *)l, m, k, kp, l_row, l_k, p->lhs_offset, pl);
        pack_s8((const int8_t *)r, n, k, kp, r_row, r_k, p->rhs_offset, pr);
    } else {
        pack_s16((const int16_t *)l, m, k, kp, l_row, l_k, pl);
        pack_s16((const int16_t *)r, n, k, kp, r_row, r_k, pr);
    }
}

/* acc = {a0 . b0, a0 . b1, a1 . b0, a1 . b1} over kp (even) int16 values: int32 sums with
 * wrap-around (int8 operands), four products per pair of loaded words. */
static void block32(const int16_t *a0, const int16_t *a1, const int16_t *b0, const int16_t *b1, int32_t kp,
                    int32_t acc[4])
{
    int32_t s00 = 0, s01 = 0, s10 = 0, s11 = 0;
#ifdef TK_USE_DSP
    for (int32_t k = 0; k < kp; k += 2) {
        const int32_t x0 = tk_read_s32(a0 + k), x1 = tk_read_s32(a1 + k);
        const int32_t y0 = tk_read_s32(b0 + k), y1 = tk_read_s32(b1 + k);
        s00 = tk_smlad(x0, y0, s00);
        s01 = tk_smlad(x0, y1, s01);
        s10 = tk_smlad(x1, y0, s10);
        s11 = tk_smlad(x1, y1, s11);
    }
#else
    for (int32_t k = 0; k < kp; ++k) {
        s00 = (int32_t)((uint32_t)s00 + (uint32_t)(a0[k] * b0[k]));
        s01 = (int32_t)((uint32_t)s01 + (uint32_t)(a0[k] * b1[k]));
        s10 = (int32_t)((uint32_t)s10 + (uint32_t)(a1[k] * b0[k]));
        s11 = (int32_t)((uint32_t)s11 + (uint32_t)(a1[k] * b1[k]));
    }
#endif
    acc[0] = s00; acc[1] = s01; acc[2] = s10; acc[3] = s11;
}

/* {a . b0, a . b1} with exact int64 sums (int16 operands: SMLALD on DSP cores; one row against
 * two columns keeps the four accumulator words in registers). */
static void pair64(const int16_t *a, const int16_t *b0, const int16_t *b1, int32_t kp, int64_t acc[2])
{
    int64_t s0 = 0, s1 = 0;
#ifdef TK_USE_DSP
    for (int32_t k = 0; k < kp; k += 2) {
        const int32_t x = tk_read_s32(a + k);
        s0 = tk_smlald(x, tk_read_s32(b0 + k), s0);
        s1 = tk_smlald(x, tk_read_s32(b1 + k), s1);
    }
#else
    for (int32_t k = 0; k < kp; ++k) {
        s0 += (int32_t)a[k] * b0[k];
        s1 += (int32_t)a[k] * b1[k];
    }
#endif
    acc[0] = s0; acc[1] = s1;
}

/* The 2 x 2 block of block32 with exact int64 sums. */
static void block64(const int16_t *a0, const int16_t *a1, const int16_t *b0, const int16_t *b1, int32_t kp,
                    int64_t acc[4])
{
    pair64(a0, b0, b1, kp, acc);
    pair64(a1, b0, b1, kp, acc + 2);
}

/* Requantize and store output (i, j) of one batch. */
static void store(const tk_batch_matmul_params *p, int32_t s8, void *out, size_t at, int64_t acc)
{
    if (s8) {
        const int32_t v = tk_requantize((int32_t)acc, p->multiplier, p->shift) + p->output_offset;
        ((int8_t *)out)[at] = (int8_t)tk_clamp_s32(v, TK_INT8_MIN, TK_INT8_MAX);
    } else {
        const int32_t v = tk_requantize_s64(acc, p->multiplier, p->shift);
        ((int16_t *)out)[at] = (int16_t)tk_clamp_s32(v, TK_INT16_MIN, TK_INT16_MAX);
    }
}

/* Every output of one batch from the packed rows: 2 x 2 blocks (an odd last row or column is
 * computed twice and stored once). */
static void matmul_blocks(const tk_batch_matmul_params *p, int32_t s8, const int16_t *pl, const int16_t *pr,
                          int32_t kp, void *out, size_t base)
{
    const int32_t m = p->rows, n = p->cols;
    for (int32_t i = 0; i < m; i += 2) {
        const int32_t i1 = i + 1 < m ? i + 1 : i;
        const int16_t *a0 = pl + (size_t)i * (size_t)kp, *a1 = pl + (size_t)i1 * (size_t)kp;
        for (int32_t j = 0; j < n; j += 2) {
            const int32_t j1 = j + 1 < n ? j + 1 : j;
            const int16_t *b0 = pr + (size_t)j * (size_t)kp, *b1 = pr + (size_t)j1 * (size_t)kp;
            int64_t acc[4];
            if (s8) {
                int32_t a32[4];
                block32(a0, a1, b0, b1, kp, a32);
                acc[0] = a32[0]; acc[1] = a32[1]; acc[2] = a32[2]; acc[3] = a32[3];
            } else {
                block64(a0, a1, b0, b1, kp, acc);
            }
            const size_t r0 = base + (size_t)i * (size_t)n, r1 = base + (size_t)i1 * (size_t)n;
            store(p, s8, out, r1 + (size_t)j1, acc[3]);
            store(p, s8, out, r1 + (size_t)j, acc[2]);
            store(p, s8, out, r0 + (size_t)j1, acc[1]);
            store(p, s8, out, r0 + (size_t)j, acc[0]);
        }
    }
}

static tk_status batch_matmul(const tk_batch_matmul_params *params, const void *lhs, const void *rhs, void *output,
                              void *scratch, int32_t s8)
{
    const tk_batch_matmul_params local = *params;
    const tk_batch_matmul_params *p = &local;
    const int32_t m = p->rows, n = p->cols, kp = even_depth(p);
    const size_t elem = s8 ? 1u : 2u;
    int16_t *pl = (int16_t *)scratch;
    int16_t *pr = pl + (size_t)m * (size_t)kp;
    if (scratch == NULL) {
        return TK_ERROR;
    }
    for (int32_t b = 0; b < p->batches; ++b) {
        const void *l = (const int8_t *)lhs + (size_t)p->lhs_offsets[b] * elem;
        const void *r = (const int8_t *)rhs + (size_t)p->rhs_offsets[b] * elem;
        pack(p, s8, l, r, kp, pl, pr);
        matmul_blocks(p, s8, pl, pr, kp, output, (size_t)b * (size_t)m * (size_t)n);
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
