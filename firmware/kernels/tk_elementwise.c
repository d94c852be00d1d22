/* A hot kernel: built for speed even when the firmware is built for size (-Os). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O2")
#endif
#include "tk_elementwise.h"

#include "tk_fixedpoint.h"

/* Output requantization constants held in locals, so the loops keep them in registers (the int8
 * output pointer may alias anything, which would otherwise force a reload per element). */
typedef struct {
    int32_t multiplier;
    int32_t left_shift;  /* >= 0 */
    int32_t right_shift; /* >= 0 */
    int32_t mask;        /* (1 << right_shift) - 1 */
    int32_t half;        /* mask >> 1 */
    int32_t offset;
    int32_t lo;
    int32_t hi;
} tk_rq;

static tk_rq tk_rq_make(tk_quant_params q, int32_t offset, tk_activation act)
{
    tk_rq r;
    r.multiplier = q.multiplier;
    r.left_shift = q.shift > 0 ? q.shift : 0;
    r.right_shift = q.shift > 0 ? 0 : -q.shift;
    r.mask = (int32_t)(((int64_t)1 << r.right_shift) - 1);
    r.half = r.mask >> 1;
    r.offset = offset;
    r.lo = act.min;
    r.hi = act.max;
    return r;
}

/* SaturatingRoundingDoublingHighMul for a multiplier >= 0 (every requantization multiplier): the
 * INT32_MIN * INT32_MIN saturation cannot happen, and gemmlowp's nudge-then-truncate division
 * equals floor((a * b + 2^30) / 2^31) for every product, i.e. one SMLAL and a shift. */
TK_INLINE int32_t tk_srdhm_pos(int32_t a, int32_t b)
{
    return (int32_t)(((int64_t)a * b + ((int64_t)1 << 30)) >> 31);
}

/* MultiplyByQuantizedMultiplier + offset + clamp, with the RoundingDivideByPOT constants hoisted. */
TK_INLINE int8_t tk_rq_apply(tk_rq r, int32_t x)
{
    const int32_t y = tk_srdhm_pos(tk_shift_left_wrap(x, r.left_shift), r.multiplier);
    const int32_t threshold = r.half + (int32_t)((uint32_t)y >> 31);
    int32_t v = (y >> r.right_shift) + ((y & r.mask) > threshold ? 1 : 0) + r.offset;
    v = v < r.lo ? r.lo : v;
    v = v > r.hi ? r.hi : v;
    return (int8_t)v;
}

/* ADD's output multiplier is below one (checked at generation time): no left shift. */
TK_INLINE int8_t tk_add_one(const int32_t *t1, const int32_t *t2, tk_rq r, uint8_t a, uint8_t b)
{
    const int32_t y = tk_srdhm_pos(t1[a] + t2[b], r.multiplier);
    const int32_t threshold = (r.mask >> 1) + (int32_t)((uint32_t)y >> 31);
    int32_t v = (y >> r.right_shift) + ((y & r.mask) > threshold ? 1 : 0) + r.offset;
    v = v < r.lo ? r.lo : v;
    v = v > r.hi ? r.hi : v;
    return (int8_t)v;
}

TK_INLINE int8_t tk_mul_one(int32_t off1, int32_t off2, tk_rq r, int8_t a, int8_t b)
{
    return tk_rq_apply(r, ((int32_t)a + off1) * ((int32_t)b + off2));
}

tk_status tk_add_s8(const tk_add_params *params, const int8_t *input, const int8_t *input2, int8_t *output)
{
    const int32_t *t1 = params->table1, *t2 = params->table2;
    const tk_rq r = tk_rq_make(params->output_q, params->output_offset, params->act);
    const tk_broadcast bs = params->shape;
    const uint8_t *in1 = (const uint8_t *)input, *in2 = (const uint8_t *)input2;
    if (!bs.broadcast) {
        for (int32_t i = 0; i < bs.size; ++i) {
            output[i] = tk_add_one(t1, t2, r, in1[i], in2[i]);
        }
        return TK_OK;
    }
    for (int32_t n = 0; n < bs.output.n; ++n) {
        for (int32_t h = 0; h < bs.output.h; ++h) {
            for (int32_t w = 0; w < bs.output.w; ++w) {
                const uint8_t *a = in1 + n * bs.stride1.n + h * bs.stride1.h + w * bs.stride1.w;
                const uint8_t *b = in2 + n * bs.stride2.n + h * bs.stride2.h + w * bs.stride2.w;
                for (int32_t c = 0; c < bs.output.c; ++c) {
                    *output++ = tk_add_one(t1, t2, r, a[c * bs.stride1.c], b[c * bs.stride2.c]);
                }
            }
        }
    }
    return TK_OK;
}

tk_status tk_mul_s8(const tk_mul_params *params, const int8_t *input, const int8_t *input2, int8_t *output)
{
    const int32_t off1 = params->input1_offset, off2 = params->input2_offset;
    const tk_rq r = tk_rq_make(params->output_q, params->output_offset, params->act);
    const tk_broadcast bs = params->shape;
    if (!bs.broadcast) {
        for (int32_t i = 0; i < bs.size; ++i) {
            output[i] = tk_mul_one(off1, off2, r, input[i], input2[i]);
        }
        return TK_OK;
    }
    for (int32_t n = 0; n < bs.output.n; ++n) {
        for (int32_t h = 0; h < bs.output.h; ++h) {
            for (int32_t w = 0; w < bs.output.w; ++w) {
                const int8_t *a = input + n * bs.stride1.n + h * bs.stride1.h + w * bs.stride1.w;
                const int8_t *b = input2 + n * bs.stride2.n + h * bs.stride2.h + w * bs.stride2.w;
                for (int32_t c = 0; c < bs.output.c; ++c) {
                    *output++ = tk_mul_one(off1, off2, r, a[c * bs.stride1.c], b[c * bs.stride2.c]);
                }
            }
        }
    }
    return TK_OK;
}
