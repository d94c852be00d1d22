/* FULLY_CONNECTED int8, bit-exact with TFLite's reference FullyConnected (int8 weights have zero
 * point 0). TFLite sums (in + input_offset) * w; input_offset * sum(w) is folded into the bias at
 * generation time, so each output is bias' + in . w, the same integer. Padding the depth to a
 * multiple of 4 and the units to a multiple of 4 adds products with zero weights only. The dot
 * products are tk_mac_s8.h's (four rows per pass, SMLAD with the DSP extension).
 */
/* A hot kernel: built for speed even when the firmware is built for size (-Os). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O2")
#endif
#include "tk_fully_connected.h"

#include "tk_fully_connected_mve.h"
#include "tk_mac_s8.h"

static int32_t padded_depth(const tk_fully_connected_params *p)
{
    return (p->depth + 3) & ~3;
}

/* Layers with a proved tk_requant_hi, the whole int8 range as clamp and units % 4 == 0: four
 * units per pass with no tail tests, one SMLAL per value, SSAT for the clamp. */
static void fc_hi(const tk_fully_connected_params *p, const int8_t *input, int8_t *output)
{
    const int32_t kp = padded_depth(p);
    const int32_t qstep = p->per_channel ? 1 : 0;
    const int32_t off = p->output_offset;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *x = input + (size_t)b * (size_t)p->depth;
        int8_t *out = output + (size_t)b * (size_t)p->units;
        const int8_t *w = p->filter_data;
        for (int32_t u = 0; u < p->units; u += 4, w += 4 * kp) {
            int32_t acc[4] = {p->bias[u], p->bias[u + 1], p->bias[u + 2], p->bias[u + 3]};
            tk_mac_s8_4x1(w, x, kp >> 2, p->depth, acc);
            for (int32_t j = 0; j < 4; ++j) {
                const int32_t q = (u + j) * qstep, sh = p->shifts[q];
                const int32_t v = tk_requant_hi(acc[j], p->multipliers[q], tk_requant_hi_c(sh, off), sh);
                out[u + j] = (int8_t)tk_clamp_s8(v, TK_INT8_MIN, TK_INT8_MAX, 1);
            }
        }
    }
}

tk_status tk_fully_connected_s8(const tk_fully_connected_params *params, const int8_t *input, int8_t *output)
{
#ifdef TK_USE_MVE
    return tk_fully_connected_s8_mve(params, input, output); /* the code below is dead: dropped */
#endif
    /* A local copy: stores through int8_t pointers could alias *params, forcing reloads. */
    const tk_fully_connected_params local = *params;
    const tk_fully_connected_params *p = &local;
    const int32_t kp = padded_depth(p);
    const int32_t qstep = p->per_channel ? 1 : 0;
    const int32_t off = p->output_offset, lo = p->act.min, hi = p->act.max;
    if (TK_RQ_HI(p) && lo == TK_INT8_MIN && hi == TK_INT8_MAX && (p->units & 3) == 0) {
        fc_hi(p, input, output);
        return TK_OK;
    }
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *x = input + (size_t)b * (size_t)p->depth;
        int8_t *out = output + (size_t)b * (size_t)p->units;
        const int8_t *w = p->filter_data;
        for (int32_t u = 0; u < p->units; u += 4, w += 4 * kp) {
            int32_t acc[4];
            int8_t r[4];
            const int32_t n = p->units - u < 4 ? p->units - u : 4;
            for (int32_t j = 0; j < 4; ++j) {
                acc[j] = j < n ? p->bias[u + j] : 0;
            }
            tk_mac_s8_4x1(w, x, kp >> 2, p->depth, acc);
            for (int32_t j = 0; j < n; ++j) {
                const int32_t q = (u + j) * qstep;
                r[j] = TK_FAST_REQUANT(p) ? tk_requantize_s8_fast(acc[j], p->multipliers[q], -p->shifts[q],
                                                                 1 << (-p->shifts[q] - 1), off, lo, hi)
                                       : tk_requantize_s8_pos(acc[j], p->multipliers[q], p->shifts[q], off, lo, hi);
            }
            for (int32_t j = 0; j < n; ++j) {
                out[u + j] = r[j];
            }
        }
    }
    return TK_OK;
}
