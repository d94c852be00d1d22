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

static int32_t padded_depth(const tk_fully_connected_params *p)
{
    return (p->depth + 3) & ~3;
}

/* acc[r] += x . row r of the quad starting at w (groups of 4 values). */
TK_INLINE void dot_quad(const int8_t *x, const int8_t *w, int32_t groups, int32_t depth, int32_t acc[4])
{
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    int32_t g = 0;
#if defined(__ARM_FEATURE_DSP) && defined(__GNUC__) && !defined(TK_DSP_EMULATE) && !defined(TK_NO_ASM)
    /* The loop below scheduled by hand (23 instructions per 16 multiply-accumulates, whatever the
     * optimisation level the firmware is built with). */
    const int32_t full = depth >> 2; /* groups whose 4 inputs all exist (the tail is read bytewise) */
    if (full > 0) {
        const int8_t *xp = x;
        int32_t n = full, xv, x13, w0, w1, t;
        __asm__ volatile(
            "1:\n\t"
            "ldr %[xv], [%[xp]], #4\n\t"
            "ldrd %[w0], %[w1], [%[w]], #8\n\t"
            "sxtb16 %[x13], %[xv], ror #8\n\t"
            "sxtb16 %[xv], %[xv]\n\t"
            "sxtb16 %[t], %[w0]\n\t"
            "smlad %[a0], %[t], %[xv], %[a0]\n\t"
            "sxtb16 %[t], %[w0], ror #8\n\t"
            "smlad %[a0], %[t], %[x13], %[a0]\n\t"
            "sxtb16 %[t], %[w1]\n\t"
            "smlad %[a1], %[t], %[xv], %[a1]\n\t"
            "sxtb16 %[t], %[w1], ror #8\n\t"
            "smlad %[a1], %[t], %[x13], %[a1]\n\t"
            "ldrd %[w0], %[w1], [%[w]], #8\n\t"
            "sxtb16 %[t], %[w0]\n\t"
            "smlad %[a2], %[t], %[xv], %[a2]\n\t"
            "sxtb16 %[t], %[w0], ror #8\n\t"
            "smlad %[a2], %[t], %[x13], %[a2]\n\t"
            "sxtb16 %[t], %[w1]\n\t"
            "smlad %[a3], %[t], %[xv], %[a3]\n\t"
            "sxtb16 %[t], %[w1], ror #8\n\t"
            "smlad %[a3], %[t], %[x13], %[a3]\n\t"
            "subs %[n], %[n], #1\n\t"
            "bne 1b\n\t"
            : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [xp] "+r"(xp), [w] "+r"(w), [n] "+r"(n),
              [xv] "=&r"(xv), [x13] "=&r"(x13), [w0] "=&r"(w0), [w1] "=&r"(w1), [t] "=&r"(t)
            :
            : "cc", "memory");
        g = full;
    }
#elif defined(TK_USE_DSP)
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
            dot_quad(x, w, kp >> 2, p->depth, acc);
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
