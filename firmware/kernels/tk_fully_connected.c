/* FULLY_CONNECTED int8, bit-exact with TFLite's reference FullyConnected (int8 weights have zero
 * point 0). TFLite sums (in + input_offset) * w; input_offset * sum(w) is folded into the bias at
 * generation time, so each output is bias' + in . w, the same integer. Padding the depth to a
 * multiple of 4 and the units to a multiple of 4 adds products with zero weights only.
 *
 * Weights are rearranged at generation time as [unit quad][k / 4][4 units][4 values]: one pass
 * reads four rows through a single pointer. With the DSP extension one 32-bit load of 4 inputs
 * and SXTB16 / SXTB16 ROR 8 give (x0, x2), (x1, x3), which SMLAD multiplies with each row's
 * (w0, w2), (w1, w3): 16 multiply-accumulates in about 25 instructions.
 */
/* A hot kernel: built for speed even when the firmware is built for size (-Os). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O2")
#endif
#include "tk_fully_connected.h"

#include "tk_dsp.h"

/* -DTK_NO_FAST_REQUANT forces the general requantization (the host tests check both paths). */
#ifdef TK_NO_FAST_REQUANT
#define TK_FAST_REQUANT(p) 0
#else
#define TK_FAST_REQUANT(p) ((p)->fast_requant)
#endif

static int32_t padded_depth(const tk_fully_connected_params *p)
{
    return (p->depth + 3) & ~3;
}

/* acc[r] += x . row r of the quad starting at w (groups of 4 values). */
static void dot_quad(const int8_t *x, const int8_t *w, int32_t groups, int32_t depth, int32_t acc[4])
{
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    int32_t g = 0;
#ifdef TK_USE_DSP
    const int32_t full = depth >> 2; /* groups whose 4 inputs all exist (the tail is read bytewise) */
    for (; g < full; ++g) {
        const int32_t xv = tk_read_s32(x + 4 * g);
        const int32_t x02 = tk_sxtb16(xv), x13 = tk_sxtb16_ror8(xv);
        int32_t wv = tk_read_s32(w);
        a0 = tk_smlad(tk_sxtb16(wv), x02, a0);
        a0 = tk_smlad(tk_sxtb16_ror8(wv), x13, a0);
        wv = tk_read_s32(w + 4);
        a1 = tk_smlad(tk_sxtb16(wv), x02, a1);
        a1 = tk_smlad(tk_sxtb16_ror8(wv), x13, a1);
        wv = tk_read_s32(w + 8);
        a2 = tk_smlad(tk_sxtb16(wv), x02, a2);
        a2 = tk_smlad(tk_sxtb16_ror8(wv), x13, a2);
        wv = tk_read_s32(w + 12);
        a3 = tk_smlad(tk_sxtb16(wv), x02, a3);
        a3 = tk_smlad(tk_sxtb16_ror8(wv), x13, a3);
        w += 16;
    }
#endif
    for (; g < groups; ++g) {
        for (int32_t j = 0; j < 4; ++j) {
            const int32_t k = 4 * g + j;
            const int32_t v = k < depth ? x[k] : 0; /* never read past the input row */
            a0 += v * w[j];
            a1 += v * w[4 + j];
            a2 += v * w[8 + j];
            a3 += v * w[12 + j];
        }
        w += 16;
    }
    acc[0] = a0; acc[1] = a1; acc[2] = a2; acc[3] = a3;
}

tk_status tk_fully_connected_s8(const tk_fully_connected_params *params, const int8_t *input, int8_t *output)
{
    /* A local copy: stores through int8_t pointers could alias *params, forcing reloads. */
    const tk_fully_connected_params local = *params;
    const tk_fully_connected_params *p = &local;
    const int32_t kp = padded_depth(p);
    const int32_t qstep = p->per_channel ? 1 : 0;
    const int32_t off = p->output_offset, lo = p->act.min, hi = p->act.max;
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
            dot_quad(x, w, kp >> 2, p->depth, acc);
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
