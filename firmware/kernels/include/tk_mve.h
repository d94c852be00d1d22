/* Helium (M-profile vector extension, MVE-I) building blocks of the int8 kernels.
 *
 * The CPU table (tinykit/targets/cpus.py) defines TK_MVE for cores with MVE; with the compiler
 * announcing it too (__ARM_FEATURE_MVE), TK_USE_MVE is defined and each kernel entry point
 * (tk_conv2d_s8, ...) runs its Helium body from tk_<op>_mve.c. Without TK_MVE an MVE core runs
 * the DSP / plain C bodies.
 *
 * Weights the vector loops read in their own order are separate constant arrays, named by the
 * generated params through TK_MVE_OR / TK_NO_MVE, so a build links only the layout it reads
 * (the linker's --gc-sections drops the other) and the params structs stay as they are.
 */
#ifndef TK_MVE_H
#define TK_MVE_H

#include "tk_types.h"

#if defined(TK_MVE) && defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
#define TK_USE_MVE 1
#endif

#ifdef TK_USE_MVE
#define TK_MVE_OR(helium, other) (helium)
#define TK_NO_MVE(x) NULL
#else
#define TK_MVE_OR(helium, other) (other)
#define TK_NO_MVE(x) (x)
#endif

/* Values per vector chunk of the dot products: rows of K int8 values are padded with zeros to a
 * multiple of this at generation time (tinykit/codegen/mve_weights.py). */
#define TK_MVE_CHUNK 16
/* Output channels (or units) per block of the dot products: four scalar accumulators become the
 * four 32-bit lanes of one vector for the requantization. */
#define TK_MVE_BLOCK 4

#ifdef TK_USE_MVE
#include <arm_mve.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The output stage of an int8 layer on four lanes: offset and activation clamp. */
typedef struct {
    int32x4_t lo;
    int32x4_t hi;
    int32_t offset; /* output zero point */
} tk_mve_out;

TK_INLINE tk_mve_out tk_mve_out_make(int32_t offset, tk_activation act)
{
    tk_mve_out o;
    o.lo = vdupq_n_s32(act.min);
    o.hi = vdupq_n_s32(act.max);
    o.offset = offset;
    return o;
}

/* TFLite's MultiplyByQuantizedMultiplier(acc, m, shift) + offset, clamped, on four lanes: the same
 * integers as tk_requantize_s8.
 *
 * VQRDMULH is gemmlowp's SaturatingRoundingDoublingHighMul bit for bit (round(a * b / 2^31), the
 * one overflow saturating). RoundingDivideByPOT(x, r) rounds half away from zero; VRSHL by -r
 * rounds half up, so negative x first get -1 (x - 1 cannot wrap: SRDHM is never INT32_MIN, as
 * |a * b| <= 2^62 - 2^31 but for INT32_MIN^2, which saturates up). With right shifts only (`general` 0: the generator proved every shift
 * <= -1, fast_requant), that is the whole step; otherwise the left part of each shift
 * (max(shift, 0)) is applied first, wrapping as TFLite's int32 multiply does, and the -1 is kept
 * only where a right shift follows (the sign bit of min(shift, 0)). `general` is a constant at
 * every call site, so each caller compiles one of the two. */
TK_INLINE int32x4_t tk_mve_requant(int32x4_t acc, int32x4_t mult, int32x4_t shift, tk_mve_out o, int general)
{
    int32x4_t x;
    if (general) {
        const int32x4_t zero = vdupq_n_s32(0);
        const int32x4_t right = vminq_s32(shift, zero);
        x = vqrdmulhq_s32(vshlq_s32(acc, vmaxq_s32(shift, zero)), mult);
        x = vqaddq_s32(x, vshrq_n_s32(vandq_s32(x, right), 31));
        x = vrshlq_s32(x, right);
    } else {
        x = vqrdmulhq_s32(acc, mult);
        x = vaddq_s32(x, vshrq_n_s32(x, 31));
        x = vrshlq_s32(x, shift);
    }
    x = vaddq_n_s32(x, o.offset);
    return vminq_s32(vmaxq_s32(x, o.lo), o.hi);
}

/* A block's requantization constants in a Helium stream (tinykit/codegen/mve_weights.py): bias,
 * multiplier and shift vectors of its four rows after its weights; *s advances past them.
 * (Small structs like this one are passed by value: held in registers, not reloaded after every
 * int8 store that might alias them.) */
typedef struct {
    int32x4_t bias;
    int32x4_t mult;
    int32x4_t shift;
} tk_mve_rq;

TK_INLINE tk_mve_rq tk_mve_rq_load(const int8_t **s)
{
    const int32_t *v = (const int32_t *)(const void *)*s;
    tk_mve_rq q;
    q.bias = vldrwq_s32(v);
    q.mult = vldrwq_s32(v + 4);
    q.shift = vldrwq_s32(v + 8);
    *s += 3 * 16;
    return q;
}

