/* TFLite Micro's int16 sigmoid and tanh, one element at a time, bit for bit.
 *
 * TFLM evaluates int16 LOGISTIC and TANH (and the gates of its 16x8 LSTM) by linear interpolation
 * in one 256-entry Q0.16 table of sigmoid(i / 24), using tanh(x) = 2 sigmoid(2x) - 1. The input
 * is first rescaled to steps of 1/(3 * 4096): (x * multiplier + round) >> shift, where the
 * generator has already folded TFLM's power-of-two case into multiplier = 3 << shift, shift = 0
 * (tinykit/codegen/lut16.py computes both and the table). LOGISTIC interpolates on 9 fraction
 * bits, TANH on 8. Kernels and recurrent cells include this header to share the arithmetic.
 */
#ifndef TK_SIGMOID16_H
#define TK_SIGMOID16_H

#include "tk_types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The input on the table's scale; |x * multiplier| < 2^30 because multiplier <= 32767. */
TK_INLINE int32_t tk_sigmoid16_rescale(int16_t x, int32_t multiplier, int32_t shift)
{
    const int32_t round = shift > 0 ? (int32_t)1 << (shift - 1) : 0;
    return ((int32_t)x * multiplier + round) >> shift;
}

/* reference_integer_ops::Logistic (int16): Q0.15 output. */
TK_INLINE int16_t tk_logistic16(int16_t x, int32_t multiplier, int32_t shift, const uint16_t *table)
{
    const int32_t v = tk_sigmoid16_rescale(x, multiplier, shift);
    const uint32_t a = (uint32_t)(v < 0 ? -v : v);
    const uint32_t h = a >> 9;
    uint32_t r;
    if (h >= 255u) {
        r = (uint32_t)0x7FFF << 10;
    } else {
        const uint32_t lo = table[h];
        r = (lo << 9) + (a & 0x1FFu) * ((uint32_t)table[h + 1] - lo);
    }
    r = v >= 0 ? r + (1u << 9) : (1u << 25) - r + (1u << 9) - 1u;
    return (int16_t)(r >> 10);
}

/* reference_integer_ops::Tanh (int16): Q0.15 output. */
TK_INLINE int16_t tk_tanh16(int16_t x, int32_t multiplier, int32_t shift, const uint16_t *table)
{
    const int32_t v = tk_sigmoid16_rescale(x, multiplier, shift);
    const uint32_t a = (uint32_t)(v < 0 ? -v : v);
    const uint32_t h = a >> 8;
    int32_t r;
    if (h >= 255u) {
        r = (int32_t)((uint32_t)0xFFFF << 8);
    } else {
        const uint32_t lo = table[h];
        r = (int32_t)((lo << 8) + (a & 0xFFu) * ((uint32_t)table[h + 1] - lo));
    }
    r = v >= 0 ? r - (1 << 23) + (1 << 7) : -r + (1 << 23) + (1 << 7) - 1;
    return (int16_t)(r >> 8);
}

#ifdef __cplusplus
}
#endif

#endif /* TK_SIGMOID16_H */
