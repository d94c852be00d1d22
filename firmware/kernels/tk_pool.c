/* A hot kernel: built for speed even when the firmware is built for size (-Os). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O2")
#endif
#include "tk_pool.h"

/* Window of output (oy, ox) clipped to the input: [y0, y1) x [x0, x1) in input coordinates. */
typedef struct {
    int32_t y0, y1, x0, x1;
} tk_window;

static tk_window tk_pool_window(const tk_pool_params *p, int32_t oy, int32_t ox)
{
    tk_window win;
    const int32_t iy = oy * p->stride_h - p->pad_h;
    const int32_t ix = ox * p->stride_w - p->pad_w;
    win.y0 = iy < 0 ? 0 : iy;
    win.x0 = ix < 0 ? 0 : ix;
    win.y1 = iy + p->filter_h < p->input.h ? iy + p->filter_h : p->input.h;
    win.x1 = ix + p->filter_w < p->input.w ? ix + p->filter_w : p->input.w;
    return win;
}

/* AVERAGE_POOL_2D of one element type: the sum over the clipped window, divided rounding half away
 * from zero (TFLM's integer division per output), clamped to the fused activation. */
#define TK_AVGPOOL_KERNEL(name, T)                                                                     \
    tk_status name(const tk_pool_params *params, const T *input, T *output)                            \
    {                                                                                                  \
        const int32_t in_h = params->input.h, in_w = params->input.w, depth = params->input.c;         \
        for (int32_t b = 0; b < params->input.n; ++b) {                                                \
            const T *in_b = input + (size_t)b * in_h * in_w * depth;                                   \
            for (int32_t oy = 0; oy < params->output.h; ++oy) {                                        \
                for (int32_t ox = 0; ox < params->output.w; ++ox) {                                    \
                    const tk_window win = tk_pool_window(params, oy, ox);                              \
                    const int32_t count = (win.y1 - win.y0) * (win.x1 - win.x0);                       \
                    if (count <= 0) {                                                                  \
                        return TK_ERROR;                                                               \
                    }                                                                                  \
                    for (int32_t ch = 0; ch < depth; ++ch) {                                           \
                        int32_t acc = 0;                                                               \
                        for (int32_t y = win.y0; y < win.y1; ++y) {                                    \
                            const T *row = in_b + ((size_t)y * in_w) * depth + ch;                     \
                            for (int32_t x = win.x0; x < win.x1; ++x) {                                \
                                acc += row[(size_t)x * depth];                                         \
                            }                                                                          \
                        }                                                                              \
                        acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;         \
                        acc = acc < params->act.min ? params->act.min : acc;                           \
                        acc = acc > params->act.max ? params->act.max : acc;                           \
                        *output++ = (T)acc;                                                            \
                    }                                                                                  \
                }                                                                                      \
            }                                                                                          \
        }                                                                                              \
        return TK_OK;                                                                                  \
    }

/* MAX_POOL_2D of one element type: the window maximum (from the type's lowest value), clamped. */
#define TK_MAXPOOL_KERNEL(name, T, LOWEST)                                                             \
    tk_status name(const tk_pool_params *params, const T *input, T *output)                            \
    {                                                                                                  \
        const int32_t in_h = params->input.h, in_w = params->input.w, depth = params->input.c;         \
        for (int32_t b = 0; b < params->input.n; ++b) {                                                \
            const T *in_b = input + (size_t)b * in_h * in_w * depth;                                   \
            for (int32_t oy = 0; oy < params->output.h; ++oy) {                                        \
                for (int32_t ox = 0; ox < params->output.w; ++ox) {                                    \
                    const tk_window win = tk_pool_window(params, oy, ox);                              \
                    for (int32_t ch = 0; ch < depth; ++ch) {                                           \
                        int32_t m = (LOWEST);                                                          \
                        for (int32_t y = win.y0; y < win.y1; ++y) {                                    \
                            const T *row = in_b + ((size_t)y * in_w) * depth + ch;                     \
                            for (int32_t x = win.x0; x < win.x1; ++x) {                                \
                                const int32_t v = row[(size_t)x * depth];                              \
                                m = v > m ? v : m;                                                     \
                            }                                                                          \
                        }                                                                              \
                        m = m < params->act.min ? params->act.min : m;                                 \
                        m = m > params->act.max ? params->act.max : m;                                 \
                        *output++ = (T)m;                                                              \
                    }                                                                                  \
                }                                                                                      \
            }                                                                                          \
        }                                                                                              \
        return TK_OK;                                                                                  \
    }

TK_AVGPOOL_KERNEL(tk_avgpool_s8, int8_t)
TK_AVGPOOL_KERNEL(tk_avgpool_s16, int16_t)
TK_MAXPOOL_KERNEL(tk_maxpool_s8, int8_t, -128)
TK_MAXPOOL_KERNEL(tk_maxpool_s16, int16_t, -32768)
