/* RESIZE_BILINEAR (int8) and SPACE_TO_BATCH_ND (int8), TFLite Micro's integer arithmetic.
 *
 * RESIZE_BILINEAR: the generator evaluates TFLM's ResizeBilinearInteger index logic (10-bit
 * scale, per output row and column: the two input rows/columns as element offsets and the 10-bit
 * fraction); the kernel forms the four products per element and rounds as TFLM (half away from
 * zero at 2^19, truncating division by 2^20). The sum fits int32 for int8 data.
 * SPACE_TO_BATCH_ND: output batch b reads input batch b % N at block offset b / N; padding cells
 * are byte 0 (TFLM's fill value is a field its Prepare never sets).
 */
#ifndef TK_RESIZE_H
#define TK_RESIZE_H

#include "tk_types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    int32_t batches;
    int32_t out_h;
    int32_t out_w;
    int32_t channels;
    int32_t batch_stride; /* input elements per batch */
    const int32_t *rows;  /* per output row: offset of input row y0, of row y1, 10-bit fraction */
    const int32_t *cols;  /* per output column: offset of input column x0, of x1, 10-bit fraction */
} tk_resize_bilinear_params;

tk_status tk_resize_bilinear_s8(const tk_resize_bilinear_params *params, const int8_t *input, int8_t *output);

typedef struct {
    tk_dims input;  /* n, h, w, c (3-D tensors: w = 1) */
    tk_dims output; /* n * block_h * block_w, padded h / block_h, padded w / block_w, c */
    int32_t block_h;
    int32_t block_w;
    int32_t pad_top;
    int32_t pad_left;
} tk_space_to_batch_params;

tk_status tk_space_to_batch_s8(const tk_space_to_batch_params *params, const int8_t *input, int8_t *output);

#ifdef __cplusplus
}
#endif

#endif /* TK_RESIZE_H */
