/* The 16x8 building blocks: int16 activations times int8 weights, and TFLite's output stage for them.
 *
 * Shared by CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED and TRANSPOSE_CONV in 16x8 (and by any
 * kernel that multiplies int16 vectors by int8 matrices, such as recurrent gates): the dot-product
 * micro-kernels, the weight layout they read and the requantization of their accumulators.
 *
 * Weight layout. Every 4 consecutive weights of a row (k = 4g .. 4g + 3) are stored permuted as
 * (w0, w2, w1, w3): one 32-bit load and SXTB16 give the int16 pair (w0, w1), SXTB16 ROR 8 gives
 * (w2, w3), which SMLAD multiplies with the input's own int16 words (x0, x1) and (x2, x3). The
 * activations are used as they lie in memory; only the weights (constants, rearranged at
 * generation time) are permuted, so nothing is repacked at run time.
 *
 * Accumulators. The micro-kernels add into int32 with two's-complement wrap-around, as SMLAD does.
 * That is TFLite's own arithmetic for layers with an int32 bias (its int32 accumulator wraps); for
 * int64-bias layers the generator either proves the int32 sum exact or the kernel sums chunks of at
 * most TK_S16_CHUNK_GROUPS groups (|chunk| <= 508 * 128 * 32768 < 2^31, exact for any input) into
 * int64.
 */
#ifndef TK_MAC_S16_H
#define TK_MAC_S16_H

#include <string.h>

#include "tk_dsp.h"
#include "tk_fixedpoint.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Groups of 4 int16 x int8 products whose int32 sum is exact for any input and weights. */
#define TK_S16_CHUNK_GROUPS 127

/* How a 16x8 layer turns accumulators into outputs (TFLite's choice by bias type). */
typedef enum {
    /* int32 bias (or none with quantized_bias_type int32): int32 accumulator with wrap-around,
     * then MultiplyByQuantizedMultiplier(int32) (gemmlowp double rounding). */
    TK_S16_ACC32 = 0,
    /* int64 bias, int32 sum proved exact by the generator: int32 accumulator started at the
     * bias, then MultiplyByQuantizedMultiplier(int64). */
    TK_S16_ACC64_FITS32 = 1,
    /* int64 bias: int64 accumulator (chunked int32 sums), then MultiplyByQuantizedMultiplier(int64). */
    TK_S16_ACC64 = 2
} tk_s16_mode;

/* The output stage of a 16x8 layer: one entry per output channel in every array. */
typedef struct {
    int32_t mode;               /* tk_s16_mode */
    const int32_t *bias32;      /* TK_S16_ACC32 / TK_S16_ACC64_FITS32 (bias + folded offsets); else NULL */
    const int64_t *bias64;      /* TK_S16_ACC64 (bias + folded offsets); else NULL */
    /* TK_S16_ACC32: QuantizeMultiplier's multiplier and shift. Otherwise the int64 requantization's
     * reduced multiplier ((m + 2^15) >> 16, at most 0x7FFF) and total right shift (15 - shift). */
    const int32_t *multipliers;
    const int8_t *shifts;
    int32_t output_offset; /* added after requantization (FULLY_CONNECTED); 0 for the convolutions */
    tk_activation act;     /* clamp range, within int16 */
} tk_s16_requant;

/* The accumulator mode a kernel runs: -DTK_NO_FAST_REQUANT sends proved layers down the general
 * int64 path, so host tests check both. */
TK_INLINE int32_t tk_s16_mode_of(const tk_s16_requant *q)
{
#ifdef TK_NO_FAST_REQUANT
    return q->mode == TK_S16_ACC64_FITS32 ? TK_S16_ACC64 : q->mode;
#else
    return q->mode;
#endif
}

/* Channel o's int64 bias in TK_S16_ACC64 (bias32 widened when the layer was proved to fit). */
TK_INLINE int64_t tk_s16_bias64(const tk_s16_requant *q, int32_t o)
{
    return q->bias64 != NULL ? q->bias64[o] : (int64_t)q->bias32[o];
}

/* Requantize, offset and clamp one accumulator of channel o. The int64 form is TFLite's
 * MultiplyByQuantizedMultiplier(int64_t, ...) with its int32 truncation of the shifted value. */
