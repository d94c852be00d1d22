#include "tk_lut.h"

tk_status tk_lut_s8(const tk_lut_params *params, const int8_t *input, int8_t *output)
{
    const int8_t *table = params->table;
    const uint8_t *in = (const uint8_t *)input;
    int32_t i = 0;
    const int32_t n = params->size;
    for (; i + 4 <= n; i += 4) {
        const uint8_t a = in[i], b = in[i + 1], c = in[i + 2], d = in[i + 3];
        output[i] = table[a];
        output[i + 1] = table[b];
        output[i + 2] = table[c];
        output[i + 3] = table[d];
    }
    for (; i < n; ++i) {
        output[i] = table[in[i]];
    }
    return TK_OK;
}

tk_status tk_lut_s8_s16(const tk_lut_s16_params *params, const int8_t *input, int16_t *output)
{
    const int16_t *table = params->table;
    const uint8_t *in = (const uint8_t *)input;
    for (int32_t i = params->size - 1; i >= 0; --i) {
        output[i] = table[in[i]];
    }
    return TK_OK;
}

tk_status tk_lut_s8_s32(const tk_lut_s32_params *params, const int8_t *input, int32_t *output)
{
    const int32_t *table = params->table;
    const uint8_t *in = (const uint8_t *)input;
    for (int32_t i = params->size - 1; i >= 0; --i) {
        output[i] = table[in[i]];
    }
    return TK_OK;
}
