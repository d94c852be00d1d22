/* FULLY_CONNECTED 16x8: int16 activations, int8 weights (per-tensor or per-channel), int64 or int32
 * bias. Reusable for any int16-vector x int8-matrix product with TFLite's 16x8 requantization
 * (e.g. the gates of a 16x8 LSTM): fill the params at generation time with
 * tinykit.codegen.ops_conv16.fully_connected_s16_params. */
#ifndef TK_FULLY_CONNECTED_S16_H
#define TK_FULLY_CONNECTED_S16_H

#include "tk_mac_s16.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    int32_t batches; /* rows of the input viewed as batches x depth */
    int32_t depth;   /* accumulation depth (weights' second dimension) */
    int32_t units;   /* output channels (weights' first dimension) */
    /* units x depth weights as [unit quad][depth / 4][4 units][4 values permuted (w0, w2, w1, w3)],
     * depth and units padded with zeros to multiples of 4 (see tk_mac_s16.h) */
    const int8_t *filter_data;
    tk_s16_requant rq; /* per unit: bias + input_offset * sum(row), requantization, output offset, clamp */
} tk_fully_connected_s16_params;

tk_status tk_fully_connected_s16(const tk_fully_connected_s16_params *params, const int16_t *input,
                                 int16_t *output);

#ifdef __cplusplus
}
#endif

#endif /* TK_FULLY_CONNECTED_S16_H */
