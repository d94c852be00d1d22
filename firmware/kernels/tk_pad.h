/* PAD (constant) of an int8 tensor up to 4-D: the pad value is the output zero point (real 0). */
#ifndef TK_PAD_H
#define TK_PAD_H

#include "tk_types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    tk_dims input;  /* 4-D, leading dimensions filled with 1 */
    tk_dims output;
    tk_dims before; /* padding before each dimension (after = output - input - before) */
    int32_t value;  /* pad value */
} tk_pad_params;

tk_status tk_pad_s8(const tk_pad_params *params, const int8_t *input, int8_t *output);

#ifdef __cplusplus
}
#endif

#endif /* TK_PAD_H */
