/* CONCATENATION (and PACK, a concatenation on a new axis) of int8, int16 or int32 tensors.
 *
 * TFLite Micro concatenates by copying (its Prepare requires every int8 input to carry the
 * output's scale and zero point, and int16 zero points of 0; the converter inserts QUANTIZE ops
 * where they differ), so this is a strided copy: the tensors are viewed as
 * [outer, size_along_axis * inner] and each input contributes `sizes[i]` elements per outer row.
 * The input pointers live in the params (their count varies).
 */
#ifndef TK_CONCAT_H
#define TK_CONCAT_H

#include "tk_types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    int32_t num_inputs;
    int32_t outer;               /* product of the dimensions before the axis */
    const int32_t *sizes;        /* per input: its axis size * product of the dimensions after */
    const void *const *inputs;   /* num_inputs pointers */
} tk_concat_params;

tk_status tk_concat_s8(const tk_concat_params *params, int8_t *output);
tk_status tk_concat_s16(const tk_concat_params *params, int16_t *output);
tk_status tk_concat_s32(const tk_concat_params *params, int32_t *output);

#ifdef __cplusplus
}
#endif

#endif /* TK_CONCAT_H */
