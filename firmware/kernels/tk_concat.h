/* CONCATENATION of int8 tensors along any axis.
 *
 * TFLite Micro concatenates int8 tensors by copying bytes (its converter gives every input the
 * output's quantization, inserting QUANTIZE ops where they differ), so this is a strided copy:
 * the tensors are viewed as [outer, size_along_axis * inner] and each input contributes its
 * `sizes[i]` bytes per outer row. The input pointers live in the params (their count varies).
 */
#ifndef TK_CONCAT_H
#define TK_CONCAT_H

#include "tk_types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    int32_t num_inputs;
    int32_t outer;                 /* product of the dimensions before the axis */
    const int32_t *sizes;          /* per input: its axis size * product of the dimensions after */
    const int8_t *const *inputs;   /* num_inputs pointers */
} tk_concat_params;

tk_status tk_concat_s8(const tk_concat_params *params, int8_t *output);

#ifdef __cplusplus
}
#endif

#endif /* TK_CONCAT_H */
