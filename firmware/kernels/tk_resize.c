#include "tk_resize.h"
#include "tk_copy.h"

#include <string.h>

static void tk_bilinear_pixel(const int8_t *p00, const int8_t *p10, const int8_t *p01, const int8_t *p11,
                              int32_t fy, int32_t fx, int32_t channels, int8_t *out)
{
    const int32_t w00 = (1024 - fy) * (1024 - fx), w10 = fy * (1024 - fx);
    const int32_t w01 = (1024 - fy) * fx, w11 = fy * fx;
    for (int32_t c = 0; c < channels; ++c) {
        int32_t acc = p00[c] * w00 + p10[c] * w10 + p01[c] * w01 + p11[c] * w11;
        acc += acc > 0 ? (1 << 19) : -(1 << 19);
        out[c] = (int8_t)(acc / (1 << 20));
    }
}

tk_status tk_resize_bilinear_s8(const tk_resize_bilinear_params *p, const int8_t *input, int8_t *output)
{
    const int32_t c = p->channels;
    for (int32_t b = 0; b < p->batches; ++b, input += p->batch_stride) {
        for (int32_t y = 0; y < p->out_h; ++y) {
            const int8_t *row0 = input + p->rows[3 * y], *row1 = input + p->rows[3 * y + 1];
            const int32_t fy = p->rows[3 * y + 2];
            for (int32_t x = 0; x < p->out_w; ++x, output += c) {
                const int32_t x0 = p->cols[3 * x], x1 = p->cols[3 * x + 1];
                tk_bilinear_pixel(row0 + x0, row1 + x0, row0 + x1, row1 + x1, fy, p->cols[3 * x + 2], c, output);
            }
        }
    }
    return TK_OK;
}

tk_status tk_space_to_batch_s8(const tk_space_to_batch_params *p, const int8_t *input, int8_t *output)
{
    const tk_dims *in = &p->input, *out = &p->output;
    const size_t depth = (size_t)out->c, row = (size_t)out->w * depth;
    for (int32_t b = 0; b < out->n; ++b) {
        const int32_t shift = b / in->n, shift_w = shift % p->block_w, shift_h = shift / p->block_w;
        const int8_t *image = input + (size_t)(b % in->n) * (size_t)in->h * (size_t)in->w * depth;
        for (int32_t h = 0; h < out->h; ++h, output += row) {
            const int32_t ih = h * p->block_h + shift_h - p->pad_top;
            if (ih < 0 || ih >= in->h) {
                memset(output, 0, row);
                continue;
            }
            for (int32_t w = 0; w < out->w; ++w) {
                const int32_t iw = w * p->block_w + shift_w - p->pad_left;
                if (iw < 0 || iw >= in->w) {
                    memset(output + (size_t)w * depth, 0, depth);
                } else {
                    tk_copy_bytes(output + (size_t)w * depth, image + ((size_t)ih * (size_t)in->w + (size_t)iw) * depth, depth);
                }
            }
        }
    }
    return TK_OK;
}
