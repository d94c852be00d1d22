/* A hot kernel: built for speed even when the firmware is built for size (-Os). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O2")
#endif
#include "tk_reduce.h"

#include "tk_fixedpoint.h"

/* Walk the kept nest (one output per position, in order) and, for each output, the reduced nest:
 * ACC starts at INIT, takes STEP(ACC, value) for every input of the output, and FINISH(ACC) is
 * stored. A generic "template" for every reduction kernel of this file. */
#define TK_REDUCE_WALK(T, P, INPUT, OUTPUT, ACC_T, INIT, STEP, FINISH)                                    \
    do {                                                                                                \
        const tk_loops *o_ = &(P)->outer;                                                               \
        const tk_loops *in_ = &(P)->inner;                                                              \
        int32_t oindex_[TK_LOOPS_MAX_DIMS] = {0};                                                       \
        int32_t ooff_ = 0;                                                                              \
        for (int32_t orow_ = 0; orow_ < o_->rows; ++orow_) {                                            \
            for (int32_t oi_ = 0; oi_ < o_->extent[0]; ++oi_) {                                         \
                const T *base_ = (INPUT) + ooff_ + oi_ * o_->stride[0];                                 \
                int32_t index_[TK_LOOPS_MAX_DIMS] = {0};                                                \
                int32_t off_ = 0;                                                                       \
                ACC_T acc_ = (INIT);                                                                    \
                for (int32_t row_ = 0; row_ < in_->rows; ++row_) {                                      \
                    const T *q_ = base_ + off_;                                                         \
                    for (int32_t i_ = 0; i_ < in_->extent[0]; ++i_) {                                   \
                        acc_ = STEP(acc_, q_[i_ * in_->stride[0]]);                                     \
                    }                                                                                   \
                    off_ = tk_loops_next(in_, index_, off_);                                            \
                }                                                                                       \
                *(OUTPUT)++ = (T)FINISH(acc_);                                                             \
            }                                                                                           \
            ooff_ = tk_loops_next(o_, oindex_, ooff_);                                                  \
        }                                                                                               \
    } while (0)

#define TK_SUM_STEP(acc, v) ((acc) + (uint32_t)(int32_t)(v))
#define TK_MAX_STEP(acc, v) ((v) > (acc) ? (int32_t)(v) : (acc))
#define TK_MIN_STEP(acc, v) ((v) < (acc) ? (int32_t)(v) : (acc))
#define TK_ALL_STEP(acc, v) ((acc) & ((v) != 0))
#define TK_IDENTITY(acc) (acc)

/* QuantizedMeanOrSum's output step: (sum - zp * count) wrapped to int32, requantized, offset,
 * saturated to [lo, hi]. */
typedef struct {
    tk_requant_ch q;
    uint32_t zero_sum;
    int32_t offset;
    int32_t lo;
    int32_t hi;
} tk_sum_out;

static tk_sum_out tk_sum_out_make(const tk_reduce_params *p, int32_t lo, int32_t hi)
{
    tk_sum_out s;
    s.q = tk_requant_prepare(p->quant.multiplier, p->quant.shift);
    s.zero_sum = (uint32_t)((int64_t)p->input_zero_point * p->count);
    s.offset = p->output_zero_point;
    s.lo = lo;
    s.hi = hi;
    return s;
}

TK_INLINE int32_t tk_sum_finish(tk_sum_out s, uint32_t sum)
{
    return tk_clamp_s32(tk_requant_scale(s.q, (int32_t)(sum - s.zero_sum)) + s.offset, s.lo, s.hi);
}

#define TK_SUM_FINISH(acc) tk_sum_finish(s, (acc)) /* `s`: the kernel's tk_sum_out */

#define TK_SUM_KERNEL(name, T, LO, HI)                                                                  \
    tk_status name(const tk_reduce_params *params, const T *input, T *output)                           \
    {                                                                                                   \
        const tk_sum_out s = tk_sum_out_make(params, LO, HI);                                           \
        TK_REDUCE_WALK(T, params, input, output, uint32_t, 0u, TK_SUM_STEP, TK_SUM_FINISH);            \
        return TK_OK;                                                                                   \
    }