TK_INLINE int16_t tk_s16_output(const tk_s16_requant *q, int32_t mode, int32_t o, int64_t acc)
{
    int32_t v;
    if (mode == TK_S16_ACC32) {
        v = tk_requantize((int32_t)acc, q->multipliers[o], q->shifts[o]);
    } else if (mode == TK_S16_ACC64_FITS32) {
        v = tk_requantize_s64_from32((int32_t)acc, q->multipliers[o], q->shifts[o]);
    } else {
        v = tk_requantize_s64(acc, q->multipliers[o], q->shifts[o]);
    }
    v += q->output_offset;
    return (int16_t)tk_clamp_s32(v, q->act.min, q->act.max);
}

/* acc[4] = {row 0 . col 0, row 0 . col 1, row 1 . col 0, row 1 . col 1} (each += over `groups`).
 * w: [group][row 0..1][4 permuted values]; col: [group][column 0..1][4 int16]. */
#if defined(__ARM_FEATURE_DSP) && defined(__GNUC__) && !defined(TK_DSP_EMULATE) && !defined(TK_NO_ASM) && \
    defined(TK_USE_DSP)
/* Scheduled by hand: 16 instructions per 16 multiply-accumulates (two LDRD of the columns, two
 * weight loads, four SXTB16, eight SMLAD), independent of the firmware's optimisation level. */
TK_INLINE void tk_mac_s16_2x2(const int8_t *w, const int16_t *col, int32_t groups, int32_t acc[4])
{
    int32_t a00 = acc[0], a01 = acc[1], a10 = acc[2], a11 = acc[3];
    int32_t x01, x23, y01, y23, wv, t;
    if (groups <= 0) {
        return;
    }
    __asm__ volatile(
        "1:\n\t"
        "ldrd %[x01], %[x23], [%[col]], #8\n\t"
        "ldrd %[y01], %[y23], [%[col]], #8\n\t"
        "ldr %[wv], [%[w]], #4\n\t"
        "sxtb16 %[t], %[wv]\n\t"
        "smlad %[a00], %[t], %[x01], %[a00]\n\t"
        "smlad %[a01], %[t], %[y01], %[a01]\n\t"
        "sxtb16 %[t], %[wv], ror #8\n\t"
        "smlad %[a00], %[t], %[x23], %[a00]\n\t"
        "smlad %[a01], %[t], %[y23], %[a01]\n\t"
        "ldr %[wv], [%[w]], #4\n\t"
        "sxtb16 %[t], %[wv]\n\t"
        "smlad %[a10], %[t], %[x01], %[a10]\n\t"
        "smlad %[a11], %[t], %[y01], %[a11]\n\t"
        "sxtb16 %[t], %[wv], ror #8\n\t"
        "smlad %[a10], %[t], %[x23], %[a10]\n\t"
        "smlad %[a11], %[t], %[y23], %[a11]\n\t"
        "subs %[n], %[n], #1\n\t"
        "bne 1b\n\t"
        : [a00] "+r"(a00), [a01] "+r"(a01), [a10] "+r"(a10), [a11] "+r"(a11), [col] "+r"(col), [w] "+r"(w),
          [n] "+r"(groups), [x01] "=&r"(x01), [x23] "=&r"(x23), [y01] "=&r"(y01), [y23] "=&r"(y23),
          [wv] "=&r"(wv), [t] "=&r"(t)
        :
        : "cc", "memory");
    acc[0] = a00; acc[1] = a01; acc[2] = a10; acc[3] = a11;
}
#elif defined(TK_USE_DSP)
TK_INLINE void tk_mac_s16_2x2(const int8_t *w, const int16_t *col, int32_t groups, int32_t acc[4])
{
    int32_t a00 = acc[0], a01 = acc[1], a10 = acc[2], a11 = acc[3];
    for (int32_t g = 0; g < groups; ++g, col += 8, w += 8) {
        const int32_t x01 = tk_read_s32(col), x23 = tk_read_s32(col + 2);
        const int32_t y01 = tk_read_s32(col + 4), y23 = tk_read_s32(col + 6);
        const int32_t wa = tk_read_s32(w), wb = tk_read_s32(w + 4);
        int32_t lo = tk_sxtb16(wa), hi = tk_sxtb16_ror8(wa);
        a00 = tk_smlad(lo, x01, a00);
        a01 = tk_smlad(lo, y01, a01);
        a00 = tk_smlad(hi, x23, a00);
        a01 = tk_smlad(hi, y23, a01);
        lo = tk_sxtb16(wb);
        hi = tk_sxtb16_ror8(wb);
        a10 = tk_smlad(lo, x01, a10);
        a11 = tk_smlad(lo, y01, a11);
        a10 = tk_smlad(hi, x23, a10);
        a11 = tk_smlad(hi, y23, a11);
    }
    acc[0] = a00; acc[1] = a01; acc[2] = a10; acc[3] = a11;
}
#else
/* One group of a permuted weight word b against four int16 inputs (b = w0, w2, w1, w3). */
#define TK_S16_DOT4(b, x) ((b)[0] * (x)[0] + (b)[2] * (x)[1] + (b)[1] * (x)[2] + (b)[3] * (x)[3])
TK_INLINE int32_t tk_wrap_add(int32_t a, int32_t b)
{
    return (int32_t)((uint32_t)a + (uint32_t)b);
}

