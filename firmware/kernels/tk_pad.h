/* PAD / PADV2 (constant fill) of an int8, int16 or int32 tensor up to 5-D.
 *
 * The fill is TFLite Micro's: PADV2's constant, else the output zero point for int8 and 0 for
 * int16/int32 (TFLM ignores an int16 zero point here). Shapes are extended to 5-D with leading 1s.
 * The output is written in order, one innermost row at a time; rows inside the input copy it
 * (consumed in order, so the input pointer only ever advances) between the two fills.
 */
#ifndef TK_PAD_H
#define TK_PAD_H

#include "tk_types.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TK_PAD_DIMS 5

typedef struct {
    int32_t input[TK_PAD_DIMS];  /* extents, leading dimensions filled with 1 */
    int32_t output[TK_PAD_DIMS];
    int32_t before[TK_PAD_DIMS]; /* padding before each dimension (after = output - input - before) */
    int32_t value;               /* fill value */
} tk_pad_params;

tk_status tk_pad_s8(const tk_pad_params *params, const int8_t *input, int8_t *output);
tk_status tk_pad_s16(const tk_pad_params *params, const int16_t *input, int16_t *output);
tk_status tk_pad_s32(const tk_pad_params *params, const int32_t *input, int32_t *output);

#ifdef __cplusplus
}
#endif

#endif /* TK_PAD_H */
