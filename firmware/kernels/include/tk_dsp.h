/* SIMD multiply-accumulate helpers for the hot loops of conv / depthwise / fully connected.
 *
 * On cores with the DSP extension (__ARM_FEATURE_DSP: Cortex-M4, M7, M33, M55) these are the ACLE
 * intrinsics from arm_acle.h (SMLAD: two 16x16 MACs per instruction, SXTB16: two int8 -> int16).
 * Defining TK_DSP_EMULATE on any other compiler builds the same DSP code path with portable C
 * stand-ins, so the host tests check the DSP path's bytes too. Without either, kernels use their
 * plain C loops (Cortex-M0/M0+/M3 and the host).
 */
#ifndef TK_DSP_H
#define TK_DSP_H

#include <string.h>

#include "tk_types.h"

#if defined(__ARM_FEATURE_DSP) && (__ARM_FEATURE_DSP == 1) && !defined(TK_NO_DSP)
#include <arm_acle.h>
#define TK_USE_DSP 1
#define tk_smlad(a, b, acc) ((int32_t)__smlad((a), (b), (acc)))
#define tk_sxtb16(x) ((int32_t)__sxtb16((x)))
#define tk_sxtab16(a, x) ((int32_t)__sxtab16((a), (x)))
#define tk_smlabb(a, b, acc) ((int32_t)__smlabb((a), (b), (acc)))
#define tk_smlatt(a, b, acc) ((int32_t)__smlatt((a), (b), (acc)))
#define tk_smlald(a, b, acc) ((int64_t)__smlald((a), (b), (acc)))
/* SXTB16 with its free ROR #8 operand: bytes 1 and 3 sign-extended to two int16. */
TK_INLINE int32_t tk_sxtb16_ror8(int32_t x)
{
    int32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
    return r;
}
/* SXTAB16 with ROR #8: a + bytes 1 and 3 of x, per halfword. */
TK_INLINE int32_t tk_sxtab16_ror8(int32_t a, int32_t x)
{
    int32_t r;
    __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(a), "r"(x));
    return r;
}
#elif defined(TK_DSP_EMULATE)
#define TK_USE_DSP 1
/* Portable models of the instructions, bit for bit. */
TK_INLINE int32_t tk_smlad(int32_t a, int32_t b, int32_t acc)
{
    const int32_t lo = (int32_t)(int16_t)(a & 0xFFFF) * (int32_t)(int16_t)(b & 0xFFFF);
    const int32_t hi = (int32_t)(int16_t)((uint32_t)a >> 16) * (int32_t)(int16_t)((uint32_t)b >> 16);
    return (int32_t)((uint32_t)acc + (uint32_t)lo + (uint32_t)hi);
}
TK_INLINE int32_t tk_sxtb16(int32_t x)
{
    const uint32_t lo = (uint32_t)(uint16_t)(int16_t)(int8_t)(x & 0xFF);
    const uint32_t hi = (uint32_t)(uint16_t)(int16_t)(int8_t)(((uint32_t)x >> 16) & 0xFF);
    return (int32_t)(lo | (hi << 16));
}
TK_INLINE int32_t tk_sxtb16_ror8(int32_t x)
{
    return tk_sxtb16((int32_t)(((uint32_t)x >> 8) | ((uint32_t)x << 24)));
}
TK_INLINE int32_t tk_sxtab16(int32_t a, int32_t x)
{
    const int32_t e = tk_sxtb16(x);
    const uint32_t lo = ((uint32_t)a + (uint32_t)e) & 0xFFFFu;
    const uint32_t hi = (((uint32_t)a >> 16) + ((uint32_t)e >> 16)) & 0xFFFFu;
    return (int32_t)(lo | (hi << 16));
}
TK_INLINE int32_t tk_sxtab16_ror8(int32_t a, int32_t x)
{
    return tk_sxtab16(a, (int32_t)(((uint32_t)x >> 8) | ((uint32_t)x << 24)));
}
TK_INLINE int32_t tk_smlabb(int32_t a, int32_t b, int32_t acc)
{
    return (int32_t)((uint32_t)acc + (uint32_t)((int32_t)(int16_t)(a & 0xFFFF) * (int32_t)(int16_t)(b & 0xFFFF)));
}
TK_INLINE int32_t tk_smlatt(int32_t a, int32_t b, int32_t acc)
{
    return (int32_t)((uint32_t)acc + (uint32_t)((int32_t)(int16_t)((uint32_t)a >> 16) *
                                                (int32_t)(int16_t)((uint32_t)b >> 16)));
}
/* SMLALD: two 16x16 products added to a 64-bit accumulator (exact for int16 x int16). */
TK_INLINE int64_t tk_smlald(int32_t a, int32_t b, int64_t acc)
{
    const int32_t lo = (int32_t)(int16_t)(a & 0xFFFF) * (int32_t)(int16_t)(b & 0xFFFF);
    const int32_t hi = (int32_t)(int16_t)((uint32_t)a >> 16) * (int32_t)(int16_t)((uint32_t)b >> 16);
    return (int64_t)((uint64_t)acc + (uint64_t)(int64_t)lo + (uint64_t)(int64_t)hi);
}
#endif

/* The constants a build reads, named by the generated params through these two macros: the DSP
 * kernels read weights pre-widened at generation time (int32 streams, see
 * tinykit/codegen/dsp_weights.py), the plain C kernels the int8 arrays. The other pointer is
 * NULL, so the linker (--gc-sections) drops the arrays this build does not use. */
#ifdef TK_USE_DSP
#define TK_DSP_ONLY(x) (x)
#define TK_PLAIN_ONLY(x) NULL
#else
#define TK_DSP_ONLY(x) NULL
#define TK_PLAIN_ONLY(x) (x)
#endif

/* Thumb-2 DSP cores where the kernels' hand-scheduled assembly runs (the host, even with
 * TK_DSP_EMULATE, runs the C versions of the same arithmetic). */
#if defined(__ARM_FEATURE_DSP) && defined(__GNUC__) && defined(__thumb2__) && !defined(TK_DSP_EMULATE) && \
    !defined(TK_NO_ASM) && !defined(TK_NO_DSP)
#define TK_DSP_ASM 1
#endif

/* Unaligned-safe 32-bit load (compiles to a single LDR where the core allows unaligned LDR). */
TK_INLINE int32_t tk_read_s32(const void *p)
{
    int32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

#endif /* TK_DSP_H */