TK_INLINE void tk_mac_s16_2x2(const int8_t *w, const int16_t *col, int32_t groups, int32_t acc[4])
{
    int32_t a00 = acc[0], a01 = acc[1], a10 = acc[2], a11 = acc[3];
    for (int32_t g = 0; g < groups; ++g, col += 8, w += 8) {
        a00 = tk_wrap_add(a00, TK_S16_DOT4(w, col));
        a01 = tk_wrap_add(a01, TK_S16_DOT4(w, col + 4));
        a10 = tk_wrap_add(a10, TK_S16_DOT4(w + 4, col));
        a11 = tk_wrap_add(a11, TK_S16_DOT4(w + 4, col + 4));
    }
    acc[0] = a00; acc[1] = a01; acc[2] = a10; acc[3] = a11;
}
#endif

/* acc[r] += row r . x for four rows over `groups` groups of 4 (x: int16, any 2-byte alignment, read
 * in whole groups). w: [group][row 0..3][4 permuted values]. */
#if defined(__ARM_FEATURE_DSP) && defined(__GNUC__) && !defined(TK_DSP_EMULATE) && !defined(TK_NO_ASM) && \
    defined(TK_USE_DSP)
/* 20 instructions per 16 multiply-accumulates (the inputs by two LDR, which, unlike LDRD, take any
 * alignment: a row of an odd-depth input starts half-way into a word). */
TK_INLINE void tk_mac_s16_4x1(const int8_t *w, const int16_t *x, int32_t groups, int32_t acc[4])
{
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    int32_t x01, x23, w0, w1, t;
    if (groups <= 0) {
        return;
    }
    __asm__ volatile(
        "1:\n\t"
        "ldr %[x01], [%[x]], #4\n\t"
        "ldr %[x23], [%[x]], #4\n\t"
        "ldrd %[w0], %[w1], [%[w]], #8\n\t"
        "sxtb16 %[t], %[w0]\n\t"
        "smlad %[a0], %[t], %[x01], %[a0]\n\t"
        "sxtb16 %[t], %[w0], ror #8\n\t"
        "smlad %[a0], %[t], %[x23], %[a0]\n\t"
        "sxtb16 %[t], %[w1]\n\t"
        "smlad %[a1], %[t], %[x01], %[a1]\n\t"
        "sxtb16 %[t], %[w1], ror #8\n\t"
        "smlad %[a1], %[t], %[x23], %[a1]\n\t"
        "ldrd %[w0], %[w1], [%[w]], #8\n\t"
        "sxtb16 %[t], %[w0]\n\t"
        "smlad %[a2], %[t], %[x01], %[a2]\n\t"
        "sxtb16 %[t], %[w0], ror #8\n\t"
        "smlad %[a2], %[t], %[x23], %[a2]\n\t"
        "sxtb16 %[t], %[w1]\n\t"
        "smlad %[a3], %[t], %[x01], %[a3]\n\t"
        "sxtb16 %[t], %[w1], ror #8\n\t"
        "smlad %[a3], %[t], %[x23], %[a3]\n\t"
        "subs %[n], %[n], #1\n\t"
        "bne 1b\n\t"
        : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [x] "+r"(x), [w] "+r"(w), [n] "+r"(groups),
          [x01] "=&r"(x01), [x23] "=&r"(x23), [w0] "=&r"(w0), [w1] "=&r"(w1), [t] "=&r"(t)
        :
        : "cc", "memory");
    acc[0] = a0; acc[1] = a1; acc[2] = a2; acc[3] = a3;
}
#elif defined(TK_USE_DSP)
TK_INLINE void tk_mac_s16_4x1(const int8_t *w, const int16_t *x, int32_t groups, int32_t acc[4])
{
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    for (int32_t g = 0; g < groups; ++g, x += 4, w += 16) {
        const int32_t x01 = tk_read_s32(x), x23 = tk_read_s32(x + 2);
        int32_t wv = tk_read_s32(w);
        a0 = tk_smlad(tk_sxtb16(wv), x01, a0);
        a0 = tk_smlad(tk_sxtb16_ror8(wv), x23, a0);
        wv = tk_read_s32(w + 4);
        a1 = tk_smlad(tk_sxtb16(wv), x01, a1);
        a1 = tk_smlad(tk_sxtb16_ror8(wv), x23, a1);
        wv = tk_read_s32(w + 8);
        a2 = tk_smlad(tk_sxtb16(wv), x01, a2);
        a2 = tk_smlad(tk_sxtb16_ror8(wv), x23, a2);
        wv = tk_read_s32(w + 12);
        a3 = tk_smlad(tk_sxtb16(wv), x01, a3);
        a3 = tk_smlad(tk_sxtb16_ror8(wv), x23, a3);
    }
    acc[0] = a0; acc[1] = a1; acc[2] = a2; acc[3] = a3;
}
#else
TK_INLINE void tk_mac_s16_4x1(const int8_t *w, const int16_t *x, int32_t groups, int32_t acc[4])
{
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    for (int32_t g = 0; g < groups; ++g, x += 4, w += 16) {
        a0 = tk_wrap_add(a0, TK_S16_DOT4(w, x));
        a1 = tk_wrap_add(a1, TK_S16_DOT4(w + 4, x));
        a2 = tk_wrap_add(a2, TK_S16_DOT4(w + 8, x));
        a3 = tk_wrap_add(a3, TK_S16_DOT4(w + 12, x));
    }
    acc[0] = a0; acc[1] = a1; acc[2] = a2; acc[3] = a3;
}
#endif

