/* FULLY_CONNECTED int8, bit-exact with TFLite's reference FullyConnected (int8 weights have zero
 * point 0). TFLite sums (in + input_offset) * w; input_offset * sum(w) is folded into the bias at
 * generation time, so each output is bias' + in . w, the same integer. */
#include "tk_fully_connected.h"

#include "tk_dsp.h"

#ifdef TK_USE_DSP
/* Two weight rows against one int8 input row; SXTB16 splits even/odd bytes of both alike. */
static void dot_rows2(const int8_t *x, const int8_t *w0, const int8_t *w1, int32_t k, int32_t *a0, int32_t *a1)
{
    int32_t s0 = *a0, s1 = *a1;
    int32_t i = 0;
    for (; i + 4 <= k; i += 4) {
        const int32_t xv = tk_read_s32(x + i), av = tk_read_s32(w0 + i), bv = tk_read_s32(w1 + i);
        const int32_t x02 = tk_sxtb16(xv), x13 = tk_sxtb16_ror8(xv);
        s0 = tk_smlad(tk_sxtb16(av), x02, s0);
        s0 = tk_smlad(tk_sxtb16_ror8(av), x13, s0);
        s1 = tk_smlad(tk_sxtb16(bv), x02, s1);
        s1 = tk_smlad(tk_sxtb16_ror8(bv), x13, s1);
    }
    for (; i < k; ++i) {
        s0 += x[i] * w0[i];
        s1 += x[i] * w1[i];
    }
    *a0 = s0;
    *a1 = s1;
}
#else
static void dot_rows2(const int8_t *x, const int8_t *w0, const int8_t *w1, int32_t k, int32_t *a0, int32_t *a1)
{
    int32_t s0 = *a0, s1 = *a1;
    for (int32_t i = 0; i < k; ++i) {
        s0 += x[i] * w0[i];
        s1 += x[i] * w1[i];
    }
    *a0 = s0;
    *a1 = s1;
}
#endif

tk_status tk_fully_connected_s8(const tk_fully_connected_params *params, const int8_t *input, int8_t *output)
{
    const tk_fully_connected_params *p = params;
    const int32_t k = p->depth;
    const int32_t qstep = p->per_channel ? 1 : 0;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *x = input + (size_t)b * (size_t)k;
        int8_t *out = output + (size_t)b * (size_t)p->units;
        for (int32_t u = 0; u < p->units; u += 2) {
            const int32_t u1 = u + 1 < p->units ? u + 1 : u;
            const int32_t q0 = u * qstep, q1 = u1 * qstep;
            int32_t a0 = p->bias[u], a1 = p->bias[u1];
            dot_rows2(x, p->filter_data + (size_t)u * (size_t)k, p->filter_data + (size_t)u1 * (size_t)k, k, &a0, &a1);
            out[u] = tk_requantize_s8_pos(a0, p->multipliers[q0], p->shifts[q0], p->output_offset, p->act.min,
                                          p->act.max);
            out[u1] = tk_requantize_s8_pos(a1, p->multipliers[q1], p->shifts[q1], p->output_offset, p->act.min,
                                           p->act.max);
        }
    }
    return TK_OK;
}
