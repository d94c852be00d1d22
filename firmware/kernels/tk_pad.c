#include "tk_pad.h"

static void tk_fill(int8_t *dst, int8_t value, int32_t count)
{
    for (int32_t i = 0; i < count; ++i) {
        dst[i] = value;
    }
}

tk_status tk_pad_s8(const tk_pad_params *params, const int8_t *input, int8_t *output)
{
    const tk_dims *in = &params->input, *out = &params->output, *pre = &params->before;
    const int8_t value = (int8_t)params->value;
    const int32_t row = out->c;              /* output bytes per (n, h, w) */
    const int32_t plane = out->w * row;      /* per (n, h) */
    const int32_t after_c = out->c - in->c - pre->c;
    for (int32_t n = 0; n < out->n; ++n) {
        const int32_t in_n = n - pre->n;
        for (int32_t h = 0; h < out->h; ++h) {
            const int32_t in_h = h - pre->h;
            int8_t *dst = output + ((size_t)n * out->h + h) * plane;
            if (in_n < 0 || in_n >= in->n || in_h < 0 || in_h >= in->h) {
                tk_fill(dst, value, plane);
                continue;
            }
            for (int32_t w = 0; w < out->w; ++w) {
                const int32_t in_w = w - pre->w;
                int8_t *d = dst + (size_t)w * row;
                if (in_w < 0 || in_w >= in->w) {
                    tk_fill(d, value, row);
                    continue;
                }
                const int8_t *src = input + (((size_t)in_n * in->h + in_h) * in->w + in_w) * in->c;
                tk_fill(d, value, pre->c);
                for (int32_t c = 0; c < in->c; ++c) {
                    d[pre->c + c] = src[c];
                }
                tk_fill(d + pre->c + in->c, value, after_c);
            }
        }
    }
    return TK_OK;
}