/* One of the micro-kernels above. */
typedef void (*tk_s16_mac_fn)(const int8_t *w, const int16_t *x, int32_t groups, int32_t acc[4]);

/* s[j] += the exact int64 sums of micro-kernel `mac` over `groups` groups (w_step weight bytes and
 * x_step input values per group), in chunks of int32 sums that cannot overflow. */
TK_INLINE void tk_mac_s16_wide(tk_s16_mac_fn mac, int32_t w_step, int32_t x_step, const int8_t *w,
                               const int16_t *x, int32_t groups, int64_t s[4])
{
    while (groups > 0) {
        const int32_t n = groups < TK_S16_CHUNK_GROUPS ? groups : TK_S16_CHUNK_GROUPS;
        int32_t acc[4] = {0, 0, 0, 0};
        mac(w, x, n, acc);
        for (int32_t j = 0; j < 4; ++j) {
            s[j] += acc[j];
        }
        w += w_step * n;
        x += x_step * n;
        groups -= n;
    }
}

/* tk_mac_s16_2x2 / tk_mac_s16_4x1 with exact int64 sums (any number of groups). */
TK_INLINE void tk_mac_s16_2x2_wide(const int8_t *w, const int16_t *col, int32_t groups, int64_t s[4])
{
    tk_mac_s16_wide(tk_mac_s16_2x2, 8, 8, w, col, groups, s);
}

TK_INLINE void tk_mac_s16_4x1_wide(const int8_t *w, const int16_t *x, int32_t groups, int64_t s[4])
{
    tk_mac_s16_wide(tk_mac_s16_4x1, 16, 4, w, x, groups, s);
}

/* Offset and clamp of one requantized value. */
TK_INLINE int16_t tk_s16_clamp(const tk_s16_requant *q, int32_t v)
{
    return (int16_t)tk_clamp_s32(v + q->output_offset, q->act.min, q->act.max);
}

/* Two int32 accumulators of channel o in TK_S16_ACC64_FITS32: the channel's scaled multiplier is
 * formed once (see tk_requantize_s64_from32). */