/* The int8 outputs of one block's four sums (lanes past `n` are not stored). */
TK_INLINE void tk_mve_store(int8_t *out, int32x4_t acc, tk_mve_rq q, tk_mve_out o, int general)
{
    vstrbq_s32(out, tk_mve_requant(vaddq_s32(acc, q.bias), q.mult, q.shift, o, general));
}

TK_INLINE void tk_mve_store_n(int8_t *out, int32x4_t acc, tk_mve_rq q, tk_mve_out o, int general, int32_t n)
{
    vstrbq_p_s32(out, tk_mve_requant(vaddq_s32(acc, q.bias), q.mult, q.shift, o, general), vctp32q((uint32_t)n));
}

/* Four scalar accumulators as the lanes of one vector (two dual-lane moves). */
#define TK_MVE_PACK(V, A0, A1, A2, A3)                                                    \
    "vmov %q[" V "][2], %q[" V "][0], %[" A0 "], %[" A2 "]\n\t"                          \
    "vmov %q[" V "][3], %q[" V "][1], %[" A1 "], %[" A3 "]\n\t"

/* One chunk of 16 values of two columns (x, y) against the four rows of a block:
 * [chunk][row 0..3][16] weights, read once for both columns. OP is vmladav (first chunk) or
 * vmladava. */
#define TK_MVE_CHUNK_2X4(OP)                                                                \
    "vldrb.8 %q[x], [%[ca]], #16\n\t"                                                     \
    "vldrb.8 %q[y], [%[cb]], #16\n\t"                                                     \
    "vldrb.8 %q[w0], [%[w]], #16\n\t"                                                     \
    OP ".s8 %[a0], %q[x], %q[w0]\n\t"                                                     \
    OP ".s8 %[b0], %q[y], %q[w0]\n\t"                                                     \
    "vldrb.8 %q[w1], [%[w]], #16\n\t"                                                     \
    OP ".s8 %[a1], %q[x], %q[w1]\n\t"                                                     \
    OP ".s8 %[b1], %q[y], %q[w1]\n\t"                                                     \
    "vldrb.8 %q[w0], [%[w]], #16\n\t"                                                     \
    OP ".s8 %[a2], %q[x], %q[w0]\n\t"                                                     \
    OP ".s8 %[b2], %q[y], %q[w0]\n\t"                                                     \
    "vldrb.8 %q[w1], [%[w]], #16\n\t"                                                     \
    OP ".s8 %[a3], %q[x], %q[w1]\n\t"                                                     \
    OP ".s8 %[b3], %q[y], %q[w1]\n\t"

/* The chunk loop of two columns against a block ([n] >= 1 chunks), the sums packed into the
 * vectors x and y; LOOP and DONE are the local labels it may use. */
#define TK_MVE_DOT2X4_ASM(LOOP, DONE)                                                       \
    TK_MVE_CHUNK_2X4("vmladav")                                                             \
    "subs %[n], %[n], #1\n\t"                                                               \
    "beq " DONE "f\n\t"                                                                     \
    LOOP ":\n\t"                                                                            \
    TK_MVE_CHUNK_2X4("vmladava")                                                            \
    "subs %[n], %[n], #1\n\t"                                                               \
    "bne " LOOP "b\n\t"                                                                     \
    DONE ":\n\t"                                                                            \
    TK_MVE_PACK("x", "a0", "a1", "a2", "a3")                                                 \
    TK_MVE_PACK("y", "b0", "b1", "b2", "b3")

/* Dot products of two int8 columns (`chunks` >= 1 chunks of 16 values each) with the four rows
 * of the weight block at *w, which advances past the block: *ra / *rb get the four sums of
 * column a / b. 16 instructions per 128 multiply-accumulates (VMLADAVA: 16 each); the first chunk
 * starts the sums, so no accumulator needs clearing. VMLADAV writes even registers only ("Te"). */
TK_INLINE void tk_mve_dot2x4(const int8_t *ca, const int8_t *cb, const int8_t **w, int32_t chunks, int32x4_t *ra,
                             int32x4_t *rb)
{
    const int8_t *wp = *w;
    int32_t a0, a1, a2, a3, b0, b1, b2, b3;
    int8x16_t w0, w1;
    int32x4_t va, vb; /* the columns' chunks while the loop runs, then the sums */
    __asm__ volatile(
        TK_MVE_DOT2X4_ASM("1", "2")
        : [a0] "=&Te"(a0), [a1] "=&Te"(a1), [a2] "=&Te"(a2), [a3] "=&Te"(a3), [b0] "=&Te"(b0), [b1] "=&Te"(b1),
          [b2] "=&Te"(b2), [b3] "=&Te"(b3), [x] "=&w"(va), [y] "=&w"(vb), [w0] "=&w"(w0), [w1] "=&w"(w1), [ca] "+r"(ca), [cb] "+r"(cb), [w] "+r"(wp), [n] "+r"(chunks)
        :
        : "cc", "memory");
    *w = wp;
    *ra = va;
    *rb = vb;
}

