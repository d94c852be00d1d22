/* AVERAGE_POOL_2D and MAX_POOL_2D, int8 and 16x8 (int16), TFLite reference semantics.
 *
 * The window is clipped to the input (padding cells are not counted), the average rounds half
 * away from zero over the cells actually inside, and the fused activation clamps the result.
 * Input and output share one quantization (TFLite requires it), so there is no requantization.
 */
#ifndef TK_POOL_H
#define TK_POOL_H

#include "tk_types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    tk_dims input;  /* n, h, w, c */
    tk_dims output; /* n, h, w, c (same n and c) */
    int32_t filter_h;
    int32_t filter_w;
    int32_t stride_h;
    int32_t stride_w;
    int32_t pad_h; /* top padding (ComputePaddingHeightWidth) */
    int32_t pad_w; /* left padding */
    tk_activation act;
} tk_pool_params;

tk_status tk_avgpool_s8(const tk_pool_params *params, const int8_t *input, int8_t *output);
tk_status tk_maxpool_s8(const tk_pool_params *params, const int8_t *input, int8_t *output);
tk_status tk_avgpool_s16(const tk_pool_params *params, const int16_t *input, int16_t *output);
tk_status tk_maxpool_s16(const tk_pool_params *params, const int16_t *input, int16_t *output);

#ifdef __cplusplus
}
#endif

#endif /* TK_POOL_H */
