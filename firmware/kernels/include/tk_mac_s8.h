/* The int8 building block: four rows of int8 weights times one int8 vector.
 *
 * Shared by FULLY_CONNECTED and the gates of the recurrent ops (SVDF feature weights, LSTM gates).
 * Weights are rearranged at generation time as [unit quad][k / 4][4 units][4 values] (see
 * fc_filter_quads in tinykit/codegen/ops_conv.py): one pass reads four rows through a single
 * pointer. With the DSP extension one 32-bit load of 4 inputs and SXTB16 / SXTB16 ROR 8 give
 * (x0, x2), (x1, x3), which SMLAD multiplies with each row's (w0, w2), (w1, w3): 16
 * multiply-accumulates in about 25 instructions. Accumulators wrap as int32 (as TFLite's do).
 */
#ifndef TK_MAC_S8_H
#define TK_MAC_S8_H

#include "tk_dsp.h"

#ifdef __cplusplus
extern "C" {
#endif

/* acc[r] += x . row r of the quad starting at w, over `groups` groups of 4 values; the input x has
 * `depth` values and is never read past them (a depth that is not a multiple of 4 is read bytewise
 * at its end). w: [group][row 0..3][4 values], rows padded with zero weights. */
TK_INLINE void tk_mac_s8_4x1(const int8_t *w, const int8_t *x, int32_t groups, int32_t depth, int32_t acc[4])
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

#ifdef __cplusplus
}
#endif

#endif /* TK_MAC_S8_H */
