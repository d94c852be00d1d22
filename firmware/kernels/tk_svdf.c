/* SVDF int8 with int16 or int8 state: see tk_svdf.h.
 *
 * TFLM sums w * (x - input zero point) and t * (s - state zero point) in int32; the zero point
 * terms are folded into per-filter biases at generation time (the same integers modulo 2^32, and
 * TFLM's int32 sums wrap the same way), so the inner loops multiply raw values. TFLM shifts the
 * whole state buffer left by one element and then overwrites every row's last column; shifting
 * each row on its own leaves the same values. Its integer path applies no fused activation.
 */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O2")
#endif
#include "tk_svdf.h"

#include "tk_mac_s8.h"

/* int32 sum with two's-complement wrap-around (TFLM's int32 accumulators). */
TK_INLINE int32_t wrap_add(int32_t a, int32_t b)
{
    return (int32_t)((uint32_t)a + (uint32_t)b);
}

TK_INLINE int32_t time_dot16(const int16_t *t, const int16_t *s, int32_t n)
{
    int32_t acc = 0, j = 0;
#if defined(TK_USE_DSP)
    for (; j + 1 < n; j += 2) {
        acc = tk_smlad(tk_read_s32(t + j), tk_read_s32(s + j), acc);
    }
#endif
    for (; j < n; ++j) {
        acc = wrap_add(acc, (int32_t)t[j] * (int32_t)s[j]);
    }
    return acc;
}

TK_INLINE int32_t time_dot8(const int8_t *t, const int8_t *s, int32_t n)
{
    int32_t acc = 0;
    for (int32_t j = 0; j < n; ++j) {
        acc += (int32_t)t[j] * (int32_t)s[j]; /* |sum| < n * 2^14: no wrap */
    }
    return acc;
}

/* Shift a row left by one and append the new feature value v (already clamped and offset). */
TK_INLINE void push16(int16_t *row, int32_t memory, int32_t v)
{
    for (int32_t j = 0; j + 1 < memory; ++j) {
        row[j] = row[j + 1];
    }
    row[memory - 1] = (int16_t)v;
}

TK_INLINE void push8(int8_t *row, int32_t memory, int32_t v)
{
    for (int32_t j = 0; j + 1 < memory; ++j) {
        row[j] = row[j + 1];
    }
    row[memory - 1] = (int8_t)v; /* TFLM stores zero point + value into int8: it wraps the same */
}

/* One batch row: the feature products of four filters at a time, each pushed into its state row,
 * then that row's time product added to its unit's sum; a unit is written after `rank` filters. */
TK_INLINE void svdf_batch(const tk_svdf_params *p, const int8_t *x, void *state, int8_t *out, int wide)
{
    const int32_t kp = (p->input_size + 3) & ~3, m = p->memory;
    const int32_t lo = wide ? TK_INT16_MIN : TK_INT8_MIN, hi = wide ? TK_INT16_MAX : TK_INT8_MAX;
    const int8_t *wf = p->weights_feature;
    int32_t unit_sum = 0, r = 0, u = 0;
    for (int32_t f0 = 0; f0 < p->filters; f0 += 4, wf += 4 * kp) {
        int32_t acc[4] = {p->feature_bias[f0], p->feature_bias[f0 + 1], p->feature_bias[f0 + 2],
                          p->feature_bias[f0 + 3]};
        const int32_t n = p->filters - f0 < 4 ? p->filters - f0 : 4;
        tk_mac_s8_4x1(wf, x, kp >> 2, p->input_size, acc);
        for (int32_t j = 0; j < n; ++j) {
            const int32_t f = f0 + j;
            const int32_t v = p->state_zero_point +
                              tk_clamp_s32(tk_requantize(acc[j], p->feature_q.multiplier, p->feature_q.shift), lo, hi);
            int32_t t;
            if (wide) {
                int16_t *row = (int16_t *)state + (size_t)f * (size_t)m;
                push16(row, m, v);
                t = time_dot16(p->weights_time16 + (size_t)f * (size_t)m, row, m);
            } else {
                int8_t *row = (int8_t *)state + (size_t)f * (size_t)m;
                push8(row, m, v);
                t = time_dot8(p->weights_time8 + (size_t)f * (size_t)m, row, m);
            }
            unit_sum = wrap_add(unit_sum, wrap_add(t, p->time_bias[f]));
            if (++r == p->rank) {
                const int32_t o = tk_requantize(wrap_add(unit_sum, p->bias[u]), p->output_q.multiplier,
                                                p->output_q.shift) + p->output_offset;
                out[u++] = tk_sat_s8(o);
                unit_sum = 0;
                r = 0;
            }
        }
    }
}

/* Every batch row; the state holds `filters * memory` values of `size` bytes per batch row. */
TK_INLINE void svdf_run(const tk_svdf_params *p, const int8_t *input, uint8_t *state, int8_t *output, int wide)
{
    const int32_t units = p->filters / p->rank;
    const size_t row = (size_t)p->filters * (size_t)p->memory * (wide ? sizeof(int16_t) : sizeof(int8_t));
    for (int32_t b = 0; b < p->batches; ++b) {
        svdf_batch(p, input + (size_t)b * (size_t)p->input_size, state + (size_t)b * row,
                   output + (size_t)b * (size_t)units, wide);
    }
}

tk_status tk_svdf_s8(const tk_svdf_params *params, const int8_t *input, int16_t *state, int8_t *output)
{
    svdf_run(params, input, (uint8_t *)state, output, 1);
    return TK_OK;
}

tk_status tk_svdf_s8_state8(const tk_svdf_params *params, const int8_t *input, int8_t *state, int8_t *output)
{
    svdf_run(params, input, (uint8_t *)state, output, 0);
    return TK_OK;
}
