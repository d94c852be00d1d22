/* A hot kernel: built for speed even when the firmware is built for size (-Os). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O2")
#endif
#include "tk_binary.h"

#include "tk_fixedpoint.h"

/* Constants of one kernel call held in a local struct passed by value to the inlined element
 * functions, so the loops keep them in registers (an int8 output store may alias anything). */
typedef struct {
    const int32_t *t1;
    const int32_t *t2;
    tk_requant_ch out;
    int32_t offset;
    int32_t lo;
    int32_t hi;
} tk_table_ctx;

typedef struct {
    int32_t off1;
    int32_t off2;
    int32_t left_shift;
    tk_requant_ch in1;
    tk_requant_ch in2;
    tk_requant_ch out;
    int32_t offset;
    int32_t lo;
    int32_t hi;
} tk_rescaled_ctx;

typedef struct {
    int32_t lo;
    int32_t hi;
} tk_clamp_ctx;

static tk_table_ctx tk_table_ctx_make(const tk_add_params *p)
{
    tk_table_ctx c;
    c.t1 = p->table1;
    c.t2 = p->table2;
    c.out = tk_requant_prepare(p->output_q.multiplier, p->output_q.shift);
    c.offset = p->output_offset;
    c.lo = p->act.min;
    c.hi = p->act.max;
    return c;
}

static tk_rescaled_ctx tk_rescaled_ctx_make(const tk_rescaled_params *p)
{
    tk_rescaled_ctx c;
    c.off1 = p->input1_offset;
    c.off2 = p->input2_offset;
    c.left_shift = p->left_shift;
    c.in1 = tk_requant_prepare(p->input1_q.multiplier, p->input1_q.shift);
    c.in2 = tk_requant_prepare(p->input2_q.multiplier, p->input2_q.shift);
    c.out = tk_requant_prepare(p->output_q.multiplier, p->output_q.shift);
    c.offset = p->output_offset;
    c.lo = p->act.min;
    c.hi = p->act.max;
    return c;
}

/* ---- element functions ------------------------------------------------------------------- */

TK_INLINE int32_t tk_out(tk_table_ctx c, int32_t raw)
{
    return tk_clamp_s32(tk_requant_scale(c.out, raw) + c.offset, c.lo, c.hi);
}

/* ADD/SUB's output multiplier is below one (checked at generation time): a rounding right shift
 * only, with gemmlowp's high multiply in plain C (fewer live registers than the SMLAL form). */
TK_INLINE int8_t tk_add8_elem(tk_table_ctx c, int8_t a, int8_t b)
{
    const int32_t s = tk_rounding_doubling_high_mul(c.t1[(uint8_t)a] + c.t2[(uint8_t)b], c.out.multiplier);
    const int32_t threshold = c.out.threshold + (int32_t)((uint32_t)s >> 31);
    const int32_t v = (s >> c.out.right) + ((s & c.out.mask) > threshold ? 1 : 0) + c.offset;
    return (int8_t)tk_clamp_s32(v, c.lo, c.hi);
}

TK_INLINE int32_t tk_rescale(tk_requant_ch q, int32_t offset, int32_t left_shift, int32_t x)
{
    return tk_requant_scale(q, tk_shift_left_wrap(x + offset, left_shift));
}

TK_INLINE int32_t tk_rescaled_out(tk_rescaled_ctx c, int32_t raw)
{
    return tk_clamp_s32(tk_requant_scale(c.out, raw) + c.offset, c.lo, c.hi);
}

TK_INLINE int16_t tk_add16_elem(tk_rescaled_ctx c, int16_t a, int16_t b)
{
    const int32_t x = tk_rescale(c.in1, c.off1, c.left_shift, a);
    const int32_t y = tk_rescale(c.in2, c.off2, c.left_shift, b);
    return (int16_t)tk_rescaled_out(c, x + y);
}

TK_INLINE int16_t tk_sub16_elem(tk_rescaled_ctx c, int16_t a, int16_t b)
{
    const int32_t x = tk_rescale(c.in1, c.off1, c.left_shift, a);
    const int32_t y = tk_rescale(c.in2, c.off2, c.left_shift, b);
    return (int16_t)tk_rescaled_out(c, x - y);
}