/* The fast output stage of two pixels' blocks (tk_mve_requant with `general` 0) in assembly:
 * bias, VQRDMULH, -1 for negative values, VRSHL, offset, clamp, then a 4-byte store per pixel. */
#define TK_MVE_RQ2                                                                          \
    "vldrw.32 %q[w0], [%[w]], #16\n\t"                                                    \
    "vadd.i32 %q[x], %q[x], %q[w0]\n\t"                                                   \
    "vadd.i32 %q[y], %q[y], %q[w0]\n\t"                                                   \
    "vldrw.32 %q[w1], [%[w]], #16\n\t"                                                    \
    "vqrdmulh.s32 %q[x], %q[x], %q[w1]\n\t"                                               \
    "vqrdmulh.s32 %q[y], %q[y], %q[w1]\n\t"                                               \
    "vshr.s32 %q[w0], %q[x], #31\n\t"                                                     \
    "vshr.s32 %q[w1], %q[y], #31\n\t"                                                     \
    "vadd.i32 %q[x], %q[x], %q[w0]\n\t"                                                   \
    "vadd.i32 %q[y], %q[y], %q[w1]\n\t"                                                   \
    "vldrw.32 %q[w0], [%[w]], #16\n\t"                                                    \
    "vrshl.s32 %q[x], %q[x], %q[w0]\n\t"                                                  \
    "vrshl.s32 %q[y], %q[y], %q[w0]\n\t"                                                  \
    "vadd.i32 %q[x], %q[x], %q[off]\n\t"                                                  \
    "vadd.i32 %q[y], %q[y], %q[off]\n\t"                                                  \
    "vmax.s32 %q[x], %q[x], %q[lo]\n\t"                                                   \
    "vmax.s32 %q[y], %q[y], %q[lo]\n\t"                                                   \
    "vmin.s32 %q[x], %q[x], %q[hi]\n\t"                                                   \
    "vmin.s32 %q[y], %q[y], %q[hi]\n\t"                                                   \
    "ldr %[cb], %[delta]\n\t"                                                             \
    "add %[cb], %[cb], %[oa]\n\t"                                                         \
    "vstrb.32 %q[y], [%[cb]]\n\t"                                                         \
    "vstrb.32 %q[x], [%[oa]], #4\n\t"

/* Whole blocks of a Helium stream for two columns with the fast requantization (every shift
 * <= -1): `blocks` >= 1 blocks of four rows, each `chunks` >= 1 chunks deep, outputs at oa / ob
 * (ob may equal oa), *s advancing past the blocks. The 8 even accumulators and the pointers take
 * every core register, so the columns, the depth, the end of the outputs and ob are re-read from
 * memory once per block: 33 instructions per block besides the dot products. */
TK_INLINE void tk_mve_blocks2_fast(const int8_t *ca, const int8_t *cb, const int8_t **s, int32_t chunks,
                                   int32_t blocks, int8_t *oa, int8_t *ob, tk_mve_out o)
{
    const int8_t *cols[2] = {ca, cb};
    const int32_t delta = (int32_t)(ob - oa); /* pixel b's outputs, from pixel a's */
    const int8_t *sp = *s;
    int8_t *const end = oa + TK_MVE_BLOCK * blocks;
    const int32x4_t off = vdupq_n_s32(o.offset);
    int32_t a0, a1, a2, a3, b0, b1, b2, b3, n;
    const int8_t *pa, *pb;
    int32x4_t x, y;
    int8x16_t w0, w1;
    __asm__ volatile(
        "1:\n\t"
        "ldr %[ca], %[col_a]\n\t"
        "ldr %[cb], %[col_b]\n\t"
        "ldr %[n], %[chunks]\n\t"
        TK_MVE_DOT2X4_ASM("2", "3")
        TK_MVE_RQ2
        "ldr %[n], %[end]\n\t"
        "cmp %[oa], %[n]\n\t"
        "bne 1b\n\t"
        : [a0] "=&Te"(a0), [a1] "=&Te"(a1), [a2] "=&Te"(a2), [a3] "=&Te"(a3), [b0] "=&Te"(b0), [b1] "=&Te"(b1),
          [b2] "=&Te"(b2), [b3] "=&Te"(b3), [x] "=&w"(x), [y] "=&w"(y), [w0] "=&w"(w0), [w1] "=&w"(w1),
          [ca] "=&r"(pa), [cb] "=&l"(pb), [n] "=&r"(n), [w] "+r"(sp), [oa] "+l"(oa)
        : [col_a] "m"(cols[0]), [col_b] "m"(cols[1]), [chunks] "m"(chunks), [end] "m"(end), [delta] "m"(delta), [off] "w"(off),
          [lo] "w"(o.lo), [hi] "w"(o.hi)
        : "cc", "memory");
    *s = sp;
}

#ifdef __cplusplus
}
#endif

#endif /* TK_USE_MVE */

#endif /* TK_MVE_H */
