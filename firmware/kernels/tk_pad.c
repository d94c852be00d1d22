#include "tk_pad.h"

#include <string.h>

static void tk_fill(uint8_t *dst, int32_t value, int32_t count, size_t esize)
{
    if (esize == 1) {
        memset(dst, value, (size_t)count);
    } else if (esize == 2) {
        int16_t *d = (int16_t *)(void *)dst;
        for (int32_t i = 0; i < count; ++i) {
            d[i] = (int16_t)value;
        }
    } else {
        int32_t *d = (int32_t *)(void *)dst;
        for (int32_t i = 0; i < count; ++i) {
            d[i] = value;
        }
    }
}

/* Whether output row `idx` (the four outer coordinates) lies inside the input. */
static int tk_row_inside(const tk_pad_params *p, const int32_t *idx)
{
    for (int32_t d = 0; d < TK_PAD_DIMS - 1; ++d) {
        const int32_t i = idx[d] - p->before[d];
        if (i < 0 || i >= p->input[d]) {
            return 0;
        }
    }
    return 1;
}

static tk_status tk_pad(const tk_pad_params *p, const uint8_t *input, uint8_t *output, size_t esize)
{
    const int32_t last = TK_PAD_DIMS - 1;
    const int32_t row = p->output[last], in_row = p->input[last], before = p->before[last];
    const int32_t after = row - in_row - before;
    int32_t rows = 1, idx[TK_PAD_DIMS] = {0};
    for (int32_t d = 0; d < last; ++d) {
        rows *= p->output[d];
    }
    for (int32_t r = 0; r < rows; ++r, output += (size_t)row * esize) {
        if (!tk_row_inside(p, idx)) {
            tk_fill(output, p->value, row, esize);
        } else {
            tk_fill(output, p->value, before, esize);
            memcpy(output + (size_t)before * esize, input, (size_t)in_row * esize);
            tk_fill(output + (size_t)(before + in_row) * esize, p->value, after, esize);
            input += (size_t)in_row * esize;
        }
        for (int32_t d = last - 1; d >= 0 && ++idx[d] == p->output[d]; --d) {
            idx[d] = 0;
        }
    }
    return TK_OK;
}

tk_status tk_pad_s8(const tk_pad_params *params, const int8_t *input, int8_t *output)
{
    return tk_pad(params, (const uint8_t *)input, (uint8_t *)output, 1);
}

tk_status tk_pad_s16(const tk_pad_params *params, const int16_t *input, int16_t *output)
{
    return tk_pad(params, (const uint8_t *)(const void *)input, (uint8_t *)(void *)output, 2);
}

tk_status tk_pad_s32(const tk_pad_params *params, const int32_t *input, int32_t *output)
{
    return tk_pad(params, (const uint8_t *)(const void *)input, (uint8_t *)(void *)output, 4);
}