/* (x - y)^2 of the rescaled inputs; the output multiplier may exceed one (shift > 0). */
TK_INLINE int32_t tk_sqdiff_raw(tk_rescaled_ctx c, int32_t a, int32_t b)
{
    const int32_t d = tk_rescale(c.in1, c.off1, c.left_shift, a) - tk_rescale(c.in2, c.off2, c.left_shift, b);
    return tk_rescaled_out(c, (int32_t)((uint32_t)d * (uint32_t)d));
}

/* int8: both rescaled inputs come from the per-byte tables (left shift 7). */
TK_INLINE int8_t tk_sqdiff8_elem(tk_table_ctx c, int8_t a, int8_t b)
{
    const uint32_t d = (uint32_t)(c.t1[(uint8_t)a] - c.t2[(uint8_t)b]);
    return (int8_t)tk_out(c, (int32_t)(d * d));
}

TK_INLINE int16_t tk_sqdiff16_elem(tk_rescaled_ctx c, int16_t a, int16_t b)
{
    return (int16_t)tk_sqdiff_raw(c, a, b);
}

/* MUL: the output requantization (tables unused) and the two input offsets. */
typedef struct {
    tk_table_ctx q;
    int32_t off1;
    int32_t off2;
} tk_mul_ctx;

TK_INLINE int8_t tk_mul8_elem(tk_mul_ctx c, int8_t a, int8_t b)
{
    return (int8_t)tk_out(c.q, (a + c.off1) * (b + c.off2));
}

TK_INLINE int16_t tk_mul16_elem(tk_mul_ctx c, int16_t a, int16_t b)
{
    return (int16_t)tk_out(c.q, (a + c.off1) * (b + c.off2));
}

TK_INLINE int32_t tk_add32_elem(tk_clamp_ctx c, int32_t a, int32_t b)
{
    (void)c; /* TFLM ignores the fused activation of an int32 ADD */
    return (int32_t)((uint32_t)a + (uint32_t)b);
}

TK_INLINE int32_t tk_sub32_elem(tk_clamp_ctx c, int32_t a, int32_t b)
{
    return tk_clamp_s32((int32_t)((uint32_t)a - (uint32_t)b), c.lo, c.hi);
}

TK_INLINE int32_t tk_mul32_elem(tk_clamp_ctx c, int32_t a, int32_t b)
{
    return tk_clamp_s32((int32_t)((uint32_t)a * (uint32_t)b), c.lo, c.hi);
}

TK_INLINE int32_t tk_sqdiff32_elem(tk_clamp_ctx c, int32_t a, int32_t b)
{
    const uint32_t d = (uint32_t)a - (uint32_t)b;
    (void)c;
    return (int32_t)(d * d);
}

#define TK_MAX_ELEM(c, a, b) ((a) > (b) ? (a) : (b))
#define TK_MIN_ELEM(c, a, b) ((a) < (b) ? (a) : (b))

/* Row functions (tk_loops.h): each element function inlined into its own out-of-line loops. */
TK_DEFINE_BROADCAST_ROW(tk_add8_elem_row, int8_t, int8_t, int8_t, tk_add8_elem, tk_table_ctx)
TK_DEFINE_BROADCAST_ROW(tk_sqdiff8_elem_row, int8_t, int8_t, int8_t, tk_sqdiff8_elem, tk_table_ctx)
TK_DEFINE_BROADCAST_ROW(tk_add16_elem_row, int16_t, int16_t, int16_t, tk_add16_elem, tk_rescaled_ctx)
TK_DEFINE_BROADCAST_ROW(tk_sub16_elem_row, int16_t, int16_t, int16_t, tk_sub16_elem, tk_rescaled_ctx)
TK_DEFINE_BROADCAST_ROW(tk_sqdiff16_elem_row, int16_t, int16_t, int16_t, tk_sqdiff16_elem, tk_rescaled_ctx)
TK_DEFINE_BROADCAST_ROW(tk_mul8_elem_row, int8_t, int8_t, int8_t, tk_mul8_elem, tk_mul_ctx)
TK_DEFINE_BROADCAST_ROW(tk_mul16_elem_row, int16_t, int16_t, int16_t, tk_mul16_elem, tk_mul_ctx)

/* ---- entry points -------------------------------------------------------------------------- */

