#include "tk_mean.h"

#include "tk_fixedpoint.h"

static int32_t tk_mean_one(const tk_mean_params *p, int32_t sum, int32_t count)
{
    int32_t acc;
    switch (p->mode) {
    case TK_MEAN_REQUANT_ROUND:
        acc = tk_requantize(sum - p->input_zero_point * count, p->quant.multiplier, p->quant.shift);
        acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
        return tk_clamp_s32(acc + p->output_zero_point, TK_INT8_MIN, TK_INT8_MAX);
    case TK_MEAN_FOLDED:
        acc = tk_requantize(sum - p->input_zero_point * count, p->quant.multiplier, p->quant.shift);
        return tk_clamp_s32(acc + p->output_zero_point, TK_INT8_MIN, TK_INT8_MAX);
    default:
        return sum / count;
    }
}

tk_status tk_mean_s8(const tk_mean_params *params, const int8_t *input, int8_t *output)
{
    const int32_t count = params->input.h * params->input.w;
    const int32_t depth = params->input.c;
    if (count <= 0) {
        return TK_ERROR;
    }
    for (int32_t b = 0; b < params->input.n; ++b) {
        const int8_t *in_b = input + (size_t)b * count * depth;
        for (int32_t ch = 0; ch < depth; ++ch) {
            int32_t sum = 0;
            const int8_t *p = in_b + ch;
            for (int32_t i = 0; i < count; ++i) {
                sum += p[(size_t)i * depth];
            }
            output[(size_t)b * depth + ch] = (int8_t)tk_mean_one(params, sum, count);
        }
    }
    return TK_OK;
}