TK_SUM_KERNEL(tk_sum_s8, int8_t, TK_INT8_MIN, TK_INT8_MAX)
TK_SUM_KERNEL(tk_sum_s16, int16_t, TK_INT16_MIN, TK_INT16_MAX)

/* MEAN and SUM share TFLM's QuantizedMeanOrSum; the generator folds MEAN's 1/count into `quant`. */
tk_status tk_mean_s8(const tk_reduce_params *params, const int8_t *input, int8_t *output)
{
    return tk_sum_s8(params, input, output);
}

tk_status tk_mean_s16(const tk_reduce_params *params, const int16_t *input, int16_t *output)
{
    return tk_sum_s16(params, input, output);
}

tk_status tk_reduce_max_s8(const tk_reduce_params *params, const int8_t *input, int8_t *output)
{
    TK_REDUCE_WALK(int8_t, params, input, output, int32_t, TK_INT8_MIN, TK_MAX_STEP, TK_IDENTITY);
    return TK_OK;
}

tk_status tk_reduce_min_s8(const tk_reduce_params *params, const int8_t *input, int8_t *output)
{
    TK_REDUCE_WALK(int8_t, params, input, output, int32_t, TK_INT8_MAX, TK_MIN_STEP, TK_IDENTITY);
    return TK_OK;
}

tk_status tk_reduce_all_b8(const tk_reduce_params *params, const uint8_t *input, uint8_t *output)
{
    TK_REDUCE_WALK(uint8_t, params, input, output, uint8_t, 1u, TK_ALL_STEP, TK_IDENTITY);
    return TK_OK;
}

/* ---- ARG_MAX / ARG_MIN ----------------------------------------------------------------------- */

#define TK_ARG_KERNEL(name, CMP)                                                                        \
    tk_status name(const tk_arg_params *params, const int8_t *input, int32_t *output)                   \
    {                                                                                                   \
        const int32_t axis = params->axis, after = params->after;                                       \
        for (int32_t b = 0; b < params->before; ++b) {                                                  \
            const int8_t *in_b = input + (size_t)b * axis * after;                                      \
            for (int32_t a = 0; a < after; ++a) {                                                       \
                int32_t best = in_b[a], index = 0;                                                      \
                for (int32_t k = 1; k < axis; ++k) {                                                    \
                    const int32_t v = in_b[(size_t)k * after + a];                                      \
                    if (v CMP best) {                                                                   \
                        best = v;                                                                       \
                        index = k;                                                                      \
                    }                                                                                   \
                }                                                                                       \
                *output++ = index;                                                                      \
            }                                                                                           \
        }                                                                                               \
        return TK_OK;                                                                                   \
    }

TK_ARG_KERNEL(tk_arg_max_s8, >)
TK_ARG_KERNEL(tk_arg_min_s8, <)

/* ---- CUMSUM ---------------------------------------------------------------------------------- */

tk_status tk_cumsum_s8(const tk_cumsum_params *params, const int8_t *input, int8_t *output)
{
    const tk_requant_ch q = tk_requant_prepare(params->output_q.multiplier, params->output_q.shift);
    const int32_t depth = params->axis, after = params->after;
    const int32_t first = params->reverse ? depth - 1 : 0;
    const int32_t step = (params->reverse ? -1 : 1) * after;
    for (int32_t b = 0; b < params->before; ++b) {
        for (int32_t a = 0; a < after; ++a) {
            int32_t index = (b * depth + first) * after + a;
            uint32_t acc = (uint32_t)params->base;
            for (int32_t k = 0; k < depth; ++k, index += step) {
                const uint32_t y = (uint32_t)params->table[(uint8_t)input[index]];
                const int32_t sum = (int32_t)(params->exclusive ? acc : acc + y);
                acc += y;
                output[index] = (int8_t)tk_clamp_s32(tk_requant_scale(q, sum) + params->output_offset,
                                                     TK_INT8_MIN, TK_INT8_MAX);
            }
        }
    }
    return TK_OK;
}