tk_status tk_add_s8(const tk_add_params *params, const int8_t *input, const int8_t *input2, int8_t *output)
{
    const tk_table_ctx c = tk_table_ctx_make(params);
    TK_BROADCAST_BINARY(&params->shape, input, input2, output, tk_add8_elem_row, c);
    return TK_OK;
}

/* SUB's second table holds the negated rescaled input, so the sum is the difference. */
tk_status tk_sub_s8(const tk_add_params *params, const int8_t *input, const int8_t *input2, int8_t *output)
{
    return tk_add_s8(params, input, input2, output);
}

tk_status tk_add_s16(const tk_rescaled_params *params, const int16_t *input, const int16_t *input2,
                     int16_t *output)
{
    const tk_rescaled_ctx c = tk_rescaled_ctx_make(params);
    TK_BROADCAST_BINARY(&params->shape, input, input2, output, tk_add16_elem_row, c);
    return TK_OK;
}

tk_status tk_sub_s16(const tk_rescaled_params *params, const int16_t *input, const int16_t *input2,
                     int16_t *output)
{
    const tk_rescaled_ctx c = tk_rescaled_ctx_make(params);
    TK_BROADCAST_BINARY(&params->shape, input, input2, output, tk_sub16_elem_row, c);
    return TK_OK;
}

tk_status tk_squared_difference_s8(const tk_add_params *params, const int8_t *input, const int8_t *input2,
                                   int8_t *output)
{
    const tk_table_ctx c = tk_table_ctx_make(params);
    TK_BROADCAST_BINARY(&params->shape, input, input2, output, tk_sqdiff8_elem_row, c);
    return TK_OK;
}

tk_status tk_squared_difference_s16(const tk_rescaled_params *params, const int16_t *input,
                                    const int16_t *input2, int16_t *output)
{
    const tk_rescaled_ctx c = tk_rescaled_ctx_make(params);
    TK_BROADCAST_BINARY(&params->shape, input, input2, output, tk_sqdiff16_elem_row, c);
    return TK_OK;
}

static tk_mul_ctx tk_mul_make(const tk_mul_params *params)
{
    tk_mul_ctx c;
    c.q.t1 = 0;
    c.q.t2 = 0;
    c.q.out = tk_requant_prepare(params->output_q.multiplier, params->output_q.shift);
    c.q.offset = params->output_offset;
    c.q.lo = params->act.min;
    c.q.hi = params->act.max;
    c.off1 = params->input1_offset;
    c.off2 = params->input2_offset;
    return c;
}

tk_status tk_mul_s8(const tk_mul_params *params, const int8_t *input, const int8_t *input2, int8_t *output)
{
    const tk_mul_ctx c = tk_mul_make(params);
    TK_BROADCAST_BINARY(&params->shape, input, input2, output, tk_mul8_elem_row, c);
    return TK_OK;
}

tk_status tk_mul_s16(const tk_mul_params *params, const int16_t *input, const int16_t *input2, int16_t *output)
{
    const tk_mul_ctx c = tk_mul_make(params);
    TK_BROADCAST_BINARY(&params->shape, input, input2, output, tk_mul16_elem_row, c);
    return TK_OK;
}

