#include "tk_concat.h"
#include "tk_copy.h"

#include <string.h>

static tk_status tk_concat(const tk_concat_params *params, uint8_t *out, size_t esize)
{
    for (int32_t o = 0; o < params->outer; ++o) {
        for (int32_t i = 0; i < params->num_inputs; ++i) {
            const size_t bytes = (size_t)params->sizes[i] * esize;
            tk_copy_bytes(out, (const uint8_t *)params->inputs[i] + (size_t)o * bytes, bytes);
            out += bytes;
        }
    }
    return TK_OK;
}

tk_status tk_concat_s8(const tk_concat_params *params, int8_t *output)
{
    return tk_concat(params, (uint8_t *)output, 1);
}

tk_status tk_concat_s16(const tk_concat_params *params, int16_t *output)
{
    return tk_concat(params, (uint8_t *)(void *)output, 2);
}

tk_status tk_concat_s32(const tk_concat_params *params, int32_t *output)
{
    return tk_concat(params, (uint8_t *)(void *)output, 4);
}
