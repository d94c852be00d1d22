#include "tk_concat.h"

tk_status tk_concat_s8(const tk_concat_params *params, int8_t *output)
{
    int8_t *out = output;
    for (int32_t o = 0; o < params->outer; ++o) {
        for (int32_t i = 0; i < params->num_inputs; ++i) {
            const int32_t size = params->sizes[i];
            const int8_t *src = params->inputs[i] + (size_t)o * size;
            for (int32_t k = 0; k < size; ++k) {
                out[k] = src[k];
            }
            out += size;
        }
    }
    return TK_OK;
}