#define TK_S32_KERNEL(name, elem)                                                                       \
    TK_DEFINE_BROADCAST_ROW(name##_row, int32_t, int32_t, int32_t, elem, tk_clamp_ctx)                  \
    tk_status name(const tk_arith_s32_params *params, const int32_t *input, const int32_t *input2,      \
                   int32_t *output)                                                                     \
    {                                                                                                   \
        tk_clamp_ctx c;                                                                                 \
        c.lo = params->act.min;                                                                         \
        c.hi = params->act.max;                                                                         \
        TK_BROADCAST_BINARY(&params->shape, input, input2, output, name##_row, c);                      \
        return TK_OK;                                                                                   \
    }

TK_S32_KERNEL(tk_add_s32, tk_add32_elem)
TK_S32_KERNEL(tk_sub_s32, tk_sub32_elem)
TK_S32_KERNEL(tk_mul_s32, tk_mul32_elem)
TK_S32_KERNEL(tk_squared_difference_s32, tk_sqdiff32_elem)

#define TK_MINMAX_KERNEL(name, type, elem)                                                              \
    TK_DEFINE_BROADCAST_ROW(name##_row, type, type, type, elem, int)                                    \
    tk_status name(const tk_minmax_params *params, const type *input, const type *input2, type *output) \
    {                                                                                                   \
        TK_BROADCAST_BINARY(&params->shape, input, input2, output, name##_row, 0);                      \
        return TK_OK;                                                                                   \
    }

TK_MINMAX_KERNEL(tk_maximum_s8, int8_t, TK_MAX_ELEM)
TK_MINMAX_KERNEL(tk_minimum_s8, int8_t, TK_MIN_ELEM)
TK_MINMAX_KERNEL(tk_maximum_s16, int16_t, TK_MAX_ELEM)
TK_MINMAX_KERNEL(tk_minimum_s16, int16_t, TK_MIN_ELEM)
TK_MINMAX_KERNEL(tk_maximum_s32, int32_t, TK_MAX_ELEM)
TK_MINMAX_KERNEL(tk_minimum_s32, int32_t, TK_MIN_ELEM)

/* ---- DIV ------------------------------------------------------------------------------------- */

typedef struct {
    const int32_t *num;
    const int8_t *num_shift;
    const int32_t *recip;
    const int8_t *den_shift;
    const int16_t *den_sign;
    int32_t multiplier;
    int32_t offset;
    int32_t lo;
    int32_t hi;
} tk_div_ctx;

/* gemmlowp RoundingDivideByPOT as the x86 oracle runs it for any exponent: TFLM's DIV asks for
 * right shifts above 31 whenever the dividend is small (and below 0 for large output multipliers);
 * C++ leaves those undefined and x86 masks the counts, to 6 bits for the 64-bit mask and 5 bits for
 * the 32-bit shift. Spelled out here so every target computes the oracle's bytes. */
TK_INLINE int32_t tk_rdbpot_masked(int32_t x, int32_t exponent)
{
    const int32_t mask = (int32_t)(uint32_t)((UINT64_C(1) << (exponent & 63)) - 1u);
    const int32_t remainder = x & mask;
    const int32_t threshold = (int32_t)((uint32_t)(mask >> 1) + (uint32_t)(x < 0 ? 1 : 0));
    return (x >> (exponent & 31)) + (remainder > threshold ? 1 : 0);
}

TK_INLINE int8_t tk_div8_elem(tk_div_ctx c, int8_t a, int8_t b)
{
    const uint8_t ub = (uint8_t)b;
    const int32_t i = c.den_sign[ub] + (uint8_t)a;
    int32_t y = tk_sat_rounding_doubling_high_mul(c.num[i], c.recip[ub]);
    y = tk_rounding_doubling_high_mul(y, c.multiplier);
    return (int8_t)tk_clamp_s32(tk_rdbpot_masked(y, c.num_shift[i] + c.den_shift[ub]) + c.offset, c.lo, c.hi);
}

TK_DEFINE_BROADCAST_ROW(tk_div8_elem_row, int8_t, int8_t, int8_t, tk_div8_elem, tk_div_ctx)

tk_status tk_div_s8(const tk_div_params *params, const int8_t *input, const int8_t *input2, int8_t *output)
{
    tk_div_ctx c;
    c.num = params->dividend;
    c.num_shift = params->dividend_shift;
    c.recip = params->reciprocal;
    c.den_shift = params->divisor_shift;
    c.den_sign = params->divisor_sign;
    c.multiplier = params->output_multiplier;
    c.offset = params->output_offset;
    c.lo = params->act.min;
    c.hi = params->act.max;
    TK_BROADCAST_BINARY(&params->shape, input, input2, output, tk_div8_elem_row, c);
    return TK_OK;
}

/* int32 DIV truncates like C; TFLM divides by zero (a crash on most targets): tinykit reports it. */
TK_INLINE int32_t tk_div32_elem(tk_clamp_ctx c, int32_t a, int32_t b)
{
    const int32_t q = (b == -1) ? (int32_t)(0u - (uint32_t)a) : (b == 0 ? 0 : a / b);
    return tk_clamp_s32(q, c.lo, c.hi);
}

TK_DEFINE_BROADCAST_ROW(tk_div32_elem_row, int32_t, int32_t, int32_t, tk_div32_elem, tk_clamp_ctx)

tk_status tk_div_s32(const tk_arith_s32_params *params, const int32_t *input, const int32_t *input2,
                     int32_t *output)
{
    tk_clamp_ctx c;
    int32_t n = 1;
    for (int32_t d = 0; d < params->shape.dims; ++d) {
        n *= params->shape.stride[1][d] != 0 ? params->shape.extent[d] : 1;
    }
    for (int32_t i = 0; i < n; ++i) {
        if (input2[i] == 0) {
            return TK_ERROR;
        }
    }
    c.lo = params->act.min;
    c.hi = params->act.max;
    TK_BROADCAST_BINARY(&params->shape, input, input2, output, tk_div32_elem_row, c);
    return TK_OK;
}

/* ---- PRELU ----------------------------------------------------------------------------------- */

typedef struct {
    int32_t in_off;
    int32_t alpha_off;
    int32_t offset;
    tk_requant_ch pos;
    tk_requant_ch neg;
    int32_t lo;
    int32_t hi;
} tk_prelu_ctx;

TK_INLINE int32_t tk_prelu_raw(tk_prelu_ctx c, int32_t x, int32_t alpha)
{
    const int32_t v = x + c.in_off;
    const int32_t y = v >= 0 ? tk_requant_scale(c.pos, v) : tk_requant_scale(c.neg, v * (alpha + c.alpha_off));
    return tk_clamp_s32(y + c.offset, c.lo, c.hi);
}

TK_INLINE int8_t tk_prelu8_elem(tk_prelu_ctx c, int8_t x, int8_t alpha) { return (int8_t)tk_prelu_raw(c, x, alpha); }
TK_INLINE int16_t tk_prelu16_elem(tk_prelu_ctx c, int16_t x, int8_t alpha)
{
    return (int16_t)tk_prelu_raw(c, x, alpha);
}

TK_DEFINE_BROADCAST_ROW(tk_prelu8_elem_row, int8_t, int8_t, int8_t, tk_prelu8_elem, tk_prelu_ctx)
TK_DEFINE_BROADCAST_ROW(tk_prelu16_elem_row, int16_t, int8_t, int16_t, tk_prelu16_elem, tk_prelu_ctx)

static tk_prelu_ctx tk_prelu_make(const tk_prelu_params *p, int32_t lo, int32_t hi)
{
    tk_prelu_ctx c;
    c.in_off = p->input_offset;
    c.alpha_off = p->alpha_offset;
    c.offset = p->output_offset;
    c.pos = tk_requant_prepare(p->pos_q.multiplier, p->pos_q.shift);
    c.neg = tk_requant_prepare(p->neg_q.multiplier, p->neg_q.shift);
    c.lo = lo;
    c.hi = hi;
    return c;
}

tk_status tk_prelu_s8(const tk_prelu_params *params, const int8_t *input, const int8_t *alpha, int8_t *output)
{
    const tk_prelu_ctx c = tk_prelu_make(params, TK_INT8_MIN, TK_INT8_MAX);
    TK_BROADCAST_BINARY(&params->shape, input, alpha, output, tk_prelu8_elem_row, c);
    return TK_OK;
}

tk_status tk_prelu_s16(const tk_prelu_params *params, const int16_t *input, const int8_t *alpha, int16_t *output)
{
    const tk_prelu_ctx c = tk_prelu_make(params, TK_INT16_MIN, TK_INT16_MAX);
    TK_BROADCAST_BINARY(&params->shape, input, alpha, output, tk_prelu16_elem_row, c);
    return TK_OK;
}

/* ---- ADD_N ----------------------------------------------------------------------------------- */

tk_status tk_add_n_s8(const tk_add_n_params *params, int8_t *output)
{
    const tk_requant_ch q = tk_requant_prepare(params->output_q.multiplier, params->output_q.shift);
    const int32_t *table = params->table;
    if (params->count < 1 || params->count > TK_ADD_N_MAX_INPUTS) {
        return TK_ERROR;
    }
    for (int32_t i = 0; i < params->size; ++i) {
        int32_t acc = params->base;
        for (int32_t k = 0; k < params->count; ++k) {
            acc = (int32_t)((uint32_t)acc + (uint32_t)table[(uint8_t)params->inputs[k][i]]);
        }
        output[i] = (int8_t)tk_clamp_s32(tk_requant_scale(q, acc) + params->output_offset, params->act.min,
                                         params->act.max);
    }
    return TK_OK;
}