TK_INLINE void tk_s16_fits32_two(const tk_s16_requant *q, int32_t o, int32_t a, int32_t b, int16_t *ra,
                                 int16_t *rb)
{
    const int32_t m = q->multipliers[o], total = q->shifts[o];
    if (total >= 16 && total <= 32) {
        const int32_t scaled = (int32_t)((uint32_t)m << (32 - total));
        *ra = tk_s16_clamp(q, (int32_t)(((int64_t)a * scaled + INT64_C(0x80000000)) >> 32));
        *rb = tk_s16_clamp(q, (int32_t)(((int64_t)b * scaled + INT64_C(0x80000000)) >> 32));
    } else {
        *ra = tk_s16_clamp(q, tk_requantize_s64(a, m, total));
        *rb = tk_s16_clamp(q, tk_requantize_s64(b, m, total));
    }
}

/* The four outputs {channel o . col 0, o . col 1, o1 . col 0, o1 . col 1} of one channel pair
 * (weights w: [group][2][4 permuted], o1 = o + 1 or o for an odd last channel over a zero row)
 * against two columns ([group][2][4] int16), accumulated and requantized as the layer's mode says. */
TK_INLINE void tk_s16_pair(const tk_s16_requant *q, int32_t mode, const int8_t *w, const int16_t *col,
                           int32_t groups, int32_t o, int32_t o1, int16_t r[4])
{
    if (mode == TK_S16_ACC64) {
        const int64_t b0 = tk_s16_bias64(q, o), b1 = tk_s16_bias64(q, o1);
        int64_t s[4] = {b0, b0, b1, b1};
        tk_mac_s16_2x2_wide(w, col, groups, s);
        r[0] = tk_s16_output(q, mode, o, s[0]);
        r[1] = tk_s16_output(q, mode, o, s[1]);
        r[2] = tk_s16_output(q, mode, o1, s[2]);
        r[3] = tk_s16_output(q, mode, o1, s[3]);
        return;
    }
    {
        int32_t acc[4] = {q->bias32[o], q->bias32[o], q->bias32[o1], q->bias32[o1]};
        tk_mac_s16_2x2(w, col, groups, acc);
        if (mode == TK_S16_ACC64_FITS32) {
            tk_s16_fits32_two(q, o, acc[0], acc[1], &r[0], &r[1]);
            tk_s16_fits32_two(q, o1, acc[2], acc[3], &r[2], &r[3]);
            return;
        }
        r[0] = tk_s16_output(q, mode, o, acc[0]);
        r[1] = tk_s16_output(q, mode, o, acc[1]);
        r[2] = tk_s16_output(q, mode, o1, acc[2]);
        r[3] = tk_s16_output(q, mode, o1, acc[3]);
    }
}

/* Column slot of value k of one pixel in the two-pixel column layout [k / 4][pixel][4]. */
#define TK_S16_COL_SLOT(k) ((((k) >> 2) << 3) | ((k) & 3))

/* n int16 values (src NULL: zeros) into one pixel's column slots k0 .. k0 + n - 1 (col points at
 * the pixel's slot); whole groups of 4 are one 8-byte copy. */
TK_INLINE void tk_s16_put(const int16_t *src, int32_t n, int32_t k0, int16_t *col)
{
    if (((n | k0) & 3) == 0) {
        int16_t *dst = col + 2 * k0;
        for (int32_t g = 0; g < n; g += 4, dst += 8) {
            if (src != NULL) {
                memcpy(dst, src + g, 8);
            } else {
                memset(dst, 0, 8);
            }
        }
        return;
    }
    for (int32_t c = 0; c < n; ++c) {
        col[TK_S16_COL_SLOT(k0 + c)] = src != NULL ? src[c] : 0;
    }
}

/* The same for int8 values widened with their offset (src[c] + offset, the input minus its zero
 * point; src NULL: 0, a tap TFLite skips). */
TK_INLINE void tk_s16_put_s8(const int8_t *src, int32_t n, int32_t offset, int32_t k0, int16_t *col)
{
    for (int32_t c = 0; c < n; ++c) {
        col[TK_S16_COL_SLOT(k0 + c)] = (int16_t)(src != NULL ? src[c] + offset : 0);
    }
}

/* Zeros in one pixel's column slots from k up to kp (the padding of K to a multiple of 4). */
TK_INLINE void tk_s16_put_zeros(int32_t k, int32_t kp, int16_t *col)
{
    for (; k < kp; ++k) {
        col[TK_S16_COL_SLOT(k)] = 0;
    }
}

#ifdef __cplusplus
}
#endif

#endif /* TK_MAC_S16_H */
