/* FULLY_CONNECTED 16x8, bit-exact with TFLite's reference FullyConnected / FullyConnectedPerChannel
 * for int16 input with an int64 or an int32 accumulator. TFLite sums w * (x + input_offset); the
 * generator folds input_offset * sum(w) into the bias, so the kernel sums w * x over raw inputs.
 *
 * Four units per pass (tk_mac_s16_4x1: 16 multiply-accumulates per 20 instructions on M4) over the
 * whole groups of 4 inputs; a depth that is not a multiple of 4 ends with one partial group in C
 * (the input row is never read past its end).
 */
/* A hot kernel: built for speed even when the firmware is built for size (-Os). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O2")
#endif
#include "tk_fully_connected_s16.h"

/* The last, partial group (rest = depth % 4 inputs) of four rows (w: [4 rows][4 permuted]). */
static void tail_group(const int8_t *w, const int16_t *x, int32_t rest, int64_t s[4])
{
    static const int8_t at[4] = {0, 2, 1, 3}; /* byte of value j in a permuted group */
    for (int32_t r = 0; r < 4; ++r) {
        for (int32_t j = 0; j < rest; ++j) {
            s[r] += (int32_t)w[4 * r + at[j]] * x[j];
        }
    }
}

/* One quad of units for one input row: int64 sums of bias + row . x. */
static void quad_sums(const tk_s16_requant *q, int32_t mode, const int8_t *w, const int16_t *x, int32_t depth,
                      int32_t u, const int32_t rows, int64_t s[4])
{
    const int32_t full = depth >> 2;
    for (int32_t r = 0; r < 4; ++r) {
        const int32_t ur = u + (r < rows ? r : 0);
        s[r] = mode == TK_S16_ACC64 ? tk_s16_bias64(q, ur) : q->bias32[ur];
    }
    if (mode == TK_S16_ACC64) {
        tk_mac_s16_4x1_wide(w, x, full, s);
    } else { /* int32 sums: exact (proved) or wrapping as TFLite's int32 accumulator */
        int32_t acc[4] = {(int32_t)s[0], (int32_t)s[1], (int32_t)s[2], (int32_t)s[3]};
        tk_mac_s16_4x1(w, x, full, acc);
        for (int32_t r = 0; r < 4; ++r) {
            s[r] = acc[r];
        }
    }
    if (depth & 3) {
        tail_group(w + 16 * full, x + 4 * full, depth & 3, s);
        if (mode != TK_S16_ACC64) {
            for (int32_t r = 0; r < 4; ++r) {
                s[r] = (int32_t)(uint32_t)(uint64_t)s[r]; /* the int32 accumulator's wrap-around */
            }
        }
    }
}

tk_status tk_fully_connected_s16(const tk_fully_connected_s16_params *params, const int16_t *input,
                                 int16_t *output)
{
    /* A local copy: stores through int16_t pointers could alias *params, forcing reloads. */
    const tk_fully_connected_s16_params local = *params;
    const tk_fully_connected_s16_params *p = &local;
    const int32_t kp = (p->depth + 3) & ~3;
    const int32_t mode = tk_s16_mode_of(&p->rq);
    for (int32_t b = 0; b < p->batches; ++b) {
        const int16_t *x = input + (size_t)b * (size_t)p->depth;
        int16_t *out = output + (size_t)b * (size_t)p->units;
        const int8_t *w = p->filter_data;
        for (int32_t u = 0; u < p->units; u += 4, w += 4 * kp) {
            const int32_t rows = p->units - u < 4 ? p->units - u : 4;
            int64_t s[4];
            quad_sums(&p->rq, mode, w, x, p->depth, u, rows, s);
            for (int32_t r = 0; r < rows; ++r) {
                out[u + r] = tk_s16_output(&p->rq, mode, u + r, s[r]);
            }
        }
    }
    return TK_OK;
}
